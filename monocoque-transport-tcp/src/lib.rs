//! # monocoque-transport-tcp
//!
//! The `tcp://` [`Transport`](monocoque_core::transport::Transport) of monocoque, once per async
//! runtime, each behind its cargo feature:
//!
//! * `tokio`: `tokio::TcpTransport`;
//! * `async-std`: `async_std::TcpTransport`;
//! * `smol`: `smol::TcpTransport`.
//!
//! All three behave the same way:
//!
//! * **bind**: `*` binds the IPv4 wildcard `0.0.0.0` (as libzmq does without its IPv6 option), an
//!   IP literal binds that address, and a name is resolved with the runtime's resolver and the
//!   first resolved address that binds is kept. Port `0` (written `*` or `0`) lets the OS choose;
//!   [`Listener::local_endpoint`](monocoque_core::transport::Listener::local_endpoint) reports
//!   the address and port actually bound (`0.0.0.0` for `*`). Listeners have `SO_REUSEADDR` on
//!   Unix (every runtime's bind sets it: tokio through mio, async-std and smol through the
//!   standard library).
//! * **connect**: a name is resolved and every address is tried in turn; the last error is
//!   returned when none connects. [`ConnectOptions::timeout`] bounds the whole operation
//!   (resolution included) and fails with [`std::io::ErrorKind::TimedOut`]. Connecting to `*`
//!   or to port 0 is rejected with [`std::io::ErrorKind::InvalidInput`].
//! * Every accepted and connected stream has `TCP_NODELAY` set, since ZMTP does its own batching.
//! * [`Connection::peer_addr`] is the peer's `ip:port` (`[v6]:port` for IPv6).
//!
//! Endpoints of another scheme fail with [`std::io::ErrorKind::InvalidInput`].
//!
//! [`ConnectOptions::timeout`]: monocoque_core::transport::ConnectOptions::timeout
//! [`Connection::peer_addr`]: monocoque_core::transport::Connection::peer_addr

#![forbid(unsafe_code)]

#[cfg(any(feature = "tokio", feature = "async-std", feature = "smol"))]
mod common;

#[cfg(feature = "async-std")]
pub mod async_std;
#[cfg(feature = "smol")]
pub mod smol;
#[cfg(feature = "tokio")]
pub mod tokio;
