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
    /// The peer went silent: nothing within HEARTBEAT_TIMEOUT of our PING, or within the TTL
    /// its PING asked for.
    HeartbeatTimeout,
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
            ConnectionError::HeartbeatTimeout => f.write_str("heartbeat timed out"),
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

    /// Which of libzmq's three handshake-failure events this error is, when it ended a
    /// handshake.
    #[must_use]
    pub fn handshake_failure(&self) -> HandshakeFailure {
        match self {
            ConnectionError::Protocol(e) if e.is_authentication_failure() => {
                HandshakeFailure::Auth {
                    status_code: e.zap_status_code(),
                }
            }
            ConnectionError::Protocol(_) => HandshakeFailure::Protocol,
            ConnectionError::Io(_)
            | ConnectionError::HandshakeTimeout
            | ConnectionError::HeartbeatTimeout
            | ConnectionError::PeerClosed
            | ConnectionError::Rejected(_) => HandshakeFailure::NoDetail,
        }
    }
}

/// How a handshake failed, split as libzmq's monitor events split it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: the stream failed or closed, the handshake timed
    /// out (HANDSHAKE_IVL), or the socket turned the peer away.
    NoDetail,
    /// ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: the peer broke the protocol (bad greeting, a
    /// mechanism mismatch, a malformed or tampered command, ...).
    Protocol,
    /// ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: authentication failed (our ZAP handler refused the
    /// client, or the server refused us).
    Auth {
        /// The ZAP status code (300, 400 or 500), when known.
        status_code: Option<u16>,
    },
}

impl ConnectionError {
    /// The 32-bit value libzmq's monitor sends with a handshake failure: the ZAP status code
    /// (AUTH), the `ZMQ_PROTOCOL_ERROR_*` code (PROTOCOL), or an errno (NO_DETAIL).
    #[must_use]
    pub fn libzmq_event_value(&self) -> u32 {
        match (self.handshake_failure(), self) {
            (HandshakeFailure::Auth { status_code }, _) => u32::from(status_code.unwrap_or(0)),
            (HandshakeFailure::Protocol, ConnectionError::Protocol(e)) => e.libzmq_protocol_error(),
            (_, ConnectionError::Io(e)) => e.raw_os_error().map_or(0, |n| n as u32),
            (_, ConnectionError::HandshakeTimeout | ConnectionError::HeartbeatTimeout) => 110, // ETIMEDOUT
            _ => 0,
        }
    }
}

impl HandshakeFailure {
    /// The libzmq event number (`ZMQ_EVENT_HANDSHAKE_FAILED_*`).
    #[must_use]
    pub fn libzmq_event(self) -> u16 {
        match self {
            HandshakeFailure::NoDetail => 0x0800,
            HandshakeFailure::Protocol => 0x2000,
            HandshakeFailure::Auth { .. } => 0x4000,
        }
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
            ZmtpError::HeartbeatTimeout => ConnectionError::HeartbeatTimeout,
            e => ConnectionError::Protocol(e),
        }
    }
}

impl From<io::Error> for ConnectionError {
    fn from(e: io::Error) -> Self {
        ConnectionError::Io(Arc::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_failures_split_as_libzmq_events() {
        let auth = |why: &str| ConnectionError::Protocol(ZmtpError::Authentication(why.into()));
        let code = |e: ConnectionError| match e.handshake_failure() {
            HandshakeFailure::Auth { status_code } => status_code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(auth("400")), Some(400));
        assert_eq!(code(auth("300 try later")), Some(300));
        assert_eq!(code(auth("500 internal")), Some(500));
        assert_eq!(code(auth("200")), None);
        assert_eq!(code(auth("4000")), None);
        assert_eq!(code(auth("no handler")), None);
        assert_eq!(
            ConnectionError::Protocol(ZmtpError::BadSignature).handshake_failure(),
            HandshakeFailure::Protocol
        );
        for e in [
            ConnectionError::HandshakeTimeout,
            ConnectionError::PeerClosed,
            std::io::Error::from(std::io::ErrorKind::ConnectionReset).into(),
        ] {
            assert_eq!(e.handshake_failure(), HandshakeFailure::NoDetail, "{e}");
        }
        assert_eq!(
            HandshakeFailure::Auth { status_code: None }.libzmq_event(),
            0x4000
        );
    }
}
