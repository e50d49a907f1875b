//! `pub_fanout`: a many-socket scenario tool; see `monocoque_bench::tools`.

fn main() {
    std::process::exit(monocoque_bench::tools::pub_fanout_main());
}
