//! PUB/SUB fan-out: `pub_fanout` and `sub_fanout`.
//!
//! The publisher sends `size`-byte messages whose first byte says what they
//! are: HELLO ([`HELLO`]) every millisecond until the subscriber process
//! reports on the [`sync`] side channel that every SUB socket has seen one
//! (so every subscription is in place), then `count` DATA messages
//! ([`DATA`]) as fast as `send` takes them (PUB drops for a subscriber at
//! SNDHWM: that is the measured behaviour), then END ([`END`]) every
//! millisecond until every subscriber has seen one.
//!
//! `sub_fanout` counts the DATA messages each SUB socket receives and times
//! them from the first arrival at any subscriber to the last arrival at any
//! subscriber, on one clock in one process.

use std::time::{Duration, Instant};

use crate::Result;
use crate::output::Fanout;

pub mod sync;

/// First byte of a HELLO message.
pub const HELLO: u8 = b'H';
/// First byte of a DATA message.
pub const DATA: u8 = b'D';
/// First byte of an END message.
pub const END: u8 = b'E';

/// Pause between two HELLO (or END) messages.
pub const RESEND_INTERVAL: Duration = Duration::from_millis(1);

/// A fresh `size`-byte message starting with `kind` (`size` >= 1).
pub fn message(kind: u8, size: usize) -> Vec<u8> {
    let mut body = vec![0u8; size];
    body[0] = kind;
    body
}

/// Fails unless `size` can carry the kind byte.
pub fn check_message_size(size: usize) -> Result<()> {
    if size == 0 {
        return Err("the fan-out tools need a message size of at least 1 B".into());
    }
    Ok(())
}

/// What one received message meant to its subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Nothing new (another HELLO, or anything after END).
    Nothing,
    /// The subscriber's first HELLO: its subscription is in place.
    FirstHello,
    /// One DATA message, counted.
    Data,
    /// The subscriber's first END: it is done.
    End,
}

/// One subscriber's bookkeeping.
#[derive(Debug, Clone)]
pub struct SubState {
    size: usize,
    hello: bool,
    done: bool,
    data: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl SubState {
    /// A subscriber expecting `size`-byte messages.
    pub fn new(size: usize) -> SubState {
        SubState {
            size,
            hello: false,
            done: false,
            data: 0,
            first: None,
            last: None,
        }
    }

    /// Accounts for one received message (its only frame).
    pub fn on_message(&mut self, frame: &[u8]) -> Result<Seen> {
        if frame.len() != self.size {
            return Err(format!(
                "message of incorrect size received: {} B, expected {} B",
                frame.len(),
                self.size
            )
            .into());
        }
        if self.done {
            return Ok(Seen::Nothing);
        }
        match frame.first().copied().unwrap_or(0) {
            HELLO if self.hello => Ok(Seen::Nothing),
            HELLO => {
                self.hello = true;
                Ok(Seen::FirstHello)
            }
            DATA if !self.hello => Err("DATA received before any HELLO".into()),
            DATA => {
                let now = Instant::now();
                self.first.get_or_insert(now);
                self.last = Some(now);
                self.data += 1;
                Ok(Seen::Data)
            }
            END => {
                self.done = true;
                Ok(Seen::End)
            }
            other => Err(format!("unexpected message kind byte 0x{other:02x}").into()),
        }
    }
}

/// Sums up the subscribers of one `sub_fanout` run.
pub fn summarize(size: usize, count: u64, subs: &[SubState]) -> Result<Fanout> {
    let deliveries = subs.iter().map(|s| s.data).sum();
    let first = subs.iter().filter_map(|s| s.first).min();
    let last = subs.iter().filter_map(|s| s.last).max();
    let (Some(first), Some(last)) = (first, last) else {
        return Err("no subscriber received any DATA message".into());
    };
    Ok(Fanout {
        size,
        count,
        subscribers: subs.len(),
        deliveries,
        min_per_sub: subs.iter().map(|s| s.data).min().unwrap_or(0),
        max_per_sub: subs.iter().map(|s| s.data).max().unwrap_or(0),
        msgs_per_sec: crate::output::rate(deliveries, last - first),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriber_bookkeeping() {
        let mut s = SubState::new(4);
        assert!(s.on_message(&message(DATA, 4)).is_err());
        assert_eq!(s.on_message(&message(HELLO, 4)).unwrap(), Seen::FirstHello);
        assert_eq!(s.on_message(&message(HELLO, 4)).unwrap(), Seen::Nothing);
        assert_eq!(s.on_message(&message(DATA, 4)).unwrap(), Seen::Data);
        assert_eq!(s.on_message(&message(DATA, 4)).unwrap(), Seen::Data);
        assert!(s.on_message(&message(DATA, 3)).is_err());
        assert!(s.on_message(&message(b'x', 4)).is_err());
        assert_eq!(s.on_message(&message(END, 4)).unwrap(), Seen::End);
        assert!(s.done);
        assert_eq!(s.on_message(&message(END, 4)).unwrap(), Seen::Nothing);
        let mut idle = SubState::new(4);
        idle.on_message(&message(HELLO, 4)).unwrap();
        let f = summarize(4, 10, &[s, idle]).unwrap();
        assert_eq!((f.deliveries, f.min_per_sub, f.max_per_sub), (2, 0, 2));
        assert_eq!(f.subscribers, 2);
        assert!(summarize(4, 10, &[SubState::new(4)]).is_err());
    }
}
