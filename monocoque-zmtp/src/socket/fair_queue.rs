//! The receive side PULL, DEALER, PAIR, ROUTER and XSUB share: every message from every peer,
//! in arrival order, untouched (a ROUTER's come with the sender's routing id in front).

use super::inbox::Inbox;
use super::split::RecvHalf;
use super::{Kind, Socket};
use crate::link::Inbound;
use futures::Stream;
use monocoque_core::{Message, Result, SocketOptions};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Socket types that hand the application every message their peers send, as sent:
/// [`Pull`](super::Pull), [`Dealer`](super::Dealer), [`Pair`](super::Pair),
/// [`Router`](super::Router) (routing id first) and [`XSub`](super::XSub). Gives their sockets
/// (and receive halves) `recv`, `try_recv` and [`Stream`].
pub trait FairQueued: Kind {}

fn poll_recv(inbox: &mut Inbox, options: &SocketOptions, cx: &mut Context<'_>) -> Poll<Message> {
    inbox.poll_accept(options, cx, Inbound::into_message)
}

impl<K: FairQueued> Socket<K> {
    /// Receives the next message any peer sent, waiting for at most RCVTIMEO.
    ///
    /// Cancel safety: a message is taken only when this returns it; a cancelled `recv` loses
    /// nothing.
    pub async fn recv(&mut self) -> Result<Message> {
        self.inbox
            .recv(self.base.options(), Inbound::into_message)
            .await
    }

    /// Receives a message if one is waiting, else fails with
    /// [`Error::WouldBlock`](monocoque_core::Error::WouldBlock).
    pub fn try_recv(&mut self) -> Result<Message> {
        self.inbox
            .try_accept(self.base.options(), Inbound::into_message)
    }
}

impl<K: FairQueued> RecvHalf<K> {
    /// As [`Socket::recv`](Socket::recv). Cancel safety: a cancelled `recv` loses nothing.
    pub async fn recv(&mut self) -> Result<Message> {
        self.inbox
            .recv(self.base.options(), Inbound::into_message)
            .await
    }

    /// As [`Socket::try_recv`](Socket::try_recv).
    pub fn try_recv(&mut self) -> Result<Message> {
        self.inbox
            .try_accept(self.base.options(), Inbound::into_message)
    }
}

/// The messages, as `recv` returns them (RCVTIMEO does not apply); the stream never ends while
/// the socket exists.
impl<K: FairQueued> Stream for Socket<K> {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        let this = self.get_mut();
        poll_recv(&mut this.inbox, this.base.options(), cx).map(|msg| Some(Ok(msg)))
    }
}

/// As the socket's [`Stream`].
impl<K: FairQueued> Stream for RecvHalf<K> {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        let this = self.get_mut();
        poll_recv(&mut this.inbox, this.base.options(), cx).map(|msg| Some(Ok(msg)))
    }
}
