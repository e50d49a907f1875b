//! `inproc://`: connections between sockets of one [`Context`](crate::Context), passing messages
//! by value (no ZMTP encoding, no byte stream).
//!
//! The context keeps a registry of bound names. A connect to a bound name is joined at once; a
//! connect to a name nobody has bound yet waits in the registry and is joined when the bind comes
//! (libzmq allows either order too). Joining attaches each socket as the other's peer, exactly
//! as a finished ZMTP handshake would, and starts one forwarding task per direction that moves
//! the items of one socket's queue for the peer into the other socket's inbound queue.

use super::queue;
use super::shared::{Attached, EndpointKey, InEvent, Inbound, Outbound, PeerId, PeerTx};
use super::tasks::ConnParams;
use crate::monitor::{ConnectionError, SocketEvent};
use crate::proto::ZmtpError;
use bytes::Bytes;
use futures::future::{Either, select};
use hashbrown::HashMap;
use monocoque_core::{Endpoint, Message, Result, SocketType};
use std::sync::Mutex;

/// The inproc names of one context.
#[derive(Default)]
pub(crate) struct InprocRegistry {
    names: Mutex<HashMap<String, NameState>>,
}

enum NameState {
    Bound(Box<Binder>),
    /// Connects waiting for a bind.
    Waiting(Vec<Connector>),
}

/// A bound name: what a connector needs to make the binder's side of a new connection.
struct Binder {
    params: WeakParams,
    origin: EndpointKey,
    shutdown: flume::Receiver<()>,
}

/// A connect (its socket's side, made at `connect` time, queue included).
pub(crate) struct Connector {
    pub params: WeakParams,
    pub peer: PeerId,
    pub origin: EndpointKey,
    pub outbound: Option<queue::Receiver<Outbound>>,
    pub shutdown: flume::Receiver<()>,
}

/// One side of a connection about to be joined.
struct Side {
    params: ConnParams,
    /// This socket's id for the other socket.
    peer: PeerId,
    origin: EndpointKey,
    /// The queue to create the peer entry with (binder side only: a connector's exists).
    tx: Option<PeerTx>,
    outbound: Option<queue::Receiver<Outbound>>,
    shutdown: flume::Receiver<()>,
}

impl Binder {
    /// Still bound: the socket has not unbound the name nor gone away.
    fn is_live(&self) -> bool {
        !self.shutdown.is_disconnected()
    }

    /// The binder's side of a new connection; `None` if the binder went away.
    fn new_side(&self) -> Option<Side> {
        let params = self.params.upgrade()?;
        let (tx, outbound) = params.peer_queue();
        Some(Side {
            peer: params.shared.next_peer_id(),
            params,
            origin: self.origin,
            tx,
            outbound,
            shutdown: self.shutdown.clone(),
        })
    }
}

impl Connector {
    /// The connector's side; `None` if its socket went away or disconnected meanwhile.
    fn into_side(self) -> Option<Side> {
        if self.shutdown.is_disconnected() {
            return None;
        }
        Some(Side {
            params: self.params.upgrade()?,
            peer: self.peer,
            origin: self.origin,
            tx: None,
            outbound: self.outbound,
            shutdown: self.shutdown,
        })
    }
}

impl InprocRegistry {
    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<String, NameState>> {
        self.names.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Binds `name`; joins the connects that were waiting for it.
    pub fn bind(
        &self,
        name: &str,
        params: &ConnParams,
        origin: EndpointKey,
        shutdown: flume::Receiver<()>,
    ) -> Result<()> {
        let binder = Binder {
            params: params.weak(),
            origin,
            shutdown,
        };
        let waiting = {
            let mut names = self.names();
            match names.get(name) {
                Some(NameState::Bound(b)) if b.is_live() => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::AddrInUse,
                        format!("inproc://{name} is already bound"),
                    )
                    .into());
                }
                _ => {}
            }
            match names.insert(name.to_owned(), NameState::Bound(Box::new(binder))) {
                Some(NameState::Waiting(connectors)) => connectors,
                _ => Vec::new(),
            }
        };
        let names = self.names();
        if let Some(NameState::Bound(binder)) = names.get(name) {
            let pairs: Vec<(Side, Side)> = (waiting.into_iter())
                .filter_map(|c| Some((c.into_side()?, binder.new_side()?)))
                .collect();
            drop(names);
            for (connector, bound) in pairs {
                join(name, connector, bound);
            }
        }
        Ok(())
    }

    /// Connects to `name` now if it is bound, else when it is.
    pub fn connect(&self, name: &str, connector: Connector) {
        let mut names = self.names();
        match names.get_mut(name) {
            Some(NameState::Bound(binder)) if binder.is_live() => {
                let pair = binder.new_side().zip(connector.into_side());
                drop(names);
                if let Some((bound, connecting)) = pair {
                    join(name, connecting, bound);
                }
            }
            Some(NameState::Waiting(connectors)) => connectors.push(connector),
            _ => {
                names.insert(name.to_owned(), NameState::Waiting(vec![connector]));
            }
        }
    }
}

/// Attaches each side as the other's peer and starts forwarding both ways.
fn join(name: &str, a: Side, b: Side) {
    let endpoint = Endpoint::Inproc(name.to_owned());
    let (a_type, b_type) = (a.params.shared.socket_type, b.params.shared.socket_type);
    let refuse = |side: &Side, error: ConnectionError| {
        side.params.shared.emit(|| SocketEvent::HandshakeFailed {
            endpoint: endpoint.clone(),
            peer_addr: "inproc".into(),
            error,
        });
    };
    if !a_type.is_compatible_with(b_type) {
        for (side, other) in [(&a, b_type), (&b, a_type)] {
            refuse(
                side,
                ConnectionError::Protocol(ZmtpError::IncompatibleSocketType {
                    ours: side.params.shared.socket_type,
                    theirs: other.as_str().to_owned(),
                }),
            );
        }
        return;
    }
    let attach = |side: &Side, announced: Option<Bytes>| {
        (side.params.shared)
            .attach(
                side.peer,
                side.origin,
                side.tx.clone(),
                announced,
                side.params.options.router_handover,
            )
            .map_err(|e| ConnectionError::Rejected(e.reason()))
    };
    let a_attached = match attach(&a, b.params.options.routing_id.clone()) {
        Ok(attached) => attached,
        Err(error) => return refuse(&a, error),
    };
    let b_attached = match attach(&b, a.params.options.routing_id.clone()) {
        Ok(attached) => attached,
        Err(error) => {
            a.params.shared.remove(a.peer);
            return refuse(&b, error);
        }
    };
    for (side, other) in [(&a, b_type), (&b, a_type)] {
        side.params.shared.emit(|| SocketEvent::HandshakeSucceeded {
            endpoint: endpoint.clone(),
            peer_addr: "inproc".into(),
            peer_type: other,
        });
    }
    let runtime = a.params.runtime.clone();
    let (a_to_b, b_to_a) = (
        Direction::new(&endpoint, &a, &a_attached, &b, &b_attached),
        Direction::new(&endpoint, &b, &b_attached, &a, &a_attached),
    );
    runtime.spawn(Box::pin(a_to_b.run()));
    runtime.spawn(Box::pin(b_to_a.run()));
}

/// One direction of an inproc connection: `from`'s queue for the peer into `to`'s inbound.
struct Direction {
    endpoint: Endpoint,
    from: ConnParams,
    queue: Option<queue::Receiver<Outbound>>,
    from_shutdown: flume::Receiver<()>,
    /// What `from` sends first: probe, welcome message, subscriptions.
    greeting: Vec<InEvent>,
    to: ConnParams,
    /// `to`'s id for `from`.
    to_peer: PeerId,
    /// The routing id `to` gave `from` (ROUTER).
    to_routing_id: Option<Bytes>,
    to_shutdown: flume::Receiver<()>,
}

impl Direction {
    fn new(
        endpoint: &Endpoint,
        from: &Side,
        from_attached: &Attached,
        to: &Side,
        to_attached: &Attached,
    ) -> Self {
        let options = &from.params.options;
        let mut greeting = Vec::new();
        match from.params.shared.socket_type {
            SocketType::Router | SocketType::Dealer if options.probe_router => {
                greeting.push(InEvent::Message(Message::single(Bytes::new())));
            }
            SocketType::XPub => {
                if let Some(welcome) = &options.xpub_welcome_msg {
                    greeting.push(InEvent::Message(Message::single(welcome.clone())));
                }
            }
            SocketType::Sub | SocketType::XSub => {
                let topics = from_attached.subscriptions.iter().cloned();
                greeting.extend(topics.map(InEvent::Subscribe));
            }
            _ => {}
        }
        Self {
            endpoint: endpoint.clone(),
            from: from.params.clone(),
            queue: from.outbound.clone(),
            from_shutdown: from.shutdown.clone(),
            greeting,
            to: to.params.clone(),
            to_peer: to.peer,
            to_routing_id: to_attached.routing_id.clone(),
            to_shutdown: to.shutdown.clone(),
        }
    }

    fn wants_subscriptions(&self) -> bool {
        matches!(
            self.to.shared.socket_type,
            SocketType::Pub | SocketType::XPub
        )
    }

    /// Hands one event to `to`; false once `to` is gone.
    async fn deliver(&self, event: InEvent) -> bool {
        let Some(inbound) = &self.to.inbound else {
            return true; // `to` never receives: drop
        };
        let item = Inbound {
            peer: self.to_peer,
            routing_id: self.to_routing_id.clone(),
            event,
        };
        if self.to.conflate {
            // CONFLATE: the newest message replaces the one not yet received.
            return inbound.send_replacing(item).is_ok();
        }
        inbound.send(item).await.is_ok()
    }

    fn convert(&self, item: Outbound) -> Option<InEvent> {
        match item {
            Outbound::Message(msg) => Some(InEvent::Message(msg)),
            Outbound::Subscribe(topic) if self.wants_subscriptions() => {
                Some(InEvent::Subscribe(topic))
            }
            Outbound::Cancel(topic) if self.wants_subscriptions() => Some(InEvent::Cancel(topic)),
            Outbound::Subscribe(_) | Outbound::Cancel(_) => None,
        }
    }

    async fn run(mut self) {
        for event in std::mem::take(&mut self.greeting) {
            if !self.deliver(event).await {
                return self.end().await;
            }
        }
        loop {
            let stop = select(
                self.from_shutdown.recv_async(),
                self.to_shutdown.recv_async(),
            );
            let next = match &self.queue {
                Some(queue) => match select(std::pin::pin!(queue.recv()), stop).await {
                    Either::Left((Some(item), _)) => Some(item),
                    // The queue ended (peer let go) or an endpoint was shut down.
                    Either::Left((None, _)) | Either::Right(_) => None,
                },
                None => {
                    stop.await;
                    None
                }
            };
            let Some(item) = next else { break };
            self.from.shared.sender_waker.wake();
            if let Some(event) = self.convert(item) {
                if !self.deliver(event).await {
                    break;
                }
            }
        }
        // What `from` queued before going away still goes (libzmq's linger, inproc style).
        if let Some(queue) = self.queue.take() {
            while let Ok(item) = queue.try_recv() {
                if let Some(event) = self.convert(item) {
                    if !self.deliver(event).await {
                        break;
                    }
                }
            }
        }
        self.end().await;
    }

    /// `from` is gone for `to`: a publisher drops its subscriptions, and `to` forgets the peer,
    /// which ends the other direction (its queue closes).
    async fn end(self) {
        if self.wants_subscriptions() {
            self.deliver(InEvent::Left).await;
        }
        self.to.shared.remove(self.to_peer);
        self.from.shared.emit(|| SocketEvent::Disconnected {
            endpoint: self.endpoint.clone(),
            peer_addr: "inproc".into(),
            error: None,
        });
    }
}

/// [`ConnParams`] that do not keep their socket alive (held by the registry).
pub(crate) struct WeakParams {
    params: ConnParams,
    alive: Option<flume::WeakSender<()>>,
}

impl WeakParams {
    /// The full parameters, if the socket still exists.
    fn upgrade(&self) -> Option<ConnParams> {
        let alive = self.alive.as_ref()?.upgrade()?;
        Some(ConnParams {
            _alive: Some(alive),
            ..self.params.clone()
        })
    }
}

impl ConnParams {
    /// A copy that does not hold the socket's `close` up.
    pub(crate) fn weak(&self) -> WeakParams {
        WeakParams {
            alive: self._alive.as_ref().map(flume::Sender::downgrade),
            params: ConnParams {
                _alive: None,
                ..self.clone()
            },
        }
    }
}
