//! State shared between a socket handle and its background tasks: the peer table (control plane)
//! and the wake-up the sender waits on.
//!
//! The data plane never takes the table's lock per message: the socket handle keeps a snapshot of
//! the peers' queues and refreshes it only when [`Shared::generation`] moved, which happens when a
//! peer joins or leaves.

use super::queue;
use crate::monitor::SocketEvent;
use bytes::Bytes;
use futures::task::AtomicWaker;
use monocoque_core::routing::RouterTable;
use monocoque_core::{Message, SocketType};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one peer (one connection, or one connecting endpoint across its reconnects).
pub(crate) type PeerId = u64;

/// Identifies one `bind` or `connect` of a socket.
pub(crate) type EndpointKey = u64;

/// What the socket hands a connection to send.
#[derive(Debug, Clone)]
pub(crate) enum Outbound {
    /// A message.
    Message(Message),
    /// Subscribe the peer (a publisher) to a topic: SUBSCRIBE, or a 3.0 subscription message.
    Subscribe(Bytes),
    /// Cancel a subscription.
    Cancel(Bytes),
}

/// The socket's end of one peer's outgoing queue.
#[derive(Debug, Clone)]
pub(crate) struct PeerTx {
    tx: queue::Sender<Outbound>,
    /// CONFLATE: a newer item replaces the stale one instead of being refused.
    conflate: bool,
}

impl PeerTx {
    /// A queue of `capacity` items (0: unbounded); with `conflate`, of one item that newer ones
    /// replace (ZMQ_CONFLATE).
    pub fn queue(capacity: usize, conflate: bool) -> (PeerTx, queue::Receiver<Outbound>) {
        let (tx, rx) = queue::queue(if conflate { 1 } else { capacity });
        (PeerTx { tx, conflate }, rx)
    }

    /// Whether an item would be refused now (a conflating queue never refuses).
    pub fn is_full(&self) -> bool {
        !self.conflate && self.tx.is_full()
    }

    /// Queues an item without waiting; a conflating queue drops its stale item to make room.
    pub fn offer(&self, item: Outbound) -> Result<(), queue::TrySendError<Outbound>> {
        if self.conflate {
            self.tx
                .send_replacing(item)
                .map_err(queue::TrySendError::Disconnected)
        } else {
            self.tx.try_send(item)
        }
    }
}

/// What a connection hands its socket.
#[derive(Debug)]
pub(crate) enum InEvent {
    /// A message.
    Message(Message),
    /// The peer (a subscriber) subscribed to a topic.
    Subscribe(Bytes),
    /// The peer cancelled a subscription.
    Cancel(Bytes),
    /// The peer's connection ended (publishers drop its subscriptions).
    Left,
}

impl InEvent {
    /// The message, if this is one.
    pub fn into_message(self) -> Option<Message> {
        match self {
            InEvent::Message(msg) => Some(msg),
            _ => None,
        }
    }
}

/// An event from a peer, tagged with who sent it.
#[derive(Debug)]
pub(crate) struct Inbound {
    /// The sender.
    pub peer: PeerId,
    /// The routing id the socket gave the peer (ROUTER only).
    pub routing_id: Option<Bytes>,
    /// What happened.
    pub event: InEvent,
}

/// One peer's entry in the table.
#[derive(Debug)]
pub(crate) struct PeerEntry {
    pub id: PeerId,
    /// Which bound or connected endpoint of the socket this peer came through.
    pub origin: EndpointKey,
    /// The outgoing queue; `None` for sockets that never send.
    pub tx: Option<PeerTx>,
    /// True while a connection with a completed handshake is attached.
    pub attached: bool,
    /// Sending on it closes the peer's connection at once (ROUTER_HANDOVER).
    evict: Option<flume::Sender<()>>,
    /// ROUTER: the routing id the peer holds while attached.
    routing_id: Option<Bytes>,
}

/// What [`Shared::attach`] gives a newly attached connection.
#[derive(Debug)]
pub(crate) struct Attached {
    /// The routing id the socket knows the peer by (ROUTER only).
    pub routing_id: Option<Bytes>,
    /// Yields an item when the socket evicts the peer (another took over its routing id).
    pub evicted: flume::Receiver<()>,
    /// SUB/XSUB: the topics to subscribe the new peer to.
    pub subscriptions: Vec<Bytes>,
}

/// Why [`Shared::attach`] refused a peer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AttachError {
    /// PAIR already has its one peer.
    AlreadyPaired,
    /// ROUTER: another peer has this routing id and ROUTER_HANDOVER is off.
    DuplicateRoutingId,
}

impl AttachError {
    /// Why, in words, for monitor events.
    pub fn reason(self) -> &'static str {
        match self {
            AttachError::AlreadyPaired => "PAIR already has a peer",
            AttachError::DuplicateRoutingId => {
                "another peer has this routing id (set ROUTER_HANDOVER to let it take over)"
            }
        }
    }
}

#[derive(Debug, Default)]
struct PeerTable {
    entries: Vec<PeerEntry>,
    /// ROUTER: routing id <-> peer.
    routes: RouterTable<PeerId>,
    /// SUB/XSUB: the topics subscribed. Kept under the same lock as `entries` so that a peer
    /// attaching and a subscription changing see each other exactly once (no lost or duplicate
    /// SUBSCRIBE).
    subscriptions: Vec<Bytes>,
}

/// The table and wake-ups shared by a socket and its tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    pub socket_type: SocketType,
    peers: Mutex<PeerTable>,
    generation: AtomicU64,
    next_peer_id: AtomicU64,
    /// Woken when a peer joins or leaves, or when a peer queue has room again.
    pub sender_waker: AtomicWaker,
    monitor: Mutex<Option<flume::Sender<SocketEvent>>>,
}

impl Shared {
    pub fn new(socket_type: SocketType) -> Self {
        Self {
            socket_type,
            peers: Mutex::new(PeerTable::default()),
            generation: AtomicU64::new(0),
            next_peer_id: AtomicU64::new(1),
            sender_waker: AtomicWaker::new(),
            monitor: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PeerTable> {
        // A panic while holding this lock cannot leave the table half-updated in a way that
        // matters more than losing the socket, so a poisoned lock is simply taken over.
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
        self.sender_waker.wake();
    }

    /// The table's version: it moves whenever a peer joins or leaves.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn next_peer_id(&self) -> PeerId {
        self.next_peer_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a peer whose queue exists before any connection (a connecting endpoint: libzmq creates
    /// the pipe at connect time, so messages queue while the link is down).
    pub fn add_detached(&self, id: PeerId, origin: EndpointKey, tx: Option<PeerTx>) {
        self.lock().entries.push(PeerEntry {
            id,
            origin,
            tx,
            attached: false,
            evict: None,
            routing_id: None,
        });
        self.changed();
    }

    /// Marks a peer connected after its handshake, inserting it if it is new (an accepted
    /// connection; `tx` is used only then). PAIR refuses a second peer; ROUTER gives the peer
    /// its routing id (the one it announced, or a generated one) and applies ROUTER_HANDOVER.
    pub fn attach(
        &self,
        id: PeerId,
        origin: EndpointKey,
        tx: Option<PeerTx>,
        announced_id: Option<Bytes>,
        handover: bool,
    ) -> Result<Attached, AttachError> {
        let mut table = self.lock();
        if self.socket_type == SocketType::Pair
            && (table.entries.iter()).any(|p| p.id != id && (p.attached || p.tx.is_some()))
        {
            return Err(AttachError::AlreadyPaired);
        }
        let routing_id = if self.socket_type == SocketType::Router {
            let routing_id = match announced_id {
                Some(announced) => announced,
                None => table.routes.generate_id(),
            };
            match table.routes.insert(routing_id.clone(), id, handover) {
                Ok(Some(old)) => {
                    // Handover: the old connection is closed and forgets its id.
                    if let Some(old) = table.entries.iter_mut().find(|p| p.id == old) {
                        old.routing_id = None;
                        if let Some(evict) = old.evict.take() {
                            let _ = evict.try_send(());
                        }
                    }
                }
                Ok(None) => {}
                Err(_) => return Err(AttachError::DuplicateRoutingId),
            }
            Some(routing_id)
        } else {
            None
        };
        let (evict_tx, evicted) = flume::bounded(1);
        match table.entries.iter_mut().find(|p| p.id == id) {
            Some(p) => {
                p.attached = true;
                p.evict = Some(evict_tx);
                p.routing_id = routing_id.clone();
            }
            None => table.entries.push(PeerEntry {
                id,
                origin,
                tx,
                attached: true,
                evict: Some(evict_tx),
                routing_id: routing_id.clone(),
            }),
        }
        let subscriptions = table.subscriptions.clone();
        drop(table);
        self.changed();
        Ok(Attached {
            routing_id,
            evicted,
            subscriptions,
        })
    }

    /// A connecting endpoint lost its connection: keep its queue, mark it down.
    pub fn detach(&self, id: PeerId) {
        let mut table = self.lock();
        table.routes.remove_peer(id);
        if let Some(p) = table.entries.iter_mut().find(|p| p.id == id) {
            p.attached = false;
            p.evict = None;
            p.routing_id = None;
        }
        drop(table);
        self.changed();
    }

    /// Forgets a peer and drops its queue (accepted connection ended, or endpoint disconnected).
    pub fn remove(&self, id: PeerId) {
        let mut table = self.lock();
        table.routes.remove_peer(id);
        table.entries.retain(|p| p.id != id);
        drop(table);
        self.changed();
    }

    /// Forgets every peer that came through one endpoint (unbind or disconnect).
    pub fn remove_origin(&self, origin: EndpointKey) {
        let mut table = self.lock();
        let PeerTable {
            entries, routes, ..
        } = &mut *table;
        entries.retain(|p| {
            let keep = p.origin != origin;
            if !keep {
                routes.remove_peer(p.id);
            }
            keep
        });
        drop(table);
        self.changed();
    }

    /// Forgets every peer (socket close): their queues end once drained.
    pub fn remove_all(&self) {
        let mut table = self.lock();
        table.entries.clear();
        table.routes = RouterTable::default();
        drop(table);
        self.changed();
    }

    /// The current outgoing queues, in join order, each with whether its peer is connected.
    pub fn senders(&self) -> Vec<(PeerId, PeerTx, bool)> {
        (self.lock().entries.iter())
            .filter_map(|p| p.tx.clone().map(|tx| (p.id, tx, p.attached)))
            .collect()
    }

    /// ROUTER: the routing ids of the attached peers.
    pub fn routes(&self) -> Vec<(Bytes, PeerId)> {
        (self.lock().entries.iter())
            .filter_map(|p| p.routing_id.clone().map(|rid| (rid, p.id)))
            .collect()
    }

    /// SUB/XSUB: replaces the topic list that peers get when they attach, and returns the peers
    /// attached now, which must be told about the change by the caller.
    pub fn set_subscriptions(&self, topics: Vec<Bytes>) -> Vec<PeerId> {
        let mut table = self.lock();
        table.subscriptions = topics;
        (table.entries.iter())
            .filter(|p| p.attached)
            .map(|p| p.id)
            .collect()
    }

    /// Starts (or replaces) the monitor channel.
    pub fn set_monitor(&self, tx: flume::Sender<SocketEvent>) {
        *self.monitor.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
    }

    /// Reports an event, built only if a monitor is listening. A full monitor drops it, so a
    /// forgotten monitor never holds up the socket.
    pub fn emit(&self, event: impl FnOnce() -> SocketEvent) {
        let guard = self.monitor.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = guard.as_ref() {
            let _ = tx.try_send(event());
        }
    }
}
