//! Subscription tries for the publish-subscribe sockets.
//!
//! * [`SubscriberTrie`] is the SUB/XSUB side (libzmq's `trie_t`): a reference-counted set of
//!   topic prefixes, used to filter incoming messages locally and to re-send every subscription
//!   to a publisher on (re)connect.
//! * [`PublisherTrie`] is the PUB/XPUB side (libzmq's `mtrie_t`): for every topic the set of peers
//!   subscribed to it, used to pick the subscribers of each outgoing message.
//!
//! A topic matches a message when it is a prefix of the message's first frame (binary
//! comparison); the empty topic matches everything.
//!
//! Both are compressed byte tries: matching walks the data once, whatever the number of
//! subscriptions, and memory is proportional to the subscribed bytes. Both are fed by untrusted
//! peers (directly for PUB/XPUB, through proxies for XSUB), so both enforce [`TrieLimits`].

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use smallvec::SmallVec;

use super::radix::{NodeValue, Radix};

/// Default for [`TrieLimits::max_topic_len`].
pub const DEFAULT_MAX_TOPIC_LEN: usize = 4096;

/// Default for [`TrieLimits::max_topics`].
pub const DEFAULT_MAX_TOPICS: usize = 65_536;

/// Bounds on what peers can make a subscription trie store.
///
/// libzmq has no such limits (a subscription is bounded only by `ZMQ_MAXMSGSIZE`); they exist
/// here so that a peer cannot grow a socket's memory without bound. The worst-case memory of a
/// trie is about `max_topics * max_topic_len` bytes per subscriber (for [`PublisherTrie`]) or in
/// total (for [`SubscriberTrie`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrieLimits {
    /// Longest topic accepted, in bytes.
    pub max_topic_len: usize,
    /// Most topics: distinct topics in a [`SubscriberTrie`], topics per peer in a
    /// [`PublisherTrie`].
    pub max_topics: usize,
}

impl TrieLimits {
    /// No limit beyond what the trie's `u32` node ids can address.
    pub const UNLIMITED: Self = Self {
        max_topic_len: usize::MAX,
        max_topics: usize::MAX,
    };
}

impl Default for TrieLimits {
    fn default() -> Self {
        Self {
            max_topic_len: DEFAULT_MAX_TOPIC_LEN,
            max_topics: DEFAULT_MAX_TOPICS,
        }
    }
}

/// Why a subscription was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionRefused {
    /// The topic is longer than [`TrieLimits::max_topic_len`].
    TopicTooLong {
        /// Length of the refused topic.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// Storing the topic would exceed [`TrieLimits::max_topics`] (or the trie is full).
    TooManyTopics {
        /// The limit in force.
        max: usize,
    },
}

impl fmt::Display for SubscriptionRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TopicTooLong { len, max } => {
                write!(
                    f,
                    "subscription topic of {len} bytes exceeds the limit of {max}"
                )
            }
            Self::TooManyTopics { max } => {
                write!(f, "subscription refused: limit of {max} topics reached")
            }
        }
    }
}

impl std::error::Error for SubscriptionRefused {}

/// Reference count of a topic in a [`SubscriberTrie`].
#[derive(Debug, Default)]
struct RefCount(u64);

impl NodeValue for RefCount {
    fn is_vacant(&self) -> bool {
        self.0 == 0
    }
}

/// The subscriptions of a SUB or XSUB socket: reference-counted topic prefixes.
///
/// Mirrors libzmq's `trie_t`: subscribing a topic twice needs two unsubscribes before the topic
/// is gone. [`subscribe`](Self::subscribe) reports the first reference and
/// [`unsubscribe`](Self::unsubscribe) the last one, so the socket knows when a CANCEL must go
/// upstream. (libzmq's `xsub_t::xsend` forwards *every* SUBSCRIBE upstream, duplicates included,
/// because the publisher side deduplicates and XPUB_VERBOSE proxies want to see them, but sends a
/// CANCEL only when the last reference went, or always under XSUB_VERBOSE_UNSUBSCRIBE.)
///
/// ```
/// use monocoque_core::routing::SubscriberTrie;
/// let mut subs = SubscriberTrie::new();
/// assert!(subs.subscribe(b"weather."));
/// assert!(!subs.subscribe(b"weather."));
/// assert!(subs.matches(b"weather.paris 21C"));
/// assert!(!subs.unsubscribe(b"weather."));
/// assert!(subs.unsubscribe(b"weather."));
/// assert!(!subs.matches(b"weather.paris 21C"));
/// ```
#[derive(Debug, Default)]
pub struct SubscriberTrie {
    radix: Radix<RefCount>,
    topics: usize,
    limits: TrieLimits,
}

impl SubscriberTrie {
    /// An empty trie with the default [`TrieLimits`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty trie with the given limits.
    #[must_use]
    pub fn with_limits(limits: TrieLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// The limits in force.
    #[must_use]
    pub fn limits(&self) -> TrieLimits {
        self.limits
    }

    /// Adds a reference to `topic`. True when it is the first one, i.e. the topic is new.
    ///
    /// A topic refused by the limits is not stored and returns false (so no SUBSCRIBE is sent
    /// for it, and a later [`unsubscribe`](Self::unsubscribe) returns false too); use
    /// [`try_subscribe`](Self::try_subscribe) to tell the two apart.
    pub fn subscribe(&mut self, topic: &[u8]) -> bool {
        self.try_subscribe(topic).unwrap_or(false)
    }

    /// Like [`subscribe`](Self::subscribe), but reports a refusal by the limits.
    ///
    /// # Errors
    ///
    /// [`SubscriptionRefused`] when the topic is too long, or is new and the trie already holds
    /// [`TrieLimits::max_topics`] topics. A topic already present is always accepted.
    pub fn try_subscribe(&mut self, topic: &[u8]) -> Result<bool, SubscriptionRefused> {
        if topic.len() > self.limits.max_topic_len {
            return Err(SubscriptionRefused::TopicTooLong {
                len: topic.len(),
                max: self.limits.max_topic_len,
            });
        }
        if let Some(id) = self.radix.find(topic) {
            let count = self.radix.value_mut(id);
            if count.0 > 0 {
                count.0 = count.0.saturating_add(1);
                return Ok(false);
            }
        }
        let refused = SubscriptionRefused::TooManyTopics {
            max: self.limits.max_topics,
        };
        if self.topics >= self.limits.max_topics {
            return Err(refused);
        }
        let id = self.radix.insert(topic).ok_or(refused)?;
        self.radix.value_mut(id).0 = 1;
        self.topics += 1;
        Ok(true)
    }

    /// Drops a reference to `topic`. True when it was the last one, i.e. the topic is gone and
    /// a CANCEL must be sent; false when references remain or the topic was not subscribed.
    pub fn unsubscribe(&mut self, topic: &[u8]) -> bool {
        let Some(id) = self.radix.find(topic) else {
            return false;
        };
        let count = self.radix.value_mut(id);
        if count.0 == 0 {
            return false;
        }
        count.0 -= 1;
        if count.0 > 0 {
            return false;
        }
        self.topics = self.topics.saturating_sub(1);
        self.radix.prune(id);
        true
    }

    /// True when `topic` has at least one reference.
    #[must_use]
    pub fn contains(&self, topic: &[u8]) -> bool {
        self.radix
            .find(topic)
            .is_some_and(|id| !self.radix.value(id).is_vacant())
    }

    /// True when some subscribed topic is a prefix of `data` (the empty topic matches all).
    #[must_use]
    pub fn matches(&self, data: &[u8]) -> bool {
        self.radix.path(data).any(|count| count.0 > 0)
    }

    /// Every subscribed topic once, in lexicographic order: what to re-send to a publisher on
    /// (re)connect.
    pub fn topics(&self) -> impl Iterator<Item = Bytes> + '_ {
        self.radix.entries().map(|(topic, _)| topic)
    }

    /// Number of distinct subscribed topics.
    #[must_use]
    pub fn len(&self) -> usize {
        self.topics
    }

    /// True when nothing is subscribed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.topics == 0
    }
}

/// Subscribers of one topic in a [`PublisherTrie`]: indices into its peer slots.
#[derive(Debug, Default)]
struct Subscribers(SmallVec<[u32; 2]>);

impl NodeValue for Subscribers {
    fn is_vacant(&self) -> bool {
        self.0.is_empty()
    }
}

/// A peer that has at least one subscription.
#[derive(Debug)]
struct PeerSlot<P> {
    peer: P,
    /// Generation of the last match that visited this peer.
    stamp: AtomicU64,
    /// Trie node of each of the peer's topics -> the peer's index in that node's subscribers.
    topics: HashMap<u32, u32>,
}

/// The subscriptions a PUB or XPUB socket received: for every topic, the set of peers
/// subscribed to it.
///
/// Mirrors libzmq's `mtrie_t`: a topic holds a *set* of peers, so a peer that subscribes the
/// same topic twice is stored once and a single cancel removes it (`generic_mtrie_t::add` inserts
/// into a `std::set`; `rm` erases it and reports `values_remain` or `last_value_removed`, and
/// `not_found` for the second cancel). [`add`](Self::add) and [`remove`](Self::remove) report the
/// first subscriber of a topic and the last one leaving, which is what XPUB forwards without
/// XPUB_VERBOSE / XPUB_VERBOSER.
///
/// Matching walks the message's first frame through the trie once and visits every matching
/// peer exactly once (libzmq visits a peer once per matching topic and deduplicates in `dist_t`;
/// here each peer carries a generation stamp, so no allocation or hashing happens per match).
///
/// ```
/// use monocoque_core::routing::PublisherTrie;
/// let mut subs = PublisherTrie::<u64>::new();
/// assert!(subs.add(b"A", 1));
/// assert!(subs.add(b"AB", 1)); // a new topic, though peer 1 already has "A"
/// assert!(!subs.add(b"A", 2)); // "A" already has a subscriber
/// let mut hit = Vec::new();
/// subs.for_each_match(b"ABC", |peer| hit.push(peer));
/// hit.sort();
/// assert_eq!(hit, [1, 2]);
/// ```
#[derive(Debug)]
pub struct PublisherTrie<P> {
    radix: Radix<Subscribers>,
    slots: Vec<PeerSlot<P>>,
    free_slots: Vec<u32>,
    index: HashMap<P, u32>,
    generation: AtomicU64,
    topics: usize,
    subscriptions: usize,
    limits: TrieLimits,
}

impl<P: Copy + Eq + Hash> Default for PublisherTrie<P> {
    fn default() -> Self {
        Self::with_limits(TrieLimits::default())
    }
}

impl<P: Copy + Eq + Hash> PublisherTrie<P> {
    /// An empty trie with the default [`TrieLimits`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty trie with the given limits ([`TrieLimits::max_topics`] applies per peer).
    #[must_use]
    pub fn with_limits(limits: TrieLimits) -> Self {
        Self {
            radix: Radix::default(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            index: HashMap::new(),
            generation: AtomicU64::new(0),
            topics: 0,
            subscriptions: 0,
            limits,
        }
    }

    /// The limits in force.
    #[must_use]
    pub fn limits(&self) -> TrieLimits {
        self.limits
    }

    fn slot(&self, slot: u32) -> Option<&PeerSlot<P>> {
        self.slots.get(slot as usize)
    }

    fn slot_mut(&mut self, slot: u32) -> Option<&mut PeerSlot<P>> {
        self.slots.get_mut(slot as usize)
    }

    /// Subscribes `peer` to `topic`. True when the topic had no subscriber before (XPUB without
    /// VERBOSE forwards only those). Subscribing again to a topic the peer already has changes
    /// nothing and returns false.
    ///
    /// A subscription refused by the limits is not stored and returns false; use
    /// [`try_add`](Self::try_add) to tell the two apart (and, say, disconnect the peer).
    pub fn add(&mut self, topic: &[u8], peer: P) -> bool {
        self.try_add(topic, peer).unwrap_or(false)
    }

    /// Like [`add`](Self::add), but reports a refusal by the limits.
    ///
    /// # Errors
    ///
    /// [`SubscriptionRefused`] when the topic is too long, or is new for this peer and the peer
    /// already has [`TrieLimits::max_topics`] topics. A repeated subscription is always accepted.
    pub fn try_add(&mut self, topic: &[u8], peer: P) -> Result<bool, SubscriptionRefused> {
        if topic.len() > self.limits.max_topic_len {
            return Err(SubscriptionRefused::TopicTooLong {
                len: topic.len(),
                max: self.limits.max_topic_len,
            });
        }
        let refused = SubscriptionRefused::TooManyTopics {
            max: self.limits.max_topics,
        };
        let existing = self.index.get(&peer).copied();
        let held = existing
            .and_then(|s| self.slot(s))
            .map_or(0, |slot| slot.topics.len());
        if let (Some(s), Some(node)) = (existing, self.radix.find(topic)) {
            if self
                .slot(s)
                .is_some_and(|slot| slot.topics.contains_key(&node))
            {
                return Ok(false);
            }
        }
        if held >= self.limits.max_topics {
            return Err(refused);
        }
        let slot = match existing {
            Some(s) => s,
            None => self.alloc_slot(peer).ok_or(refused)?,
        };
        let Some(node) = self.radix.insert(topic) else {
            if existing.is_none() {
                self.free_slot(slot);
            }
            return Err(refused);
        };
        let subscribers = &mut self.radix.value_mut(node).0;
        let first = subscribers.is_empty();
        let at = u32::try_from(subscribers.len()).unwrap_or(u32::MAX);
        subscribers.push(slot);
        if let Some(entry) = self.slot_mut(slot) {
            entry.topics.insert(node, at);
        }
        if first {
            self.topics += 1;
        }
        self.subscriptions += 1;
        Ok(first)
    }

    fn alloc_slot(&mut self, peer: P) -> Option<u32> {
        let entry = PeerSlot {
            peer,
            stamp: AtomicU64::new(0),
            topics: HashMap::new(),
        };
        let id = if let Some(id) = self.free_slots.pop() {
            if let Some(slot) = self.slot_mut(id) {
                // Keep the old stamp: it is never ahead of the generation counter.
                slot.peer = peer;
                slot.topics = entry.topics;
            }
            id
        } else {
            let id = u32::try_from(self.slots.len()).ok()?;
            self.slots.push(entry);
            id
        };
        self.index.insert(peer, id);
        Some(id)
    }

    /// Returns slot `s` (whose topics must already be gone) to the free list.
    fn free_slot(&mut self, s: u32) {
        if let Some(slot) = self.slots.get_mut(s as usize) {
            slot.topics = HashMap::new();
            self.index.remove(&slot.peer);
            self.free_slots.push(s);
        }
    }

    /// Removes subscriber number `at` from `node`. True when that was the topic's last one (the
    /// node is then pruned, so compute its key first).
    fn detach(&mut self, node: u32, at: u32) -> bool {
        let subscribers = &mut self.radix.value_mut(node).0;
        let at = at as usize;
        if at >= subscribers.len() {
            return false;
        }
        subscribers.swap_remove(at);
        let moved = subscribers.get(at).copied();
        let last = subscribers.is_empty();
        if let Some(moved) = moved {
            // The former last subscriber now sits at `at`.
            if let Some(slot) = self.slot_mut(moved) {
                slot.topics
                    .insert(node, u32::try_from(at).unwrap_or(u32::MAX));
            }
        }
        self.subscriptions = self.subscriptions.saturating_sub(1);
        if last {
            self.topics = self.topics.saturating_sub(1);
        }
        last
    }

    /// Unsubscribes `peer` from `topic`. True when the topic's last subscriber left (XPUB
    /// forwards that cancel); false when others remain or the peer was not subscribed to it.
    ///
    /// libzmq's `xpub_t` also forwards a cancel for a subscription it never had (`rm` returned
    /// `not_found`, marked "TODO reconsider" there); use [`contains`](Self::contains) first to
    /// reproduce that.
    pub fn remove(&mut self, topic: &[u8], peer: P) -> bool {
        let Some(&s) = self.index.get(&peer) else {
            return false;
        };
        let Some(node) = self.radix.find(topic) else {
            return false;
        };
        let Some(at) = self.slot_mut(s).and_then(|slot| slot.topics.remove(&node)) else {
            return false;
        };
        let last = self.detach(node, at);
        if last {
            self.radix.prune(node);
        }
        if self.slot(s).is_some_and(|slot| slot.topics.is_empty()) {
            self.free_slot(s);
        }
        last
    }

    /// Drops every subscription of `peer` (it disconnected), calling `on_last` with each topic
    /// that lost its last subscriber: the cancels XPUB synthesises. Topics come in no particular
    /// order.
    pub fn remove_peer(&mut self, peer: P, mut on_last: impl FnMut(&[u8])) {
        let Some(s) = self.index.get(&peer).copied() else {
            return;
        };
        let topics = self
            .slot_mut(s)
            .map(|slot| std::mem::take(&mut slot.topics))
            .unwrap_or_default();
        let mut key = Vec::new();
        for (node, at) in topics {
            // Other nodes of this peer stay occupied by it, so pruning never frees them.
            if self.detach(node, at) {
                self.radix.key_into(node, &mut key);
                on_last(&key);
                self.radix.prune(node);
            }
        }
        self.free_slot(s);
    }

    /// True when `peer` is subscribed to exactly `topic`.
    #[must_use]
    pub fn contains(&self, topic: &[u8], peer: P) -> bool {
        let (Some(&s), Some(node)) = (self.index.get(&peer), self.radix.find(topic)) else {
            return false;
        };
        self.slot(s)
            .is_some_and(|slot| slot.topics.contains_key(&node))
    }

    /// Starts a match: a generation no peer stamp holds yet.
    fn next_generation(&self) -> u64 {
        self.generation
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1)
    }

    /// Stamps every peer with a subscription that is a prefix of `data`, calling `f` on each
    /// the first time it is stamped.
    fn mark_matches(&self, data: &[u8], generation: u64, mut f: impl FnMut(P)) {
        for subscribers in self.radix.path(data) {
            for &s in &subscribers.0 {
                if let Some(slot) = self.slot(s) {
                    if slot.stamp.load(Ordering::Relaxed) != generation {
                        slot.stamp.store(generation, Ordering::Relaxed);
                        f(slot.peer);
                    }
                }
            }
        }
    }

    /// Calls `f` once for each peer that has at least one subscription that is a prefix of
    /// `data` (the message's first frame). A peer subscribed to "A" and "AB" is visited once for
    /// "ABC".
    ///
    /// No allocation: the walk reads `data` once and deduplicates with per-peer generation
    /// stamps. The stamps are relaxed atomics (plain loads and stores on common targets) so the
    /// trie stays `Sync`; two matches running at the same time on one trie from different
    /// threads are memory-safe but may visit a peer twice. A socket owns its trie, so that does
    /// not happen.
    pub fn for_each_match(&self, data: &[u8], f: impl FnMut(P)) {
        let generation = self.next_generation();
        self.mark_matches(data, generation, f);
    }

    /// ZMQ_INVERT_MATCHING: calls `f` for each of `peers` that has *no* subscription matching
    /// `data`, peers without any subscription included. `peers` is the socket's full peer list
    /// (each peer once).
    pub fn for_each_non_match(
        &self,
        data: &[u8],
        peers: impl IntoIterator<Item = P>,
        mut f: impl FnMut(P),
    ) {
        let generation = self.next_generation();
        self.mark_matches(data, generation, |_| {});
        for peer in peers {
            let matched = self
                .index
                .get(&peer)
                .and_then(|&s| self.slot(s))
                .is_some_and(|slot| slot.stamp.load(Ordering::Relaxed) == generation);
            if !matched {
                f(peer);
            }
        }
    }

    /// Number of distinct topics with at least one subscriber.
    #[must_use]
    pub fn len(&self) -> usize {
        self.topics
    }

    /// True when there is no subscription at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.topics == 0
    }

    /// Number of (topic, peer) subscriptions.
    #[must_use]
    pub fn subscription_count(&self) -> usize {
        self.subscriptions
    }

    /// Number of peers with at least one subscription.
    #[must_use]
    pub fn peer_count(&self) -> usize {
        self.index.len()
    }

    /// Number of topics `peer` is subscribed to.
    #[must_use]
    pub fn topics_of(&self, peer: P) -> usize {
        self.index
            .get(&peer)
            .and_then(|&s| self.slot(s))
            .map_or(0, |slot| slot.topics.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, HashSet};

    fn matches_of(trie: &PublisherTrie<u64>, data: &[u8]) -> Vec<u64> {
        let mut out = Vec::new();
        trie.for_each_match(data, |p| out.push(p));
        out.sort_unstable();
        out
    }

    #[test]
    fn subscriber_refcounts_like_trie_t() {
        let mut s = SubscriberTrie::new();
        assert!(s.subscribe(b"A"));
        assert!(!s.subscribe(b"A"));
        assert_eq!(s.len(), 1);
        assert!(!s.unsubscribe(b"A"));
        assert!(s.contains(b"A"));
        assert!(s.unsubscribe(b"A"));
        assert!(!s.unsubscribe(b"A"), "absent topic: no CANCEL");
        assert!(!s.unsubscribe(b"never"));
        assert!(s.is_empty());
    }

    #[test]
    fn subscriber_prefix_and_empty_topic() {
        let mut s = SubscriberTrie::new();
        assert!(!s.matches(b""));
        s.subscribe(b"abc");
        assert!(s.matches(b"abc"));
        assert!(s.matches(b"abcdef"));
        assert!(!s.matches(b"ab"));
        assert!(!s.matches(b"abd"));
        s.subscribe(b"");
        assert!(s.matches(b""));
        assert!(s.matches(b"zzz"));
        assert!(s.matches(&[0, 255, 7]));
        let topics: Vec<Bytes> = s.topics().collect();
        assert_eq!(topics, [Bytes::new(), Bytes::from_static(b"abc")]);
    }

    #[test]
    fn subscriber_binary_topics() {
        let mut s = SubscriberTrie::new();
        s.subscribe(&[0, 1, 2]);
        s.subscribe(&[0, 1, 255]);
        assert!(s.matches(&[0, 1, 2, 9]));
        assert!(s.matches(&[0, 1, 255]));
        assert!(!s.matches(&[0, 1]));
        assert_eq!(s.topics().count(), 2);
    }

    #[test]
    fn subscriber_limits() {
        let mut s = SubscriberTrie::with_limits(TrieLimits {
            max_topic_len: 3,
            max_topics: 2,
        });
        assert_eq!(
            s.try_subscribe(b"abcd"),
            Err(SubscriptionRefused::TopicTooLong { len: 4, max: 3 })
        );
        assert!(!s.subscribe(b"abcd"));
        assert!(s.subscribe(b"a"));
        assert!(s.subscribe(b"b"));
        assert_eq!(
            s.try_subscribe(b"c"),
            Err(SubscriptionRefused::TooManyTopics { max: 2 })
        );
        assert_eq!(
            s.try_subscribe(b"a"),
            Ok(false),
            "existing topic always counted"
        );
        assert!(!s.unsubscribe(b"c"));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn publisher_first_and_last_subscriber() {
        let mut t = PublisherTrie::<u64>::new();
        assert!(t.add(b"A", 1));
        assert!(!t.add(b"A", 2));
        assert!(!t.remove(b"A", 1));
        assert!(t.remove(b"A", 2));
        assert!(t.is_empty());
        assert_eq!(t.peer_count(), 0);
    }

    #[test]
    fn publisher_same_peer_twice_needs_one_cancel() {
        // libzmq mtrie: pipes per topic are a set; a repeated subscribe is absorbed and one
        // cancel removes the subscription (the second one finds nothing).
        let mut t = PublisherTrie::<u64>::new();
        assert!(t.add(b"A", 1));
        assert!(!t.add(b"A", 1));
        assert_eq!(t.subscription_count(), 1);
        assert!(t.remove(b"A", 1));
        assert!(!t.remove(b"A", 1));
        assert!(matches_of(&t, b"A").is_empty());
    }

    #[test]
    fn publisher_peer_visited_once() {
        let mut t = PublisherTrie::<u64>::new();
        t.add(b"A", 1);
        t.add(b"AB", 1);
        t.add(b"", 1);
        t.add(b"AB", 2);
        t.add(b"B", 3);
        assert_eq!(matches_of(&t, b"ABC"), [1, 2]);
        assert_eq!(matches_of(&t, b"A"), [1]);
        assert_eq!(matches_of(&t, b"B"), [1, 3]);
        assert_eq!(matches_of(&t, b""), [1]);
        let mut inverted = Vec::new();
        t.for_each_non_match(b"ABC", [1, 2, 3, 4], |p| inverted.push(p));
        assert_eq!(inverted, [3, 4]);
    }

    #[test]
    fn publisher_empty_topic_matches_all() {
        let mut t = PublisherTrie::<u64>::new();
        t.add(b"", 7);
        assert_eq!(matches_of(&t, b""), [7]);
        assert_eq!(matches_of(&t, &[0xff; 100]), [7]);
    }

    #[test]
    fn publisher_remove_peer_synthesises_cancels() {
        let mut t = PublisherTrie::<u64>::new();
        t.add(b"A", 1);
        t.add(b"AB", 1);
        t.add(b"C", 1);
        t.add(b"", 1);
        t.add(b"A", 2);
        t.add(b"C", 3);
        let mut cancels = BTreeSet::new();
        t.remove_peer(1, |topic| {
            cancels.insert(topic.to_vec());
        });
        let expected: BTreeSet<Vec<u8>> = [&b"AB"[..], b""].iter().map(|t| t.to_vec()).collect();
        assert_eq!(cancels, expected);
        assert_eq!(matches_of(&t, b"ABC"), [2]);
        assert_eq!(matches_of(&t, b"C"), [3]);
        assert_eq!(t.len(), 2);
        assert_eq!(t.topics_of(1), 0);
        t.remove_peer(1, |_| panic!("no subscriptions left"));
        t.remove_peer(9, |_| panic!("unknown peer"));
        t.remove_peer(2, |topic| assert_eq!(topic, b"A"));
        t.remove_peer(3, |topic| assert_eq!(topic, b"C"));
        assert!(t.is_empty());
        assert_eq!(t.radix.live_nodes(), 1);
    }

    #[test]
    fn publisher_limits_per_peer() {
        let mut t = PublisherTrie::<u64>::with_limits(TrieLimits {
            max_topic_len: 4,
            max_topics: 1,
        });
        assert!(t.add(b"a", 1));
        assert_eq!(
            t.try_add(b"b", 1),
            Err(SubscriptionRefused::TooManyTopics { max: 1 })
        );
        assert_eq!(t.try_add(b"a", 1), Ok(false));
        assert!(t.add(b"b", 2), "the limit is per peer");
        assert!(matches!(
            t.try_add(b"xxxxx", 3),
            Err(SubscriptionRefused::TopicTooLong { .. })
        ));
        assert!(!t.remove(b"b", 1));
        assert_eq!(t.peer_count(), 2);
    }

    #[test]
    fn publisher_ten_thousand_subscriptions() {
        let mut t = PublisherTrie::<u64>::with_limits(TrieLimits::UNLIMITED);
        for i in 0..10_000u64 {
            let topic = format!("topic.{i:05}.x");
            assert!(t.add(topic.as_bytes(), i % 100));
        }
        assert_eq!(t.len(), 10_000);
        assert_eq!(matches_of(&t, b"topic.04242.x and more"), [42]);
        assert!(matches_of(&t, b"topic.04242").is_empty());
        for i in 0..10_000u64 {
            t.add(b"topic.", i);
        }
        let mut n = 0;
        for _ in 0..100 {
            n = 0;
            t.for_each_match(b"topic.00001.x", |_| n += 1);
        }
        assert_eq!(n, 10_000);
        for p in 0..10_000u64 {
            t.remove_peer(p, |_| {});
        }
        assert!(t.is_empty());
        assert_eq!(t.radix.live_nodes(), 1);
    }

    fn topic() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(proptest::sample::select(vec![b'a', b'b', 0u8]), 0..4)
    }

    #[derive(Debug, Clone)]
    enum PubOp {
        Add(Vec<u8>, u64),
        Remove(Vec<u8>, u64),
        RemovePeer(u64),
        Match(Vec<u8>),
    }

    fn pub_op() -> impl Strategy<Value = PubOp> {
        prop_oneof![
            4 => (topic(), 0..5u64).prop_map(|(t, p)| PubOp::Add(t, p)),
            2 => (topic(), 0..5u64).prop_map(|(t, p)| PubOp::Remove(t, p)),
            1 => (0..5u64).prop_map(PubOp::RemovePeer),
            3 => proptest::collection::vec(proptest::sample::select(vec![b'a', b'b', 0u8]), 0..6)
                .prop_map(PubOp::Match),
        ]
    }

    #[derive(Debug, Clone)]
    enum SubOp {
        Subscribe(Vec<u8>),
        Unsubscribe(Vec<u8>),
        Match(Vec<u8>),
    }

    fn sub_op() -> impl Strategy<Value = SubOp> {
        prop_oneof![
            3 => topic().prop_map(SubOp::Subscribe),
            3 => topic().prop_map(SubOp::Unsubscribe),
            2 => proptest::collection::vec(proptest::sample::select(vec![b'a', b'b', 0u8]), 0..6)
                .prop_map(SubOp::Match),
        ]
    }

    proptest! {
        #[test]
        fn publisher_agrees_with_naive_model(ops in proptest::collection::vec(pub_op(), 0..60)) {
            let mut trie = PublisherTrie::<u64>::new();
            let mut model: Vec<(Vec<u8>, u64)> = Vec::new();
            for op in ops {
                match op {
                    PubOp::Add(t, p) => {
                        let first = !model.iter().any(|(mt, _)| *mt == t);
                        let dup = model.iter().any(|(mt, mp)| *mt == t && *mp == p);
                        if !dup {
                            model.push((t.clone(), p));
                        }
                        prop_assert_eq!(trie.add(&t, p), first);
                    }
                    PubOp::Remove(t, p) => {
                        let had = model.iter().any(|(mt, mp)| *mt == t && *mp == p);
                        model.retain(|(mt, mp)| !(*mt == t && *mp == p));
                        let last = had && !model.iter().any(|(mt, _)| *mt == t);
                        prop_assert_eq!(trie.remove(&t, p), last);
                    }
                    PubOp::RemovePeer(p) => {
                        let mine: BTreeSet<Vec<u8>> =
                            model.iter().filter(|(_, mp)| *mp == p).map(|(t, _)| t.clone()).collect();
                        model.retain(|(_, mp)| *mp != p);
                        let expected: BTreeSet<Vec<u8>> = mine
                            .into_iter()
                            .filter(|t| !model.iter().any(|(mt, _)| mt == t))
                            .collect();
                        let mut got = Vec::new();
                        trie.remove_peer(p, |t| got.push(t.to_vec()));
                        let got_set: BTreeSet<Vec<u8>> = got.iter().cloned().collect();
                        prop_assert_eq!(got.len(), got_set.len());
                        prop_assert_eq!(got_set, expected);
                    }
                    PubOp::Match(data) => {
                        let expected: BTreeSet<u64> = model
                            .iter()
                            .filter(|(t, _)| data.starts_with(t))
                            .map(|(_, p)| *p)
                            .collect();
                        let got = matches_of(&trie, &data);
                        let got_set: BTreeSet<u64> = got.iter().copied().collect();
                        prop_assert_eq!(got.len(), got_set.len(), "a peer visited twice");
                        prop_assert_eq!(&got_set, &expected);
                        let mut inverted = BTreeSet::new();
                        trie.for_each_non_match(&data, 0..6u64, |p| {
                            inverted.insert(p);
                        });
                        let expected_inv: BTreeSet<u64> =
                            (0..6u64).filter(|p| !expected.contains(p)).collect();
                        prop_assert_eq!(inverted, expected_inv);
                    }
                }
                let topics: HashSet<&Vec<u8>> = model.iter().map(|(t, _)| t).collect();
                prop_assert_eq!(trie.len(), topics.len());
                prop_assert_eq!(trie.subscription_count(), model.len());
                let peers: HashSet<u64> = model.iter().map(|(_, p)| *p).collect();
                prop_assert_eq!(trie.peer_count(), peers.len());
                prop_assert!(trie.radix.live_nodes() <= 2 * topics.len() + 1);
            }
        }

        #[test]
        fn subscriber_agrees_with_counting_model(ops in proptest::collection::vec(sub_op(), 0..60)) {
            let mut trie = SubscriberTrie::new();
            let mut model: HashMap<Vec<u8>, u32> = HashMap::new();
            for op in ops {
                match op {
                    SubOp::Subscribe(t) => {
                        let count = model.entry(t.clone()).or_insert(0);
                        *count += 1;
                        prop_assert_eq!(trie.subscribe(&t), *count == 1);
                    }
                    SubOp::Unsubscribe(t) => {
                        let last = match model.get_mut(&t) {
                            Some(count) => {
                                *count -= 1;
                                *count == 0
                            }
                            None => false,
                        };
                        if last {
                            model.remove(&t);
                        }
                        prop_assert_eq!(trie.unsubscribe(&t), last);
                    }
                    SubOp::Match(data) => {
                        let expected = model.keys().any(|t| data.starts_with(t));
                        prop_assert_eq!(trie.matches(&data), expected);
                    }
                }
                prop_assert_eq!(trie.len(), model.len());
                let topics: BTreeSet<Vec<u8>> = trie.topics().map(|t| t.to_vec()).collect();
                let expected: BTreeSet<Vec<u8>> = model.keys().cloned().collect();
                prop_assert_eq!(trie.topics().count(), topics.len());
                prop_assert_eq!(topics, expected);
                prop_assert!(trie.radix.live_nodes() <= 2 * model.len() + 1);
            }
        }
    }
}
