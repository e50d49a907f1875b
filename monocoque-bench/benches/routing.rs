//! Routing benchmarks: `RouterTable::lookup` among 10, 1,000 and 100,000 peers with
//! generated 5-octet routing ids, and `LoadBalancer::next_ready` over 100 peers.
//!
//! Run with `cargo bench -p monocoque-bench --bench routing`.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion};
use monocoque_core::routing::{GENERATED_ID_LEN, LoadBalancer, RouterTable};

/// Peer counts for the ROUTER table.
const TABLE_SIZES: [u64; 3] = [10, 1_000, 100_000];

/// Peers in the load balancer.
const LB_PEERS: u64 = 100;

/// A short criterion configuration, so the whole suite runs in well under two minutes.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

/// `RouterTable::lookup`, cycling through every peer's id (so large tables are not cache-hot).
fn bench_router_table(c: &mut Criterion) {
    let mut group = c.benchmark_group("routing/router_table_lookup");
    for n in TABLE_SIZES {
        let mut table = RouterTable::<u64>::with_seed(0x5EED_0000);
        let ids: Vec<Bytes> = (0..n)
            .map(|peer| {
                let id = table.generate_id();
                assert_eq!(id.len(), GENERATED_ID_LEN);
                table.insert(id.clone(), peer, false).expect("fresh id");
                id
            })
            .collect();
        assert_eq!(table.len(), ids.len());
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            let mut at = 0;
            b.iter(|| {
                let id = &ids[at];
                at = if at + 1 == ids.len() { 0 } else { at + 1 };
                table.lookup(black_box(id))
            });
        });
    }
    group.finish();
}

/// `LoadBalancer::next_ready` over 100 peers: all ready, and only one in ten ready.
fn bench_load_balancer(c: &mut Criterion) {
    let mut group = c.benchmark_group("routing/load_balancer_next_ready_100");
    let mut lb = LoadBalancer::<u64>::new();
    for peer in 0..LB_PEERS {
        assert!(lb.add(peer));
    }
    group.bench_function("all_ready", |b| {
        b.iter(|| lb.next_ready(|peer| black_box(peer) < LB_PEERS));
    });
    group.bench_function("one_in_ten_ready", |b| {
        b.iter(|| lb.next_ready(|peer| black_box(peer) % 10 == 0));
    });
    group.finish();
}

fn main() {
    let mut c = config().configure_from_args();
    bench_router_table(&mut c);
    bench_load_balancer(&mut c);
    c.final_summary();
}
