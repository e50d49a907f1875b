//! ZMTP 3.x framing.
//!
//! A frame is a flags octet, a size (one octet, or eight big-endian octets when the LONG flag is
//! set) and the body. Flag bit 0 is MORE, bit 1 LONG, bit 2 COMMAND; bits 7 to 3 are reserved
//! and must be zero.

use super::error::ZmtpError;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Flag bit 0: more frames of this message follow.
pub const FLAG_MORE: u8 = 0x01;
/// Flag bit 1: the size field is eight octets.
pub const FLAG_LONG: u8 = 0x02;
/// Flag bit 2: the frame is a command.
pub const FLAG_COMMAND: u8 = 0x04;
/// The flag bits that must be zero.
pub const FLAGS_RESERVED: u8 = 0xF8;
/// Largest body sent with a short (one-octet) size.
pub const MAX_SHORT_SIZE: usize = 255;
/// Largest frame header (flags + eight-octet size).
pub const MAX_HEADER_LEN: usize = 9;

/// One decoded frame: a message part or a command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// More frames of the same message follow (never set on commands).
    pub more: bool,
    /// The frame is a command, not a message part.
    pub command: bool,
    /// The frame body, sliced out of the receive buffer without a copy.
    pub body: Bytes,
}

/// A header whose body has not fully arrived yet.
#[derive(Debug, Clone, Copy)]
struct PendingHeader {
    more: bool,
    command: bool,
    size: usize,
}

/// Incremental frame decoder.
///
/// The header is validated as soon as its octets arrive: reserved flags, MORE on a command and
/// oversized bodies are reported before any of the body has been received, so a peer cannot make
/// the receiver buffer more than the limit.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_size: u64,
    pending: Option<PendingHeader>,
    /// The largest body announced by a header since [`take_largest_body`](Self::take_largest_body)
    /// was last called.
    largest_body: usize,
}

impl FrameDecoder {
    /// A decoder rejecting bodies larger than `max_frame_size` (`None`: no limit beyond the
    /// protocol's own 2^63 - 1).
    #[must_use]
    pub fn new(max_frame_size: Option<u64>) -> Self {
        Self {
            max_frame_size: max_frame_size.unwrap_or(u64::MAX),
            pending: None,
            largest_body: 0,
        }
    }

    /// Changes the body size limit (applies from the next header on).
    pub fn set_max_frame_size(&mut self, max_frame_size: Option<u64>) {
        self.max_frame_size = max_frame_size.unwrap_or(u64::MAX);
    }

    /// The current body size limit (`None`: no limit).
    #[must_use]
    pub fn max_frame_size(&self) -> Option<u64> {
        (self.max_frame_size != u64::MAX).then_some(self.max_frame_size)
    }

    /// The size of the body whose header has been consumed but which has not been returned yet.
    /// An engine may use it to reserve receive space for a large frame in one step.
    #[must_use]
    pub fn pending_body_len(&self) -> Option<usize> {
        self.pending.map(|h| h.size)
    }

    /// The largest body size announced by a header (within the limit) since the last call; 0
    /// if none. An engine may use it to size its next receive buffer for a frame like the last
    /// large one.
    pub fn take_largest_body(&mut self) -> usize {
        std::mem::take(&mut self.largest_body)
    }

    /// Decodes the next frame from the front of `buf`.
    ///
    /// `Ok(None)` means more bytes are needed; the header, once complete, is consumed from `buf`
    /// and remembered, so call again with the same decoder when more data has arrived. The body
    /// is split off `buf` without copying.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ZmtpError> {
        let header = match self.pending {
            Some(h) => h,
            None => match self.decode_header(buf)? {
                Some(h) => {
                    self.largest_body = self.largest_body.max(h.size);
                    h
                }
                None => return Ok(None),
            },
        };
        if buf.len() < header.size {
            self.pending = Some(header);
            return Ok(None);
        }
        self.pending = None;
        let body = if header.size == 0 {
            Bytes::new()
        } else {
            buf.split_to(header.size).freeze()
        };
        Ok(Some(Frame {
            more: header.more,
            command: header.command,
            body,
        }))
    }

    fn decode_header(&self, buf: &mut BytesMut) -> Result<Option<PendingHeader>, ZmtpError> {
        let Some(&flags) = buf.first() else {
            return Ok(None);
        };
        if flags & FLAGS_RESERVED != 0 {
            return Err(ZmtpError::ReservedFlags(flags));
        }
        let more = flags & FLAG_MORE != 0;
        let command = flags & FLAG_COMMAND != 0;
        if more && command {
            return Err(ZmtpError::CommandWithMore);
        }
        let (header_len, size) = if flags & FLAG_LONG != 0 {
            let Some(raw) = buf.get(1..9) else {
                return Ok(None);
            };
            let mut octets = [0u8; 8];
            octets.copy_from_slice(raw);
            (9, u64::from_be_bytes(octets))
        } else {
            let Some(&size) = buf.get(1) else {
                return Ok(None);
            };
            (2, u64::from(size))
        };
        if size > i64::MAX as u64 {
            return Err(ZmtpError::FrameTooLarge {
                size,
                limit: i64::MAX as u64,
            });
        }
        if size > self.max_frame_size {
            return Err(ZmtpError::FrameTooLarge {
                size,
                limit: self.max_frame_size,
            });
        }
        let Ok(size) = usize::try_from(size) else {
            return Err(ZmtpError::FrameTooLarge {
                size,
                limit: usize::MAX as u64,
            });
        };
        buf.advance(header_len);
        Ok(Some(PendingHeader {
            more,
            command,
            size,
        }))
    }
}

/// The flags octet for a frame (the LONG bit is added by the header encoder).
#[inline]
fn flags(more: bool, command: bool) -> u8 {
    debug_assert!(!(more && command), "commands cannot have MORE");
    u8::from(more) | if command { FLAG_COMMAND } else { 0 }
}

/// Length of the header [`encode_frame_header`] writes for a body of `len` octets.
#[inline]
#[must_use]
pub const fn header_len(len: usize) -> usize {
    if len <= MAX_SHORT_SIZE { 2 } else { 9 }
}

/// Writes a frame header: two octets when `len <= 255`, else nine (LONG), as libzmq does.
#[inline]
pub fn encode_frame_header(more: bool, command: bool, len: usize, out: &mut BytesMut) {
    let flags = flags(more, command);
    if len <= MAX_SHORT_SIZE {
        out.put_slice(&[flags, len as u8]);
    } else {
        let mut header = [0u8; MAX_HEADER_LEN];
        header[0] = flags | FLAG_LONG;
        header[1..].copy_from_slice(&(len as u64).to_be_bytes());
        out.put_slice(&header);
    }
}

/// Writes a whole frame (header and a copy of `body`).
pub fn encode_frame(more: bool, command: bool, body: &[u8], out: &mut BytesMut) {
    out.reserve(header_len(body.len()) + body.len());
    encode_frame_header(more, command, body.len(), out);
    out.put_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(dec: &mut FrameDecoder, buf: &mut BytesMut) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(f) = dec.decode(buf).expect("valid frames") {
            out.push(f);
        }
        out
    }

    #[test]
    fn short_and_long_headers_match_libzmq() {
        let mut out = BytesMut::new();
        encode_frame(true, false, b"", &mut out);
        encode_frame(false, false, b"hello", &mut out);
        // REQ send "hello": empty delimiter with MORE, then the body.
        assert_eq!(&out[..], b"\x01\x00\x00\x05hello");

        // PUSH send ["k", 300 x "x"]: 01 01 6b, then a LONG frame.
        let mut out = BytesMut::new();
        encode_frame(true, false, b"k", &mut out);
        encode_frame(false, false, &[b'x'; 300], &mut out);
        let mut want = vec![0x01, 0x01, 0x6b, 0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x2c];
        want.extend_from_slice(&[b'x'; 300]);
        assert_eq!(&out[..], &want[..]);

        let mut dec = FrameDecoder::new(None);
        let frames = decode_all(&mut dec, &mut out);
        assert_eq!(frames.len(), 2);
        assert!(frames[0].more && !frames[0].command);
        assert_eq!(&frames[0].body[..], b"k");
        assert!(!frames[1].more);
        assert_eq!(&frames[1].body[..], &[b'x'; 300][..]);
        assert!(out.is_empty());
    }

    #[test]
    fn boundary_sizes() {
        for (len, hdr) in [(0usize, 2usize), (255, 2), (256, 9)] {
            let mut out = BytesMut::new();
            encode_frame(false, true, &vec![7u8; len], &mut out);
            assert_eq!(out.len(), hdr + len);
            assert_eq!(out[0], if hdr == 2 { 0x04 } else { 0x06 });
        }
    }

    #[test]
    fn long_frame_with_small_size_is_accepted() {
        let mut buf = BytesMut::from(&[0x02, 0, 0, 0, 0, 0, 0, 0, 3, b'a', b'b', b'c'][..]);
        let f = FrameDecoder::new(None).decode(&mut buf).unwrap().unwrap();
        assert_eq!(&f.body[..], b"abc");
    }

    #[test]
    fn reserved_flags_rejected_from_first_octet() {
        for bad in [0x08u8, 0x10, 0x20, 0x40, 0x80, 0xFF] {
            let mut buf = BytesMut::from(&[bad][..]);
            assert_eq!(
                FrameDecoder::new(None).decode(&mut buf),
                Err(ZmtpError::ReservedFlags(bad))
            );
        }
    }

    #[test]
    fn command_with_more_rejected() {
        let mut buf = BytesMut::from(&[0x05u8][..]);
        assert_eq!(
            FrameDecoder::new(None).decode(&mut buf),
            Err(ZmtpError::CommandWithMore)
        );
    }

    #[test]
    fn oversized_frame_rejected_from_header_alone() {
        // Only the header has arrived: the limit is checked before any body byte.
        let mut buf = BytesMut::from(&[0x02u8, 0, 0, 0, 0, 0, 0x10, 0, 0][..]);
        assert_eq!(
            FrameDecoder::new(Some(1024)).decode(&mut buf),
            Err(ZmtpError::FrameTooLarge {
                size: 0x10_0000,
                limit: 1024
            })
        );
        let mut buf = BytesMut::from(&[0x00u8, 200][..]);
        assert_eq!(
            FrameDecoder::new(Some(199)).decode(&mut buf),
            Err(ZmtpError::FrameTooLarge {
                size: 200,
                limit: 199
            })
        );
        // Exactly at the limit is fine.
        let mut buf = BytesMut::from(&[0x00u8, 199][..]);
        assert_eq!(FrameDecoder::new(Some(199)).decode(&mut buf), Ok(None));
        // Bit 63 set in a long size is never valid.
        let mut buf = BytesMut::from(&[0x02u8, 0x80, 0, 0, 0, 0, 0, 0, 1][..]);
        assert_eq!(
            FrameDecoder::new(None).decode(&mut buf),
            Err(ZmtpError::FrameTooLarge {
                size: 0x8000_0000_0000_0001,
                limit: i64::MAX as u64
            })
        );
    }

    #[test]
    fn pending_body_is_reported_and_body_is_zero_copy() {
        let mut dec = FrameDecoder::new(None);
        let mut buf = BytesMut::from(&[0x00u8, 4, b'a'][..]);
        assert_eq!(dec.decode(&mut buf), Ok(None));
        assert_eq!(dec.pending_body_len(), Some(4));
        buf.extend_from_slice(b"bcd");
        let ptr = buf.as_ptr();
        let f = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(f.body.as_ptr(), ptr);
        assert_eq!(&f.body[..], b"abcd");
        assert_eq!(dec.pending_body_len(), None);
    }

    #[test]
    fn largest_announced_body_is_reported_once() {
        let mut dec = FrameDecoder::new(None);
        let mut buf = BytesMut::new();
        encode_frame(false, false, &[1; 300], &mut buf);
        encode_frame(false, false, b"small", &mut buf);
        // A long header whose body has not arrived counts too: it is the frame in progress.
        encode_frame_header(false, false, 1000, &mut buf);
        assert_eq!(decode_all(&mut dec, &mut buf).len(), 2);
        assert_eq!(dec.take_largest_body(), 1000);
        assert_eq!(dec.take_largest_body(), 0);
    }

    proptest! {
        #[test]
        fn round_trip_random_frames(
            frames in prop::collection::vec(
                (any::<bool>(), any::<bool>(), prop_oneof![
                    Just(0usize), Just(255), Just(256), 0usize..600, 0usize..70_000
                ]),
                0..12,
            ),
            chunk in 1usize..700,
        ) {
            let mut wire = BytesMut::new();
            let mut want = Vec::new();
            for (i, (more, command, len)) in frames.iter().enumerate() {
                let more = *more && !*command;
                let body: Vec<u8> = (0..*len).map(|j| (i + j) as u8).collect();
                encode_frame(more, *command, &body, &mut wire);
                want.push(Frame { more, command: *command, body: Bytes::from(body) });
            }
            // Feed the wire bytes in chunks.
            let mut dec = FrameDecoder::new(None);
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for piece in wire.chunks(chunk) {
                buf.extend_from_slice(piece);
                while let Some(f) = dec.decode(&mut buf).unwrap() {
                    got.push(f);
                }
            }
            prop_assert_eq!(got, want);
            prop_assert!(buf.is_empty());
        }
    }
}
