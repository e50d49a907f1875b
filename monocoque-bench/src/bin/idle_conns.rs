//! `idle_conns`: memory per idle connection on one ROUTER socket; see
//! `monocoque_bench::idle`.

/// Counts the Rust heap in use, for the report's `heap` lines.
#[global_allocator]
static ALLOC: monocoque_bench::idle::mem::CountingAlloc = monocoque_bench::idle::mem::CountingAlloc;

fn main() {
    std::process::exit(monocoque_bench::idle::main());
}
