//! The monitor's events, each provoked: CONNECT_DELAYED, BIND_FAILED, MONITOR_STOPPED, the
//! handshake failures with libzmq's values, and libzmq's form of the monitor (two-frame
//! messages on an inproc PAIR socket) for code ported from libzmq. (ACCEPT_FAILED is in
//! `accept_failed.rs`: it lowers the process's file limit.)

mod common;

use common::*;
use monocoque::monitor::{LibzmqEvent, events};
use monocoque::{Context, Message, PairSocket, PullSocket, PushSocket, SocketEvent, SocketOption};
use std::time::Duration;

/// Decodes libzmq's monitor message: (event, value, endpoint).
fn decode(msg: &Message) -> (u16, u32, String) {
    let head = &msg.frames()[0];
    assert_eq!((msg.len(), head.len()), (2, 6), "{msg:?}");
    let event = u16::from_ne_bytes([head[0], head[1]]);
    let value = u32::from_ne_bytes([head[2], head[3], head[4], head[5]]);
    let endpoint = String::from_utf8(msg.frames()[1].to_vec()).unwrap();
    (event, value, endpoint)
}

async fn connect_delayed_comes_before_connected(ctx: Context) -> TestResult {
    let mut pull = PullSocket::new(&ctx);
    let ep = pull.bind("tcp://127.0.0.1:*").await?;
    let mut push = PushSocket::new(&ctx);
    let mut events = push.monitor();
    push.connect(&ep).await?;
    let mut seen = Vec::new();
    wait_event(&mut events, |e| {
        let done = matches!(e, SocketEvent::Connected { .. });
        seen.push(e);
        done.then_some(())
    })
    .await;
    assert!(
        matches!(seen.first(), Some(SocketEvent::ConnectDelayed { endpoint }) if *endpoint == ep),
        "{seen:?}"
    );
    push.close().await;
    pull.close().await;
    Ok(())
}

async fn bind_failed_is_reported(ctx: Context) -> TestResult {
    let mut first = PullSocket::new(&ctx);
    let ep = first.bind("tcp://127.0.0.1:*").await?;
    let mut second = PullSocket::new(&ctx);
    let mut events = second.monitor();
    assert!(second.bind(&ep).await.is_err());
    let error = wait_event(&mut events, |e| match e {
        SocketEvent::BindFailed { endpoint, error } if endpoint == ep => Some(error),
        _ => None,
    })
    .await;
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse, "{error}");
    let libzmq = SocketEvent::BindFailed {
        endpoint: ep.clone(),
        error: error.clone(),
    }
    .libzmq_event()
    .unwrap();
    assert_eq!((libzmq.event, libzmq.value), (events::BIND_FAILED, 98)); // EADDRINUSE
    // inproc too.
    first.bind("inproc://taken").await?;
    assert!(second.bind("inproc://taken").await.is_err());
    wait_event(&mut events, |e| {
        matches!(e, SocketEvent::BindFailed { .. }).then_some(())
    })
    .await;
    first.close().await;
    second.close().await;
    Ok(())
}

async fn monitor_stopped_ends_every_monitor(ctx: Context) -> TestResult {
    let mut pull = PullSocket::new(&ctx);
    let mut old = pull.monitor();
    let mut new = pull.monitor();
    // Replaced: the old monitor's last event.
    let last = bounded(old.recv()).await;
    assert!(
        matches!(last, Some(SocketEvent::MonitorStopped)),
        "{last:?}"
    );
    assert!(bounded(old.recv()).await.is_none());
    pull.bind("tcp://127.0.0.1:*").await?;
    pull.close().await;
    let mut rest = Vec::new();
    while let Some(e) = bounded(new.recv()).await {
        rest.push(e);
    }
    assert!(
        matches!(rest.last(), Some(SocketEvent::MonitorStopped)),
        "{rest:?}"
    );
    Ok(())
}

async fn libzmq_form_on_an_inproc_pair(ctx: Context) -> TestResult {
    // As zmq_socket_monitor(s, "inproc://monitor", ZMQ_EVENT_ALL) and a PAIR reading it.
    let mut pull = PullSocket::new(&ctx);
    pull.monitor_to("inproc://monitor.pull", events::ALL)
        .await?;
    let mut reader = PairSocket::new(&ctx);
    reader.connect("inproc://monitor.pull").await?;
    let ep = pull.bind("tcp://127.0.0.1:*").await?.to_string();
    let mut push = PushSocket::new(&ctx);
    push.connect(&ep).await?;
    push.send(Message::single("probe")).await?;
    bounded(pull.recv()).await?;
    let mut got = Vec::new();
    while !got
        .iter()
        .any(|(e, _, _)| *e == events::HANDSHAKE_SUCCEEDED)
    {
        got.push(decode(&bounded(reader.recv()).await?));
    }
    assert_eq!(got[0], (events::LISTENING, 0, ep.clone()), "{got:?}");
    assert!(
        got.iter()
            .any(|(e, _, at)| *e == events::ACCEPTED && *at == ep),
        "{got:?}"
    );
    // A NULL client against a CURVE server: HANDSHAKE_FAILED_PROTOCOL with libzmq's
    // ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH.
    let server = monocoque::KeyPair::generate();
    let mut curve = PullSocket::new(&ctx);
    curve
        .monitor_to("inproc://monitor.curve", events::HANDSHAKE_FAILED_PROTOCOL)
        .await?;
    let mut curve_reader = PairSocket::new(&ctx);
    curve_reader.connect("inproc://monitor.curve").await?;
    curve.set_option(SocketOption::CurveSecretKey(server.secret.clone()))?;
    curve.set_option(SocketOption::CurveServer(true))?;
    let curve_ep = curve.bind("tcp://127.0.0.1:*").await?.to_string();
    let mut null_client = PushSocket::new(&ctx);
    null_client.set_option(SocketOption::ReconnectIvl(Some(Duration::from_secs(60))))?;
    null_client.connect(&curve_ep).await?;
    let (event, value, at) = decode(&bounded(curve_reader.recv()).await?);
    assert_eq!(
        (event, value, at),
        (events::HANDSHAKE_FAILED_PROTOCOL, 0x1100_0002, curve_ep)
    );
    // Closing ends with MONITOR_STOPPED.
    pull.close().await;
    loop {
        let (event, ..) = decode(&bounded(reader.recv()).await?);
        if event == events::MONITOR_STOPPED {
            break;
        }
    }
    assert_eq!(
        SocketEvent::MonitorStopped.libzmq_event(),
        Some(LibzmqEvent {
            event: events::MONITOR_STOPPED,
            value: 0,
            endpoint: String::new()
        })
    );
    null_client.close().await;
    curve.close().await;
    push.close().await;
    Ok(())
}

on_all_runtimes!(
    connect_delayed_comes_before_connected,
    bind_failed_is_reported,
    monitor_stopped_ends_every_monitor,
    libzmq_form_on_an_inproc_pair,
);
