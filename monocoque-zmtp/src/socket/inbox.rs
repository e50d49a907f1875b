//! The receiving side of a socket: one inbound queue (pipe) per connection, RCVHWM deep as
//! libzmq's, taken from in turn, one message per pipe (libzmq's fair queuing), each pipe
//! drained a batch at a time.
//!
//! The pipes are made on first use, so that RCVHWM (or CONFLATE) set after the socket was made
//! still applies. Taking an item is the only thing that consumes it, and the socket types
//! decide (filter, strip envelopes, record who asked) in the same step, so a cancelled receive
//! loses nothing.
//!
//! Which pipes have something is known without looking at each: a pipe found empty registers
//! a waker of its own, which the connection's next item wakes; that waker puts the pipe on the
//! ready list and wakes the socket's task. A receive takes the next message from the next pipe
//! in the rotation of pipes with items, so three senders' messages come one from each in turn
//! however fast each one is, and a socket with many idle peers looks only at the busy ones.
//! With CONFLATE all connections share one conflating queue (only the newest message counts).

use crate::link::Inbound;
use crate::link::queue::{self, Room};
use futures::task::{ArcWake, AtomicWaker};
use monocoque_core::runtime::{RuntimeHandle, timeout};
use monocoque_core::{Error, Result, SocketOptions};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Most items taken off one pipe at once (one lock for the batch): all of them, swapping
/// buffers with the queue, so up to RCVHWM more can be received meanwhile.
const RECV_BATCH: usize = usize::MAX;

/// What a socket shares with its connections: where each new connection gets its pipe.
pub(crate) struct InboundPipes {
    /// RCVHWM of each pipe.
    capacity: usize,
    /// CONFLATE: every connection gets a clone of this one conflating queue instead.
    conflating: Option<queue::Sender<Inbound>>,
    /// Pipes opened and not yet taken in by the socket, and the ready list.
    shared: Mutex<Shared>,
    /// Whether `shared` has anything for the socket (read without the lock).
    pending: AtomicBool,
    /// The socket's waiting task.
    task: AtomicWaker,
}

#[derive(Default)]
struct Shared {
    opened: Vec<queue::Receiver<Inbound>>,
    /// Pipes (by slot) that turned non-empty since the socket last looked.
    ready: Vec<usize>,
}

impl InboundPipes {
    fn new(options: &SocketOptions) -> Arc<Self> {
        let conflating = options.conflate.then(|| queue::conflating(Room::new()));
        let (conflating_tx, conflating_rx) = match conflating {
            Some((tx, rx)) => (Some(tx), Some(rx)),
            None => (None, None),
        };
        Arc::new(Self {
            capacity: options.rcvhwm,
            conflating: conflating_tx,
            shared: Mutex::new(Shared {
                opened: conflating_rx.into_iter().collect(),
                ready: Vec::new(),
            }),
            pending: AtomicBool::new(true),
            task: AtomicWaker::new(),
        })
    }

    /// A pipe for a new connection (its end is the returned sender).
    pub fn open(&self) -> queue::Sender<Inbound> {
        if let Some(tx) = &self.conflating {
            return tx.clone();
        }
        let (tx, rx) = queue::bounded(self.capacity, Room::new());
        self.lock().opened.push(rx);
        self.pending.store(true, Ordering::Release);
        self.task.wake();
        tx
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for InboundPipes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundPipes")
            .field("capacity", &self.capacity)
            .field("conflating", &self.conflating.is_some())
            .finish_non_exhaustive()
    }
}

/// The waker a pipe registers when found empty: its next item puts it on the ready list.
/// Weak: the queue holds it, and the conflating queue is held by the pipes in turn.
struct PipeSignal {
    pipes: Weak<InboundPipes>,
    slot: usize,
}

impl ArcWake for PipeSignal {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let Some(pipes) = arc_self.pipes.upgrade() else {
            return;
        };
        pipes.lock().ready.push(arc_self.slot);
        pipes.pending.store(true, Ordering::Release);
        pipes.task.wake();
    }
}

/// One connection's pipe, as the socket holds it.
struct Pipe {
    rx: queue::Receiver<Inbound>,
    /// Taken off the pipe in one batch, not yet received.
    batch: VecDeque<Inbound>,
    /// [`PipeSignal`] for this slot.
    signal: Waker,
    /// In `Inbox::rotation` (has items, or may have).
    queued: bool,
}

/// A socket's receiving side.
pub(crate) struct Inbox {
    /// Made on first use.
    pipes: Option<Arc<InboundPipes>>,
    /// By slot; `None`: a pipe whose connection is gone and which was drained.
    slots: Vec<Option<Pipe>>,
    free: Vec<usize>,
    /// Slots of the pipes that have items, in turn: a receive takes one item from the front
    /// one and puts it at the back if it has more.
    rotation: VecDeque<usize>,
    runtime: RuntimeHandle,
}

impl Inbox {
    pub fn new(runtime: RuntimeHandle) -> Self {
        Self {
            pipes: None,
            slots: Vec::new(),
            free: Vec::new(),
            rotation: VecDeque::new(),
            runtime,
        }
    }

    /// Where a new endpoint's connections get their pipes, made on first use (RCVHWM deep
    /// each, or one conflating queue for all).
    pub fn pipes(&mut self, options: &SocketOptions) -> Arc<InboundPipes> {
        self.pipes
            .get_or_insert_with(|| InboundPipes::new(options))
            .clone()
    }

    /// How many items to take off a pipe at once: one when conflating, so that nothing stale
    /// waits outside the queue.
    fn max_batch(options: &SocketOptions) -> usize {
        if options.conflate { 1 } else { RECV_BATCH }
    }

    /// Takes in the pipes opened since the last look (each starts in the rotation) and the
    /// pipes that turned non-empty.
    fn adopt(&mut self) {
        let Some(pipes) = &self.pipes else { return };
        if !pipes.pending.swap(false, Ordering::AcqRel) {
            return;
        }
        let (opened, ready) = {
            let mut shared = pipes.lock();
            (
                std::mem::take(&mut shared.opened),
                std::mem::take(&mut shared.ready),
            )
        };
        for rx in opened {
            let slot = self.free.pop().unwrap_or_else(|| {
                self.slots.push(None);
                self.slots.len() - 1
            });
            let signal = futures::task::waker(Arc::new(PipeSignal {
                pipes: Arc::downgrade(pipes),
                slot,
            }));
            self.slots[slot] = Some(Pipe {
                rx,
                batch: VecDeque::new(),
                signal,
                queued: true,
            });
            self.rotation.push_back(slot);
        }
        for slot in ready {
            if let Some(Some(pipe)) = self.slots.get_mut(slot) {
                if !pipe.queued {
                    pipe.queued = true;
                    self.rotation.push_back(slot);
                }
            }
        }
    }

    /// The next item from the pipes in the rotation, one per pipe in turn; `None` when none
    /// has any (each empty pipe is then registered to signal its next item).
    fn next_ready(&mut self, max: usize) -> Option<Inbound> {
        while let Some(slot) = self.rotation.pop_front() {
            let Some(pipe) = self.slots[slot].as_mut() else {
                continue;
            };
            if pipe.batch.is_empty() {
                // Register the pipe's own waker as it is found empty: its next item puts it
                // back on the ready list.
                let mut cx = Context::from_waker(&pipe.signal);
                match pipe.rx.poll_drain(&mut cx, &mut pipe.batch, max) {
                    Poll::Ready(Some(_)) => {}
                    Poll::Ready(None) => {
                        // Its connection is gone and it is drained: the slot is free.
                        self.slots[slot] = None;
                        self.free.push(slot);
                        continue;
                    }
                    Poll::Pending => {
                        pipe.queued = false;
                        continue;
                    }
                }
            }
            let item = pipe.batch.pop_front();
            // More, or maybe more: its turn comes again after the others'.
            self.rotation.push_back(slot);
            if item.is_some() {
                return item;
            }
        }
        None
    }

    /// The next item if one is waiting.
    pub fn try_next(&mut self, options: &SocketOptions) -> Option<Inbound> {
        self.adopt();
        let max = Self::max_batch(options);
        if let Some(item) = self.next_ready(max) {
            return Some(item);
        }
        // Pipes that signalled while the rotation was being emptied.
        self.adopt();
        self.next_ready(max)
    }

    /// Polls for the next item. A pipe's first item after it was found empty wakes the
    /// waiting task. Nothing is held across polls, so polling several sockets in turn loses
    /// nothing.
    pub fn poll_next(&mut self, options: &SocketOptions, cx: &mut Context<'_>) -> Poll<Inbound> {
        let pipes = self.pipes(options);
        let max = Self::max_batch(options);
        loop {
            self.adopt();
            if let Some(item) = self.next_ready(max) {
                return Poll::Ready(item);
            }
            // Register first, then look again: a pipe opened or signalled in between is seen.
            pipes.task.register(cx.waker());
            if !pipes.pending.load(Ordering::Acquire) {
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
