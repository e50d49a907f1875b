//! `router_echo`: a many-socket scenario tool; see `monocoque_bench::tools`.

fn main() {
    std::process::exit(monocoque_bench::tools::router_echo_main());
}
