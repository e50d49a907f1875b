//! monocoque's fuzz targets: every parser of untrusted input and every handshake role, fed
//! arbitrary bytes.
//!
//! Each target is a plain function of a byte slice, so one definition serves both `cargo fuzz`
//! (the `fuzz/` directory, run by `cargo xtask fuzz`) and the short property-test runs in the
//! normal test suite (`tests/targets.rs`). A target passes when it returns: none may panic, grow
//! without bound, or break the invariant it checks (a decoded frame never exceeds its limit, Z85
//! round-trips, the subscription tries agree with a plain model).
//!
//! Byte streams are cut into reads at sizes taken from the input itself, so the fuzzer explores
//! partial greetings, headers split across reads and frames arriving a byte at a time.

#![forbid(unsafe_code)]

use bytes::{Bytes, BytesMut};
use monocoque_core::routing::{PublisherTrie, SubscriberTrie, TrieLimits};
use monocoque_core::{CurvePublicKey, CurveSecretKey, Endpoint, Password, SocketType, z85};
use monocoque_zmtp::proto::{
    Command, CurveClient, CurveServer, Event, FrameDecoder, Greeting, Mechanism, NullMechanism,
    PlainClient, PlainServer, Properties, Session, SessionConfig, ZapReply,
    mechanism::parse_handshake_command,
};
use std::time::Instant;

/// Largest frame the frame-decoder target allows (its limit is checked on every frame).
const FRAME_LIMIT: u64 = 64 * 1024;

/// libzmq's test key pairs (spec README): fixed, so that the fuzzer's inputs mean the same on
/// every run.
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

/// The names of the targets, as `cargo fuzz` knows them (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &[
    "frame_decoder",
    "greeting",
    "command",
    "null_server",
    "null_client",
    "plain_server",
    "plain_client",
    "curve_server",
    "curve_client",
    "endpoint",
    "z85",
    "subscriptions",
];

/// Runs the target called `name` on `data`; false for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    let target: fn(&[u8]) = match name {
        "frame_decoder" => frame_decoder,
        "greeting" => greeting,
        "command" => command,
        "null_server" => null_server,
        "null_client" => null_client,
        "plain_server" => plain_server,
        "plain_client" => plain_client,
        "curve_server" => curve_server,
        "curve_client" => curve_client,
        "endpoint" => endpoint,
        "z85" => z85_round_trip,
        "subscriptions" => subscriptions,
        _ => return false,
    };
    target(data);
    true
}

/// Splits `data` into a read size (its first byte, 1 to 256) and the stream.
fn chunked(data: &[u8]) -> (usize, &[u8]) {
    match data.split_first() {
        Some((&size, rest)) => (usize::from(size) + 1, rest),
        None => (1, data),
    }
}

/// The frame decoder over a stream cut into reads: every frame respects the limit, and an
/// error is final.
pub fn frame_decoder(data: &[u8]) {
    let (read, stream) = chunked(data);
    let mut decoder = FrameDecoder::new(Some(FRAME_LIMIT));
    let mut buf = BytesMut::new();
    for piece in stream.chunks(read) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => assert!(frame.body.len() as u64 <= FRAME_LIMIT),
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

/// The 64-octet greeting parser.
pub fn greeting(data: &[u8]) {
    if let Ok(bytes) = <&[u8; 64]>::try_from(data.get(..64).unwrap_or_default()) {
        let _ = Greeting::parse(bytes);
    }
}

/// Every command parser: the data-phase one, the handshake one (with libzmq's quirks) and the
/// metadata (property list) parser.
pub fn command(data: &[u8]) {
    let body = Bytes::copy_from_slice(data);
    let _ = Command::parse(body.clone());
    let _ = parse_handshake_command(body);
    let _ = Properties::parse(data);
}

/// A session for `mechanism`, fed `data` as the peer's bytes, read by read; a server's
/// authentication requests are granted, so that the data phase is reached too. Returns how
/// many messages were received (for checking that seed inputs get that far).
pub fn drive(
    socket_type: SocketType,
    as_server: bool,
    mechanism: Box<dyn Mechanism>,
    data: &[u8],
) -> usize {
    let mut messages = 0;
    let (read, stream) = chunked(data);
    let config = SessionConfig {
        mechanism,
        max_msg_size: Some(1 << 20),
        ..SessionConfig::null(socket_type, as_server)
    };
    let mut session = Session::new(config, Instant::now());
    let mut input = BytesMut::new();
    for piece in stream.chunks(read) {
        input.extend_from_slice(piece);
        loop {
            let event = match session.poll_event(&mut input) {
                Ok(Some(Event::Authenticate(_))) => session.authenticated(ZapReply::allow("fuzz")),
                other => other,
            };
            match event {
                Ok(Some(Event::Ready(_))) => {
                    // Something to send once the handshake is done exercises the encoder too.
                    session.send_message(&monocoque_core::Message::single("reply"));
                }
                Ok(Some(Event::Message(_))) => messages += 1,
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return messages,
            }
        }
        // What the session wants to write is taken, as an engine would.
        let pending = session.output().len();
        session.output().advance(pending);
    }
    messages
}

/// A NULL server (a ROUTER bound to arbitrary clients).
pub fn null_server(data: &[u8]) {
    let _ = drive(SocketType::Router, false, Box::new(NullMechanism), data);
}

/// A NULL client (a DEALER talking to an arbitrary server).
pub fn null_client(data: &[u8]) {
    let _ = drive(SocketType::Dealer, false, Box::new(NullMechanism), data);
}

/// A PLAIN server with an authenticator.
pub fn plain_server(data: &[u8]) {
    drive(
        SocketType::Rep,
        true,
        Box::new(PlainServer::new(true)),
        data,
    );
}

/// A PLAIN client.
pub fn plain_client(data: &[u8]) {
    let mechanism = PlainClient::new(Bytes::from_static(b"admin"), Password::new("secret"));
    let _ = drive(SocketType::Req, false, Box::new(mechanism), data);
}

fn secret(z85: &str) -> CurveSecretKey {
    CurveSecretKey::from_z85(z85).expect("a test key")
}

fn public(z85: &str) -> CurvePublicKey {
    CurvePublicKey::from_z85(z85).expect("a test key")
}

/// A CURVE server with an authenticator.
pub fn curve_server(data: &[u8]) {
    let mechanism = CurveServer::new(&secret(SERVER_SECRET), true);
    let _ = drive(SocketType::Pull, true, Box::new(mechanism), data);
}

/// A CURVE client (its HELLO is sent; the fuzzer plays a server that cannot know the keys, so
/// this explores WELCOME's parsing and the refusals).
pub fn curve_client(data: &[u8]) {
    let mechanism = CurveClient::new(
        &public(CLIENT_PUBLIC),
        &secret(CLIENT_SECRET),
        &public(SERVER_PUBLIC),
    );
    let _ = drive(SocketType::Push, false, Box::new(mechanism), data);
}

/// The endpoint parser, on any text: what parses prints as something that parses again to
/// the same endpoint.
pub fn endpoint(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ep) = text.parse::<Endpoint>() {
        let again: Endpoint = ep.to_string().parse().expect("a printed endpoint parses");
        assert_eq!(again, ep);
    }
}

/// Z85: decoding any text never panics, and what decodes encodes back to the same text;
/// encoding any multiple of 4 octets decodes back to them.
pub fn z85_round_trip(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(bytes) = z85::decode(text) {
            assert_eq!(
                z85::encode(&bytes).expect("decoded is a multiple of 4"),
                text
            );
        }
    }
    let whole = &data[..data.len() / 4 * 4];
    let text = z85::encode(whole).expect("a multiple of 4");
    assert_eq!(z85::decode(&text).expect("encoded decodes"), whole);
}

/// The subscription tries driven by operations read from `data`, checked against a plain
/// model: a list of (topic, peer) subscriptions.
pub fn subscriptions(data: &[u8]) {
    let limits = TrieLimits {
        max_topic_len: 16,
        max_topics: 64,
    };
    let mut sub = SubscriberTrie::with_limits(limits);
    let mut publisher: PublisherTrie<u8> = PublisherTrie::with_limits(limits);
    let mut model: Vec<(Vec<u8>, u8)> = Vec::new();
    let mut ops = data;
    while let [op, len, rest @ ..] = ops {
        let len = usize::from(*len % 8).min(rest.len());
        let (topic, rest) = rest.split_at(len);
        ops = rest;
        let peer = op >> 4;
        match op % 4 {
            0 => {
                let _ = sub.try_subscribe(topic);
                let topic_was_new = !model.iter().any(|(t, _)| t == topic);
                if let Ok(first) = publisher.try_add(topic, peer) {
                    // True exactly when nobody had the topic (what XPUB forwards).
                    assert_eq!(first, topic_was_new, "add {topic:?} by {peer}");
                    if !model.iter().any(|(t, p)| t == topic && *p == peer) {
                        model.push((topic.to_vec(), peer));
                    }
                }
            }
            1 => {
                sub.unsubscribe(topic);
                let had = model.iter().any(|(t, p)| t == topic && *p == peer);
                assert_eq!(publisher.contains(topic, peer), had);
                let last = publisher.remove(topic, peer);
                model.retain(|(t, p)| !(t == topic && *p == peer));
                // True exactly when the peer had it and nobody has it now.
                let left = had && !model.iter().any(|(t, _)| t == topic);
                assert_eq!(last, left, "remove {topic:?} by {peer}");
            }
            2 => {
                publisher.remove_peer(peer, |_| {});
                model.retain(|(_, p)| *p != peer);
            }
            _ => {
                let mut matched = Vec::new();
                publisher.for_each_match(topic, |p| matched.push(p));
                matched.sort_unstable();
                matched.dedup();
                let mut want: Vec<u8> = (model.iter())
                    .filter(|(t, _)| topic.starts_with(t))
                    .map(|(_, p)| *p)
                    .collect();
                want.sort_unstable();
                want.dedup();
                assert_eq!(matched, want, "matches of {topic:?}");
                let _ = sub.matches(topic);
            }
        }
    }
}
