//! REQ/REP envelopes.
//!
//! On the wire a request or reply is an address envelope (zero or more identity frames, pushed by
//! the ROUTERs it crossed), an empty delimiter frame, then the body (RFC 28). REQ sends
//! `["", body...]` and accepts a reply only if it starts with the delimiter; REP strips and stores
//! everything up to and including the delimiter, hands the body to the application, and puts the
//! envelope back in front of the reply.
//!
//! As in libzmq (`rep_t::xrecv`, `req_t::xrecv`), the delimiter counts only if more frames follow
//! it: a message that ends at its first empty frame, or has none, is malformed and dropped.

use bytes::Bytes;

use crate::Message;

/// Splits a request received by REP into its envelope (the frames up to and including the first
/// empty frame) and its body (the rest, at least one frame).
///
/// `None` when there is no delimiter followed by a body: REP drops such messages.
///
/// ```
/// use monocoque_core::{Message, routing::envelope::{join_envelope, split_envelope}};
/// let request = Message::from_frames(["peer-a", "", "hello"]);
/// let (envelope, body) = split_envelope(request.clone()).unwrap();
/// assert_eq!(envelope.len(), 2);
/// assert_eq!(body, Message::single("hello"));
/// assert_eq!(join_envelope(envelope, body), request);
/// ```
#[must_use]
pub fn split_envelope(msg: Message) -> Option<(Vec<Bytes>, Message)> {
    let delimiter = msg.iter().position(Bytes::is_empty)?;
    if delimiter + 1 >= msg.len() {
        return None;
    }
    let mut frames = msg.into_iter();
    let envelope: Vec<Bytes> = frames.by_ref().take(delimiter + 1).collect();
    Some((envelope, frames.collect()))
}

/// Puts a stored envelope (as returned by [`split_envelope`], delimiter included) back in front
/// of a reply body.
#[must_use]
pub fn join_envelope(mut envelope: Vec<Bytes>, body: Message) -> Message {
    envelope.extend(body);
    Message::from(envelope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(frames: &[&'static str]) -> Message {
        Message::from_frames(frames.iter().copied())
    }

    #[test]
    fn no_identity_frames() {
        let (env, body) = split_envelope(msg(&["", "body"])).unwrap();
        assert_eq!(env, [Bytes::new()]);
        assert_eq!(body, msg(&["body"]));
        assert_eq!(join_envelope(env, msg(&["reply"])), msg(&["", "reply"]));
    }

    #[test]
    fn one_identity_frame() {
        let (env, body) = split_envelope(msg(&["id1", "", "a", "b"])).unwrap();
        assert_eq!(env, [Bytes::from_static(b"id1"), Bytes::new()]);
        assert_eq!(body, msg(&["a", "b"]));
        assert_eq!(join_envelope(env, msg(&["r"])), msg(&["id1", "", "r"]));
    }

    #[test]
    fn several_identity_frames() {
        let original = msg(&["id1", "id2", "id3", "", "x", "", "y"]);
        let (env, body) = split_envelope(original.clone()).unwrap();
        assert_eq!(env.len(), 4);
        // Only the first empty frame delimits; later empty frames belong to the body.
        assert_eq!(body, msg(&["x", "", "y"]));
        assert_eq!(join_envelope(env, body), original);
    }

    #[test]
    fn malformed_requests_are_rejected() {
        assert!(split_envelope(Message::new()).is_none());
        assert!(split_envelope(msg(&["body"])).is_none());
        assert!(split_envelope(msg(&["id", "body"])).is_none());
        assert!(
            split_envelope(msg(&["id", ""])).is_none(),
            "no body after the delimiter"
        );
        assert!(split_envelope(msg(&[""])).is_none());
    }
}
