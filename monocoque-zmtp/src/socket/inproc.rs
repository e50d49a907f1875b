//! `inproc://`: connections between sockets of one [`Context`](crate::Context), passing messages
//! by value (no ZMTP encoding, no byte stream).
//!
//! The context keeps a registry of bound names. A connect to a bound name is joined at once; a
//! connect to a name nobody has bound yet waits in the registry and is joined when the bind comes
//! (libzmq allows either order too). Joining attaches each socket as the other's peer, exactly
//! as a finished ZMTP handshake would, and starts one forwarding task per direction that moves
//! the items of one socket's queue for the peer into the other socket's inbound queue.

use super::connection::ConnParams;
use super::peers::{Attach, Attached, EndpointKey, PeerTx};
use crate::error::ConnectionError;
use crate::link::queue;
use crate::link::{Inbound, Outbound, PeerId, Shutdown, Stop};
use crate::monitor::SocketEvent;
use crate::proto::ZmtpError;
use bytes::Bytes;
use futures::future::{Either, select};
use hashbrown::HashMap;
use monocoque_core::{Endpoint, Message, Result, SocketType};
use std::sync::{Arc, Mutex, Weak};

/// The inproc names of one context.
#[derive(Debug, Default)]
pub(crate) struct InprocRegistry {
    names: Mutex<HashMap<String, NameState>>,
}

#[derive(Debug)]
enum NameState {
    Bound(Binder),
    /// Connects waiting for a bind.
    Waiting(Vec<Connector>),
}

/// A bound name: what a connector needs to make the binder's side of a new connection.
#[derive(Debug)]
struct Binder {
    params: Weak<ConnParams>,
    origin: EndpointKey,
    /// The bound endpoint's signal.
    shutdown: Shutdown,
}

/// A connect (its socket's side, made at `connect` time, queue included).
#[derive(Debug)]
pub(crate) struct Connector {
    pub params: Weak<ConnParams>,
    pub peer: PeerId,
    pub origin: EndpointKey,
    pub outbound: Option<queue::Receiver<Outbound>>,
    /// The connecting endpoint's signal.
    pub shutdown: Shutdown,
}

/// One side of a connection about to be joined.
struct Side {
    params: Arc<ConnParams>,
    /// This socket's id for the other socket.
    peer: PeerId,
    origin: EndpointKey,
    /// The queue to create the peer entry with (binder side only: a connector's exists).
    tx: Option<PeerTx>,
    outbound: Option<queue::Receiver<Outbound>>,
    /// This side's connection signal (below its endpoint's).
    conn: Shutdown,
}

impl Binder {
    /// Still bound: the socket has not unbound the name nor gone away.
    fn is_live(&self) -> bool {
        self.shutdown.stopped().is_none() && self.params.strong_count() > 0
    }

    /// The binder's side of a new connection; `None` if the binder went away.
    fn new_side(&self) -> Option<Side> {
        let params = self.params.upgrade()?;
        let (tx, outbound) = params.peer_queue();
        Some(Side {
            peer: params.peers.next_id(),
            params,
            origin: self.origin,
            tx,
            outbound,
            conn: self.shutdown.child(),
        })
    }
}

impl Connector {
    /// The connector's side; `None` if its socket went away or disconnected meanwhile.
    fn into_side(self) -> Option<Side> {
        if self.shutdown.stopped().is_some() {
            return None;
        }
        Some(Side {
            params: self.params.upgrade()?,
            peer: self.peer,
            origin: self.origin,
            tx: None,
            outbound: self.outbound,
            conn: self.shutdown.child(),
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
        params: &Arc<ConnParams>,
        origin: EndpointKey,
        shutdown: Shutdown,
    ) -> Result<()> {
        let binder = Binder {
            params: Arc::downgrade(params),
            origin,
            shutdown,
        };
        let mut names = self.names();
        if let Some(NameState::Bound(b)) = names.get(name) {
            if b.is_live() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    format!("inproc://{name} is already bound"),
                )
                .into());
            }
        }
        let waiting = match names.insert(name.to_owned(), NameState::Bound(binder)) {
            Some(NameState::Waiting(connectors)) => connectors,
            _ => Vec::new(),
        };
        let Some(NameState::Bound(binder)) = names.get(name) else {
            unreachable!("inserted above");
        };
        let pairs: Vec<(Side, Side)> = (waiting.into_iter())
            .filter_map(|c| Some((c.into_side()?, binder.new_side()?)))
            .collect();
        drop(names);
        for (connector, bound) in pairs {
            join(name, connector, bound);
        }
        Ok(())
    }

    /// Whether a live socket has bound `name`.
    pub fn is_bound(&self, name: &str) -> bool {
        matches!(self.names().get(name), Some(NameState::Bound(b)) if b.is_live())
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
    let (a_type, b_type) = (a.params.peers.socket_type(), b.params.peers.socket_type());
    let refuse = |side: &Side, error: ConnectionError| {
        side.params.emitter.emit(|| SocketEvent::HandshakeFailed {
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
                    ours: side.params.peers.socket_type(),
                    theirs: other.as_str().to_owned(),
                }),
            );
        }
        return;
    }
    let attach = |side: &Side, announced_id: Option<Bytes>| {
        (side.params.peers)
            .attach(Attach {
                peer: side.peer,
                origin: side.origin,
                tx: side.tx.clone(),
                announced_id,
                handover: side.params.options.router_handover,
                conn: side.conn.clone(),
            })
            .map_err(|e| ConnectionError::Rejected(e.reason()))
    };
    let a_attached = match attach(&a, b.params.options.routing_id.clone()) {
        Ok(attached) => attached,
        Err(error) => return refuse(&a, error),
    };
    let b_attached = match attach(&b, a.params.options.routing_id.clone()) {
        Ok(attached) => attached,
        Err(error) => {
            a.params.peers.remove(a.peer);
            return refuse(&b, error);
        }
    };
    for (side, other) in [(&a, b_type), (&b, a_type)] {
        side.params
            .emitter
            .emit(|| SocketEvent::HandshakeSucceeded {
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
    from: Arc<ConnParams>,
    queue: Option<queue::Receiver<Outbound>>,
    /// What `from` sends first: probe, welcome message, subscriptions.
    greeting: Vec<Outbound>,
    to: Arc<ConnParams>,
    /// `to`'s id for `from`.
    to_peer: PeerId,
    /// The routing id `to` gave `from` (ROUTER), put in front of every message.
    prefix: Option<Bytes>,
    /// The two sides' connection signals: stopping either ends both directions.
    from_conn: Shutdown,
    to_conn: Shutdown,
    /// This task's own nodes below them (one waiter per node).
    from_stop: Shutdown,
    to_stop: Shutdown,
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
        match from.params.peers.socket_type() {
            SocketType::Router | SocketType::Dealer if options.probe_router => {
                greeting.push(Outbound::Message(Message::single(Bytes::new())));
            }
            SocketType::XPub => {
                if let Some(welcome) = &options.xpub_welcome_msg {
                    greeting.push(Outbound::Message(Message::single(welcome.clone())));
                }
            }
            SocketType::Sub | SocketType::XSub => {
                let topics = from_attached.subscriptions.iter().cloned();
                greeting.extend(topics.map(Outbound::Subscribe));
            }
            _ => {}
        }
        Self {
            endpoint: endpoint.clone(),
            from: from.params.clone(),
            queue: from.outbound.clone(),
            greeting,
            to: to.params.clone(),
            to_peer: to.peer,
            prefix: to_attached.routing_id.clone(),
            from_conn: from.conn.clone(),
            to_conn: to.conn.clone(),
            from_stop: from.conn.child(),
            to_stop: to.conn.child(),
        }
    }

    fn wants_subscriptions(&self) -> bool {
        matches!(
            self.to.peers.socket_type(),
            SocketType::Pub | SocketType::XPub
        )
    }

    /// What an item `from` queued becomes for `to`, if anything.
    fn convert(&self, item: Outbound) -> Option<Inbound> {
        let peer = self.to_peer;
        match item {
            Outbound::Message(mut msg) => {
                if let Some(prefix) = &self.prefix {
                    msg.push_front(prefix.clone());
                }
                Some(Inbound::Message(peer, msg))
            }
            Outbound::Subscribe(topic) if self.wants_subscriptions() => {
                Some(Inbound::Subscribe(peer, topic))
            }
            Outbound::Cancel(topic) if self.wants_subscriptions() => {
                Some(Inbound::Cancel(peer, topic))
            }
            Outbound::Subscribe(_) | Outbound::Cancel(_) => None,
        }
    }

    /// Hands one item to `to`; false once `to` is gone.
    async fn deliver(&self, item: Outbound) -> bool {
        let (Some(inbound), Some(item)) = (&self.to.inbound, self.convert(item)) else {
            return true; // `to` never receives this: drop
        };
        inbound.send(item).await.is_ok()
    }

    async fn run(mut self) {
        for item in std::mem::take(&mut self.greeting) {
            if !self.deliver(item).await {
                return self.end().await;
            }
        }
        loop {
            let stop = select(
                Box::pin(self.from_stop.wait()),
                Box::pin(self.to_stop.wait()),
            );
            let next = match &self.queue {
                Some(queue) => match select(std::pin::pin!(queue.recv()), stop).await {
                    Either::Left((Some(item), _)) => Some(item),
                    // The queue ended (the socket let go) or a side was stopped.
                    Either::Left((None, _)) | Either::Right(_) => None,
                },
                None => {
                    stop.await;
                    None
                }
            };
            let Some(item) = next else { break };
            if !self.deliver(item).await {
                break;
            }
        }
        // What `from` queued before going away still goes (libzmq's linger, inproc style).
        if let Some(queue) = self.queue.take() {
            while let Ok(item) = queue.try_recv() {
                if !self.deliver(item).await {
                    break;
                }
            }
        }
        self.end().await;
    }

    /// `from` is gone for `to`: a publisher drops its subscriptions, `to` forgets the peer, and
    /// the other direction ends too.
    async fn end(self) {
        self.from_conn.trigger(Stop::Close);
        self.to_conn.trigger(Stop::Close);
        if self.wants_subscriptions() {
            if let Some(inbound) = &self.to.inbound {
                let _ = inbound.send(Inbound::Left(self.to_peer)).await;
            }
        }
        self.to.peers.remove(self.to_peer);
        self.from.emitter.emit(|| SocketEvent::Disconnected {
            endpoint: self.endpoint.clone(),
            peer_addr: "inproc".into(),
            error: None,
        });
    }
}
