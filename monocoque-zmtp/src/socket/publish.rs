//! PUB and XPUB (RFC 29): distribution to subscribers, filtered at the publisher.

use super::shared::{InEvent, Inbound, PeerId};
use bytes::{BufMut, Bytes, BytesMut};
use monocoque_core::routing::PublisherTrie;
use monocoque_core::{Error, Message, Result, SocketType, TrySendError};
use std::collections::VecDeque;

/// The subscriptions of every subscriber, kept by the publishing socket itself: connections
/// report SUBSCRIBE/CANCEL (or 3.0 subscription messages) as events, and the socket applies
/// them before each send, so matching needs no lock and no extra hop.
#[derive(Default)]
struct Distributor {
    subscriptions: PublisherTrie<PeerId>,
    /// Scratch list of matching peers, reused by every send.
    matched: Vec<PeerId>,
}

impl Distributor {
    /// Sends `msg` to every subscriber with a matching subscription and room in its queue;
    /// a subscriber at SNDHWM misses the message (PUB never blocks).
    /// With INVERT_MATCHING, to every connected subscriber *without* a matching subscription.
    fn distribute(&mut self, core: &mut super::core::SocketCore, msg: &Message) {
        let topic = msg.first().map_or(&[][..], |f| &f[..]);
        self.matched.clear();
        let matched = &mut self.matched;
        if core.options().invert_matching {
            let peers = core.connected_peers().to_vec();
            (self.subscriptions).for_each_non_match(topic, peers, |peer| matched.push(peer));
        } else {
            self.subscriptions
                .for_each_match(topic, |peer| matched.push(peer));
        }
        core.send_to_each(self.matched.iter().copied(), msg);
    }
}

/// `0x01 + topic` or `0x00 + topic`: a subscription as XPUB/XSUB applications see it.
pub(crate) fn subscription_message(subscribe: bool, topic: &[u8]) -> Message {
    let mut frame = BytesMut::with_capacity(topic.len() + 1);
    frame.put_u8(u8::from(subscribe));
    frame.put_slice(topic);
    Message::single(frame.freeze())
}

/// A PUB socket (RFC 29): each message goes to every subscriber whose subscription is a prefix
/// of its first frame. A subscriber at SNDHWM misses messages; `send` never waits.
pub struct PubSocket {
    core: super::core::SocketCore,
    distributor: Distributor,
}
socket_common!(PubSocket, SocketType::Pub, sends: true, receives: true, distributor: Distributor::default());

impl PubSocket {
    /// Publishes a message. Never waits: subscribers at SNDHWM miss it.
    pub async fn send(&mut self, msg: impl Into<Message>) -> Result<()> {
        self.try_send(msg).map_err(|e| e.error)
    }

    /// Publishes a message (same as [`send`](Self::send): PUB never waits).
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), TrySendError> {
        let msg = msg.into();
        if msg.is_empty() {
            return Err(TrySendError {
                error: Error::EmptyMessage,
                message: msg,
            });
        }
        while let Ok(inbound) = self.core.try_recv_inbound() {
            apply(&mut self.distributor, inbound, |_| {});
        }
        self.distributor.distribute(&mut self.core, &msg);
        Ok(())
    }
}

/// Applies a subscriber's event; `report` gets what an XPUB application should see.
fn apply(distributor: &mut Distributor, inbound: Inbound, mut report: impl FnMut(Message)) {
    let subscriptions = &mut distributor.subscriptions;
    match inbound.event {
        InEvent::Subscribe(topic) => {
            let first = subscriptions.add(&topic, inbound.peer);
            report_if(first, true, &topic, &mut report);
        }
        InEvent::Cancel(topic) => {
            let last = subscriptions.remove(&topic, inbound.peer);
            report_if(last, false, &topic, &mut report);
        }
        InEvent::Left => {
            subscriptions.remove_peer(inbound.peer, |topic| {
                report(subscription_message(false, topic));
            });
        }
        InEvent::Message(msg) => report(msg),
    }
}

fn report_if(changed: bool, subscribe: bool, topic: &Bytes, report: &mut impl FnMut(Message)) {
    if changed {
        report(subscription_message(subscribe, topic));
    }
}

/// An XPUB socket (RFC 29): a PUB whose application also receives the subscriptions, as
/// `0x01 + topic` and `0x00 + topic` messages: the first subscription to a topic and the last
/// cancel, or every one of them with XPUB_VERBOSE. When a subscriber goes away, cancels are
/// synthesised for the topics only it had. Other messages subscribers send are received too.
pub struct XPubSocket {
    core: super::core::SocketCore,
    distributor: Distributor,
    /// Subscription (and other) messages waiting for `recv`.
    received: VecDeque<Message>,
    /// XPUB_MANUAL: the peer whose (un)subscription was received last.
    last_subscriber: Option<PeerId>,
}
socket_common!(XPubSocket, SocketType::XPub, sends: true, receives: true, distributor: Distributor::default(), received: VecDeque::new(), last_subscriber: None);

impl XPubSocket {
    fn absorb(&mut self, inbound: Inbound) {
        let options = self.core.options();
        let (verbose, manual) = (options.xpub_verbose, options.xpub_manual);
        let received = &mut self.received;
        match &inbound.event {
            // XPUB_MANUAL: the application sees every (un)subscription and applies it itself.
            InEvent::Subscribe(topic) | InEvent::Cancel(topic) if manual => {
                let subscribe = matches!(inbound.event, InEvent::Subscribe(_));
                received.push_back(subscription_message(subscribe, topic));
                self.last_subscriber = Some(inbound.peer);
            }
            // XPUB_VERBOSE: every subscribe reaches the application, not just the first.
            InEvent::Subscribe(topic) if verbose => {
                received.push_back(subscription_message(true, topic));
                self.distributor.subscriptions.add(topic, inbound.peer);
            }
            _ => apply(&mut self.distributor, inbound, |m| received.push_back(m)),
        }
    }

    /// Publishes a message. Never waits: subscribers at SNDHWM miss it.
    pub async fn send(&mut self, msg: impl Into<Message>) -> Result<()> {
        self.try_send(msg).map_err(|e| e.error)
    }

    /// XPUB_MANUAL: subscribes the peer whose (un)subscription was received last to `topic`.
    pub fn subscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        let peer = self.manual_peer()?;
        self.distributor.subscriptions.add(topic.as_ref(), peer);
        Ok(())
    }

    /// XPUB_MANUAL: removes `topic` from the subscriptions of the peer whose (un)subscription
    /// was received last.
    pub fn unsubscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        let peer = self.manual_peer()?;
        self.distributor.subscriptions.remove(topic.as_ref(), peer);
        Ok(())
    }

    fn manual_peer(&self) -> Result<PeerId> {
        if !self.core.options().xpub_manual {
            return Err(Error::InvalidState(
                "XPUB applies subscriptions itself unless XPUB_MANUAL is set",
            ));
        }
        self.last_subscriber.ok_or(Error::InvalidState(
            "no subscription received yet: nothing to apply it to",
        ))
    }

    /// Publishes a message (same as [`send`](Self::send): XPUB never waits).
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), TrySendError> {
        let msg = msg.into();
        if msg.is_empty() {
            return Err(TrySendError {
                error: Error::EmptyMessage,
                message: msg,
            });
        }
        while let Ok(inbound) = self.core.try_recv_inbound() {
            self.absorb(inbound);
        }
        self.distributor.distribute(&mut self.core, &msg);
        Ok(())
    }

    /// Receives the next subscription message (or other message from a subscriber), waiting up
    /// to RCVTIMEO.
    pub async fn recv(&mut self) -> Result<Message> {
        loop {
            if let Some(msg) = self.received.pop_front() {
                return Ok(msg);
            }
            let inbound = self.core.recv_inbound().await?;
            self.absorb(inbound);
        }
    }

    /// Receives a waiting subscription message, else fails with [`Error::WouldBlock`].
    pub fn try_recv(&mut self) -> Result<Message> {
        loop {
            if let Some(msg) = self.received.pop_front() {
                return Ok(msg);
            }
            let inbound = self.core.try_recv_inbound()?;
            self.absorb(inbound);
        }
    }
}

impl crate::ProxySocket for PubSocket {
    /// PUB receives nothing; polling applies the subscribers' (un)subscriptions.
    fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<Message>> {
        while let std::task::Poll::Ready(next) = self.core.poll_recv_inbound(cx) {
            match next {
                Ok(inbound) => apply(&mut self.distributor, inbound, |_| {}),
                Err(e) => return std::task::Poll::Ready(Err(e)),
            }
        }
        std::task::Poll::Pending
    }

    async fn send_message(&mut self, msg: Message) -> Result<()> {
        self.send(msg).await
    }
}

impl crate::ProxySocket for XPubSocket {
    fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<Message>> {
        loop {
            if let Some(msg) = self.received.pop_front() {
                return std::task::Poll::Ready(Ok(msg));
            }
            match self.core.poll_recv_inbound(cx) {
                std::task::Poll::Ready(Ok(inbound)) => self.absorb(inbound),
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Err(e)),
                std::task::Poll::Pending => return std::task::Poll::Pending,
            }
        }
    }

    async fn send_message(&mut self, msg: Message) -> Result<()> {
        self.send(msg).await
    }
}
