//! The reconnect schedule: RECONNECT_IVL, doubled after each failure up to RECONNECT_IVL_MAX.
//!
//! libzmq gives up on an endpoint after a protocol error; monocoque keeps retrying, but backs off
//! further after handshake failures (see [`Backoff::protocol_failure`]) so that a peer that is
//! wrong for a while is neither hammered nor abandoned.

use std::time::Duration;

/// The ceiling used for protocol failures when RECONNECT_IVL_MAX is not set.
const PROTOCOL_FAILURE_CEILING: Duration = Duration::from_secs(5);

/// Reconnect back-off state for one connecting endpoint.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// A schedule starting at `ivl`; `ivl_max` of zero (or below `ivl`) means no back-off.
    #[must_use]
    pub fn new(ivl: Duration, ivl_max: Duration) -> Self {
        Self {
            base: ivl,
            max: ivl_max.max(ivl),
            current: ivl,
        }
    }

    /// The wait before the next attempt after a transport failure (refused, reset, closed).
    /// Grows by doubling up to the ceiling.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.current;
        self.current = (self.current * 2).min(self.max);
        delay
    }

    /// The wait after a handshake or protocol failure: like [`next_delay`](Self::next_delay), but
    /// doubling up to at least a few seconds even when RECONNECT_IVL_MAX is unset, because
    /// retrying a peer that just spoke nonsense at full rate helps nobody.
    pub fn protocol_failure(&mut self) -> Duration {
        let ceiling = self.max.max(PROTOCOL_FAILURE_CEILING.max(self.base));
        let delay = self.current;
        self.current = (self.current * 2).min(ceiling);
        delay
    }

    /// Called once a connection has completed its handshake: the next failure starts over.
    pub fn reset(&mut self) {
        self.current = self.base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn constant_without_max() {
        let mut b = Backoff::new(MS(100), Duration::ZERO);
        assert_eq!(b.next_delay(), MS(100));
        assert_eq!(b.next_delay(), MS(100));
    }

    #[test]
    fn doubles_up_to_max_and_resets() {
        let mut b = Backoff::new(MS(100), MS(350));
        assert_eq!(
            [
                b.next_delay(),
                b.next_delay(),
                b.next_delay(),
                b.next_delay()
            ],
            [MS(100), MS(200), MS(350), MS(350)]
        );
        b.reset();
        assert_eq!(b.next_delay(), MS(100));
    }

    #[test]
    fn protocol_failures_back_off_even_without_max() {
        let mut b = Backoff::new(MS(100), Duration::ZERO);
        let delays: Vec<_> = (0..8).map(|_| b.protocol_failure()).collect();
        assert_eq!(delays[0], MS(100));
        assert_eq!(delays[1], MS(200));
        assert_eq!(*delays.last().unwrap(), PROTOCOL_FAILURE_CEILING);
        b.reset();
        assert_eq!(b.next_delay(), MS(100));
    }
}
