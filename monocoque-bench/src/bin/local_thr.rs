//! `local_thr`: a perf tool; see `monocoque_bench::tools`.

fn main() {
    monocoque_bench::tools::main("local_thr");
}
