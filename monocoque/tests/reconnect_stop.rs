//! ZMQ_RECONNECT_STOP: a connecting endpoint that gives up for good when its connect is
//! refused, or when a handshake fails, reporting ZMQ_EVENT_CLOSED where it would otherwise
//! report CONNECT_RETRIED (or connect again).

mod common;

use common::*;
use monocoque::{Context, Error, PushSocket, SocketEvent, SocketOption, reconnect_stop};
use std::io::Write;
use std::time::Duration;

/// The next event that says what the endpoint does after a failure: gives up (`Closed`) or
/// tries again (`ConnectRetried`, or a new `Connected`).
async fn after_failure(events: &mut monocoque::Monitor) -> SocketEvent {
    wait_event(events, |e| match e {
        SocketEvent::Closed { .. }
        | SocketEvent::ConnectRetried { .. }
        | SocketEvent::Connected { .. } => Some(e),
        _ => None,
    })
    .await
}

async fn refused_connect_stops_for_good(ctx: Context) -> TestResult {
    let nobody = format!("tcp://127.0.0.1:{}", reserve_tcp_port());
    // Without the flag: retried, as always.
    let mut control = PushSocket::new(&ctx);
    let mut control_events = control.monitor();
    control.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(10))))?;
    control.connect(nobody.as_str()).await?;
    let event = after_failure(&mut control_events).await;
    assert!(
        matches!(event, SocketEvent::ConnectRetried { .. }),
        "{event:?}"
    );
    // With it: closed at the first refusal, never retried.
    let mut push = PushSocket::new(&ctx);
    let mut events = push.monitor();
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(10))))?;
    push.set_option(SocketOption::ReconnectStop(reconnect_stop::CONN_REFUSED))?;
    push.connect(nobody.as_str()).await?;
    let event = after_failure(&mut events).await;
    match event {
        SocketEvent::Closed { endpoint } => assert_eq!(endpoint.to_string(), nobody),
        other => panic!("expected Closed, got {other:?}"),
    }
    control.close().await;
    push.close().await;
    Ok(())
}

async fn failed_handshake_stops_for_good(ctx: Context) -> TestResult {
    // A TCP server that answers every connection with something that is not ZMTP.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let endpoint = format!("tcp://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let mut push = PushSocket::new(&ctx);
    let mut events = push.monitor();
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(10))))?;
    push.set_option(SocketOption::ReconnectStop(
        reconnect_stop::HANDSHAKE_FAILED | reconnect_stop::CONN_REFUSED,
    ))?;
    push.connect(endpoint.as_str()).await?;
    wait_event(&mut events, |e| {
        matches!(e, SocketEvent::HandshakeFailed { .. }).then_some(())
    })
    .await;
    let event = after_failure(&mut events).await;
    assert!(matches!(event, SocketEvent::Closed { .. }), "{event:?}");
    // Without the flag the same server is connected to again.
    let mut control = PushSocket::new(&ctx);
    let mut control_events = control.monitor();
    control.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(10))))?;
    control.connect(endpoint.as_str()).await?;
    wait_event(&mut control_events, |e| {
        matches!(e, SocketEvent::HandshakeFailed { .. }).then_some(())
    })
    .await;
    let event = after_failure(&mut control_events).await;
    assert!(
        matches!(
            event,
            SocketEvent::Connected { .. } | SocketEvent::ConnectRetried { .. }
        ),
        "{event:?}"
    );
    push.close().await;
    control.close().await;
    Ok(())
}

async fn unknown_flags_are_refused(ctx: Context) -> TestResult {
    let mut push = PushSocket::new(&ctx);
    let got = push.set_option(SocketOption::ReconnectStop(0x8));
    assert!(matches!(got, Err(Error::InvalidOption { .. })), "{got:?}");
    push.set_option(SocketOption::ReconnectStop(reconnect_stop::ALL))?;
    Ok(())
}

on_all_runtimes!(
    refused_connect_stops_for_good,
    failed_handshake_stops_for_good,
    unknown_flags_are_refused,
);
