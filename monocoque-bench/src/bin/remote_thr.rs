//! `remote_thr`: a perf tool; see `monocoque_bench::tools`.

fn main() {
    monocoque_bench::tools::main("remote_thr");
}
