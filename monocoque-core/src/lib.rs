//! # monocoque-core
//!
//! The I/O-free foundation of monocoque, a pure-Rust ZeroMQ:
//!
//! * [`Message`]: a multipart message made of cheap-to-clone [`bytes::Bytes`] frames;
//! * [`SocketType`]: the standard socket types and libzmq's compatibility matrix;
//! * [`Endpoint`]: parsing of `tcp://`, `ipc://` and `inproc://` endpoint strings;
//! * [`SocketOptions`]: the socket options users know from `zmq_setsockopt`;
//! * [`Error`]: the typed errors of the public API;
//! * [`transport`]: the [`Transport`](transport::Transport) trait each transport crate implements;
//! * [`runtime`]: the small [`Runtime`](runtime::Runtime) trait (spawn, timers), with one
//!   implementation per enabled runtime feature (`tokio`, `async-std`, `smol`);
//! * [`backoff`]: the reconnect back-off schedule;
//! * [`routing`]: the sans-I/O routing core (load balancer, fair queue, ROUTER table,
//!   subscription tries, REQ/REP envelopes) each socket owns;
//! * `reactor_stream` (feature `async-io`, which the async-std and smol transports turn on):
//!   the byte stream those transports hand the engine for a socket on async-io's reactor.
//!
//! Nothing here opens a socket or starts a task by itself.

pub mod backoff;
pub mod endpoint;
pub mod error;
pub mod message;
pub mod options;
#[cfg(feature = "async-io")]
pub mod reactor_stream;
pub mod routing;
pub mod runtime;
pub mod socket_type;
pub mod transport;

pub use endpoint::{Endpoint, EndpointError, Host, IpcAddr, TcpAddr};
pub use error::{Error, Result, TrySendError};
pub use message::{Message, MessageBuilder};
pub use options::{SocketOption, SocketOptions};
pub use socket_type::SocketType;
