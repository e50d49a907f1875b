//! A PUSH peer that dies with messages queued for it: what it never got goes to the other
//! peers (libzmq drops it with the pipe). Only what was already handed to the kernel for the
//! dead peer (or encoded for it, at most one write batch) can be lost. And a REQ whose peer
//! died before replying: waiting for ever by default (as libzmq), sending again with
//! REQ_RELAXED.

mod common;

use bytes::Bytes;
use common::*;
use monocoque::{
    Context, Error, Message, PullSocket, PushSocket, ReqSocket, SocketEvent, SocketOption,
};
use std::collections::HashSet;
use std::io::Write;
use std::net::TcpStream;

const COUNT: u32 = 2500;
const SIZE: usize = 64 * 1024;
const SNDHWM: usize = 1000;

/// A raw peer that completes a NULL handshake as a PULL and then reads nothing, until told to
/// drop the connection (unread data: the kernel resets it).
fn stalled_pull(port: u16) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(&[null_greeting(), ready_command("PULL")].concat())
            .unwrap();
        let _ = rx.recv_timeout(std::time::Duration::from_secs(60));
    });
    (tx, thread)
}

async fn messages_of_a_dead_peer_go_to_the_others(ctx: Context) -> TestResult {
    let mut push = PushSocket::new(&ctx);
    let mut events = push.monitor();
    push.set_option(SocketOption::SndHwm(SNDHWM))?;
    let ep = push.bind("tcp://127.0.0.1:*").await?;
    let (kill, stalled) = stalled_pull(port_of(&ep));
    wait_handshakes(&mut events, 1).await;
    let mut pull = PullSocket::new(&ctx);
    pull.connect(&ep).await?;
    wait_handshakes(&mut events, 1).await;
    let payload = Bytes::from(vec![7u8; SIZE]);
    let mut received = HashSet::new();
    backlog::send_while_receiving(&mut push, &mut pull, COUNT, &payload, &mut received).await?;
    // The stalled peer dies with its queue full.
    kill.send(()).unwrap();
    stalled.join().unwrap();
    wait_event(&mut events, |e| {
        matches!(e, SocketEvent::Disconnected { .. }).then_some(())
    })
    .await;
    // The next send takes the dead peer's messages along, ahead of itself.
    let lost = backlog::probe_and_count_lost(&mut push, &mut pull, COUNT, &mut received).await?;
    eprintln!("{lost} of {COUNT} messages lost with the dead peer (its queue held {SNDHWM})");
    // Lost: what the kernel took for the dead peer (its buffers, a few MiB: some dozens of
    // 64 KiB messages) and one write batch; not its queue.
    assert!(lost < SNDHWM as u32 / 2, "{lost} lost");
    push.close().await;
    pull.close().await;
    Ok(())
}

/// A REQ whose peer died after taking its request and before replying. By default it still
/// expects that reply, as libzmq's REQ does: `send` fails with `InvalidState` and `recv` waits
/// (up to RCVTIMEO). With REQ_RELAXED it may send again: the new request goes to a live peer
/// (libzmq's REP here), and with REQ_CORRELATE only the reply to it is accepted.
async fn req_whose_peer_died(ctx: Context, relaxed: bool) -> TestResult {
    let mut dying = PeerSpec::new("REP")
        .scenario("script")
        .bind("tcp://127.0.0.1:*")
        .start()
        .await;
    let mut live = PeerSpec::new("REP")
        .scenario("script")
        .bind("tcp://127.0.0.1:*")
        .start()
        .await;
    let mut req = ReqSocket::new(&ctx);
    let mut events = req.monitor();
    req.set_option(SocketOption::ReqRelaxed(relaxed))?;
    req.set_option(SocketOption::ReqCorrelate(relaxed))?;
    req.connect(dying.endpoint()).await?;
    wait_handshakes(&mut events, 1).await;
    req.send("first").await?;
    dying.send_line("RECV 1");
    assert_eq!(dying.recv_msg().await, Message::from("first"));
    signal_kill(dying.pid());
    wait_event(&mut events, |e| {
        matches!(e, SocketEvent::Disconnected { .. }).then_some(())
    })
    .await;
    req.connect(live.endpoint()).await?;
    wait_handshakes(&mut events, 1).await;
    if !relaxed {
        // The reply to "first" is still expected, and has not come.
        assert!(matches!(req.try_recv(), Err(Error::WouldBlock)));
        let again = req.send("again").await;
        assert!(matches!(again, Err(Error::InvalidState(_))), "{again:?}");
        return Ok(());
    }
    req.send("again").await?;
    live.send_line("RECV 1");
    assert_eq!(live.recv_msg().await, Message::from("again"));
    live.send_msg(&Message::from("reply to again")).await;
    assert_eq!(bounded(req.recv()).await?, Message::from("reply to again"));
    live.send_line("QUIT");
    req.close().await;
    Ok(())
}

/// Kills a process at once (SIGKILL).
fn signal_kill(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -KILL {pid}");
}

on_all_runtimes!(messages_of_a_dead_peer_go_to_the_others);
on_all_runtimes! {
    req_whose_peer_died_keeps_waiting_by_default: |ctx| req_whose_peer_died(ctx, false),
    relaxed_req_whose_peer_died_sends_again: |ctx| req_whose_peer_died(ctx, true),
}
