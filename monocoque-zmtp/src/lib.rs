//! # monocoque-zmtp
//!
//! The ZMTP 3.1 protocol for monocoque, in three layers:
//!
//! * [`proto`]: the sans-I/O protocol core: greeting, framing, commands, the handshake with its
//!   mechanisms, all plain state machines fed bytes and asked for bytes;
//! * the connection engine, one task per connection, driving a session over any
//!   [`Transport`](monocoque_core::transport::Transport) stream with automatic write batching;
//! * the sockets ([`PushSocket`], [`PullSocket`], [`PairSocket`]), built on a [`Context`] that
//!   names the runtime and the transports.

pub mod context;
mod engine;
pub mod monitor;
pub mod proto;
mod socket;

pub use context::Context;
pub use monitor::{ConnectionError, SocketEvent};
/// The runtimes sockets can run on (re-exported from `monocoque-runtime`).
pub use monocoque_runtime as runtime;
pub use socket::{
    DealerSocket, PairSocket, ProxyCommand, ProxySocket, ProxyStatistics, PubSocket, PullSocket,
    PushSocket, RepSocket, ReqSocket, RouterSocket, SubSocket, XPubSocket, XSubSocket, proxy,
    proxy_steerable, proxy_with_capture,
};
