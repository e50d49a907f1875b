//! `handshake_server`: a perf tool; see `monocoque_bench::tools`.

fn main() {
    monocoque_bench::tools::main("handshake_server");
}
