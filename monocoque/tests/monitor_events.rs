//! The monitor's events, each provoked: all of libzmq's list in one run, then CONNECT_DELAYED,
//! BIND_FAILED, CLOSE_FAILED, MONITOR_STOPPED, the handshake failures with libzmq's values, and
//! libzmq's form of the monitor (two-frame messages on an inproc PAIR socket) for code ported
//! from libzmq. (ACCEPT_FAILED is in `accept_failed.rs`: it lowers the process's file limit.)

mod common;

use bytes::Bytes;
use common::*;
use monocoque::monitor::{LibzmqEvent, events};
use monocoque::{
    Authenticator, Context, HandshakeFailure, Message, Monitor, PairSocket, PullSocket, PushSocket,
    SocketEvent, SocketOption,
};
use std::collections::BTreeSet;
use std::io::Write;
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

/// A TCP listener whose accept queue is full (backlog 0 and one connection waiting, not
/// accepted): the kernel drops the SYNs of a further connect, which stays in progress (libzmq's
/// EINPROGRESS, its CONNECT_DELAYED) until [`make_room`](Self::make_room) and the SYN's retry.
/// On loopback a connect to a listener with room may complete before its first poll, and then
/// no CONNECT_DELAYED comes (nor does it from libzmq when `connect` succeeds at once).
struct FullBacklog {
    listener: std::net::TcpListener,
    waiting: Vec<std::net::TcpStream>,
}

impl FullBacklog {
    fn new() -> Self {
        use std::os::fd::AsRawFd;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // SAFETY: listen(2) on a socket this function owns; it only changes the backlog.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let waiting = vec![std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap()];
        Self { listener, waiting }
    }

    fn endpoint(&self) -> String {
        format!("tcp://{}", self.listener.local_addr().unwrap())
    }

    /// Accepts (and drops) the connection waiting, so that the next SYN is taken.
    fn make_room(&mut self) {
        drop(self.listener.accept().unwrap());
        self.waiting.clear();
    }
}

async fn connect_delayed_comes_before_connected(ctx: Context) -> TestResult {
    let mut full = FullBacklog::new();
    let mut push = PushSocket::new(&ctx);
    let mut events = push.monitor();
    let ep = full.endpoint();
    push.connect(ep.as_str()).await?;
    let delayed = wait_event(&mut events, |e| match e {
        SocketEvent::ConnectDelayed { endpoint } => Some(endpoint),
        SocketEvent::Connected { .. } => panic!("connected before the queue had room: {e:?}"),
        _ => None,
    })
    .await;
    assert_eq!(delayed.to_string(), ep);
    // Room in the queue: the kernel's SYN retry (about a second later) connects.
    full.make_room();
    wait_event(&mut events, |e| {
        matches!(e, SocketEvent::Connected { .. }).then_some(())
    })
    .await;
    push.close().await;
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

/// CLOSE_FAILED, as libzmq reports it: an ipc listener whose socket file someone else removed
/// cannot remove it when it closes (libzmq's `unlink` fails with ENOENT). A listener that
/// closes normally reports CLOSED and leaves no file behind.
async fn close_failed_when_the_socket_file_is_gone(ctx: Context) -> TestResult {
    let dir = TestDir::new();
    let mut pull = PullSocket::new(&ctx);
    let mut events = pull.monitor();
    let gone = pull.bind(dir.ipc("gone").as_str()).await?;
    let kept = pull.bind(dir.ipc("kept").as_str()).await?;
    std::fs::remove_file(dir.path().join("gone"))?;
    pull.unbind(&gone)?;
    let error = wait_event(&mut events, |e| match e {
        SocketEvent::CloseFailed { endpoint, error } if endpoint == gone => Some(error),
        SocketEvent::Closed { endpoint } if endpoint == gone => panic!("CLOSED for {endpoint}"),
        _ => None,
    })
    .await;
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound, "{error}");
    let libzmq = SocketEvent::CloseFailed {
        endpoint: gone.clone(),
        error,
    }
    .libzmq_event()
    .unwrap();
    assert_eq!((libzmq.event, libzmq.value), (events::CLOSE_FAILED, 2)); // ENOENT
    pull.unbind(&kept)?;
    wait_event(&mut events, |e| match e {
        SocketEvent::Closed { endpoint } if endpoint == kept => Some(()),
        SocketEvent::CloseFailed { endpoint, error } if endpoint == kept => {
            panic!("CLOSE_FAILED for {endpoint}: {error}")
        }
        _ => None,
    })
    .await;
    assert!(!dir.path().join("kept").exists(), "the socket file is left");
    pull.close().await;
    Ok(())
}

/// Waits on `events` until `pick` accepts an event, noting the libzmq number of each event seen.
async fn note_until(
    events: &mut Monitor,
    seen: &mut BTreeSet<u16>,
    mut pick: impl FnMut(&SocketEvent) -> bool,
) {
    wait_event(events, |e| {
        if let Some(libzmq) = e.libzmq_event() {
            seen.insert(libzmq.event);
        }
        pick(&e).then_some(())
    })
    .await;
}

/// Writes `bytes` to `port` from a raw TCP client, then closes (half a greeting, or not
/// ZMTP at all).
fn raw_client(port: u16, bytes: &[u8]) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(bytes).unwrap();
}

/// Every event of libzmq's list, provoked in one run on one PLAIN server (and the sockets
/// around it) and seen with its libzmq number. (ACCEPT_FAILED is in `accept_failed.rs`: it
/// lowers the process's file limit.)
async fn every_libzmq_event_is_produced(ctx: Context) -> TestResult {
    let dir = TestDir::new();
    let mut seen = BTreeSet::new();
    let zap_ctx = ctx
        .clone()
        .with_zap_handler(Authenticator::new().plain_user("user", "pass"));
    let mut server = PullSocket::new(&zap_ctx);
    let mut server_events = server.monitor();
    server.set_option(SocketOption::PlainServer(true))?;
    let ep = server.bind("tcp://127.0.0.1:*").await?;
    let port: u16 = ep.to_string().rsplit(':').next().unwrap().parse()?;
    note_until(&mut server_events, &mut seen, |e| {
        matches!(e, SocketEvent::Listening { .. })
    })
    .await;
    // BIND_FAILED: the endpoint is taken.
    let mut second = PullSocket::new(&ctx);
    let mut second_events = second.monitor();
    assert!(second.bind(&ep).await.is_err());
    note_until(&mut second_events, &mut seen, |e| {
        matches!(e, SocketEvent::BindFailed { .. })
    })
    .await;
    // CONNECTED, ACCEPTED, HANDSHAKE_SUCCEEDED (and CONNECT_DELAYED, unless the connect
    // completes at once); then DISCONNECTED.
    let client = |password: &str| -> Result<PushSocket, monocoque::Error> {
        let mut push = PushSocket::new(&ctx);
        push.set_option(SocketOption::PlainUsername(Bytes::from_static(b"user")))?;
        push.set_option(SocketOption::PlainPassword(password.into()))?;
        Ok(push)
    };
    let mut good = client("pass")?;
    let mut good_events = good.monitor();
    good.connect(&ep).await?;
    note_until(&mut good_events, &mut seen, |e| {
        matches!(e, SocketEvent::HandshakeSucceeded { .. })
    })
    .await;
    note_until(&mut server_events, &mut seen, |e| {
        matches!(e, SocketEvent::HandshakeSucceeded { .. })
    })
    .await;
    good.close().await;
    note_until(&mut server_events, &mut seen, |e| {
        matches!(e, SocketEvent::Disconnected { .. })
    })
    .await;
    // HANDSHAKE_FAILED_AUTH: a wrong password.
    let mut bad = client("wrong")?;
    bad.connect(&ep).await?;
    note_until(&mut server_events, &mut seen, |e| {
        matches!(e.handshake_failure(), Some(HandshakeFailure::Auth { .. }))
    })
    .await;
    bad.close().await;
    // HANDSHAKE_FAILED_PROTOCOL: not ZMTP.
    let mut http = b"GET / HTTP/1.1\r\n\r\n".to_vec();
    http.resize(64, b' ');
    raw_client(port, &http);
    note_until(&mut server_events, &mut seen, |e| {
        e.handshake_failure() == Some(HandshakeFailure::Protocol)
    })
    .await;
    // HANDSHAKE_FAILED_NO_DETAIL: the stream ends halfway through the greeting.
    raw_client(port, &[0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f]);
    note_until(&mut server_events, &mut seen, |e| {
        e.handshake_failure() == Some(HandshakeFailure::NoDetail)
    })
    .await;
    // CONNECT_DELAYED, for certain: a listener whose queue is full.
    let full = FullBacklog::new();
    let mut delayed = PushSocket::new(&ctx);
    let mut delayed_events = delayed.monitor();
    delayed.connect(full.endpoint().as_str()).await?;
    note_until(&mut delayed_events, &mut seen, |e| {
        matches!(e, SocketEvent::ConnectDelayed { .. })
    })
    .await;
    delayed.set_option(SocketOption::Linger(Some(Duration::ZERO)))?;
    delayed.close().await;
    // CONNECT_RETRIED: nobody listens there.
    let mut lonely = PushSocket::new(&ctx);
    let mut lonely_events = lonely.monitor();
    lonely.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(20))))?;
    lonely
        .connect(format!("tcp://127.0.0.1:{}", reserve_tcp_port()).as_str())
        .await?;
    note_until(&mut lonely_events, &mut seen, |e| {
        matches!(e, SocketEvent::ConnectRetried { .. })
    })
    .await;
    lonely.close().await;
    // CLOSE_FAILED: an ipc socket file someone removed; CLOSED: the tcp endpoint.
    let ipc = server.bind(dir.ipc("gone").as_str()).await?;
    std::fs::remove_file(dir.path().join("gone"))?;
    server.unbind(&ipc)?;
    note_until(&mut server_events, &mut seen, |e| {
        matches!(e, SocketEvent::CloseFailed { .. })
    })
    .await;
    server.unbind(&ep)?;
    note_until(&mut server_events, &mut seen, |e| {
        matches!(e, SocketEvent::Closed { .. })
    })
    .await;
    // MONITOR_STOPPED: the socket closes; its monitor's last event.
    server.close().await;
    note_until(&mut server_events, &mut seen, |e| {
        matches!(e, SocketEvent::MonitorStopped)
    })
    .await;
    second.close().await;
    let all = [
        events::CONNECTED,
        events::CONNECT_DELAYED,
        events::CONNECT_RETRIED,
        events::LISTENING,
        events::BIND_FAILED,
        events::ACCEPTED,
        events::CLOSED,
        events::CLOSE_FAILED,
        events::DISCONNECTED,
        events::MONITOR_STOPPED,
        events::HANDSHAKE_FAILED_NO_DETAIL,
        events::HANDSHAKE_SUCCEEDED,
        events::HANDSHAKE_FAILED_PROTOCOL,
        events::HANDSHAKE_FAILED_AUTH,
    ];
    let missing: Vec<_> = all.iter().filter(|e| !seen.contains(e)).collect();
    assert!(missing.is_empty(), "never seen: {missing:#06x?}");
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
    every_libzmq_event_is_produced,
    close_failed_when_the_socket_file_is_gone,
    connect_delayed_comes_before_connected,
    bind_failed_is_reported,
    monitor_stopped_ends_every_monitor,
    libzmq_form_on_an_inproc_pair,
);
