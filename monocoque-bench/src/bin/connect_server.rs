//! `connect_server`: a perf tool; see `monocoque_bench::tools`.

fn main() {
    monocoque_bench::tools::main("connect_server");
}
