//! Hostile peers against PLAIN and CURVE servers: malformed or oversized HELLOs, stalled
//! handshakes, the wrong mechanism, tampered, replayed or reordered MESSAGE boxes, refused
//! credentials and floods. Each bad input must cost only its own connection, be reported by a
//! `HandshakeFailed` (or `Disconnected`) monitor event naming that connection, and leave the
//! socket serving its other peers: one good peer connected before the attack still delivers
//! after it, and a peer connecting afterwards gets through too.
//!
//! The attackers are blocking TCP clients on their own threads. Malformed input is written by
//! hand; a valid CURVE exchange (needed to reach the MESSAGE boxes) is produced by the crate's
//! sans-I/O [`Session`] with a [`CurveClient`], whose output the test holds back, alters or
//! replays. Tests wait on monitor events and on probe messages, never on sleeps.

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use monocoque::{
    Authenticator, ConnectionError, Context, CurvePublicKey, CurveSecretKey, KeyPair, Message,
    Monitor, PullSocket, PushSocket, SocketEvent, SocketOption, SocketType, ZmtpError,
};
use monocoque_zmtp::proto::{CurveClient, Mechanism, PlainClient, Session, SessionConfig};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// libzmq's test key pairs (spec README).
const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

/// The one PLAIN user the servers here admit.
const USER: &str = "admin";
const PASSWORD: &str = "s3cret";

/// How long an attacker waits for the server to close on it before reporting that it did not.
const ATTACKER_PATIENCE: Duration = Duration::from_secs(10);

/// A short HANDSHAKE_IVL for the stall tests: long enough for a good peer's handshake on a
/// loaded machine (and a good connecting peer retries anyway), short enough to keep tests quick.
const SHORT_HANDSHAKE_IVL: Duration = Duration::from_millis(500);

fn public(z85: &str) -> CurvePublicKey {
    CurvePublicKey::from_z85(z85).unwrap()
}

fn secret(z85: &str) -> CurveSecretKey {
    CurveSecretKey::from_z85(z85).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Wire bytes, written by hand (not with monocoque's encoder, so the test does not grade its own
// homework).

/// A ZMTP 3.1 greeting for `mechanism`, as a client sends it (as-server 0).
fn greeting(mechanism: &str) -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 1;
    g[12..12 + mechanism.len()].copy_from_slice(mechanism.as_bytes());
    g
}

/// A command frame `name` + `data`, with a short or a long header as its size needs.
fn command(name: &str, data: &[u8]) -> Vec<u8> {
    let len = 1 + name.len() + data.len();
    let mut frame = if len < 256 {
        vec![0x04, len as u8]
    } else {
        let mut f = vec![0x06];
        f.extend((len as u64).to_be_bytes());
        f
    };
    frame.push(name.len() as u8);
    frame.extend(name.as_bytes());
    frame.extend(data);
    frame
}

/// HELLO data laid out as RFC 26 and libzmq want it (version, 72 octets of padding, C', short
/// nonce, 80-octet box: 194 octets, a 200-octet command) but with a box nobody sealed.
fn hello_data_with_garbage_box(version: [u8; 2]) -> Vec<u8> {
    let mut data = version.to_vec();
    data.extend([0u8; 72]);
    data.extend(KeyPair::generate().public.as_bytes());
    data.extend(1u64.to_be_bytes());
    data.extend([0xa5u8; 80]);
    data
}

/// A PLAIN HELLO with these credentials.
fn plain_hello(user: &str, password: &str) -> Vec<u8> {
    let mut data = vec![user.len() as u8];
    data.extend(user.as_bytes());
    data.push(password.len() as u8);
    data.extend(password.as_bytes());
    command("HELLO", &data)
}

// ---------------------------------------------------------------------------------------------
// Attackers: blocking TCP clients on their own threads.

/// What an attacker saw of the server.
#[derive(Debug)]
struct Seen {
    /// The server closed the connection (EOF or reset) within [`ATTACKER_PATIENCE`].
    closed: bool,
    /// Everything the server sent.
    received: Vec<u8>,
}

/// Reads until the server closes the connection, or [`ATTACKER_PATIENCE`] passes.
fn read_until_closed(stream: &mut TcpStream, mut received: Vec<u8>) -> Seen {
    stream.set_read_timeout(Some(ATTACKER_PATIENCE)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Seen::closed(received),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if is_reset(&e) => return Seen::closed(received),
            Err(_) => {
                return Seen {
                    closed: false,
                    received,
                };
            }
        }
    }
}

impl Seen {
    fn closed(received: Vec<u8>) -> Self {
        Self {
            closed: true,
            received,
        }
    }
}

/// The server closed a connection that still had unread input: the kernel answers with RST.
fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

/// One hostile connection, known to the server's monitor by `addr`.
struct Attacker {
    /// Our local address: the `peer_addr` of the server's events about this connection.
    addr: String,
    thread: JoinHandle<Seen>,
}

impl Attacker {
    /// Connects now (so that `addr` is known before any event), then runs `script` on a thread
    /// and reads until the server closes.
    fn start(port: u16, script: impl FnOnce(&mut TcpStream) + Send + 'static) -> Self {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let addr = stream.local_addr().unwrap().to_string();
        Self::spawn(addr, move || {
            script(&mut stream);
            read_until_closed(&mut stream, Vec::new())
        })
    }

    /// Runs `body`, the connection from `addr`, on a thread.
    fn spawn(addr: String, body: impl FnOnce() -> Seen + Send + 'static) -> Self {
        Self {
            addr,
            thread: std::thread::spawn(body),
        }
    }

    /// Writes `bytes` (the server may close before taking them all: write errors are expected),
    /// then waits for the close.
    fn sending(port: u16, bytes: Vec<u8>) -> Self {
        Self::start(port, move |s| {
            let _ = s.write_all(&bytes);
        })
    }

    /// Writes `prefix`, then `chunk` over and over until the server cuts the connection (a
    /// write fails) or `cap` octets went out (then the test fails: nobody stopped the flood).
    fn flooding(port: u16, prefix: Vec<u8>, chunk: Vec<u8>, cap: usize) -> Self {
        Self::start(port, move |s| {
            // A server that stops reading without closing would block us: give up then, and
            // let the read below report that it did not close.
            s.set_write_timeout(Some(ATTACKER_PATIENCE)).unwrap();
            if s.write_all(&prefix).is_err() {
                return;
            }
            let mut sent = 0;
            while sent < cap {
                if s.write_all(&chunk).is_err() {
                    return;
                }
                sent += chunk.len();
            }
            panic!("the server took {sent} octets of flood without closing the connection");
        })
    }

    /// Waits for the attacker's thread: what it saw.
    fn join(self) -> Seen {
        self.thread.join().expect("the attacker thread panicked")
    }

    /// Waits for the attacker's thread and checks that the server closed on it.
    fn assert_closed(self, what: &str) -> Seen {
        let seen = self.join();
        assert!(
            seen.closed,
            "{what}: the server did not close the connection"
        );
        seen
    }
}

/// Why a [`Scripted`] client stopped.
#[derive(Debug)]
enum ClientError {
    /// Its session failed (e.g. on the server's ERROR).
    Protocol(ZmtpError),
    /// The server closed the connection.
    Closed,
}

/// A correct ZMTP client built from the crate's sans-I/O [`Session`] over a blocking socket: the
/// test decides when its bytes go out, and may alter, reorder or replay them.
struct Scripted {
    stream: TcpStream,
    session: Session,
    input: BytesMut,
}

impl Scripted {
    /// Connects a PUSH client using `mechanism`; its greeting is queued, not yet sent.
    fn connect(port: u16, mechanism: Box<dyn Mechanism>) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(ATTACKER_PATIENCE)).unwrap();
        let config = SessionConfig {
            mechanism,
            ..SessionConfig::null(SocketType::Push, false)
        };
        Self {
            stream,
            session: Session::new(config, Instant::now()),
            input: BytesMut::new(),
        }
    }

    /// A CURVE client with this key pair, knowing the test server's key.
    fn curve(port: u16, key: &CurvePublicKey, secret_key: &CurveSecretKey) -> Self {
        let client = CurveClient::new(key, secret_key, &public(SERVER_PUBLIC));
        Self::connect(port, Box::new(client))
    }

    /// The test CURVE client (admitted by the servers' authenticator).
    fn curve_admitted(port: u16) -> Self {
        Self::curve(port, &public(CLIENT_PUBLIC), &secret(CLIENT_SECRET))
    }

    /// Our local address, as the server's events name this connection.
    fn addr(&self) -> String {
        self.stream.local_addr().unwrap().to_string()
    }

    /// Takes everything the session has queued, without sending it.
    fn take_output(&mut self) -> Vec<u8> {
        let out = self.session.output();
        let mut bytes = Vec::with_capacity(out.len());
        while !out.is_empty() {
            let front = out.front();
            bytes.extend_from_slice(front);
            let n = front.len();
            out.advance(n);
        }
        bytes
    }

    /// Sends what the session has queued.
    fn flush(&mut self) {
        let bytes = self.take_output();
        self.stream.write_all(&bytes).unwrap();
    }

    /// Reads once and lets the session take in what came.
    fn receive(&mut self) -> Result<(), ClientError> {
        let mut buf = [0u8; 4096];
        match self.stream.read(&mut buf) {
            Ok(0) => return Err(ClientError::Closed),
            Ok(n) => self.input.extend_from_slice(&buf[..n]),
            Err(e) if is_reset(&e) => return Err(ClientError::Closed),
            Err(e) => panic!("reading from the server: {e}"),
        }
        while self
            .session
            .poll_event(&mut self.input)
            .map_err(ClientError::Protocol)?
            .is_some()
        {}
        Ok(())
    }

    /// Receives until the session queued something to send (its next handshake command).
    fn receive_until_output(&mut self) -> Result<(), ClientError> {
        while self.session.output().is_empty() {
            self.receive()?;
        }
        Ok(())
    }

    /// Runs the whole handshake.
    fn handshake(&mut self) -> Result<(), ClientError> {
        loop {
            self.flush();
            if self.session.is_ready() {
                return Ok(());
            }
            self.receive()?;
        }
    }

    /// The wire bytes of `msg` (one boxed MESSAGE per frame under CURVE), not sent.
    fn encode(&mut self, msg: &'static str) -> Vec<u8> {
        self.session.send_message(&Message::from(msg));
        self.take_output()
    }

    /// Sends `bytes`; the server may already have closed.
    fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Continues on a thread: runs `script`, then reads until the server closes.
    fn then(mut self, script: impl FnOnce(&mut Scripted) + Send + 'static) -> Attacker {
        Attacker::spawn(self.addr(), move || {
            let me = &mut self;
            script(me);
            let received = me.input.to_vec();
            read_until_closed(&mut me.stream, received)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Servers, good peers, and waiting for what happened to one connection.

/// Our PULL, bound on tcp, with its monitor.
struct Server {
    pull: PullSocket,
    events: Monitor,
    endpoint: String,
    port: u16,
}

/// A bound PULL with `options` set, on a context with `zap` as its handler (if any).
async fn server(ctx: &Context, zap: Option<Authenticator>, options: Vec<SocketOption>) -> Server {
    let ctx = match zap {
        Some(zap) => ctx.clone().with_zap_handler(zap),
        None => ctx.clone(),
    };
    let mut pull = PullSocket::new(&ctx);
    let events = pull.monitor();
    for option in options {
        pull.set_option(option).unwrap();
    }
    let endpoint = pull.bind("tcp://127.0.0.1:*").await.unwrap().to_string();
    let port = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    Server {
        pull,
        events,
        endpoint,
        port,
    }
}

/// A CURVE server admitting only the test client key.
async fn curve_server(ctx: &Context, handshake_ivl: Option<Duration>) -> Server {
    let mut options = vec![
        SocketOption::CurveSecretKey(secret(SERVER_SECRET)),
        SocketOption::CurveServer(true),
    ];
    if let Some(ivl) = handshake_ivl {
        options.push(SocketOption::HandshakeIvl(Some(ivl)));
    }
    let zap = Authenticator::new().curve_key(public(CLIENT_PUBLIC));
    server(ctx, Some(zap), options).await
}

/// A PLAIN server admitting only [`USER`] / [`PASSWORD`].
async fn plain_server(ctx: &Context) -> Server {
    let zap = Authenticator::new().plain_user(USER, PASSWORD);
    server(ctx, Some(zap), vec![SocketOption::PlainServer(true)]).await
}

/// Which well-behaved client a server expects.
#[derive(Debug, Clone, Copy)]
enum Good {
    Curve,
    Plain,
    Null,
}

/// A well-behaved monocoque PUSH of kind `good`, connected to `server` (not waiting for its
/// handshake).
async fn good_push(ctx: &Context, good: Good, server: &Server) -> PushSocket {
    let mut push = PushSocket::new(ctx);
    match good {
        Good::Curve => {
            push.set_option(SocketOption::CurvePublicKey(public(CLIENT_PUBLIC)))
                .unwrap();
            push.set_option(SocketOption::CurveSecretKey(secret(CLIENT_SECRET)))
                .unwrap();
            push.set_option(SocketOption::CurveServerKey(public(SERVER_PUBLIC)))
                .unwrap();
        }
        Good::Plain => {
            push.set_option(SocketOption::PlainUsername(Bytes::from_static(
                USER.as_bytes(),
            )))
            .unwrap();
            push.set_option(SocketOption::PlainPassword(PASSWORD.into()))
                .unwrap();
        }
        Good::Null => {}
    }
    push.connect(&server.endpoint).await.unwrap();
    push
}

/// A good peer connected before the attacks, its handshake done.
async fn early_peer(ctx: &Context, good: Good, server: &mut Server) -> PushSocket {
    let push = good_push(ctx, good, server).await;
    wait_handshakes(&mut server.events, 1).await;
    push
}

/// The socket still serves: `early` (connected before the attack) delivers a probe, so does a
/// peer connecting now, and nothing else is waiting (in particular nothing the attacker sent:
/// whatever it got delivered would have been queued before the event the test waited for).
async fn still_serves(ctx: &Context, good: Good, server: &mut Server, early: &mut PushSocket) {
    let probe = Message::from("probe from the early peer");
    early.send(probe.clone()).await.unwrap();
    assert_eq!(bounded(server.pull.recv()).await.unwrap(), probe);
    let mut late = good_push(ctx, good, server).await;
    let probe = Message::from("probe from a late peer");
    late.send(probe.clone()).await.unwrap();
    assert_eq!(bounded(server.pull.recv()).await.unwrap(), probe);
    assert_nothing_waiting(&mut server.pull);
    late.close().await;
}

fn assert_nothing_waiting(pull: &mut PullSocket) {
    let rest = pull.try_recv();
    assert!(
        matches!(rest, Err(monocoque::Error::WouldBlock)),
        "unexpected: {rest:?}"
    );
}

/// Waits for the `HandshakeFailed` event of the connection from `addr`.
async fn handshake_failure_of(events: &mut Monitor, addr: &str) -> ConnectionError {
    wait_event(events, |e| match e {
        SocketEvent::HandshakeFailed {
            peer_addr, error, ..
        } if peer_addr == addr => Some(error),
        SocketEvent::Disconnected { peer_addr, .. } if peer_addr == addr => {
            panic!("{addr} got through the handshake")
        }
        _ => None,
    })
    .await
}

/// Waits for the `HandshakeFailed` events of all these concurrent `attackers` (in whatever order
/// they come); their errors, in the order of `attackers`.
async fn handshake_failures_of(
    events: &mut Monitor,
    attackers: &[&Attacker],
) -> Vec<ConnectionError> {
    let mut errors: Vec<Option<ConnectionError>> = vec![None; attackers.len()];
    while errors.iter().any(Option::is_none) {
        let (i, error) = wait_event(events, |e| match e {
            SocketEvent::HandshakeFailed {
                peer_addr, error, ..
            } => attackers
                .iter()
                .position(|a| a.addr == peer_addr)
                .map(|i| (i, error)),
            _ => None,
        })
        .await;
        errors[i] = Some(error);
    }
    errors.into_iter().map(Option::unwrap).collect()
}

/// Waits for the `Disconnected` event of the established connection from `addr`: the error
/// that ended it.
async fn disconnect_of(events: &mut Monitor, addr: &str) -> ConnectionError {
    wait_event(events, |e| match e {
        SocketEvent::Disconnected {
            peer_addr, error, ..
        } if peer_addr == addr => Some(error.unwrap_or_else(|| {
            panic!("{addr}: disconnected without an error, as if we had closed it")
        })),
        SocketEvent::HandshakeFailed {
            peer_addr, error, ..
        } if peer_addr == addr => panic!("{addr}: the handshake failed: {error}"),
        _ => None,
    })
    .await
}

/// Which protocol error a case must end with.
type Expect = fn(&ZmtpError) -> bool;

/// A change to a message's wire bytes.
type Spoil = fn(&mut Vec<u8>);

/// Checks a protocol error (not an authentication failure) with `pick`.
#[track_caller]
fn assert_protocol_error(what: &str, error: &ConnectionError, pick: Expect) {
    assert!(
        matches!(error, ConnectionError::Protocol(e) if pick(e)),
        "{what}: {error:?}"
    );
    assert!(!error.is_authentication_failure(), "{what}: {error:?}");
}

// ---------------------------------------------------------------------------------------------
// 1. Malformed CURVE HELLOs.

async fn malformed_curve_hellos(ctx: Context) {
    let mut server = curve_server(&ctx, None).await;
    let mut early = early_peer(&ctx, Good::Curve, &mut server).await;
    let cases: [(&str, Vec<u8>, Expect); 5] = [
        // libzmq checks HELLO's size exactly (200 octets), before anything else.
        (
            "short HELLO (100 octets)",
            command("HELLO", &[0; 94]),
            |e| matches!(e, ZmtpError::MalformedCommand(_)),
        ),
        (
            "oversized HELLO (300 octets)",
            command("HELLO", &[0; 294]),
            |e| matches!(e, ZmtpError::MalformedCommand(_)),
        ),
        (
            "HELLO with a garbage box",
            command("HELLO", &hello_data_with_garbage_box([1, 0])),
            |e| matches!(e, ZmtpError::Crypto(_)),
        ),
        (
            "HELLO of version 2.0",
            command("HELLO", &hello_data_with_garbage_box([2, 0])),
            |e| matches!(e, ZmtpError::MalformedCommand(_)),
        ),
        // Anything but HELLO first.
        (
            "INITIATE before HELLO",
            command("INITIATE", &[0; 300]),
            |e| matches!(e, ZmtpError::UnexpectedCommand(_)),
        ),
    ];
    for (what, hello, pick) in cases {
        let mut bytes = greeting("CURVE");
        bytes.extend(hello);
        let attacker = Attacker::sending(server.port, bytes);
        let error = handshake_failure_of(&mut server.events, &attacker.addr).await;
        assert_protocol_error(what, &error, pick);
        attacker.assert_closed(what);
    }
    still_serves(&ctx, Good::Curve, &mut server, &mut early).await;
}

/// The PLAIN counterpart: HELLOs that do not parse.
async fn malformed_plain_hellos(ctx: Context) {
    let mut server = plain_server(&ctx).await;
    let mut early = early_peer(&ctx, Good::Plain, &mut server).await;
    let cases: [(&str, Vec<u8>); 4] = [
        // The user name claims 200 octets, 5 follow.
        ("truncated user name", command("HELLO", b"\xc8admin")),
        ("no password field", command("HELLO", b"\x05admin")),
        ("trailing octets", {
            let mut hello = plain_hello(USER, PASSWORD);
            hello[1] += 3;
            hello.extend(b"xyz");
            hello
        }),
        ("empty command frame", vec![0x04, 0x00]),
    ];
    for (what, hello) in cases {
        let mut bytes = greeting("PLAIN");
        bytes.extend(hello);
        let attacker = Attacker::sending(server.port, bytes);
        let error = handshake_failure_of(&mut server.events, &attacker.addr).await;
        assert_protocol_error(what, &error, |e| {
            matches!(e, ZmtpError::MalformedCommand(_))
        });
        attacker.assert_closed(what);
    }
    still_serves(&ctx, Good::Plain, &mut server, &mut early).await;
}

// ---------------------------------------------------------------------------------------------
// 2. Stalled handshakes: HANDSHAKE_IVL ends them.

async fn stalled_curve_handshakes_time_out(ctx: Context) {
    let mut server = curve_server(&ctx, Some(SHORT_HANDSHAKE_IVL)).await;
    let mut early = early_peer(&ctx, Good::Curve, &mut server).await;
    let port = server.port;

    let half_greeting = Attacker::sending(port, greeting("CURVE")[..20].to_vec());
    let greeting_only = Attacker::sending(port, greeting("CURVE"));
    // A valid HELLO, then silence where INITIATE should come: the client got a WELCOME that
    // opened (it queued its INITIATE), so the server did its part and is left waiting.
    let after_hello = Scripted::curve_admitted(port).then(|c| {
        c.flush();
        c.receive_until_output().unwrap(); // our HELLO, in answer to the server's greeting
        c.flush();
        c.receive_until_output().unwrap(); // our INITIATE, in answer to WELCOME: withheld
    });

    // All three run at once: one HANDSHAKE_IVL for the lot.
    let attackers = [
        ("half a greeting", half_greeting),
        ("greeting, then nothing", greeting_only),
        ("valid HELLO, then nothing", after_hello),
    ];
    let errors =
        handshake_failures_of(&mut server.events, &attackers.each_ref().map(|a| &a.1)).await;
    for ((what, attacker), error) in attackers.into_iter().zip(errors) {
        assert!(
            matches!(error, ConnectionError::HandshakeTimeout),
            "{what}: {error:?}"
        );
        assert!(!error.is_authentication_failure());
        attacker.assert_closed(what);
    }
    still_serves(&ctx, Good::Curve, &mut server, &mut early).await;
}

// ---------------------------------------------------------------------------------------------
// 3. Mechanism mismatch.

/// A peer greeting with mechanism `theirs`: refused on the greeting alone.
async fn mismatch(server: &mut Server, theirs: &str) {
    let mut bytes = greeting(theirs);
    // What that peer would send next (for a PLAIN peer); the greeting must decide first.
    bytes.extend(plain_hello(USER, PASSWORD));
    let attacker = Attacker::sending(server.port, bytes);
    let error = handshake_failure_of(&mut server.events, &attacker.addr).await;
    assert!(
        matches!(
            &error,
            ConnectionError::Protocol(ZmtpError::MechanismMismatch { theirs: t, .. })
                if t == theirs
        ),
        "{theirs} greeting: {error:?}"
    );
    assert!(!error.is_authentication_failure(), "{theirs}");
    attacker.assert_closed(theirs);
}

async fn mechanism_mismatch_is_a_protocol_error(ctx: Context) {
    let mut curve = curve_server(&ctx, None).await;
    let mut null = server(&ctx, None, Vec::new()).await;
    let mut plain = plain_server(&ctx).await;
    let mut early_curve = early_peer(&ctx, Good::Curve, &mut curve).await;
    let mut early_null = early_peer(&ctx, Good::Null, &mut null).await;
    let mut early_plain = early_peer(&ctx, Good::Plain, &mut plain).await;

    mismatch(&mut curve, "NULL").await;
    mismatch(&mut curve, "PLAIN").await;
    mismatch(&mut null, "CURVE").await;
    mismatch(&mut plain, "CURVE").await;
    still_serves(&ctx, Good::Curve, &mut curve, &mut early_curve).await;
    still_serves(&ctx, Good::Null, &mut null, &mut early_null).await;
    still_serves(&ctx, Good::Plain, &mut plain, &mut early_plain).await;
}

// ---------------------------------------------------------------------------------------------
// 4. MESSAGE boxes after a valid CURVE handshake.

/// Completes a CURVE handshake as the admitted client, then hands the client to `script` on a
/// thread; returns the attacker once the server has reported the handshake.
async fn established_curve_attacker(
    server: &mut Server,
    script: impl FnOnce(&mut Scripted) + Send + 'static,
) -> Attacker {
    let client = Scripted::curve_admitted(server.port);
    let addr = client.addr();
    let attacker = client.then(move |c| {
        c.handshake().expect("the scripted CURVE handshake");
        script(c);
    });
    wait_event(&mut server.events, |e| {
        matches!(e, SocketEvent::HandshakeSucceeded { peer_addr, .. } if peer_addr == addr)
            .then_some(())
    })
    .await;
    attacker
}

/// The ways to spoil a MESSAGE's wire bytes (2-octet frame header, "\x07MESSAGE", 8-octet
/// nonce, 16-octet tag, boxed flags and body), and the error each must give.
fn spoiled_messages() -> [(&'static str, Spoil, Expect); 5] {
    fn crypto(e: &ZmtpError) -> bool {
        matches!(e, ZmtpError::Crypto(_))
    }
    fn malformed(e: &ZmtpError) -> bool {
        matches!(e, ZmtpError::MalformedCommand(_))
    }
    [
        (
            "a flipped ciphertext octet",
            |m| *m.last_mut().unwrap() ^= 1,
            crypto,
        ),
        ("a flipped tag octet", |m| m[2 + 8 + 8] ^= 0x80, crypto),
        // A larger nonce passes the order check, but the box was sealed with another one.
        (
            "a changed nonce",
            |m| m[2 + 8 + 7] = m[2 + 8 + 7].wrapping_add(1),
            crypto,
        ),
        (
            "a box cut short",
            |m| {
                m.truncate(2 + 8 + 8 + 4);
                m[1] = 8 + 8 + 4;
            },
            malformed,
        ),
        (
            "a message in the clear",
            |m| *m = [vec![0x00, 40], vec![b'A'; 40]].concat(),
            malformed,
        ),
    ]
}

async fn tampered_curve_messages_close_the_connection(ctx: Context) {
    let mut server = curve_server(&ctx, None).await;
    let mut early = early_peer(&ctx, Good::Curve, &mut server).await;
    for (what, spoil, pick) in spoiled_messages() {
        let attacker = established_curve_attacker(&mut server, move |c| {
            let mut message = c.encode("tampered");
            spoil(&mut message);
            c.send_raw(&message);
        })
        .await;
        let error = disconnect_of(&mut server.events, &attacker.addr).await;
        assert_protocol_error(what, &error, pick);
        attacker.assert_closed(what);
    }
    // Nothing of the spoiled messages was delivered.
    still_serves(&ctx, Good::Curve, &mut server, &mut early).await;
}

async fn replayed_curve_message_closes_the_connection(ctx: Context) {
    let mut server = curve_server(&ctx, None).await;
    let mut early = early_peer(&ctx, Good::Curve, &mut server).await;
    let (delivered, wait_delivered) = std::sync::mpsc::channel();
    let attacker = established_curve_attacker(&mut server, move |c| {
        let once = c.encode("once");
        c.send_raw(&once);
        // The copy goes once the original is in: each arrives in a read of its own (see
        // `messages_before_a_bad_frame_in_the_same_read_are_delivered`).
        wait_delivered.recv().unwrap();
        c.send_raw(&once);
    })
    .await;
    assert_eq!(
        bounded(server.pull.recv()).await.unwrap(),
        Message::from("once")
    );
    delivered.send(()).unwrap();
    let error = disconnect_of(&mut server.events, &attacker.addr).await;
    assert_protocol_error("replay", &error, |e| matches!(e, ZmtpError::Crypto(_)));
    attacker.assert_closed("replay");
    // The copy was not delivered.
    still_serves(&ctx, Good::Curve, &mut server, &mut early).await;
}

async fn curve_nonce_going_backwards_closes_the_connection(ctx: Context) {
    let mut server = curve_server(&ctx, None).await;
    let mut early = early_peer(&ctx, Good::Curve, &mut server).await;
    let (delivered, wait_delivered) = std::sync::mpsc::channel();
    let attacker = established_curve_attacker(&mut server, move |c| {
        // Three correctly sealed boxes with consecutive nonces, sent 1, 3, 2: skipping a nonce
        // is allowed (each must only be larger than the last), going back is not. Each goes
        // once the one before is delivered (see
        // `messages_before_a_bad_frame_in_the_same_read_are_delivered`).
        let [one, two, three] = ["one", "two", "three"].map(|m| c.encode(m));
        for message in [one, three, two] {
            c.send_raw(&message);
            let _ = wait_delivered.recv();
        }
    })
    .await;
    for want in ["one", "three"] {
        assert_eq!(
            bounded(server.pull.recv()).await.unwrap(),
            Message::from(want)
        );
        delivered.send(()).unwrap();
    }
    let error = disconnect_of(&mut server.events, &attacker.addr).await;
    assert_protocol_error(
        "nonce going back",
        &error,
        |e| matches!(e, ZmtpError::Crypto(why) if why.contains("nonce")),
    );
    drop(delivered);
    attacker.assert_closed("nonce going back");
    // "two" was not delivered.
    still_serves(&ctx, Good::Curve, &mut server, &mut early).await;
}

/// Valid messages that arrive in the same read as a bad frame after them are delivered, as
/// libzmq does (its engine flushes the complete messages it decoded before the error to the
/// socket) and as they are when they happen to arrive in an earlier read.
async fn messages_before_a_bad_frame_in_the_same_read_are_delivered(ctx: Context) {
    let mut server = curve_server(&ctx, None).await;
    let attacker = established_curve_attacker(&mut server, |c| {
        let [one, two, three] = ["one", "two", "three"].map(|m| c.encode(m));
        c.send_raw(&[one, three, two].concat());
    })
    .await;
    let error = disconnect_of(&mut server.events, &attacker.addr).await;
    assert_protocol_error(
        "nonce going back",
        &error,
        |e| matches!(e, ZmtpError::Crypto(why) if why.contains("nonce")),
    );
    attacker.assert_closed("nonce going back");
    // Delivered before the event: waiting is not needed.
    for want in ["one", "three"] {
        let got = server.pull.try_recv();
        assert!(
            matches!(&got, Ok(m) if *m == Message::from(want)),
            "{want}: {got:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Wrong credentials: authentication failures.

async fn plain_wrong_credentials_are_authentication_failures(ctx: Context) {
    let mut server = plain_server(&ctx).await;
    let mut early = early_peer(&ctx, Good::Plain, &mut server).await;
    for (what, user, password) in [
        ("wrong password", USER, "wrong"),
        ("unknown user", "mallory", PASSWORD),
        ("empty credentials", "", ""),
    ] {
        let mut bytes = greeting("PLAIN");
        bytes.extend(plain_hello(user, password));
        let attacker = Attacker::sending(server.port, bytes);
        let error = handshake_failure_of(&mut server.events, &attacker.addr).await;
        assert!(error.is_authentication_failure(), "{what}: {error:?}");
        let seen = attacker.assert_closed(what);
        // As libzmq: an ERROR with the ZAP status code, after our greeting.
        assert_eq!(
            seen.received.get(64..),
            Some(&command("ERROR", b"\x03400")[..]),
            "{what}: {seen:?}"
        );
    }
    still_serves(&ctx, Good::Plain, &mut server, &mut early).await;
}

async fn curve_refused_client_key_is_an_authentication_failure(ctx: Context) {
    let mut server = curve_server(&ctx, None).await;
    let mut early = early_peer(&ctx, Good::Curve, &mut server).await;
    // A stranger with a real key pair: the handshake is sound, the authenticator says no.
    let stranger = KeyPair::generate();
    let client = Scripted::curve(server.port, &stranger.public, &stranger.secret);
    let addr = client.addr();
    let (tx, rx) = std::sync::mpsc::channel();
    let attacker = client.then(move |c| tx.send(c.handshake()).unwrap());
    let error = handshake_failure_of(&mut server.events, &addr).await;
    assert!(error.is_authentication_failure(), "{error:?}");
    attacker.assert_closed("refused key");
    // The client was told: ERROR "400", an authentication failure on its side too.
    let client_error = rx.recv().unwrap();
    assert!(
        matches!(
            &client_error,
            Err(ClientError::Protocol(e)) if e.is_authentication_failure()
        ),
        "{client_error:?}"
    );
    still_serves(&ctx, Good::Curve, &mut server, &mut early).await;
}

// ---------------------------------------------------------------------------------------------
// 7. Floods during the handshake.

async fn handshake_floods_are_cut_off(ctx: Context) {
    let mut server = curve_server(&ctx, None).await;
    let mut early = early_peer(&ctx, Good::Curve, &mut server).await;
    let port = server.port;
    // 10,000 tiny commands with an empty name, in one write: the first one ends it.
    let tiny = [0x04u8, 0x01, 0x00].repeat(10_000);
    // 10,000 PINGs (valid ZMTP commands, but not CURVE handshake commands).
    let pings = command("PING", b"\x00\x0ahi").repeat(10_000);
    let floods: [(&str, Attacker, Expect); 4] = [
        (
            "10,000 empty-named commands",
            Attacker::sending(port, [greeting("CURVE"), tiny].concat()),
            |e| matches!(e, ZmtpError::MalformedCommand(_)),
        ),
        (
            "10,000 PINGs",
            Attacker::sending(port, [greeting("CURVE"), pings].concat()),
            |e| matches!(e, ZmtpError::UnexpectedCommand(_)),
        ),
        // A HELLO announcing 2^40 octets, then an endless stream: the header alone decides,
        // the body is never buffered.
        (
            "an endless HELLO",
            Attacker::flooding(
                port,
                [
                    greeting("CURVE"),
                    vec![0x06],
                    (1u64 << 40).to_be_bytes().to_vec(),
                ]
                .concat(),
                vec![0x5a; 64 * 1024],
                256 << 20,
            ),
            |e| matches!(e, ZmtpError::FrameTooLarge { .. }),
        ),
        // An endless stream of zero octets: empty message frames, not allowed before READY.
        (
            "an endless stream of zeros",
            Attacker::flooding(port, greeting("CURVE"), vec![0; 64 * 1024], 256 << 20),
            |e| matches!(e, ZmtpError::UnexpectedMessage),
        ),
    ];
    let errors = handshake_failures_of(&mut server.events, &floods.each_ref().map(|f| &f.1)).await;
    for ((what, attacker, pick), error) in floods.into_iter().zip(errors) {
        assert_protocol_error(what, &error, pick);
        attacker.assert_closed(what);
    }
    still_serves(&ctx, Good::Curve, &mut server, &mut early).await;
}

/// Resident memory of this process (nextest runs each test in a process of its own).
#[cfg(target_os = "linux")]
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// After a good PLAIN handshake, a peer sends 128 MiB of PINGs and never reads: the PONGs we
/// owe it must not pile up without bound (libzmq keeps one pending PONG, `_pong_msg`; pausing
/// reads until the peer reads would do too). Measures memory, so it runs on one runtime only.
#[cfg(target_os = "linux")]
async fn ping_flood_from_a_peer_that_never_reads(ctx: Context) {
    const FLOOD: usize = 128 << 20;
    let mut server = plain_server(&ctx).await;
    let before = resident_kib();
    let (flooded, wait_flooded) = std::sync::mpsc::channel();
    let (release, wait_release) = std::sync::mpsc::channel::<()>();
    let client = Scripted::connect(
        server.port,
        Box::new(PlainClient::new(
            Bytes::from_static(USER.as_bytes()),
            PASSWORD.into(),
        )),
    );
    let attacker = client.then(move |c| {
        c.handshake().expect("the scripted PLAIN handshake");
        // Blocked writes mean the server stopped reading: that bounds it too.
        c.stream
            .set_write_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let chunk = command("PING", &[&[0u8, 0][..], &[b'c'; 16]].concat()).repeat(40_000);
        let mut sent = 0;
        while sent < FLOOD && c.stream.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
        flooded.send(sent).unwrap();
        // Keep the connection open, unread, until the test has measured.
        let _ = wait_release.recv();
    });
    let sent = loop {
        match wait_flooded.try_recv() {
            Ok(sent) => break sent,
            Err(_) => sleep_ms(50).await, // pacing only: the flood's end is what is awaited
        }
    };
    let grown_mib = resident_kib().saturating_sub(before) >> 10;
    drop(release);
    let error = disconnect_of(&mut server.events, &attacker.addr).await;
    assert!(
        matches!(error, ConnectionError::PeerClosed | ConnectionError::Io(_)),
        "{error:?}"
    );
    assert!(
        grown_mib < 32,
        "{} MiB of PINGs taken from a peer that reads nothing: memory grew by {grown_mib} MiB",
        sent >> 20
    );
}

/// Not in `on_all_runtimes!`: it measures the process's memory (one runtime is enough).
#[cfg(target_os = "linux")]
mod ping_flood_from_a_peer_that_never_reads {
    #[test]
    fn tokio() {
        crate::common::run_tokio(
            "ping_flood_from_a_peer_that_never_reads::tokio",
            super::ping_flood_from_a_peer_that_never_reads,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6. A libzmq peer, connected before a barrage of attacks, keeps delivering through it.

async fn libzmq_peer_keeps_flowing_through_attacks(ctx: Context) -> TestResult {
    let mut server = curve_server(&ctx, None).await;
    let mut libzmq = PeerSpec::new("PUSH")
        .curve_client(CLIENT_PUBLIC, CLIENT_SECRET, SERVER_PUBLIC)
        .scenario("script")
        .connect(&server.endpoint)
        .start()
        .await;
    let mut next = 0;
    for round in 0..4 {
        libzmq.send_line(&format!("SENDSEQ 1 {next}"));
        let msg = libzmq.bounded("receiving", server.pull.recv()).await?;
        check_canonical(next, &msg)?;
        next += 1;
        let port = server.port;
        let (attacker, established) = match round {
            0 => {
                let mut bytes = greeting("CURVE");
                bytes.extend(command("HELLO", &hello_data_with_garbage_box([1, 0])));
                (Attacker::sending(port, bytes), false)
            }
            1 => (
                Attacker::sending(port, [greeting("NULL"), vec![0x04, 0x01, 0x00]].concat()),
                false,
            ),
            2 => {
                let attacker = established_curve_attacker(&mut server, |c| {
                    let mut message = c.encode("tampered");
                    *message.last_mut().unwrap() ^= 1;
                    c.send_raw(&message);
                })
                .await;
                (attacker, true)
            }
            _ => (
                Attacker::sending(
                    port,
                    [greeting("CURVE"), [0x04, 0x01, 0x00].repeat(10_000)].concat(),
                ),
                false,
            ),
        };
        let error = if established {
            disconnect_of(&mut server.events, &attacker.addr).await
        } else {
            handshake_failure_of(&mut server.events, &attacker.addr).await
        };
        assert!(
            matches!(error, ConnectionError::Protocol(_)),
            "round {round}: {error:?}"
        );
        attacker.assert_closed("attack");
    }
    libzmq.send_line(&format!("SENDSEQ 1 {next}"));
    let msg = libzmq.bounded("receiving", server.pull.recv()).await?;
    check_canonical(next, &msg)?;
    assert_nothing_waiting(&mut server.pull);
    libzmq.send_line("QUIT");
    libzmq.close_stdin();
    server.pull.close().await;
    Ok(())
}

on_all_runtimes!(
    malformed_curve_hellos,
    malformed_plain_hellos,
    stalled_curve_handshakes_time_out,
    mechanism_mismatch_is_a_protocol_error,
    tampered_curve_messages_close_the_connection,
    replayed_curve_message_closes_the_connection,
    curve_nonce_going_backwards_closes_the_connection,
    plain_wrong_credentials_are_authentication_failures,
    curve_refused_client_key_is_an_authentication_failure,
    handshake_floods_are_cut_off,
    libzmq_peer_keeps_flowing_through_attacks,
    messages_before_a_bad_frame_in_the_same_read_are_delivered,
);
