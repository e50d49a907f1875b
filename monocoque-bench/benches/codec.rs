//! ZMTP frame codec benchmarks: encoding with `encode_frame` and with
//! `WriteQueue::put_frame` + `advance`, and decoding a buffer of many frames
//! with `FrameDecoder::decode`, for 16 B, 64 B, 1 KiB and 64 KiB bodies.
//!
//! Throughput is in body bytes. Run with `cargo bench -p monocoque-bench --bench codec`.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use monocoque_zmtp::proto::frame::encode_frame;
use monocoque_zmtp::proto::{FrameDecoder, WriteQueue};

/// Body sizes measured, in octets.
const SIZES: [usize; 4] = [16, 64, 1024, 64 * 1024];

/// Total body octets in the buffer the decode benchmark walks through.
const DECODE_BUFFER_BODY_BYTES: usize = 256 * 1024;

/// A short criterion configuration, so the whole suite runs in well under two minutes.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

/// A body of `size` octets with a recognisable pattern.
fn body(size: usize) -> Bytes {
    (0..size).map(|i| i as u8).collect::<Vec<u8>>().into()
}

/// `encode_frame` into a reused `BytesMut`, and `WriteQueue::put_frame` + `advance`.
fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec/encode");
    for size in SIZES {
        let body = body(size);
        group.throughput(Throughput::Bytes(size as u64));

        let mut out = BytesMut::with_capacity(size + 16);
        group.bench_with_input(BenchmarkId::new("encode_frame", size), &body, |b, body| {
            b.iter(|| {
                out.clear();
                encode_frame(false, false, black_box(body), &mut out);
                black_box(&out);
            });
        });

        let mut queue = WriteQueue::new();
        group.bench_with_input(
            BenchmarkId::new("write_queue_put_frame_advance", size),
            &body,
            |b, body| {
                b.iter(|| {
                    queue.put_frame(false, false, black_box(body));
                    black_box(queue.front());
                    let len = queue.len();
                    queue.advance(len);
                });
            },
        );
    }
    group.finish();
}

/// `FrameDecoder::decode` over a buffer holding many frames of one size.
fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec/decode");
    for size in SIZES {
        let frames = (DECODE_BUFFER_BODY_BYTES / size).max(1);
        let body = body(size);
        let mut wire = BytesMut::new();
        for i in 0..frames {
            encode_frame(i + 1 < frames, false, &body, &mut wire);
        }
        // Sanity check once: every frame decodes.
        {
            let mut buf = wire.clone();
            let mut decoder = FrameDecoder::new(None);
            let mut n = 0;
            while let Some(frame) = decoder.decode(&mut buf).expect("valid frames") {
                assert_eq!(frame.body.len(), size);
                n += 1;
            }
            assert_eq!(n, frames);
        }

        group.throughput(Throughput::Bytes((frames * size) as u64));
        group.bench_function(BenchmarkId::new(format!("{frames}_frames"), size), |b| {
            b.iter_batched(
                || wire.clone(),
                |mut buf| {
                    let mut decoder = FrameDecoder::new(None);
                    let mut n = 0usize;
                    while let Ok(Some(frame)) = decoder.decode(&mut buf) {
                        black_box(&frame);
                        n += 1;
                    }
                    n
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

fn main() {
    let mut c = config().configure_from_args();
    bench_encode(&mut c);
    bench_decode(&mut c);
    c.final_summary();
}
