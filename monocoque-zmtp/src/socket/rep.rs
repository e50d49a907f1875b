//! REP (RFC 28): receive a request, send its reply, in lock-step.

use super::shared::PeerId;
use bytes::Bytes;
use monocoque_core::routing::envelope::{join_envelope, split_envelope};
use monocoque_core::{Error, Message, Result, SocketType};

/// A REP socket (RFC 28). Requests are fair-queued from all peers; the envelope (everything up
/// to and including the empty delimiter) is kept and put back in front of the reply, which goes
/// to the peer the request came from. If that peer is gone (or at SNDHWM) the reply is dropped,
/// as libzmq does. Requests without a delimiter are dropped.
pub struct RepSocket {
    core: super::core::SocketCore,
    /// Where the reply to the current request goes, and its envelope.
    reply_to: Option<(PeerId, Vec<Bytes>)>,
}
socket_common!(RepSocket, SocketType::Rep, sends: true, receives: true, reply_to: None);

impl RepSocket {
    /// Receives the next request (its body only), waiting up to RCVTIMEO.
    /// Fails with [`Error::InvalidState`] while a reply is owed.
    pub async fn recv(&mut self) -> Result<Message> {
        if self.reply_to.is_some() {
            return Err(Error::InvalidState(
                "REP must send the reply before receiving the next request",
            ));
        }
        let (peer, envelope, body) = self
            .core
            .recv_filtered(|inbound| {
                split_envelope(inbound.event.into_message()?)
                    .map(|(envelope, body)| (inbound.peer, envelope, body))
            })
            .await?;
        self.reply_to = Some((peer, envelope));
        Ok(body)
    }

    /// Receives a waiting request (its body only), else fails with [`Error::WouldBlock`].
    pub fn try_recv(&mut self) -> Result<Message> {
        if self.reply_to.is_some() {
            return Err(Error::InvalidState(
                "REP must send the reply before receiving the next request",
            ));
        }
        let (peer, envelope, body) = self.core.try_recv_filtered(|inbound| {
            let peer = inbound.peer;
            split_envelope(inbound.event.into_message()?).map(|(e, body)| (peer, e, body))
        })?;
        self.reply_to = Some((peer, envelope));
        Ok(body)
    }

    /// Sends the reply to the peer the last request came from. Never waits.
    pub async fn send(&mut self, msg: impl Into<Message>) -> Result<()> {
        self.try_send(msg)
    }

    /// Sends the reply (REP never waits: same as [`send`](Self::send)).
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<()> {
        let msg = msg.into();
        if msg.is_empty() {
            return Err(Error::EmptyMessage);
        }
        let Some((peer, envelope)) = self.reply_to.take() else {
            return Err(Error::InvalidState(
                "REP must receive a request before replying",
            ));
        };
        // A vanished or full requester loses its reply, as with libzmq.
        let _ = self.core.try_send_to(peer, join_envelope(envelope, msg));
        Ok(())
    }
}

impl crate::ProxySocket for RepSocket {
    /// Receives the next request (as `recv` does); used as a steerable proxy's control socket.
    fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<Message>> {
        if self.reply_to.is_some() {
            return std::task::Poll::Ready(Err(Error::InvalidState(
                "REP must send the reply before receiving the next request",
            )));
        }
        loop {
            match self.core.poll_recv_inbound(cx) {
                std::task::Poll::Ready(Ok(inbound)) => {
                    let peer = inbound.peer;
                    let split = inbound.event.into_message().and_then(split_envelope);
                    if let Some((envelope, body)) = split {
                        self.reply_to = Some((peer, envelope));
                        return std::task::Poll::Ready(Ok(body));
                    }
                }
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Err(e)),
                std::task::Poll::Pending => return std::task::Poll::Pending,
            }
        }
    }

    async fn send_message(&mut self, msg: Message) -> Result<()> {
        self.send(msg).await
    }
}
