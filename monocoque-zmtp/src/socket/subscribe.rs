//! SUB and XSUB (RFC 29): subscribing, and receiving what matches.

use super::shared::{InEvent, Outbound};
use bytes::Bytes;
use monocoque_core::routing::SubscriberTrie;
use monocoque_core::{Error, Message, Result, SocketType};

/// The socket's own subscriptions: counted, sent upstream on the first subscribe and the last
/// cancel of each topic, and re-sent to every publisher that (re)connects.
#[derive(Default)]
struct Subscriptions {
    trie: SubscriberTrie,
}

impl Subscriptions {
    /// Whether a message with this first frame is for the application (INVERT_MATCHING turns
    /// the test around).
    fn wanted(&self, msg: &Message, invert: bool) -> bool {
        self.trie.matches(msg.first().map_or(&[][..], |f| &f[..])) != invert
    }

    fn change(&mut self, core: &mut super::core::SocketCore, subscribe: bool, topic: &[u8]) {
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
            core.change_subscriptions(self.trie.topics().collect(), &item);
        }
    }
}

/// A SUB socket (RFC 29): receives, from all its publishers (fair-queued), the messages whose
/// first frame starts with one of its subscriptions. Subscriptions are counted: a topic
/// subscribed twice needs two `unsubscribe` calls.
pub struct SubSocket {
    core: super::core::SocketCore,
    subscriptions: Subscriptions,
}
socket_common!(SubSocket, SocketType::Sub, sends: true, receives: true, subscriptions: Subscriptions::default());

impl SubSocket {
    /// Subscribes to messages whose first frame starts with `topic` (`""`: everything).
    pub fn subscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.subscriptions
            .change(&mut self.core, true, topic.as_ref());
        Ok(())
    }

    /// Drops one subscription to `topic`.
    pub fn unsubscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.subscriptions
            .change(&mut self.core, false, topic.as_ref());
        Ok(())
    }

    /// Receives the next matching message, waiting up to RCVTIMEO.
    pub async fn recv(&mut self) -> Result<Message> {
        let subscriptions = &self.subscriptions;
        let invert = self.core.options().invert_matching;
        self.core
            .recv_filtered(|inbound| {
                let msg = inbound.event.into_message()?;
                subscriptions.wanted(&msg, invert).then_some(msg)
            })
            .await
    }

    /// Receives a waiting matching message, else fails with [`Error::WouldBlock`].
    pub fn try_recv(&mut self) -> Result<Message> {
        loop {
            let inbound = self.core.try_recv_inbound()?;
            if let InEvent::Message(msg) = inbound.event {
                if self
                    .subscriptions
                    .wanted(&msg, self.core.options().invert_matching)
                {
                    return Ok(msg);
                }
            }
        }
    }
}

/// An XSUB socket (RFC 29): subscribes by sending `0x01 + topic` (and cancels with
/// `0x00 + topic`); any other message goes to every publisher (dropped for one at SNDHWM).
/// Receives everything its publishers send, fair-queued, unfiltered.
pub struct XSubSocket {
    core: super::core::SocketCore,
    subscriptions: Subscriptions,
}
socket_common!(XSubSocket, SocketType::XSub, sends: true, receives: true, subscriptions: Subscriptions::default());
socket_recv!(XSubSocket);

impl XSubSocket {
    /// Sends a subscription message or, for any other message, offers it to every publisher.
    /// Never waits.
    pub async fn send(&mut self, msg: impl Into<Message>) -> Result<()> {
        let msg = msg.into();
        let Some(first) = msg.first() else {
            return Err(Error::EmptyMessage);
        };
        match first.first() {
            Some(&flag @ (0 | 1)) if msg.len() == 1 => {
                self.subscriptions
                    .change(&mut self.core, flag == 1, &first[1..]);
            }
            _ => self.core.send_to_all(&Outbound::Message(msg)),
        }
        Ok(())
    }
}

proxy_socket!(XSubSocket, recv: true, send: true);

impl crate::ProxySocket for SubSocket {
    fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<Message>> {
        loop {
            match self.core.poll_recv_message(cx) {
                std::task::Poll::Ready(Ok(msg)) => {
                    if self
                        .subscriptions
                        .wanted(&msg, self.core.options().invert_matching)
                    {
                        return std::task::Poll::Ready(Ok(msg));
                    }
                }
                other => return other,
            }
        }
    }

    async fn send_message(&mut self, _msg: Message) -> Result<()> {
        Err(Error::NotSupported("SUB does not send"))
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
