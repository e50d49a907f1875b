//! The `ipc://` transport on async-std.
//!
//! Sockets are registered with async-io, the reactor async-std runs on, through the shared
//! `reactor` module rather than async-std's own Unix types: those write only
//! the first slice of a vectored write, and their `poll_close` only flushes. Abstract names are
//! bound and connected with std, then registered through async-io's fallible `Async::new`
//! (async-std's `From<std::os::unix::net::*>` panics when the registration fails).

use crate::common::{self, SocketFile};
use crate::reactor::{self, Async};
use async_trait::async_trait;
use monocoque_core::endpoint::{Endpoint, IpcAddr};
use monocoque_core::transport::{BoxStream, ConnectOptions, Connection, Listener, Transport};
use std::io;
use std::os::unix::net as std_net;

/// The `ipc://` transport for async-std. Stateless: copy it freely.
#[derive(Debug, Clone, Copy, Default)]
pub struct IpcTransport;

impl IpcTransport {
    /// Binds `endpoint` and returns the concrete listener.
    pub(crate) async fn bind_ipc(&self, endpoint: &Endpoint) -> io::Result<AsyncStdIpcListener> {
        match common::ipc_addr(endpoint)? {
            IpcAddr::Path(requested) => {
                // `ipc://*`: a fresh path, reported as the bound endpoint.
                let (path, dir) = common::bind_target(requested)?;
                let path = path.as_path();
                common::clear_stale_socket(path, || async {
                    reactor::connect_path(path).await.map(drop)
                })
                .await?;
                let inner = reactor::bind_path(path)?;
                let file = SocketFile::claim(path, dir)?;
                Ok(AsyncStdIpcListener {
                    inner,
                    local: Endpoint::Ipc(IpcAddr::Path(path.to_owned())),
                    _file: Some(file),
                })
            }
            IpcAddr::Abstract(name) => Ok(AsyncStdIpcListener {
                inner: reactor::listener(common::abstract_listener(name)?)?,
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
            let stream = match addr {
                IpcAddr::Path(path) => reactor::connect_path(path).await?,
                IpcAddr::Abstract(name) => {
                    let name = name.clone();
                    let stream =
                        async_std::task::spawn_blocking(move || common::abstract_connect(&name))
                            .await?;
                    reactor::stream(stream)?
                }
            };
            Ok::<BoxStream, io::Error>(Box::new(stream))
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

/// A bound async-std Unix listener; dropping it removes its socket file.
#[derive(Debug)]
pub(crate) struct AsyncStdIpcListener {
    inner: Async<std_net::UnixListener>,
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
        let (stream, peer) = reactor::accept(&self.inner).await?;
        Ok(Connection {
            stream: Box::new(stream),
            peer_addr: common::peer_name(&peer),
        })
    }

    fn close(self: Box<Self>) -> io::Result<()> {
        let Self { inner, _file, .. } = *self;
        // The socket closes, then its file goes.
        drop(inner);
        _file.map_or(Ok(()), SocketFile::remove)
    }
}
