//! The queues between a socket and its connections: bounded, many producers, one consumer at a
//! time, and built for batches.
//!
//! A general-purpose channel costs a lock, a waiter check and often a wake-up per message on each
//! side. Here the consumer takes up to a whole batch under one lock ([`Receiver::drain_into`]),
//! a producer can put a batch in under one lock ([`Sender::send_batch`]), a producer checks for
//! room without the lock ([`Sender::is_full`]), and a side is woken only when it registered
//! because it found nothing to do (empty queue, or no room), not once per message.
//!
//! Backpressure has one mechanism, [`Room`]: a producer that finds a queue full registers with
//! the queue's room and is woken when the consumer takes items (or leaves). Several queues may
//! share one room: a socket's outbound queues (one per peer) all report to the socket's room,
//! so a sender waiting for "any peer with room" registers once, not once per peer.
//!
//! Capacity is the high-water mark (SNDHWM/RCVHWM, 0 = unbounded). A consumer that drained a
//! batch holds it outside the queue, so up to one batch more than the capacity can be on its way
//! between the two ends, much as libzmq's pipes let a batch through beyond the HWM. A
//! [conflating](conflating) queue (ZMQ_CONFLATE) holds one item, which a newer one replaces.

use smallvec::SmallVec;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Why [`Sender::try_send`] gave the item back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TrySendError<T> {
    /// The queue is at capacity.
    Full(T),
    /// Every receiver is gone.
    Disconnected(T),
}

/// Why [`Receiver::try_recv`] returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryRecvError {
    /// Nothing queued now.
    Empty,
    /// Nothing queued and every sender is gone.
    Disconnected,
}

/// Wakes the producers waiting for room in the queues that share it.
#[derive(Debug, Default)]
pub(crate) struct Room {
    /// Some producer registered since the last notification (checked without the lock).
    waiting: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl Room {
    /// A room of its own, for queues that do not share one.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Registers `waker` to be woken by the next [`notify`](Self::notify). Register first,
    /// then look again for room: room made in between is then never missed.
    pub fn register(&self, waker: &Waker) {
        let mut wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
        self.waiting.store(true, Ordering::SeqCst);
    }

    /// Wakes every registered producer (one atomic load when nobody waits).
    pub fn notify(&self) {
        // Sequentially consistent with `register`'s store and with the consumer's store of the
        // queue length before it: a producer that registered and then saw the queue full is
        // always seen here.
        if !self.waiting.load(Ordering::SeqCst) || !self.waiting.swap(false, Ordering::SeqCst) {
            return;
        }
        // Taken out under the lock, woken after it; the vector keeps its capacity, so that
        // registering again allocates nothing.
        let woken: SmallVec<[Waker; 4]> = (self.wakers.lock().unwrap_or_else(|p| p.into_inner()))
            .drain(..)
            .collect();
        for waker in woken {
            waker.wake();
        }
    }
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

struct State<T> {
    items: VecDeque<T>,
    senders: usize,
    receivers: usize,
    /// The consumer, waiting for an item (or for the last sender to leave).
    recv_waker: Option<Waker>,
}

struct Inner<T> {
    state: Mutex<State<T>>,
    /// Most items queued at once (`usize::MAX`: unbounded).
    capacity: usize,
    /// A full queue drops its oldest item for a new one instead of refusing it.
    conflate: bool,
    /// `state.items.len()`, readable without the lock.
    len: AtomicUsize,
    room: Arc<Room>,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // The lock is never held across user code that could panic half-way through an update.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes the new length after the consumer took items (sequentially consistent: see
    /// [`Room::notify`]).
    fn took(&self, state: &State<T>) {
        self.len.store(state.items.len(), Ordering::SeqCst);
    }

    /// Publishes the new length after a producer added items (the consumer reads it only as
    /// a hint before taking the lock).
    fn added(&self, state: &State<T>) {
        self.len.store(state.items.len(), Ordering::Release);
    }
}

/// A queue of `capacity` items (0: unbounded) whose producers wait for room in `room`.
pub(crate) fn bounded<T>(capacity: usize, room: Arc<Room>) -> (Sender<T>, Receiver<T>) {
    let capacity = if capacity == 0 { usize::MAX } else { capacity };
    make(capacity, false, room)
}

/// A queue of one item that a newer item replaces (ZMQ_CONFLATE): never full.
pub(crate) fn conflating<T>(room: Arc<Room>) -> (Sender<T>, Receiver<T>) {
    make(1, true, room)
}

fn make<T>(capacity: usize, conflate: bool, room: Arc<Room>) -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            items: VecDeque::new(),
            senders: 1,
            receivers: 1,
            recv_waker: None,
        }),
        capacity,
        conflate,
        len: AtomicUsize::new(0),
        room,
    });
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver {
            inner,
            released: false,
        },
    )
}

/// The producing end; cloning adds a producer.
pub(crate) struct Sender<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Sender<T> {
    /// Whether an item would be refused for want of room now (a conflating queue never is).
    /// Only a hint when other producers are active; exact for a single producer (the consumer
    /// only makes room).
    pub fn is_full(&self) -> bool {
        !self.inner.conflate && self.inner.len.load(Ordering::SeqCst) >= self.inner.capacity
    }

    /// Queues `item` if there is room (a conflating queue makes room) and a receiver.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let mut state = self.inner.lock();
        if state.receivers == 0 {
            return Err(TrySendError::Disconnected(item));
        }
        if state.items.len() >= self.inner.capacity {
            if !self.inner.conflate {
                return Err(TrySendError::Full(item));
            }
            // CONFLATE: the newest replaces what is waiting (dropped after the lock).
            let stale = std::mem::replace(&mut state.items, VecDeque::from([item]));
            self.inner.added(&state);
            let waker = state.recv_waker.take();
            drop(state);
            drop(stale);
            wake(waker);
            return Ok(());
        }
        state.items.push_back(item);
        self.inner.added(&state);
        let waker = state.recv_waker.take();
        drop(state);
        wake(waker);
        Ok(())
    }

    /// Queues `item` whatever the room (a message handed over from a peer that died: its
    /// queue's worth may go past this one's capacity once); refused only without a receiver.
    pub fn force_send(&self, item: T) -> Result<(), T> {
        let mut state = self.inner.lock();
        if state.receivers == 0 {
            return Err(item);
        }
        state.items.push_back(item);
        self.inner.added(&state);
        let waker = state.recv_waker.take();
        drop(state);
        wake(waker);
        Ok(())
    }

    /// Moves items from the front of `batch` into the queue while there is room, under one
    /// lock (a conflating queue keeps only the newest). Returns false when every receiver is
    /// gone (`batch` is left as it was).
    pub fn send_batch(&self, batch: &mut VecDeque<T>) -> bool {
        let mut state = self.inner.lock();
        if state.receivers == 0 {
            return false;
        }
        let mut stale = VecDeque::new();
        if self.inner.conflate {
            if let Some(newest) = batch.pop_back() {
                stale = std::mem::take(batch);
                stale.extend(state.items.drain(..));
                state.items.push_back(newest);
            }
        } else {
            let room = self.inner.capacity.saturating_sub(state.items.len());
            let n = room.min(batch.len());
            if n == 0 {
                return true;
            }
            if state.items.is_empty() && n == batch.len() {
                // The whole batch into an empty queue: swap buffers, move nothing.
                std::mem::swap(&mut state.items, batch);
            } else {
                state.items.extend(batch.drain(..n));
            }
        }
        self.inner.added(&state);
        let waker = state.recv_waker.take();
        drop(state);
        drop(stale);
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Ready with `true` when there is room, `false` when every receiver is gone; otherwise
    /// registers with the queue's room, to be woken when either happens.
    pub fn poll_room(&self, cx: &mut Context<'_>) -> Poll<bool> {
        if !self.is_full() {
            return Poll::Ready(self.inner.lock().receivers > 0);
        }
        self.inner.room.register(cx.waker());
        let state = self.inner.lock();
        if state.receivers == 0 {
            Poll::Ready(false)
        } else if state.items.len() < self.inner.capacity {
            Poll::Ready(true)
        } else {
            Poll::Pending
        }
    }

    /// Queues `item`, waiting for room; gives it back when every receiver is gone.
    pub async fn send(&self, item: T) -> Result<(), T> {
        let mut item = item;
        loop {
            if !std::future::poll_fn(|cx| self.poll_room(cx)).await {
                return Err(item);
            }
            match self.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(back)) => return Err(back),
                // Another producer took the room first.
                Err(TrySendError::Full(back)) => item = back,
            }
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.inner.lock().senders += 1;
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        state.senders -= 1;
        // The last producer leaving ends the queue for the consumer once it is drained.
        let waker = if state.senders == 0 {
            state.recv_waker.take()
        } else {
            None
        };
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.inner.len.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The consuming end. Clones share the queue; only one should wait on it at a time (the last
/// one to register is the one woken).
pub(crate) struct Receiver<T> {
    inner: Arc<Inner<T>>,
    /// Already counted out by [`Receiver::close`].
    released: bool,
}

impl<T> Receiver<T> {
    /// Lets go of the queue and, when this was its last receiver, takes what it holds, in one
    /// step: a producer sees the queue gone (and sends elsewhere) or its item is among those
    /// returned; nothing falls in between.
    pub fn close(mut self) -> VecDeque<T> {
        let mut state = self.inner.lock();
        state.receivers -= 1;
        let last = state.receivers == 0;
        let items = if last {
            std::mem::take(&mut state.items)
        } else {
            VecDeque::new()
        };
        self.inner.took(&state);
        drop(state);
        self.released = true;
        if last {
            self.inner.room.notify();
        }
        items
    }

    /// Whether nothing is queued now.
    pub fn is_empty(&self) -> bool {
        self.inner.len.load(Ordering::Acquire) == 0
    }

    /// Takes the oldest item without waiting.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.inner.lock();
        match state.items.pop_front() {
            Some(item) => {
                self.inner.took(&state);
                drop(state);
                self.inner.room.notify();
                Ok(item)
            }
            None if state.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Moves up to `max` items, oldest first, to the back of `out` under one lock; returns how
    /// many.
    pub fn drain_into(&self, out: &mut VecDeque<T>, max: usize) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut state = self.inner.lock();
        let n = max.min(state.items.len());
        if n == 0 {
            return 0;
        }
        if n == state.items.len() && out.is_empty() {
            // The whole queue: swap buffers instead of moving items one by one.
            std::mem::swap(&mut state.items, out);
        } else {
            out.extend(state.items.drain(..n));
        }
        self.inner.took(&state);
        drop(state);
        self.inner.room.notify();
        n
    }

    /// Like [`drain_into`](Self::drain_into), but when nothing is queued: ready with `None`
    /// if every sender is gone, else pending (woken by the next item or the last sender
    /// leaving).
    pub fn poll_drain(
        &self,
        cx: &mut Context<'_>,
        out: &mut VecDeque<T>,
        max: usize,
    ) -> Poll<Option<usize>> {
        let n = self.drain_into(out, max);
        if n > 0 {
            return Poll::Ready(Some(n));
        }
        let mut state = self.inner.lock();
        if !state.items.is_empty() {
            drop(state);
            // An item arrived between the two looks.
            return Poll::Ready(Some(self.drain_into(out, max)));
        }
        if state.senders == 0 {
            return Poll::Ready(None);
        }
        match &state.recv_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.recv_waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Waits for the oldest item; `None` once every sender is gone and the queue is empty.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut one = VecDeque::new();
        match self.poll_drain(cx, &mut one, 1) {
            Poll::Ready(Some(_)) => Poll::Ready(one.pop_front()),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Waits for the oldest item; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.inner.lock().receivers += 1;
        Self {
            inner: self.inner.clone(),
            released: false,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let mut state = self.inner.lock();
        state.receivers -= 1;
        let last = state.receivers == 0;
        drop(state);
        if last {
            // Producers waiting for room learn that nobody will make any.
            self.inner.room.notify();
        }
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.inner.len.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::task::{ArcWake, waker};

    struct Flag(AtomicBool);
    impl ArcWake for Flag {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.store(true, Ordering::SeqCst);
        }
    }

    fn flag() -> (Arc<Flag>, Waker) {
        let f = Arc::new(Flag(AtomicBool::new(false)));
        (f.clone(), waker(f))
    }

    fn queue<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
        bounded(capacity, Room::new())
    }

    #[test]
    fn bounded_fifo() {
        let (tx, rx) = queue(2);
        assert!(!tx.is_full());
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert!(tx.is_full());
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(rx.try_recv(), Ok(1));
        tx.try_send(3).unwrap();
        let mut out = VecDeque::new();
        assert_eq!(rx.drain_into(&mut out, 10), 2);
        assert_eq!(out, [2, 3]);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn unbounded_and_batches() {
        let (tx, rx) = queue(0);
        let mut batch: VecDeque<u32> = (0..10_000).collect();
        assert!(tx.send_batch(&mut batch));
        assert!(batch.is_empty());
        let mut out = VecDeque::new();
        assert_eq!(rx.drain_into(&mut out, 100), 100);
        assert_eq!(rx.drain_into(&mut out, usize::MAX), 9_900);
        assert!(out.iter().copied().eq(0..10_000));
    }

    #[test]
    fn batch_stops_at_capacity() {
        let (tx, rx) = queue(3);
        let mut batch: VecDeque<u32> = (0..5).collect();
        assert!(tx.send_batch(&mut batch));
        assert_eq!(batch, [3, 4]);
        assert!(tx.send_batch(&mut batch));
        assert_eq!(batch, [3, 4]);
        assert_eq!(rx.try_recv(), Ok(0));
        assert!(tx.send_batch(&mut batch));
        assert_eq!(batch, [4]);
        drop(rx);
        assert!(!tx.send_batch(&mut batch));
        assert_eq!(tx.try_send(9), Err(TrySendError::Disconnected(9)));
    }

    #[test]
    fn conflate_keeps_newest() {
        let (tx, rx) = conflating(Room::new());
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert!(!tx.is_full(), "a conflating queue never refuses");
        assert_eq!(rx.try_recv(), Ok(2));
        let mut batch: VecDeque<u32> = (3..7).collect();
        assert!(tx.send_batch(&mut batch));
        assert!(batch.is_empty());
        assert_eq!(rx.try_recv(), Ok(6));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        drop(rx);
        assert_eq!(tx.try_send(3), Err(TrySendError::Disconnected(3)));
    }

    #[test]
    fn consumer_woken_by_item_and_by_last_sender() {
        let (tx, rx) = queue::<u8>(4);
        let (woken, w) = flag();
        let mut cx = Context::from_waker(&w);
        let mut out = VecDeque::new();
        assert_eq!(rx.poll_drain(&mut cx, &mut out, 8), Poll::Pending);
        tx.try_send(7).unwrap();
        assert!(woken.0.swap(false, Ordering::SeqCst));
        // No waker registered now: further items wake nobody.
        tx.try_send(8).unwrap();
        assert!(!woken.0.load(Ordering::SeqCst));
        assert_eq!(rx.poll_drain(&mut cx, &mut out, 8), Poll::Ready(Some(2)));
        assert_eq!(rx.poll_drain(&mut cx, &mut out, 8), Poll::Pending);
        let tx2 = tx.clone();
        drop(tx);
        assert!(!woken.0.load(Ordering::SeqCst));
        drop(tx2);
        assert!(woken.0.load(Ordering::SeqCst));
        assert_eq!(rx.poll_drain(&mut cx, &mut out, 8), Poll::Ready(None));
    }

    #[test]
    fn producer_woken_by_room_and_by_receiver_leaving() {
        let (tx, rx) = queue::<u8>(1);
        let (woken, w) = flag();
        let mut cx = Context::from_waker(&w);
        tx.try_send(1).unwrap();
        assert_eq!(tx.poll_room(&mut cx), Poll::Pending);
        assert_eq!(rx.try_recv(), Ok(1));
        assert!(woken.0.swap(false, Ordering::SeqCst));
        assert_eq!(tx.poll_room(&mut cx), Poll::Ready(true));
        tx.try_send(2).unwrap();
        assert_eq!(tx.poll_room(&mut cx), Poll::Pending);
        drop(rx);
        assert!(woken.0.load(Ordering::SeqCst));
        assert_eq!(tx.poll_room(&mut cx), Poll::Ready(false));
    }

    #[test]
    fn queues_sharing_a_room_wake_one_waiter_once() {
        // A sender waiting for room in either of two full queues registers once.
        let room = Room::new();
        let (a_tx, a_rx) = bounded::<u8>(1, room.clone());
        let (b_tx, _b_rx) = bounded::<u8>(1, room.clone());
        a_tx.try_send(1).unwrap();
        b_tx.try_send(1).unwrap();
        let (woken, w) = flag();
        let mut cx = Context::from_waker(&w);
        assert_eq!(a_tx.poll_room(&mut cx), Poll::Pending);
        assert_eq!(b_tx.poll_room(&mut cx), Poll::Pending);
        assert_eq!(room.wakers.lock().unwrap().len(), 1);
        assert_eq!(a_rx.try_recv(), Ok(1));
        assert!(woken.0.load(Ordering::SeqCst));
        assert!(room.wakers.lock().unwrap().is_empty());
    }

    #[test]
    fn threads_lose_nothing() {
        let (tx, rx) = queue::<u64>(16);
        let producers: Vec<_> = (0..4u64)
            .map(|p| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    futures::executor::block_on(async {
                        for i in 0..10_000 {
                            tx.send(p * 1_000_000 + i).await.unwrap();
                        }
                    });
                })
            })
            .collect();
        drop(tx);
        let mut next = [0u64; 4];
        futures::executor::block_on(async {
            let mut out = VecDeque::new();
            while std::future::poll_fn(|cx| rx.poll_drain(cx, &mut out, 64))
                .await
                .is_some()
            {
                for v in out.drain(..) {
                    let (p, i) = ((v / 1_000_000) as usize, v % 1_000_000);
                    assert_eq!(i, next[p], "per-producer order");
                    next[p] += 1;
                }
            }
        });
        for p in producers {
            p.join().unwrap();
        }
        assert_eq!(next, [10_000; 4]);
    }
}
