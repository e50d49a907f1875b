//! REQ (RFC 28): strict request/reply alternation over round-robin peers.

use super::shared::PeerId;
use bytes::Bytes;
use monocoque_core::{Error, Message, Result, SocketType, TrySendError};

/// A REQ socket (RFC 28). Each request goes to the next peer (round-robin) behind an empty
/// delimiter frame; only that peer's reply is accepted, and the socket alternates strictly
/// between `send` and `recv` unless REQ_RELAXED is set. With REQ_CORRELATE every request carries
/// a request id and only the reply with the latest id is accepted.
pub struct ReqSocket {
    core: super::core::SocketCore,
    /// The peer the outstanding request went to, while a reply is expected.
    awaiting: Option<PeerId>,
    /// The id of the latest request (REQ_CORRELATE).
    request_id: u32,
}
socket_common!(ReqSocket, SocketType::Req, sends: true, receives: true, awaiting: None, request_id: 0);

impl ReqSocket {
    /// Sends a request to the next peer, waiting while none has room (up to SNDTIMEO).
    /// Fails with [`Error::InvalidState`] while a reply is still expected (unless REQ_RELAXED).
    pub async fn send(&mut self, msg: impl Into<Message>) -> Result<()> {
        let msg = msg.into();
        if msg.is_empty() {
            return Err(Error::EmptyMessage);
        }
        if self.awaiting.is_some() && !self.core.options().req_relaxed {
            return Err(Error::InvalidState(
                "REQ must receive the reply before sending another request (or set REQ_RELAXED)",
            ));
        }
        let request_id = self.request_id.wrapping_add(1);
        let msg = self.envelope(msg, request_id);
        // A relaxed REQ forgets the old request: its reply, if it comes, is dropped.
        self.awaiting = None;
        let peer = self.core.send(msg).await?;
        self.request_id = request_id;
        self.awaiting = Some(peer);
        Ok(())
    }

    /// The request as it goes out: `[request id (REQ_CORRELATE)]`, the empty delimiter, body.
    fn envelope(&self, mut msg: Message, request_id: u32) -> Message {
        msg.push_front(Bytes::new());
        if self.core.options().req_correlate {
            msg.push_front(Bytes::copy_from_slice(&request_id.to_be_bytes()));
        }
        msg
    }

    /// Like [`send`](Self::send) but never waits: [`Error::WouldBlock`] (message handed back)
    /// when no peer has room.
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), TrySendError> {
        let msg = msg.into();
        if msg.is_empty() {
            return Err(TrySendError {
                error: Error::EmptyMessage,
                message: msg,
            });
        }
        if self.awaiting.is_some() && !self.core.options().req_relaxed {
            return Err(TrySendError {
                error: Error::InvalidState(
                    "REQ must receive the reply before sending another request (or set REQ_RELAXED)",
                ),
                message: msg,
            });
        }
        let body = msg.clone();
        let request_id = self.request_id.wrapping_add(1);
        let msg = self.envelope(msg, request_id);
        match self.core.try_send(msg) {
            Ok(peer) => {
                self.request_id = request_id;
                self.awaiting = Some(peer);
                Ok(())
            }
            // Hand back the caller's message, not our envelope.
            Err(e) => Err(TrySendError {
                error: e.error,
                message: body,
            }),
        }
    }

    /// Receives the reply if it has arrived, else fails with [`Error::WouldBlock`].
    pub fn try_recv(&mut self) -> Result<Message> {
        let Some(peer) = self.awaiting else {
            return Err(Error::InvalidState(
                "REQ must send a request before receiving",
            ));
        };
        let correlate = self.core.options().req_correlate.then_some(self.request_id);
        let reply = self.core.try_recv_filtered(|inbound| {
            (inbound.peer == peer)
                .then(|| strip_reply_envelope(inbound.event.into_message()?, correlate))
                .flatten()
        })?;
        self.awaiting = None;
        Ok(reply)
    }

    /// Receives the reply to the outstanding request, waiting up to RCVTIMEO. Messages from other
    /// peers, or without the delimiter (or the right request id), are dropped.
    pub async fn recv(&mut self) -> Result<Message> {
        let Some(peer) = self.awaiting else {
            return Err(Error::InvalidState(
                "REQ must send a request before receiving",
            ));
        };
        let correlate = self.core.options().req_correlate.then_some(self.request_id);
        let reply = self
            .core
            .recv_filtered(|inbound| {
                (inbound.peer == peer)
                    .then(|| strip_reply_envelope(inbound.event.into_message()?, correlate))
                    .flatten()
            })
            .await?;
        self.awaiting = None;
        Ok(reply)
    }
}

/// Takes `[request id]`, the empty delimiter, off a reply; `None` if they are not there.
fn strip_reply_envelope(mut msg: Message, request_id: Option<u32>) -> Option<Message> {
    if let Some(id) = request_id {
        if msg.pop_front()? != id.to_be_bytes()[..] {
            return None;
        }
    }
    if !msg.pop_front()?.is_empty() || msg.is_empty() {
        return None;
    }
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_envelope() {
        let ok = Message::from_frames(["", "body"]);
        assert_eq!(strip_reply_envelope(ok, None), Some(Message::from("body")));
        assert_eq!(strip_reply_envelope(Message::from("body"), None), None);
        assert_eq!(strip_reply_envelope(Message::from(""), None), None);
        let id = 7u32.to_be_bytes().to_vec();
        let correlated = Message::from_frames([id.clone(), vec![], b"b".to_vec()]);
        assert_eq!(
            strip_reply_envelope(correlated.clone(), Some(7)),
            Some(Message::from("b"))
        );
        assert_eq!(strip_reply_envelope(correlated, Some(8)), None);
    }
}
