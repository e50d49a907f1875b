//! What every socket has, whatever its type: options, endpoints (bind, connect, unbind,
//! disconnect), the peer table, the monitor, and the close that waits for LINGER.

use super::connection::{ConnParams, Lifeline, MechanismConfig, accept_loop, connect_loop};
use super::inproc::Connector;
use super::peers::{EndpointKey, Peers};
use crate::context::Context;
use crate::link::queue;
use crate::link::{Inbound, Shutdown, Stop};
use crate::monitor::{Emitter, Monitor, SocketEvent};
use monocoque_core::endpoint::ToEndpoint;
use monocoque_core::runtime::timeout;
use monocoque_core::transport::{BindOptions, Transport};
use monocoque_core::{Endpoint, Error, Result, SocketOption, SocketOptions, SocketType};
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Extra time `close` allows beyond LINGER for tasks to notice and exit.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, PartialEq, Eq)]
enum EndpointKind {
    Bound,
    Connected,
}

#[derive(Debug)]
struct EndpointEntry {
    key: EndpointKey,
    kind: EndpointKind,
    /// As the user wrote it.
    requested: Endpoint,
    /// As bound (wildcard port resolved); same as `requested` for connects.
    actual: Endpoint,
    /// Stops the endpoint's tasks and connections.
    shutdown: Shutdown,
    /// What its connections are made with (an inproc binder holds only a weak reference).
    _params: Arc<ConnParams>,
}

/// The part of a socket every type shares.
#[derive(Debug)]
pub(crate) struct SocketBase {
    ctx: Context,
    options: SocketOptions,
    peers: Arc<Peers>,
    emitter: Emitter,
    /// The root of the socket's shutdown tree: every endpoint is a child.
    root: Shutdown,
    /// The socket's own hold on its lifeline (`None` once closed).
    lifeline: Option<Arc<Lifeline>>,
    /// Triggered when the lifeline is gone: every task has ended.
    done: Shutdown,
    endpoints: Vec<EndpointEntry>,
    next_key: EndpointKey,
}

impl SocketBase {
    pub fn new(ctx: &Context, socket_type: SocketType) -> Self {
        let emitter = Emitter::default();
        let done = Shutdown::new();
        let lifeline = Lifeline {
            done: done.clone(),
            emitter: emitter.clone(),
        };
        Self {
            ctx: ctx.clone(),
            options: SocketOptions::default(),
            peers: Peers::new(socket_type),
            emitter,
            root: Shutdown::new(),
            lifeline: Some(Arc::new(lifeline)),
            done,
            endpoints: Vec::new(),
            next_key: 1,
        }
    }

    pub fn socket_type(&self) -> SocketType {
        self.peers.socket_type()
    }

    pub fn options(&self) -> &SocketOptions {
        &self.options
    }

    pub fn set_option(&mut self, option: SocketOption) -> Result<()> {
        self.options.set(option)
    }

    pub fn peers(&self) -> &Arc<Peers> {
        &self.peers
    }

    pub fn context(&self) -> &Context {
        &self.ctx
    }

    pub fn monitor(&self) -> Monitor {
        self.emitter.monitor()
    }

    /// Whether this socket type sends (each peer then has an outbound queue).
    fn sends(&self) -> bool {
        self.socket_type() != SocketType::Pull
    }

    /// What the connections of a new endpoint are made with; `inbound` is the socket's
    /// inbound queue (none for a type that never receives).
    fn params(&self, inbound: Option<queue::Sender<Inbound>>) -> Result<Arc<ConnParams>> {
        let lifeline = self.lifeline.clone().ok_or(Error::Closed)?;
        Ok(Arc::new(ConnParams {
            peers: self.peers.clone(),
            runtime: self.ctx.runtime().clone(),
            options: self.options.clone(),
            mechanism: MechanismConfig::new(&self.options.security)?,
            zap: Some(
                self.ctx
                    .zap_handler(self.options.security.zap_enforce_domain),
            ),
            inbound,
            emitter: self.emitter.clone(),
            sends: self.sends(),
            _lifeline: lifeline,
        }))
    }

    fn transport_for(&self, endpoint: &Endpoint) -> Result<Arc<dyn Transport>> {
        self.ctx
            .transport(endpoint.scheme())
            .cloned()
            .ok_or(Error::UnsupportedTransport(endpoint.scheme()))
    }

    fn new_key(&mut self) -> EndpointKey {
        let key = self.next_key;
        self.next_key += 1;
        self.peers.open_origin(key);
        key
    }

    /// Listens on `endpoint`; returns the endpoint actually bound.
    pub async fn bind(
        &mut self,
        endpoint: impl ToEndpoint,
        inbound: Option<queue::Sender<Inbound>>,
    ) -> Result<Endpoint> {
        let requested = endpoint.to_endpoint()?;
        let params = self.params(inbound)?;
        let shutdown = self.root.child();
        if let Endpoint::Inproc(name) = &requested {
            let key = self.new_key();
            let bound = self.ctx.inproc().bind(name, &params, key, shutdown.clone());
            if let Err(e) = bound {
                self.peers.close_origin(key);
                self.emitter.emit(|| SocketEvent::BindFailed {
                    endpoint: requested.clone(),
                    error: Arc::new(io::Error::new(io::ErrorKind::AddrInUse, e.to_string())),
                });
                return Err(e);
            }
            self.push_endpoint(
                key,
                EndpointKind::Bound,
                requested.clone(),
                requested.clone(),
                shutdown,
                params,
            );
            return Ok(requested);
        }
        let transport = self.transport_for(&requested)?;
        let bind_options = BindOptions {
            keepalive: self.options.tcp_keepalive,
            backlog: Some(self.options.backlog),
        };
        let listener = match transport.bind_with(&requested, &bind_options).await {
            Ok(listener) => listener,
            Err(error) => {
                let error = Arc::new(error);
                self.emitter.emit(|| SocketEvent::BindFailed {
                    endpoint: requested.clone(),
                    error: error.clone(),
                });
                return Err(Error::Io(error));
            }
        };
        let actual = listener.local_endpoint();
        let key = self.new_key();
        self.emitter.emit(|| SocketEvent::Listening {
            endpoint: actual.clone(),
        });
        let task = accept_loop(
            listener,
            params.clone(),
            key,
            actual.clone(),
            shutdown.clone(),
        );
        self.ctx.runtime().spawn(Box::pin(task));
        self.push_endpoint(
            key,
            EndpointKind::Bound,
            requested,
            actual.clone(),
            shutdown,
            params,
        );
        Ok(actual)
    }

    /// Connects to `endpoint` in the background.
    pub fn connect(
        &mut self,
        endpoint: impl ToEndpoint,
        inbound: Option<queue::Sender<Inbound>>,
    ) -> Result<()> {
        let requested = endpoint.to_endpoint()?;
        requested.check_connectable()?;
        let transport = match &requested {
            Endpoint::Inproc(_) => None,
            _ if requested.is_wildcard() => {
                return Err(Error::InvalidState("cannot connect to a wildcard port"));
            }
            _ => Some(self.transport_for(&requested)?),
        };
        let params = self.params(inbound)?;
        let key = self.new_key();
        // The peer's queue exists from now on, as libzmq's pipe does: messages wait in it
        // until the connection is up.
        let (tx, outbound) = params.peer_queue();
        let peer = self.peers.add_connecting(key, tx);
        let shutdown = self.root.child();
        match (transport, &requested) {
            (Some(transport), _) => {
                let task = connect_loop(
                    transport,
                    params.clone(),
                    peer,
                    key,
                    requested.clone(),
                    outbound,
                    shutdown.clone(),
                );
                self.ctx.runtime().spawn(Box::pin(task));
            }
            (None, Endpoint::Inproc(name)) => {
                let connector = Connector {
                    params: Arc::downgrade(&params),
                    peer,
                    origin: key,
                    outbound,
                    shutdown: shutdown.clone(),
                };
                self.ctx.inproc().connect(name, connector);
            }
            (None, _) => unreachable!("only inproc has no transport"),
        }
        self.push_endpoint(
            key,
            EndpointKind::Connected,
            requested.clone(),
            requested,
            shutdown,
            params,
        );
        Ok(())
    }

    fn push_endpoint(
        &mut self,
        key: EndpointKey,
        kind: EndpointKind,
        requested: Endpoint,
        actual: Endpoint,
        shutdown: Shutdown,
        params: Arc<ConnParams>,
    ) {
        self.endpoints.push(EndpointEntry {
            key,
            kind,
            requested,
            actual,
            shutdown,
            _params: params,
        });
    }

    /// Stops one bound (`kind` Bound) or connected endpoint, written as bound or as requested.
    fn remove_endpoint(&mut self, endpoint: impl ToEndpoint, kind: EndpointKind) -> Result<()> {
        let endpoint = endpoint.to_endpoint()?;
        let position = self
            .endpoints
            .iter()
            .position(|e| e.kind == kind && (e.actual == endpoint || e.requested == endpoint));
        let entry = position
            .map(|i| self.endpoints.remove(i))
            .ok_or_else(|| Error::UnknownEndpoint(endpoint.to_string()))?;
        self.peers.close_origin(entry.key);
        entry.shutdown.trigger(Stop::Close);
        Ok(())
    }

    /// Stops listening on a bound endpoint and closes the connections accepted through it.
    pub fn unbind(&mut self, endpoint: impl ToEndpoint) -> Result<()> {
        self.remove_endpoint(endpoint, EndpointKind::Bound)
    }

    /// Stops connecting to `endpoint` and closes its connection.
    pub fn disconnect(&mut self, endpoint: impl ToEndpoint) -> Result<()> {
        self.remove_endpoint(endpoint, EndpointKind::Connected)
    }

    /// Stops every endpoint and connection (they write what is queued, within LINGER).
    fn shut_down(&mut self) {
        for entry in self.endpoints.drain(..) {
            self.peers.close_origin(entry.key);
        }
        self.root.trigger(Stop::Close);
        self.lifeline = None;
    }

    /// Waits, for at most LINGER (plus a little), until every task of the socket has ended:
    /// queued messages are written by then. Call after the socket's queues were let go of.
    pub async fn close(mut self) {
        self.shut_down();
        let limit = self.options.linger.map(|l| l + CLOSE_GRACE);
        let runtime = self.ctx.runtime().clone();
        let done = self.done.clone();
        drop(self);
        let _ = timeout(&*runtime, limit, done.wait()).await;
    }
}

impl Drop for SocketBase {
    /// A socket dropped without `close` behaves the same, without waiting: connections keep
    /// writing what was queued, for at most LINGER, in the background.
    fn drop(&mut self) {
        self.shut_down();
    }
}
