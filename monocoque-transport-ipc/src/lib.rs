//! # monocoque-transport-ipc
//!
//! The `ipc://` [`Transport`](monocoque_core::transport::Transport) of monocoque, over Unix
//! domain sockets, once per async runtime, each behind its cargo feature (Unix only):
//!
//! * `tokio`: `tokio::IpcTransport`;
//! * `async-std`: `async_std::IpcTransport`;
//! * `smol`: `smol::IpcTransport`.
//!
//! All three behave the same way:
//!
//! * **`ipc:///path`**: when binding and the path already exists, it must be a socket; it is
//!   probed with a connect. A refused connect means a stale file left by a dead process: it is
//!   removed and the bind proceeds. A live listener (or a file that is not a socket) fails the
//!   bind with [`std::io::ErrorKind::AddrInUse`]. Dropping the listener removes the socket file,
//!   provided the path still names the very file it created (same device and inode), so a
//!   newer listener's file is left alone.
//! * **`ipc://@name`**: the Linux abstract namespace (no file at all). On other systems it fails
//!   with [`std::io::ErrorKind::Unsupported`].
//! * **connect** honours [`ConnectOptions::timeout`] with [`std::io::ErrorKind::TimedOut`].
//! * [`Connection::peer_addr`] is the peer's path, `@name`, or `unnamed` (the usual case for
//!   accepted connections, since connecting sockets are not bound to a name).
//! * Closing a stream shuts its write half down, so the peer reads end-of-stream.
//!
//! Endpoints of another scheme fail with [`std::io::ErrorKind::InvalidInput`].
//!
//! [`ConnectOptions::timeout`]: monocoque_core::transport::ConnectOptions::timeout
//! [`Connection::peer_addr`]: monocoque_core::transport::Connection::peer_addr

#![forbid(unsafe_code)]

#[cfg(all(unix, any(feature = "tokio", feature = "async-std", feature = "smol")))]
mod common;

#[cfg(all(unix, any(feature = "async-std", feature = "smol")))]
mod reactor;

#[cfg(all(unix, feature = "async-std"))]
pub mod async_std;
#[cfg(all(unix, feature = "smol"))]
pub mod smol;
#[cfg(all(unix, feature = "tokio"))]
pub mod tokio;
