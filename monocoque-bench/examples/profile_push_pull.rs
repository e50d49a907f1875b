//! One process, one thread: a PUSH socket sends `count` messages of `size` bytes over tcp
//! loopback to a PULL socket in the same process. Made for instruction-counting profilers, whose
//! counts are stable where wall-clock timings on a shared machine are not:
//!
//! ```text
//! cargo build --release -p monocoque-bench --example profile_push_pull
//! valgrind --tool=callgrind target/release/examples/profile_push_pull 100000 64
//! callgrind_annotate callgrind.out.<pid> | head -60
//! ```
//!
//! Arguments: `[count] [size] [tcp|ipc|inproc]` (defaults 100000, 64, tcp).

use std::time::Instant;

use bytes::Bytes;
use monocoque::{Message, PullSocket, PushSocket};

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().map_or(100_000, |a| a.parse().expect("count"));
    let size: usize = args.next().map_or(64, |a| a.parse().expect("size"));
    let transport = args.next().unwrap_or_else(|| "tcp".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let ctx = monocoque::tokio::context();
        let mut pull = PullSocket::new(&ctx);
        let bind_to = match transport.as_str() {
            "tcp" => "tcp://127.0.0.1:0".to_string(),
            "ipc" => format!("ipc:///tmp/monocoque-profile-{}", std::process::id()),
            "inproc" => "inproc://profile".to_string(),
            other => panic!("unknown transport {other}"),
        };
        let endpoint = pull.bind(bind_to.as_str()).await.expect("bind");
        let mut push = PushSocket::new(&ctx);
        push.connect(endpoint).await.expect("connect");
        let sender = tokio::spawn(async move {
            for _ in 0..count {
                push.send(Message::single(Bytes::from(vec![0u8; size])))
                    .await
                    .expect("send");
            }
            push.close().await;
        });
        let start = Instant::now();
        for _ in 0..count {
            let msg = pull.recv().await.expect("recv");
            assert_eq!(msg.payload_len(), size);
        }
        let elapsed = start.elapsed();
        sender.await.expect("sender");
        eprintln!(
            "{count} x {size} B over {transport}: {:.0} msg/s",
            count as f64 / elapsed.as_secs_f64()
        );
    });
}
