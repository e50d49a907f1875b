//! `remote_thr`: libzmq-compatible perf tool; see `monocoque_bench::tools`.

fn main() {
    std::process::exit(monocoque_bench::tools::remote_thr_main());
}
