//! [`ConnectionError`]: why a connection ended or never got going.

use crate::proto::ZmtpError;
use std::fmt;
use std::io;
use std::sync::Arc;

/// Why a connection ended or never got going, as monitor events report it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer broke the protocol (bad greeting, reserved flags, oversized frame, incompatible
    /// socket type, ERROR command, ...).
    Protocol(ZmtpError),
    /// The stream failed.
    Io(Arc<io::Error>),
    /// The greeting and handshake did not finish within HANDSHAKE_IVL.
    HandshakeTimeout,
    /// The peer closed the connection.
    PeerClosed,
    /// The socket refused the peer after a good handshake (e.g. a second peer for PAIR).
    Rejected(&'static str),
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Protocol(e) => write!(f, "protocol error: {e}"),
            ConnectionError::Io(e) => write!(f, "i/o error: {e}"),
            ConnectionError::HandshakeTimeout => f.write_str("handshake timed out"),
            ConnectionError::PeerClosed => f.write_str("peer closed the connection"),
            ConnectionError::Rejected(why) => write!(f, "peer rejected: {why}"),
        }
    }
}

impl ConnectionError {
    /// True when the handshake failed on authentication (a ZAP refusal, ours or the peer's:
    /// libzmq's HANDSHAKE_FAILED_AUTH), rather than on the protocol or the transport.
    #[must_use]
    pub fn is_authentication_failure(&self) -> bool {
        matches!(self, ConnectionError::Protocol(e) if e.is_authentication_failure())
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectionError::Protocol(e) => Some(e),
            ConnectionError::Io(e) => Some(&**e),
            _ => None,
        }
    }
}

impl From<ZmtpError> for ConnectionError {
    fn from(e: ZmtpError) -> Self {
        match e {
            ZmtpError::HandshakeTimeout => ConnectionError::HandshakeTimeout,
            e => ConnectionError::Protocol(e),
        }
    }
}

impl From<io::Error> for ConnectionError {
    fn from(e: io::Error) -> Self {
        ConnectionError::Io(Arc::new(e))
    }
}
