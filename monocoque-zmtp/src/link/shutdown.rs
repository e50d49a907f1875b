//! The one shutdown signal of a socket's tasks: a tree of [`Shutdown`] nodes.
//!
//! A socket owns a root node; each bound or connected endpoint a child of it; each connection a
//! child of its endpoint. Triggering a node triggers its whole subtree: closing the socket stops
//! everything, unbinding an endpoint stops its accept loop and its connections, and a single
//! connection can be stopped alone (ROUTER_HANDOVER evicting a peer). A task waits on one node
//! only, with one atomic load per poll while nothing happens.

use futures::task::AtomicWaker;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

/// How a connection is to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stop {
    /// Stop reading, write out what is queued (within LINGER), then close.
    Close,
    /// Close at once (the peer was evicted).
    Abort,
}

fn encode(stop: Stop) -> u8 {
    match stop {
        Stop::Close => 1,
        Stop::Abort => 2,
    }
}

fn decode(state: u8) -> Option<Stop> {
    match state {
        1 => Some(Stop::Close),
        2 => Some(Stop::Abort),
        _ => None,
    }
}

#[derive(Debug, Default)]
struct Node {
    /// 0 while running, then the encoded [`Stop`].
    state: AtomicU8,
    /// The one task waiting on this node.
    waiter: AtomicWaker,
    children: Mutex<Vec<Weak<Node>>>,
}

impl Node {
    fn trigger(&self, stop: Stop) {
        // Keep the stronger stop: an abort is not weakened into a close.
        let previous = self.state.fetch_max(encode(stop), Ordering::AcqRel);
        if previous >= encode(stop) {
            return;
        }
        self.waiter.wake();
        let children =
            std::mem::take(&mut *self.children.lock().unwrap_or_else(|p| p.into_inner()));
        for child in children.iter().filter_map(Weak::upgrade) {
            child.trigger(stop);
        }
    }
}

/// A handle on one node of a shutdown tree; clones share the node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shutdown {
    node: Arc<Node>,
}

impl Shutdown {
    /// A new root.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new node below this one: triggered with it, or on its own.
    pub fn child(&self) -> Self {
        let child = Self::new();
        let mut children = self.node.children.lock().unwrap_or_else(|p| p.into_inner());
        // Checked under the lock `trigger` takes to hand the stop down, so a child made while
        // its parent is being triggered is triggered too.
        if let Some(stop) = self.stopped() {
            drop(children);
            child.trigger(stop);
            return child;
        }
        children.retain(|c| c.strong_count() > 0);
        children.push(Arc::downgrade(&child.node));
        child
    }

    /// Stops this node and everything below it.
    pub fn trigger(&self, stop: Stop) {
        self.node.trigger(stop);
    }

    /// How this node was stopped, if it was.
    pub fn stopped(&self) -> Option<Stop> {
        decode(self.node.state.load(Ordering::Acquire))
    }

    /// Ready once the node is stopped; one task at a time may wait.
    pub fn poll(&self, cx: &mut Context<'_>) -> Poll<Stop> {
        if let Some(stop) = self.stopped() {
            return Poll::Ready(stop);
        }
        self.node.waiter.register(cx.waker());
        match self.stopped() {
            Some(stop) => Poll::Ready(stop),
            None => Poll::Pending,
        }
    }

    /// Waits until the node is stopped.
    pub async fn wait(&self) -> Stop {
        std::future::poll_fn(|cx| self.poll(cx)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_reaches_the_subtree_only() {
        let root = Shutdown::new();
        let endpoint = root.child();
        let (a, b) = (endpoint.child(), endpoint.child());
        let other = root.child();
        a.trigger(Stop::Abort);
        assert_eq!(a.stopped(), Some(Stop::Abort));
        assert_eq!((b.stopped(), endpoint.stopped()), (None, None));
        endpoint.trigger(Stop::Close);
        assert_eq!(b.stopped(), Some(Stop::Close));
        assert_eq!(a.stopped(), Some(Stop::Abort), "an abort stays an abort");
        assert_eq!(other.stopped(), None);
        root.trigger(Stop::Close);
        assert_eq!(other.stopped(), Some(Stop::Close));
        // Children of a stopped node start stopped.
        assert_eq!(endpoint.child().stopped(), Some(Stop::Close));
    }

    #[test]
    fn the_waiting_task_is_woken() {
        let root = Shutdown::new();
        let child = root.child();
        let waiter = std::thread::spawn({
            let child = child.clone();
            move || futures::executor::block_on(child.wait())
        });
        root.trigger(Stop::Close);
        assert_eq!(waiter.join().unwrap(), Stop::Close);
    }

    #[test]
    fn dropped_children_are_forgotten() {
        let root = Shutdown::new();
        for _ in 0..100 {
            drop(root.child());
        }
        let _kept = root.child();
        assert!(root.node.children.lock().unwrap().len() <= 2);
    }
}
