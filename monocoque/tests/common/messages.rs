//! The messages the interop tests exchange: the canonical stream (identical to `canonical()`
//! in `zmq_peer.py`), request/reply and pub/sub messages, and the hex framing of the peer's
//! `MSG` lines.

use super::*;
use monocoque_core::Message;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, mpsc};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

/// Frame sizes cycled through by the canonical stream (ZMTP short/long frame boundary at 255/256).
pub const SIZES: [usize; 11] = [0, 1, 8, 29, 100, 254, 255, 256, 257, 1000, 4096];
/// Every `BIG_EVERY`-th message (index `BIG_EVERY - 1`, `2 * BIG_EVERY - 1`, ...) ends in a big frame.
pub const BIG_EVERY: u64 = 1000;
/// Size of that big frame.
pub const BIG_SIZE: usize = 100_000;
const MODULUS: u64 = 251;

/// Frame sizes of canonical message `i`: `1 + i % 4` frames; frame 0 is `max(8, SIZES[i % 11])`,
/// frame `j >= 1` is `SIZES[(i + 5 j) % 11]`; when `i % 1000 == 999` the last frame is 100 000 bytes.
pub fn canonical_sizes(i: u64) -> Vec<usize> {
    let n = SIZES.len() as u64;
    let frames = 1 + i % 4;
    let mut sizes: Vec<usize> = (0..frames)
        .map(|j| {
            if j == 0 {
                SIZES[(i % n) as usize].max(8)
            } else {
                SIZES[((i + 5 * j) % n) as usize]
            }
        })
        .collect();
    if i % BIG_EVERY == BIG_EVERY - 1 {
        *sizes.last_mut().expect("at least one frame") = BIG_SIZE;
    }
    sizes
}

/// Filler bytes: `FILLER[k] = k % 251`, long enough for any frame.
fn filler_table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..MODULUS as usize + BIG_SIZE + 1)
            .map(|k| (k % 251) as u8)
            .collect()
    })
}

/// `len` filler bytes of frame `j` of message `i`: byte `k` is `(7 i + 13 j + k) % 251`.
fn filler(i: u64, j: u64, len: usize) -> &'static [u8] {
    let start = ((7 * i + 13 * j) % MODULUS) as usize;
    &filler_table()[start..start + len]
}

/// Canonical message `i`: frame 0 starts with `i` as 8 big-endian bytes; all other bytes are
/// filler (see [`canonical_sizes`] for the sizes).
pub fn canonical_message(i: u64) -> Message {
    Message::from_frames(canonical_sizes(i).into_iter().enumerate().map(|(j, size)| {
        if j == 0 {
            let mut frame = Vec::with_capacity(size);
            frame.extend_from_slice(&i.to_be_bytes());
            frame.extend_from_slice(filler(i, 0, size - 8));
            frame
        } else {
            filler(i, j as u64, size).to_vec()
        }
    }))
}

/// `Ok` when `msg` is canonical message `i`, else a one-line reason (same wording as the peer).
pub fn check_canonical(i: u64, msg: &Message) -> Result<(), String> {
    let sizes = canonical_sizes(i);
    if msg.len() != sizes.len() {
        let index = msg
            .first()
            .filter(|f| f.len() >= 8)
            .map(|f| {
                let idx = u64::from_be_bytes(f[..8].try_into().expect("8 bytes"));
                format!(" (its index field is {idx})")
            })
            .unwrap_or_default();
        return Err(format!(
            "message {i}: expected {} frames, got {}{index}",
            sizes.len(),
            msg.len()
        ));
    }
    let head = msg.frames()[0].get(..8);
    let index_ok = head == Some(&i.to_be_bytes()[..]);
    let fast_ok = index_ok
        && msg.iter().zip(&sizes).enumerate().all(|(j, (f, &size))| {
            f.len() == size
                && if j == 0 {
                    f[8..] == *filler(i, 0, size - 8)
                } else {
                    f[..] == *filler(i, j as u64, size)
                }
        });
    if fast_ok {
        return Ok(());
    }
    match first_difference(msg, &canonical_message(i)) {
        None => Ok(()),
        Some(why) => Err(format!("message {i}: {why}")),
    }
}

/// Where two messages differ, in one short line; `None` when equal.
pub fn first_difference(got: &Message, want: &Message) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!("expected {} frames, got {}", want.len(), got.len()));
    }
    for (j, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        if g == w {
            continue;
        }
        if g.len() != w.len() {
            return Some(format!(
                "frame {j}: expected {} bytes, got {}",
                w.len(),
                g.len()
            ));
        }
        let k = g
            .iter()
            .zip(w.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Some(format!(
            "frame {j}: byte {k} is {:02x}, expected {:02x}",
            g[k], w[k]
        ));
    }
    None
}

/// Fails with a short description (never the payload) when `got != want`.
pub fn assert_msg_eq(got: &Message, want: &Message, what: &str) -> Result<(), String> {
    match first_difference(got, want) {
        None => Ok(()),
        Some(why) => Err(format!("{what}: {why}")),
    }
}

/// Compares two `hex_frames` strings, describing the first difference without dumping megabytes.
pub fn assert_hex_eq(got: &str, want: &str, what: &str) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let why = match (parse_hex_frames(got), parse_hex_frames(want)) {
        (Ok(g), Ok(w)) => first_difference(&g, &w).unwrap_or_else(|| "same frames".into()),
        (Err(e), _) | (_, Err(e)) => e,
    };
    Err(format!(
        "{what}: {why}\n  got:      {}\n  expected: {}",
        abbreviate(got),
        abbreviate(want)
    ))
}

/// `s`, cut to 80 characters with its length noted, for error messages.
pub fn abbreviate(s: &str) -> String {
    if s.len() <= 80 {
        s.to_owned()
    } else {
        format!("{}...({} chars)", &s[..80], s.len())
    }
}

/// Frames of at least this size that equal [`pattern_frame`] are written `@<len>:<seed>`.
pub const PATTERN_MIN: usize = 1024;

/// `len` bytes where byte `k` is `(seed + 31 k) % 256` (built with memcpy, fast even unoptimized).
pub fn pattern_frame(len: usize, seed: u8) -> Vec<u8> {
    let base: Vec<u8> = (0..=255u8)
        .map(|k| seed.wrapping_add(k.wrapping_mul(31)))
        .collect();
    let mut frame = base.repeat(len.div_ceil(256));
    frame.truncate(len);
    frame
}

/// Messages whose exact content must survive the trip: empty frames, the 255/256-byte boundary of
/// ZMTP short/long frames, all byte values, a 4 MiB frame, many frames.
pub fn special_messages() -> Vec<Message> {
    let bytes = |n: usize, seed: u8| -> Vec<u8> {
        (0..n)
            .map(|k| (k as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    };
    vec![
        Message::from_frames(vec![Vec::<u8>::new()]),
        Message::from_frames(vec![b"a".to_vec(), Vec::new(), b"b".to_vec()]),
        Message::from_frames(vec![Vec::<u8>::new(), Vec::new(), Vec::new()]),
        Message::from_frames(vec![bytes(255, 1)]),
        Message::from_frames(vec![bytes(256, 2)]),
        Message::from_frames(vec![
            bytes(254, 3),
            bytes(255, 4),
            bytes(256, 5),
            bytes(257, 6),
        ]),
        Message::from_frames(vec![(0..=255u8).collect::<Vec<u8>>()]),
        Message::from_frames(vec![bytes(4 << 20, 7)]),
        Message::from_frames(vec![b"head".to_vec(), bytes((4 << 20) + 1, 8), Vec::new()]),
        Message::from_frames((0..40).map(|j| bytes(j * 13, j as u8))),
        Message::from_frames(vec![b"last".to_vec()]),
    ]
}

/// What a serving socket sends back for a request: its frames reversed, then `b"reply"` (so an
/// echo does not pass, and frame boundaries and empty frames must survive both ways).
pub fn reply(request: &Message) -> Message {
    request
        .iter()
        .rev()
        .cloned()
        .chain(std::iter::once(bytes::Bytes::from_static(b"reply")))
        .collect()
}

/// Topics of the pub/sub sequence, by `i % 4`; those starting with [`SUB_TOPIC`] match.
pub const TOPICS: [&[u8]; 4] = [b"topic.b", b"topic.a", b"topic", b"topic.ab"];
/// The prefix the subscribers subscribe to.
pub const SUB_TOPIC: &[u8] = b"topic.a";
/// The single frame of the probe a publisher repeats until the subscription has propagated.
pub const PROBE: &[u8] = b"topic.a:probe";

/// Pub/sub message `i`: canonical message `i` with `TOPICS[i % 4]` in front of its first frame.
pub fn pubsub_message(i: u64) -> Message {
    let mut frames = canonical_message(i).into_frames();
    let mut first = TOPICS[(i % 4) as usize].to_vec();
    first.extend_from_slice(&frames[0]);
    frames[0] = first.into();
    Message::from_frames(frames)
}

/// Whether pub/sub message `i` matches [`SUB_TOPIC`].
pub fn pubsub_matches(i: u64) -> bool {
    TOPICS[(i % 4) as usize].starts_with(SUB_TOPIC)
}

/// The probe message.
pub fn probe_message() -> Message {
    Message::single(bytes::Bytes::from_static(PROBE))
}

/// Frames hex-encoded, space-separated, an empty frame as `-`, a frame of [`PATTERN_MIN`] bytes or
/// more that is [`pattern_frame`]`(len, first byte)` as `@<len>:<seed>` (the peer's `MSG` format).
pub fn hex_frames(msg: &Message) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(msg.payload_len() * 2 + msg.len() * 2);
    for (j, frame) in msg.iter().enumerate() {
        if j > 0 {
            out.push(b' ');
        }
        if frame.is_empty() {
            out.push(b'-');
            continue;
        }
        if frame.len() >= PATTERN_MIN && frame[..] == pattern_frame(frame.len(), frame[0])[..] {
            out.extend_from_slice(format!("@{}:{}", frame.len(), frame[0]).as_bytes());
            continue;
        }
        for &b in frame.iter() {
            out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
    String::from_utf8(out).expect("ascii")
}

/// Inverse of [`hex_frames`].
pub fn parse_hex_frames(line: &str) -> Result<Message, String> {
    fn nibble(c: u8) -> Result<u8, String> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(format!("bad hex digit {:?}", c as char)),
        }
    }
    let mut frames = Vec::new();
    for tok in line.split_ascii_whitespace() {
        if tok == "-" {
            frames.push(Vec::new());
            continue;
        }
        if let Some(spec) = tok.strip_prefix('@') {
            let bad = || format!("bad pattern token {tok:?}");
            let (len, seed) = spec.split_once(':').ok_or_else(bad)?;
            let len = len.parse().map_err(|_| bad())?;
            frames.push(pattern_frame(len, seed.parse().map_err(|_| bad())?));
            continue;
        }
        if tok.len() % 2 != 0 {
            return Err(format!("odd-length hex frame ({} chars)", tok.len()));
        }
        let mut frame = Vec::with_capacity(tok.len() / 2);
        for pair in tok.as_bytes().chunks_exact(2) {
            frame.push(nibble(pair[0])? << 4 | nibble(pair[1])?);
        }
        frames.push(frame);
    }
    Ok(Message::from_frames(frames))
}
