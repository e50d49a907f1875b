//! Multipart messages.
//!
//! A ZeroMQ message is one or more frames delivered atomically. Frames are [`Bytes`], so cloning a
//! message or slicing it out of a receive buffer never copies the payload. Up to two frames are
//! stored inline, which covers the common single-frame and identity+body cases without a heap
//! allocation for the frame list.
//!
//! A received message also carries its connection's [`Metadata`] (`User-Id`, `Peer-Address`,
//! `Socket-Type`, ...), read with [`Message::property`] as libzmq's `zmq_msg_gets` reads it.

use crate::metadata::Metadata;
use bytes::Bytes;
use smallvec::SmallVec;
use std::fmt;

/// Frames stored inline before the frame list spills to the heap.
const INLINE_FRAMES: usize = 2;

/// A multipart message: an ordered list of frames, sent and received as a unit.
///
/// Two messages are equal when their frames are: the metadata a received message carries is
/// not part of its value.
#[derive(Default)]
pub struct Message {
    frames: SmallVec<[Bytes; INLINE_FRAMES]>,
    /// The properties of the connection it arrived on; `None` for a message made here (and for
    /// inproc, as in libzmq).
    metadata: Option<Metadata>,
}

// Messages are moved through every queue, and `SendError` hands one back: keep them at two
// inline frames plus one word of metadata.
const _: () = assert!(std::mem::size_of::<Message>() <= 80);

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.frames == other.frames
    }
}

impl Eq for Message {}

impl std::hash::Hash for Message {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.frames.hash(state);
    }
}

impl Clone for Message {
    /// Clones the frame handles (no payload is copied). Written out because PUB clones each
    /// message once per subscriber, and the generic `SmallVec` clone (an `extend` over an
    /// iterator) cost about twice as much for the usual one- and two-frame messages.
    fn clone(&self) -> Self {
        let frames = match self.frames.as_slice() {
            [one] => SmallVec::from_buf_and_len([one.clone(), Bytes::new()], 1),
            [first, second] => SmallVec::from_buf([first.clone(), second.clone()]),
            many => many.iter().cloned().collect(),
        };
        Self {
            frames,
            metadata: self.metadata.clone(),
        }
    }
}

impl Message {
    /// An empty message (no frames). Sending it is an error; push frames first.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A message of one frame.
    pub fn single(frame: impl Into<Bytes>) -> Self {
        let mut frames = SmallVec::new();
        frames.push(frame.into());
        Self {
            frames,
            metadata: None,
        }
    }

    /// A message from any sequence of frames.
    pub fn from_frames<I, F>(frames: I) -> Self
    where
        I: IntoIterator<Item = F>,
        F: Into<Bytes>,
    {
        Self {
            frames: frames.into_iter().map(Into::into).collect(),
            metadata: None,
        }
    }

    /// Starts a [`MessageBuilder`].
    #[must_use]
    pub fn builder() -> MessageBuilder {
        MessageBuilder::default()
    }

    /// Appends a frame at the end.
    pub fn push_back(&mut self, frame: impl Into<Bytes>) {
        self.frames.push(frame.into());
    }

    /// Inserts a frame at the front (e.g. a routing identity or an empty delimiter).
    pub fn push_front(&mut self, frame: impl Into<Bytes>) {
        self.frames.insert(0, frame.into());
    }

    /// Removes and returns the first frame.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        if self.frames.is_empty() {
            None
        } else {
            Some(self.frames.remove(0))
        }
    }

    /// Removes and returns the last frame.
    pub fn pop_back(&mut self) -> Option<Bytes> {
        self.frames.pop()
    }

    /// Number of frames.
    #[must_use]
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when the message has no frames.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The frames, in order.
    #[must_use]
    pub fn frames(&self) -> &[Bytes] {
        &self.frames
    }

    /// The frame at `index`, if any.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&Bytes> {
        self.frames.get(index)
    }

    /// The first frame, if any.
    #[must_use]
    pub fn first(&self) -> Option<&Bytes> {
        self.frames.first()
    }

    /// The last frame, if any.
    #[must_use]
    pub fn last(&self) -> Option<&Bytes> {
        self.frames.last()
    }

    /// Iterates over the frames.
    pub fn iter(&self) -> std::slice::Iter<'_, Bytes> {
        self.frames.iter()
    }

    /// Sum of the frame sizes in bytes.
    #[must_use]
    pub fn payload_len(&self) -> usize {
        self.frames.iter().map(Bytes::len).sum()
    }

    /// Consumes the message, returning its frames.
    #[must_use]
    pub fn into_frames(self) -> Vec<Bytes> {
        self.frames.into_vec()
    }

    /// Removes all frames, keeping the allocation.
    pub fn clear(&mut self) {
        self.frames.clear();
    }

    /// The properties of the connection this message arrived on (`None` for a message made
    /// here, or received over inproc).
    #[must_use]
    pub fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }

    /// One property of the connection this message arrived on, as text, like libzmq's
    /// `zmq_msg_gets`: `"User-Id"`, `"Peer-Address"`, `"Socket-Type"`, `"Routing-Id"`, or any
    /// metadata the peer or the ZAP handler gave (names in any case).
    ///
    /// ```
    /// use monocoque_core::{Message, Metadata};
    /// let mut msg = Message::single("hello");
    /// assert_eq!(msg.property("User-Id"), None);
    /// msg.set_metadata(Some(Metadata::from_entries([("User-Id", "alice")])));
    /// assert_eq!(msg.property("user-id"), Some("alice"));
    /// ```
    #[must_use]
    pub fn property(&self, name: &str) -> Option<&str> {
        self.metadata.as_ref()?.get_str(name)
    }

    /// Attaches (or removes) connection metadata: the engine does this for every message it
    /// receives. It is not sent: sending a received message on passes only its frames.
    pub fn set_metadata(&mut self, metadata: Option<Metadata>) {
        self.metadata = metadata;
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.frames.iter().map(FrameDebug))
            .finish()
    }
}

/// Prints a frame as text when it is short printable ASCII, else as a length and a hex prefix.
struct FrameDebug<'a>(&'a Bytes);

impl fmt::Debug for FrameDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b.len() <= 64 && b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            write!(f, "{:?}", String::from_utf8_lossy(b))
        } else {
            write!(f, "<{} bytes:", b.len())?;
            for byte in b.iter().take(8) {
                write!(f, " {byte:02x}")?;
            }
            if b.len() > 8 {
                write!(f, " ..")?;
            }
            write!(f, ">")
        }
    }
}

impl From<Bytes> for Message {
    fn from(frame: Bytes) -> Self {
        Self::single(frame)
    }
}

impl From<&'static str> for Message {
    fn from(frame: &'static str) -> Self {
        Self::single(Bytes::from_static(frame.as_bytes()))
    }
}

impl From<&'static [u8]> for Message {
    fn from(frame: &'static [u8]) -> Self {
        Self::single(Bytes::from_static(frame))
    }
}

impl From<String> for Message {
    fn from(frame: String) -> Self {
        Self::single(Bytes::from(frame))
    }
}

impl From<Vec<u8>> for Message {
    fn from(frame: Vec<u8>) -> Self {
        Self::single(Bytes::from(frame))
    }
}

impl From<Vec<Bytes>> for Message {
    fn from(frames: Vec<Bytes>) -> Self {
        Self {
            frames: SmallVec::from_vec(frames),
            metadata: None,
        }
    }
}

impl<F: Into<Bytes>> FromIterator<F> for Message {
    fn from_iter<T: IntoIterator<Item = F>>(iter: T) -> Self {
        Self::from_frames(iter)
    }
}

impl IntoIterator for Message {
    type Item = Bytes;
    type IntoIter = smallvec::IntoIter<[Bytes; INLINE_FRAMES]>;
    fn into_iter(self) -> Self::IntoIter {
        self.frames.into_iter()
    }
}

impl<'a> IntoIterator for &'a Message {
    type Item = &'a Bytes;
    type IntoIter = std::slice::Iter<'a, Bytes>;
    fn into_iter(self) -> Self::IntoIter {
        self.frames.iter()
    }
}

/// Builds a [`Message`] frame by frame.
///
/// ```
/// use monocoque_core::Message;
/// let msg = Message::builder().frame("key").frame(vec![1u8, 2, 3]).build();
/// assert_eq!(msg.len(), 2);
/// ```
#[derive(Debug, Default, Clone)]
pub struct MessageBuilder {
    msg: Message,
}

impl MessageBuilder {
    /// Appends a frame.
    #[must_use]
    pub fn frame(mut self, frame: impl Into<Bytes>) -> Self {
        self.msg.push_back(frame);
        self
    }

    /// Appends an empty frame (the REQ/REP envelope delimiter, for example).
    #[must_use]
    pub fn empty_frame(self) -> Self {
        self.frame(Bytes::new())
    }

    /// Finishes the message.
    #[must_use]
    pub fn build(self) -> Message {
        self.msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_pop_and_order() {
        let mut m = Message::single("b");
        m.push_front("a");
        m.push_back("c");
        assert_eq!(m.len(), 3);
        assert_eq!(m.payload_len(), 3);
        assert_eq!(m.pop_front().unwrap(), "a");
        assert_eq!(m.pop_back().unwrap(), "c");
        assert_eq!(m.frames(), &[Bytes::from_static(b"b")]);
    }

    #[test]
    fn clone_shares_payload() {
        let big = Bytes::from(vec![7u8; 1 << 16]);
        let m = Message::single(big.clone());
        let c = m.clone();
        assert_eq!(c.first().unwrap().as_ptr(), big.as_ptr());
    }

    #[test]
    fn builder_and_debug() {
        let m = Message::builder()
            .frame("id")
            .empty_frame()
            .frame(vec![0u8; 20])
            .build();
        assert_eq!(m.len(), 3);
        let dbg = format!("{m:?}");
        assert!(dbg.contains("\"id\""), "{dbg}");
        assert!(dbg.contains("<20 bytes: 00"), "{dbg}");
    }
}
