//! Progress on stderr, for a run whose steps are all planned up front.
//!
//! Each step (a probe, a warm-up or a measured run) comes with an estimate
//! of how long it takes. The indicatif bar counts those estimates (in
//! milliseconds), so its own ETA is the estimated time of the steps left,
//! scaled by how fast the estimates were worked off lately; the steps are
//! counted in its prefix. On a terminal, the bar
//! `[#####.....] 37/120  throughput tcp 64 B libzmq run 2/5  elapsed 00:01:23  eta 00:02:10`
//! is redrawn in place (and ticks every second), and [`Progress::log`]
//! prints above it; otherwise (CI logs, redirected stderr) every finished
//! step is one plain line.

use std::time::Duration;

use indicatif::{FormattedDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress of a planned sequence of steps.
#[derive(Debug)]
pub struct Progress {
    /// The bar, whose length and position are estimated milliseconds;
    /// hidden when stderr is no terminal (then plain lines).
    bar: ProgressBar,
    /// Steps finished.
    done: usize,
    /// Steps planned (less those skipped).
    total: usize,
}

/// Estimated seconds as the bar's unit, milliseconds.
fn ms(secs: f64) -> u64 {
    (secs.max(0.0) * 1000.0) as u64
}

impl Progress {
    /// Progress over `total` steps estimated at `est_secs` seconds in all,
    /// as a bar when stderr is a terminal.
    pub fn new(total: usize, est_secs: f64) -> Progress {
        Progress::with_target(total, est_secs, ProgressDrawTarget::stderr())
    }

    /// [`Progress::new`] drawing to `target` (hidden: one line per step).
    pub fn with_target(total: usize, est_secs: f64, target: ProgressDrawTarget) -> Progress {
        let style = ProgressStyle::with_template(
            "[{bar:20}] {prefix}  {wide_msg}  elapsed {elapsed_precise}  eta {eta_precise}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#.");
        let bar = ProgressBar::with_draw_target(Some(ms(est_secs)), target).with_style(style);
        if !bar.is_hidden() {
            bar.enable_steady_tick(Duration::from_secs(1));
        }
        let progress = Progress {
            bar,
            done: 0,
            total,
        };
        progress.show_counts();
        progress
    }

    fn show_counts(&self) {
        self.bar.set_prefix(format!("{}/{}", self.done, self.total));
    }

    /// Announces the step that starts now (`what`: shown in the bar).
    pub fn start(&mut self, what: String) {
        self.bar.set_message(what);
    }

    /// The step announced last is over; it was estimated at `est_secs`.
    /// Without a bar, prints `line` (the step and its result) with the
    /// counts and times.
    pub fn finish(&mut self, est_secs: f64, line: &str) {
        self.done += 1;
        self.total = self.total.max(self.done);
        let pos = self.bar.position() + ms(est_secs);
        self.bar.set_length(self.length().max(pos));
        self.bar.set_position(pos);
        self.show_counts();
        if self.bar.is_hidden() {
            eprintln!(
                "[{}/{}] {line}  elapsed {}  eta {}",
                self.done,
                self.total,
                FormattedDuration(self.bar.elapsed()),
                FormattedDuration(self.bar.eta())
            );
        }
    }

    fn length(&self) -> u64 {
        self.bar.length().unwrap_or(0)
    }

    /// Drops `steps` planned steps, estimated at `est_secs` in all, that
    /// will not run (a variant that was given up).
    pub fn skip(&mut self, steps: usize, est_secs: f64) {
        self.total = self.total.saturating_sub(steps).max(self.done);
        let left = self.length().saturating_sub(ms(est_secs));
        self.bar.set_length(left.max(self.bar.position()));
        self.show_counts();
    }

    /// Adds `steps` steps, estimated at `est_secs` in all, to the plan (a
    /// retry).
    pub fn add(&mut self, steps: usize, est_secs: f64) {
        self.total += steps;
        self.bar.inc_length(ms(est_secs));
        self.show_counts();
    }

    /// Prints `msg` as a line of its own (above the bar, if any).
    pub fn log(&mut self, msg: &str) {
        self.bar.suspend(|| eprintln!("{msg}"));
    }

    /// Runs `f` (which prints) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.bar.elapsed()
    }

    /// Steps finished and planned, and whether every planned estimate was
    /// worked off (the plan was honest).
    #[cfg(test)]
    pub fn steps(&self) -> (usize, usize, bool) {
        (self.done, self.total, self.bar.position() == self.length())
    }
}

impl Drop for Progress {
    /// Removes the bar for good, for the output that follows the last step.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_steps_and_estimates() {
        let mut p = Progress::with_target(3, 30.0, ProgressDrawTarget::hidden());
        p.skip(1, 10.0);
        assert_eq!(p.steps(), (0, 2, false));
        p.add(1, 5.0);
        p.skip(1, 5.0);
        p.start("step".into());
        p.finish(10.0, "step");
        p.finish(10.0, "step");
        assert_eq!(p.steps(), (2, 2, true));
        assert_eq!(p.bar.position(), 20_000);
    }
}
