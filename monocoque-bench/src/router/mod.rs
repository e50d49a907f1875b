//! ROUTER <-> DEALERs: `router_echo` and `dealers`.
//!
//! `router_echo` binds a ROUTER and sends every message back to its sender
//! (routing id frame, then the payload) until it has echoed
//! `peers * (count + 1)` messages, then closes with the default linger.
//! `dealers` connects `peers` DEALER sockets from one process; each sends
//! one warm-up message and waits for its echo; once all have (a barrier) the
//! clock starts, and each keeps [`WINDOW`] messages in flight until it has
//! `count` echoes. The clock stops at the last echo of all.

use std::time::Instant;

use crate::Result;
use crate::output::Roundtrips;

/// Messages each DEALER keeps in flight.
pub const WINDOW: u64 = 32;

/// How many messages `router_echo` echoes: a warm-up and `count` per peer.
pub fn echoes(peers: usize, count: u64) -> u64 {
    peers as u64 * (count + 1)
}

/// Fails unless a ROUTER message is a routing id and one payload frame.
pub fn check_frames(frames: usize) -> Result<()> {
    if frames != 2 {
        return Err(
            format!("expected a routing id and one payload frame, got {frames} frame(s)").into(),
        );
    }
    Ok(())
}

/// The `dealers` result, from the barrier's release to the latest of the
/// dealers' last echoes.
pub fn summarize(
    size: usize,
    count: u64,
    start: Instant,
    last_echoes: &[Instant],
) -> Result<Roundtrips> {
    let end = last_echoes.iter().max().ok_or("no dealer finished")?;
    let elapsed = end.saturating_duration_since(start);
    Ok(Roundtrips::new(size, count, last_echoes.len(), elapsed))
}
