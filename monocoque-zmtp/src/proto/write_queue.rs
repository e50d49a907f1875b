//! The outgoing byte queue.
//!
//! Small pieces (the greeting, commands, frame headers, small bodies) are copied into one
//! contiguous staging buffer, so a batch of small messages becomes a single slice. Large bodies
//! (at least [`VECTORED_THRESHOLD`] octets) are kept as their own [`Bytes`] segment and never
//! copied. [`WriteQueue::io_slices`] lists the pending segments in order for one vectored write,
//! and [`WriteQueue::advance`] drops what the write consumed.
//!
//! Once everything has been written the staging buffer is rewound, so a steady stream of small
//! messages reuses the same allocation.

use super::frame::encode_frame_header;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::VecDeque;
use std::io::IoSlice;

/// Bodies of at least this many octets are queued as their own segment instead of being copied.
pub const VECTORED_THRESHOLD: usize = 8 * 1024;

#[derive(Debug)]
enum Segment {
    /// The next `n` octets of the staging buffer.
    Staged(usize),
    /// A body kept zero-copy.
    Shared(Bytes),
}

/// The bytes waiting to be written to the connection, in order.
#[derive(Debug, Default)]
pub struct WriteQueue {
    segments: VecDeque<Segment>,
    staging: BytesMut,
    len: usize,
}

impl WriteQueue {
    /// An empty queue.
    #[must_use]
    pub fn new() -> Self {
        Self {
            segments: VecDeque::new(),
            // Grown as needed (and kept once grown): an idle connection holds only what its
            // handshake needed.
            staging: BytesMut::new(),
            len: 0,
        }
    }

    /// True when nothing is waiting to be written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of octets waiting to be written.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Number of segments [`io_slices`](Self::io_slices) would list with room enough.
    #[must_use]
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Appends a copy of `raw`.
    pub fn put_bytes(&mut self, raw: &[u8]) {
        self.put_with(|buf| buf.put_slice(raw));
    }

    /// Appends whatever `write` puts at the end of the staging buffer. `write` must only append.
    pub fn put_with<R>(&mut self, write: impl FnOnce(&mut BytesMut) -> R) -> R {
        let before = self.staging.len();
        let result = write(&mut self.staging);
        let added = self.staging.len().saturating_sub(before);
        self.account_staged(added);
        result
    }

    /// Appends `bytes`: copied when short, else queued as its own segment without a copy.
    pub fn put_shared(&mut self, bytes: &Bytes) {
        if bytes.len() >= VECTORED_THRESHOLD {
            self.len += bytes.len();
            self.segments.push_back(Segment::Shared(bytes.clone()));
        } else {
            self.put_bytes(bytes);
        }
    }

    /// Appends one frame: its header, then its body (copied when shorter than
    /// [`VECTORED_THRESHOLD`], else referenced).
    pub fn put_frame(&mut self, more: bool, command: bool, body: &Bytes) {
        if body.len() >= VECTORED_THRESHOLD {
            self.put_with(|buf| encode_frame_header(more, command, body.len(), buf));
            self.len += body.len();
            self.segments.push_back(Segment::Shared(body.clone()));
        } else {
            self.put_with(|buf| {
                buf.reserve(9 + body.len());
                encode_frame_header(more, command, body.len(), buf);
                buf.put_slice(body);
            });
        }
    }

    fn account_staged(&mut self, added: usize) {
        if added == 0 {
            return;
        }
        self.len += added;
        match self.segments.back_mut() {
            Some(Segment::Staged(n)) => *n += added,
            _ => self.segments.push_back(Segment::Staged(added)),
        }
    }

    /// Fills `dst` with the pending segments from the front, in order, and returns how many it
    /// filled (0 only when the queue is empty or `dst` is).
    pub fn io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut filled = 0;
        let mut offset = 0;
        for segment in &self.segments {
            if filled == dst.len() {
                break;
            }
            let slice: &[u8] = match segment {
                Segment::Staged(n) => {
                    let Some(slice) = self.staging.get(offset..offset + n) else {
                        break;
                    };
                    offset += n;
                    slice
                }
                Segment::Shared(bytes) => bytes,
            };
            dst[filled] = IoSlice::new(slice);
            filled += 1;
        }
        filled
    }

    /// The first pending segment (for a plain, non-vectored write). Empty when the queue is.
    #[must_use]
    pub fn front(&self) -> &[u8] {
        match self.segments.front() {
            Some(Segment::Staged(n)) => self.staging.get(..*n).unwrap_or_default(),
            Some(Segment::Shared(bytes)) => bytes,
            None => &[],
        }
    }

    /// Drops the first `n` pending octets after a write of `n` octets (which may end in the
    /// middle of a segment). `n` larger than [`len`](Self::len) empties the queue.
    pub fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.len, "advance past the end of the write queue");
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.segments.front_mut() else {
                break;
            };
            let done = match front {
                Segment::Staged(staged) => {
                    let k = n.min(*staged);
                    self.staging.advance(k);
                    *staged -= k;
                    n -= k;
                    *staged == 0
                }
                Segment::Shared(bytes) => {
                    let k = n.min(bytes.len());
                    bytes.advance(k);
                    n -= k;
                    bytes.is_empty()
                }
            };
            if done {
                self.segments.pop_front();
            }
        }
        if self.len == 0 {
            self.clear();
        }
    }

    /// Drops everything pending, keeping the staging allocation for reuse.
    pub fn clear(&mut self) {
        self.segments.clear();
        self.staging.clear();
        self.len = 0;
        // Rewind to the start of the allocation: asking for one octet more than the capacity
        // the handle still sees succeeds only by reclaiming the consumed prefix, and never
        // allocates (the result only says whether there was a prefix to reclaim).
        let _ = self.staging.try_reclaim(self.staging.capacity() + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &WriteQueue) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 64];
        let n = q.io_slices(&mut slices);
        slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn small_pieces_coalesce_into_one_slice() {
        let mut q = WriteQueue::new();
        q.put_bytes(b"abc");
        q.put_frame(true, false, &Bytes::from_static(b"x"));
        q.put_frame(false, false, &Bytes::from_static(b"yz"));
        assert_eq!(q.segment_count(), 1);
        assert_eq!(drain(&q), b"abc\x01\x01x\x00\x02yz");
        assert_eq!(q.len(), 10);
        assert_eq!(q.front(), b"abc\x01\x01x\x00\x02yz");
    }

    #[test]
    fn large_bodies_are_not_copied() {
        let big = Bytes::from(vec![9u8; VECTORED_THRESHOLD]);
        let mut q = WriteQueue::new();
        q.put_frame(true, false, &Bytes::from_static(b"k"));
        q.put_frame(false, false, &big);
        q.put_bytes(b"tail");
        let mut slices = [IoSlice::new(&[]); 8];
        let n = q.io_slices(&mut slices);
        assert_eq!(n, 3);
        assert_eq!(
            &slices[0][..],
            &[0x01, 0x01, b'k', 0x02, 0, 0, 0, 0, 0, 0, 0x20, 0]
        );
        assert_eq!(slices[1].as_ptr(), big.as_ptr());
        assert_eq!(&slices[2][..], b"tail");
        // A short destination is filled from the front.
        let mut one = [IoSlice::new(&[])];
        assert_eq!(q.io_slices(&mut one), 1);
        assert_eq!(one[0].len(), 12);
    }

    #[test]
    fn advance_mid_segment() {
        let big = Bytes::from(
            (0..VECTORED_THRESHOLD * 2)
                .map(|i| i as u8)
                .collect::<Vec<_>>(),
        );
        let mut q = WriteQueue::new();
        q.put_bytes(b"head");
        q.put_shared(&big);
        q.put_bytes(b"tail");
        let mut want = b"head".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(b"tail");
        let mut written = Vec::new();
        for step in [1usize, 2, 5, 7000, 9000, 400, 3] {
            let all = drain(&q);
            let step = step.min(all.len());
            written.extend_from_slice(&all[..step]);
            q.advance(step);
        }
        written.extend_from_slice(&drain(&q));
        q.advance(q.len());
        assert_eq!(written, want);
        assert!(q.is_empty());
        assert_eq!(q.segment_count(), 0);
    }

    #[test]
    fn staging_capacity_is_reused() {
        let mut q = WriteQueue::new();
        // Nothing allocated until needed; then grown to what one round needs.
        assert_eq!(q.staging.capacity(), 0);
        q.put_bytes(&[1u8; 100]);
        assert_eq!(drain(&q).len(), 100);
        q.advance(100);
        q.put_bytes(&[2u8; 1000]);
        q.put_frame(false, false, &Bytes::from_static(&[4u8; 2000]));
        let ptr = q.front().as_ptr() as usize;
        for _ in 0..1000 {
            q.advance(q.len());
            q.put_bytes(&[3u8; 1000]);
            q.put_frame(false, false, &Bytes::from_static(&[4u8; 2000]));
            assert_eq!(
                q.front().as_ptr() as usize,
                ptr,
                "staging buffer was reallocated"
            );
        }
    }
}
