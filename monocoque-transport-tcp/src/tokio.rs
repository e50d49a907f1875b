//! The `tcp://` transport on tokio.
//!
//! Needs a tokio runtime with I/O and time enabled (`Builder::enable_all`). Tokio streams
//! implement tokio's I/O traits, so connections are wrapped in [`TokioTcpStream`], which
//! implements the `futures-io` traits the engine uses.

use crate::common::{self, Target};
use async_trait::async_trait;
use futures::io::{AsyncRead, AsyncWrite};
use monocoque_core::endpoint::Endpoint;
use monocoque_core::transport::{
    BindOptions, ConnectOptions, Connection, Listener, TcpKeepalive, Transport,
};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead as TokioAsyncRead, AsyncWrite as TokioAsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The `tcp://` transport for tokio. Stateless: copy it freely.
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpTransport;

impl TcpTransport {
    /// Binds `endpoint` and returns the concrete listener.
    pub(crate) async fn bind_tcp(
        &self,
        endpoint: &Endpoint,
        backlog: Option<u32>,
    ) -> io::Result<TokioTcpListener> {
        let addrs = resolve(common::bind_target(common::tcp_addr(endpoint)?)).await?;
        let inner = common::first_ok(addrs, |addr| async move {
            TcpListener::from_std(common::std_listener(addr, backlog)?)
        })
        .await?;
        let local = common::bound_endpoint(inner.local_addr()?);
        Ok(TokioTcpListener {
            inner,
            local,
            keepalive: TcpKeepalive::default(),
        })
    }

    /// Connects to `endpoint` (honouring the timeout) and returns the stream, `TCP_NODELAY` set.
    pub(crate) async fn connect_tcp(
        &self,
        endpoint: &Endpoint,
        options: &ConnectOptions,
    ) -> io::Result<(TcpStream, SocketAddr)> {
        let target = common::connect_target(common::tcp_addr(endpoint)?)?;
        let keepalive = options.keepalive;
        let attempt = async {
            let addrs = resolve(target).await?;
            common::first_ok(addrs, |addr| async move {
                let stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                common::apply_keepalive(&stream, &keepalive)?;
                Ok((stream, addr))
            })
            .await
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
impl Transport for TcpTransport {
    fn scheme(&self) -> &'static str {
        common::SCHEME
    }

    async fn bind(&self, endpoint: &Endpoint) -> io::Result<Box<dyn Listener>> {
        Ok(Box::new(self.bind_tcp(endpoint, None).await?))
    }

    async fn bind_with(
        &self,
        endpoint: &Endpoint,
        options: &BindOptions,
    ) -> io::Result<Box<dyn Listener>> {
        let mut listener = self.bind_tcp(endpoint, options.backlog).await?;
        listener.keepalive = options.keepalive;
        Ok(Box::new(listener))
    }

    async fn connect(
        &self,
        endpoint: &Endpoint,
        options: &ConnectOptions,
    ) -> io::Result<Connection> {
        let (stream, peer) = self.connect_tcp(endpoint, options).await?;
        Ok(Connection {
            stream: Box::new(TokioTcpStream::new(stream)),
            peer_addr: peer.to_string(),
        })
    }
}

/// Resolves a bind or connect target with tokio's resolver (the blocking pool).
async fn resolve(target: Target<'_>) -> io::Result<Vec<SocketAddr>> {
    match target {
        Target::Addr(addr) => Ok(vec![addr]),
        Target::Name(name, port) => Ok(tokio::net::lookup_host((name, port)).await?.collect()),
    }
}

/// A bound tokio TCP listener.
#[derive(Debug)]
pub(crate) struct TokioTcpListener {
    inner: TcpListener,
    local: Endpoint,
    /// Applied to every accepted connection.
    keepalive: TcpKeepalive,
}

impl TokioTcpListener {
    /// Accepts the next connection whose `TCP_NODELAY` could be set.
    ///
    /// Setting the option only fails on a connection the peer already reset; such a connection
    /// is dropped and the next one awaited.
    pub(crate) async fn accept_tcp(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        loop {
            let (stream, peer) = self.inner.accept().await?;
            let tuned = stream.set_nodelay(true).is_ok()
                && common::apply_keepalive(&stream, &self.keepalive).is_ok();
            if tuned {
                return Ok((stream, peer));
            }
        }
    }
}

#[async_trait]
impl Listener for TokioTcpListener {
    fn local_endpoint(&self) -> Endpoint {
        self.local.clone()
    }

    async fn accept(&mut self) -> io::Result<Connection> {
        let (stream, peer) = self.accept_tcp().await?;
        Ok(Connection {
            stream: Box::new(TokioTcpStream::new(stream)),
            peer_addr: peer.to_string(),
        })
    }
}

/// A [`tokio::net::TcpStream`] with the `futures-io` [`AsyncRead`] and [`AsyncWrite`] traits.
///
/// Reads and writes go straight to tokio (vectored writes included); `poll_close` shuts the
/// write half down, so the peer reads end-of-stream.
#[derive(Debug)]
pub struct TokioTcpStream {
    inner: TcpStream,
}

impl TokioTcpStream {
    /// Wraps a tokio stream.
    #[must_use]
    pub fn new(inner: TcpStream) -> Self {
        Self { inner }
    }

    /// The wrapped stream.
    #[must_use]
    pub fn get_ref(&self) -> &TcpStream {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut TcpStream {
        &mut self.inner
    }

    /// Unwraps the tokio stream.
    #[must_use]
    pub fn into_inner(self) -> TcpStream {
        self.inner
    }
}

impl From<TcpStream> for TokioTcpStream {
    fn from(inner: TcpStream) -> Self {
        Self::new(inner)
    }
}

impl AsyncRead for TokioTcpStream {
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

impl AsyncWrite for TokioTcpStream {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn nodelay_on_both_sides() {
        let transport = TcpTransport;
        let mut listener = transport
            .bind_tcp(&"tcp://127.0.0.1:*".parse().unwrap(), None)
            .await
            .unwrap();
        let endpoint = listener.local_endpoint();
        let options = ConnectOptions::default();
        let (accepted, connected) = futures::join!(
            listener.accept_tcp(),
            transport.connect_tcp(&endpoint, &options)
        );
        let (accepted, _) = accepted.unwrap();
        let (connected, _) = connected.unwrap();
        assert!(
            accepted.nodelay().unwrap(),
            "accepted stream lacks TCP_NODELAY"
        );
        assert!(
            connected.nodelay().unwrap(),
            "connected stream lacks TCP_NODELAY"
        );
    }
}
