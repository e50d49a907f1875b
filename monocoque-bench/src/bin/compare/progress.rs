//! Progress on stderr, for a run whose steps are all planned up front.
//!
//! Each step (a probe, a warm-up or a measured run) comes with an estimate
//! of how long it takes. On a terminal, an indicatif bar
//! `[#####.....] 37/120  throughput tcp 64 B libzmq run 2/5  elapsed 1:23  eta 2:10`
//! is redrawn in place (and ticks every second), and [`Progress::log`]
//! prints above it; otherwise (CI logs, redirected stderr) every finished
//! step is one plain line. The ETA is the estimated time of the steps left,
//! scaled by how far the finished steps were off their estimates.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// The plan's counts, shared with the bar's `eta` key.
#[derive(Debug)]
struct Counts {
    /// Steps planned (less those skipped).
    total: usize,
    /// Steps finished.
    done: usize,
    /// Estimated seconds of all planned steps.
    est_total: f64,
    /// Estimated seconds of the finished steps.
    est_done: f64,
    started: Instant,
    /// Time from `started` to the last finished step.
    at_last_finish: Duration,
}

impl Counts {
    fn eta(&self) -> Duration {
        eta(
            self.est_total,
            self.est_done,
            self.at_last_finish,
            self.started.elapsed(),
        )
    }
}

/// Progress of a planned sequence of steps.
#[derive(Debug)]
pub struct Progress {
    counts: Arc<Mutex<Counts>>,
    /// The bar; hidden when stderr is no terminal (then plain lines).
    bar: ProgressBar,
}

impl Progress {
    /// Progress over `total` steps estimated at `est_secs` seconds in all,
    /// as a bar when stderr is a terminal.
    pub fn new(total: usize, est_secs: f64) -> Progress {
        Progress::with_target(total, est_secs, ProgressDrawTarget::stderr())
    }

    /// [`Progress::new`] drawing to `target` (hidden: one line per step).
    pub fn with_target(total: usize, est_secs: f64, target: ProgressDrawTarget) -> Progress {
        let counts = Arc::new(Mutex::new(Counts {
            total,
            done: 0,
            est_total: est_secs.max(0.0),
            est_done: 0.0,
            started: Instant::now(),
            at_last_finish: Duration::ZERO,
        }));
        let shared = Arc::clone(&counts);
        let style = ProgressStyle::with_template(
            "[{bar:20}] {pos}/{len}  {wide_msg}  elapsed {clock}  eta {eta_left}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#.")
        .with_key("clock", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&clock(s.elapsed()));
        })
        .with_key(
            "eta_left",
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let eta = shared.lock().unwrap_or_else(PoisonError::into_inner).eta();
                let _ = w.write_str(&clock(eta));
            },
        );
        let bar = ProgressBar::with_draw_target(Some(total as u64), target).with_style(style);
        if !bar.is_hidden() {
            bar.enable_steady_tick(Duration::from_secs(1));
        }
        Progress { counts, bar }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Announces the step that starts now (`what`: shown in the bar).
    pub fn start(&mut self, what: String) {
        self.bar.set_message(what);
    }

    /// The step announced last is over; it was estimated at `est_secs`.
    /// Without a bar, prints `line` (the step and its result) with the
    /// counts and times.
    pub fn finish(&mut self, est_secs: f64, line: &str) {
        let mut c = self.counts();
        c.done += 1;
        c.total = c.total.max(c.done);
        c.est_done += est_secs.max(0.0);
        c.est_total = c.est_total.max(c.est_done);
        c.at_last_finish = c.started.elapsed();
        let (done, total, elapsed, eta) = (c.done, c.total, c.at_last_finish, c.eta());
        drop(c);
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        if self.bar.is_hidden() {
            eprintln!("{}", plain_line(done, total, line, elapsed, eta));
        }
    }

    /// Drops `steps` planned steps, estimated at `est_secs` in all, that
    /// will not run (a variant that was given up).
    pub fn skip(&mut self, steps: usize, est_secs: f64) {
        let mut c = self.counts();
        c.total = c.total.saturating_sub(steps).max(c.done);
        c.est_total = (c.est_total - est_secs.max(0.0)).max(c.est_done);
        self.bar.set_length(c.total as u64);
    }

    /// Adds `steps` steps, estimated at `est_secs` in all, to the plan (a
    /// retry).
    pub fn add(&mut self, steps: usize, est_secs: f64) {
        let mut c = self.counts();
        c.total += steps;
        c.est_total += est_secs.max(0.0);
        self.bar.set_length(c.total as u64);
    }

    /// Prints `msg` as a line of its own (above the bar, if any).
    pub fn log(&mut self, msg: &str) {
        self.bar.suspend(|| eprintln!("{msg}"));
    }

    /// Runs `f` (which prints) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the bar for good, for the output that follows the last step.
    pub fn close(&mut self) {
        self.bar.finish_and_clear();
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.counts().started.elapsed()
    }

    /// Steps finished, and steps planned.
    #[cfg(test)]
    pub fn steps(&self) -> (usize, usize) {
        let c = self.counts();
        (c.done, c.total)
    }

    /// Expected time to the end.
    #[cfg(test)]
    pub fn eta(&self) -> Duration {
        self.counts().eta()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.close();
    }
}

/// Expected time left: the estimate of the steps left, scaled by how long
/// the finished steps really took against their estimates (within 0.3x to
/// 5x), less the time the current step has run already.
pub fn eta(est_total: f64, est_done: f64, at_last_finish: Duration, now: Duration) -> Duration {
    let left = (est_total - est_done).max(0.0);
    if left == 0.0 {
        return Duration::ZERO;
    }
    let scale = if est_done > 0.0 {
        (at_last_finish.as_secs_f64() / est_done).clamp(0.3, 5.0)
    } else {
        1.0
    };
    let running = now.saturating_sub(at_last_finish).as_secs_f64();
    Duration::from_secs_f64((left * scale - running).max(0.0))
}

/// `m:ss`, or `h:mm:ss` from an hour on.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// One line of the plain log: `[37/120] what  elapsed 1:23  eta 2:10`.
pub fn plain_line(
    done: usize,
    total: usize,
    what: &str,
    elapsed: Duration,
    eta: Duration,
) -> String {
    format!(
        "[{done}/{total}] {what}  elapsed {}  eta {}",
        clock(elapsed),
        clock(eta)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_and_lines() {
        assert_eq!(clock(Duration::from_secs(0)), "0:00");
        assert_eq!(clock(Duration::from_secs(83)), "1:23");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
        assert_eq!(
            plain_line(
                3,
                9,
                "throughput tcp [libzmq 64 B] run 2/2: 1 msg/s",
                Duration::from_secs(61),
                Duration::from_secs(5)
            ),
            "[3/9] throughput tcp [libzmq 64 B] run 2/2: 1 msg/s  elapsed 1:01  eta 0:05"
        );
    }

    #[test]
    fn eta_follows_the_estimates() {
        let s = Duration::from_secs;
        // Nothing done: the estimate less the time spent.
        assert_eq!(eta(100.0, 0.0, s(0), s(10)), s(90));
        // Steps took twice their estimate: the rest will too.
        assert_eq!(eta(100.0, 10.0, s(20), s(20)), s(180));
        assert_eq!(eta(100.0, 10.0, s(20), s(30)), s(170));
        // All done.
        assert_eq!(eta(10.0, 10.0, s(20), s(25)), s(0));
        let mut p = Progress::with_target(3, 30.0, ProgressDrawTarget::hidden());
        p.skip(1, 10.0);
        assert_eq!(p.steps(), (0, 2));
        p.add(1, 5.0);
        p.skip(1, 5.0);
        p.start("step".into());
        p.finish(10.0, "step");
        p.finish(10.0, "step");
        assert_eq!(p.steps(), (2, 2));
        assert_eq!(p.eta(), Duration::ZERO);
        assert_eq!(p.bar.position(), 2);
    }
}
