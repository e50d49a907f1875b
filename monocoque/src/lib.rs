//! # monocoque
//!
//! A pure-Rust ZeroMQ: the ZMTP 3.1 wire protocol, talking byte for byte to libzmq peers, on the
//! async runtime you already use. This crate is a thin facade over `monocoque-core`,
//! `monocoque-zmtp` and the transport crates: it re-exports the common types and builds a
//! [`Context`] with `tcp://` and `ipc://` for each runtime feature (`tokio`, `async-std`, `smol`).
//!
//! ```no_run
//! # async fn demo() -> monocoque::Result<()> {
//! use monocoque::{Message, PullSocket, PushSocket};
//!
//! let ctx = monocoque::tokio::context();
//! let mut pull = PullSocket::new(&ctx);
//! let endpoint = pull.bind("tcp://127.0.0.1:*").await?;
//!
//! let mut push = PushSocket::new(&ctx);
//! push.connect(&endpoint).await?;
//! push.send(Message::builder().frame("hello").frame("world").build()).await?;
//!
//! let msg = pull.recv().await?;
//! assert_eq!(msg.frames(), ["hello", "world"]);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub use monocoque_core::endpoint::ToEndpoint;
pub use monocoque_core::options::reconnect_stop;
pub use monocoque_core::transport::Transport;
pub use monocoque_core::{
    CurvePublicKey, CurveSecretKey, Endpoint, EndpointError, Error, KeyError, MechanismKind,
    Message, MessageBuilder, Metadata, Password, Result, Security, SendError, SocketOption,
    SocketOptions, SocketType, metadata, z85,
};
pub use monocoque_runtime::{self as runtime, Runtime, RuntimeHandle};
pub use monocoque_zmtp::proto::ZmtpError;
pub use monocoque_zmtp::socket::{
    self, FairQueued, Kind, RecvHalf, RoundRobin, SendFuture, SendHalf, Socket, Splittable,
};
pub use monocoque_zmtp::{
    Authenticator, ConnectionError, Context, DealerSocket, HandshakeFailure, KeyPair, Monitor,
    PairSocket, ProxyCommand, ProxySocket, ProxyStatistics, PubSocket, PullSocket, PushSocket,
    RepSocket, ReqSocket, RouterSocket, SocketEvent, SubSocket, XPubSocket, XSubSocket, ZapHandler,
    ZapReply, ZapRequest, ZapStatus, proxy, proxy_steerable, proxy_with_capture,
};
pub use monocoque_zmtp::{keys, monitor, zap};

/// Contexts on tokio.
#[cfg(feature = "tokio")]
pub mod tokio {
    use super::Context;
    use monocoque_runtime::TokioRuntime;
    use std::sync::Arc;

    /// A [`Context`] on the tokio runtime the caller runs on, with `tcp://` and `ipc://`.
    ///
    /// # Panics
    /// When called outside a tokio runtime; use [`context_on`] with a handle there.
    #[must_use]
    pub fn context() -> Context {
        let handle = ::tokio::runtime::Handle::try_current()
            .expect("monocoque::tokio::context() must be called inside a tokio runtime");
        context_on(handle)
    }

    /// A [`Context`] on the given tokio runtime, with `tcp://` and `ipc://`.
    #[must_use]
    pub fn context_on(handle: ::tokio::runtime::Handle) -> Context {
        Context::new(Arc::new(TokioRuntime::from_handle(handle)))
            .with_transport(monocoque_transport_tcp::tokio::TcpTransport)
            .with_transport(monocoque_transport_ipc::tokio::IpcTransport)
    }
}

/// Contexts on async-std.
#[cfg(feature = "async-std")]
pub mod async_std {
    use super::Context;
    use monocoque_runtime::AsyncStdRuntime;
    use std::sync::Arc;

    /// A [`Context`] on async-std's executor, with `tcp://` and `ipc://`.
    #[must_use]
    pub fn context() -> Context {
        Context::new(Arc::new(AsyncStdRuntime))
            .with_transport(monocoque_transport_tcp::async_std::TcpTransport)
            .with_transport(monocoque_transport_ipc::async_std::IpcTransport)
    }
}

/// Contexts on smol.
#[cfg(feature = "smol")]
pub mod smol {
    use super::Context;
    use monocoque_runtime::SmolRuntime;
    use std::sync::Arc;

    /// A [`Context`] on smol's global executor, with `tcp://` and `ipc://`.
    #[must_use]
    pub fn context() -> Context {
        with_runtime(SmolRuntime::global())
    }

    /// A [`Context`] whose connections run on `executor`, with `tcp://` and `ipc://`. Running
    /// that executor on the application's thread (`smol::block_on(executor.run(main))`) keeps
    /// sockets and their connections on one thread: no hand-over between threads per message,
    /// which raises small-message throughput and lowers round-trip latency compared with the
    /// global executor's separate thread (see the README's Performance section).
    #[must_use]
    pub fn context_on(executor: Arc<::smol::Executor<'static>>) -> Context {
        with_runtime(SmolRuntime::on(executor))
    }

    fn with_runtime(runtime: SmolRuntime) -> Context {
        Context::new(Arc::new(runtime))
            .with_transport(monocoque_transport_tcp::smol::TcpTransport)
            .with_transport(monocoque_transport_ipc::smol::IpcTransport)
    }
}
