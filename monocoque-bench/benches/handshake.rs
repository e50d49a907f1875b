//! ZMTP handshake benchmarks: greeting encode / parse, and a full NULL-mechanism
//! handshake between a DEALER and a ROUTER `Session` fed each other's output in memory.
//!
//! Run with `cargo bench -p monocoque-bench --bench handshake`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::Criterion;
use monocoque_core::SocketType;
use monocoque_zmtp::proto::{Event, Greeting, MechanismName, Session, SessionConfig};

/// A short criterion configuration, so the whole suite runs in well under two minutes.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

/// Moves everything `from` has queued to the end of `to`.
fn transfer(from: &mut Session, to: &mut BytesMut) {
    let queue = from.output();
    while !queue.is_empty() {
        let front = queue.front();
        to.extend_from_slice(front);
        let n = front.len();
        queue.advance(n);
    }
}

/// Polls `session` until it wants more input; returns how many `Ready` events it produced.
fn poll(session: &mut Session, input: &mut BytesMut) -> usize {
    let mut ready = 0;
    while let Some(event) = session.poll_event(input).expect("handshake error") {
        if matches!(event, Event::Ready(_)) {
            ready += 1;
        }
    }
    ready
}

/// One complete NULL handshake, DEALER (with a routing id) connecting to ROUTER.
/// Returns the number of round trips of the in-memory pump.
fn null_handshake() -> usize {
    let now = Instant::now();
    let dealer_config = SessionConfig {
        routing_id: Some(Bytes::from_static(b"dealer-1")),
        ..SessionConfig::null(SocketType::Dealer, false)
    };
    let mut dealer = Session::new(dealer_config, now);
    let mut router = Session::new(SessionConfig::null(SocketType::Router, true), now);
    let (mut dealer_in, mut router_in) = (BytesMut::new(), BytesMut::new());
    let mut ready = 0;
    for round in 1..=16 {
        transfer(&mut dealer, &mut router_in);
        transfer(&mut router, &mut dealer_in);
        ready += poll(&mut dealer, &mut dealer_in);
        ready += poll(&mut router, &mut router_in);
        if ready == 2 && dealer.output().is_empty() && router.output().is_empty() {
            return round;
        }
    }
    panic!("handshake did not complete");
}

/// Greeting encode and parse.
fn bench_greeting(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake/greeting");
    let greeting = Greeting::ours(MechanismName::NULL, false);
    group.bench_function("encode", |b| {
        b.iter(|| black_box(black_box(&greeting).encode()));
    });
    let wire = greeting.encode();
    assert_eq!(Greeting::parse(&wire).expect("valid greeting"), greeting);
    group.bench_function("parse", |b| {
        b.iter(|| black_box(Greeting::parse(black_box(&wire))));
    });
    group.finish();
}

/// A full NULL handshake, sessions created included.
fn bench_null_handshake(c: &mut Criterion) {
    let rounds = null_handshake();
    assert!(rounds >= 1);
    c.bench_function("handshake/null_dealer_router", |b| {
        b.iter(null_handshake);
    });
}

fn main() {
    let mut c = config().configure_from_args();
    bench_greeting(&mut c);
    bench_null_handshake(&mut c);
    c.final_summary();
}
