//! SUB and XSUB (RFC 29): subscribing, and receiving what matches.

use super::fair_queue::FairQueued;
use super::outbox::{Outbox, SendFuture};
use super::peers::Peers;
use super::{Kind, Socket, sealed};
use crate::link::{Inbound, Outbound};
use bytes::Bytes;
use futures::Stream;
use monocoque_core::routing::SubscriberTrie;
use monocoque_core::{Message, Result, SendError, SocketType};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The socket's own subscriptions: counted, sent upstream on the first subscribe and the last
/// cancel of each topic, and re-sent to every publisher that (re)connects.
#[derive(Debug, Default)]
struct Subscriptions {
    trie: SubscriberTrie,
}

impl Subscriptions {
    /// Whether a message with this first frame is for the application (INVERT_MATCHING turns
    /// the test around).
    fn wanted(&self, msg: &Message, invert: bool) -> bool {
        self.trie.matches(msg.first().map_or(&[][..], |f| &f[..])) != invert
    }

    fn change(&mut self, peers: &Peers, outbox: &mut Outbox, subscribe: bool, topic: &[u8]) {
        let topic = Bytes::copy_from_slice(topic);
        let upstream = if subscribe {
            self.trie
                .subscribe(&topic)
                .then(|| Outbound::Subscribe(topic))
        } else {
            self.trie
                .unsubscribe(&topic)
                .then(|| Outbound::Cancel(topic))
        };
        if let Some(item) = upstream {
            // Peers that attach from now on get the whole list; those attached now, the change.
            let attached = peers.set_subscriptions(self.trie.topics().collect());
            outbox.offer_each(attached, &item);
        }
    }
}

/// SUB (RFC 29): receives, from all its publishers (fair-queued), the messages whose first
/// frame starts with one of its subscriptions. Subscriptions are counted: a topic subscribed
/// twice needs two `unsubscribe` calls.
#[derive(Debug, Default)]
pub struct Sub {
    subscriptions: Subscriptions,
}

impl sealed::Sealed for Sub {}
impl Kind for Sub {
    const TYPE: SocketType = SocketType::Sub;
}

impl Sub {
    fn accept(&self, inbound: Inbound, invert: bool) -> Option<Message> {
        let msg = inbound.into_message()?;
        self.subscriptions.wanted(&msg, invert).then_some(msg)
    }
}

impl Socket<Sub> {
    /// Subscribes to messages whose first frame starts with `topic` (`""`: everything).
    pub fn subscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        let peers = self.base.peers();
        (self.kind.subscriptions).change(peers, &mut self.outbox, true, topic.as_ref());
        Ok(())
    }

    /// Drops one subscription to `topic`.
    pub fn unsubscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        let peers = self.base.peers();
        (self.kind.subscriptions).change(peers, &mut self.outbox, false, topic.as_ref());
        Ok(())
    }

    /// Receives the next matching message, waiting up to RCVTIMEO.
    ///
    /// Cancel safety: a message is taken only when this returns it.
    pub async fn recv(&mut self) -> Result<Message> {
        let (sub, invert) = (&self.kind, self.base.options().invert_matching);
        (self.inbox)
            .recv(self.base.options(), |inbound| sub.accept(inbound, invert))
            .await
    }

    /// Receives a waiting matching message, else fails with
    /// [`Error::WouldBlock`](monocoque_core::Error::WouldBlock).
    pub fn try_recv(&mut self) -> Result<Message> {
        let (sub, invert) = (&self.kind, self.base.options().invert_matching);
        (self.inbox).try_accept(self.base.options(), |inbound| sub.accept(inbound, invert))
    }

    /// The next matching message, polled.
    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Message> {
        let (sub, invert) = (&self.kind, self.base.options().invert_matching);
        (self.inbox).poll_accept(self.base.options(), cx, |inbound| {
            sub.accept(inbound, invert)
        })
    }
}

/// The matching messages, as `recv` returns them; the stream never ends while the socket
/// exists.
impl Stream for Socket<Sub> {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        self.get_mut().poll_recv(cx).map(|msg| Some(Ok(msg)))
    }
}

/// XSUB (RFC 29): subscribes by sending `0x01 + topic` (and cancels with `0x00 + topic`); any
/// other message goes to every publisher (dropped for one at SNDHWM). Receives everything its
/// publishers send, unfiltered, through [`FairQueued`]'s `recv`, `try_recv` and `Stream`.
#[derive(Debug, Default)]
pub struct XSub {
    subscriptions: Subscriptions,
}

impl sealed::Sealed for XSub {}
impl Kind for XSub {
    const TYPE: SocketType = SocketType::XSub;
}
impl FairQueued for XSub {}

impl Socket<XSub> {
    /// Sends a subscription message or, for any other message, offers it to every publisher.
    /// Never waits: the future is complete at once, so cancelling it changes nothing.
    pub fn send(&mut self, msg: impl Into<Message>) -> SendFuture<'_> {
        let result = self.try_send(msg);
        self.outbox.sent(result)
    }

    /// Same as [`send`](Self::send) (XSUB never waits).
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        let msg = super::non_empty(msg)?;
        let first = &msg.frames()[0];
        match first.first() {
            Some(&flag @ (0 | 1)) if msg.len() == 1 => {
                let peers = self.base.peers();
                let topic = first.slice(1..);
                (self.kind.subscriptions).change(peers, &mut self.outbox, flag == 1, &topic);
            }
            _ => self.outbox.offer_attached(&Outbound::Message(msg)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::publish::subscription_message;
    use super::*;

    #[test]
    fn subscription_messages() {
        assert_eq!(
            subscription_message(true, b"A"),
            Message::from(vec![1u8, b'A'])
        );
        assert_eq!(subscription_message(false, b""), Message::from(vec![0u8]));
    }
}
