//! PAIR interop with libzmq (pyzmq's bundled libzmq 4.3.x), on tokio, async-std and smol.
//!
//! Ours binding and ours connecting, over tcp and ipc, sending and receiving on both sides:
//! * `pair_exact_*`: each special message (empty frames, 255/256-byte frames, 4 MiB frames, many
//!   frames) goes libzmq -> ours, then comes back reversed ours -> libzmq, compared exactly;
//! * `pair_duplex_*`: 10 000 canonical messages each way at the same time, checked in order;
//! * `pair_connects_first_*`: ours connects before the libzmq peer binds.
//!
//! Each test starts its own peer (`tests/peer/zmq_peer.py`) on loopback and is bounded in time.

mod common;

use common::*;
use monocoque::{Context, Error, Message, PairSocket};
use std::time::Duration;

/// Length of the streams in each direction.
const STREAM: u64 = 10_000;
/// Messages each way in the connect-before-bind tests.
const EARLY: u64 = 500;
/// How long ours waits before the peer binds (a few failed connection attempts).
const PEER_LATE_BY: Duration = Duration::from_millis(300);

/// Our PAIR, bound or connected to a libzmq PAIR started with `peer`.
async fn pair_and_peer(
    ctx: &Context,
    tr: Transport,
    side: Side,
    dir: &TestDir,
    peer: PeerSpec,
) -> Result<(PairSocket, PyPeer), Error> {
    let mut pair = PairSocket::new(ctx);
    let peer = match side {
        Side::OursBind => {
            let ep = pair.bind(tr.bind_endpoint(dir).as_str()).await?;
            peer.connect(&ep.to_string()).start().await
        }
        Side::OursConnect => {
            let peer = peer.bind(&tr.bind_endpoint(dir)).start().await;
            pair.connect(peer.endpoint()).await?;
            peer
        }
    };
    Ok((pair, peer))
}

async fn pair_exact(ctx: Context, tr: Transport, side: Side) -> TestResult {
    let dir = TestDir::new();
    let (mut pair, mut peer) = pair_and_peer(&ctx, tr, side, &dir, PeerSpec::new("PAIR")).await?;
    for (k, m) in special_messages().iter().enumerate() {
        // libzmq -> ours
        peer.send_msg(m).await;
        let got = peer
            .bounded(format_args!("receiving message {k}"), pair.recv())
            .await?;
        assert_msg_eq(&got, m, &format!("message {k} as monocoque got it"))?;

        // ours -> libzmq, frames reversed so that a mere echo would not pass
        let back: Message = m.iter().rev().cloned().collect();
        peer.bounded(
            format_args!("sending message {k} back"),
            pair.send(back.clone()),
        )
        .await?;
        peer.send_line("RECV");
        let got = peer.recv_msg_hex().await;
        assert_hex_eq(
            &got,
            &hex_frames(&back),
            &format!("message {k} as libzmq got it"),
        )?;
    }
    peer.send_line("QUIT");
    peer.wait_exit_ok().await;
    let _ = pair.close().await;
    Ok(())
}

/// Both directions at once: the peer sends and verifies with a poller; ours interleaves sends
/// with draining whatever has arrived (`try_recv`), then receives the rest.
async fn pair_duplex(ctx: Context, tr: Transport, side: Side) -> TestResult {
    let dir = TestDir::new();
    let spec = PeerSpec::new("PAIR").scenario(&format!("duplex {STREAM}"));
    let (mut pair, mut peer) = pair_and_peer(&ctx, tr, side, &dir, spec).await?;
    let mut received = 0u64;
    for i in 0..STREAM {
        peer.bounded(
            format_args!("sending message {i}"),
            pair.send(canonical_message(i)),
        )
        .await?;
        loop {
            match pair.try_recv() {
                Ok(msg) => {
                    check_canonical(received, &msg)?;
                    received += 1;
                }
                Err(Error::WouldBlock) => break,
                Err(e) => {
                    return Err(peer
                        .explain(format!("try_recv after {received} messages: {e}"))
                        .into());
                }
            }
        }
    }
    while received < STREAM {
        let msg = peer
            .bounded(format_args!("receiving message {received}"), pair.recv())
            .await?;
        check_canonical(received, &msg)?;
        received += 1;
    }
    assert_eq!(peer.wait_ok().await, STREAM);
    peer.wait_exit_ok().await;
    let _ = pair.close().await;
    Ok(())
}

async fn pair_connects_first(ctx: Context, tr: Transport) -> TestResult {
    let dir = TestDir::new();
    let ep = tr.unbound_endpoint(&dir);
    let mut pair = PairSocket::new(&ctx);
    pair.connect(ep.as_str()).await?;
    sleep(PEER_LATE_BY).await;
    let mut peer = PeerSpec::new("PAIR").bind(&ep).start().await;
    assert_eq!(peer.endpoint(), ep);

    peer.send_line(&format!("SENDSEQ {EARLY}"));
    for i in 0..EARLY {
        let msg = peer
            .bounded(format_args!("receiving message {i}"), pair.recv())
            .await?;
        check_canonical(i, &msg)?;
    }
    peer.expect_line(&format!("SENT {EARLY}")).await;

    for i in 0..EARLY {
        peer.bounded(
            format_args!("sending message {i}"),
            pair.send(canonical_message(i)),
        )
        .await?;
    }
    peer.send_line(&format!("VERIFY {EARLY}"));
    assert_eq!(peer.wait_ok().await, EARLY);
    peer.send_line("QUIT");
    peer.wait_exit_ok().await;
    let _ = pair.close().await;
    Ok(())
}

on_all_runtimes! {
    pair_exact_tcp_ours_bind: |ctx| pair_exact(ctx, Transport::Tcp, Side::OursBind),
    pair_exact_tcp_ours_connect: |ctx| pair_exact(ctx, Transport::Tcp, Side::OursConnect),
    pair_exact_ipc_ours_bind: |ctx| pair_exact(ctx, Transport::Ipc, Side::OursBind),
    pair_exact_ipc_ours_connect: |ctx| pair_exact(ctx, Transport::Ipc, Side::OursConnect),
    pair_duplex_tcp_ours_bind: |ctx| pair_duplex(ctx, Transport::Tcp, Side::OursBind),
    pair_duplex_tcp_ours_connect: |ctx| pair_duplex(ctx, Transport::Tcp, Side::OursConnect),
    pair_duplex_ipc_ours_bind: |ctx| pair_duplex(ctx, Transport::Ipc, Side::OursBind),
    pair_duplex_ipc_ours_connect: |ctx| pair_duplex(ctx, Transport::Ipc, Side::OursConnect),
    pair_connects_first_tcp: |ctx| pair_connects_first(ctx, Transport::Tcp),
    pair_connects_first_ipc: |ctx| pair_connects_first(ctx, Transport::Ipc),
}
