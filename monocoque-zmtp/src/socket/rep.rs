//! REP (RFC 28): receive a request, send its reply, in lock-step.

use super::outbox::{Destination, SendFuture};
use super::{Kind, Socket, sealed};
use crate::link::{Inbound, PeerId};
use bytes::Bytes;
use monocoque_core::routing::envelope::{join_envelope, split_envelope};
use monocoque_core::{Error, Message, Result, SendError, SocketType};
use std::task::{Context, Poll};

/// REP (RFC 28). Requests are fair-queued from all peers; the envelope (everything up to and
/// including the empty delimiter) is kept and put back in front of the reply, which goes to the
/// peer the request came from. If that peer is gone (or at SNDHWM) the reply is dropped, as
/// libzmq does. Requests without a delimiter are dropped.
#[derive(Debug, Default)]
pub struct Rep {
    /// Where the reply to the current request goes, and its envelope.
    reply_to: Option<(PeerId, Vec<Bytes>)>,
}

impl sealed::Sealed for Rep {}
impl Kind for Rep {
    const TYPE: SocketType = SocketType::Rep;
}

const MUST_REPLY: &str = "REP must send the reply before receiving the next request";

/// A request's body and where its reply goes; `None` for what is not a well-formed request.
fn request(inbound: Inbound) -> Option<(Message, (PeerId, Vec<Bytes>))> {
    let Inbound::Message(peer, msg) = inbound else {
        return None;
    };
    let (envelope, body) = split_envelope(msg)?;
    Some((body, (peer, envelope)))
}

impl Socket<Rep> {
    fn expecting_request(&self) -> Result<()> {
        match self.kind.reply_to {
            Some(_) => Err(Error::InvalidState(MUST_REPLY)),
            None => Ok(()),
        }
    }

    /// Receives the next request (its body only), waiting up to RCVTIMEO. Fails with
    /// [`Error::InvalidState`] while a reply is owed.
    ///
    /// Cancel safety: a request is taken only when this returns it.
    pub async fn recv(&mut self) -> Result<Message> {
        self.expecting_request()?;
        let (body, reply_to) = self.inbox.recv(self.base.options(), request).await?;
        self.kind.reply_to = Some(reply_to);
        Ok(body)
    }

    /// Receives a waiting request (its body only), else fails with [`Error::WouldBlock`].
    pub fn try_recv(&mut self) -> Result<Message> {
        self.expecting_request()?;
        let (body, reply_to) = self.inbox.try_accept(self.base.options(), request)?;
        self.kind.reply_to = Some(reply_to);
        Ok(body)
    }

    /// The next request as a proxy's control socket reads it.
    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        if let Err(e) = self.expecting_request() {
            return Poll::Ready(Err(e));
        }
        let (body, reply_to) =
            std::task::ready!(self.inbox.poll_accept(self.base.options(), cx, request));
        self.kind.reply_to = Some(reply_to);
        Poll::Ready(Ok(body))
    }

    /// Sends the reply to the peer the last request came from. Never waits: the future is
    /// complete at once (so cancelling it changes nothing).
    pub fn send(&mut self, msg: impl Into<Message>) -> SendFuture<'_> {
        let result = self.try_send(msg);
        self.outbox.sent(result)
    }

    /// Sends the reply (REP never waits: same as [`send`](Self::send)).
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        let msg = super::non_empty(msg)?;
        let Some((peer, envelope)) = self.kind.reply_to.take() else {
            return Err(SendError {
                error: Error::InvalidState("REP must receive a request before replying"),
                message: msg,
            });
        };
        let immediate = self.base.options().immediate;
        // A vanished or full requester loses its reply, as with libzmq.
        let reply = join_envelope(envelope, msg);
        let _ = self
            .outbox
            .try_send(reply, Destination::Peer(peer), immediate);
        Ok(())
    }
}
