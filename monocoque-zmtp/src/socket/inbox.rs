//! The receiving side of a socket: the inbound queue every connection fills, drained a batch at
//! a time.
//!
//! The queue is made on first use, so that RCVHWM (or CONFLATE) set after the socket was made
//! still applies. Taking an item is the only thing that consumes it, and the socket types
//! decide (filter, strip envelopes, record who asked) in the same step, so a cancelled receive
//! loses nothing.

use crate::link::Inbound;
use crate::link::queue::{self, Room};
use monocoque_core::runtime::{RuntimeHandle, timeout};
use monocoque_core::{Error, Result, SocketOptions};
use std::collections::VecDeque;
use std::task::{Context, Poll};
use std::time::Duration;

/// Most received items taken off the inbound queue at once (one lock for the batch): all of
/// them, swapping buffers with the queue, so up to RCVHWM more can be received meanwhile.
const RECV_BATCH: usize = usize::MAX;

/// A socket's receiving side.
pub(crate) struct Inbox {
    /// Both ends of the inbound queue, once made; connections get clones of the sender.
    queue: Option<(queue::Sender<Inbound>, queue::Receiver<Inbound>)>,
    /// Taken off the queue in one batch, not yet received.
    batch: VecDeque<Inbound>,
    runtime: RuntimeHandle,
}

impl Inbox {
    pub fn new(runtime: RuntimeHandle) -> Self {
        Self {
            queue: None,
            batch: VecDeque::new(),
            runtime,
        }
    }

    /// The producing end for a new connection, making the queue (RCVHWM deep, or one
    /// conflating item) on first use.
    pub fn sender(&mut self, options: &SocketOptions) -> queue::Sender<Inbound> {
        self.make_queue(options);
        let (tx, _) = self.queue.as_ref().expect("made above");
        tx.clone()
    }

    fn make_queue(&mut self, options: &SocketOptions) {
        if self.queue.is_none() {
            self.queue = Some(if options.conflate {
                queue::conflating(Room::new())
            } else {
                queue::bounded(options.rcvhwm, Room::new())
            });
        }
    }

    /// How many items to take at once: one when conflating, so that nothing stale waits
    /// outside the queue.
    fn max_batch(options: &SocketOptions) -> usize {
        if options.conflate { 1 } else { RECV_BATCH }
    }

    /// The next item if one is waiting.
    pub fn try_next(&mut self, options: &SocketOptions) -> Option<Inbound> {
        if let Some(item) = self.batch.pop_front() {
            return Some(item);
        }
        let (_, rx) = self.queue.as_ref()?;
        rx.drain_into(&mut self.batch, Self::max_batch(options));
        self.batch.pop_front()
    }

    /// Polls for the next item. Connections wake the waiting task when they add to an empty
    /// queue. Nothing is held across polls, so polling several sockets in turn loses nothing.
    pub fn poll_next(&mut self, options: &SocketOptions, cx: &mut Context<'_>) -> Poll<Inbound> {
        loop {
            if let Some(item) = self.batch.pop_front() {
                return Poll::Ready(item);
            }
            let max = Self::max_batch(options);
            self.make_queue(options);
            let (_, rx) = self.queue.as_ref().expect("made above");
            // The socket holds a sender itself: the queue never ends while it exists.
            if rx.poll_drain(cx, &mut self.batch, max).is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// Polls until `accept` takes an item (the others are dropped).
    pub fn poll_accept<T>(
        &mut self,
        options: &SocketOptions,
        cx: &mut Context<'_>,
        mut accept: impl FnMut(Inbound) -> Option<T>,
    ) -> Poll<T> {
        loop {
            let item = std::task::ready!(self.poll_next(options, cx));
            if let Some(t) = accept(item) {
                return Poll::Ready(t);
            }
        }
    }

    /// Takes waiting items until `accept` takes one (the others are dropped); never waits.
    pub fn try_accept<T>(
        &mut self,
        options: &SocketOptions,
        mut accept: impl FnMut(Inbound) -> Option<T>,
    ) -> Result<T> {
        loop {
            let item = self.try_next(options).ok_or(Error::WouldBlock)?;
            if let Some(t) = accept(item) {
                return Ok(t);
            }
        }
    }

    /// Receives until `accept` takes an item (the others are dropped), waiting at most
    /// RCVTIMEO for it.
    ///
    /// Cancel safety: an item is taken only in the poll that returns it.
    pub async fn recv<T>(
        &mut self,
        options: &SocketOptions,
        mut accept: impl FnMut(Inbound) -> Option<T>,
    ) -> Result<T> {
        let rcvtimeo = options.rcvtimeo;
        if rcvtimeo == Some(Duration::ZERO) {
            return self.try_accept(options, accept);
        }
        let runtime = rcvtimeo.map(|_| self.runtime.clone());
        let wait = std::future::poll_fn(|cx| self.poll_accept(options, cx, &mut accept));
        match runtime {
            None => Ok(wait.await),
            Some(runtime) => {
                // The timer's state lives on the heap: the future of every `recv` stays small.
                Box::pin(timeout(&*runtime, rcvtimeo, wait))
                    .await
                    .ok_or(Error::Timeout)
            }
        }
    }
}
