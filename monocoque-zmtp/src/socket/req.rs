//! REQ (RFC 28): strict request/reply alternation over round-robin peers.

use super::outbox::{Destination, Outbox, Outcome, SendFuture};
use super::{Kind, Socket, sealed};
use crate::link::{Inbound, PeerId};
use bytes::Bytes;
use monocoque_core::{Error, Message, Result, SendError, SocketType};

/// REQ (RFC 28). Each request goes to the next peer (round-robin) behind an empty delimiter
/// frame; only that peer's reply is accepted, and the socket alternates strictly between
/// `send` and `recv` unless REQ_RELAXED is set. With REQ_CORRELATE every request carries a
/// request id and only the reply with the latest id is accepted.
///
/// A peer that dies after taking a request never replies. By default the socket still expects
/// that reply, as libzmq's REQ does: `recv` waits (up to RCVTIMEO) and `send` fails with
/// [`Error::InvalidState`]. Set REQ_RELAXED to send again (the request goes to a live peer), with
/// REQ_CORRELATE so that a late reply to the old request is not taken for the new one's.
#[derive(Debug, Default)]
pub struct Req {
    phase: Phase,
    /// The id of the latest request (REQ_CORRELATE).
    request_id: u32,
}

impl sealed::Sealed for Req {}
impl Kind for Req {
    const TYPE: SocketType = SocketType::Req;
}

/// Where the request/reply cycle stands.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Ready to send a request.
    #[default]
    Idle,
    /// A request was handed to `send`; whether a peer took it is learnt from the outbox.
    Sending,
    /// The request went to `peer`; its reply is expected.
    Awaiting(PeerId),
}

const MUST_RECEIVE: &str =
    "REQ must receive the reply before sending another request (or set REQ_RELAXED)";

impl Req {
    /// Learns how the last `send` ended.
    fn sync(&mut self, outbox: &mut Outbox) {
        if self.phase == Phase::Sending {
            self.phase = match outbox.take_outcome() {
                Some(Outcome::Sent(peer)) => Phase::Awaiting(peer),
                Some(Outcome::NotSent) | None => Phase::Idle,
            };
        }
    }

    /// Checks that a request may go now and wraps it: `[request id (REQ_CORRELATE)]`, the
    /// empty delimiter, the body.
    fn envelope(
        &mut self,
        msg: Message,
        relaxed: bool,
        correlate: bool,
        outbox: &mut Outbox,
    ) -> Result<Message, SendError> {
        self.sync(outbox);
        let mut msg = super::non_empty(msg)?;
        if matches!(self.phase, Phase::Awaiting(_)) && !relaxed {
            return Err(SendError {
                error: Error::InvalidState(MUST_RECEIVE),
                message: msg,
            });
        }
        self.request_id = self.request_id.wrapping_add(1);
        msg.push_front(Bytes::new());
        if correlate {
            msg.push_front(Bytes::copy_from_slice(&self.request_id.to_be_bytes()));
        }
        // Given back (cancelled, timed out), a request loses its envelope again.
        outbox.set_envelope_frames(if correlate { 2 } else { 1 });
        // A relaxed REQ forgets the old request: its reply, if it comes, is dropped.
        self.phase = Phase::Sending;
        Ok(msg)
    }

    /// Takes `[request id]`, the empty delimiter, off a reply from the peer asked; `None` if it
    /// is not the reply expected.
    fn reply(&self, inbound: Inbound, correlate: bool) -> Option<Message> {
        let Phase::Awaiting(peer) = self.phase else {
            return None;
        };
        let Inbound::Message(from, mut msg) = inbound else {
            return None;
        };
        if from != peer {
            return None;
        }
        if correlate && msg.pop_front()? != self.request_id.to_be_bytes()[..] {
            return None;
        }
        if !msg.pop_front()?.is_empty() || msg.is_empty() {
            return None;
        }
        Some(msg)
    }

    fn expecting_reply(&mut self, outbox: &mut Outbox) -> Result<()> {
        self.sync(outbox);
        match self.phase {
            Phase::Awaiting(_) => Ok(()),
            _ => Err(Error::InvalidState(
                "REQ must send a request before receiving",
            )),
        }
    }
}

impl Socket<Req> {
    /// Sends a request to the next peer, waiting while none has room (up to SNDTIMEO). Fails
    /// with [`Error::InvalidState`] while a reply is still expected (unless REQ_RELAXED).
    ///
    /// Cancel safety: when the send fails or its future is dropped before it completes, the
    /// request is cancelled (the socket can send again) and kept for
    /// [`take_unsent`](Self::take_unsent).
    pub fn send(&mut self, msg: impl Into<Message>) -> SendFuture<'_> {
        let options = self.base.options();
        let (relaxed, correlate) = (options.req_relaxed, options.req_correlate);
        match self
            .kind
            .envelope(msg.into(), relaxed, correlate, &mut self.outbox)
        {
            Ok(msg) => self.outbox.send(msg, Destination::AnyPeer, options),
            Err(e) => self.outbox.sent(Err(e)),
        }
    }

    /// Like [`send`](Self::send) but never waits: [`Error::WouldBlock`] (message handed back)
    /// when no peer has room.
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        let options = self.base.options();
        let (relaxed, correlate) = (options.req_relaxed, options.req_correlate);
        let msg = self
            .kind
            .envelope(msg.into(), relaxed, correlate, &mut self.outbox)?;
        match self
            .outbox
            .try_send(msg, Destination::AnyPeer, options.immediate)
        {
            Ok(peer) => {
                self.kind.phase = Phase::Awaiting(peer);
                Ok(())
            }
            Err(e) => {
                self.kind.phase = Phase::Idle;
                Err(e)
            }
        }
    }

    /// The request of the last `send` that failed or was cancelled before a peer took it.
    pub fn take_unsent(&mut self) -> Option<Message> {
        self.outbox.take_unsent()
    }

    /// Receives the reply to the outstanding request, waiting up to RCVTIMEO. Messages from
    /// other peers, or without the delimiter (or the right request id), are dropped.
    ///
    /// Cancel safety: a reply is taken only when this returns it; a cancelled `recv` loses
    /// nothing and the reply is still expected.
    pub async fn recv(&mut self) -> Result<Message> {
        self.kind.expecting_reply(&mut self.outbox)?;
        let correlate = self.base.options().req_correlate;
        let req = &self.kind;
        let reply = (self.inbox)
            .recv(self.base.options(), |inbound| req.reply(inbound, correlate))
            .await?;
        self.kind.phase = Phase::Idle;
        Ok(reply)
    }

    /// Receives the reply if it has arrived, else fails with [`Error::WouldBlock`].
    pub fn try_recv(&mut self) -> Result<Message> {
        self.kind.expecting_reply(&mut self.outbox)?;
        let correlate = self.base.options().req_correlate;
        let req = &self.kind;
        let reply = (self.inbox)
            .try_accept(self.base.options(), |inbound| req.reply(inbound, correlate))?;
        self.kind.phase = Phase::Idle;
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_envelope() {
        let mut req = Req {
            phase: Phase::Awaiting(1),
            request_id: 7,
        };
        let from = |peer, frames: &[&[u8]]| {
            Inbound::Message(
                peer,
                Message::from_frames(frames.iter().map(|f| f.to_vec())),
            )
        };
        assert_eq!(
            req.reply(from(1, &[b"", b"body"]), false),
            Some(Message::from("body"))
        );
        assert_eq!(
            req.reply(from(2, &[b"", b"body"]), false),
            None,
            "another peer"
        );
        assert_eq!(req.reply(from(1, &[b"body"]), false), None, "no delimiter");
        assert_eq!(req.reply(from(1, &[b""]), false), None, "no body");
        let id = 7u32.to_be_bytes();
        assert_eq!(
            req.reply(from(1, &[&id, b"", b"b"]), true),
            Some(Message::from("b"))
        );
        req.request_id = 8;
        assert_eq!(
            req.reply(from(1, &[&id, b"", b"b"]), true),
            None,
            "a stale reply"
        );
        req.phase = Phase::Idle;
        assert_eq!(
            req.reply(from(1, &[b"", b"body"]), false),
            None,
            "no request out"
        );
    }
}
