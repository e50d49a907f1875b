//! State shared between a socket handle and its background tasks: the peer table (control plane)
//! and the wake-up the sender waits on.
//!
//! The data plane never takes the table's lock per message: the socket handle keeps a snapshot of
//! the peers' queues and refreshes it only when [`Shared::generation`] moved, which happens when a
//! peer joins or leaves.

use crate::monitor::SocketEvent;
use bytes::Bytes;
use futures::task::AtomicWaker;
use monocoque_core::{Message, SocketType};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one peer (one connection, or one connecting endpoint across its reconnects).
pub(crate) type PeerId = u64;

/// Identifies one `bind` or `connect` of a socket.
pub(crate) type EndpointKey = u64;

/// A message from a peer, tagged with who sent it.
#[derive(Debug)]
pub(crate) struct Inbound {
    /// The sender (used by ROUTER/REP-style sockets; PULL ignores it).
    #[allow(dead_code)]
    pub peer: PeerId,
    /// The message.
    pub msg: Message,
}

/// One peer's entry in the table.
#[derive(Debug)]
pub(crate) struct PeerEntry {
    pub id: PeerId,
    /// Which bound or connected endpoint of the socket this peer came through.
    pub origin: EndpointKey,
    /// The outgoing queue; `None` for sockets that never send.
    pub tx: Option<flume::Sender<Message>>,
    /// True while a connection with a completed handshake is attached.
    pub attached: bool,
    /// The peer's routing id, once known.
    #[allow(dead_code)]
    pub routing_id: Option<Bytes>,
}

/// Why [`Shared::attach`] refused a peer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AttachError {
    /// PAIR already has its one peer.
    AlreadyPaired,
}

/// The table and wake-ups shared by a socket and its tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    pub socket_type: SocketType,
    peers: Mutex<Vec<PeerEntry>>,
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
            peers: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            next_peer_id: AtomicU64::new(1),
            sender_waker: AtomicWaker::new(),
            monitor: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PeerEntry>> {
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
    pub fn add_detached(
        &self,
        id: PeerId,
        origin: EndpointKey,
        tx: Option<flume::Sender<Message>>,
    ) {
        self.lock().push(PeerEntry {
            id,
            origin,
            tx,
            attached: false,
            routing_id: None,
        });
        self.changed();
    }

    /// Marks a peer connected after its handshake, inserting it if it is new (an accepted
    /// connection). PAIR refuses a second attached peer.
    pub fn attach(
        &self,
        id: PeerId,
        origin: EndpointKey,
        tx: Option<flume::Sender<Message>>,
        routing_id: Option<Bytes>,
    ) -> Result<(), AttachError> {
        let mut peers = self.lock();
        if self.socket_type == SocketType::Pair
            && peers
                .iter()
                .any(|p| p.id != id && (p.attached || p.tx.is_some()))
        {
            return Err(AttachError::AlreadyPaired);
        }
        match peers.iter_mut().find(|p| p.id == id) {
            Some(p) => {
                p.attached = true;
                p.routing_id = routing_id;
            }
            None => peers.push(PeerEntry {
                id,
                origin,
                tx,
                attached: true,
                routing_id,
            }),
        }
        drop(peers);
        self.changed();
        Ok(())
    }

    /// A connecting endpoint lost its connection: keep its queue, mark it down.
    pub fn detach(&self, id: PeerId) {
        if let Some(p) = self.lock().iter_mut().find(|p| p.id == id) {
            p.attached = false;
        }
        self.changed();
    }

    /// Forgets a peer and drops its queue (accepted connection ended, or endpoint disconnected).
    pub fn remove(&self, id: PeerId) {
        self.lock().retain(|p| p.id != id);
        self.changed();
    }

    /// Forgets every peer that came through one endpoint (unbind or disconnect).
    pub fn remove_origin(&self, origin: EndpointKey) {
        self.lock().retain(|p| p.origin != origin);
        self.changed();
    }

    /// Forgets every peer (socket close): their queues end once drained.
    pub fn remove_all(&self) {
        self.lock().clear();
        self.changed();
    }

    /// The current outgoing queues, in join order.
    pub fn senders(&self) -> Vec<(PeerId, flume::Sender<Message>)> {
        self.lock()
            .iter()
            .filter_map(|p| p.tx.clone().map(|tx| (p.id, tx)))
            .collect()
    }

    /// Number of peers with a completed handshake.
    #[allow(dead_code)]
    pub fn attached_count(&self) -> usize {
        self.lock().iter().filter(|p| p.attached).count()
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
