//! `router_echo`: a perf tool; see `monocoque_bench::tools`.

fn main() {
    monocoque_bench::tools::main("router_echo");
}
