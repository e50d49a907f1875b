//! The sans-I/O ZMTP 3.1 protocol core.
//!
//! Nothing in this module touches a socket, a clock or a runtime: a [`Session`] is fed the bytes
//! read from a connection and hands back [`Event`]s, while everything it wants to send piles up in
//! its [`WriteQueue`] for the engine to write (ideally with one vectored write per batch).
//!
//! * [`greeting`]: the fixed 64-octet greeting and its early, prefix-wise validation;
//! * [`frame`]: frame headers, the incremental [`FrameDecoder`] and frame encoding;
//! * [`write_queue`]: the outgoing byte queue (small writes coalesced, big bodies kept zero-copy);
//! * [`command`]: READY / ERROR / PING / PONG / SUBSCRIBE / CANCEL and connection metadata;
//! * [`mechanism`]: the security-mechanism interface and the NULL, PLAIN and CURVE mechanisms;
//! * [`zap`]: what a server mechanism asks its authenticator (ZAP) and the answer;
//! * [`session`]: one connection's protocol state machine;
//! * [`error`]: the protocol errors (every one of them closes the connection).

pub mod command;
pub mod error;
pub mod frame;
pub mod greeting;
pub mod mechanism;
pub mod session;
pub mod write_queue;
pub mod zap;

pub use command::{Command, Properties};
pub use error::ZmtpError;
pub use frame::{Frame, FrameDecoder};
pub use greeting::{Greeting, MechanismName};
pub use mechanism::{
    AuthenticatedNull, CurveClient, CurveCodec, CurveServer, FrameCodec, HandshakeContext,
    Mechanism, MechanismStatus, NullMechanism, PlainClient, PlainServer, local_metadata,
};
pub use session::{Event, HeartbeatConfig, PeerInfo, Session, SessionConfig};
pub use write_queue::WriteQueue;
pub use zap::{Credentials, ZapReply, ZapStatus};
