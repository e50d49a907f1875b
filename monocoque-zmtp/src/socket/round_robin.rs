//! The send side PUSH, DEALER and PAIR share: each message goes to the next peer with room,
//! round-robin, and waits (never drops) while every peer is at SNDHWM or none is connected.

use super::outbox::{Destination, Outbox, SendFuture};
use super::split::SendHalf;
use super::{Kind, Socket};
use futures::Sink;
use monocoque_core::{Message, SendError, SocketOptions};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Socket types that send each message to the next peer with room (round-robin) and wait,
/// never drop, when none has any: [`Push`](super::Push), [`Dealer`](super::Dealer) and
/// [`Pair`](super::Pair). Gives their sockets (and send halves) `send`, `try_send` and
/// [`Sink`].
pub trait RoundRobin: Kind {}

/// `send` for every round-robin sender.
fn send<'a>(
    outbox: &'a mut Outbox,
    options: &SocketOptions,
    msg: impl Into<Message>,
) -> SendFuture<'a> {
    match super::non_empty(msg) {
        Ok(msg) => outbox.send(msg, Destination::AnyPeer, options),
        Err(e) => outbox.sent(Err(e)),
    }
}

/// `try_send` for every round-robin sender.
fn try_send(
    outbox: &mut Outbox,
    options: &SocketOptions,
    msg: impl Into<Message>,
) -> Result<(), SendError> {
    let msg = super::non_empty(msg)?;
    outbox
        .try_send(msg, Destination::AnyPeer, options.immediate)
        .map(drop)
}

/// `Sink::start_send` for every round-robin sender.
fn start_send(outbox: &mut Outbox, msg: Message) -> Result<(), SendError> {
    outbox.accept(super::non_empty(msg)?, Destination::AnyPeer);
    Ok(())
}

impl<K: RoundRobin> Socket<K> {
    /// Sends a message to the next peer with room (round-robin), waiting while every peer is
    /// at SNDHWM or there is no peer yet, for at most SNDTIMEO
    /// ([`Error::Timeout`](monocoque_core::Error::Timeout)). Never drops the message.
    ///
    /// Cancel safety: when the send fails, or its future is dropped before it completes, the
    /// message was not queued; the socket keeps it and [`take_unsent`](Self::take_unsent)
    /// returns it.
    pub fn send(&mut self, msg: impl Into<Message>) -> SendFuture<'_> {
        send(&mut self.outbox, self.base.options(), msg)
    }

    /// Queues a message for the next peer with room without waiting; when no peer has room,
    /// fails with [`Error::WouldBlock`](monocoque_core::Error::WouldBlock) and hands the
    /// message back.
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        try_send(&mut self.outbox, self.base.options(), msg)
    }

    /// The message of the last `send` that failed or was cancelled before a peer took it.
    pub fn take_unsent(&mut self) -> Option<Message> {
        self.outbox.take_unsent()
    }
}

impl<K: RoundRobin> SendHalf<K> {
    /// As [`Socket::send`](Socket::send): to the next peer with room, waiting for at most
    /// SNDTIMEO. Cancel safety: a failed or cancelled send keeps its message for
    /// [`take_unsent`](Self::take_unsent).
    pub fn send(&mut self, msg: impl Into<Message>) -> SendFuture<'_> {
        send(&mut self.outbox, self.base.options(), msg)
    }

    /// As [`Socket::try_send`](Socket::try_send): never waits.
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        try_send(&mut self.outbox, self.base.options(), msg)
    }

    /// The message of the last `send` that failed or was cancelled before a peer took it.
    pub fn take_unsent(&mut self) -> Option<Message> {
        self.outbox.take_unsent()
    }
}

/// Messages fed to the sink go to the peers round-robin. The sink takes up to 256 messages
/// before it places any (`poll_ready` is ready at once until then), and places them together
/// on `poll_flush`, or in `poll_ready` once the batch is full: with one peer, the whole batch
/// goes into its queue under one lock, with one wake-up of its connection. `poll_ready` and
/// `poll_flush` wait for room (SNDTIMEO does not apply). What the sink accepted is held by
/// the socket until a peer's queue takes it, ahead of any later `send`; `close` places what
/// no flush did (past SNDHWM: it is at most one batch). So a producer with many messages
/// feeds them (`SinkExt::feed`, `send_all`) and flushes once.
impl<K: RoundRobin> Sink<Message> for Socket<K> {
    type Error = SendError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let this = self.get_mut();
        this.outbox.poll_ready(this.base.options().immediate, cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: Message) -> Result<(), SendError> {
        start_send(&mut self.get_mut().outbox, msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let this = self.get_mut();
        this.outbox.poll_flush(this.base.options().immediate, cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.poll_flush(cx)
    }
}

/// As the socket's [`Sink`].
impl<K: RoundRobin> Sink<Message> for SendHalf<K> {
    type Error = SendError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let this = self.get_mut();
        this.outbox.poll_ready(this.base.options().immediate, cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: Message) -> Result<(), SendError> {
        start_send(&mut self.get_mut().outbox, msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let this = self.get_mut();
        this.outbox.poll_flush(this.base.options().immediate, cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.poll_flush(cx)
    }
}
