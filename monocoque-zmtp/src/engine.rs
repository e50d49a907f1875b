//! The connection engine: one task per connection drives a [`Session`] over a transport stream.
//!
//! Reading: bytes land in one receive buffer and frames are split off it as zero-copy `Bytes`.
//! Writing: every message already queued for the peer is encoded into the session's
//! [`WriteQueue`](crate::proto::WriteQueue) and the whole batch goes out in one vectored write.
//! One queued message is written at once; a burst is written together. No flush is ever needed.
//!
//! The engine is a hand-written future rather than an `async fn` with `select!`, so reading,
//! writing and queue draining proceed independently without cancellation hazards or a boxed future
//! per wake-up.

mod read_buffer;

use self::read_buffer::ReadBuffer;
use crate::monitor::ConnectionError;
use crate::proto::{Event, PeerInfo, Session};
use crate::socket::queue;
use crate::socket::shared::{InEvent, Inbound, Outbound, PeerId, Shared};
use futures::future::BoxFuture;
use futures::io::{AsyncRead, AsyncWrite};
use futures::{FutureExt, StreamExt};
use monocoque_core::Message;
use monocoque_core::runtime::{Runtime, RuntimeHandle};
use monocoque_core::transport::BoxStream;
use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

/// Stop taking messages off the peer's queue once this much output is pending.
const WRITE_BATCH: usize = 256 * 1024;
/// Most buffers handed to one vectored write.
const MAX_IOVECS: usize = 64;
/// Turns of the engine loop per poll before yielding to other tasks.
const POLL_BUDGET: usize = 32;
/// Most messages taken off the peer's queue at once: all of them (swapping buffers with the
/// queue when it can), so up to one queue's worth more than SNDHWM can be on its way.
const OUT_BATCH: usize = usize::MAX;
/// Received messages handed to the socket at once (one lock, at most one wake-up).
const IN_BATCH: usize = 256;

/// A connection's stream, protocol state and buffers.
pub(crate) struct Engine {
    stream: BoxStream,
    session: Session,
    input: ReadBuffer,
}

impl Engine {
    pub fn new(stream: BoxStream, session: Session) -> Self {
        Self {
            stream,
            session,
            input: ReadBuffer::new(),
        }
    }

    /// Exchanges greetings and runs the security handshake within the session's deadline
    /// (HANDSHAKE_IVL), timed on `runtime`; returns the peer's description. Bytes that arrive
    /// after the peer's READY stay buffered, and our own READY may still be queued, for
    /// [`run`](Self::run).
    pub async fn handshake(&mut self, runtime: &dyn Runtime) -> Result<PeerInfo, ConnectionError> {
        let mut timer = DeadlineTimer::default();
        std::future::poll_fn(|cx| self.poll_handshake(cx, runtime, &mut timer)).await
    }

    fn poll_handshake(
        &mut self,
        cx: &mut Context<'_>,
        runtime: &dyn Runtime,
        timer: &mut DeadlineTimer,
    ) -> Poll<Result<PeerInfo, ConnectionError>> {
        loop {
            loop {
                match self.session.poll_event(self.input.data()) {
                    Ok(Some(Event::Ready(info))) => return Poll::Ready(Ok(info)),
                    // Nothing but Ready can come before the handshake ends.
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        // Best effort, without waiting: the session may have queued an ERROR
                        // command for the peer.
                        let _ = self.poll_write_output(cx);
                        return Poll::Ready(Err(e.into()));
                    }
                }
            }
            // Our greeting, then whatever the input just provoked (READY), before waiting.
            if let Poll::Ready(Err(e)) = self.poll_write_output(cx) {
                return Poll::Ready(Err(e));
            }
            if let Poll::Ready(now) = timer.poll(cx, runtime, self.session.poll_timeout()) {
                self.session.handle_timeout(now);
                continue;
            }
            match Pin::new(&mut self.stream).poll_read(cx, self.input.spare()) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(ConnectionError::PeerClosed)),
                Poll::Ready(Ok(n)) => self.input.commit(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Writes pending output until it is all written (ready) or the stream is full (pending).
    fn poll_write_output(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnectionError>> {
        while !self.session.output().is_empty() {
            let output = self.session.output();
            match Pin::new(&mut self.stream).poll_write(cx, output.front()) {
                Poll::Ready(Ok(0)) => {
                    let e = std::io::Error::from(std::io::ErrorKind::WriteZero);
                    return Poll::Ready(Err(e.into()));
                }
                Poll::Ready(Ok(n)) => self.session.output().advance(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Queues a message ahead of everything else (PROBE_ROUTER's empty message, XPUB's welcome
    /// message).
    pub fn queue_message(&mut self, msg: &Message) {
        self.session.send_message(msg);
    }

    /// Queues a subscription (SUB/XSUB re-subscribing on a new connection).
    pub fn queue_subscribe(&mut self, topic: &[u8]) {
        self.session.send_subscribe(topic, true);
    }

    /// Moves messages both ways until the connection fails or the link is closed.
    pub fn run(self, link: Link) -> Run {
        Run {
            engine: self,
            link,
            closing: false,
            linger_timer: None,
            staged_out: VecDeque::new(),
            staged_in: VecDeque::new(),
        }
    }
}

/// What connects a running engine to its socket.
pub(crate) struct Link {
    /// Who this connection is, in the socket's peer table.
    pub peer: PeerId,
    /// The routing id the socket gave this peer (ROUTER), attached to everything it sends us.
    pub routing_id: Option<bytes::Bytes>,
    /// Messages to send; `None` when the socket never sends. When the socket drops its end, the
    /// engine writes what is left (within LINGER) and closes.
    pub outbound: Option<queue::Receiver<Outbound>>,
    /// Where received messages go; `None` when the socket never receives (they are dropped).
    pub inbound: Option<queue::Sender<Inbound>>,
    /// CONFLATE: a full inbound queue's stale message is replaced.
    pub conflate: bool,
    /// Ends (yields `None`) when the endpoint is unbound/disconnected or the socket closes.
    pub shutdown: flume::r#async::RecvStream<'static, ()>,
    /// Yields an item when the socket evicts this peer (ROUTER_HANDOVER): close at once.
    pub evicted: Option<flume::r#async::RecvStream<'static, ()>>,
    /// Whether the socket wants the peer's subscriptions (PUB, XPUB).
    pub wants_subscriptions: bool,
    /// The socket's shared state, to wake a sender waiting for queue room.
    pub shared: Arc<Shared>,
    /// ZMQ_LINGER: how long to keep writing after shutdown.
    pub linger: Option<Duration>,
    /// Timers for LINGER.
    pub runtime: RuntimeHandle,
}

/// The running engine (a future). Resolves to `Ok(())` when this side closed the connection,
/// or to the error that ended it.
pub(crate) struct Run {
    engine: Engine,
    link: Link,
    closing: bool,
    linger_timer: Option<BoxFuture<'static, ()>>,
    /// Taken off the peer's queue, not yet encoded.
    staged_out: VecDeque<Outbound>,
    /// Received, not yet in the socket's queue (it was full: reading waits).
    staged_in: VecDeque<Inbound>,
}

impl Run {
    fn begin_closing(&mut self) {
        if !self.closing {
            self.closing = true;
            self.linger_timer = self.link.linger.map(|d| self.link.runtime.sleep(d));
        }
    }

    /// Encodes queued messages into the write queue, a batch at a time; true if any were taken.
    fn fill_output(&mut self, cx: &mut Context<'_>) -> bool {
        let mut took = false;
        while self.engine.session.output().len() < WRITE_BATCH {
            let Some(item) = self.staged_out.pop_front() else {
                let Some(outbound) = self.link.outbound.as_ref() else {
                    break;
                };
                match outbound.poll_drain(cx, &mut self.staged_out, OUT_BATCH) {
                    Poll::Ready(Some(_)) => {
                        took = true;
                        continue;
                    }
                    Poll::Ready(None) => {
                        // The socket let go of this peer: finish what is queued, then close.
                        self.link.outbound = None;
                        self.begin_closing();
                    }
                    Poll::Pending => {}
                }
                break;
            };
            let session = &mut self.engine.session;
            match item {
                Outbound::Message(msg) => session.send_message(&msg),
                Outbound::Subscribe(topic) => session.send_subscribe(&topic, true),
                Outbound::Cancel(topic) => session.send_subscribe(&topic, false),
            }
        }
        if took {
            // The queue has room again: a sender waiting for it can go on.
            self.link.shared.sender_waker.wake();
        }
        took
    }

    /// One vectored write of pending output; true if bytes were written.
    fn write_some(&mut self, cx: &mut Context<'_>) -> Result<bool, ConnectionError> {
        let engine = &mut self.engine;
        if engine.session.output().is_empty() {
            return Ok(false);
        }
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let output = engine.session.output();
        let count = output.io_slices(&mut slices);
        match Pin::new(&mut engine.stream).poll_write_vectored(cx, &slices[..count]) {
            Poll::Ready(Ok(0)) => Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into()),
            Poll::Ready(Ok(n)) => {
                engine.session.output().advance(n);
                Ok(true)
            }
            Poll::Ready(Err(e)) => Err(e.into()),
            Poll::Pending => Ok(false),
        }
    }

    /// Hands the staged received events to the socket. Returns false while the socket's queue
    /// is full (reading pauses until it has room: backpressure instead of loss) or gone.
    fn deliver_staged(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(inbound) = self.link.inbound.as_ref() else {
            self.staged_in.clear(); // this socket type does not receive; drop
            return true;
        };
        if self.link.conflate {
            // CONFLATE: the newest message replaces the one not yet received.
            let gone = (self.staged_in.drain(..)).any(|item| inbound.send_replacing(item).is_err());
            if gone {
                self.staged_in.clear();
                self.begin_closing();
            }
            return !gone;
        }
        loop {
            if !inbound.send_batch(&mut self.staged_in) {
                self.staged_in.clear();
                self.begin_closing(); // the socket is gone
                return false;
            }
            if self.staged_in.is_empty() {
                return true;
            }
            match inbound.poll_room(cx) {
                Poll::Ready(true) => {}
                Poll::Ready(false) => {
                    self.staged_in.clear();
                    self.begin_closing();
                    return false;
                }
                Poll::Pending => return false,
            }
        }
    }

    /// Decodes buffered input, hands it to the socket and reads more; true on progress.
    fn read_some(&mut self, cx: &mut Context<'_>) -> Result<bool, ConnectionError> {
        let mut progress = false;
        if !self.staged_in.is_empty() {
            if !self.deliver_staged(cx) {
                return Ok(false);
            }
            progress = true;
        }
        loop {
            let event = match self.engine.session.poll_event(self.engine.input.data())? {
                Some(Event::Message(msg)) => InEvent::Message(msg),
                Some(Event::Subscribe(topic)) if self.link.wants_subscriptions => {
                    InEvent::Subscribe(topic)
                }
                Some(Event::Cancel(topic)) if self.link.wants_subscriptions => {
                    InEvent::Cancel(topic)
                }
                // Subscriptions sent to a socket that publishes nothing mean nothing.
                Some(Event::Subscribe(_) | Event::Cancel(_) | Event::Ready(_)) => {
                    progress = true;
                    continue;
                }
                None => break,
            };
            progress = true;
            self.staged_in.push_back(Inbound {
                peer: self.link.peer,
                routing_id: self.link.routing_id.clone(),
                event,
            });
            if self.staged_in.len() >= IN_BATCH && !self.deliver_staged(cx) {
                return Ok(progress);
            }
        }
        if !self.staged_in.is_empty() && !self.deliver_staged(cx) {
            return Ok(progress);
        }
        let engine = &mut self.engine;
        // The rest of a frame whose header is in: make room for it in one go.
        let awaited = (engine.session.pending_frame_len())
            .map_or(0, |len| len.saturating_sub(engine.input.data().len()));
        let largest_frame = engine.session.take_largest_frame_len();
        let room = engine.input.spare_for(awaited, largest_frame);
        match Pin::new(&mut engine.stream).poll_read(cx, room) {
            Poll::Ready(Ok(0)) => Err(ConnectionError::PeerClosed),
            Poll::Ready(Ok(n)) => {
                engine.input.commit(n);
                Ok(true)
            }
            Poll::Ready(Err(e)) => Err(e.into()),
            Poll::Pending => Ok(progress),
        }
    }
}

impl Future for Run {
    type Output = Result<(), ConnectionError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        for _ in 0..POLL_BUDGET {
            if let Some(evicted) = this.link.evicted.as_mut() {
                match evicted.poll_next_unpin(cx) {
                    Poll::Ready(Some(())) => return Poll::Ready(Ok(())),
                    // The socket let go of the peer without evicting it: nothing to watch.
                    Poll::Ready(None) => this.link.evicted = None,
                    Poll::Pending => {}
                }
            }
            if !this.closing && this.link.shutdown.poll_next_unpin(cx).is_ready() {
                this.begin_closing();
            }
            if this.closing {
                if let Some(timer) = this.linger_timer.as_mut() {
                    if timer.poll_unpin(cx).is_ready() {
                        return Poll::Ready(Ok(()));
                    }
                }
            }
            let mut progress = this.fill_output(cx);
            progress |= this.write_some(cx)?;
            if !this.closing {
                progress |= this.read_some(cx)?;
            }
            if this.closing
                && this.link.outbound.is_none()
                && this.staged_out.is_empty()
                && this.engine.session.output().is_empty()
            {
                return Poll::Ready(Ok(()));
            }
            if !progress {
                return Poll::Pending;
            }
        }
        // Plenty done in one go: let other tasks run, then continue.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A timer for the session's next deadline, re-armed whenever that deadline moves.
#[derive(Default)]
pub(crate) struct DeadlineTimer {
    /// The deadline `sleep` was armed for.
    armed_for: Option<Instant>,
    sleep: Option<BoxFuture<'static, ()>>,
}

impl DeadlineTimer {
    /// Ready with the current time once `deadline` has passed; pending (woken then) before.
    /// `None` disarms the timer.
    pub fn poll(
        &mut self,
        cx: &mut Context<'_>,
        runtime: &dyn Runtime,
        deadline: Option<Instant>,
    ) -> Poll<Instant> {
        if deadline != self.armed_for {
            self.armed_for = deadline;
            self.sleep =
                deadline.map(|at| runtime.sleep(at.saturating_duration_since(Instant::now())));
        }
        let Some(sleep) = self.sleep.as_mut() else {
            return Poll::Pending;
        };
        ready!(sleep.poll_unpin(cx));
        // Fired: the next poll re-arms if the deadline is still wanted (the session moved it,
        // or the timer fired a little early).
        self.sleep = None;
        self.armed_for = None;
        Poll::Ready(Instant::now())
    }
}
