//! The ROUTER routing table: routing id <-> peer.
//!
//! A ROUTER prefixes every message it receives with the sending peer's routing id and routes
//! every message it sends by its first frame. A peer's routing id is the Identity it announced in
//! its handshake, or, when it announced none, one the ROUTER generates. This module follows
//! libzmq's `router_t::identify_peer` (src/router.cpp):
//!
//! * generated ids are 5 octets, `0x00` then a big-endian `u32` counter that starts at a random
//!   value and increments per id. Unlike libzmq, [`RouterTable::generate_id`] skips ids already
//!   in use: since libzmq 4.1 a peer may announce an id starting with `0x00` (see
//!   [`validate_routing_id`]), and libzmq asserts (aborts) when a generated id collides with it;
//! * a peer announcing an id that another peer already has is refused, unless ROUTER_HANDOVER is
//!   set, in which case the new peer takes the id and the old peer is disconnected. libzmq keeps
//!   the refused peer's pipe attached but "anonymous": never routed to and never read (it retries
//!   identification only when more data arrives, reading the peer's next message as an id). The
//!   socket here should disconnect a refused peer instead (or hold it idle, unreachable and
//!   unread, until it goes away); either way it never appears in this table.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};

use bytes::{BufMut, Bytes, BytesMut};

/// Length of a generated routing id: `0x00` and a big-endian `u32`.
pub const GENERATED_ID_LEN: usize = 5;

/// Longest routing id a socket may set for itself (ZMQ_ROUTING_ID), in octets.
pub const MAX_ROUTING_ID_LEN: usize = 255;

/// A peer announced a routing id that another peer already has (and ROUTER_HANDOVER is off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplicateId;

impl fmt::Display for DuplicateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("routing id already in use by another peer")
    }
}

impl std::error::Error for DuplicateId {}

/// Why a routing id set by the user (ZMQ_ROUTING_ID) is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidRoutingId {
    /// The id is empty (an empty id means "let the ROUTER generate one").
    Empty,
    /// The id is longer than [`MAX_ROUTING_ID_LEN`] octets.
    TooLong(usize),
}

impl fmt::Display for InvalidRoutingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("routing id must not be empty"),
            Self::TooLong(len) => write!(
                f,
                "routing id of {len} octets exceeds the limit of {MAX_ROUTING_ID_LEN}"
            ),
        }
    }
}

impl std::error::Error for InvalidRoutingId {}

/// Checks a routing id the user sets on a socket (ZMQ_ROUTING_ID): 1 to 255 octets, any values.
///
/// libzmq's `options_t::setsockopt` accepts exactly that. Ids starting with `0x00` used to be
/// refused (they look like generated ids) but have been allowed since libzmq 4.1 (commit
/// "Problem: artificial restriction on binary identities"), and a ROUTER does not refuse them
/// from peers either; [`RouterTable`] copes by never generating an id already in use.
///
/// # Errors
///
/// [`InvalidRoutingId`] when the id is empty or longer than 255 octets.
pub fn validate_routing_id(id: &[u8]) -> Result<(), InvalidRoutingId> {
    match id.len() {
        0 => Err(InvalidRoutingId::Empty),
        len if len > MAX_ROUTING_ID_LEN => Err(InvalidRoutingId::TooLong(len)),
        _ => Ok(()),
    }
}

/// A ROUTER's routing table: routing id <-> peer, both ways in O(1).
///
/// ```
/// use bytes::Bytes;
/// use monocoque_core::routing::RouterTable;
/// let mut table = RouterTable::<u64>::with_seed(7);
/// let id = table.generate_id();
/// assert_eq!(id.len(), 5);
/// assert_eq!(table.insert(id.clone(), 1, false), Ok(None));
/// assert_eq!(table.insert(Bytes::from_static(b"alice"), 2, false), Ok(None));
/// assert_eq!(table.lookup(b"alice"), Some(2));
/// assert_eq!(table.insert(Bytes::from_static(b"alice"), 3, true), Ok(Some(2)));
/// assert_eq!(table.id_of(1), Some(&id));
/// ```
#[derive(Debug, Clone)]
pub struct RouterTable<P> {
    by_id: HashMap<Bytes, P>,
    by_peer: HashMap<P, Bytes>,
    next_id: u32,
}

impl<P: Copy + Eq + Hash> Default for RouterTable<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Copy + Eq + Hash> RouterTable<P> {
    /// An empty table whose generated ids start at a random-ish value (from std's per-process
    /// random hashing keys and the clock).
    #[must_use]
    pub fn new() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        if let Ok(elapsed) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            hasher.write_u128(elapsed.as_nanos());
        }
        let hash = hasher.finish();
        Self::with_seed((hash ^ (hash >> 32)) as u32)
    }

    /// An empty table whose first generated id is `0x00` followed by `seed` (big-endian).
    #[must_use]
    pub fn with_seed(seed: u32) -> Self {
        Self {
            by_id: HashMap::new(),
            by_peer: HashMap::new(),
            next_id: seed,
        }
    }

    /// A fresh routing id: `0x00` then the next value of the counter, skipping ids in use.
    ///
    /// The id is not reserved: pass it to [`insert`](Self::insert).
    pub fn generate_id(&mut self) -> Bytes {
        let mut id = BytesMut::with_capacity(GENERATED_ID_LEN);
        // Among len + 1 consecutive counter values at least one is free, so this ends.
        for _ in 0..=self.by_id.len() {
            id.clear();
            id.put_u8(0);
            id.put_u32(self.next_id);
            self.next_id = self.next_id.wrapping_add(1);
            if !self.by_id.contains_key(&id[..]) {
                break;
            }
        }
        id.freeze()
    }

    /// Gives `id` to `peer`.
    ///
    /// * `id` is free: `Ok(None)`.
    /// * `id` belongs to another peer and `handover` (ROUTER_HANDOVER) is off: `Err(DuplicateId)`,
    ///   the table is unchanged and the new peer must not be routed to (see the module docs).
    /// * `id` belongs to another peer and `handover` is on: the new peer takes the id and the old
    ///   peer, now without an id, is returned as `Ok(Some(old))` for the socket to disconnect.
    ///
    /// If `peer` already had a different id, that id is released. The id is not validated: map
    /// an empty announced id to [`generate_id`](Self::generate_id) first (or use
    /// [`assign`](Self::assign)).
    ///
    /// # Errors
    ///
    /// [`DuplicateId`] as above.
    pub fn insert(&mut self, id: Bytes, peer: P, handover: bool) -> Result<Option<P>, DuplicateId> {
        let mut displaced = None;
        match self.by_id.get(&id) {
            Some(&owner) if owner == peer => return Ok(None),
            Some(_) if !handover => return Err(DuplicateId),
            Some(&owner) => {
                self.by_peer.remove(&owner);
                displaced = Some(owner);
            }
            None => {}
        }
        if let Some(previous) = self.by_peer.insert(peer, id.clone()) {
            self.by_id.remove(&previous);
        }
        self.by_id.insert(id, peer);
        Ok(displaced)
    }

    /// Registers a peer that completed its handshake: an empty `announced` id gets a generated
    /// one, any other is inserted as in [`insert`](Self::insert). Returns the peer's id and the
    /// peer displaced by a handover, if any.
    ///
    /// # Errors
    ///
    /// [`DuplicateId`] when the announced id is taken and `handover` is off.
    pub fn assign(
        &mut self,
        announced: &Bytes,
        peer: P,
        handover: bool,
    ) -> Result<(Bytes, Option<P>), DuplicateId> {
        let id = if announced.is_empty() {
            self.generate_id()
        } else {
            announced.clone()
        };
        let displaced = self.insert(id.clone(), peer, handover)?;
        Ok((id, displaced))
    }

    /// Forgets `peer` (it disconnected), returning the id it had.
    pub fn remove_peer(&mut self, peer: P) -> Option<Bytes> {
        let id = self.by_peer.remove(&peer)?;
        self.by_id.remove(&id);
        Some(id)
    }

    /// The peer that has routing id `id`.
    #[must_use]
    pub fn lookup(&self, id: &[u8]) -> Option<P> {
        self.by_id.get(id).copied()
    }

    /// The routing id of `peer`.
    #[must_use]
    pub fn id_of(&self, peer: P) -> Option<&Bytes> {
        self.by_peer.get(&peer)
    }

    /// Number of peers in the table.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every (id, peer) pair, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, P)> + '_ {
        self.by_id.iter().map(|(id, &peer)| (id, peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_ids_are_libzmq_shaped_and_unique() {
        let mut t = RouterTable::<u64>::new();
        let mut seen = HashSet::new();
        for peer in 0..1000 {
            let id = t.generate_id();
            assert_eq!(id.len(), GENERATED_ID_LEN);
            assert_eq!(id[0], 0);
            assert!(seen.insert(id.clone()));
            assert_eq!(t.insert(id, peer, false), Ok(None));
        }
        assert_eq!(t.len(), 1000);
    }

    #[test]
    fn generated_ids_count_up_and_wrap() {
        let mut t = RouterTable::<u64>::with_seed(u32::MAX);
        assert_eq!(&t.generate_id()[..], &[0, 255, 255, 255, 255]);
        assert_eq!(&t.generate_id()[..], &[0, 0, 0, 0, 0]);
        assert_eq!(&t.generate_id()[..], &[0, 0, 0, 0, 1]);
    }

    #[test]
    fn generated_ids_skip_ids_in_use() {
        let mut t = RouterTable::<u64>::with_seed(10);
        // A peer announced what would be the next generated ids.
        t.insert(Bytes::from_static(&[0, 0, 0, 0, 10]), 1, false)
            .unwrap();
        t.insert(Bytes::from_static(&[0, 0, 0, 0, 11]), 2, false)
            .unwrap();
        assert_eq!(&t.generate_id()[..], &[0, 0, 0, 0, 12]);
    }

    #[test]
    fn duplicate_refused_without_handover() {
        let mut t = RouterTable::<u64>::with_seed(0);
        let id = Bytes::from_static(b"worker");
        assert_eq!(t.insert(id.clone(), 1, false), Ok(None));
        assert_eq!(t.insert(id.clone(), 2, false), Err(DuplicateId));
        assert_eq!(t.lookup(b"worker"), Some(1));
        assert_eq!(t.id_of(2), None);
        assert_eq!(t.len(), 1);
        // Re-inserting the same pair is a no-op.
        assert_eq!(t.insert(id, 1, false), Ok(None));
    }

    #[test]
    fn handover_both_ways() {
        let mut t = RouterTable::<u64>::with_seed(0);
        let id = Bytes::from_static(b"worker");
        t.insert(id.clone(), 1, false).unwrap();
        assert_eq!(t.insert(id.clone(), 2, true), Ok(Some(1)));
        assert_eq!(t.lookup(b"worker"), Some(2));
        assert_eq!(t.id_of(1), None);
        assert_eq!(t.remove_peer(1), None, "the displaced peer has no id left");
        // And back again: the first peer reconnects (as a new peer id 3) and takes over.
        assert_eq!(t.insert(id.clone(), 3, true), Ok(Some(2)));
        assert_eq!(t.lookup(b"worker"), Some(3));
        assert_eq!(t.len(), 1);
        assert_eq!(t.remove_peer(3), Some(id));
        assert!(t.is_empty());
    }

    #[test]
    fn reinsert_peer_releases_old_id() {
        let mut t = RouterTable::<u64>::with_seed(0);
        t.insert(Bytes::from_static(b"a"), 1, false).unwrap();
        t.insert(Bytes::from_static(b"b"), 1, false).unwrap();
        assert_eq!(t.lookup(b"a"), None);
        assert_eq!(t.lookup(b"b"), Some(1));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn assign_generates_for_empty_ids() {
        let mut t = RouterTable::<u64>::with_seed(5);
        let (id, displaced) = t.assign(&Bytes::new(), 1, false).unwrap();
        assert_eq!(&id[..], &[0, 0, 0, 0, 5]);
        assert_eq!(displaced, None);
        let (id, _) = t.assign(&Bytes::from_static(b"x"), 2, false).unwrap();
        assert_eq!(id, "x");
        assert_eq!(
            t.assign(&Bytes::from_static(b"x"), 3, false),
            Err(DuplicateId)
        );
        assert_eq!(t.iter().count(), 2);
    }

    #[test]
    fn routing_id_validation() {
        assert_eq!(validate_routing_id(b""), Err(InvalidRoutingId::Empty));
        assert_eq!(validate_routing_id(&[0]), Ok(()));
        assert_eq!(validate_routing_id(&[0, 1, 2, 3, 4]), Ok(()));
        assert_eq!(validate_routing_id(&[7; 255]), Ok(()));
        assert_eq!(
            validate_routing_id(&[7; 256]),
            Err(InvalidRoutingId::TooLong(256))
        );
    }
}
