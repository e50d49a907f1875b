//! Progress on stderr, for a run whose steps are all planned up front.
//!
//! Each step (a probe, a warm-up or a measured run) comes with an estimate
//! of how long it takes. On a terminal, one status line
//! `[#####.....] 37/120  throughput tcp 64 B libzmq run 2/5  elapsed 1:23  eta 2:10`
//! is redrawn in place with `\r`, and [`Progress::log`] prints above it;
//! otherwise (CI logs, redirected stderr) every finished step is one plain
//! line. The ETA is the estimated time of the steps left, scaled by how far
//! the finished steps were off their estimates.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Width of the `[###...]` bar, in cells.
const BAR_CELLS: usize = 20;

/// Progress of a planned sequence of steps.
#[derive(Debug)]
pub struct Progress {
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
    /// Redraw a status line in place (stderr is a terminal).
    bar: bool,
    /// What runs now, for the status line.
    current: String,
    /// The status line is on screen.
    drawn: bool,
}

impl Progress {
    /// Progress over `total` steps estimated at `est_secs` seconds in all,
    /// as a bar when stderr is a terminal.
    pub fn new(total: usize, est_secs: f64) -> Progress {
        Progress::with_mode(total, est_secs, std::io::stderr().is_terminal())
    }

    /// [`Progress::new`] with the display mode chosen: a bar redrawn in
    /// place, or one line per step.
    pub fn with_mode(total: usize, est_secs: f64, bar: bool) -> Progress {
        Progress {
            total,
            done: 0,
            est_total: est_secs.max(0.0),
            est_done: 0.0,
            started: Instant::now(),
            at_last_finish: Duration::ZERO,
            bar,
            current: String::new(),
            drawn: false,
        }
    }

    /// Announces the step that starts now (`what`: shown in the bar).
    pub fn start(&mut self, what: String) {
        self.current = what;
        self.draw();
    }

    /// The step announced last is over; it was estimated at `est_secs`.
    /// Without a bar, prints `line` (the step and its result) with the
    /// counts and times.
    pub fn finish(&mut self, est_secs: f64, line: &str) {
        self.done += 1;
        self.total = self.total.max(self.done);
        self.est_done += est_secs.max(0.0);
        self.est_total = self.est_total.max(self.est_done);
        self.at_last_finish = self.started.elapsed();
        if self.bar {
            self.draw();
        } else {
            eprintln!(
                "{}",
                plain_line(
                    self.done,
                    self.total,
                    line,
                    self.started.elapsed(),
                    self.eta()
                )
            );
        }
    }

    /// Drops `steps` planned steps, estimated at `est_secs` in all, that
    /// will not run (a variant that was given up).
    pub fn skip(&mut self, steps: usize, est_secs: f64) {
        self.total = self.total.saturating_sub(steps).max(self.done);
        self.est_total = (self.est_total - est_secs.max(0.0)).max(self.est_done);
        self.draw();
    }

    /// Adds `steps` steps, estimated at `est_secs` in all, to the plan (a
    /// retry).
    pub fn add(&mut self, steps: usize, est_secs: f64) {
        self.total += steps;
        self.est_total += est_secs.max(0.0);
    }

    /// Prints `msg` as a line of its own (above the bar, if any).
    pub fn log(&mut self, msg: &str) {
        if self.drawn {
            eprint!("\r\x1b[K");
            self.drawn = false;
        }
        eprintln!("{msg}");
        self.draw();
    }

    /// Removes the bar, for output that follows.
    pub fn clear(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[K");
            let _ = std::io::stderr().flush();
            self.drawn = false;
        }
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Expected time to the end.
    pub fn eta(&self) -> Duration {
        eta(
            self.est_total,
            self.est_done,
            self.at_last_finish,
            self.started.elapsed(),
        )
    }

    fn draw(&mut self) {
        if !self.bar {
            return;
        }
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(100);
        let line = status_line(
            self.done,
            self.total,
            &self.current,
            self.started.elapsed(),
            self.eta(),
            width.saturating_sub(1),
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{line}");
        let _ = err.flush();
        self.drawn = true;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
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

/// `[#####.....]`: `done` of `total` in `cells` cells.
pub fn bar(done: usize, total: usize, cells: usize) -> String {
    let filled = (done.min(total) * cells)
        .checked_div(total)
        .unwrap_or(cells);
    format!("[{}{}]", "#".repeat(filled), ".".repeat(cells - filled))
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

/// The terminal status line, cut to `width` characters (shortening `what`
/// first, so the counts and times stay).
pub fn status_line(
    done: usize,
    total: usize,
    what: &str,
    elapsed: Duration,
    eta: Duration,
    width: usize,
) -> String {
    let head = format!("{} {done}/{total}  ", bar(done, total, BAR_CELLS));
    let tail = format!("  elapsed {}  eta {}", clock(elapsed), clock(eta));
    let room = width.saturating_sub(head.chars().count() + tail.chars().count());
    let what: String = if what.chars().count() > room {
        let mut cut: String = what.chars().take(room.saturating_sub(3)).collect();
        cut.push_str("...");
        cut
    } else {
        what.to_owned()
    };
    let line = format!("{head}{what}{tail}");
    line.chars().take(width).collect()
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
    fn bars_and_clocks() {
        assert_eq!(bar(0, 10, 10), "[..........]");
        assert_eq!(bar(37, 120, 10), "[###.......]");
        assert_eq!(bar(5, 10, 10), "[#####.....]");
        assert_eq!(bar(12, 10, 4), "[####]");
        assert_eq!(bar(0, 0, 3), "[###]");
        assert_eq!(clock(Duration::from_secs(0)), "0:00");
        assert_eq!(clock(Duration::from_secs(83)), "1:23");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
    }

    #[test]
    fn status_lines() {
        let line = status_line(
            37,
            120,
            "throughput tcp 64 B monocoque/tokio run 2/5",
            Duration::from_secs(83),
            Duration::from_secs(130),
            200,
        );
        assert_eq!(
            line,
            "[######..............] 37/120  throughput tcp 64 B monocoque/tokio run 2/5  elapsed 1:23  eta 2:10"
        );
        let short = status_line(
            1,
            2,
            "a very long description of the step that runs now",
            Duration::ZERO,
            Duration::ZERO,
            60,
        );
        assert_eq!(short.chars().count(), 60);
        assert!(short.contains("...  elapsed 0:00  eta 0:00"), "{short}");
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
        let mut p = Progress::with_mode(3, 30.0, false);
        p.skip(1, 10.0);
        assert_eq!((p.total, p.est_total), (2, 20.0));
        p.add(1, 5.0);
        p.skip(1, 5.0);
        p.finish(10.0, "step");
        p.finish(10.0, "step");
        assert_eq!((p.done, p.total), (2, 2));
        assert_eq!(p.eta(), Duration::ZERO);
    }
}
