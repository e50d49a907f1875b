//! Subscription trie benchmarks: `PublisherTrie::for_each_match` with 1, 100 and 10,000
//! distinct subscriptions spread over 100 peers, and `SubscriberTrie::matches` with the same
//! topic sets, each matching a message whose first frame matches exactly one topic.
//!
//! Run with `cargo bench -p monocoque-bench --bench subscriptions`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use monocoque_core::routing::{PublisherTrie, SubscriberTrie};

/// Subscription counts measured.
const COUNTS: [usize; 3] = [1, 100, 10_000];

/// Peers the subscriptions are spread over (round-robin).
const PEERS: u64 = 100;

/// A short criterion configuration, so the whole suite runs in well under two minutes.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

/// The `i`-th topic, e.g. `topic.00042.`.
fn topic(i: usize) -> Vec<u8> {
    format!("topic.{i:05}.").into_bytes()
}

/// A message first frame matching exactly topic `i`.
fn message(i: usize) -> Vec<u8> {
    format!("topic.{i:05}.payload 21.5C 1013hPa").into_bytes()
}

/// `PublisherTrie::for_each_match`.
fn bench_publisher(c: &mut Criterion) {
    let mut group = c.benchmark_group("subscriptions/publisher_for_each_match");
    for n in COUNTS {
        let mut trie = PublisherTrie::<u64>::new();
        for i in 0..n {
            assert!(trie.add(&topic(i), i as u64 % PEERS));
        }
        let msg = message(n / 2);
        let mut hits = 0;
        trie.for_each_match(&msg, |_| hits += 1);
        assert_eq!(hits, 1);
        group.bench_with_input(BenchmarkId::from_parameter(n), &msg, |b, msg| {
            b.iter(|| {
                let mut hits = 0u32;
                trie.for_each_match(black_box(msg), |peer| {
                    black_box(peer);
                    hits += 1;
                });
                hits
            });
        });
    }
    group.finish();
}

/// `SubscriberTrie::matches`.
fn bench_subscriber(c: &mut Criterion) {
    let mut group = c.benchmark_group("subscriptions/subscriber_matches");
    for n in COUNTS {
        let mut trie = SubscriberTrie::new();
        for i in 0..n {
            assert!(trie.subscribe(&topic(i)));
        }
        let msg = message(n / 2);
        assert!(trie.matches(&msg));
        group.bench_with_input(BenchmarkId::from_parameter(n), &msg, |b, msg| {
            b.iter(|| trie.matches(black_box(msg)));
        });
    }
    group.finish();
}

fn main() {
    let mut c = config().configure_from_args();
    bench_publisher(&mut c);
    bench_subscriber(&mut c);
    c.final_summary();
}
