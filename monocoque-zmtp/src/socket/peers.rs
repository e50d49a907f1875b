//! A socket's peers: the table it shares with its connection tasks (the control plane) and the
//! socket's own view of their outbound queues (the data plane).
//!
//! Connection tasks change the [`Peers`] table under its lock when a peer joins, completes its
//! handshake, loses its connection or leaves; every change is also appended to a change log. The
//! sending side of the socket keeps a [`PeerView`] and applies the log's new entries before it
//! next sends (one atomic load when nothing changed), so no message takes the table's lock, and
//! a peer joining or leaving costs O(1) work on each side however many peers there are.
//!
//! The table holds the socket's one routing map (a ROUTER's [`RouterTable`]): ids are given out
//! when a connection attaches, so that a duplicate is refused, or takes over, at once.

use crate::link::queue::{self, Room};
use crate::link::{Outbound, PeerId, Shutdown, Stop};
use bytes::Bytes;
use hashbrown::{HashMap, HashSet};
use monocoque_core::SocketType;
use monocoque_core::routing::{LoadBalancer, RouterTable};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Names one `bind` or `connect` of a socket.
pub(crate) type EndpointKey = u64;

/// The socket's end of one peer's outbound queue.
pub(crate) type PeerTx = queue::Sender<Outbound>;

/// One change to the table, for the socket's [`PeerView`].
#[derive(Debug)]
pub(crate) enum Change {
    /// A peer joined: its queue (none when the socket never sends) and whether its
    /// connection is up (false: a connecting endpoint whose queue exists already).
    Added(PeerId, Option<PeerTx>, bool),
    /// A connecting endpoint's connection is up.
    Attached(PeerId),
    /// A connecting endpoint's connection was lost; its queue stays.
    Detached(PeerId),
    /// A peer left; its queue goes.
    Removed(PeerId),
}

/// What [`Peers::attach`] needs to know about a connection whose handshake succeeded.
pub(crate) struct Attach {
    /// The peer: a connecting endpoint's id, or a new one for an accepted connection.
    pub peer: PeerId,
    /// The endpoint it came through.
    pub origin: EndpointKey,
    /// The outbound queue of a new peer (accepted connections only).
    pub tx: Option<PeerTx>,
    /// The routing id the peer announced (ROUTER), if any.
    pub announced_id: Option<Bytes>,
    /// ROUTER_HANDOVER: a duplicate routing id takes over instead of being refused.
    pub handover: bool,
    /// The connection's shutdown signal (to evict it).
    pub conn: Shutdown,
}

/// What [`Peers::attach`] tells the connection.
#[derive(Debug, Default)]
pub(crate) struct Attached {
    /// The routing id the socket knows the peer by (ROUTER only).
    pub routing_id: Option<Bytes>,
    /// SUB/XSUB: the topics to subscribe the new peer to.
    pub subscriptions: Vec<Bytes>,
}

/// Why [`Peers::attach`] refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttachError {
    /// PAIR already has its one peer.
    AlreadyPaired,
    /// ROUTER: another peer has this routing id and ROUTER_HANDOVER is off.
    DuplicateRoutingId,
    /// The endpoint was unbound or disconnected meanwhile (or the socket closed).
    EndpointGone,
}

impl AttachError {
    /// Why, in words, for monitor events.
    pub fn reason(self) -> &'static str {
        match self {
            AttachError::AlreadyPaired => "PAIR already has a peer",
            AttachError::DuplicateRoutingId => {
                "another peer has this routing id (set ROUTER_HANDOVER to let it take over)"
            }
            AttachError::EndpointGone => "the endpoint was closed during the handshake",
        }
    }
}

#[derive(Debug)]
struct Entry {
    origin: EndpointKey,
    /// Its connection's handshake is done and it is running.
    attached: bool,
    /// The running connection's signal (to evict it on a handover).
    conn: Option<Shutdown>,
}

#[derive(Debug, Default)]
struct Table {
    entries: HashMap<PeerId, Entry>,
    /// ROUTER: routing id <-> peer, for the attached peers.
    routes: RouterTable<PeerId>,
    /// SUB/XSUB: the topics subscribed. Kept under the same lock as `entries` so that a peer
    /// attaching and a subscription changing see each other exactly once (no lost or duplicate
    /// SUBSCRIBE).
    subscriptions: Vec<Bytes>,
    /// The bound and connected endpoints still open.
    origins: HashSet<EndpointKey>,
    /// Changes the socket's view has not applied yet.
    changes: Vec<Change>,
    /// Messages a lost connection never wrote, for the view to hand to the other peers.
    orphans: Vec<Outbound>,
}

/// A log this long (and longer than twice the peers) is compacted: a socket that seldom sends
/// (a ROUTER that mostly receives, a SUB) must not let connection churn grow it for ever.
const COMPACT_AT: usize = 64;

/// What the changes logged for one peer amount to.
enum Net {
    /// Added since the view last looked: it learns of the peer once, in its current state.
    Added(Option<PeerTx>, bool),
    /// Known to the view: its last state change.
    Known(Change),
}

impl Table {
    fn log(&mut self, change: Change) {
        self.changes.push(change);
        if self.changes.len() >= COMPACT_AT && self.changes.len() > 2 * self.entries.len() {
            self.compact();
        }
    }

    /// Replaces the log by its net effect, one change per peer, in the order the peers first
    /// appear: a peer that came and went unseen leaves nothing; a connecting endpoint that
    /// reconnected many times leaves its last state. What remains is at most one change per
    /// peer the view knows or that exists now.
    fn compact(&mut self) {
        let mut order = Vec::new();
        let mut net: HashMap<PeerId, Net> = HashMap::new();
        for change in self.changes.drain(..) {
            let peer = match &change {
                Change::Added(peer, ..)
                | Change::Attached(peer)
                | Change::Detached(peer)
                | Change::Removed(peer) => *peer,
            };
            match (net.get_mut(&peer), change) {
                (None, Change::Added(_, tx, attached)) => {
                    order.push(peer);
                    net.insert(peer, Net::Added(tx, attached));
                }
                (None, change) => {
                    order.push(peer);
                    net.insert(peer, Net::Known(change));
                }
                (Some(Net::Added(_, attached)), Change::Attached(_)) => *attached = true,
                (Some(Net::Added(_, attached)), Change::Detached(_)) => *attached = false,
                // Never seen by the view: forget it altogether.
                (Some(Net::Added(..)), Change::Removed(_)) => {
                    net.remove(&peer);
                }
                (Some(Net::Known(last)), change) => *last = change,
                // Peer ids are never reused: a second Added cannot happen.
                (Some(Net::Added(..)), Change::Added(..)) => {}
            }
        }
        for peer in order {
            match net.remove(&peer) {
                Some(Net::Added(tx, attached)) => {
                    self.changes.push(Change::Added(peer, tx, attached))
                }
                Some(Net::Known(change)) => self.changes.push(change),
                None => {}
            }
        }
    }
}

/// The peer table a socket shares with its connection tasks.
#[derive(Debug)]
pub(crate) struct Peers {
    socket_type: SocketType,
    table: Mutex<Table>,
    /// The change log is not empty (read by the sender before each message).
    changed: AtomicBool,
    /// Where the socket waits for room in its peers' queues, and for peers to join.
    room: Arc<Room>,
    next_id: AtomicU64,
}

impl Peers {
    /// An empty table for a socket of `socket_type`.
    pub fn new(socket_type: SocketType) -> Arc<Self> {
        Arc::new(Self {
            socket_type,
            table: Mutex::new(Table::default()),
            changed: AtomicBool::new(false),
            room: Room::new(),
            next_id: AtomicU64::new(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic while holding this lock cannot leave the table half-updated in a way that
        // matters more than losing the socket, so a poisoned lock is simply taken over.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells the socket's sender that the table moved (it may have a peer with room now).
    fn changed(&self) {
        // Sequentially consistent, like the room's own flag: a sender that registered with the
        // room and then found nothing changed is woken by the notification.
        self.changed.store(true, Ordering::SeqCst);
        self.room.notify();
    }

    /// The socket type.
    pub fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    /// The room every outbound queue of this socket reports to.
    pub fn room(&self) -> &Arc<Room> {
        &self.room
    }

    /// A fresh peer id.
    pub fn next_id(&self) -> PeerId {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A new outbound queue for a peer: SNDHWM deep, or one conflating item (ZMQ_CONFLATE).
    pub fn peer_queue(&self, sndhwm: usize, conflate: bool) -> (PeerTx, queue::Receiver<Outbound>) {
        let room = self.room.clone();
        if conflate {
            queue::conflating(room)
        } else {
            queue::bounded(sndhwm, room)
        }
    }

    /// An endpoint was bound or connected: connections through it may attach.
    pub fn open_origin(&self, origin: EndpointKey) {
        self.lock().origins.insert(origin);
    }

    /// Adds a connecting endpoint's peer, whose queue exists before any connection (libzmq
    /// creates the pipe at connect time, so messages queue while the link is down).
    pub fn add_connecting(&self, origin: EndpointKey, tx: Option<PeerTx>) -> PeerId {
        let peer = self.next_id();
        let mut table = self.lock();
        table.entries.insert(
            peer,
            Entry {
                origin,
                attached: false,
                conn: None,
            },
        );
        table.log(Change::Added(peer, tx, false));
        drop(table);
        self.changed();
        peer
    }

    /// Marks a peer connected after its handshake, adding it if it is new (an accepted
    /// connection). PAIR refuses a second peer; ROUTER gives the peer its routing id (the one
    /// it announced, or a generated one) and applies ROUTER_HANDOVER, evicting the old owner.
    pub fn attach(&self, attach: Attach) -> Result<Attached, AttachError> {
        let Attach {
            peer,
            origin,
            tx,
            announced_id,
            handover,
            conn,
        } = attach;
        let mut table = self.lock();
        if !table.origins.contains(&origin) {
            return Err(AttachError::EndpointGone);
        }
        if self.socket_type == SocketType::Pair && table.entries.keys().any(|&p| p != peer) {
            return Err(AttachError::AlreadyPaired);
        }
        let routing_id = if self.socket_type == SocketType::Router {
            let routing_id = announced_id.unwrap_or_else(|| table.routes.generate_id());
            match table.routes.insert(routing_id.clone(), peer, handover) {
                Ok(Some(old)) => {
                    // Handover: the old connection closes at once.
                    if let Some(conn) = table.entries.get_mut(&old).and_then(|e| e.conn.take()) {
                        conn.trigger(Stop::Abort);
                    }
                }
                Ok(None) => {}
                Err(_) => return Err(AttachError::DuplicateRoutingId),
            }
            Some(routing_id)
        } else {
            None
        };
        match table.entries.get_mut(&peer) {
            Some(entry) => {
                entry.attached = true;
                entry.conn = Some(conn);
                table.log(Change::Attached(peer));
            }
            None => {
                let entry = Entry {
                    origin,
                    attached: true,
                    conn: Some(conn),
                };
                table.entries.insert(peer, entry);
                table.log(Change::Added(peer, tx, true));
            }
        }
        let subscriptions = table.subscriptions.clone();
        drop(table);
        self.changed();
        Ok(Attached {
            routing_id,
            subscriptions,
        })
    }

    /// A connecting endpoint lost its connection: keep its queue, mark it down.
    pub fn detach(&self, peer: PeerId) {
        let mut table = self.lock();
        table.routes.remove_peer(peer);
        let Some(entry) = table.entries.get_mut(&peer) else {
            return;
        };
        entry.attached = false;
        entry.conn = None;
        table.log(Change::Detached(peer));
        drop(table);
        self.changed();
    }

    /// Forgets a peer and drops its queue (an accepted connection ended).
    pub fn remove(&self, peer: PeerId) {
        let mut table = self.lock();
        table.routes.remove_peer(peer);
        if table.entries.remove(&peer).is_some() {
            table.log(Change::Removed(peer));
        }
        drop(table);
        self.changed();
    }

    /// An endpoint was unbound or disconnected: forgets every peer that came through it (their
    /// connections are stopped by the endpoint's shutdown signal).
    pub fn close_origin(&self, origin: EndpointKey) {
        let mut table = self.lock();
        table.origins.remove(&origin);
        let gone: Vec<PeerId> = (table.entries.iter())
            .filter(|(_, e)| e.origin == origin)
            .map(|(&peer, _)| peer)
            .collect();
        for peer in gone {
            table.entries.remove(&peer);
            table.routes.remove_peer(peer);
            table.log(Change::Removed(peer));
        }
        drop(table);
        self.changed();
    }

    /// Whether nothing changed since the last [`take_changes`](Self::take_changes) (one
    /// atomic load, no write).
    #[inline]
    pub fn unchanged(&self) -> bool {
        !self.changed.load(Ordering::SeqCst)
    }

    /// Takes the changes not applied yet, and the messages handed over, if any (one atomic
    /// load when there are none).
    pub fn take_changes(&self, into: &mut Vec<Change>, orphans: &mut Vec<Outbound>) -> bool {
        // A load first: the common case (nothing changed) writes nothing to the shared line.
        if !self.changed.load(Ordering::SeqCst) || !self.changed.swap(false, Ordering::SeqCst) {
            return false;
        }
        let mut table = self.lock();
        std::mem::swap(&mut table.changes, into);
        orphans.append(&mut table.orphans);
        true
    }

    /// A connection ended with these messages taken for its peer but never written (its
    /// queue's rest, for an accepted peer that is gone for good): the socket's view hands them
    /// to the other peers at its next look (PUSH, DEALER: they would otherwise be lost, as in
    /// libzmq).
    pub fn hand_over(&self, unsent: Vec<Outbound>) {
        if unsent.is_empty() {
            return;
        }
        self.lock().orphans.extend(unsent);
        self.changed();
    }

    /// ROUTER: the attached peer holding `routing_id`.
    pub fn route(&self, routing_id: &[u8]) -> Option<PeerId> {
        self.lock().routes.lookup(routing_id)
    }

    /// SUB/XSUB: replaces the topic list that peers get when they attach, and returns the peers
    /// attached now, which the caller must tell about the change.
    pub fn set_subscriptions(&self, topics: Vec<Bytes>) -> Vec<PeerId> {
        let mut table = self.lock();
        table.subscriptions = topics;
        (table.entries.iter())
            .filter(|(_, e)| e.attached)
            .map(|(&peer, _)| peer)
            .collect()
    }
}

/// The sending side's view of the peers: their queues, in round-robin order and by id.
#[derive(Debug, Default)]
pub(crate) struct PeerView {
    /// The peers messages are spread over (PUSH, DEALER, REQ, PAIR), in rotation order.
    rotation: LoadBalancer<PeerId>,
    /// `queues[i]` is the queue of `rotation.peers()[i]`.
    queues: Vec<PeerTx>,
    /// Every peer's queue, for sends to one peer (ROUTER, REP, PUB).
    by_id: HashMap<PeerId, PeerTx>,
    /// The peers whose connection is up.
    attached: Vec<PeerId>,
    /// Scratch space for the change log.
    changes: Vec<Change>,
    /// Messages handed over from lost connections, waiting for a peer in rotation.
    orphans: Vec<Outbound>,
}

impl PeerView {
    /// Applies the table's new changes. With `immediate` (ZMQ_IMMEDIATE) only peers whose
    /// connection is up take part in the rotation.
    #[inline]
    pub fn refresh(&mut self, peers: &Peers, immediate: bool) {
        if peers.unchanged() {
            return;
        }
        let mut changes = std::mem::take(&mut self.changes);
        if peers.take_changes(&mut changes, &mut self.orphans) {
            for change in changes.drain(..) {
                self.apply(change, immediate);
            }
        }
        self.changes = changes;
        if !self.orphans.is_empty() {
            self.place_orphans();
        }
    }

    /// Spreads the handed-over messages over the peers in rotation, room or not (they were
    /// within SNDHWM where they came from); they wait for the next change when there is none.
    #[cold]
    fn place_orphans(&mut self) {
        let mut orphans = std::mem::take(&mut self.orphans).into_iter();
        for item in orphans.by_ref() {
            let mut item = Some(item);
            for _ in 0..self.queues.len() {
                let Some(i) = self.rotation.next_ready_position(|_| true) else {
                    break;
                };
                match self.queues[i].force_send(item.take().expect("not yet placed")) {
                    Ok(()) => break,
                    Err(back) => item = Some(back),
                }
            }
            if let Some(unplaced) = item {
                self.orphans.push(unplaced);
                break;
            }
        }
        self.orphans.extend(orphans);
    }

    fn apply(&mut self, change: Change, immediate: bool) {
        match change {
            Change::Added(peer, tx, attached) => {
                if attached {
                    self.attached.push(peer);
                }
                if let Some(tx) = tx {
                    if attached || !immediate {
                        self.join_rotation(peer, tx.clone());
                    }
                    self.by_id.insert(peer, tx);
                }
            }
            Change::Attached(peer) => {
                // Idempotent: a compacted log may say "attached" to a view that saw it so.
                if !self.attached.contains(&peer) {
                    self.attached.push(peer);
                }
                if let (true, Some(tx)) = (immediate, self.by_id.get(&peer)) {
                    let tx = tx.clone();
                    self.join_rotation(peer, tx);
                }
            }
            Change::Detached(peer) => {
                self.attached.retain(|&p| p != peer);
                if immediate {
                    self.leave_rotation(peer);
                }
            }
            Change::Removed(peer) => {
                self.attached.retain(|&p| p != peer);
                self.leave_rotation(peer);
                self.by_id.remove(&peer);
            }
        }
    }

    fn join_rotation(&mut self, peer: PeerId, tx: PeerTx) {
        if self.rotation.add(peer) {
            self.queues.push(tx);
        }
    }

    fn leave_rotation(&mut self, peer: PeerId) {
        if let Some(at) = self.rotation.remove(peer) {
            self.queues.remove(at);
        }
    }

    /// The next peer in rotation whose queue takes `item` (round-robin; a full or closing
    /// queue is skipped); gives the item back when none does.
    pub fn offer_round_robin(&mut self, item: Outbound) -> Result<PeerId, Outbound> {
        let queues = &self.queues;
        let mut item = Some(item);
        let picked = self.rotation.next_ready_position(|i| {
            let tx = &queues[i];
            if tx.is_full() {
                return false;
            }
            let Some(outbound) = item.take() else {
                return false;
            };
            match tx.try_send(outbound) {
                Ok(()) => true,
                // A peer whose connection is going away: try the next one.
                Err(queue::TrySendError::Full(back) | queue::TrySendError::Disconnected(back)) => {
                    item = Some(back);
                    false
                }
            }
        });
        match (picked, item) {
            (Some(i), _) => Ok(self.rotation.peers()[i]),
            (None, Some(item)) => Err(item),
            (None, None) => unreachable!("the item is given back when no peer took it"),
        }
    }

    /// Places items from the front of `batch` round-robin while a peer has room, and leaves
    /// the rest in `batch`. With one peer in rotation (the common case of a batch) they go
    /// into its queue under one lock; with several, one at a time, each to the next peer in
    /// rotation, as [`offer_round_robin`](Self::offer_round_robin).
    pub fn offer_batch_round_robin(&mut self, batch: &mut VecDeque<Outbound>) {
        if let [tx] = self.queues.as_slice() {
            // False: the connection is going away; the message-at-a-time path below skips it.
            if tx.send_batch(batch) {
                return;
            }
        }
        while let Some(item) = batch.pop_front() {
            if let Err(item) = self.offer_round_robin(item) {
                batch.push_front(item);
                return;
            }
        }
    }

    /// The queues of the peers in rotation, in rotation order.
    pub fn rotation_queues(&self) -> &[PeerTx] {
        &self.queues
    }

    /// Whether some peer in rotation has room now.
    pub fn any_room(&self) -> bool {
        self.queues.iter().any(|tx| !tx.is_full())
    }

    /// The queue of one peer.
    pub fn queue(&self, peer: PeerId) -> Option<&PeerTx> {
        self.by_id.get(&peer)
    }

    /// The peers whose connection is up.
    pub fn attached(&self) -> &[PeerId] {
        &self.attached
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use monocoque_core::Message;

    fn attach(
        peers: &Peers,
        peer: PeerId,
        origin: EndpointKey,
        id: Option<&'static [u8]>,
    ) -> Result<Attached, AttachError> {
        let (tx, _rx) = peers.peer_queue(10, false);
        peers.attach(Attach {
            peer,
            origin,
            tx: Some(tx),
            announced_id: id.map(Bytes::from_static),
            handover: false,
            conn: Shutdown::new(),
        })
    }

    #[test]
    fn messages_handed_over_reach_the_other_peers_past_their_hwm() {
        let peers = Peers::new(SocketType::Push);
        peers.open_origin(1);
        let mut view = PeerView::default();
        let queue = |peers: &Peers| peers.peer_queue(2, false);
        let ((tx_a, rx_a), (tx_b, rx_b)) = (queue(&peers), queue(&peers));
        for (peer, tx) in [(1, tx_a), (2, tx_b)] {
            peers
                .attach(Attach {
                    peer,
                    origin: 1,
                    tx: Some(tx),
                    announced_id: None,
                    handover: false,
                    conn: Shutdown::new(),
                })
                .unwrap();
        }
        view.refresh(&peers, false);
        // Peer 1 is gone with five messages it never wrote; peer 2's HWM (2) does not refuse
        // them.
        drop(rx_a);
        peers.remove(1);
        let unsent: Vec<Outbound> = (0..5)
            .map(|i| Outbound::Message(Message::single(vec![i])))
            .collect();
        peers.hand_over(unsent);
        view.refresh(&peers, false);
        let mut got = std::collections::VecDeque::new();
        rx_b.drain_into(&mut got, usize::MAX);
        let got: Vec<u8> = (got.into_iter())
            .map(|o| match o {
                Outbound::Message(m) => m.frames()[0][0],
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        // With no peer at all, they wait for the next one to join.
        drop(rx_b);
        peers.remove(2);
        peers.hand_over(vec![Outbound::Message(Message::single("later"))]);
        view.refresh(&peers, false);
        let (tx_c, rx_c) = queue(&peers);
        let attached = peers.attach(Attach {
            peer: 3,
            origin: 1,
            tx: Some(tx_c),
            announced_id: None,
            handover: false,
            conn: Shutdown::new(),
        });
        assert!(attached.is_ok());
        view.refresh(&peers, false);
        assert!(
            matches!(rx_c.try_recv(), Ok(Outbound::Message(m)) if m == Message::single("later"))
        );
    }

    #[test]
    fn the_view_follows_the_table_incrementally() {
        let peers = Peers::new(SocketType::Push);
        peers.open_origin(1);
        let mut view = PeerView::default();
        let (tx, _rx) = peers.peer_queue(10, false);
        let connecting = peers.add_connecting(1, Some(tx));
        view.refresh(&peers, false);
        assert_eq!(
            view.rotation.peers(),
            [connecting],
            "queued to before it connects"
        );
        assert!(view.attached().is_empty());
        // IMMEDIATE leaves a peer out of the rotation until its connection is up.
        let mut immediate = PeerView::default();
        let _ = peers.take_changes(&mut Vec::new(), &mut Vec::new());
        let (tx, _rx2) = peers.peer_queue(10, false);
        let later = peers.add_connecting(1, Some(tx));
        immediate.refresh(&peers, true);
        assert!(immediate.rotation.peers().is_empty());
        peers
            .attach(Attach {
                peer: later,
                origin: 1,
                tx: None,
                announced_id: None,
                handover: false,
                conn: Shutdown::new(),
            })
            .unwrap();
        immediate.refresh(&peers, true);
        assert_eq!(immediate.rotation.peers(), [later]);
        peers.detach(later);
        immediate.refresh(&peers, true);
        assert!(immediate.rotation.peers().is_empty());
        peers.remove(later);
        immediate.refresh(&peers, true);
        assert!(immediate.queue(later).is_none());
        // Nothing changed: nothing to take.
        assert!(!peers.take_changes(&mut Vec::new(), &mut Vec::new()));
    }

    #[test]
    fn a_thousand_joins_and_leaves_cost_one_change_each() {
        let peers = Peers::new(SocketType::Dealer);
        peers.open_origin(1);
        let mut view = PeerView::default();
        for peer in 1..=1000 {
            attach(&peers, peer, 1, None).unwrap();
            if peer % 2 == 0 {
                peers.remove(peer);
            }
        }
        let mut changes = Vec::new();
        assert!(peers.take_changes(&mut changes, &mut Vec::new()));
        // One change each at most (the peers that came and went unseen are compacted away).
        assert!(changes.len() <= 1500, "{}", changes.len());
        for change in changes {
            view.apply(change, false);
        }
        assert_eq!(view.rotation.len(), 500);
        assert_eq!(view.attached().len(), 500);
    }

    #[test]
    fn churn_the_socket_never_looks_at_leaves_a_bounded_log() {
        let peers = Peers::new(SocketType::Router);
        peers.open_origin(1);
        // A connecting endpoint that reconnects over and over, and accepted peers that come
        // and go, while the socket never sends.
        let (tx, _rx) = peers.peer_queue(10, false);
        let flapping = peers.add_connecting(1, Some(tx));
        let conn = || Shutdown::new();
        for peer in 100..10_100 {
            attach(&peers, peer, 1, None).unwrap();
            peers.remove(peer);
            peers
                .attach(Attach {
                    peer: flapping,
                    origin: 1,
                    tx: None,
                    announced_id: None,
                    handover: false,
                    conn: conn(),
                })
                .unwrap();
            peers.detach(flapping);
        }
        let mut changes = Vec::new();
        assert!(peers.take_changes(&mut changes, &mut Vec::new()));
        assert!(
            changes.len() <= COMPACT_AT,
            "{} changes kept",
            changes.len()
        );
        // What is left says the same as the whole log would have: the flapping peer exists,
        // detached; nobody else.
        let mut view = PeerView::default();
        for change in changes {
            view.apply(change, false);
        }
        assert_eq!(view.rotation.peers(), [flapping]);
        assert!(view.attached().is_empty());
    }

    #[test]
    fn routing_ids_are_assigned_at_attach() {
        let peers = Peers::new(SocketType::Router);
        peers.open_origin(1);
        let first = attach(&peers, 1, 1, Some(b"dup")).unwrap();
        assert_eq!(first.routing_id.as_deref(), Some(&b"dup"[..]));
        assert_eq!(
            attach(&peers, 2, 1, Some(b"dup")).unwrap_err(),
            AttachError::DuplicateRoutingId
        );
        let generated = attach(&peers, 3, 1, None).unwrap().routing_id.unwrap();
        assert_eq!(generated.len(), 5);
        assert_eq!(peers.route(b"dup"), Some(1));
        assert_eq!(peers.route(&generated), Some(3));
        // Handover evicts the old owner's connection.
        let old_conn = Shutdown::new();
        peers.remove(1);
        peers
            .attach(Attach {
                peer: 4,
                origin: 1,
                tx: None,
                announced_id: Some(Bytes::from_static(b"h")),
                handover: true,
                conn: old_conn.clone(),
            })
            .unwrap();
        peers
            .attach(Attach {
                peer: 5,
                origin: 1,
                tx: None,
                announced_id: Some(Bytes::from_static(b"h")),
                handover: true,
                conn: Shutdown::new(),
            })
            .unwrap();
        assert_eq!(old_conn.stopped(), Some(Stop::Abort));
        assert_eq!(peers.route(b"h"), Some(5));
        // A closed endpoint attaches nothing.
        peers.close_origin(1);
        assert_eq!(
            attach(&peers, 6, 1, None).unwrap_err(),
            AttachError::EndpointGone
        );
        assert_eq!(peers.route(b"h"), None);
    }

    #[test]
    fn pair_takes_one_peer() {
        let peers = Peers::new(SocketType::Pair);
        peers.open_origin(1);
        attach(&peers, 1, 1, None).unwrap();
        assert_eq!(
            attach(&peers, 2, 1, None).unwrap_err(),
            AttachError::AlreadyPaired
        );
        peers.remove(1);
        attach(&peers, 2, 1, None).unwrap();
    }
}
