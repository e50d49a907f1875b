//! [`Socket::split`]: a socket that both sends and receives freely (DEALER, ROUTER, PAIR), as
//! two halves that can be used at the same time, from two tasks.

use super::base::SocketBase;
use super::inbox::Inbox;
use super::outbox::Outbox;
use super::{Kind, Socket};
use crate::monitor::Monitor;
use std::marker::PhantomData;
use std::sync::Arc;

/// Socket types that can be [split](Socket::split) into a [`SendHalf`] and a [`RecvHalf`]:
/// [`Dealer`](super::Dealer), [`Router`](super::Router) and [`Pair`](super::Pair), whose
/// sending and receiving are independent of each other.
pub trait Splittable: Kind {}

/// The sending half of a [split](Socket::split) socket.
pub struct SendHalf<K: Kind> {
    pub(super) base: Arc<SocketBase>,
    pub(super) outbox: Outbox,
    _kind: PhantomData<K>,
}

/// The receiving half of a [split](Socket::split) socket.
pub struct RecvHalf<K: Kind> {
    pub(super) base: Arc<SocketBase>,
    pub(super) inbox: Inbox,
    _kind: PhantomData<K>,
}

impl<K: Splittable> Socket<K> {
    /// Splits the socket into a half that sends and a half that receives, which can be used
    /// concurrently (moved into two tasks, or polled together). The endpoints and options are
    /// fixed from now on; the socket closes when both halves are dropped (connections write
    /// what is queued, for at most LINGER, in the background).
    pub fn split(self) -> (SendHalf<K>, RecvHalf<K>) {
        let Self {
            base,
            outbox,
            inbox,
            kind: _,
        } = self;
        let base = Arc::new(base);
        let send = SendHalf {
            base: base.clone(),
            outbox,
            _kind: PhantomData,
        };
        let recv = RecvHalf {
            base,
            inbox,
            _kind: PhantomData,
        };
        (send, recv)
    }
}

impl<K: Kind> SendHalf<K> {
    /// The socket's events (replacing any earlier monitor).
    pub fn monitor(&self) -> Monitor {
        self.base.monitor()
    }
}

impl<K: Kind> RecvHalf<K> {
    /// The socket's events (replacing any earlier monitor).
    pub fn monitor(&self) -> Monitor {
        self.base.monitor()
    }
}

impl<K: Kind> std::fmt::Debug for SendHalf<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendHalf")
            .field("type", &K::TYPE)
            .finish_non_exhaustive()
    }
}

impl<K: Kind> std::fmt::Debug for RecvHalf<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvHalf")
            .field("type", &K::TYPE)
            .finish_non_exhaustive()
    }
}
