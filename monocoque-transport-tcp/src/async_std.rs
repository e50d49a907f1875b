//! The `tcp://` transport on async-std.
//!
//! Connections are made and accepted with async-std's types, then reach the engine as
//! `monocoque_runtime::reactor_stream::ReactorStream`s on the same reactor (async-io): those skip
//! the `recv` async-std's streams try on every poll of a quiet socket, and shut the write half
//! down on close (async-std's close only flushes), so the peer reads end-of-stream as with the
//! other runtimes.

use crate::common::{self, Target};
use async_std::net::{TcpListener, TcpStream, ToSocketAddrs};
use async_trait::async_trait;
use monocoque_core::endpoint::Endpoint;
use monocoque_core::transport::{
    BindOptions, ConnectOptions, Connection, Listener, TcpKeepalive, Transport,
};
use monocoque_runtime::reactor_stream::ReactorStream;
use std::io;
use std::net::SocketAddr;

/// The `tcp://` transport for async-std. Stateless: copy it freely.
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpTransport;

impl TcpTransport {
    /// Binds `endpoint` and returns the concrete listener.
    pub(crate) async fn bind_tcp(
        &self,
        endpoint: &Endpoint,
        backlog: Option<u32>,
    ) -> io::Result<AsyncStdTcpListener> {
        let addrs = resolve(common::bind_target(common::tcp_addr(endpoint)?)).await?;
        let inner = common::first_ok(addrs, |addr| async move {
            Ok(TcpListener::from(common::std_listener(addr, backlog)?))
        })
        .await?;
        let local = common::bound_endpoint(inner.local_addr()?);
        Ok(AsyncStdTcpListener {
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
            Some(timeout) => async_std::future::timeout(timeout, attempt)
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
            stream: Box::new(engine_stream(stream)?),
            peer_addr: peer.to_string(),
        })
    }
}

/// Resolves a bind or connect target with async-std's resolver (its blocking pool).
async fn resolve(target: Target<'_>) -> io::Result<Vec<SocketAddr>> {
    match target {
        Target::Addr(addr) => Ok(vec![addr]),
        Target::Name(name, port) => Ok((name, port).to_socket_addrs().await?.collect()),
    }
}

/// A bound async-std TCP listener.
#[derive(Debug)]
pub(crate) struct AsyncStdTcpListener {
    inner: TcpListener,
    local: Endpoint,
    /// Applied to every accepted connection.
    keepalive: TcpKeepalive,
}

impl AsyncStdTcpListener {
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
impl Listener for AsyncStdTcpListener {
    fn local_endpoint(&self) -> Endpoint {
        self.local.clone()
    }

    async fn accept(&mut self) -> io::Result<Connection> {
        let (stream, peer) = self.accept_tcp().await?;
        Ok(Connection {
            stream: Box::new(engine_stream(stream)?),
            peer_addr: peer.to_string(),
        })
    }
}

/// The stream handed to the engine: the socket taken out of async-std's wrapper and registered
/// with the same reactor as a [`ReactorStream`] (async-std's streams try a `recv` on every
/// poll of a quiet socket, and their close does not shut the write half down).
fn engine_stream(stream: TcpStream) -> io::Result<ReactorStream<std::net::TcpStream>> {
    ReactorStream::register(std::net::TcpStream::try_from(stream)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[async_std::test]
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
