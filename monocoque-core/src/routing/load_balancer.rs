//! Round-robin choice of the next peer to send to (DEALER, PUSH, REQ).
//!
//! libzmq's `lb_t` (src/lb.cpp) keeps the pipes in an array whose first part is the "active"
//! ones, swapping a pipe out of that part when its queue fills up and swapping a terminated pipe
//! with the last active one. Those swaps reorder the rotation. [`LoadBalancer`] keeps the peers
//! in their order of arrival instead and asks the socket, at each pick, which peers are ready
//! (their outbound queue is not full); a removal shifts the cursor with the peers, so it never
//! skips a peer, which the seed's ROUTER load balancer did when a peer before the cursor left.
//! As in libzmq the cursor moves on after each *message* (here: each pick), and a message is
//! handed to one peer as a whole.

use std::hash::Hash;

/// Peers in arrival order with a round-robin cursor.
///
/// ```
/// use monocoque_core::routing::LoadBalancer;
/// let mut lb = LoadBalancer::new();
/// lb.add(1u64);
/// lb.add(2);
/// lb.add(3);
/// assert_eq!(lb.next_ready(|_| true), Some(1));
/// assert_eq!(lb.next_ready(|p| p != 2), Some(3)); // 2 is full: skipped, not dropped
/// assert_eq!(lb.next_ready(|_| true), Some(1));
/// ```
#[derive(Debug, Clone)]
pub struct LoadBalancer<P> {
    peers: Vec<P>,
    /// Index of the peer to try first. It may equal `peers.len()` (the last peer was just
    /// picked): a peer added then gets the next turn, otherwise the rotation wraps to the start.
    cursor: usize,
}

impl<P> Default for LoadBalancer<P> {
    fn default() -> Self {
        Self {
            peers: Vec::new(),
            cursor: 0,
        }
    }
}

impl<P: Copy + Eq + Hash> LoadBalancer<P> {
    /// An empty rotation.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `peer` at the end of the rotation. False (and nothing changes) when it is
    /// already there.
    pub fn add(&mut self, peer: P) -> bool {
        if self.peers.contains(&peer) {
            return false;
        }
        self.peers.push(peer);
        true
    }

    /// Removes `peer` and returns the position it had in [`peers`](Self::peers) (`None` when
    /// it was not there), for callers that keep a vector in the same order. The peer the
    /// cursor designates stays the next one tried (or, if `peer` was that one, the peer after
    /// it).
    pub fn remove(&mut self, peer: P) -> Option<usize> {
        let pos = self.peers.iter().position(|&p| p == peer)?;
        self.peers.remove(pos);
        if pos < self.cursor {
            self.cursor -= 1;
        }
        Some(pos)
    }

    /// The first peer, starting at the cursor and going round once, for which `is_ready`
    /// returns true; the cursor then moves past it. `None` (cursor unchanged) when no peer is
    /// ready: the socket blocks or returns EAGAIN, it never drops.
    pub fn next_ready(&mut self, mut is_ready: impl FnMut(P) -> bool) -> Option<P> {
        let peers = &self.peers;
        let at = pick(peers.len(), &mut self.cursor, |at| is_ready(peers[at]))?;
        Some(peers[at])
    }

    /// [`next_ready`](Self::next_ready) by position: `is_ready` gets, and the result is, an
    /// index into [`peers`](Self::peers), for callers that keep each peer's state in a vector
    /// in the same order (no lookup per pick).
    pub fn next_ready_position(&mut self, is_ready: impl FnMut(usize) -> bool) -> Option<usize> {
        pick(self.peers.len(), &mut self.cursor, is_ready)
    }

    /// True when `peer` is in the rotation.
    #[must_use]
    pub fn contains(&self, peer: P) -> bool {
        self.peers.contains(&peer)
    }

    /// The peers, in rotation order (not starting at the cursor).
    #[must_use]
    pub fn peers(&self) -> &[P] {
        &self.peers
    }

    /// Number of peers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// True when there is no peer.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

/// The first position, from `cursor` round `len` positions once, that `is_ready` accepts; the
/// cursor then moves past it.
fn pick(len: usize, cursor: &mut usize, mut is_ready: impl FnMut(usize) -> bool) -> Option<usize> {
    let start = if *cursor < len { *cursor } else { 0 };
    for step in 0..len {
        let mut at = start + step;
        if at >= len {
            at -= len;
        }
        if is_ready(at) {
            *cursor = at + 1;
            return Some(at);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn take(lb: &mut LoadBalancer<u64>, n: usize) -> Vec<u64> {
        (0..n).filter_map(|_| lb.next_ready(|_| true)).collect()
    }

    fn with(peers: &[u64]) -> LoadBalancer<u64> {
        let mut lb = LoadBalancer::new();
        for &p in peers {
            assert!(lb.add(p));
        }
        lb
    }

    #[test]
    fn round_robin() {
        let mut lb = with(&[1, 2, 3]);
        assert!(!lb.add(2));
        assert_eq!(take(&mut lb, 7), [1, 2, 3, 1, 2, 3, 1]);
    }

    #[test]
    fn empty_and_none_ready() {
        let mut lb = LoadBalancer::<u64>::new();
        assert_eq!(lb.next_ready(|_| true), None);
        assert_eq!(lb.remove(1), None);
        let mut lb = with(&[1, 2]);
        assert_eq!(lb.next_ready(|_| false), None);
        assert_eq!(
            lb.next_ready(|_| true),
            Some(1),
            "a failed pass keeps the cursor"
        );
    }

    #[test]
    fn skips_unready_without_losing_turns() {
        let mut lb = with(&[1, 2, 3]);
        assert_eq!(lb.next_ready(|p| p == 3), Some(3));
        assert_eq!(lb.next_ready(|_| true), Some(1));
    }

    #[test]
    fn removal_before_cursor_does_not_skip() {
        let mut lb = with(&[1, 2, 3, 4]);
        assert_eq!(take(&mut lb, 2), [1, 2]);
        // The cursor designates 3; removing 1 (before it) must not skip 3.
        assert_eq!(lb.remove(1), Some(0));
        assert_eq!(take(&mut lb, 4), [3, 4, 2, 3]);
    }

    #[test]
    fn removal_at_and_after_cursor() {
        let mut lb = with(&[1, 2, 3, 4]);
        assert_eq!(take(&mut lb, 2), [1, 2]);
        assert_eq!(lb.remove(3), Some(2)); // the designated peer: its successor comes next
        assert_eq!(take(&mut lb, 1), [4]);
        assert_eq!(lb.remove(4), Some(2)); // cursor wrapped to the end: back to the start
        assert_eq!(take(&mut lb, 3), [1, 2, 1]);
        assert_eq!(lb.remove(2), Some(1));
        assert_eq!(lb.remove(1), Some(0));
        assert!(lb.is_empty());
        assert_eq!(lb.next_ready(|_| true), None);
        lb.add(9);
        assert_eq!(take(&mut lb, 2), [9, 9]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u64),
        Remove(u64),
        Next(u8),
    }

    proptest! {
        /// Model: the next peer is the first in rotation order after the last one picked that
        /// is still present (or, if that one left, the first after its old position).
        #[test]
        fn never_skips(ops in proptest::collection::vec(prop_oneof![
            (0..8u64).prop_map(Op::Add),
            (0..8u64).prop_map(Op::Remove),
            any::<u8>().prop_map(Op::Next),
        ], 0..80)) {
            let mut lb = LoadBalancer::new();
            // Model: every peer ever added gets an increasing ticket; the rotation is the
            // present peers ordered by ticket, and `last` is the ticket of the last pick.
            let mut present: Vec<(u64, u64)> = Vec::new(); // (ticket, peer)
            let mut ticket = 0u64;
            let mut last: Option<u64> = None;
            for op in ops {
                match op {
                    Op::Add(p) => {
                        let new = !present.iter().any(|&(_, q)| q == p);
                        if new {
                            present.push((ticket, p));
                            ticket += 1;
                        }
                        prop_assert_eq!(lb.add(p), new);
                    }
                    Op::Remove(p) => {
                        let had = present.iter().any(|&(_, q)| q == p);
                        present.retain(|&(_, q)| q != p);
                        prop_assert_eq!(lb.remove(p).is_some(), had);
                    }
                    Op::Next(mask) => {
                        let ready = |p: u64| mask & (1 << p) != 0;
                        let after: Vec<&(u64, u64)> = match last {
                            Some(t) => present.iter().filter(|e| e.0 > t)
                                .chain(present.iter().filter(|e| e.0 <= t)).collect(),
                            None => present.iter().collect(),
                        };
                        let expected = after.into_iter().find(|e| ready(e.1)).copied();
                        let got = lb.next_ready(ready);
                        prop_assert_eq!(got, expected.map(|e| e.1));
                        if let Some((t, _)) = expected {
                            last = Some(t);
                        }
                    }
                }
                prop_assert_eq!(lb.len(), present.len());
                let order: Vec<u64> = present.iter().map(|e| e.1).collect();
                prop_assert_eq!(lb.peers(), &order[..]);
            }
        }
    }
}
