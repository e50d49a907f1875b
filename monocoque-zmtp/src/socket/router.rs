//! ROUTER (RFC 28): routing by identity.

use super::shared::InEvent;
use monocoque_core::{Error, Message, Result, SocketType, TrySendError};

/// A ROUTER socket (RFC 28). Every received message starts with the routing id of the peer it
/// came from (the id the peer announced, or a generated 5-byte one starting with 0x00); to send,
/// put the routing id of the destination first. A message for an unknown peer, or for a peer at
/// SNDHWM, is dropped silently; with ROUTER_MANDATORY the first is [`Error::HostUnreachable`]
/// and the second waits. A second peer announcing a routing id in use is refused, or takes it
/// over with ROUTER_HANDOVER.
pub struct RouterSocket {
    core: super::core::SocketCore,
}
socket_common!(RouterSocket, SocketType::Router, sends: true, receives: true);

impl RouterSocket {
    /// Splits off the routing id and finds its peer; `Ok(None)` means "drop silently".
    fn destination(&mut self, msg: Message) -> Result<Option<(u64, Message)>> {
        let mut msg = msg;
        let routing_id = msg.pop_front().ok_or(Error::EmptyMessage)?;
        let mandatory = self.core.options().router_mandatory;
        match self.core.route(&routing_id) {
            // A routing id alone is a message of no frames: nothing to send.
            Some(_) if msg.is_empty() => Ok(None),
            Some(peer) => Ok(Some((peer, msg))),
            None if mandatory => Err(Error::HostUnreachable),
            None => Ok(None),
        }
    }

    /// Sends `msg[1..]` to the peer whose routing id is `msg[0]`.
    pub async fn send(&mut self, msg: impl Into<Message>) -> Result<()> {
        let Some((peer, msg)) = self.destination(msg.into())? else {
            return Ok(());
        };
        if self.core.options().router_mandatory {
            self.core.send_to(peer, msg).await
        } else {
            let _ = self.core.try_send_to(peer, msg);
            Ok(())
        }
    }

    /// Like [`send`](Self::send) but never waits: with ROUTER_MANDATORY a full peer is
    /// [`Error::WouldBlock`] (message handed back without its routing id).
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), TrySendError> {
        let msg = msg.into();
        let Some((peer, body)) = self
            .destination(msg.clone())
            .map_err(|error| TrySendError {
                error,
                message: msg,
            })?
        else {
            return Ok(());
        };
        match self.core.try_send_to(peer, body) {
            Err(e) if self.core.options().router_mandatory => Err(e),
            _ => Ok(()),
        }
    }

    /// Receives the next message, its sender's routing id first, waiting up to RCVTIMEO.
    pub async fn recv(&mut self) -> Result<Message> {
        self.core
            .recv_filtered(|inbound| {
                let mut msg = inbound.event.into_message()?;
                msg.push_front(inbound.routing_id?);
                Some(msg)
            })
            .await
    }

    /// Receives a waiting message, else fails with [`Error::WouldBlock`].
    pub fn try_recv(&mut self) -> Result<Message> {
        loop {
            let inbound = self.core.try_recv_inbound()?;
            if let (InEvent::Message(mut msg), Some(id)) = (inbound.event, inbound.routing_id) {
                msg.push_front(id);
                return Ok(msg);
            }
        }
    }
}

impl crate::ProxySocket for RouterSocket {
    fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<Message>> {
        loop {
            match self.core.poll_recv_inbound(cx) {
                std::task::Poll::Ready(Ok(inbound)) => {
                    if let (InEvent::Message(mut msg), Some(id)) =
                        (inbound.event, inbound.routing_id)
                    {
                        msg.push_front(id);
                        return std::task::Poll::Ready(Ok(msg));
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
