//! The sending side of a socket: its view of the peers' outbound queues, the waiting send and
//! its cancel safety.
//!
//! A message goes to a [`Destination`]: the next peer with room (round-robin: PUSH, DEALER,
//! REQ, PAIR) or one given peer (ROUTER, REP). When no queue can take it, [`SendFuture`] waits for
//! room (the socket's one [`Room`](crate::link::queue::Room), which every peer queue and every
//! peer joining wake), bounded by SNDTIMEO.
//!
//! Cancel safety: a message is never lost to cancellation or failure. A [`SendFuture`] that
//! fails (SNDTIMEO, unreachable peer) or is dropped before it completes gives its message back
//! to the socket, where `take_unsent` returns it; a message the [`Sink`](futures::Sink)
//! accepted is held until a peer takes it and goes out before any later one.
//!
//! Batching: a round-robin sink accepts up to [`SINK_BATCH`] messages before it places any,
//! and places them together on flush (or when the batch is full): with one peer, under one
//! lock of its queue and with at most one wake-up of its connection. That is the
//! feed-then-flush path of a producer with many messages.

use super::peers::{PeerTx, PeerView, Peers};
use crate::link::queue;
use crate::link::{Outbound, PeerId};
use futures::FutureExt;
use futures::future::BoxFuture;
use monocoque_core::runtime::RuntimeHandle;
use monocoque_core::{Error, Message, SendError, SocketOptions};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Destination {
    /// The next peer (round-robin) whose queue has room.
    AnyPeer,
    /// This peer.
    Peer(PeerId),
    /// This peer; the message's first frame is its routing id, which stays with the message
    /// until a queue takes it (ROUTER: a message given back still has it).
    Routed(PeerId),
}

/// How the last waiting send ended (REQ reads it to know whether its request went out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The message went to this peer.
    Sent(PeerId),
    /// It did not (failed, timed out or cancelled).
    NotSent,
}

/// Why a message could not be placed now.
enum NotPlaced {
    /// No room: wait.
    Full(Message),
    /// The peer is gone.
    Unreachable(Message),
}

/// How many messages a round-robin [`Sink`](futures::Sink) takes before `poll_ready` places
/// them (waiting for room if need be): enough that the lock and the wake-up of the peer's
/// queue are paid once per batch, few enough that what the socket holds beyond SNDHWM stays
/// small.
pub(crate) const SINK_BATCH: usize = 256;

/// A socket's sending side.
pub(crate) struct Outbox {
    peers: Arc<Peers>,
    view: PeerView,
    runtime: RuntimeHandle,
    /// Accepted by the `Sink`, not yet in a peer's queue, oldest first, all for
    /// `accepted_to`: up to [`SINK_BATCH`] for any peer, or one for a given peer (ROUTER).
    accepted: VecDeque<Outbound>,
    accepted_to: Destination,
    /// The ZMQ_IMMEDIATE of the last look at the peers, for the look on drop.
    immediate: bool,
    /// Given back by a cancelled `send`.
    unsent: Option<Message>,
    /// Frames the socket puts in front of what the application sends (REQ's envelope), taken
    /// off again whenever a message is given back.
    envelope_frames: usize,
    outcome: Option<Outcome>,
}

impl Outbox {
    pub fn new(peers: Arc<Peers>, runtime: RuntimeHandle) -> Self {
        Self {
            peers,
            view: PeerView::default(),
            runtime,
            accepted: VecDeque::new(),
            accepted_to: Destination::AnyPeer,
            immediate: false,
            unsent: None,
            envelope_frames: 0,
            outcome: None,
        }
    }

    /// Says how many frames the socket puts in front of each message (REQ).
    pub fn set_envelope_frames(&mut self, frames: usize) {
        self.envelope_frames = frames;
    }

    /// The view of the peers, up to date.
    #[inline]
    pub fn view(&mut self, immediate: bool) -> &mut PeerView {
        self.immediate = immediate;
        self.view.refresh(&self.peers, immediate);
        &mut self.view
    }

    /// The message a cancelled `send` gave back, if any.
    pub fn take_unsent(&mut self) -> Option<Message> {
        self.unsent.take()
    }

    /// How the last waiting send ended, once (`None`: no send since the last call).
    pub fn take_outcome(&mut self) -> Option<Outcome> {
        self.outcome.take()
    }

    /// A message as it goes back to the application: without the socket's envelope.
    fn give_back(&self, mut msg: Message) -> Message {
        for _ in 0..self.envelope_frames {
            msg.pop_front();
        }
        msg
    }

    fn error(&self, error: Error, msg: Message) -> SendError {
        SendError {
            error,
            message: self.give_back(msg),
        }
    }

    /// Hands `msg` to its destination's queue now if it has room.
    #[inline]
    fn place(
        &mut self,
        mut msg: Message,
        to: Destination,
        immediate: bool,
    ) -> Result<PeerId, NotPlaced> {
        let view = self.view(immediate);
        let peer = match to {
            Destination::AnyPeer => {
                return match view.offer_round_robin(Outbound::Message(msg)) {
                    Ok(peer) => Ok(peer),
                    Err(item) => Err(NotPlaced::Full(into_message(item))),
                };
            }
            Destination::Peer(peer) | Destination::Routed(peer) => peer,
        };
        let Some(tx) = view.queue(peer) else {
            return Err(NotPlaced::Unreachable(msg));
        };
        let routing_id = match to {
            Destination::Routed(_) => msg.pop_front(),
            _ => None,
        };
        let restore = |mut msg: Message| {
            if let Some(id) = routing_id.clone() {
                msg.push_front(id);
            }
            msg
        };
        match tx.try_send(Outbound::Message(msg)) {
            Ok(()) => Ok(peer),
            Err(queue::TrySendError::Full(item)) => {
                Err(NotPlaced::Full(restore(into_message(item))))
            }
            Err(queue::TrySendError::Disconnected(item)) => {
                Err(NotPlaced::Unreachable(restore(into_message(item))))
            }
        }
    }

    /// Ready when placing a message for `to` may succeed now (a queue has room, or the peers
    /// changed); otherwise registers to be woken when that happens.
    fn poll_room(&mut self, to: Destination, immediate: bool, cx: &mut Context<'_>) -> Poll<()> {
        // Register first, then look: room made in between is not missed.
        self.peers.room().register(cx.waker());
        let view = self.view(immediate);
        let room = match to {
            Destination::AnyPeer => view.any_room(),
            Destination::Peer(peer) | Destination::Routed(peer) => {
                view.queue(peer).is_none_or(|tx| !PeerTx::is_full(tx))
            }
        };
        if room { Poll::Ready(()) } else { Poll::Pending }
    }

    /// Queues `msg` for `to` without waiting: [`Error::WouldBlock`] when there is no room,
    /// [`Error::HostUnreachable`] when the peer is gone. Returns the peer it went to.
    pub fn try_send(
        &mut self,
        msg: Message,
        to: Destination,
        immediate: bool,
    ) -> Result<PeerId, SendError> {
        match self.place(msg, to, immediate) {
            Ok(peer) => Ok(peer),
            Err(NotPlaced::Full(msg)) => Err(self.error(Error::WouldBlock, msg)),
            Err(NotPlaced::Unreachable(msg)) => Err(self.error(Error::HostUnreachable, msg)),
        }
    }

    /// Sends `msg` to `to`, waiting for room for at most SNDTIMEO. The message goes to a
    /// peer's queue at once if one has room (the future is then complete); otherwise the
    /// future waits.
    pub fn send(
        &mut self,
        msg: Message,
        to: Destination,
        options: &SocketOptions,
    ) -> SendFuture<'_> {
        let immediate = options.immediate;
        // What the Sink accepted must go first: only then may this one be placed.
        let msg = if !self.accepted.is_empty() {
            msg
        } else {
            match self.place(msg, to, immediate) {
                Ok(peer) => {
                    self.outcome = Some(Outcome::Sent(peer));
                    return SendFuture {
                        outbox: self,
                        state: Sending::Sent,
                    };
                }
                Err(NotPlaced::Unreachable(msg)) => {
                    return self.finished(Err(self.error(Error::HostUnreachable, msg)));
                }
                Err(NotPlaced::Full(msg)) if options.sndtimeo == Some(Duration::ZERO) => {
                    return self.finished(Err(self.error(Error::WouldBlock, msg)));
                }
                Err(NotPlaced::Full(msg)) => msg,
            }
        };
        let waiting = Waiting {
            msg: Some(msg),
            to,
            sndtimeo: options.sndtimeo,
            immediate,
            timer: None,
        };
        SendFuture {
            outbox: self,
            state: Sending::Waiting(Box::new(waiting)),
        }
    }

    /// A [`SendFuture`] that is over before it starts, with `result` (a check failed, or the
    /// message went or was dropped without waiting). A failed message is kept for
    /// `take_unsent`.
    pub fn sent(&mut self, result: Result<(), SendError>) -> SendFuture<'_> {
        self.finished(result)
    }

    fn finished(&mut self, result: Result<(), SendError>) -> SendFuture<'_> {
        let done = result.map_err(|e| {
            self.outcome = Some(Outcome::NotSent);
            if !e.message.is_empty() {
                self.unsent = Some(e.message);
            }
            e.error
        });
        SendFuture {
            outbox: self,
            state: match done {
                Ok(()) => Sending::Sent,
                Err(e) => Sending::Failed(Some(e)),
            },
        }
    }

    /// The `Sink`'s `start_send`: holds `msg` until a peer takes it. Call only after
    /// [`poll_ready`](Self::poll_ready) (round-robin sinks) or [`poll_flush`](Self::poll_flush)
    /// (sinks to one peer) was ready.
    pub fn accept(&mut self, msg: Message, to: Destination) {
        debug_assert!(
            self.accepted.is_empty() || (to == Destination::AnyPeer && self.accepted_to == to),
            "start_send without poll_ready"
        );
        self.accepted_to = to;
        self.accepted.push_back(Outbound::Message(msg));
    }

    /// A round-robin `Sink`'s `poll_ready`: ready at once while the batch has room, else
    /// places the batch as [`poll_flush`](Self::poll_flush) does.
    pub fn poll_ready(
        &mut self,
        immediate: bool,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError>> {
        if self.accepted.len() < SINK_BATCH {
            return Poll::Ready(Ok(()));
        }
        self.poll_flush(immediate, cx)
    }

    /// The `Sink`'s `poll_flush` (and a one-peer sink's `poll_ready`): hands the accepted
    /// messages to the peers, waiting for room. An unreachable peer fails its message (given
    /// back in the error).
    pub fn poll_flush(
        &mut self,
        immediate: bool,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError>> {
        while !self.accepted.is_empty() {
            let to = self.accepted_to;
            if to == Destination::AnyPeer {
                self.immediate = immediate;
                self.view.refresh(&self.peers, immediate);
                self.view.offer_batch_round_robin(&mut self.accepted);
                if self.accepted.is_empty() {
                    break;
                }
            } else {
                let msg = into_message(self.accepted.pop_front().expect("not empty"));
                match self.place(msg, to, immediate) {
                    Ok(_) => continue,
                    Err(NotPlaced::Unreachable(msg)) => {
                        return Poll::Ready(Err(self.error(Error::HostUnreachable, msg)));
                    }
                    Err(NotPlaced::Full(msg)) => {
                        self.accepted.push_front(Outbound::Message(msg));
                    }
                }
            }
            if self.poll_room(to, immediate, cx).is_pending() {
                return Poll::Pending;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// On close: the messages the `Sink` accepted and no flush placed go into the peers'
    /// queues now, past SNDHWM if need be (they are at most a batch), so that linger covers
    /// them as it covers sent ones. With no peer to take them they are dropped, as libzmq
    /// drops what is queued for no peer at close.
    fn place_accepted_on_close(&mut self) {
        if self.accepted.is_empty() {
            return;
        }
        let immediate = self.immediate;
        let waker = futures::task::noop_waker();
        let _ = self.poll_flush(immediate, &mut Context::from_waker(&waker));
        let accepted = std::mem::take(&mut self.accepted);
        let to = self.accepted_to;
        let view = self.view(immediate);
        match to {
            Destination::AnyPeer => {
                let queues = view.rotation_queues();
                if queues.is_empty() {
                    return;
                }
                for (i, item) in accepted.into_iter().enumerate() {
                    let _ = queues[i % queues.len()].force_send(item);
                }
            }
            Destination::Peer(peer) | Destination::Routed(peer) => {
                let Some(tx) = view.queue(peer) else { return };
                for item in accepted {
                    let mut msg = into_message(item);
                    if matches!(to, Destination::Routed(_)) {
                        msg.pop_front();
                    }
                    let _ = tx.force_send(Outbound::Message(msg));
                }
            }
        }
    }

    /// Offers `item` to each of `peers` that has room; the others miss it (PUB, XPUB, XSUB).
    pub fn offer_each(&mut self, peers: impl IntoIterator<Item = PeerId>, item: &Outbound) {
        let view = self.view(false);
        for peer in peers {
            if let Some(tx) = view.queue(peer) {
                let _ = tx.try_send(item.clone());
            }
        }
    }

    /// Offers `item` to every peer whose connection is up (XSUB messages); a peer at SNDHWM
    /// misses it, as with libzmq.
    pub fn offer_attached(&mut self, item: &Outbound) {
        let view = self.view(false);
        for peer in view.attached() {
            if let Some(tx) = view.queue(*peer) {
                let _ = tx.try_send(item.clone());
            }
        }
    }

    /// The peers whose connection is up.
    pub fn attached(&mut self) -> &[PeerId] {
        self.view(false).attached()
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.place_accepted_on_close();
    }
}

/// The future of a `send`: complete at once when a peer's queue took the message (or it was
/// refused), else waiting for room; it resolves with the error when SNDTIMEO expires, the peer
/// is unreachable, ...
///
/// A message that was not sent is never lost: when the send fails, or the future is dropped
/// before it completes (cancelled), the socket keeps the message and its `take_unsent`
/// returns it.
#[must_use = "a send that waits does nothing unless awaited"]
pub struct SendFuture<'a> {
    outbox: &'a mut Outbox,
    state: Sending,
}

enum Sending {
    /// Over: the message went (or was dropped by a type that drops).
    Sent,
    /// Over: the error, until it is polled.
    Failed(Option<Error>),
    /// Waiting for room; on the heap, so that the future of every send stays small (it is
    /// moved on each call, and waiting is the rare case).
    Waiting(Box<Waiting>),
}

struct Waiting {
    msg: Option<Message>,
    to: Destination,
    sndtimeo: Option<Duration>,
    immediate: bool,
    timer: Option<BoxFuture<'static, ()>>,
}

impl std::fmt::Debug for SendFuture<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let waiting = matches!(self.state, Sending::Waiting(_));
        f.debug_struct("SendFuture")
            .field("waiting", &waiting)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// Ends a waiting send with `error`, keeping the message for `take_unsent`.
    fn fail(&mut self, error: Error, msg: Message) -> Poll<Result<(), Error>> {
        self.outcome = Some(Outcome::NotSent);
        self.unsent = Some(self.give_back(msg));
        Poll::Ready(Err(error))
    }

    /// Polls a waiting send.
    fn poll_waiting(
        &mut self,
        wait: &mut Waiting,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Error>> {
        // What the Sink accepted before goes first (a failure of its is reported by the sink,
        // not here).
        if let Poll::Ready(Err(e)) = self.poll_flush(wait.immediate, cx) {
            self.unsent = Some(e.message);
        }
        loop {
            let Some(msg) = wait.msg.take() else {
                panic!("SendFuture polled after completion");
            };
            if !self.accepted.is_empty() {
                // Still waiting for room for the accepted message (registered above).
                wait.msg = Some(msg);
            } else {
                match self.place(msg, wait.to, wait.immediate) {
                    Ok(peer) => {
                        self.outcome = Some(Outcome::Sent(peer));
                        return Poll::Ready(Ok(()));
                    }
                    Err(NotPlaced::Unreachable(msg)) => {
                        return self.fail(Error::HostUnreachable, msg);
                    }
                    Err(NotPlaced::Full(msg)) => wait.msg = Some(msg),
                }
                if self.poll_room(wait.to, wait.immediate, cx).is_ready() {
                    continue;
                }
            }
            let Some(limit) = wait.sndtimeo else {
                return Poll::Pending;
            };
            let runtime = &self.runtime;
            let timer = wait.timer.get_or_insert_with(|| runtime.sleep(limit));
            if timer.poll_unpin(cx).is_pending() {
                return Poll::Pending;
            }
            let msg = wait.msg.take().expect("kept above");
            return self.fail(Error::Timeout, msg);
        }
    }
}

impl Future for SendFuture<'_> {
    type Output = Result<(), Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match &mut this.state {
            Sending::Sent => Poll::Ready(Ok(())),
            Sending::Failed(error) => Poll::Ready(Err(error
                .take()
                .expect("SendFuture polled after completion"))),
            Sending::Waiting(wait) => this.outbox.poll_waiting(wait, cx),
        }
    }
}

impl Drop for SendFuture<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Sending::Waiting(wait) = &mut self.state {
            if let Some(msg) = wait.msg.take() {
                // Cancelled: the message goes back to the socket, not away.
                self.outbox.outcome = Some(Outcome::NotSent);
                self.outbox.unsent = Some(self.outbox.give_back(msg));
            }
        }
    }
}

/// The message in an item the socket put in a queue (only messages go through [`Outbox`]).
fn into_message(item: Outbound) -> Message {
    match item {
        Outbound::Message(msg) => msg,
        Outbound::Subscribe(_) | Outbound::Cancel(_) => unreachable!("a message went in"),
    }
}
