//! The runtime-independent IPC transport checks; each runtime's test file runs them all through
//! [`ipc_suite!`].

use futures::io::{AsyncReadExt, AsyncWriteExt};
use monocoque_core::endpoint::{Endpoint, IpcAddr};
use monocoque_core::transport::{ConnectOptions, Connection, Listener, Transport};
use std::io::{ErrorKind, IoSlice};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Defines one test per check below, for one runtime.
///
/// `ipc_suite!(async #[attr] transport)` makes `#[attr] async fn`s (tokio, async-std);
/// `ipc_suite!(block_on path, transport)` makes `#[test] fn`s that run `path(future)` (smol).
macro_rules! ipc_suite {
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
        ipc_suite!(@names [$($head)*]
            scheme_is_ipc
            path_bytes_both_ways_and_close
            stale_socket_is_replaced
            live_socket_is_addr_in_use
            non_socket_file_is_addr_in_use
            socket_file_removed_on_drop
            drop_spares_a_newer_socket_file
            connect_to_missing_path_fails
            connect_with_timeout_succeeds
            abstract_namespace
            bad_endpoints_are_invalid_input
            vectored_write_takes_every_slice
            wildcard_binds_a_fresh_path_and_cleans_it_up
        );
    };
}

/// A fresh socket path in the temp directory, unique across processes and tests.
fn unique_path(tag: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "monocoque-ipc-{}-{n}-{tag}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// A unique abstract-namespace name.
fn unique_name(tag: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("monocoque-test-{}-{n}-{tag}", std::process::id())
}

fn path_endpoint(path: &std::path::Path) -> Endpoint {
    Endpoint::Ipc(IpcAddr::Path(path.to_owned()))
}

/// Accepts on `listener` while connecting to its local endpoint; returns (accepted, connected).
async fn pair(t: &dyn Transport, listener: &mut dyn Listener) -> (Connection, Connection) {
    let endpoint = listener.local_endpoint();
    let options = ConnectOptions::default();
    let (accepted, connected) = futures::join!(listener.accept(), t.connect(&endpoint, &options));
    (accepted.unwrap(), connected.unwrap())
}

/// Sends one message each way and checks that closing is seen by the peer.
async fn exchange(server: &mut Connection, client: &mut Connection) {
    client.stream.write_all(b"hello").await.unwrap();
    client.stream.flush().await.unwrap();
    let mut buf = [0u8; 5];
    server.stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"hello");

    let parts = [IoSlice::new(b"wor"), IoSlice::new(b"ld")];
    let mut written = server.stream.write_vectored(&parts).await.unwrap();
    while written < 5 {
        written += server.stream.write(&b"world"[written..]).await.unwrap();
    }
    client.stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"world");

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

pub async fn scheme_is_ipc(t: &dyn Transport) {
    assert_eq!(t.scheme(), "ipc");
}

pub async fn path_bytes_both_ways_and_close(t: &dyn Transport) {
    let path = unique_path("rt");
    let endpoint = path_endpoint(&path);
    let mut listener = t.bind(&endpoint).await.unwrap();
    assert_eq!(listener.local_endpoint(), endpoint);
    let (mut server, mut client) = pair(t, listener.as_mut()).await;
    assert_eq!(client.peer_addr, path.display().to_string());
    assert_eq!(server.peer_addr, "unnamed");
    exchange(&mut server, &mut client).await;

    // A bulk payload far bigger than the socket buffers, while the peer reads it.
    let (mut server, mut client) = pair(t, listener.as_mut()).await;
    let big: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut received = vec![0u8; big.len()];
    let (sent, got) = futures::join!(
        client.stream.write_all(&big),
        server.stream.read_exact(&mut received)
    );
    sent.unwrap();
    got.unwrap();
    assert!(received == big, "bulk payload corrupted");
}

pub async fn stale_socket_is_replaced(t: &dyn Transport) {
    let path = unique_path("stale");
    // A std listener leaves its socket file behind when dropped, as a crashed process would.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let mut listener = t.bind(&path_endpoint(&path)).await.unwrap();
    let (mut server, mut client) = pair(t, listener.as_mut()).await;
    exchange(&mut server, &mut client).await;
}

pub async fn live_socket_is_addr_in_use(t: &dyn Transport) {
    // Live listener from this transport: the second bind fails and leaves the first intact.
    let path = unique_path("live");
    let endpoint = path_endpoint(&path);
    let mut listener = t.bind(&endpoint).await.unwrap();
    let err = t.bind(&endpoint).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    assert!(
        path.exists(),
        "the failed bind removed the live socket file"
    );
    // The probe connection shows up as an accepted connection closed at once.
    let (probe, connected) = futures::join!(listener.accept(), async {
        let mut connection = t
            .connect(&endpoint, &ConnectOptions::default())
            .await
            .unwrap();
        connection.stream.write_all(b"live").await.unwrap();
        connection
    });
    let mut probe = probe.unwrap();
    let mut buf = Vec::new();
    probe.stream.read_to_end(&mut buf).await.unwrap();
    assert!(buf.is_empty(), "expected the probe connection first");
    let mut server = listener.accept().await.unwrap();
    let mut got = [0u8; 4];
    server.stream.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"live");
    drop(connected);

    // Live listener from elsewhere (std).
    let path = unique_path("live-std");
    let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let err = t.bind(&path_endpoint(&path)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    assert!(path.exists());
    drop(std_listener);
    let _ = std::fs::remove_file(&path);
}

pub async fn non_socket_file_is_addr_in_use(t: &dyn Transport) {
    let path = unique_path("plain");
    std::fs::write(&path, b"precious").unwrap();
    let err = t.bind(&path_endpoint(&path)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    std::fs::remove_file(&path).unwrap();
}

pub async fn socket_file_removed_on_drop(t: &dyn Transport) {
    let path = unique_path("drop");
    let listener = t.bind(&path_endpoint(&path)).await.unwrap();
    assert!(path.exists());
    drop(listener);
    assert!(!path.exists(), "socket file left behind");
}

pub async fn drop_spares_a_newer_socket_file(t: &dyn Transport) {
    let path = unique_path("newer");
    let endpoint = path_endpoint(&path);
    let old = t.bind(&endpoint).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut new = t.bind(&endpoint).await.unwrap();
    drop(old);
    assert!(path.exists(), "the old listener removed the new one's file");
    let (mut server, mut client) = pair(t, new.as_mut()).await;
    exchange(&mut server, &mut client).await;
    drop(new);
    assert!(!path.exists());
}

pub async fn connect_to_missing_path_fails(t: &dyn Transport) {
    let path = unique_path("missing");
    let err = t
        .connect(&path_endpoint(&path), &ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

pub async fn connect_with_timeout_succeeds(t: &dyn Transport) {
    let options = ConnectOptions {
        timeout: Some(Duration::from_secs(10)),
        ..ConnectOptions::default()
    };
    let path = unique_path("timeout");
    let mut listener = t.bind(&path_endpoint(&path)).await.unwrap();
    let endpoint = listener.local_endpoint();
    let (accepted, connected) = futures::join!(listener.accept(), t.connect(&endpoint, &options));
    let (mut server, mut client) = (accepted.unwrap(), connected.unwrap());
    exchange(&mut server, &mut client).await;
    if cfg!(target_os = "linux") {
        let endpoint = Endpoint::Ipc(IpcAddr::Abstract(unique_name("timeout")));
        let mut listener = t.bind(&endpoint).await.unwrap();
        let (accepted, connected) =
            futures::join!(listener.accept(), t.connect(&endpoint, &options));
        let (mut server, mut client) = (accepted.unwrap(), connected.unwrap());
        exchange(&mut server, &mut client).await;
    }
}

pub async fn abstract_namespace(t: &dyn Transport) {
    let name = unique_name("abs");
    let endpoint = Endpoint::Ipc(IpcAddr::Abstract(name.clone()));
    if !cfg!(target_os = "linux") {
        let err = t.bind(&endpoint).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        return;
    }
    let mut listener = t.bind(&endpoint).await.unwrap();
    assert_eq!(listener.local_endpoint(), endpoint);
    let err = t.bind(&endpoint).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    let (mut server, mut client) = pair(t, listener.as_mut()).await;
    assert_eq!(client.peer_addr, format!("@{name}"));
    assert_eq!(server.peer_addr, "unnamed");
    exchange(&mut server, &mut client).await;
    drop(listener);
    let err = t
        .connect(&endpoint, &ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

pub async fn bad_endpoints_are_invalid_input(t: &dyn Transport) {
    let options = ConnectOptions::default();
    for endpoint in ["tcp://127.0.0.1:5555", "inproc://x"] {
        let endpoint: Endpoint = endpoint.parse().unwrap();
        let err = t.bind(&endpoint).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "bind {endpoint}");
        let err = t.connect(&endpoint, &options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "connect {endpoint}");
    }
}

/// One vectored write of a few small slices into an empty socket buffer takes them all: the
/// engine writes a frame header and its body as separate slices, and a stream that wrote only
/// the first slice per call (the `futures-io` default) would cost a system call per slice.
pub async fn vectored_write_takes_every_slice(t: &dyn Transport) {
    let path = unique_path("vectored");
    let mut listener = t.bind(&path_endpoint(&path)).await.unwrap();
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

/// `ipc://*`, as libzmq: the bind makes a fresh path (a `socket` file in a new directory of
/// its own under the temp directory) and reports it; connections reach it; closing removes the
/// file and its directory. Two wildcard binds get two paths.
pub async fn wildcard_binds_a_fresh_path_and_cleans_it_up(t: &dyn Transport) {
    let wildcard = path_endpoint(std::path::Path::new("*"));
    let mut listener = t.bind(&wildcard).await.unwrap();
    let other = t.bind(&wildcard).await.unwrap();
    let Endpoint::Ipc(IpcAddr::Path(path)) = listener.local_endpoint() else {
        panic!("not a path: {}", listener.local_endpoint());
    };
    assert_ne!(path, std::path::Path::new("*"));
    assert_ne!(listener.local_endpoint(), other.local_endpoint());
    assert!(path.starts_with(std::env::temp_dir()), "{}", path.display());
    let dir = path.parent().unwrap().to_owned();
    assert!(path.exists() && dir.is_dir());
    assert!(
        !std::path::Path::new("*").exists(),
        "a file named * was made"
    );
    let (mut server, mut client) = pair(t, listener.as_mut()).await;
    exchange(&mut server, &mut client).await;
    listener.close().unwrap();
    assert!(!path.exists(), "socket file left behind");
    assert!(!dir.exists(), "its directory left behind");
    let Endpoint::Ipc(IpcAddr::Path(other_path)) = other.local_endpoint() else {
        unreachable!()
    };
    drop(other);
    assert!(
        !other_path.parent().unwrap().exists(),
        "directory left behind on drop"
    );
}
