//! The runtime-independent TCP transport checks; each runtime's test file runs them all through
//! [`tcp_suite!`].

use futures::io::{AsyncReadExt, AsyncWriteExt};
use monocoque_core::endpoint::{Endpoint, Host, TcpAddr};
use monocoque_core::transport::{ConnectOptions, Connection, Listener, Transport};
use std::io::{ErrorKind, IoSlice};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

/// Defines one test per check below, for one runtime.
///
/// `tcp_suite!(async #[attr] transport)` makes `#[attr] async fn`s (tokio, async-std);
/// `tcp_suite!(block_on path, transport)` makes `#[test] fn`s that run `path(future)` (smol).
macro_rules! tcp_suite {
    (@names [async #[$attr:meta] $transport:expr] $($name:ident)*) => {
        $(
            #[$attr]
            async fn $name() {
                common::$name(&$transport).await;
            }
        )*
    };
    (@names [block_on $run:path, $transport:expr] $($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                $run(common::$name(&$transport));
            }
        )*
    };
    ($($head:tt)*) => {
        tcp_suite!(@names [$($head)*]
            scheme_is_tcp
            wildcard_port_is_reported
            any_host_binds_ipv4_wildcard
            bytes_both_ways_and_close
            connect_to_closed_port_fails_fast
            connect_with_timeout_succeeds
            connect_timeout_fires
            ipv6_loopback
            names_are_resolved
            rebind_right_after_close
            bad_endpoints_are_invalid_input
            vectored_write_takes_every_slice
        );
    };
}

fn ep(s: &str) -> Endpoint {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ip_port(endpoint: &Endpoint) -> (IpAddr, u16) {
    match endpoint {
        Endpoint::Tcp(TcpAddr {
            host: Host::Ip(ip),
            port,
        }) => (*ip, *port),
        other => panic!("listener reported {other:?}, expected an IP endpoint"),
    }
}

/// Accepts on `listener` while connecting to its local endpoint; returns (accepted, connected).
async fn pair(t: &dyn Transport, listener: &mut dyn Listener) -> (Connection, Connection) {
    let endpoint = listener.local_endpoint();
    let options = ConnectOptions::default();
    let (accepted, connected) = futures::join!(listener.accept(), t.connect(&endpoint, &options));
    (accepted.unwrap(), connected.unwrap())
}

pub async fn scheme_is_tcp(t: &dyn Transport) {
    assert_eq!(t.scheme(), "tcp");
}

pub async fn wildcard_port_is_reported(t: &dyn Transport) {
    let listener = t.bind(&ep("tcp://127.0.0.1:*")).await.unwrap();
    let (ip, port) = ip_port(&listener.local_endpoint());
    assert_eq!(ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(port, 0, "the wildcard port was not resolved");
    assert!(!listener.local_endpoint().is_wildcard());
}

pub async fn any_host_binds_ipv4_wildcard(t: &dyn Transport) {
    let listener = t.bind(&ep("tcp://*:0")).await.unwrap();
    let (ip, port) = ip_port(&listener.local_endpoint());
    assert_eq!(ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    assert_ne!(port, 0);
    let connected = t
        .connect(
            &ep(&format!("tcp://127.0.0.1:{port}")),
            &ConnectOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(connected.peer_addr, format!("127.0.0.1:{port}"));
}

pub async fn bytes_both_ways_and_close(t: &dyn Transport) {
    let mut listener = t.bind(&ep("tcp://127.0.0.1:*")).await.unwrap();
    let (_, port) = ip_port(&listener.local_endpoint());
    let (mut server, mut client) = pair(t, listener.as_mut()).await;
    assert_eq!(client.peer_addr, format!("127.0.0.1:{port}"));
    assert!(
        server.peer_addr.starts_with("127.0.0.1:"),
        "accepted peer_addr {:?}",
        server.peer_addr
    );

    client.stream.write_all(b"hello").await.unwrap();
    client.stream.flush().await.unwrap();
    let mut buf = [0u8; 5];
    server.stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"hello");

    let parts = [IoSlice::new(b"wor"), IoSlice::new(b"ld")];
    let mut written = 0;
    while written < 5 {
        // A short vectored write is legal; finish with plain writes.
        written += if written == 0 {
            server.stream.write_vectored(&parts).await.unwrap()
        } else {
            server.stream.write(&b"world"[written..]).await.unwrap()
        };
    }
    server.stream.flush().await.unwrap();
    client.stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"world");

    // A payload far bigger than the socket buffers, while the peer reads it.
    let big: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut received = vec![0u8; big.len()];
    let (sent, got) = futures::join!(
        client.stream.write_all(&big),
        server.stream.read_exact(&mut received)
    );
    sent.unwrap();
    got.unwrap();
    assert!(received == big, "bulk payload corrupted");

    client.stream.close().await.unwrap();
    assert_eq!(
        server.stream.read(&mut buf).await.unwrap(),
        0,
        "close not seen"
    );
    server.stream.close().await.unwrap();
    assert_eq!(
        client.stream.read(&mut buf).await.unwrap(),
        0,
        "close not seen"
    );
}

pub async fn connect_to_closed_port_fails_fast(t: &dyn Transport) {
    let listener = t.bind(&ep("tcp://127.0.0.1:*")).await.unwrap();
    let endpoint = listener.local_endpoint();
    drop(listener);
    let start = Instant::now();
    let err = t
        .connect(&endpoint, &ConnectOptions::default())
        .await
        .expect_err("connected to a closed port");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

pub async fn connect_with_timeout_succeeds(t: &dyn Transport) {
    let mut listener = t.bind(&ep("tcp://127.0.0.1:*")).await.unwrap();
    let endpoint = listener.local_endpoint();
    let options = ConnectOptions {
        timeout: Some(Duration::from_secs(10)),
        ..ConnectOptions::default()
    };
    let (accepted, connected) = futures::join!(listener.accept(), t.connect(&endpoint, &options));
    let (mut server, mut client) = (accepted.unwrap(), connected.unwrap());
    client.stream.write_all(b"x").await.unwrap();
    let mut buf = [0u8; 1];
    server.stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"x");
}

/// A listener that never accepts fills its backlog; Linux then drops further SYNs, so a connect
/// hangs until its timeout fires.
pub async fn connect_timeout_fires(t: &dyn Transport) {
    let listener = t.bind(&ep("tcp://127.0.0.1:*")).await.unwrap();
    let endpoint = listener.local_endpoint();
    let timeout = Duration::from_millis(200);
    let options = ConnectOptions {
        timeout: Some(timeout),
        ..ConnectOptions::default()
    };
    let mut queued = Vec::new();
    for _ in 0..1024 {
        let start = Instant::now();
        match t.connect(&endpoint, &options).await {
            Ok(connection) => queued.push(connection),
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
                assert!(
                    start.elapsed() >= timeout,
                    "fired early: {:?}",
                    start.elapsed()
                );
                assert!(start.elapsed() < Duration::from_secs(5), "fired late");
                return;
            }
        }
    }
    println!(
        "note: {} connects to a listener that never accepts all succeeded; timeout not exercised",
        queued.len()
    );
}

pub async fn ipv6_loopback(t: &dyn Transport) {
    let mut listener = match t.bind(&ep("tcp://[::1]:*")).await {
        Ok(listener) => listener,
        Err(err) => {
            println!("note: skipping the IPv6 test, binding [::1] failed: {err}");
            return;
        }
    };
    let (ip, port) = ip_port(&listener.local_endpoint());
    assert_eq!(ip, IpAddr::V6(Ipv6Addr::LOCALHOST));
    assert_ne!(port, 0);
    assert_eq!(
        listener.local_endpoint().to_string(),
        format!("tcp://[::1]:{port}")
    );
    let (mut server, mut client) = pair(t, listener.as_mut()).await;
    assert_eq!(client.peer_addr, format!("[::1]:{port}"));
    client.stream.write_all(b"six").await.unwrap();
    let mut buf = [0u8; 3];
    server.stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"six");
}

pub async fn names_are_resolved(t: &dyn Transport) {
    let mut listener = t.bind(&ep("tcp://localhost:*")).await.unwrap();
    let (ip, port) = ip_port(&listener.local_endpoint());
    assert!(ip.is_loopback(), "localhost bound {ip}");
    assert_ne!(port, 0);
    let endpoint = ep(&format!("tcp://localhost:{port}"));
    let options = ConnectOptions::default();
    let (accepted, connected) = futures::join!(listener.accept(), t.connect(&endpoint, &options));
    let (mut server, mut client) = (accepted.unwrap(), connected.unwrap());
    client.stream.write_all(b"name").await.unwrap();
    let mut buf = [0u8; 4];
    server.stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"name");
}

/// The server side closes first, leaving its end in TIME_WAIT on the listening port: binding
/// that port again only works with SO_REUSEADDR.
pub async fn rebind_right_after_close(t: &dyn Transport) {
    let mut listener = t.bind(&ep("tcp://127.0.0.1:*")).await.unwrap();
    let endpoint = listener.local_endpoint();
    let (mut server, mut client) = pair(t, listener.as_mut()).await;
    server.stream.close().await.unwrap();
    drop(server);
    let mut buf = [0u8; 1];
    assert_eq!(client.stream.read(&mut buf).await.unwrap(), 0);
    client.stream.close().await.unwrap();
    drop(client);
    drop(listener);
    let again = t
        .bind(&endpoint)
        .await
        .unwrap_or_else(|e| panic!("rebinding {endpoint} failed (SO_REUSEADDR missing?): {e}"));
    assert_eq!(again.local_endpoint(), endpoint);
}

pub async fn bad_endpoints_are_invalid_input(t: &dyn Transport) {
    let options = ConnectOptions::default();
    for endpoint in ["ipc:///tmp/x.sock", "inproc://x"] {
        let err = t.bind(&ep(endpoint)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "bind {endpoint}");
        let err = t.connect(&ep(endpoint), &options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "connect {endpoint}");
    }
    for endpoint in ["tcp://*:5555", "tcp://127.0.0.1:0"] {
        let err = t.connect(&ep(endpoint), &options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "connect {endpoint}");
    }
}

/// One vectored write of a few small slices into an empty socket buffer takes them all: the
/// engine writes a frame header and its body as separate slices, and a stream that wrote only
/// the first slice per call (the `futures-io` default) would cost a system call per slice.
pub async fn vectored_write_takes_every_slice(t: &dyn Transport) {
    let mut listener = t.bind(&ep("tcp://127.0.0.1:0")).await.unwrap();
    let (mut server, mut client) = pair(t, listener.as_mut()).await;
    let parts = [
        IoSlice::new(b"head"),
        IoSlice::new(b"body"),
        IoSlice::new(b"tail"),
    ];
    let written = client.stream.write_vectored(&parts).await.unwrap();
    assert_eq!(
        written, 12,
        "the stream wrote only part of a small vectored write"
    );
    let mut buf = [0u8; 12];
    server.stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"headbodytail");
}
