//! Untrusted input: a peer that sends a wrong greeting, a frame with reserved bits, a frame over
//! MAXMSGSIZE, or the wrong socket type loses its own connection, with a typed error in a monitor
//! event, and the socket keeps serving its other peers.
//!
//! The bad peers are raw blocking TCP clients on their own threads, writing bytes built here by
//! hand (not with monocoque's encoder, so the test does not grade its own homework).

mod common;

use common::*;
use monocoque::{
    ConnectionError, Context, Endpoint, Message, PullSocket, PushSocket, SocketEvent, SocketOption,
    ZmtpError,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Connects a raw client, writes `bytes`, and reads until the server closes (or 10 s pass).
/// Returns true when the server closed the connection.
fn raw_peer(port: u16, bytes: Vec<u8>) -> std::thread::JoinHandle<bool> {
    std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(&bytes).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    })
}

/// After the bad peer is gone, a good PUSH peer still reaches the PULL socket.
async fn still_serves(ctx: &Context, pull: &mut PullSocket, endpoint: &Endpoint) {
    let mut push = PushSocket::new(ctx);
    push.connect(endpoint).await.unwrap();
    push.send("still here").await.unwrap();
    let msg = bounded(pull.recv()).await.unwrap();
    assert_eq!(msg, Message::from("still here"));
}

async fn bound_pull(ctx: &Context) -> (PullSocket, monocoque::Monitor, Endpoint) {
    let mut pull = PullSocket::new(ctx);
    let events = pull.monitor();
    pull.set_option(SocketOption::MaxMsgSize(Some(1024)))
        .unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").await.unwrap();
    (pull, events, endpoint)
}

async fn wrong_greeting(ctx: Context) {
    let (mut pull, mut events, endpoint) = bound_pull(&ctx).await;
    let mut http = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    http.resize(64, b' ');
    let peer = raw_peer(port_of(&endpoint), http);
    let error = wait_handshake_failure(&mut events).await;
    assert!(
        matches!(error, ConnectionError::Protocol(ZmtpError::BadSignature)),
        "{error:?}"
    );
    assert!(
        peer.join().unwrap(),
        "the bad peer's connection was not closed"
    );
    still_serves(&ctx, &mut pull, &endpoint).await;
}

async fn reserved_flag_bits(ctx: Context) {
    let (mut pull, mut events, endpoint) = bound_pull(&ctx).await;
    let mut bytes = null_greeting();
    bytes.extend(ready_command("PUSH"));
    bytes.extend([0x08, 0x01, b'x']); // flags with bit 3 set
    let peer = raw_peer(port_of(&endpoint), bytes);
    let error = wait_event(&mut events, |e| match e {
        SocketEvent::Disconnected { error, .. } => error,
        _ => None,
    })
    .await;
    assert!(
        matches!(
            error,
            ConnectionError::Protocol(ZmtpError::ReservedFlags(_))
        ),
        "{error:?}"
    );
    assert!(peer.join().unwrap());
    still_serves(&ctx, &mut pull, &endpoint).await;
}

async fn frame_over_maxmsgsize(ctx: Context) {
    let (mut pull, mut events, endpoint) = bound_pull(&ctx).await;
    let mut bytes = null_greeting();
    bytes.extend(ready_command("PUSH"));
    // A long frame announcing 1 GiB; only the header is sent: the limit must trip on it.
    bytes.push(0x02);
    bytes.extend((1u64 << 30).to_be_bytes());
    let peer = raw_peer(port_of(&endpoint), bytes);
    let error = wait_event(&mut events, |e| match e {
        SocketEvent::Disconnected { error, .. } => error,
        _ => None,
    })
    .await;
    assert!(
        matches!(
            error,
            ConnectionError::Protocol(ZmtpError::FrameTooLarge { limit: 1024, .. })
        ),
        "{error:?}"
    );
    assert!(peer.join().unwrap());
    still_serves(&ctx, &mut pull, &endpoint).await;
}

async fn incompatible_socket_type(ctx: Context) {
    let (mut pull, mut events, endpoint) = bound_pull(&ctx).await;
    let mut bytes = null_greeting();
    bytes.extend(ready_command("PUB"));
    let peer = raw_peer(port_of(&endpoint), bytes);
    let error = wait_handshake_failure(&mut events).await;
    assert!(
        matches!(
            error,
            ConnectionError::Protocol(ZmtpError::IncompatibleSocketType { .. })
        ),
        "{error:?}"
    );
    assert!(peer.join().unwrap());
    still_serves(&ctx, &mut pull, &endpoint).await;
}

/// A peer that connects and then says nothing is dropped at HANDSHAKE_IVL, with a monitor
/// event that says why.
async fn silent_peer_times_out(ctx: Context) {
    let mut pull = PullSocket::new(&ctx);
    let mut events = pull.monitor();
    pull.set_option(SocketOption::HandshakeIvl(Some(Duration::from_millis(200))))
        .unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").await.unwrap();
    let peer = raw_peer(port_of(&endpoint), Vec::new());
    let error = wait_handshake_failure(&mut events).await;
    assert!(
        matches!(error, ConnectionError::HandshakeTimeout),
        "{error:?}"
    );
    assert!(peer.join().unwrap(), "the silent peer was not disconnected");
    still_serves(&ctx, &mut pull, &endpoint).await;
}

/// Many bad peers at once, interleaved with good traffic: nothing panics, the good stream
/// arrives whole and in order.
async fn bad_peers_beside_a_good_stream(ctx: Context) {
    let (mut pull, _events, endpoint) = bound_pull(&ctx).await;
    let mut push = PushSocket::new(&ctx);
    push.connect(&endpoint).await.unwrap();
    let port = port_of(&endpoint);
    let mut peers = Vec::new();
    for i in 0..20u8 {
        let mut bytes = null_greeting();
        bytes.extend(ready_command("PUSH"));
        bytes.extend([0x01 | ((i + 1) << 3), 0x00]);
        peers.push(raw_peer(port, bytes));
        peers.push(raw_peer(port, vec![i; 200]));
    }
    for i in 0..500u32 {
        push.send(i.to_be_bytes().to_vec()).await.unwrap();
    }
    for i in 0..500u32 {
        let msg = bounded(pull.recv()).await.unwrap();
        assert_eq!(msg, Message::from(i.to_be_bytes().to_vec()));
    }
    for p in peers {
        assert!(p.join().unwrap());
    }
}

on_all_runtimes!(
    wrong_greeting,
    reserved_flag_bits,
    frame_over_maxmsgsize,
    incompatible_socket_type,
    silent_peer_times_out,
    bad_peers_beside_a_good_stream,
);
