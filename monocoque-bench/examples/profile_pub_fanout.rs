//! One process, one thread: a PUB socket publishes `count` messages of `size` bytes to
//! `subscribers` SUB sockets over tcp loopback, yielding every 100 messages so that the
//! connections run (PUB drops at SNDHWM, never waits). For instruction-counting profilers:
//!
//! ```text
//! cargo build --release -p monocoque-bench --example profile_pub_fanout
//! valgrind --tool=callgrind target/release/examples/profile_pub_fanout 20000 64 100
//! ```
//!
//! Arguments: `[count] [size] [subscribers]` (defaults 20000, 64, 100). Prints the deliveries.

use std::time::{Duration, Instant};

use bytes::Bytes;
use monocoque::{Message, PubSocket, SubSocket};

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().map_or(20_000, |a| a.parse().expect("count"));
    let size: usize = args.next().map_or(64, |a| a.parse().expect("size"));
    let subscribers: usize = args.next().map_or(100, |a| a.parse().expect("subscribers"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let ctx = monocoque::tokio::context();
        let mut publisher = PubSocket::new(&ctx);
        let endpoint = publisher.bind("tcp://127.0.0.1:0").await.expect("bind");
        let mut receivers = Vec::new();
        for _ in 0..subscribers {
            let mut sub = SubSocket::new(&ctx);
            sub.subscribe(b"").expect("subscribe");
            sub.connect(endpoint.clone()).await.expect("connect");
            receivers.push(tokio::spawn(async move {
                let mut got = 0u64;
                while let Ok(Ok(msg)) =
                    tokio::time::timeout(Duration::from_millis(500), sub.recv()).await
                {
                    assert_eq!(msg.payload_len(), size);
                    got += 1;
                }
                got
            }));
        }
        // Let every subscription arrive before publishing.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let start = Instant::now();
        for i in 0..count {
            publisher
                .send(Message::single(Bytes::from(vec![0u8; size])))
                .await
                .expect("send");
            if i % 100 == 99 {
                tokio::task::yield_now().await;
            }
        }
        let sent = start.elapsed();
        let mut deliveries = 0;
        for r in receivers {
            deliveries += r.await.expect("subscriber");
        }
        eprintln!(
            "{count} x {size} B to {subscribers} subscribers: {deliveries} deliveries; \
             publishing took {:.3} s",
            sent.as_secs_f64()
        );
    });
}
