//! PUB and XPUB (RFC 29): distribution to subscribers, filtered at the publisher.

use super::inbox::Inbox;
use super::outbox::{Outbox, SendFuture};
use super::{Kind, Socket, sealed};
use crate::link::{Inbound, Outbound, PeerId};
use bytes::{BufMut, BytesMut};
use monocoque_core::routing::PublisherTrie;
use monocoque_core::{Error, Message, Result, SendError, SocketOptions, SocketType};
use std::collections::VecDeque;
use std::task::{Context, Poll};

/// The subscriptions of every subscriber, kept by the publishing socket itself: connections
/// report SUBSCRIBE/CANCEL (or 3.0 subscription messages) as inbound items, and the socket
/// applies them before each send, so matching needs no lock and no extra hop.
#[derive(Debug, Default)]
struct Distributor {
    subscriptions: PublisherTrie<PeerId>,
    /// Scratch list of matching peers, reused by every send.
    matched: Vec<PeerId>,
}

impl Distributor {
    /// Sends `msg` to every subscriber with a matching subscription and room in its queue; a
    /// subscriber at SNDHWM misses the message (PUB never blocks). With INVERT_MATCHING, to
    /// every connected subscriber *without* a matching subscription.
    fn distribute(&mut self, outbox: &mut Outbox, options: &SocketOptions, msg: Message) {
        let topic = msg.first().map_or(&[][..], |f| &f[..]);
        self.matched.clear();
        let matched = &mut self.matched;
        if options.invert_matching {
            let peers = outbox.attached().to_vec();
            (self.subscriptions).for_each_non_match(topic, peers, |peer| matched.push(peer));
        } else {
            (self.subscriptions).for_each_match(topic, |peer| matched.push(peer));
        }
        outbox.offer_each(self.matched.iter().copied(), &Outbound::Message(msg));
    }

    /// Applies a subscriber's item; `report` gets what an XPUB application should see.
    fn apply(&mut self, inbound: Inbound, mut report: impl FnMut(Message)) {
        let subscriptions = &mut self.subscriptions;
        match inbound {
            Inbound::Subscribe(peer, topic) => {
                if subscriptions.add(&topic, peer) {
                    report(subscription_message(true, &topic));
                }
            }
            Inbound::Cancel(peer, topic) => {
                if subscriptions.remove(&topic, peer) {
                    report(subscription_message(false, &topic));
                }
            }
            Inbound::Left(peer) => {
                subscriptions.remove_peer(peer, |topic| report(subscription_message(false, topic)));
            }
            Inbound::Message(_, msg) => report(msg),
        }
    }
}

/// `0x01 + topic` or `0x00 + topic`: a subscription as XPUB/XSUB applications see it.
pub(crate) fn subscription_message(subscribe: bool, topic: &[u8]) -> Message {
    let mut frame = BytesMut::with_capacity(topic.len() + 1);
    frame.put_u8(u8::from(subscribe));
    frame.put_slice(topic);
    Message::single(frame.freeze())
}

/// PUB (RFC 29): each message goes to every subscriber whose subscription is a prefix of its
/// first frame. A subscriber at SNDHWM misses messages; `send` never waits.
#[derive(Debug, Default)]
pub struct Pub {
    distributor: Distributor,
}

impl sealed::Sealed for Pub {}
impl Kind for Pub {
    const TYPE: SocketType = SocketType::Pub;
}

/// Applies the subscriptions that arrived, without waiting.
fn absorb_waiting(inbox: &mut Inbox, options: &SocketOptions, mut absorb: impl FnMut(Inbound)) {
    while let Some(inbound) = inbox.try_next(options) {
        absorb(inbound);
    }
}

impl Socket<Pub> {
    /// Publishes a message. Never waits (subscribers at SNDHWM miss it): the future is complete
    /// at once, so cancelling it changes nothing.
    pub fn send(&mut self, msg: impl Into<Message>) -> SendFuture<'_> {
        let result = self.try_send(msg);
        self.outbox.sent(result)
    }

    /// Publishes a message (same as [`send`](Self::send): PUB never waits).
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        let msg = super::non_empty(msg)?;
        let (options, distributor) = (self.base.options(), &mut self.kind.distributor);
        absorb_waiting(&mut self.inbox, options, |inbound| {
            distributor.apply(inbound, drop)
        });
        distributor.distribute(&mut self.outbox, options, msg);
        Ok(())
    }

    /// PUB receives nothing: applies the subscribers' (un)subscriptions as they come (a proxy
    /// polls its PUB side this way).
    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        let (options, distributor) = (self.base.options(), &mut self.kind.distributor);
        while let Poll::Ready(inbound) = self.inbox.poll_next(options, cx) {
            distributor.apply(inbound, drop);
        }
        Poll::Pending
    }
}

/// XPUB (RFC 29): a PUB whose application also receives the subscriptions, as `0x01 + topic`
/// and `0x00 + topic` messages: the first subscription to a topic and the last cancel, or
/// every one of them with XPUB_VERBOSE. When a subscriber goes away, cancels are synthesised
/// for the topics only it had. Other messages subscribers send are received too.
#[derive(Debug, Default)]
pub struct XPub {
    distributor: Distributor,
    /// Subscription (and other) messages waiting for `recv`.
    received: VecDeque<Message>,
    /// XPUB_MANUAL: the peer whose (un)subscription was received last.
    last_subscriber: Option<PeerId>,
}

impl sealed::Sealed for XPub {}
impl Kind for XPub {
    const TYPE: SocketType = SocketType::XPub;
}

impl XPub {
    fn absorb(&mut self, options: &SocketOptions, inbound: Inbound) {
        let received = &mut self.received;
        match inbound {
            // XPUB_MANUAL: the application sees every (un)subscription and applies it itself.
            Inbound::Subscribe(peer, topic) if options.xpub_manual => {
                received.push_back(subscription_message(true, &topic));
                self.last_subscriber = Some(peer);
            }
            Inbound::Cancel(peer, topic) if options.xpub_manual => {
                received.push_back(subscription_message(false, &topic));
                self.last_subscriber = Some(peer);
            }
            // XPUB_VERBOSE: every subscribe reaches the application, not just the first.
            Inbound::Subscribe(peer, topic) if options.xpub_verbose => {
                received.push_back(subscription_message(true, &topic));
                self.distributor.subscriptions.add(&topic, peer);
            }
            other => self.distributor.apply(other, |m| received.push_back(m)),
        }
    }

    fn manual_peer(&self, options: &SocketOptions) -> Result<PeerId> {
        if !options.xpub_manual {
            return Err(Error::InvalidState(
                "XPUB applies subscriptions itself unless XPUB_MANUAL is set",
            ));
        }
        self.last_subscriber.ok_or(Error::InvalidState(
            "no subscription received yet: nothing to apply it to",
        ))
    }
}

impl Socket<XPub> {
    /// Publishes a message. Never waits (subscribers at SNDHWM miss it): the future is complete
    /// at once, so cancelling it changes nothing.
    pub fn send(&mut self, msg: impl Into<Message>) -> SendFuture<'_> {
        let result = self.try_send(msg);
        self.outbox.sent(result)
    }

    /// Publishes a message (same as [`send`](Self::send): XPUB never waits).
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        let msg = super::non_empty(msg)?;
        let (options, xpub) = (self.base.options(), &mut self.kind);
        absorb_waiting(&mut self.inbox, options, |inbound| {
            xpub.absorb(options, inbound)
        });
        xpub.distributor.distribute(&mut self.outbox, options, msg);
        Ok(())
    }

    /// XPUB_MANUAL: subscribes the peer whose (un)subscription was received last to `topic`.
    pub fn subscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        let peer = self.kind.manual_peer(self.base.options())?;
        self.kind
            .distributor
            .subscriptions
            .add(topic.as_ref(), peer);
        Ok(())
    }

    /// XPUB_MANUAL: removes `topic` from the subscriptions of the peer whose (un)subscription
    /// was received last.
    pub fn unsubscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        let peer = self.kind.manual_peer(self.base.options())?;
        self.kind
            .distributor
            .subscriptions
            .remove(topic.as_ref(), peer);
        Ok(())
    }

    /// Receives the next subscription message (or other message from a subscriber), waiting
    /// up to RCVTIMEO.
    ///
    /// Cancel safety: what arrived is kept until returned; a cancelled `recv` loses nothing.
    pub async fn recv(&mut self) -> Result<Message> {
        loop {
            if let Some(msg) = self.kind.received.pop_front() {
                return Ok(msg);
            }
            let inbound = self.inbox.recv(self.base.options(), Some).await?;
            self.kind.absorb(self.base.options(), inbound);
        }
    }

    /// Receives a waiting subscription message, else fails with [`Error::WouldBlock`].
    pub fn try_recv(&mut self) -> Result<Message> {
        loop {
            if let Some(msg) = self.kind.received.pop_front() {
                return Ok(msg);
            }
            let inbound = self.inbox.try_accept(self.base.options(), Some)?;
            self.kind.absorb(self.base.options(), inbound);
        }
    }

    /// The next message as `recv` returns it, polled.
    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        loop {
            if let Some(msg) = self.kind.received.pop_front() {
                return Poll::Ready(Ok(msg));
            }
            let inbound = std::task::ready!(self.inbox.poll_next(self.base.options(), cx));
            self.kind.absorb(self.base.options(), inbound);
        }
    }
}

impl futures::Stream for Socket<XPub> {
    type Item = Result<Message>;

    /// The subscription messages (and other messages from subscribers), as `recv` returns
    /// them; the stream never ends while the socket exists.
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message>>> {
        self.get_mut().poll_recv(cx).map(Some)
    }
}
