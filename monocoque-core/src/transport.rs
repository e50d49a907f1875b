//! The `Transport` trait: how a socket binds, accepts and connects for one endpoint scheme.
//!
//! Each transport crate (`monocoque-transport-tcp`, `monocoque-transport-ipc`) implements it once
//! per runtime feature. A socket keeps a registry of transports by [`Transport::scheme`], so one
//! socket can bind `tcp://` and `ipc://` at once. Streams are `futures-io` byte streams, the
//! runtime-neutral currency between transports and the ZMTP engine.

use crate::endpoint::Endpoint;
use async_trait::async_trait;
use futures::io::{AsyncRead, AsyncWrite};
use std::io;
use std::time::Duration;

/// A connected, bidirectional byte stream.
pub trait ByteStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> ByteStream for T {}

/// A boxed [`ByteStream`], as transports hand them to the engine.
pub type BoxStream = Box<dyn ByteStream>;

/// A stream from `connect` or `accept`, with a printable peer address for logs and monitor events.
pub struct Connection {
    /// The byte stream.
    pub stream: BoxStream,
    /// The peer's address, e.g. `127.0.0.1:40112` or the socket path.
    pub peer_addr: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("peer_addr", &self.peer_addr)
            .finish_non_exhaustive()
    }
}

/// Per-connect settings a transport honours.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// ZMQ_CONNECT_TIMEOUT; `None` leaves it to the OS.
    pub timeout: Option<Duration>,
}

/// A transport for one endpoint scheme on one runtime.
#[async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug + 'static {
    /// The scheme this transport serves: `"tcp"`, `"ipc"`, ...
    fn scheme(&self) -> &'static str;

    /// Starts listening. For a wildcard endpoint, the listener's
    /// [`local_endpoint`](Listener::local_endpoint) tells what was chosen.
    async fn bind(&self, endpoint: &Endpoint) -> io::Result<Box<dyn Listener>>;

    /// Opens one outgoing connection.
    async fn connect(
        &self,
        endpoint: &Endpoint,
        options: &ConnectOptions,
    ) -> io::Result<Connection>;
}

/// A bound endpoint accepting connections. Dropping it stops listening (and, for IPC, removes the
/// socket file).
#[async_trait]
pub trait Listener: Send + std::fmt::Debug + 'static {
    /// The endpoint actually bound (wildcard port resolved).
    fn local_endpoint(&self) -> Endpoint;

    /// Waits for the next incoming connection.
    async fn accept(&mut self) -> io::Result<Connection>;
}
