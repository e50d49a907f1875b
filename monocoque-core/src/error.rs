//! The errors of the public API.

use crate::endpoint::EndpointError;
use std::fmt;
use std::io;
use std::sync::Arc;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a socket operation can fail with. Each variant says what to fix.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint string did not parse.
    Endpoint(EndpointError),
    /// No transport is registered for this scheme on the socket.
    UnsupportedTransport(&'static str),
    /// An I/O error from bind or connect (address in use, refused, ...).
    Io(Arc<io::Error>),
    /// The operation could not complete now (libzmq's `EAGAIN` from a non-blocking call).
    WouldBlock,
    /// SNDTIMEO or RCVTIMEO expired (libzmq reports this as `EAGAIN`).
    Timeout,
    /// The socket was closed.
    Closed,
    /// The call is not allowed in the socket's current state (libzmq's `EFSM`).
    InvalidState(&'static str),
    /// The operation is not supported by this socket type (libzmq's `ENOTSUP`).
    NotSupported(&'static str),
    /// A message with no frames cannot be sent.
    EmptyMessage,
    /// The endpoint is not bound or connected on this socket (libzmq's `ENOENT`).
    UnknownEndpoint(String),
    /// ROUTER_MANDATORY: the routing identity is not connected (libzmq's `EHOSTUNREACH`).
    HostUnreachable,
    /// A socket option value is out of range.
    InvalidOption {
        /// The option's libzmq name, e.g. `"ZMQ_SNDHWM"`.
        option: &'static str,
        /// What is wrong with the value.
        reason: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Endpoint(e) => e.fmt(f),
            Error::UnsupportedTransport(s) => write!(
                f,
                "no {s}:// transport on this socket: enable the monocoque-transport-{s} crate's runtime feature"
            ),
            Error::Io(e) => write!(f, "i/o error: {e}"),
            Error::WouldBlock => f.write_str("operation would block (try again later)"),
            Error::Timeout => f.write_str("operation timed out (SNDTIMEO/RCVTIMEO)"),
            Error::Closed => f.write_str("socket is closed"),
            Error::InvalidState(why) => write!(f, "operation not allowed now: {why}"),
            Error::NotSupported(why) => write!(f, "operation not supported: {why}"),
            Error::EmptyMessage => f.write_str("cannot send a message with no frames"),
            Error::UnknownEndpoint(e) => write!(f, "endpoint {e} is not bound or connected here"),
            Error::HostUnreachable => f.write_str("no connected peer has that routing id"),
            Error::InvalidOption { option, reason } => write!(f, "invalid {option}: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Endpoint(e) => Some(e),
            Error::Io(e) => Some(&**e),
            _ => None,
        }
    }
}

impl From<EndpointError> for Error {
    fn from(e: EndpointError) -> Self {
        Error::Endpoint(e)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

/// A failed send: the error, and the message handed back so it is not lost (libzmq leaves a
/// message it could not send with the caller, too).
#[derive(Debug, Clone)]
pub struct SendError {
    /// Why the message was not queued: [`Error::WouldBlock`] when every peer is at SNDHWM (a
    /// `try_send`), [`Error::Timeout`] when SNDTIMEO expired, [`Error::HostUnreachable`],
    /// [`Error::InvalidState`], [`Error::EmptyMessage`], ...
    pub error: Error,
    /// The message, returned to the caller.
    pub message: crate::Message,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        e.error
    }
}
