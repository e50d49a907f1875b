//! The `ipc://` transport on smol.
//!
//! Sockets are registered with async-io, smol's reactor, through the shared
//! `reactor` module rather than smol's own Unix types, which write only the
//! first slice of a vectored write. Abstract names are bound and connected with std, then
//! registered through async-io's fallible `Async::new`.

use crate::common::{self, SocketFile};
use crate::reactor::{self, Async, IpcStream};
use async_trait::async_trait;
use monocoque_core::endpoint::{Endpoint, IpcAddr};
use monocoque_core::transport::{ConnectOptions, Connection, Listener, Transport};
use std::io;
use std::os::unix::net as std_net;

/// The `ipc://` transport for smol. Stateless: copy it freely.
#[derive(Debug, Clone, Copy, Default)]
pub struct IpcTransport;

impl IpcTransport {
    /// Binds `endpoint` and returns the concrete listener.
    pub(crate) async fn bind_ipc(&self, endpoint: &Endpoint) -> io::Result<SmolIpcListener> {
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
                Ok(SmolIpcListener {
                    inner,
                    local: Endpoint::Ipc(IpcAddr::Path(path.to_owned())),
                    _file: Some(file),
                })
            }
            IpcAddr::Abstract(name) => Ok(SmolIpcListener {
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
    ) -> io::Result<IpcStream> {
        let addr = common::ipc_addr(endpoint)?;
        let attempt = async {
            match addr {
                IpcAddr::Path(path) => reactor::connect_path(path).await,
                IpcAddr::Abstract(name) => {
                    let name = name.clone();
                    let stream = smol::unblock(move || common::abstract_connect(&name)).await?;
                    reactor::stream(stream)
                }
            }
        };
        match options.timeout {
            None => attempt.await,
            Some(timeout) => {
                let expired = async {
                    smol::Timer::after(timeout).await;
                    Err(common::timed_out(endpoint, timeout))
                };
                smol::future::or(attempt, expired).await
            }
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
            stream: Box::new(stream),
            peer_addr: common::endpoint_name(common::ipc_addr(endpoint)?),
        })
    }
}

/// A bound smol Unix listener; dropping it removes its socket file.
#[derive(Debug)]
pub(crate) struct SmolIpcListener {
    inner: Async<std_net::UnixListener>,
    local: Endpoint,
    /// Dropped after `inner`: the socket closes, then its file goes.
    _file: Option<SocketFile>,
}

#[async_trait]
impl Listener for SmolIpcListener {
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
