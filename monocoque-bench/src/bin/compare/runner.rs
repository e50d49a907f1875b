//! The measuring loop every scenario shares.
//!
//! A [`Scenario`] measures one series (an implementation, a pair of them)
//! at one point of its axis, a message size (or a subscriber count, a peer
//! count: whatever [`Scenario::point_label`] names): an optional
//! preparation step (a probe run that picks the message count, or a
//! warm-up), then measured runs. [`run`] goes size by size (point by
//! point); at each size it prepares every series, then runs
//! them in turns (`run 1` of each, then `run 2` of each, ...) so slow
//! drifts of the machine hit all of them alike. A series that cannot run
//! (exit code 2), or fails its preparation or its first two runs, is given
//! up for the remaining sizes unless `--keep-going` (which still skips
//! only that size). Every step is announced to [`Progress`], and the plan
//! ([`plan`]) counts the same steps up front.

use std::time::Instant;

use crate::peers::Contender;
use crate::process::RunError;
use crate::progress::Progress;
use crate::report::fmt_size;

/// One benchmark scenario: what a step does and how long it should take.
pub trait Scenario {
    /// What is compared (an implementation, a sender/receiver pair).
    type Series: Contender;
    /// What one measured run yields.
    type Sample;

    /// Names the scenario in progress lines: `throughput tcp`.
    fn name(&self) -> String;
    /// The run parameter (message or roundtrip count) before preparation.
    fn base_param(&self, size: usize) -> u64;
    /// Whether each series is prepared at each size before its runs (by
    /// default not: the runs use [`base_param`](Self::base_param)).
    fn prepares(&self) -> bool {
        false
    }
    /// Names the preparation step: `probe`, `warm-up`.
    fn prepare_name(&self) -> &'static str {
        "warm-up"
    }
    /// The preparation step: returns the parameter of the runs and a
    /// description of what it found. By default an unrecorded run with the
    /// base parameter (called only when [`prepares`](Self::prepares) says so).
    fn prepare(
        &self,
        series: Self::Series,
        size: usize,
        base: u64,
    ) -> Result<(u64, String), RunError> {
        let sample = self.run(series, size, base)?;
        Ok((base, self.describe(&sample)))
    }
    /// One measured run.
    fn run(&self, series: Self::Series, size: usize, param: u64) -> Result<Self::Sample, RunError>;
    /// The result of a run, for progress lines: `1,234 msg/s`.
    fn describe(&self, sample: &Self::Sample) -> String;
    /// Expected seconds of a preparation step at `size`.
    fn prepare_secs(&self, size: usize) -> f64;
    /// Expected seconds of a measured run at `size`.
    fn run_secs(&self, size: usize) -> f64;
    /// Names a point of the axis the runs go along, for progress lines:
    /// by default a message size (`64 B`); a scenario whose `size` is
    /// something else (a subscriber count) names it here.
    fn point_label(&self, size: usize) -> String {
        fmt_size(size)
    }
}

/// The results of one series at one size.
#[derive(Debug, Clone)]
pub struct Cell<S, R> {
    /// The series.
    pub series: S,
    /// The message size.
    pub size: usize,
    /// The runs' parameter (message or roundtrip count).
    pub param: u64,
    /// One sample per successful run.
    pub samples: Vec<R>,
    /// What went wrong, one entry per failed step.
    pub errors: Vec<String>,
    /// Not (or no longer) run: given up, or its preparation failed.
    pub skipped: bool,
}

/// One line per cell that had failures, for a report's Failures list:
/// `<series> <point>: <errors>`.
pub fn failure_lines<S: Contender, R>(
    cells: &[Cell<S, R>],
    point: fn(usize) -> String,
) -> Vec<String> {
    (cells.iter())
        .filter(|c| !c.errors.is_empty())
        .map(|c| {
            format!(
                "{} {}: {}",
                c.series.label(),
                point(c.size),
                c.errors.join("; ")
            )
        })
        .collect()
}

/// Steps and estimated seconds of running `series` series at `sizes` with
/// `runs` runs each.
pub fn plan<S: Scenario>(
    scenario: &S,
    series: usize,
    sizes: &[usize],
    runs: usize,
) -> (usize, f64) {
    let mut steps = 0;
    let mut secs = 0.0;
    for &size in sizes {
        let (n, s) = cell_plan(scenario, size, runs);
        steps += n * series;
        secs += s * series as f64;
    }
    (steps, secs)
}

/// Steps and estimated seconds of one series at one size.
fn cell_plan<S: Scenario>(scenario: &S, size: usize, runs: usize) -> (usize, f64) {
    let prep = usize::from(scenario.prepares());
    (
        prep + runs,
        prep as f64 * scenario.prepare_secs(size) + runs as f64 * scenario.run_secs(size),
    )
}

/// Runs `scenario` for every series at every size, `runs` times each,
/// reporting to `progress`; returns the cells size by size, in series order.
pub fn run<S: Scenario>(
    scenario: &S,
    series: &[S::Series],
    sizes: &[usize],
    runs: usize,
    keep_going: bool,
    progress: &mut Progress,
) -> Vec<Cell<S::Series, S::Sample>> {
    let name = scenario.name();
    let mut out = Vec::new();
    let mut given_up: Vec<S::Series> = Vec::new();
    // Gives `series` up after error `e` at size index `at`: drops its
    // steps at the later sizes from the plan.
    let give_up = |s: S::Series,
                   e: &RunError,
                   at: usize,
                   given_up: &mut Vec<S::Series>,
                   progress: &mut Progress| {
        if (keep_going && matches!(e, RunError::Failed(_))) || given_up.contains(&s) {
            return;
        }
        progress.log(&format!(
            "compare: not running {} at the remaining sizes (--keep-going would)",
            s.label()
        ));
        given_up.push(s);
        for &size in &sizes[at + 1..] {
            let (n, secs) = cell_plan(scenario, size, runs);
            progress.skip(n, secs);
        }
    };
    for (at, &size) in sizes.iter().enumerate() {
        let base = scenario.base_param(size);
        let point = scenario.point_label(size);
        let mut cells: Vec<Cell<S::Series, S::Sample>> = series
            .iter()
            .map(|&s| Cell {
                series: s,
                size,
                param: base,
                samples: Vec::new(),
                errors: Vec::new(),
                skipped: given_up.contains(&s),
            })
            .collect();
        if scenario.prepares() {
            for cell in cells.iter_mut().filter(|c| !c.skipped) {
                let label = cell.series.label();
                let tag = format!("[{label} {point}]");
                let step = scenario.prepare_name();
                progress.start(format!("{name} {point} {label} {step}"));
                let est = scenario.prepare_secs(size);
                let mut result = scenario.prepare(cell.series, size, base);
                // One flaky hang should not cost the series all its sizes:
                // a failed preparation gets a second chance.
                if let Err(e @ RunError::Failed(_)) = &result {
                    progress.finish(est, &format!("{name} {tag} {step} failed, retrying"));
                    progress.log(&format!("{name} {tag} {step} failed, retrying: {e}"));
                    cell.errors.push(format!("{step}: {e}"));
                    progress.add(1, est);
                    progress.start(format!("{name} {point} {label} {step} (retry)"));
                    result = scenario.prepare(cell.series, size, base);
                }
                match result {
                    Ok((param, found)) => {
                        cell.param = param;
                        progress.finish(est, &format!("{name} {tag} {step}: {found}"));
                    }
                    Err(e) => {
                        progress.finish(est, &format!("{name} {tag} {step} failed"));
                        progress.log(&format!("{name} {tag} {step} failed: {e}"));
                        cell.errors.push(format!("{step}: {e}"));
                        cell.skipped = true;
                        progress.skip(runs, runs as f64 * scenario.run_secs(size));
                        give_up(cell.series, &e, at, &mut given_up, progress);
                    }
                }
            }
        }
        for run_no in 1..=runs {
            for cell in cells.iter_mut().filter(|c| !c.skipped) {
                let label = cell.series.label();
                let tag = format!("[{label} {point}]");
                progress.start(format!("{name} {point} {label} run {run_no}/{runs}"));
                let est = scenario.run_secs(size);
                let t0 = Instant::now();
                match scenario.run(cell.series, size, cell.param) {
                    Ok(sample) => {
                        progress.finish(
                            est,
                            &format!(
                                "{name} {tag} run {run_no}/{runs}: {} ({:.2} s)",
                                scenario.describe(&sample),
                                t0.elapsed().as_secs_f64()
                            ),
                        );
                        cell.samples.push(sample);
                    }
                    Err(e) => {
                        progress.finish(est, &format!("{name} {tag} run {run_no}/{runs} failed"));
                        progress.log(&format!("{name} {tag} run {run_no}/{runs} failed: {e}"));
                        cell.errors.push(format!("run {run_no}: {e}"));
                        if matches!(e, RunError::Unavailable(_))
                            || cell.errors.len() >= 2 && cell.samples.is_empty()
                        {
                            cell.skipped = true;
                            let left = runs - run_no;
                            progress.skip(left, left as f64 * est);
                            give_up(cell.series, &e, at, &mut given_up, progress);
                        }
                    }
                }
            }
        }
        out.extend(cells);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::ProgressDrawTarget;
    use std::cell::Cell as Counter;

    fn hidden() -> ProgressDrawTarget {
        ProgressDrawTarget::hidden()
    }

    /// Series 0 works, 1 fails every run, 2 is unavailable at size 2, 3
    /// fails its first preparation only.
    struct Fake {
        calls: Counter<usize>,
        failed_once: Counter<bool>,
    }

    impl Contender for u8 {
        fn label(self) -> String {
            format!("s{self}")
        }
        fn color(self) -> &'static str {
            "#000000"
        }
        fn is_baseline(self) -> bool {
            self == 0
        }
        fn json(self) -> serde_json::Map<String, serde_json::Value> {
            serde_json::Map::new()
        }
    }

    impl Scenario for Fake {
        type Series = u8;
        type Sample = f64;
        fn name(&self) -> String {
            "fake".into()
        }
        fn base_param(&self, size: usize) -> u64 {
            size as u64 * 10
        }
        fn prepares(&self) -> bool {
            true
        }
        fn prepare_name(&self) -> &'static str {
            "probe"
        }
        fn prepare(&self, s: u8, size: usize, base: u64) -> Result<(u64, String), RunError> {
            self.calls.set(self.calls.get() + 1);
            if s == 2 && size == 2 {
                return Err(RunError::Unavailable("no".into()));
            }
            if s == 3 && !self.failed_once.replace(true) {
                return Err(RunError::Failed("flaky".into()));
            }
            Ok((base + 1, "ok".into()))
        }
        fn run(&self, s: u8, _size: usize, param: u64) -> Result<f64, RunError> {
            self.calls.set(self.calls.get() + 1);
            match s {
                1 => Err(RunError::Failed("boom".into())),
                _ => Ok(param as f64),
            }
        }
        fn describe(&self, v: &f64) -> String {
            format!("{v}")
        }
        fn prepare_secs(&self, _: usize) -> f64 {
            1.0
        }
        fn run_secs(&self, _: usize) -> f64 {
            2.0
        }
    }

    #[test]
    fn gives_up_and_keeps_the_plan_honest() {
        let fake = Fake {
            calls: Counter::new(0),
            failed_once: Counter::new(false),
        };
        let sizes = [1, 2, 3];
        assert_eq!(plan(&fake, 3, &sizes, 3), (36, 63.0));
        let mut progress = Progress::with_target(36, 63.0, hidden());
        let cells = run(&fake, &[0, 1, 2], &sizes, 3, false, &mut progress);
        assert_eq!(cells.len(), 9);
        // Series 0 ran everywhere, with the prepared parameter.
        let s0: Vec<_> = cells.iter().filter(|c| c.series == 0).collect();
        assert!(s0.iter().all(|c| c.samples.len() == 3 && !c.skipped));
        assert_eq!(s0[1].samples[0], 21.0);
        // Series 1 failed twice at size 1 and was given up.
        let s1: Vec<_> = cells.iter().filter(|c| c.series == 1).collect();
        assert_eq!(s1[0].errors.len(), 2);
        assert!(s1.iter().all(|c| c.skipped && c.samples.is_empty()));
        // Series 2 was unavailable at size 2, so not tried at size 3.
        let s2: Vec<_> = cells.iter().filter(|c| c.series == 2).collect();
        assert_eq!(s2[0].samples.len(), 3);
        assert!(s2[1].skipped && s2[2].skipped && s2[2].errors.is_empty());
        // Every step planned and not dropped was made, and counted.
        assert_eq!(fake.calls.get(), 3 * 4 + 3 + 4 + 1);
        assert!(progress.steps().2);
        // With --keep-going, a failing series is retried at each size.
        let fake = Fake {
            calls: Counter::new(0),
            failed_once: Counter::new(false),
        };
        let mut progress = Progress::with_target(12, 63.0, hidden());
        let cells = run(&fake, &[1], &sizes, 3, true, &mut progress);
        assert!(cells.iter().all(|c| c.errors.len() == 2));
        // A failed preparation is retried, and counted.
        let (steps, secs) = plan(&fake, 1, &sizes, 3);
        let mut progress = Progress::with_target(steps, secs, hidden());
        let cells = run(&fake, &[3], &sizes, 3, false, &mut progress);
        assert_eq!(cells[0].errors, ["probe: flaky"]);
        assert!(cells.iter().all(|c| c.samples.len() == 3));
        assert!(progress.steps().2);
    }
}
