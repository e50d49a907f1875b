//! # monocoque-zmtp
//!
//! The ZMTP 3.1 protocol for monocoque, in layers that depend only downwards:
//!
//! * [`socket`]: the public socket types and their policy (routing, load balancing, fair
//!   queuing, subscriptions, REQ/REP state), split halves, `Stream` and `Sink`;
//! * `engine`: drives one connection's session over a byte stream, reading, decoding and
//!   writing in batches; it knows the socket layer only through
//! * `link`: the queues, the backpressure and the shutdown signal between a socket and its
//!   connections;
//! * [`proto`]: the sans-I/O protocol core (greeting, framing, commands, mechanisms, the
//!   session state machine with its deadlines), plain state machines fed bytes and time.
//!
//! Sockets are made from a [`Context`], which names the runtime and the transports;
//! [`memory`] is an in-memory transport for tests and for running the engine without OS
//! sockets; [`keys`] makes CURVE key pairs; [`zap`] authenticates PLAIN and CURVE clients.

// One `unsafe` block in all, in `engine::read_buffer::reuse` (a reused receive block is not
// cleared before the next reads overwrite it), documented there and tested under Miri; every
// other module is safe Rust, which `deny` enforces.
#![deny(unsafe_code)]

pub mod context;
mod engine;
pub mod error;
pub mod keys;
mod link;
pub mod memory;
pub mod monitor;
pub mod proto;
pub mod socket;
pub mod zap;

pub use context::Context;
pub use error::{ConnectionError, HandshakeFailure};
pub use keys::KeyPair;
pub use monitor::{Monitor, SocketEvent};
/// The runtimes sockets can run on (re-exported from `monocoque-runtime`).
pub use monocoque_runtime as runtime;
pub use socket::{
    DealerSocket, PairSocket, ProxyCommand, ProxySocket, ProxyStatistics, PubSocket, PullSocket,
    PushSocket, RecvHalf, RepSocket, ReqSocket, RouterSocket, SendFuture, SendHalf, Socket,
    SubSocket, XPubSocket, XSubSocket, proxy, proxy_steerable, proxy_with_capture,
};
pub use zap::{Authenticator, ZapHandler, ZapReply, ZapRequest, ZapStatus};
