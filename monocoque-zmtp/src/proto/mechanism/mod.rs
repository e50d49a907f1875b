//! Security mechanisms.
//!
//! A [`Mechanism`] runs the handshake that follows the greeting: it is given the peer's commands
//! one at a time and answers with commands of its own, until it reports
//! [`MechanismStatus::Done`] with the peer's metadata. The [`Session`](super::Session) owns the
//! framing, the Socket-Type check and everything after the handshake, so a new mechanism
//! (PLAIN, CURVE) plugs in without touching the session or the engine.
//!
//! # After the handshake: the frame codec
//!
//! NULL and PLAIN send frames in the clear. CURVE wraps every frame in a MESSAGE command box.
//! Rather than a per-frame virtual call on every mechanism, a mechanism hands the session an
//! optional [`FrameCodec`] once, through [`Mechanism::take_codec`]. The session stores it as an
//! `Option<Box<dyn FrameCodec>>` and tests it once per frame: with NULL (and PLAIN) it is `None`,
//! so the data path is the plain framing code with no dynamic dispatch. With a codec, every wire
//! frame goes through [`FrameCodec::decode`] before the session looks at it, and every frame the
//! session sends (messages, PONG, SUBSCRIBE, ...) goes through [`FrameCodec::encode`].
//!
//! # Mechanism-specific command formats
//!
//! CURVE's READY is a crypto box, not metadata. A mechanism can override
//! [`Mechanism::parse_command`] (for example to return every command as
//! [`Command::Unknown`] and decode it itself); the default is [`Command::parse`].
//!
//! # Errors and authentication
//!
//! Commands a mechanism pushes into `out` are queued even when it then returns an error, so a
//! server can push an ERROR command and fail in the same call. Authentication (ZAP) is the
//! mechanism's business: it gets whatever authenticator it needs at construction. Extra peer
//! metadata it learns (such as a `User-Id`) goes into the properties it reports in
//! [`MechanismStatus::Done`], which the session exposes in [`PeerInfo`](super::PeerInfo).

mod common;
mod curve;
mod null;
mod plain;

pub use curve::{CurveClient, CurveCodec, CurveServer};
pub use null::{AuthenticatedNull, NullMechanism};
pub use plain::{PlainClient, PlainServer};

use super::command::{Command, IDENTITY, Properties, SOCKET_TYPE};
use super::error::ZmtpError;
use super::frame::Frame;
use super::greeting::{Greeting, MechanismName};
use super::write_queue::WriteQueue;
use super::zap::{Credentials, ZapReply};
use bytes::Bytes;
use monocoque_core::SocketType;
use std::fmt;

/// The property a server adds to the peer's metadata with the user id its authenticator gave.
pub const USER_ID: &str = "User-Id";

/// What a mechanism knows about the connection during the handshake.
#[derive(Debug, Clone, Copy)]
pub struct HandshakeContext<'a> {
    /// Our socket type.
    pub socket_type: SocketType,
    /// Our routing identity (ZMQ_ROUTING_ID), if set.
    pub routing_id: Option<&'a Bytes>,
    /// Our role, from the local configuration (the peer's as-server octet is not trusted).
    pub as_server: bool,
    /// The peer's validated greeting.
    pub peer_greeting: &'a Greeting,
}

/// Progress of a handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MechanismStatus {
    /// More commands are expected from the peer.
    InProgress,
    /// The server knows the client's credentials and waits for its authenticator's verdict,
    /// given to [`Mechanism::on_zap_reply`]. Commands from the peer are not read meanwhile.
    Authenticate(Credentials),
    /// The handshake is complete.
    Done {
        /// The peer's metadata (from its READY, or INITIATE for a CURVE server), plus anything
        /// the mechanism adds (e.g. `User-Id`).
        peer_properties: Properties,
    },
}

/// Transforms frames after the handshake (CURVE's MESSAGE boxes). See the
/// [module documentation](self).
pub trait FrameCodec: Send + fmt::Debug {
    /// Queues one outgoing frame (message part or command body) in its wire form.
    fn encode(&mut self, more: bool, command: bool, body: &[u8], out: &mut WriteQueue);

    /// Turns one received wire frame into the frame it carries (flags and body).
    fn decode(&mut self, wire: Frame) -> Result<Frame, ZmtpError>;

    /// Octets a wire frame carries beyond the frame inside it (nonce, MAC, ...). The session
    /// raises its per-frame size limit by this much on the wire and checks the decoded size
    /// against the real limit.
    fn wire_overhead(&self) -> u64 {
        0
    }
}

/// A ZMTP security mechanism: the handshake between the greeting and the first message.
pub trait Mechanism: Send + fmt::Debug {
    /// The name sent in our greeting; the peer's must be the same.
    fn name(&self) -> MechanismName;

    /// Called once the peer greeting is validated; pushes the commands to send first
    /// (NULL: READY with our metadata).
    fn start(
        &mut self,
        ctx: &HandshakeContext<'_>,
        out: &mut Vec<Command>,
    ) -> Result<(), ZmtpError>;

    /// Handles one command from the peer and pushes any replies into `out`.
    fn on_command(
        &mut self,
        ctx: &HandshakeContext<'_>,
        cmd: Command,
        out: &mut Vec<Command>,
    ) -> Result<MechanismStatus, ZmtpError>;

    /// Handles the authenticator's reply to [`MechanismStatus::Authenticate`] and pushes any
    /// commands to send. Only server mechanisms that authenticate get one.
    fn on_zap_reply(
        &mut self,
        _ctx: &HandshakeContext<'_>,
        _reply: ZapReply,
        _out: &mut Vec<Command>,
    ) -> Result<MechanismStatus, ZmtpError> {
        Err(ZmtpError::Mechanism(
            "an authentication reply came, but none was asked for".into(),
        ))
    }

    /// Parses a handshake command frame body. Override when the mechanism's commands do not
    /// follow the generic grammar (CURVE's READY is a box, not metadata).
    fn parse_command(&self, body: Bytes) -> Result<Command, ZmtpError> {
        parse_handshake_command(body)
    }

    /// Called once, right after [`MechanismStatus::Done`]: the frame transform to use from now
    /// on, or `None` (NULL, PLAIN) to send and receive plain frames.
    fn take_codec(&mut self) -> Option<Box<dyn FrameCodec>> {
        None
    }
}

/// The ERROR libzmq 4.3.5 sends when its ZAP handler refuses a client: the name's length octet
/// is missing (its C literal `"\x05ERROR"` reads as `0x5E 'R' 'R' 'O' 'R'`), then the usual
/// length-prefixed reason. Seen on the wire as `04 09 5e 52 52 4f 52 03 34 30 30`.
const LIBZMQ_ZAP_ERROR: &[u8] = b"^RROR";

/// Parses a command received during the handshake: [`Command::parse`], plus libzmq's malformed
/// ERROR after a ZAP refusal (its name-length octet missing), read as the ERROR it means.
pub fn parse_handshake_command(body: Bytes) -> Result<Command, ZmtpError> {
    if body.starts_with(LIBZMQ_ZAP_ERROR) {
        let data = body.slice(LIBZMQ_ZAP_ERROR.len()..);
        let reason = match data.first() {
            Some(&len) => data.slice(1..data.len().min(1 + usize::from(len))),
            None => Bytes::new(),
        };
        return Ok(Command::Error { reason });
    }
    Command::parse(body)
}

/// Our metadata as libzmq 4.3.5 sends it: `Socket-Type` always; `Identity` from REQ and DEALER
/// always (empty when no routing id is set), from ROUTER only when a routing id is set, and
/// never from other socket types.
#[must_use]
pub fn local_metadata(ctx: &HandshakeContext<'_>) -> Properties {
    let mut props = Properties::new();
    props.insert(
        SOCKET_TYPE,
        Bytes::from_static(ctx.socket_type.as_str().as_bytes()),
    );
    match ctx.socket_type {
        SocketType::Req | SocketType::Dealer => {
            props.insert(IDENTITY, ctx.routing_id.cloned().unwrap_or_default());
        }
        SocketType::Router => {
            if let Some(id) = ctx.routing_id {
                props.insert(IDENTITY, id.clone());
            }
        }
        _ => {}
    }
    props
}

/// Checks the peer's `Socket-Type` property against ours and returns the peer's type.
pub fn check_peer_socket_type(
    ours: SocketType,
    peer_properties: &Properties,
) -> Result<SocketType, ZmtpError> {
    let Some(theirs) = peer_properties.get(SOCKET_TYPE) else {
        return Err(ZmtpError::MissingSocketType);
    };
    match SocketType::from_wire(theirs) {
        Some(peer) if ours.is_compatible_with(peer) => Ok(peer),
        _ => Err(ZmtpError::IncompatibleSocketType {
            ours,
            theirs: String::from_utf8_lossy(theirs).into_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(
        socket_type: SocketType,
        routing_id: Option<&'a Bytes>,
        greeting: &'a Greeting,
    ) -> HandshakeContext<'a> {
        HandshakeContext {
            socket_type,
            routing_id,
            as_server: false,
            peer_greeting: greeting,
        }
    }

    fn names(p: &Properties) -> Vec<(&str, &[u8])> {
        p.iter().map(|(n, v)| (n, &v[..])).collect()
    }

    #[test]
    fn metadata_matches_libzmq() {
        let g = Greeting::ours(MechanismName::NULL, false);
        let id = Bytes::from_static(b"abc");
        let meta = |t, id| local_metadata(&ctx(t, id, &g));
        assert_eq!(
            names(&meta(SocketType::Dealer, None)),
            [("Socket-Type", &b"DEALER"[..]), ("Identity", b"")]
        );
        assert_eq!(
            names(&meta(SocketType::Req, Some(&id))),
            [("Socket-Type", &b"REQ"[..]), ("Identity", b"abc")]
        );
        assert_eq!(
            names(&meta(SocketType::Router, None)),
            [("Socket-Type", &b"ROUTER"[..])]
        );
        assert_eq!(
            names(&meta(SocketType::Router, Some(&id))),
            [("Socket-Type", &b"ROUTER"[..]), ("Identity", b"abc")]
        );
        assert_eq!(
            names(&meta(SocketType::Push, Some(&id))),
            [("Socket-Type", &b"PUSH"[..])]
        );
    }

    #[test]
    fn libzmq_zap_error_is_read_as_error() {
        let wire = Bytes::from_static(b"\x5eRROR\x03400");
        assert_eq!(
            parse_handshake_command(wire),
            Ok(Command::Error {
                reason: Bytes::from_static(b"400")
            })
        );
        let good = Bytes::from_static(b"\x05ERROR\x03400");
        assert_eq!(parse_handshake_command(good).unwrap().name(), b"ERROR");
    }

    #[test]
    fn socket_type_check() {
        let mut p = Properties::new();
        assert_eq!(
            check_peer_socket_type(SocketType::Dealer, &p),
            Err(ZmtpError::MissingSocketType)
        );
        p.insert("socket-type", "router");
        assert_eq!(
            check_peer_socket_type(SocketType::Dealer, &p),
            Ok(SocketType::Router)
        );
        p.insert("Socket-Type", "PUB");
        assert_eq!(
            check_peer_socket_type(SocketType::Dealer, &p),
            Err(ZmtpError::IncompatibleSocketType {
                ours: SocketType::Dealer,
                theirs: "PUB".into()
            })
        );
        p.insert("Socket-Type", "CLIENT");
        assert!(check_peer_socket_type(SocketType::Dealer, &p).is_err());
    }
}
