//! ZMTP heartbeats (RFC 37; HEARTBEAT_IVL, _TTL, _TIMEOUT) against libzmq: heartbeating peers
//! stay connected however long they are idle, a peer that freezes (SIGSTOP: its kernel still
//! acknowledges, nothing answers) is given up on after HEARTBEAT_TIMEOUT, or after the TTL its
//! own PINGs asked for, and the connection is made again once it thaws.
//!
//! A frozen peer (libzmq's, or ours in a child process) connected to a PUSH with a backlog
//! queued for it: once the heartbeat gives it up, what was queued for it and not yet written
//! reaches the other peer.
//!
//! Times are printed, not asserted: the tests wait on monitor events and probe messages.

mod common;

use bytes::Bytes;
use common::*;
use monocoque::{
    ConnectionError, Context, Monitor, PullSocket, PushSocket, SocketEvent, SocketOption,
};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

/// Sends `signal` (`STOP`, `CONT`) to a process.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Waits for the connection to end, and returns why.
async fn wait_disconnected(events: &mut Monitor) -> Option<ConnectionError> {
    wait_event(events, |e| match e {
        SocketEvent::Disconnected { error, .. } => Some(error),
        _ => None,
    })
    .await
}

/// Every event the monitor holds now.
fn drain(events: &mut Monitor) -> Vec<SocketEvent> {
    std::iter::from_fn(|| events.try_recv()).collect()
}

async fn heartbeating_libzmq_peer_stays_connected_while_idle(ctx: Context) -> TestResult {
    // Both sides PING every 40 ms and give up after 1 s of silence (loose: a loaded CI
    // machine may stall a process for a while); the libzmq peer sends its only message
    // after 2 s (50 intervals) of idleness.
    let mut pull = PullSocket::new(&ctx);
    let mut events = pull.monitor();
    pull.set_option(SocketOption::HeartbeatIvl(ms(40)))?;
    pull.set_option(SocketOption::HeartbeatTimeout(ms(1000)))?;
    pull.set_option(SocketOption::HeartbeatTtl(ms(2000)))?;
    let ep = pull.bind("tcp://127.0.0.1:*").await?.to_string();
    let mut peer = PeerSpec::new("PUSH")
        .heartbeat(40, 2000, 1000)
        .scenario("script")
        .connect(&ep)
        .start()
        .await;
    wait_handshakes(&mut events, 1).await;
    peer.send_line("SLEEP 2000");
    peer.send_line("SENDSEQ 1");
    let msg = peer
        .bounded("receiving after 2 s idle", pull.recv())
        .await?;
    check_canonical(0, &msg)?;
    // Had either side missed the other's PONGs, it would have closed meanwhile: a
    // Disconnected (and a second handshake) would be in the monitor before the message.
    let later = drain(&mut events);
    assert!(
        !later.iter().any(|e| matches!(
            e,
            SocketEvent::Disconnected { .. } | SocketEvent::HandshakeSucceeded { .. }
        )),
        "{later:?}"
    );
    peer.send_line("QUIT");
    pull.close().await;
    Ok(())
}

async fn frozen_libzmq_peer_is_given_up_after_heartbeat_timeout(ctx: Context) -> TestResult {
    let mut peer = PeerSpec::new("PULL")
        .scenario("script")
        .bind("tcp://127.0.0.1:*")
        .start()
        .await;
    let mut push = PushSocket::new(&ctx);
    let mut events = push.monitor();
    push.set_option(SocketOption::HeartbeatIvl(ms(50)))?;
    push.set_option(SocketOption::HeartbeatTimeout(ms(250)))?;
    push.set_option(SocketOption::ReconnectIvl(ms(50)))?;
    push.connect(peer.endpoint()).await?;
    wait_handshakes(&mut events, 1).await;
    signal(peer.pid(), "STOP");
    let frozen = Instant::now();
    let error = wait_disconnected(&mut events).await;
    let detected = frozen.elapsed();
    assert!(
        matches!(error, Some(ConnectionError::HeartbeatTimeout)),
        "{error:?}"
    );
    eprintln!("frozen libzmq peer detected after {detected:?} (IVL 50 ms, TIMEOUT 250 ms)");
    // Thawed, the peer is connected to again, and a message goes through.
    signal(peer.pid(), "CONT");
    wait_handshakes(&mut events, 1).await;
    peer.send_line("VERIFY 1");
    push.send(canonical_message(0)).await?;
    peer.expect_line("OK 1").await;
    peer.send_line("QUIT");
    push.close().await;
    Ok(())
}

async fn heartbeats_inside_curve_boxes(ctx: Context) -> TestResult {
    // PING and PONG travel inside CURVE MESSAGE boxes; a frozen libzmq CURVE server is caught
    // the same way, and found again after it thaws.
    let (server, client) = (
        monocoque::KeyPair::generate(),
        monocoque::KeyPair::generate(),
    );
    let mut peer = PeerSpec::new("PULL")
        .curve_server(&server.secret.to_z85(), &[])
        .heartbeat(50, 2000, 1000)
        .scenario("script")
        .bind("tcp://127.0.0.1:*")
        .start()
        .await;
    let mut push = PushSocket::new(&ctx);
    let mut events = push.monitor();
    push.set_option(SocketOption::CurvePublicKey(client.public))?;
    push.set_option(SocketOption::CurveSecretKey(client.secret.clone()))?;
    push.set_option(SocketOption::CurveServerKey(server.public))?;
    push.set_option(SocketOption::HeartbeatIvl(ms(50)))?;
    push.set_option(SocketOption::HeartbeatTimeout(ms(300)))?;
    push.set_option(SocketOption::ReconnectIvl(ms(50)))?;
    push.connect(peer.endpoint()).await?;
    wait_handshakes(&mut events, 1).await;
    // libzmq PINGs us inside boxes meanwhile and must keep getting our PONGs (else it closes).
    peer.send_line("SLEEP 500");
    peer.send_line("VERIFY 1");
    push.send(canonical_message(0)).await?;
    peer.expect_line("SLEPT").await;
    peer.expect_line("OK 1").await;
    assert!(
        !drain(&mut events)
            .iter()
            .any(|e| matches!(e, SocketEvent::Disconnected { .. })),
        "the CURVE connection was dropped while heartbeating"
    );
    signal(peer.pid(), "STOP");
    let error = wait_disconnected(&mut events).await;
    signal(peer.pid(), "CONT");
    assert!(
        matches!(error, Some(ConnectionError::HeartbeatTimeout)),
        "{error:?}"
    );
    wait_handshakes(&mut events, 1).await;
    peer.send_line("QUIT");
    push.close().await;
    Ok(())
}

async fn frozen_libzmq_peer_is_given_up_after_its_own_ttl(ctx: Context) -> TestResult {
    // We send no PINGs; the libzmq peer's PINGs ask to be dropped 300 ms after it goes quiet.
    let mut pull = PullSocket::new(&ctx);
    let mut events = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").await?.to_string();
    let peer = PeerSpec::new("PUSH")
        .heartbeat(50, 300, 1000)
        .scenario("script")
        .connect(&ep)
        .start()
        .await;
    wait_handshakes(&mut events, 1).await;
    // A first PING has surely arrived once a message sent after 100 ms did.
    peer.send_line("SLEEP 100");
    peer.send_line("SENDSEQ 1");
    let msg = bounded(pull.recv()).await?;
    check_canonical(0, &msg)?;
    signal(peer.pid(), "STOP");
    let frozen = Instant::now();
    let error = wait_disconnected(&mut events).await;
    let detected = frozen.elapsed();
    signal(peer.pid(), "CONT");
    assert!(
        matches!(error, Some(ConnectionError::HeartbeatTimeout)),
        "{error:?}"
    );
    eprintln!("frozen libzmq peer dropped after {detected:?} (its TTL 300 ms)");
    peer.send_line("QUIT");
    pull.close().await;
    Ok(())
}

async fn silent_raw_peer_is_given_up(ctx: Context) -> TestResult {
    // A peer that completes the handshake and then neither reads nor writes (a frozen
    // process of any kind, ours included).
    let mut pull = PullSocket::new(&ctx);
    let mut events = pull.monitor();
    pull.set_option(SocketOption::HeartbeatIvl(ms(30)))?;
    let ep = pull.bind("tcp://127.0.0.1:*").await?;
    let port = port_of(&ep);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let silent = std::thread::spawn(move || {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(&[null_greeting(), ready_command("PUSH")].concat())
            .unwrap();
        // Hold the connection open, unread, until the test is done.
        let _ = done_rx.recv_timeout(Duration::from_secs(20));
    });
    wait_handshakes(&mut events, 1).await;
    let error = wait_disconnected(&mut events).await;
    assert!(
        matches!(error, Some(ConnectionError::HeartbeatTimeout)),
        "{error:?}"
    );
    let _ = done_tx.send(());
    silent.join().unwrap();
    pull.close().await;
    Ok(())
}

/// The environment variable that makes [`our_pull_process`] run: the endpoint to connect to.
const CHILD_ENDPOINT: &str = "MONOCOQUE_TEST_PULL_CONNECT";

/// Our PULL in a process of its own (this test binary, run again by
/// [`frozen_peer_backlog_reaches_the_other_peer`] with only this test selected): connects to
/// the endpoint in [`CHILD_ENDPOINT`] and receives until it is killed.
#[test]
#[ignore = "a child process of the frozen-peer tests, not a test by itself"]
fn our_pull_process() {
    let Ok(endpoint) = std::env::var(CHILD_ENDPOINT) else {
        eprintln!("our_pull_process: {CHILD_ENDPOINT} unset: only the frozen-peer tests run it");
        return;
    };
    run_tokio("our_pull_process", |ctx| async move {
        let mut pull = PullSocket::new(&ctx);
        pull.connect(&endpoint).await.unwrap();
        while pull.recv().await.is_ok() {}
    });
}

/// A child process killed when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Which peer is frozen.
#[derive(Clone, Copy, Debug)]
enum Frozen {
    Libzmq,
    Ours,
}

/// A PUSH (binding, heartbeats IVL 50 ms, TIMEOUT 250 ms) with two PULL peers: one is frozen
/// with SIGSTOP, then 2,500 messages of 64 KiB are sent. Once the heartbeat gives the frozen
/// peer up, what was queued for it and never written goes to the other peer: only what the
/// kernel had taken for it (its socket buffers) is lost, not its queue (SNDHWM 1,000).
async fn frozen_peer_backlog_reaches_the_other_peer(ctx: Context, frozen: Frozen) -> TestResult {
    const COUNT: u32 = 2500;
    const SNDHWM: usize = 1000;
    let mut push = PushSocket::new(&ctx);
    let mut events = push.monitor();
    push.set_option(SocketOption::HeartbeatIvl(ms(50)))?;
    push.set_option(SocketOption::HeartbeatTimeout(ms(250)))?;
    push.set_option(SocketOption::SndHwm(SNDHWM))?;
    let endpoint = push.bind("tcp://127.0.0.1:*").await?.to_string();
    let (pid, _libzmq, _ours) = match frozen {
        Frozen::Libzmq => {
            let peer = PeerSpec::new("PULL")
                .scenario("script")
                .connect(&endpoint)
                .start()
                .await;
            (peer.pid(), Some(peer), None)
        }
        Frozen::Ours => {
            let child = std::process::Command::new(std::env::current_exe()?)
                .args(["our_pull_process", "--exact", "--ignored", "--nocapture"])
                .env(CHILD_ENDPOINT, &endpoint)
                .stdout(std::process::Stdio::null())
                .spawn()?;
            (child.id(), None, Some(Child(child)))
        }
    };
    wait_handshakes(&mut events, 1).await;
    let mut good = PullSocket::new(&ctx);
    good.connect(&endpoint).await?;
    wait_handshakes(&mut events, 1).await;

    signal(pid, "STOP");
    let frozen_at = Instant::now();
    let payload = Bytes::from(vec![7u8; 64 * 1024]);
    let mut received = HashSet::new();
    backlog::send_while_receiving(&mut push, &mut good, COUNT, &payload, &mut received).await?;
    let error = wait_disconnected(&mut events).await;
    let detected = frozen_at.elapsed();
    assert!(
        matches!(error, Some(ConnectionError::HeartbeatTimeout)),
        "{error:?}"
    );
    // The next send takes the frozen peer's messages along, ahead of itself.
    let lost = backlog::probe_and_count_lost(&mut push, &mut good, COUNT, &mut received).await?;
    eprintln!(
        "frozen {frozen:?} peer given up {detected:?} after the freeze (IVL 50 ms, TIMEOUT \
         250 ms; sending meanwhile); {lost} of {COUNT} messages lost with it (in its kernel \
         buffers), the rest reached the other peer"
    );
    assert!(lost < SNDHWM as u32 / 2, "{lost} lost");
    signal(pid, "KILL");
    push.close().await;
    good.close().await;
    Ok(())
}

on_all_runtimes! {
    frozen_libzmq_peer_backlog_reaches_the_other_peer:
        |ctx| frozen_peer_backlog_reaches_the_other_peer(ctx, Frozen::Libzmq),
    frozen_peer_of_ours_backlog_reaches_the_other_peer:
        |ctx| frozen_peer_backlog_reaches_the_other_peer(ctx, Frozen::Ours),
}

on_all_runtimes!(
    heartbeating_libzmq_peer_stays_connected_while_idle,
    frozen_libzmq_peer_is_given_up_after_heartbeat_timeout,
    frozen_libzmq_peer_is_given_up_after_its_own_ttl,
    silent_raw_peer_is_given_up,
    heartbeats_inside_curve_boxes,
);
