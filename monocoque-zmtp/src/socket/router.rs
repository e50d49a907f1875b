//! ROUTER (RFC 28): routing by identity.

use super::base::SocketBase;
use super::fair_queue::FairQueued;
use super::outbox::{Destination, Outbox, SendFuture};
use super::split::{SendHalf, Splittable};
use super::{Kind, Socket, sealed};
use futures::Sink;
use monocoque_core::{Error, Message, SendError, SocketType};
use std::pin::Pin;
use std::task::{Context, Poll};

/// ROUTER (RFC 28). Every received message starts with the routing id of the peer it came
/// from (the id the peer announced, or a generated 5-byte one starting with 0x00), through
/// [`FairQueued`]'s `recv`, `try_recv` and `Stream`. To send, put the routing id of the
/// destination first. A message for an unknown peer, or for a peer at SNDHWM, is dropped
/// silently; with ROUTER_MANDATORY the first is [`Error::HostUnreachable`] and the second
/// waits. A second peer announcing a routing id in use is refused, or takes it over with
/// ROUTER_HANDOVER. Can be [split](Socket::split).
#[derive(Debug, Default)]
pub struct Router;

impl sealed::Sealed for Router {}
impl Kind for Router {
    const TYPE: SocketType = SocketType::Router;
}
impl FairQueued for Router {}
impl Splittable for Router {}

/// Where a message goes: its first frame names the peer.
enum Route {
    /// To this peer (the routing id frame is taken off when a queue takes the message).
    To(Destination),
    /// Nowhere, and that is no error: an unknown peer without ROUTER_MANDATORY, or a routing
    /// id with nothing after it.
    Drop,
}

fn route(base: &SocketBase, msg: Message) -> Result<(Message, Route), SendError> {
    let msg = super::non_empty(msg)?;
    let peer = base.peers().route(&msg.frames()[0]);
    match peer {
        Some(_) if msg.len() == 1 => Ok((msg, Route::Drop)),
        Some(peer) => Ok((msg, Route::To(Destination::Routed(peer)))),
        None if base.options().router_mandatory => Err(SendError {
            error: Error::HostUnreachable,
            message: msg,
        }),
        None => Ok((msg, Route::Drop)),
    }
}

fn send<'a>(outbox: &'a mut Outbox, base: &SocketBase, msg: impl Into<Message>) -> SendFuture<'a> {
    let options = base.options();
    match route(base, msg.into()) {
        Err(e) => outbox.sent(Err(e)),
        Ok((msg, Route::To(to))) if options.router_mandatory => outbox.send(msg, to, options),
        Ok((msg, Route::To(to))) => {
            // A peer at SNDHWM misses the message: ROUTER drops rather than waits.
            let _ = outbox.try_send(msg, to, options.immediate);
            outbox.sent(Ok(()))
        }
        Ok((_, Route::Drop)) => outbox.sent(Ok(())),
    }
}

fn try_send(
    outbox: &mut Outbox,
    base: &SocketBase,
    msg: impl Into<Message>,
) -> Result<(), SendError> {
    let (msg, route) = route(base, msg.into())?;
    let Route::To(to) = route else {
        return Ok(());
    };
    match outbox.try_send(msg, to, base.options().immediate) {
        Err(e) if base.options().router_mandatory => Err(e),
        _ => Ok(()),
    }
}

fn start_send(outbox: &mut Outbox, base: &SocketBase, msg: Message) -> Result<(), SendError> {
    match route(base, msg)? {
        (msg, Route::To(to)) if base.options().router_mandatory => outbox.accept(msg, to),
        (msg, Route::To(to)) => {
            let _ = outbox.try_send(msg, to, base.options().immediate);
        }
        (_, Route::Drop) => {}
    }
    Ok(())
}

impl Socket<Router> {
    /// Sends `msg[1..]` to the peer whose routing id is `msg[0]`. Without ROUTER_MANDATORY it
    /// never waits (an unknown or full peer misses the message); with it, an unknown peer is
    /// [`Error::HostUnreachable`] and a full one is waited for, up to SNDTIMEO.
    ///
    /// Cancel safety: when the send fails or its future is dropped before it completes, the
    /// socket keeps the message (routing id included) for [`take_unsent`](Self::take_unsent).
    pub fn send(&mut self, msg: impl Into<Message>) -> SendFuture<'_> {
        send(&mut self.outbox, &self.base, msg)
    }

    /// Like [`send`](Self::send) but never waits: with ROUTER_MANDATORY a full peer is
    /// [`Error::WouldBlock`], the message handed back.
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        try_send(&mut self.outbox, &self.base, msg)
    }

    /// The message of the last `send` that failed or was cancelled before a peer took it.
    pub fn take_unsent(&mut self) -> Option<Message> {
        self.outbox.take_unsent()
    }
}

impl SendHalf<Router> {
    /// As [`Socket::<Router>::send`](Socket::send).
    pub fn send(&mut self, msg: impl Into<Message>) -> SendFuture<'_> {
        send(&mut self.outbox, &self.base, msg)
    }

    /// As [`Socket::<Router>::try_send`](Socket::try_send).
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        try_send(&mut self.outbox, &self.base, msg)
    }

    /// The message of the last `send` that failed or was cancelled before a peer took it.
    pub fn take_unsent(&mut self) -> Option<Message> {
        self.outbox.take_unsent()
    }
}

/// Messages fed to the sink are routed as by `send`; with ROUTER_MANDATORY `poll_ready` and
/// `poll_flush` wait for room at the peer.
impl Sink<Message> for Socket<Router> {
    type Error = SendError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let this = self.get_mut();
        this.outbox.poll_flush(this.base.options().immediate, cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: Message) -> Result<(), SendError> {
        let this = self.get_mut();
        start_send(&mut this.outbox, &this.base, msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.poll_ready(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.poll_ready(cx)
    }
}

/// As the socket's [`Sink`].
impl Sink<Message> for SendHalf<Router> {
    type Error = SendError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let this = self.get_mut();
        this.outbox.poll_flush(this.base.options().immediate, cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: Message) -> Result<(), SendError> {
        let this = self.get_mut();
        start_send(&mut this.outbox, &this.base, msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.poll_ready(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.poll_ready(cx)
    }
}
