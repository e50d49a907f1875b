//! # monocoque-core
//!
//! The I/O-free foundation of monocoque, a pure-Rust ZeroMQ:
//!
//! * [`Message`]: a multipart message made of cheap-to-clone [`bytes::Bytes`] frames;
//! * [`SocketType`]: the standard socket types and libzmq's compatibility matrix;
//! * [`Endpoint`]: parsing of `tcp://`, `ipc://` and `inproc://` endpoint strings;
//! * [`SocketOptions`]: the socket options users know from `zmq_setsockopt`;
//! * [`Error`]: the typed errors of the public API;
//! * [`security`]: the mechanism options (PLAIN, CURVE, ZAP domain) and the CURVE key types;
//!   [`z85`]: the Z85 text encoding of keys (RFC 32);
//! * [`transport`]: the [`Transport`](transport::Transport) trait each transport crate implements;
//! * [`runtime`]: the small [`Runtime`](runtime::Runtime) trait (spawn, timers) the engine runs
//!   on; its implementations, one per runtime, are in `monocoque-runtime`;
//! * [`backoff`]: the reconnect back-off schedule;
//! * [`routing`]: the sans-I/O routing core (load balancer, ROUTER table, subscription tries,
//!   REQ/REP envelopes) each socket owns.
//!
//! Nothing here opens a socket, starts a task or names a runtime.

#![forbid(unsafe_code)]

pub mod backoff;
pub mod endpoint;
pub mod error;
pub mod message;
pub mod metadata;
pub mod options;
pub mod routing;
pub mod runtime;
pub mod security;
pub mod socket_type;
pub mod transport;
pub mod z85;

pub use endpoint::{Endpoint, EndpointError, Host, IpcAddr, TcpAddr};
pub use error::{Error, Result, SendError};
pub use message::{Message, MessageBuilder};
pub use metadata::Metadata;
pub use options::{SocketOption, SocketOptions};
pub use security::{CurvePublicKey, CurveSecretKey, KeyError, MechanismKind, Password, Security};
pub use socket_type::SocketType;
