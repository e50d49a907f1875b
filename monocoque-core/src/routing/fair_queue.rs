//! Round-robin choice of the next peer to read from (PULL, SUB, XSUB, DEALER, ROUTER, REP, XPUB
//! upstream messages).
//!
//! libzmq's `fq_t` (src/fq.cpp) reads from the current pipe and moves on to the next one after
//! each complete message, skipping pipes with nothing to read, so one busy peer cannot starve the
//! others. [`FairQueue`] is that rotation for sockets that keep one inbound queue per peer: the
//! socket asks which peer to read next, passing "this peer's queue is not empty".

use std::hash::Hash;

use super::LoadBalancer;

/// Peers in arrival order with a round-robin cursor, for the receive side.
///
/// ```
/// use monocoque_core::routing::FairQueue;
/// let mut fq = FairQueue::new();
/// fq.add(1u64);
/// fq.add(2);
/// let backlog = |p: u64| p == 1; // only peer 1 has messages queued
/// assert_eq!(fq.next_ready(backlog), Some(1));
/// assert_eq!(fq.next_ready(|_| true), Some(2)); // 2's turn, once it has something
/// ```
#[derive(Debug, Clone)]
pub struct FairQueue<P> {
    rotation: LoadBalancer<P>,
}

impl<P> Default for FairQueue<P> {
    fn default() -> Self {
        Self {
            rotation: LoadBalancer::default(),
        }
    }
}

impl<P: Copy + Eq + Hash> FairQueue<P> {
    /// An empty rotation.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `peer` at the end of the rotation. False when it is already there.
    pub fn add(&mut self, peer: P) -> bool {
        self.rotation.add(peer)
    }

    /// Removes `peer` (it disconnected; the socket drops its queued messages). False when it was
    /// not there. Never makes the rotation skip another peer.
    pub fn remove(&mut self, peer: P) -> bool {
        self.rotation.remove(peer)
    }

    /// The peer to read the next message from: the first, starting at the cursor and going round
    /// once, for which `has_message` is true. The cursor then moves past it. `None` when no peer
    /// has anything.
    pub fn next_ready(&mut self, has_message: impl FnMut(P) -> bool) -> Option<P> {
        self.rotation.next_ready(has_message)
    }

    /// True when `peer` is in the rotation.
    #[must_use]
    pub fn contains(&self, peer: P) -> bool {
        self.rotation.contains(peer)
    }

    /// The peers, in rotation order.
    #[must_use]
    pub fn peers(&self) -> &[P] {
        self.rotation.peers()
    }

    /// Number of peers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rotation.len()
    }

    /// True when there is no peer.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rotation.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, VecDeque};

    #[test]
    fn busy_peer_does_not_starve_others() {
        let mut fq = FairQueue::new();
        let mut queues: HashMap<u64, VecDeque<u32>> = HashMap::new();
        for p in [1u64, 2, 3] {
            fq.add(p);
        }
        queues.insert(1, (0..10).collect());
        queues.insert(2, [100].into());
        queues.insert(3, [200, 201].into());
        let mut order = Vec::new();
        while let Some(p) = fq.next_ready(|p| queues.get(&p).is_some_and(|q| !q.is_empty())) {
            order.push(queues.get_mut(&p).and_then(VecDeque::pop_front).unwrap());
        }
        assert_eq!(&order[..6], &[0, 100, 200, 1, 201, 2]);
        assert_eq!(order.len(), 13);
    }

    #[test]
    fn removal_keeps_turns() {
        let mut fq = FairQueue::new();
        for p in [1u64, 2, 3] {
            fq.add(p);
        }
        assert_eq!(fq.next_ready(|_| true), Some(1));
        assert!(fq.remove(1));
        assert!(!fq.remove(1));
        assert_eq!(fq.next_ready(|_| true), Some(2));
        assert_eq!(fq.next_ready(|_| true), Some(3));
        assert_eq!(fq.peers(), &[2, 3]);
        assert!(fq.contains(2) && !fq.contains(1));
        assert_eq!(fq.len(), 2);
        assert!(!fq.is_empty());
    }
}
