//! The connection engine: one task per connection drives a [`Session`] over a byte stream.
//!
//! Reading: bytes land in one receive buffer and frames are split off it as zero-copy `Bytes`.
//! Writing: every message already queued for the peer is encoded into the session's
//! [`WriteQueue`](crate::proto::WriteQueue) and the whole batch goes out in one vectored write.
//! One queued message is written at once; a burst is written together. No flush is ever needed.
//!
//! The engine knows nothing of socket types beyond what the handshake needs: it talks to its
//! socket only through the [`Link`] (`crate::link`), and its time comes from the session's
//! deadlines ([`DeadlineTimer`]). It runs over any [`ByteStream`], so it is tested over an
//! in-memory duplex stream.
//!
//! The engine is a hand-written future rather than an `async fn` with `select!`, so reading,
//! writing and queue draining proceed independently without cancellation hazards or a boxed
//! future per wake-up.

mod read_buffer;
#[cfg(test)]
mod tests;
mod timer;

use self::read_buffer::ReadBuffer;
use self::timer::DeadlineTimer;
use crate::error::ConnectionError;
use crate::link::{Inbound, Link, Outbound, Stop};
use crate::proto::{Credentials, Event, PeerInfo, Session, ZapReply, ZapStatus, ZmtpError};
use crate::zap::{ZapHandler, ZapRequest};
use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use futures::io::{AsyncRead, AsyncWrite};
use futures::ready;
use monocoque_core::Message;
use monocoque_core::runtime::RuntimeHandle;
use monocoque_core::transport::{BoxStream, ByteStream};
use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

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
/// Room of the first read of a connection whose receive buffer was let go of (on the stack).
const FIRST_READ: usize = 512;

/// Who decides on a server's clients, and what the engine adds to each request.
pub(crate) struct Authentication {
    pub handler: Arc<dyn ZapHandler>,
    pub domain: Bytes,
    pub address: String,
    pub routing_id: Bytes,
}

/// A connection's stream, protocol state, buffers and timer.
pub(crate) struct Engine {
    stream: BoxStream,
    session: Session,
    input: ReadBuffer,
    runtime: RuntimeHandle,
    timer: DeadlineTimer,
    authentication: Option<Authentication>,
    /// The handler's verdict being awaited.
    verdict: Option<BoxFuture<'static, ZapReply>>,
}

impl Engine {
    /// An engine for `session` over `stream`, timing the session's deadlines on `runtime`.
    pub fn new(stream: impl ByteStream, session: Session, runtime: RuntimeHandle) -> Self {
        Self {
            stream: Box::new(stream),
            session,
            input: ReadBuffer::new(),
            runtime,
            timer: DeadlineTimer::default(),
            authentication: None,
            verdict: None,
        }
    }

    /// Asks `authentication`'s handler about the clients of a server mechanism.
    pub fn with_authentication(mut self, authentication: Option<Authentication>) -> Self {
        self.authentication = authentication;
        self
    }

    /// Starts asking the handler about `credentials`; without one, refuses (a server mechanism
    /// asks only when it was built with an authenticator, so this does not happen).
    fn ask(&mut self, credentials: Credentials) -> Option<ZapReply> {
        let Some(auth) = &self.authentication else {
            return Some(ZapReply::deny(ZapStatus::InternalError, "no ZAP handler"));
        };
        let request = ZapRequest {
            domain: auth.domain.clone(),
            address: auth.address.clone(),
            routing_id: auth.routing_id.clone(),
            mechanism: credentials.mechanism,
            credentials: credentials.credentials,
        };
        let handler = auth.handler.clone();
        self.verdict = Some(Box::pin(async move { handler.authenticate(request).await }));
        None
    }

    /// Polls the awaited verdict and hands it to the session; the event it led to, if any.
    fn poll_verdict(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Event>, ZmtpError>> {
        let Some(verdict) = self.verdict.as_mut() else {
            return Poll::Ready(Ok(None));
        };
        // HANDSHAKE_IVL passed while the handler was thinking: give up on it.
        if let Some(e) = self.session.error() {
            let e = e.clone();
            self.verdict = None;
            return Poll::Ready(Err(e));
        }
        let reply = ready!(verdict.poll_unpin(cx));
        self.verdict = None;
        Poll::Ready(self.session.authenticated(reply))
    }

    /// Exchanges greetings and runs the security handshake within the session's deadline
    /// (HANDSHAKE_IVL); returns the peer's description once the peer's READY has arrived and
    /// ours is written. Bytes that arrive after the peer's READY stay buffered for
    /// [`run`](Self::run).
    pub async fn handshake(&mut self) -> Result<PeerInfo, ConnectionError> {
        let mut peer = None;
        let info = std::future::poll_fn(|cx| self.poll_handshake(cx, &mut peer)).await?;
        // Many connections sit idle for long after their handshake: they hold no receive
        // memory meanwhile (unless bytes came after the peer's READY).
        self.input.handshake_done();
        Ok(info)
    }

    fn poll_handshake(
        &mut self,
        cx: &mut Context<'_>,
        peer: &mut Option<PeerInfo>,
    ) -> Poll<Result<PeerInfo, ConnectionError>> {
        loop {
            while peer.is_none() {
                let event = match self.poll_verdict(cx) {
                    // Waiting for the handler: the session reads nothing meanwhile.
                    Poll::Pending => break,
                    Poll::Ready(Ok(None)) if self.verdict.is_none() => {
                        self.session.poll_event(self.input.data())
                    }
                    Poll::Ready(other) => other,
                };
                match event {
                    Ok(Some(Event::Ready(info))) => *peer = Some(info),
                    Ok(Some(Event::Authenticate(credentials))) => {
                        if let Some(refusal) = self.ask(credentials) {
                            if let Err(e) = self.session.authenticated(refusal) {
                                let _ = self.poll_write_all(cx);
                                return Poll::Ready(Err(e.into()));
                            }
                        }
                    }
                    // Nothing but Ready can come before the handshake ends.
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        // Best effort, without waiting: the session may have queued an ERROR
                        // command for the peer.
                        let _ = self.poll_write_all(cx);
                        return Poll::Ready(Err(e.into()));
                    }
                }
            }
            // Our greeting, then whatever the input just provoked (READY), before waiting.
            match self.poll_write_all(cx) {
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    if let Some(info) = peer.take() {
                        return Poll::Ready(Ok(info));
                    }
                }
                Poll::Pending => {}
            }
            if self.poll_deadline(cx) {
                continue;
            }
            if peer.is_some() || self.verdict.is_some() {
                // Done but for writing our READY (wait for room), or waiting for the handler.
                return Poll::Pending;
            }
            match Pin::new(&mut self.stream).poll_read(cx, self.input.spare()) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(ConnectionError::PeerClosed)),
                Poll::Ready(Ok(n)) => {
                    self.input.commit(n);
                    self.session.received_at(Instant::now());
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Hands the session the time when its deadline has passed; true if it did.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = self.session.poll_timeout();
        match self.timer.poll(cx, &*self.runtime, deadline) {
            Poll::Ready(now) => {
                self.session.handle_timeout(now);
                true
            }
            Poll::Pending => false,
        }
    }

    /// Writes pending output until it is all written (ready) or the stream is full (pending),
    /// one segment at a time: the handshake's few small frames.
    fn poll_write_all(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnectionError>> {
        while !self.session.output().is_empty() {
            let output = self.session.output();
            match Pin::new(&mut self.stream).poll_write(cx, output.front()) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(write_zero())),
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

    /// Moves messages both ways until the connection fails or the link's shutdown stops it.
    #[cfg(test)]
    pub fn run(self, link: Link) -> Run {
        Box::new(self).run_with(link, Vec::new())
    }

    /// As [`run`](Self::run), sending `carried` first: what the peer's last connection took
    /// off its queue and never encoded (a reconnecting endpoint's messages, kept in order).
    ///
    /// The engine comes boxed, so that the futures a connection's task is made of move it by
    /// pointer instead of each keeping a copy's room (the task of an idle connection was
    /// 4.9 KiB, most of it room for engines).
    pub fn run_with(self: Box<Self>, link: Link, carried: Vec<Outbound>) -> Run {
        Run {
            engine: self,
            link,
            closing: false,
            linger_timer: None,
            staged_out: carried.into(),
            staged_in: VecDeque::new(),
        }
    }
}

fn write_zero() -> ConnectionError {
    std::io::Error::from(std::io::ErrorKind::WriteZero).into()
}

/// The running engine (a future). Resolves to `Ok(())` when this side closed the connection,
/// or to the error that ended it.
pub(crate) struct Run {
    engine: Box<Engine>,
    link: Link,
    /// Stopped reading; writing out what is queued, then closing.
    closing: bool,
    linger_timer: Option<BoxFuture<'static, ()>>,
    /// Taken off the peer's queue, not yet encoded.
    staged_out: VecDeque<Outbound>,
    /// Received, not yet in the socket's queue (it was full: reading waits).
    staged_in: VecDeque<Inbound>,
}

impl Run {
    /// After the run ended: the messages taken off the peer's queue but never encoded, then,
    /// with `with_queue`, what is still in the queue (a peer gone for good). Messages already
    /// encoded into the write buffer are not among them: they may be half written.
    pub fn take_unsent(&mut self, with_queue: bool) -> Vec<Outbound> {
        let mut unsent: Vec<Outbound> = self.staged_out.drain(..).collect();
        if with_queue {
            if let Some(queue) = self.link.outbound.take() {
                unsent.extend(queue.close());
            }
        }
        unsent
    }

    fn begin_closing(&mut self) {
        if !self.closing {
            self.closing = true;
            let runtime = &self.engine.runtime;
            self.linger_timer = self.link.linger.map(|d| runtime.sleep(d));
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
                    // The socket let go of this peer: nothing more will come.
                    Poll::Ready(None) => self.link.outbound = None,
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
        took
    }

    /// Whether everything queued for the peer has been written.
    fn all_written(&mut self) -> bool {
        self.staged_out.is_empty()
            && self.engine.session.output().is_empty()
            && self.link.outbound.as_ref().is_none_or(|q| q.is_empty())
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
            Poll::Ready(Ok(0)) => Err(write_zero()),
            Poll::Ready(Ok(n)) => {
                engine.session.output().advance(n);
                Ok(true)
            }
            Poll::Ready(Err(e)) => Err(e.into()),
            Poll::Pending => Ok(false),
        }
    }

    /// Hands the staged received items to the socket. Returns false while the socket's queue
    /// is full (reading pauses until it has room: backpressure instead of loss) or gone.
    fn deliver_staged(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(inbound) = self.link.inbound.as_ref() else {
            self.staged_in.clear(); // this socket type does not receive; drop
            return true;
        };
        loop {
            if !inbound.send_batch(&mut self.staged_in) {
                // The socket is gone.
                self.staged_in.clear();
                self.begin_closing();
                return false;
            }
            if self.staged_in.is_empty() {
                self.engine.session.set_reading_paused(false);
                return true;
            }
            match inbound.poll_room(cx) {
                Poll::Ready(true) => {}
                Poll::Ready(false) => {
                    self.staged_in.clear();
                    self.begin_closing();
                    return false;
                }
                Poll::Pending => {
                    // We stop reading, so the peer's traffic waits unread: that is no sign
                    // of a dead peer.
                    self.engine.session.set_reading_paused(true);
                    return false;
                }
            }
        }
    }

    /// What a session event becomes for the socket, if anything.
    fn inbound(&self, event: Event) -> Option<Inbound> {
        let peer = self.link.peer;
        match event {
            Event::Message(mut msg) => {
                if let Some(prefix) = &self.link.prefix {
                    msg.push_front(prefix.clone());
                }
                msg.set_metadata(self.link.metadata.clone());
                Some(Inbound::Message(peer, msg))
            }
            Event::Subscribe(topic) if self.link.subscriptions => {
                Some(Inbound::Subscribe(peer, topic))
            }
            Event::Cancel(topic) if self.link.subscriptions => Some(Inbound::Cancel(peer, topic)),
            // Subscriptions sent to a socket that publishes nothing mean nothing.
            Event::Subscribe(_) | Event::Cancel(_) | Event::Ready(_) | Event::Authenticate(_) => {
                None
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
            let event = match self.engine.session.poll_event(self.engine.input.data()) {
                Ok(Some(event)) => event,
                Ok(None) => break,
                // The messages completed before the bad frame are handed on first (the session
                // stays failed and says so again once they are), as libzmq flushes them.
                Err(e) if self.staged_in.is_empty() || self.deliver_staged(cx) => {
                    return Err(e.into());
                }
                Err(_) => return Ok(progress),
            };
            progress = true;
            let Some(item) = self.inbound(event) else {
                continue;
            };
            self.staged_in.push_back(item);
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
        // A connection that let go of its receive buffer (idle since its handshake) first reads
        // into a little room on the stack, so that waiting allocates nothing; what arrives
        // moves into an allocation of its size.
        if engine.input.is_released() && awaited == 0 {
            let mut first = [0u8; FIRST_READ];
            let read = Pin::new(&mut engine.stream).poll_read(cx, &mut first);
            return match read {
                Poll::Ready(Ok(0)) => Err(ConnectionError::PeerClosed),
                Poll::Ready(Ok(n)) => {
                    engine.input.adopt(&first[..n]);
                    engine.session.received_at(Instant::now());
                    Ok(true)
                }
                Poll::Ready(Err(e)) => Err(e.into()),
                Poll::Pending => Ok(progress),
            };
        }
        let room = engine.input.spare_for(awaited, largest_frame);
        match Pin::new(&mut engine.stream).poll_read(cx, room) {
            Poll::Ready(Ok(0)) => Err(ConnectionError::PeerClosed),
            Poll::Ready(Ok(n)) => {
                engine.input.commit(n);
                engine.session.received_at(Instant::now());
                Ok(true)
            }
            Poll::Ready(Err(e)) => Err(e.into()),
            Poll::Pending => Ok(progress),
        }
    }

    /// Polls the shutdown signal and, once closing, the linger timer; `Some` when the engine is
    /// to stop now.
    fn poll_stop(&mut self, cx: &mut Context<'_>) -> Option<Result<(), ConnectionError>> {
        if !self.closing {
            match self.link.shutdown.poll(cx) {
                Poll::Ready(Stop::Abort) => return Some(Ok(())),
                Poll::Ready(Stop::Close) => self.begin_closing(),
                Poll::Pending => {}
            }
        }
        if let Some(timer) = self.linger_timer.as_mut() {
            if timer.poll_unpin(cx).is_ready() {
                return Some(Ok(()));
            }
        }
        None
    }
}

impl Future for Run {
    type Output = Result<(), ConnectionError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        for _ in 0..POLL_BUDGET {
            if let Some(done) = this.poll_stop(cx) {
                return Poll::Ready(done);
            }
            // The session's deadline: our next PING, or a silent peer given up on.
            let mut progress = this.engine.poll_deadline(cx);
            // (With received messages still to hand on, `read_some` reports the error after.)
            if let (true, Some(e)) = (this.staged_in.is_empty(), this.engine.session.error()) {
                return Poll::Ready(Err(e.clone().into()));
            }
            progress |= this.fill_output(cx);
            progress |= this.write_some(cx)?;
            if this.closing {
                if this.all_written() {
                    return Poll::Ready(Ok(()));
                }
            } else {
                progress |= this.read_some(cx)?;
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
