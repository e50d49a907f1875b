//! Socket events: what happened to each endpoint and connection, for logs, tests and monitoring.

use crate::proto::ZmtpError;
use monocoque_core::{Endpoint, SocketType};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Why a connection ended or never got going.
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

impl std::error::Error for ConnectionError {}

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

/// One event of a socket's life, as `zmq_socket_monitor` reports them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SocketEvent {
    /// A bind succeeded (ZMQ_EVENT_LISTENING).
    Listening {
        /// The bound endpoint.
        endpoint: Endpoint,
    },
    /// A connection was accepted on a bound endpoint (ZMQ_EVENT_ACCEPTED).
    Accepted {
        /// The bound endpoint.
        endpoint: Endpoint,
        /// The peer's address.
        peer_addr: String,
    },
    /// An outgoing connection was established (ZMQ_EVENT_CONNECTED).
    Connected {
        /// The endpoint connected to.
        endpoint: Endpoint,
        /// The peer's address.
        peer_addr: String,
    },
    /// A connect attempt failed; the next one follows after `retry_in`
    /// (ZMQ_EVENT_CONNECT_RETRIED).
    ConnectRetried {
        /// The endpoint.
        endpoint: Endpoint,
        /// Why it failed.
        error: Arc<io::Error>,
        /// The back-off before the next attempt.
        retry_in: Duration,
    },
    /// The ZMTP handshake completed (ZMQ_EVENT_HANDSHAKE_SUCCEEDED).
    HandshakeSucceeded {
        /// The local endpoint (bound or connected).
        endpoint: Endpoint,
        /// The peer's address.
        peer_addr: String,
        /// The peer's socket type.
        peer_type: SocketType,
    },
    /// The handshake failed: the connection was closed (ZMQ_EVENT_HANDSHAKE_FAILED_*).
    HandshakeFailed {
        /// The local endpoint (bound or connected).
        endpoint: Endpoint,
        /// The peer's address.
        peer_addr: String,
        /// What went wrong.
        error: ConnectionError,
    },
    /// An established connection ended (ZMQ_EVENT_DISCONNECTED).
    Disconnected {
        /// The local endpoint (bound or connected).
        endpoint: Endpoint,
        /// The peer's address.
        peer_addr: String,
        /// What ended it: `None` when this socket closed it.
        error: Option<ConnectionError>,
    },
    /// A listener stopped (unbind or close) (ZMQ_EVENT_CLOSED).
    Closed {
        /// The endpoint that was bound.
        endpoint: Endpoint,
    },
}
