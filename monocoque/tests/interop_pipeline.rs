//! PUSH/PULL interop with libzmq (pyzmq's bundled libzmq 4.3.x), on tokio, async-std and smol.
//!
//! Both directions (ours PUSH -> libzmq PULL, libzmq PUSH -> ours PULL), ours binding and ours
//! connecting, over tcp and ipc:
//! * `*_stream_*`: 10 000 canonical messages in order, checked message by message, through small
//!   high-water marks so back-pressure is exercised;
//! * `*_exact_*`: exact content (empty frames, 255/256-byte frames, 4 MiB frames, many frames);
//! * `*_connects_first_*`: ours connects before the libzmq peer has bound, and messages (including
//!   ones sent before the peer existed) still arrive.
//!
//! Each test starts its own peer (`tests/peer/zmq_peer.py`) on loopback and is bounded in time.

mod common;

use common::*;
use monocoque::{Context, Error, PullSocket, PushSocket, SocketOption};
use std::time::Duration;

/// Length of the ordered streams.
const STREAM: u64 = 10_000;
/// Messages exchanged in the connect-before-bind tests.
const EARLY: u64 = 500;
/// High-water mark used on both sides of the streams.
const HWM: u32 = 100;
/// How long the connecting side waits before the peer binds (a few failed attempts).
const PEER_LATE_BY: Duration = Duration::from_millis(300);

// ---------------------------------------------------------------------------------------------
// ours PUSH -> libzmq PULL
// ---------------------------------------------------------------------------------------------

/// Our PUSH, bound or connected to a libzmq PULL started with `peer`.
async fn push_and_peer(
    ctx: &Context,
    tr: Transport,
    side: Side,
    dir: &TestDir,
    peer: PeerSpec,
) -> Result<(PushSocket, PyPeer), Error> {
    let mut push = PushSocket::new(ctx);
    push.set_option(SocketOption::SndHwm(HWM as usize))?;
    let peer = match side {
        Side::OursBind => {
            let ep = push.bind(tr.bind_endpoint(dir).as_str()).await?;
            peer.connect(&ep.to_string()).start().await
        }
        Side::OursConnect => {
            let peer = peer.bind(&tr.bind_endpoint(dir)).start().await;
            push.connect(peer.endpoint()).await?;
            peer
        }
    };
    Ok((push, peer))
}

async fn push_stream(ctx: Context, tr: Transport, side: Side) -> TestResult {
    let dir = TestDir::new();
    let spec = PeerSpec::new("PULL").rcvhwm(HWM).verify_seq(STREAM);
    let (mut push, mut peer) = push_and_peer(&ctx, tr, side, &dir, spec).await?;
    for i in 0..STREAM {
        peer.bounded(
            format_args!("sending message {i}"),
            push.send(canonical_message(i)),
        )
        .await?;
    }
    assert_eq!(peer.wait_ok().await, STREAM);
    peer.wait_exit_ok().await;
    let _ = push.close().await;
    Ok(())
}

async fn push_exact(ctx: Context, tr: Transport, side: Side) -> TestResult {
    let dir = TestDir::new();
    let msgs = special_messages();
    let spec = PeerSpec::new("PULL").scenario(&format!("recv {}", msgs.len()));
    let (mut push, mut peer) = push_and_peer(&ctx, tr, side, &dir, spec).await?;
    for (k, m) in msgs.iter().enumerate() {
        peer.bounded(format_args!("sending message {k}"), push.send(m.clone()))
            .await?;
    }
    for (k, m) in msgs.iter().enumerate() {
        let got = peer.recv_msg_hex().await;
        assert_hex_eq(
            &got,
            &hex_frames(m),
            &format!("message {k} as libzmq got it"),
        )?;
    }
    assert_eq!(peer.wait_ok().await, msgs.len() as u64);
    peer.wait_exit_ok().await;
    let _ = push.close().await;
    Ok(())
}

/// Ours connects to an endpoint nobody listens on, sends while the peer is still starting, then
/// the peer binds: everything arrives, in order.
async fn push_connects_first(ctx: Context, tr: Transport) -> TestResult {
    let dir = TestDir::new();
    let ep = tr.unbound_endpoint(&dir);
    let mut push = PushSocket::new(&ctx);
    push.connect(ep.as_str()).await?;
    sleep(PEER_LATE_BY).await;

    // Sending may queue (libzmq-style pipe per connecting peer) or wait for the peer: either way
    // the first messages go out while the peer is starting.
    let early = async {
        for i in 0..10 {
            push.send(canonical_message(i)).await?;
        }
        Ok::<_, Error>(())
    };
    let start_peer = async {
        sleep(PEER_LATE_BY).await;
        PeerSpec::new("PULL")
            .bind(&ep)
            .verify_seq(EARLY)
            .start()
            .await
    };
    let (sent, mut peer) =
        futures::join!(within(LINE_TIMEOUT, "the first sends", early), start_peer);
    match sent {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(peer
                .explain(format!("sending while the peer starts: {e}"))
                .into());
        }
        Err(e) => {
            return Err(peer
                .explain(format!("sending while the peer starts: {e}"))
                .into());
        }
    }
    assert_eq!(peer.endpoint(), ep);
    for i in 10..EARLY {
        peer.bounded(
            format_args!("sending message {i}"),
            push.send(canonical_message(i)),
        )
        .await?;
    }
    assert_eq!(peer.wait_ok().await, EARLY);
    peer.wait_exit_ok().await;
    let _ = push.close().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// libzmq PUSH -> ours PULL
// ---------------------------------------------------------------------------------------------

/// Our PULL, bound or connected to a libzmq PUSH started with `peer`.
async fn pull_and_peer(
    ctx: &Context,
    tr: Transport,
    side: Side,
    dir: &TestDir,
    peer: PeerSpec,
) -> Result<(PullSocket, PyPeer), Error> {
    let mut pull = PullSocket::new(ctx);
    pull.set_option(SocketOption::RcvHwm(HWM as usize))?;
    let peer = match side {
        Side::OursBind => {
            let ep = pull.bind(tr.bind_endpoint(dir).as_str()).await?;
            peer.connect(&ep.to_string()).start().await
        }
        Side::OursConnect => {
            let peer = peer.bind(&tr.bind_endpoint(dir)).start().await;
            pull.connect(peer.endpoint()).await?;
            peer
        }
    };
    Ok((pull, peer))
}

/// Receives canonical messages `range` in order from `peer`.
async fn recv_canonical(
    pull: &mut PullSocket,
    peer: &mut PyPeer,
    range: std::ops::Range<u64>,
) -> TestResult {
    for i in range {
        let msg = peer
            .bounded(format_args!("receiving message {i}"), pull.recv())
            .await?;
        check_canonical(i, &msg)?;
    }
    Ok(())
}

async fn pull_stream(ctx: Context, tr: Transport, side: Side) -> TestResult {
    let dir = TestDir::new();
    let spec = PeerSpec::new("PUSH")
        .sndhwm(HWM)
        .scenario(&format!("send {STREAM}"));
    let (mut pull, mut peer) = pull_and_peer(&ctx, tr, side, &dir, spec).await?;
    let mut events = pull.monitor();
    recv_canonical(&mut pull, &mut peer, 0..STREAM).await?;
    assert_eq!(peer.wait_ok().await, STREAM);
    peer.wait_exit_ok().await;
    // Once our side has seen the connection end, everything the peer sent has been received:
    // nothing more may be waiting.
    let disconnected = |e| matches!(e, monocoque::SocketEvent::Disconnected { .. }).then_some(());
    wait_event(&mut events, disconnected).await;
    match pull.try_recv() {
        Err(Error::WouldBlock) => {}
        other => return Err(format!("after the stream, try_recv gave {other:?}").into()),
    }
    let _ = pull.close().await;
    Ok(())
}

async fn pull_exact(ctx: Context, tr: Transport, side: Side) -> TestResult {
    let dir = TestDir::new();
    let msgs = special_messages();
    let spec = PeerSpec::new("PUSH").scenario("send-stdin");
    let (mut pull, mut peer) = pull_and_peer(&ctx, tr, side, &dir, spec).await?;
    for m in &msgs {
        peer.send_line(&hex_frames(m));
    }
    peer.send_line("END");
    for (k, m) in msgs.iter().enumerate() {
        let got = peer
            .bounded(format_args!("receiving message {k}"), pull.recv())
            .await?;
        assert_msg_eq(&got, m, &format!("message {k} as monocoque got it"))?;
    }
    assert_eq!(peer.wait_ok().await, msgs.len() as u64);
    peer.wait_exit_ok().await;
    let _ = pull.close().await;
    Ok(())
}

async fn pull_connects_first(ctx: Context, tr: Transport) -> TestResult {
    let dir = TestDir::new();
    let ep = tr.unbound_endpoint(&dir);
    let mut pull = PullSocket::new(&ctx);
    pull.connect(ep.as_str()).await?;
    sleep(PEER_LATE_BY).await;
    let mut peer = PeerSpec::new("PUSH")
        .bind(&ep)
        .scenario(&format!("send {EARLY}"))
        .start()
        .await;
    assert_eq!(peer.endpoint(), ep);
    recv_canonical(&mut pull, &mut peer, 0..EARLY).await?;
    assert_eq!(peer.wait_ok().await, EARLY);
    peer.wait_exit_ok().await;
    let _ = pull.close().await;
    Ok(())
}

on_all_runtimes! {
    push_stream_tcp_ours_bind: |ctx| push_stream(ctx, Transport::Tcp, Side::OursBind),
    push_stream_tcp_ours_connect: |ctx| push_stream(ctx, Transport::Tcp, Side::OursConnect),
    push_stream_ipc_ours_bind: |ctx| push_stream(ctx, Transport::Ipc, Side::OursBind),
    push_stream_ipc_ours_connect: |ctx| push_stream(ctx, Transport::Ipc, Side::OursConnect),
    push_exact_tcp_ours_bind: |ctx| push_exact(ctx, Transport::Tcp, Side::OursBind),
    push_exact_tcp_ours_connect: |ctx| push_exact(ctx, Transport::Tcp, Side::OursConnect),
    push_exact_ipc_ours_bind: |ctx| push_exact(ctx, Transport::Ipc, Side::OursBind),
    push_exact_ipc_ours_connect: |ctx| push_exact(ctx, Transport::Ipc, Side::OursConnect),
    push_connects_first_tcp: |ctx| push_connects_first(ctx, Transport::Tcp),
    push_connects_first_ipc: |ctx| push_connects_first(ctx, Transport::Ipc),
    pull_stream_tcp_ours_bind: |ctx| pull_stream(ctx, Transport::Tcp, Side::OursBind),
    pull_stream_tcp_ours_connect: |ctx| pull_stream(ctx, Transport::Tcp, Side::OursConnect),
    pull_stream_ipc_ours_bind: |ctx| pull_stream(ctx, Transport::Ipc, Side::OursBind),
    pull_stream_ipc_ours_connect: |ctx| pull_stream(ctx, Transport::Ipc, Side::OursConnect),
    pull_exact_tcp_ours_bind: |ctx| pull_exact(ctx, Transport::Tcp, Side::OursBind),
    pull_exact_tcp_ours_connect: |ctx| pull_exact(ctx, Transport::Tcp, Side::OursConnect),
    pull_exact_ipc_ours_bind: |ctx| pull_exact(ctx, Transport::Ipc, Side::OursBind),
    pull_exact_ipc_ours_connect: |ctx| pull_exact(ctx, Transport::Ipc, Side::OursConnect),
    pull_connects_first_tcp: |ctx| pull_connects_first(ctx, Transport::Tcp),
    pull_connects_first_ipc: |ctx| pull_connects_first(ctx, Transport::Ipc),
}
