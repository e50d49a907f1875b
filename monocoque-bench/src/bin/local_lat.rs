//! `local_lat`: a perf tool; see `monocoque_bench::tools`.

fn main() {
    monocoque_bench::tools::main("local_lat");
}
