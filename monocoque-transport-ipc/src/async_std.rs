//! The `ipc://` transport on async-std.
//!
//! Filesystem paths use async-std's Unix sockets. Abstract names are bound and connected with
//! std, then registered with async-io (the reactor async-std runs on) through its fallible
//! `Async::new`, rather than async-std's `From<std::os::unix::net::*>`, which panics when the
//! registration fails. Either way the streams implement the `futures-io` traits, but their
//! `poll_close` only flushes: connections are boxed in a thin wrapper whose `poll_close` also
//! shuts the write half down, so the peer reads end-of-stream as with the other runtimes.

use crate::common::{self, SocketFile};
use async_io::Async;
use async_std::os::unix::net::{UnixListener, UnixStream};
use async_trait::async_trait;
use futures::io::{AsyncRead, AsyncWrite};
use monocoque_core::endpoint::{Endpoint, IpcAddr};
use monocoque_core::transport::{BoxStream, ConnectOptions, Connection, Listener, Transport};
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::unix::net as std_net;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The `ipc://` transport for async-std. Stateless: copy it freely.
#[derive(Debug, Clone, Copy, Default)]
pub struct IpcTransport;

impl IpcTransport {
    /// Binds `endpoint` and returns the concrete listener.
    pub(crate) async fn bind_ipc(&self, endpoint: &Endpoint) -> io::Result<AsyncStdIpcListener> {
        match common::ipc_addr(endpoint)? {
            IpcAddr::Path(path) => {
                common::clear_stale_socket(path, || async {
                    UnixStream::connect(path).await.map(drop)
                })
                .await?;
                let inner = UnixListener::bind(path).await?;
                let file = SocketFile::claim(path)?;
                Ok(AsyncStdIpcListener {
                    inner: Inner::Path(inner),
                    local: endpoint.clone(),
                    _file: Some(file),
                })
            }
            IpcAddr::Abstract(name) => Ok(AsyncStdIpcListener {
                inner: Inner::Abstract(Async::new(common::abstract_listener(name)?)?),
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
    ) -> io::Result<BoxStream> {
        let addr = common::ipc_addr(endpoint)?;
        let attempt = async {
            Ok::<BoxStream, io::Error>(match addr {
                IpcAddr::Path(path) => Box::new(ClosingStream(UnixStream::connect(path).await?)),
                IpcAddr::Abstract(name) => {
                    let name = name.clone();
                    let stream =
                        async_std::task::spawn_blocking(move || common::abstract_connect(&name))
                            .await?;
                    Box::new(ClosingStream(Async::new(stream)?))
                }
            })
        };
        match options.timeout {
            None => attempt.await,
            Some(timeout) => async_std::future::timeout(timeout, attempt)
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
            stream,
            peer_addr: common::endpoint_name(common::ipc_addr(endpoint)?),
        })
    }
}

/// The listening socket: async-std's for a path, async-io's for an abstract name.
#[derive(Debug)]
enum Inner {
    Path(UnixListener),
    Abstract(Async<std_net::UnixListener>),
}

/// A bound async-std Unix listener; dropping it removes its socket file.
#[derive(Debug)]
pub(crate) struct AsyncStdIpcListener {
    inner: Inner,
    local: Endpoint,
    /// Dropped after `inner`: the socket closes, then its file goes.
    _file: Option<SocketFile>,
}

#[async_trait]
impl Listener for AsyncStdIpcListener {
    fn local_endpoint(&self) -> Endpoint {
        self.local.clone()
    }

    async fn accept(&mut self) -> io::Result<Connection> {
        let (stream, peer): (BoxStream, _) = match &self.inner {
            Inner::Path(listener) => {
                let (stream, peer) = listener.accept().await?;
                (Box::new(ClosingStream(stream)), peer)
            }
            Inner::Abstract(listener) => {
                let (stream, peer) = listener.accept().await?;
                (Box::new(ClosingStream(stream)), peer)
            }
        };
        Ok(Connection {
            stream,
            peer_addr: common::peer_name(&peer),
        })
    }
}

/// A stream whose write half can be shut down.
trait ShutdownWrite {
    /// Shuts the write half down.
    fn shutdown_write(&self) -> io::Result<()>;
}

impl ShutdownWrite for UnixStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl ShutdownWrite for Async<std_net::UnixStream> {
    fn shutdown_write(&self) -> io::Result<()> {
        self.get_ref().shutdown(Shutdown::Write)
    }
}

/// A stream whose `poll_close` flushes and then shuts the write half down.
#[derive(Debug)]
struct ClosingStream<S>(S);

impl<S: AsyncRead + Unpin> AsyncRead for ClosingStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read_vectored(cx, bufs)
    }
}

impl<S: AsyncWrite + ShutdownWrite + Unpin> AsyncWrite for ClosingStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures::ready!(Pin::new(&mut self.0).poll_flush(cx))?;
        Poll::Ready(self.0.shutdown_write())
    }
}
