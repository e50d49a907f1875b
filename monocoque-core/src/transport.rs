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

/// TCP keepalive, as libzmq's ZMQ_TCP_KEEPALIVE, _IDLE, _CNT and _INTVL set it; `None`
/// everywhere leaves the OS defaults alone (libzmq's -1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpKeepalive {
    /// SO_KEEPALIVE on or off; `None`: as the OS has it. The other three apply only when on.
    pub enabled: Option<bool>,
    /// TCP_KEEPIDLE: idle time before the first probe.
    pub idle: Option<Duration>,
    /// TCP_KEEPCNT: unanswered probes before the connection is dropped (not on Windows).
    pub count: Option<u32>,
    /// TCP_KEEPINTVL: time between probes.
    pub interval: Option<Duration>,
}

/// Per-connect settings a transport honours.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// ZMQ_CONNECT_TIMEOUT; `None` leaves it to the OS.
    pub timeout: Option<Duration>,
    /// TCP keepalive for the connection (transports without TCP ignore it).
    pub keepalive: TcpKeepalive,
}

/// Per-bind settings a transport honours, for the connections it accepts.
#[derive(Debug, Clone, Default)]
pub struct BindOptions {
    /// TCP keepalive for accepted connections (transports without TCP ignore it).
    pub keepalive: TcpKeepalive,
    /// The `listen` backlog (ZMQ_BACKLOG); `None`: the transport's default.
    pub backlog: Option<u32>,
}

/// A transport for one endpoint scheme on one runtime.
#[async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug + 'static {
    /// The scheme this transport serves: `"tcp"`, `"ipc"`, ...
    fn scheme(&self) -> &'static str;

    /// Starts listening. For a wildcard endpoint, the listener's
    /// [`local_endpoint`](Listener::local_endpoint) tells what was chosen.
    async fn bind(&self, endpoint: &Endpoint) -> io::Result<Box<dyn Listener>>;

    /// Starts listening, applying `options` to the connections accepted. By default, plain
    /// [`bind`](Self::bind) (a transport with nothing to apply).
    async fn bind_with(
        &self,
        endpoint: &Endpoint,
        options: &BindOptions,
    ) -> io::Result<Box<dyn Listener>> {
        let _ = options;
        self.bind(endpoint).await
    }

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

    /// Stops listening and releases what the listener holds, saying whether that failed (for
    /// IPC: removing its socket file, which someone else may have removed already, as libzmq's
    /// `unlink` reports). The socket reports an error as ZMQ_EVENT_CLOSE_FAILED. By default,
    /// dropping the listener, which cannot fail.
    fn close(self: Box<Self>) -> io::Result<()> {
        Ok(())
    }
}
