//! Faults on the wire, through [`FaultProxy`]: a connection cut mid-stream, a frame truncated,
//! a CURVE box corrupted, a link that stalls, a link that delays everything. Expectations, per
//! pattern: nothing partial or corrupt is ever delivered, nothing panics, the connection is made
//! again, what was not yet on its way arrives in order, and a SUB's subscriptions come back with
//! the connection.

mod common;

use common::*;
use monocoque::{
    ConnectionError, Context, KeyPair, Message, PubSocket, PullSocket, PushSocket, RepSocket,
    ReqSocket, SocketEvent, SocketOption, SubSocket,
};
use std::net::SocketAddr;
use std::time::Duration;

const COUNT: u64 = 1000;

fn addr_of(ep: &str) -> SocketAddr {
    ep.trim_start_matches("tcp://").parse().unwrap()
}

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

fn seq_of(msg: &Message) -> u64 {
    u64::from_be_bytes(msg.frames()[0][..8].try_into().unwrap())
}

/// Sends canonical 0..COUNT through `push` while `pull` receives, calling `fault` once `at`
/// messages have arrived; then keeps sending probes (canonical COUNT, COUNT + 1, ...) until one
/// arrives, so that the end is seen even when the last messages were lost in the fault. Checks
/// that every message received is whole and canonical, in increasing order, and returns how
/// many of the COUNT were lost.
async fn stream_through_a_fault(
    push: &mut PushSocket,
    pull: &mut PullSocket,
    at: u64,
    fault: impl FnOnce(),
) -> Result<u64, String> {
    let done = std::sync::atomic::AtomicBool::new(false);
    let send = async {
        let mut i = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            push.send(canonical_message(i))
                .await
                .map_err(|e| e.to_string())?;
            if i >= COUNT {
                sleep(Duration::from_millis(5)).await;
            }
            i += 1;
        }
        Ok::<_, String>(())
    };
    let receive = async {
        let mut fault = Some(fault);
        let (mut received, mut last) = (0, None::<u64>);
        loop {
            let msg = bounded(pull.recv()).await.map_err(|e| e.to_string())?;
            let i = seq_of(&msg);
            check_canonical(i, &msg)?;
            if let Some(prev) = last {
                if i <= prev {
                    return Err(format!("message {i} after {prev}: duplicated or reordered"));
                }
            }
            last = Some(i);
            if i >= COUNT {
                break;
            }
            received += 1;
            if received == at {
                if let Some(f) = fault.take() {
                    f();
                }
            }
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(COUNT - received)
    };
    let (sent, lost) = futures::join!(bounded(send), receive);
    sent?;
    lost
}

/// Our PULL bound, our PUSH (with `push_options`, set before it connects: options apply to
/// the endpoints made after them) connecting through a fresh proxy.
async fn pipeline(
    ctx: &Context,
    secure: bool,
    push_options: Vec<SocketOption>,
) -> Result<(PushSocket, PullSocket, FaultProxy), String> {
    let e = |e: monocoque::Error| e.to_string();
    let mut pull = PullSocket::new(ctx);
    let mut push = PushSocket::new(ctx);
    if secure {
        let server = KeyPair::generate();
        let client = KeyPair::generate();
        pull.set_option(SocketOption::CurveSecretKey(server.secret.clone()))
            .map_err(e)?;
        pull.set_option(SocketOption::CurveServer(true))
            .map_err(e)?;
        push.set_option(SocketOption::CurvePublicKey(client.public))
            .map_err(e)?;
        push.set_option(SocketOption::CurveSecretKey(client.secret.clone()))
            .map_err(e)?;
        push.set_option(SocketOption::CurveServerKey(server.public))
            .map_err(e)?;
    }
    let ep = pull.bind("tcp://127.0.0.1:*").await.map_err(e)?.to_string();
    let proxy = FaultProxy::new(addr_of(&ep));
    push.set_option(SocketOption::ReconnectIvl(ms(20)))
        .map_err(e)?;
    for option in push_options {
        push.set_option(option).map_err(e)?;
    }
    push.connect(proxy.endpoint().as_str()).await.map_err(e)?;
    Ok((push, pull, proxy))
}

async fn a_cut_connection_is_made_again(ctx: Context) -> TestResult {
    let (mut push, mut pull, proxy) = pipeline(&ctx, false, vec![]).await?;
    let mut events = push.monitor();
    let lost = stream_through_a_fault(&mut push, &mut pull, 300, || proxy.cut()).await?;
    eprintln!("cut: {lost} of {COUNT} messages lost in flight");
    // However much was already through, the cut connection is made again and carries on.
    wait_event(&mut events, |e| {
        matches!(e, SocketEvent::Disconnected { .. }).then_some(())
    })
    .await;
    wait_handshakes(&mut events, 1).await;
    push.send(canonical_message(5000)).await?;
    loop {
        let msg = bounded(pull.recv()).await?;
        if seq_of(&msg) == 5000 {
            check_canonical(5000, &msg)?;
            break;
        }
    }
    assert!(proxy.connections() >= 2);
    push.close().await;
    pull.close().await;
    Ok(())
}

async fn a_truncated_frame_is_never_delivered(ctx: Context) -> TestResult {
    let (mut push, mut pull, proxy) = pipeline(&ctx, false, vec![]).await?;
    let mut events = pull.monitor();
    push.send(canonical_message(0)).await?;
    check_canonical(0, &bounded(pull.recv()).await?)?;
    // Message 999 (a 100 kB frame at its end) crosses in chunks, the first cut in half and
    // the connection closed after it.
    proxy.stall(true);
    proxy.truncate_next();
    push.send(canonical_message(999)).await?;
    proxy.stall(false);
    wait_event(&mut events, |e| {
        matches!(e, SocketEvent::Disconnected { .. }).then_some(())
    })
    .await;
    wait_handshakes(&mut events, 1).await;
    push.send(canonical_message(1000)).await?;
    let msg = bounded(pull.recv()).await?;
    // Nothing of message 999 came through: the next one is the one sent after.
    check_canonical(1000, &msg)?;
    assert!(proxy.connections() >= 2);
    push.close().await;
    pull.close().await;
    Ok(())
}

async fn a_corrupted_curve_box_is_never_delivered(ctx: Context) -> TestResult {
    let (mut push, mut pull, proxy) = pipeline(&ctx, true, vec![]).await?;
    let mut events = pull.monitor();
    let one = |i: u64| canonical_message(i);
    push.send(one(0)).await?;
    check_canonical(0, &bounded(pull.recv()).await?)?;
    // Message 1 crosses the proxy as one chunk, a byte of its box flipped.
    proxy.stall(true);
    proxy.corrupt_next(60);
    push.send(one(1)).await?;
    proxy.stall(false);
    let error = wait_event(&mut events, |e| match e {
        SocketEvent::Disconnected { error, .. } => Some(error),
        _ => None,
    })
    .await;
    assert!(
        matches!(
            error,
            Some(ConnectionError::Protocol(monocoque::ZmtpError::Crypto(_)))
        ),
        "{error:?}"
    );
    // The connection is made again; the next message arrives, message 1 never does.
    wait_handshakes(&mut events, 1).await;
    push.send(one(2)).await?;
    let msg = bounded(pull.recv()).await?;
    check_canonical(2, &msg)?;
    assert!(proxy.connections() >= 2);
    push.close().await;
    pull.close().await;
    Ok(())
}

async fn a_stalled_link_is_detected_and_made_again(ctx: Context) -> TestResult {
    let heartbeats = vec![
        SocketOption::HeartbeatIvl(ms(50)),
        SocketOption::HeartbeatTimeout(ms(200)),
        SocketOption::HandshakeIvl(ms(300)),
    ];
    let (mut push, mut pull, proxy) = pipeline(&ctx, false, heartbeats).await?;
    let mut events = push.monitor();
    wait_handshakes(&mut events, 1).await;
    push.send(Message::from_frames([0u64.to_be_bytes().to_vec()]))
        .await?;
    bounded(pull.recv()).await?;
    proxy.stall(true);
    let error = wait_event(&mut events, |e| match e {
        SocketEvent::Disconnected { error, .. } => Some(error),
        _ => None,
    })
    .await;
    assert!(
        matches!(error, Some(ConnectionError::HeartbeatTimeout)),
        "{error:?}"
    );
    proxy.stall(false);
    wait_handshakes(&mut events, 1).await;
    push.send(Message::from_frames([1u64.to_be_bytes().to_vec()]))
        .await?;
    let msg = bounded(pull.recv()).await?;
    assert_eq!(seq_of(&msg), 1);
    push.close().await;
    pull.close().await;
    Ok(())
}

/// A long link (the proxy holds every chunk back 60 ms each way) with heartbeats much shorter
/// than its round trip (IVL 20 ms) but a TIMEOUT longer (300 ms): REQ/REP round trips take at
/// least the link's 120 ms, the connection is never given up, and a stream through it arrives
/// whole and in order.
async fn a_delayed_link_keeps_working(ctx: Context) -> TestResult {
    const DELAY: Duration = Duration::from_millis(60);
    let mut rep = RepSocket::new(&ctx);
    let ep = rep.bind("tcp://127.0.0.1:*").await?.to_string();
    let proxy = FaultProxy::new(addr_of(&ep));
    proxy.delay(DELAY);
    let mut req = ReqSocket::new(&ctx);
    let mut events = req.monitor();
    req.set_option(SocketOption::HeartbeatIvl(ms(20)))?;
    req.set_option(SocketOption::HeartbeatTimeout(ms(300)))?;
    req.connect(proxy.endpoint().as_str()).await?;
    let mut slowest = Duration::ZERO;
    let mut fastest = Duration::MAX;
    for i in 0..10u64 {
        let started = std::time::Instant::now();
        req.send(canonical_message(i)).await?;
        let request = bounded(rep.recv()).await?;
        check_canonical(i, &request)?;
        rep.send(reply(&request)).await?;
        let answer = bounded(req.recv()).await?;
        assert_eq!(answer, reply(&canonical_message(i)));
        let took = started.elapsed();
        (slowest, fastest) = (slowest.max(took), fastest.min(took));
    }
    eprintln!(
        "round trips through a link of {DELAY:?} each way: {fastest:?} to {slowest:?} \
         (heartbeats every 20 ms, TIMEOUT 300 ms)"
    );
    // The proxy did delay (else this test shows nothing), and the link was never given up.
    assert!(fastest >= 2 * DELAY, "{fastest:?}");
    let events: Vec<_> = std::iter::from_fn(|| events.try_recv()).collect();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, SocketEvent::Disconnected { .. })),
        "{events:?}"
    );
    assert_eq!(proxy.connections(), 1);
    req.close().await;
    rep.close().await;
    Ok(())
}

async fn a_sub_resubscribes_after_a_cut(ctx: Context) -> TestResult {
    let mut publisher = PubSocket::new(&ctx);
    let ep = publisher.bind("tcp://127.0.0.1:*").await?.to_string();
    let proxy = FaultProxy::new(addr_of(&ep));
    let mut sub = SubSocket::new(&ctx);
    sub.set_option(SocketOption::ReconnectIvl(ms(20)))?;
    let mut events = sub.monitor();
    sub.subscribe("A")?;
    sub.connect(proxy.endpoint().as_str()).await?;
    // Publishes B and A messages until the subscriber has an A one (it never gets a B one).
    async fn until_received(publisher: &mut PubSocket, sub: &mut SubSocket) -> TestResult {
        bounded(async {
            loop {
                publisher.send(Message::from("B: not for us")).await?;
                publisher.send(Message::from("A: wanted")).await?;
                if let Ok(msg) = within(Duration::from_millis(20), "an A message", sub.recv()).await
                {
                    assert_eq!(msg?, Message::from("A: wanted"));
                    return Ok(());
                }
            }
        })
        .await
    }
    until_received(&mut publisher, &mut sub).await?;
    proxy.cut();
    wait_event(&mut events, |e| {
        matches!(e, SocketEvent::Disconnected { .. }).then_some(())
    })
    .await;
    wait_handshakes(&mut events, 1).await;
    until_received(&mut publisher, &mut sub).await?;
    assert!(proxy.connections() >= 2);
    sub.close().await;
    publisher.close().await;
    Ok(())
}

on_all_runtimes!(
    a_cut_connection_is_made_again,
    a_truncated_frame_is_never_delivered,
    a_corrupted_curve_box_is_never_delivered,
    a_stalled_link_is_detected_and_made_again,
    a_delayed_link_keeps_working,
    a_sub_resubscribes_after_a_cut,
);
