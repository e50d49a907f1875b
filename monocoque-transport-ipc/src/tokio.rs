//! The `ipc://` transport on tokio.
//!
//! Needs a tokio runtime with I/O and time enabled (`Builder::enable_all`). Tokio streams
//! implement tokio's I/O traits, so connections are wrapped in [`TokioUnixStream`], which
//! implements the `futures-io` traits the engine uses.

use crate::common::{self, SocketFile};
use async_trait::async_trait;
use futures::io::{AsyncRead, AsyncWrite};
use monocoque_core::endpoint::{Endpoint, IpcAddr};
use monocoque_core::transport::{ConnectOptions, Connection, Listener, Transport};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead as TokioAsyncRead, AsyncWrite as TokioAsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};

/// The `ipc://` transport for tokio. Stateless: copy it freely.
#[derive(Debug, Clone, Copy, Default)]
pub struct IpcTransport;

impl IpcTransport {
    /// Binds `endpoint` and returns the concrete listener.
    pub(crate) async fn bind_ipc(&self, endpoint: &Endpoint) -> io::Result<TokioIpcListener> {
        match common::ipc_addr(endpoint)? {
            IpcAddr::Path(requested) => {
                // `ipc://*`: a fresh path, reported as the bound endpoint.
                let (path, dir) = common::bind_target(requested)?;
                let path = path.as_path();
                common::clear_stale_socket(path, || async {
                    UnixStream::connect(path).await.map(drop)
                })
                .await?;
                let inner = UnixListener::bind(path)?;
                let file = SocketFile::claim(path, dir)?;
                Ok(TokioIpcListener {
                    inner,
                    local: Endpoint::Ipc(IpcAddr::Path(path.to_owned())),
                    _file: Some(file),
                })
            }
            IpcAddr::Abstract(name) => Ok(TokioIpcListener {
                inner: UnixListener::from_std(common::abstract_listener(name)?)?,
                local: endpoint.clone(),
                _file: None,
            }),
        }
    }

    /// Connects to `endpoint`, honouring the timeout.
    pub(crate) async fn connect_ipc(
        &self,
        endpoint: &Endpoint,
        options: &ConnectOptions,
    ) -> io::Result<UnixStream> {
        let addr = common::ipc_addr(endpoint)?;
        let attempt = async {
            match addr {
                IpcAddr::Path(path) => UnixStream::connect(path).await,
                IpcAddr::Abstract(name) => {
                    let name = name.clone();
                    let stream =
                        tokio::task::spawn_blocking(move || common::abstract_connect(&name))
                            .await
                            .map_err(common::blocking_task_failed)??;
                    UnixStream::from_std(stream)
                }
            }
        };
        match options.timeout {
            None => attempt.await,
            Some(timeout) => tokio::time::timeout(timeout, attempt)
                .await
                .map_err(|_| common::timed_out(endpoint, timeout))?,
        }
    }
}

#[async_trait]
impl Transport for IpcTransport {
    fn scheme(&self) -> &'static str {
        common::SCHEME
    }

    async fn bind(&self, endpoint: &Endpoint) -> io::Result<Box<dyn Listener>> {
        Ok(Box::new(self.bind_ipc(endpoint).await?))
    }

    async fn connect(
        &self,
        endpoint: &Endpoint,
        options: &ConnectOptions,
    ) -> io::Result<Connection> {
        let stream = self.connect_ipc(endpoint, options).await?;
        Ok(Connection {
            stream: Box::new(TokioUnixStream::new(stream)),
            peer_addr: common::endpoint_name(common::ipc_addr(endpoint)?),
        })
    }
}

/// A bound tokio Unix listener; dropping it removes its socket file.
#[derive(Debug)]
pub(crate) struct TokioIpcListener {
    inner: UnixListener,
    local: Endpoint,
    /// Dropped after `inner`: the socket closes, then its file goes.
    _file: Option<SocketFile>,
}

#[async_trait]
impl Listener for TokioIpcListener {
    fn local_endpoint(&self) -> Endpoint {
        self.local.clone()
    }

    async fn accept(&mut self) -> io::Result<Connection> {
        let (stream, peer) = self.inner.accept().await?;
        Ok(Connection {
            stream: Box::new(TokioUnixStream::new(stream)),
            peer_addr: common::peer_name(&peer.into()),
        })
    }

    fn close(self: Box<Self>) -> io::Result<()> {
        let Self { inner, _file, .. } = *self;
        // The socket closes, then its file goes.
        drop(inner);
        _file.map_or(Ok(()), SocketFile::remove)
    }
}

/// A [`tokio::net::UnixStream`] with the `futures-io` [`AsyncRead`] and [`AsyncWrite`] traits.
///
/// Reads and writes go straight to tokio (vectored writes included); `poll_close` shuts the
/// write half down, so the peer reads end-of-stream.
#[derive(Debug)]
pub struct TokioUnixStream {
    inner: UnixStream,
}

impl TokioUnixStream {
    /// Wraps a tokio stream.
    #[must_use]
    pub fn new(inner: UnixStream) -> Self {
        Self { inner }
    }

    /// The wrapped stream.
    #[must_use]
    pub fn get_ref(&self) -> &UnixStream {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut UnixStream {
        &mut self.inner
    }

    /// Unwraps the tokio stream.
    #[must_use]
    pub fn into_inner(self) -> UnixStream {
        self.inner
    }
}

impl From<UnixStream> for TokioUnixStream {
    fn from(inner: UnixStream) -> Self {
        Self::new(inner)
    }
}

impl AsyncRead for TokioUnixStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = ReadBuf::new(buf);
        match Pin::new(&mut self.inner).poll_read(cx, &mut read_buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read_buf.filled().len())),
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for TokioUnixStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
