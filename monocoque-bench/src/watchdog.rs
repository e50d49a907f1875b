//! A stall guard for the scenario tools: when nothing moves for too long,
//! the process gives up with an error instead of hanging.
//!
//! A background thread advances an epoch counter every [`TICK`]; the tool's
//! threads and tasks call [`Progress::tick`] whenever they make progress (a
//! message counted, a phase reached). A tick costs two relaxed loads, and a
//! store at most once per epoch, so it can sit on every message. When the
//! last tick is older than the limit, the stall handler runs: by default it
//! prints an error naming the current phase and exits with code 1.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::tools::EXIT_FAILURE;

/// How long a scenario tool waits without progress before giving up.
pub const STALL_LIMIT: Duration = Duration::from_secs(120);

/// How often the watchdog thread wakes.
pub const TICK: Duration = Duration::from_millis(250);

struct Shared {
    /// Advanced by the watchdog thread every [`TICK`].
    epoch: AtomicU64,
    /// The epoch of the latest progress.
    seen: AtomicU64,
    /// What the tool is doing, for the stall message.
    phase: Mutex<&'static str>,
}

/// A cheap, cloneable handle to report progress with, watched by a thread
/// of its own that stops once every clone is gone.
#[derive(Clone)]
pub struct Progress {
    shared: Arc<Shared>,
}

impl Progress {
    /// Starts a watchdog that, after [`STALL_LIMIT`] without progress,
    /// prints `"{tool}: error: ..."` and exits the process with code 1.
    pub fn watched(tool: &str) -> Progress {
        let tool = tool.to_owned();
        Progress::watched_with(STALL_LIMIT, move |phase| {
            eprintln!(
                "{tool}: error: no progress for {} s while {phase}; giving up",
                STALL_LIMIT.as_secs()
            );
            std::process::exit(EXIT_FAILURE);
        })
    }

    /// Starts a watchdog that calls `on_stall` with the current phase (once)
    /// after `limit` without progress.
    pub fn watched_with(limit: Duration, on_stall: impl FnOnce(&str) + Send + 'static) -> Progress {
        let shared = Arc::new(Shared {
            epoch: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            phase: Mutex::new("starting"),
        });
        let limit_ticks = (limit.as_nanos() / TICK.as_nanos()).max(1) as u64;
        let watched = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("watchdog".to_owned())
            .spawn(move || {
                loop {
                    std::thread::sleep(TICK);
                    let Some(guard) = watched.upgrade() else {
                        return;
                    };
                    let epoch = guard.epoch.fetch_add(1, Ordering::Relaxed) + 1;
                    let seen = guard.seen.load(Ordering::Relaxed);
                    if epoch.saturating_sub(seen) > limit_ticks {
                        let phase = *guard.phase.lock().unwrap_or_else(|e| e.into_inner());
                        on_stall(phase);
                        return;
                    }
                }
            })
            .expect("cannot start the watchdog thread");
        Progress { shared }
    }
    /// Records progress: the stall clock starts again.
    #[inline]
    pub fn tick(&self) {
        let epoch = self.shared.epoch.load(Ordering::Relaxed);
        if self.shared.seen.load(Ordering::Relaxed) < epoch {
            self.shared.seen.fetch_max(epoch, Ordering::Relaxed);
        }
    }

    /// Records progress and names what comes next, for the stall message
    /// (e.g. "waiting for the subscribers to see END").
    pub fn phase(&self, what: &'static str) {
        *self.shared.phase.lock().unwrap_or_else(|e| e.into_inner()) = what;
        self.tick();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Instant;

    #[test]
    fn fires_without_progress_and_not_with_it() {
        let (tx, rx) = mpsc::channel();
        let progress = Progress::watched_with(TICK * 4, move |phase| {
            tx.send(phase.to_owned()).unwrap();
        });
        progress.phase("busy");
        let until = Instant::now() + TICK * 10;
        while Instant::now() < until {
            progress.tick();
            std::thread::sleep(TICK / 5);
        }
        assert!(rx.try_recv().is_err(), "fired despite progress");
        progress.phase("idle");
        let phase = rx.recv_timeout(TICK * 20).expect("never fired");
        assert_eq!(phase, "idle");
    }
}
