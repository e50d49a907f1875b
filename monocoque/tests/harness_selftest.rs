//! Self-test of the interop harness (`tests/common`, `tests/peer/zmq_peer.py`) without monocoque
//! sockets: the peer starts and reports its endpoint, the Rust and Python canonical generators
//! agree byte for byte, hex framing round-trips (4 MiB included), failures and timeouts are
//! reported, peers die with their handle, and the async API works on tokio, async-std and smol.

mod common;

use common::*;
use monocoque_core::Message;
use std::time::{Duration, Instant};

const SELFTEST: &str = "harness_selftest";

#[test]
fn canonical_schedule_covers_the_interesting_sizes() {
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..2000 {
        let sizes = canonical_sizes(i);
        assert_eq!(sizes.len() as u64, 1 + i % 4);
        assert!(sizes[0] >= 8);
        seen.extend(sizes);
    }
    for size in [0, 1, 8, 254, 255, 256, 257, 4096, BIG_SIZE] {
        assert!(seen.contains(&size), "size {size} never used");
    }
    assert_eq!(*canonical_sizes(999).last().unwrap(), BIG_SIZE);
    let m = canonical_message(12345);
    assert_eq!(&m.frames()[0][..8], &12345u64.to_be_bytes());
    check_canonical(12345, &m).unwrap();
    let err = check_canonical(12346, &m).unwrap_err();
    assert!(err.contains("message 12346"), "{err}");
}

#[test]
fn hex_frames_round_trip() {
    for msg in special_messages()
        .into_iter()
        .chain((0..50).map(canonical_message))
    {
        let hex = hex_frames(&msg);
        assert_eq!(parse_hex_frames(&hex).unwrap(), msg);
    }
    let m = Message::from_frames(vec![b"ab".to_vec(), vec![], vec![0xff, 0]]);
    assert_eq!(hex_frames(&m), "6162 - ff00");
    let big = Message::from_frames(vec![pattern_frame(4 << 20, 9), pattern_frame(1023, 9)]);
    let hex = hex_frames(&big);
    assert!(hex.starts_with("@4194304:9 0928"), "{}", &hex[..20]);
    assert_eq!(parse_hex_frames(&hex).unwrap(), big);
    let err = assert_hex_eq("@4194304:9", "@4194304:8", "big").unwrap_err();
    assert!(err.contains("frame 0: byte 0 is 09, expected 08"), "{err}");
    assert!(parse_hex_frames("abc").is_err());
    assert!(parse_hex_frames("zz").is_err());
}

#[test]
fn timers_work_without_a_runtime_reactor() {
    smol::block_on(async {
        let t = Instant::now();
        sleep(Duration::from_millis(50)).await;
        assert!(t.elapsed() >= Duration::from_millis(50));
        let r = within(
            Duration::from_millis(50),
            "never",
            std::future::pending::<()>(),
        )
        .await;
        assert!(r.unwrap_err().contains("never"));
        assert_eq!(
            within(Duration::from_secs(5), "x", async { 7 }).await,
            Ok(7)
        );
    });
}

#[test]
fn peer_reports_ready_with_resolved_endpoint() {
    require_pyzmq(SELFTEST);
    let peer = PeerSpec::new("PULL")
        .bind("tcp://127.0.0.1:*")
        .scenario("recv 1")
        .spawn();
    let ep = peer.endpoint();
    let port = ep.strip_prefix("tcp://127.0.0.1:").expect(ep);
    assert!(port.parse::<u16>().unwrap() > 0, "{ep}");

    let dir = TestDir::new();
    let want = dir.ipc("x.sock");
    let peer = PeerSpec::new("PAIR").bind(&want).spawn();
    assert_eq!(peer.endpoint(), want);
}

/// Rust canonical messages, sent by a libzmq PUSH from `SEND` lines, pass the peer's Python check;
/// Python canonical messages, printed as `MSG` lines, pass the Rust check. Also carries the special
/// messages (4 MiB frames, empty frames) through hex lines in both directions.
#[test]
fn rust_and_python_agree_on_canonical_and_special_messages() {
    require_pyzmq(SELFTEST);
    const N: u64 = 1001; // includes the big message 999
    let mut verifier = PeerSpec::new("PULL")
        .bind("tcp://127.0.0.1:*")
        .verify_seq(N)
        .spawn();
    let mut sender = PeerSpec::new("PUSH")
        .connect(verifier.endpoint())
        .scenario("send-stdin")
        .spawn();
    for i in 0..N {
        sender.send_line(&hex_frames(&canonical_message(i)));
    }
    sender.send_line("END");
    assert_eq!(sender.wait_ok_blocking(), N);
    assert_eq!(verifier.wait_ok_blocking(), N);
    assert!(
        verifier
            .wait_exit_blocking(Duration::from_secs(10))
            .unwrap()
            .success()
    );
    assert!(
        sender
            .wait_exit_blocking(Duration::from_secs(15))
            .unwrap()
            .success()
    );

    let mut printer = PeerSpec::new("PULL")
        .bind("tcp://127.0.0.1:*")
        .scenario(&format!("recv {}", N + special_messages().len() as u64))
        .spawn();
    let sender = PeerSpec::new("PUSH").connect(printer.endpoint()).spawn();
    sender.send_line(&format!("SENDSEQ {N}"));
    for m in special_messages() {
        sender.send_line(&format!("SEND {}", hex_frames(&m)));
    }
    sender.send_line("QUIT");
    for i in 0..N {
        let line = printer.read_line_timeout(LINE_TIMEOUT).expect("MSG line");
        let msg = parse_hex_frames(line.strip_prefix("MSG ").expect(&line)).unwrap();
        check_canonical(i, &msg).unwrap();
    }
    for m in special_messages() {
        let line = printer.read_line_timeout(LINE_TIMEOUT).expect("MSG line");
        assert_hex_eq(
            line.strip_prefix("MSG ").unwrap(),
            &hex_frames(&m),
            "special",
        )
        .unwrap();
    }
    assert_eq!(
        printer.wait_ok_blocking(),
        N + special_messages().len() as u64
    );
}

#[test]
fn peer_failures_and_timeouts_are_reported() {
    require_pyzmq(SELFTEST);
    let mut idle = PeerSpec::new("PULL")
        .bind("tcp://127.0.0.1:*")
        .scenario("recv 1")
        .timeout_ms(200)
        .spawn();
    assert_eq!(
        idle.read_line_timeout(Duration::from_secs(10)).as_deref(),
        Some("TIMEOUT")
    );
    assert_eq!(
        idle.wait_exit_blocking(Duration::from_secs(10))
            .and_then(|s| s.code()),
        Some(2)
    );

    // A verifier fed message 1 where message 0 is due reports FAIL and exits 1.
    let mut verifier = PeerSpec::new("PULL")
        .bind("tcp://127.0.0.1:*")
        .verify_seq(2)
        .spawn();
    let sender = PeerSpec::new("PUSH").connect(verifier.endpoint()).spawn();
    sender.send_line(&format!("SEND {}", hex_frames(&canonical_message(1))));
    let line = verifier.read_line_timeout(LINE_TIMEOUT).unwrap();
    assert!(line.starts_with("FAIL at 0: "), "{line}");
    assert_eq!(
        verifier
            .wait_exit_blocking(Duration::from_secs(10))
            .and_then(|s| s.code()),
        Some(1)
    );

    // wait_ok turns a FAIL into a panic that carries the command line.
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut v = PeerSpec::new("PULL")
            .bind("tcp://127.0.0.1:*")
            .verify_seq(1)
            .spawn();
        let s = PeerSpec::new("PUSH").connect(v.endpoint()).spawn();
        s.send_line("SEND 00");
        v.wait_ok_blocking()
    }))
    .unwrap_err();
    let text = panic.downcast_ref::<String>().unwrap();
    assert!(
        text.contains("FAIL at 0") && text.contains("--verify-seq 1"),
        "{text}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn peer_is_killed_on_drop_and_exits_when_orphaned() {
    require_pyzmq(SELFTEST);
    let peer = PeerSpec::new("PULL").bind("tcp://127.0.0.1:*").spawn();
    let pid = peer.pid();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(peer);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());

    // Closing stdin (what happens when the test process dies) makes the peer exit by itself.
    let mut peer = PeerSpec::new("PULL")
        .bind("tcp://127.0.0.1:*")
        .scenario("recv 1")
        .spawn();
    peer.close_stdin();
    assert_eq!(
        peer.wait_exit_blocking(Duration::from_secs(10))
            .and_then(|s| s.code()),
        Some(4)
    );
}

/// The async half of the harness on each runtime, through the same runner the interop tests use
/// (the context is not used).
async fn async_pipeline_between_two_peers(_ctx: monocoque::Context) -> TestResult {
    let dir = TestDir::new();
    let mut pull = PeerSpec::new("PULL")
        .bind(&dir.ipc("p.sock"))
        .verify_seq(3000)
        .start()
        .await;
    let mut push = PeerSpec::new("PUSH")
        .connect(pull.endpoint())
        .scenario("send 3000")
        .start()
        .await;
    assert_eq!(push.wait_ok().await, 3000);
    assert_eq!(pull.wait_ok().await, 3000);
    pull.wait_exit_ok().await;
    push.wait_exit_ok().await;

    let mut pair = PeerSpec::new("PAIR")
        .bind("tcp://127.0.0.1:*")
        .scenario("echo 2")
        .arg("--show")
        .start()
        .await;
    let mut other = PeerSpec::new("PAIR").connect(pair.endpoint()).start().await;
    let m = Message::from_frames(vec![b"x".to_vec(), vec![]]);
    other.send_msg(&m).await;
    other.send_msg(&special_messages()[7]).await;
    assert_eq!(pair.recv_msg().await, m);
    assert_hex_eq(
        &pair.recv_msg_hex().await,
        &hex_frames(&special_messages()[7]),
        "4 MiB",
    )?;
    other.send_line("RECV 2");
    assert_eq!(other.recv_msg().await, m);
    assert_eq!(other.recv_msg().await, special_messages()[7]);
    assert_eq!(pair.wait_ok().await, 2);
    // Nothing more arrived: the peer answers a probe with EMPTY, and the line before it would
    // be any message that came after the two.
    other.send_line("TRYRECV");
    assert_eq!(other.next_line().await, "EMPTY", "no more messages");
    Ok(())
}

on_all_runtimes!(async_pipeline_between_two_peers);
