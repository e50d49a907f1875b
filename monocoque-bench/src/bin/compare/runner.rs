//! The measuring loop every scenario shares.
//!
//! A [`Scenario`] measures one implementation at one point of its axis, a
//! message size (or a subscriber count, a peer count: whatever
//! [`Scenario::point_label`] names): an optional preparation step (a probe
//! run that picks the message count, or a warm-up), then measured runs,
//! each yielding one value per metric of the scenario (a [`Sample`]). [`run`]
//! goes point by point; at each point it prepares every implementation,
//! then runs them in turns (`run 1` of each, then `run 2` of each, ...) so
//! slow drifts of the machine hit all of them alike. An implementation that
//! cannot run (exit code 2), or fails its preparation (twice) or its first
//! two runs, is given up for the remaining points unless `--keep-going`
//! (which still skips only that point). Every step is announced to
//! [`Progress`], and the plan ([`plan`]) counts the same steps up front.

use std::time::Instant;

use monocoque_bench::stats::{Summary, summarize};

use crate::peers::Peer;
use crate::process::RunError;
use crate::progress::Progress;
use crate::report::{About, Section, fmt_size};

/// What one measured run yields: one value per metric of its scenario
/// (msg/s; mean, p50 and p99 latency; ...).
pub type Sample = Vec<f64>;

/// One benchmark scenario: what a step does, how long it should take, and
/// how its report shows the results.
pub trait Scenario {
    /// Names the scenario in progress lines: `throughput tcp`.
    fn name(&self) -> String;
    /// What the points are, in the plan: `size(s)`.
    fn points_are(&self) -> &'static str {
        "size(s)"
    }
    /// The run parameter (message or roundtrip count) before preparation.
    fn base_param(&self, point: usize) -> u64;
    /// Names the preparation step (`probe`, `warm-up`), if there is one
    /// before the runs of each implementation at each point.
    fn prepare_name(&self) -> Option<&'static str> {
        None
    }
    /// The preparation step: returns the parameter of the runs and a
    /// description of what it found. By default an unrecorded run with the
    /// base parameter.
    fn prepare(&self, peer: Peer, point: usize, base: u64) -> Result<(u64, String), RunError> {
        let sample = self.run(peer, point, base)?;
        Ok((base, self.describe(&sample)))
    }
    /// One measured run.
    fn run(&self, peer: Peer, point: usize, param: u64) -> Result<Sample, RunError>;
    /// The result of a run, for progress lines: `1,234 msg/s`.
    fn describe(&self, sample: &Sample) -> String;
    /// Expected seconds of a preparation step at `point` (by default those
    /// of a run).
    fn prepare_secs(&self, point: usize) -> f64 {
        self.run_secs(point)
    }
    /// Expected seconds of a measured run at `point`.
    fn run_secs(&self, point: usize) -> f64;
    /// Names a point, for progress lines and reports: by default a message
    /// size (`64 B`).
    fn point_label(&self, point: usize) -> String {
        fmt_size(point)
    }
    /// The report section of the results.
    fn section(&self, cells: &[Cell]) -> Section;
    /// Notes explaining known failures in `cells`.
    fn notes(&self, _cells: &[Cell]) -> Vec<String> {
        Vec::new()
    }
    /// What the scenario's report says besides its sections.
    fn about(&self) -> About;
}

/// A scenario with the implementations and points it runs.
pub struct Part<'a> {
    /// The scenario.
    pub scenario: Box<dyn Scenario + 'a>,
    /// The implementations, in report order.
    pub series: Vec<Peer>,
    /// The points, in report order.
    pub points: Vec<usize>,
}

/// The results of one implementation at one point.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Who ran.
    pub peer: Peer,
    /// The point (message size, subscriber or peer count).
    pub point: usize,
    /// The runs' parameter (message or roundtrip count).
    pub param: u64,
    /// One sample per successful run.
    pub samples: Vec<Sample>,
    /// What went wrong, one entry per failed step.
    pub errors: Vec<String>,
    /// Not (or no longer) run: given up, or its preparation failed.
    pub skipped: bool,
}

impl Cell {
    /// Median, min and max of metric `m` over the runs; `None` without
    /// runs, or when a value is NaN.
    pub fn stat(&self, m: usize) -> Option<Summary> {
        summarize(&self.samples.iter().map(|s| s[m]).collect::<Vec<_>>())
    }

    /// What a table shows for a cell without results: `failed`, `skipped`
    /// (given up) or `-`.
    pub fn status(&self) -> &'static str {
        if !self.errors.is_empty() {
            "failed"
        } else if self.skipped {
            "skipped"
        } else {
            "-"
        }
    }
}

/// Steps and estimated seconds of one implementation at `point`.
fn cell_plan(s: &dyn Scenario, point: usize, runs: usize) -> (usize, f64) {
    let prep = usize::from(s.prepare_name().is_some());
    let secs = prep as f64 * s.prepare_secs(point) + runs as f64 * s.run_secs(point);
    (prep + runs, secs)
}

/// Steps and estimated seconds of `part` with `runs` runs per
/// implementation and point.
pub fn plan(part: &Part<'_>, runs: usize) -> (usize, f64) {
    let n = part.series.len();
    (part.points.iter()).fold((0, 0.0), |(steps, secs), &point| {
        let (k, s) = cell_plan(&*part.scenario, point, runs);
        (steps + k * n, secs + s * n as f64)
    })
}

/// Runs `part`, `runs` times per implementation and point, reporting to
/// `progress`; returns the cells point by point, in series order.
pub fn run(part: &Part<'_>, runs: usize, keep_going: bool, progress: &mut Progress) -> Vec<Cell> {
    let s = &*part.scenario;
    let (name, prep) = (s.name(), s.prepare_name());
    let mut out = Vec::new();
    let mut given_up: Vec<Peer> = Vec::new();
    for (at, &point) in part.points.iter().enumerate() {
        let (base, label) = (s.base_param(point), s.point_label(point));
        let mut cells: Vec<Cell> = (part.series.iter())
            .map(|&peer| Cell {
                peer,
                point,
                param: base,
                samples: Vec::new(),
                errors: Vec::new(),
                skipped: given_up.contains(&peer),
            })
            .collect();
        // Step 0 is the preparation, when there is one.
        for step in usize::from(prep.is_none())..=runs {
            for cell in cells.iter_mut().filter(|c| !c.skipped) {
                let peer = cell.peer.label();
                let (what, short, est) = match prep {
                    Some(p) if step == 0 => (p.to_owned(), p.to_owned(), s.prepare_secs(point)),
                    _ => (
                        format!("run {step}/{runs}"),
                        format!("run {step}"),
                        s.run_secs(point),
                    ),
                };
                let tag = format!("{name} [{peer} {label}] {what}");
                // One flaky hang should not cost an implementation all its
                // points: a failed preparation gets a second chance.
                let mut retry = false;
                let result = loop {
                    let again = if retry { " (retry)" } else { "" };
                    progress.start(format!("{name} {label} {peer} {what}{again}"));
                    let t0 = Instant::now();
                    let result = if step == 0 {
                        s.prepare(cell.peer, point, base).map(|(param, found)| {
                            cell.param = param;
                            found
                        })
                    } else {
                        s.run(cell.peer, point, cell.param).map(|sample| {
                            let found = s.describe(&sample);
                            cell.samples.push(sample);
                            format!("{found} ({:.2} s)", t0.elapsed().as_secs_f64())
                        })
                    };
                    match result {
                        Err(e @ RunError::Failed(_)) if step == 0 && !retry => {
                            progress.finish(est, &format!("{tag} failed, retrying"));
                            progress.log(&format!("{tag} failed, retrying: {e}"));
                            cell.errors.push(format!("{short}: {e}"));
                            progress.add(1, est);
                            retry = true;
                        }
                        result => break result,
                    }
                };
                let e = match result {
                    Ok(found) => {
                        progress.finish(est, &format!("{tag}: {found}"));
                        continue;
                    }
                    Err(e) => e,
                };
                progress.finish(est, &format!("{tag} failed"));
                progress.log(&format!("{tag} failed: {e}"));
                cell.errors.push(format!("{short}: {e}"));
                let unavailable = matches!(e, RunError::Unavailable(_));
                if !(step == 0 || unavailable || cell.errors.len() >= 2 && cell.samples.is_empty())
                {
                    continue;
                }
                cell.skipped = true;
                progress.skip(runs - step, (runs - step) as f64 * s.run_secs(point));
                if (keep_going && !unavailable) || given_up.contains(&cell.peer) {
                    continue;
                }
                progress.log(&format!(
                    "compare: not running {peer} at the remaining sizes (--keep-going would)"
                ));
                given_up.push(cell.peer);
                for &later in &part.points[at + 1..] {
                    let (steps, secs) = cell_plan(s, later, runs);
                    progress.skip(steps, secs);
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
    use monocoque_bench::args::Runtime;
    use std::cell::Cell as Counter;

    const OURS: Peer = Peer::Monocoque(Runtime::Tokio);

    /// libzmq works, raw fails every run, monocoque is unavailable at point
    /// 2, zmq.rs fails its first preparation only.
    struct Fake {
        failed_once: Counter<bool>,
    }

    impl Scenario for Fake {
        fn name(&self) -> String {
            "fake".into()
        }
        fn base_param(&self, point: usize) -> u64 {
            point as u64 * 10
        }
        fn prepare_name(&self) -> Option<&'static str> {
            Some("probe")
        }
        fn prepare(&self, peer: Peer, point: usize, base: u64) -> Result<(u64, String), RunError> {
            if peer == OURS && point == 2 {
                return Err(RunError::Unavailable("no".into()));
            }
            if peer == Peer::Zeromq && !self.failed_once.replace(true) {
                return Err(RunError::Failed("flaky".into()));
            }
            Ok((base + 1, "ok".into()))
        }
        fn run(&self, peer: Peer, _point: usize, param: u64) -> Result<Sample, RunError> {
            match peer {
                Peer::Raw => Err(RunError::Failed("boom".into())),
                _ => Ok(vec![param as f64]),
            }
        }
        fn describe(&self, v: &Sample) -> String {
            format!("{v:?}")
        }
        fn prepare_secs(&self, _: usize) -> f64 {
            1.0
        }
        fn run_secs(&self, _: usize) -> f64 {
            2.0
        }
        fn section(&self, _: &[Cell]) -> Section {
            unreachable!("not reported")
        }
        fn about(&self) -> About {
            unreachable!("not reported")
        }
    }

    fn part(series: Vec<Peer>) -> Part<'static> {
        let failed_once = Counter::new(false);
        let (scenario, points) = (Box::new(Fake { failed_once }), vec![1, 2, 3]);
        Part {
            scenario,
            series,
            points,
        }
    }

    fn run_all(series: Vec<Peer>, keep_going: bool) -> (Vec<Cell>, Progress) {
        let part = part(series);
        let (steps, secs) = plan(&part, 3);
        let mut progress = Progress::with_target(steps, secs, ProgressDrawTarget::hidden());
        (run(&part, 3, keep_going, &mut progress), progress)
    }

    #[test]
    fn gives_up_and_keeps_the_plan_honest() {
        let series = vec![Peer::Libzmq, Peer::Raw, OURS];
        assert_eq!(plan(&part(series.clone()), 3), (36, 63.0));
        let (cells, progress) = run_all(series, false);
        assert_eq!(cells.len(), 9);
        // libzmq ran everywhere, with the prepared parameter.
        let lib: Vec<_> = cells.iter().filter(|c| c.peer == Peer::Libzmq).collect();
        assert!(lib.iter().all(|c| c.samples.len() == 3 && !c.skipped));
        assert_eq!(lib[1].samples[0], [21.0]);
        // raw failed twice at point 1 and was given up.
        let raw: Vec<_> = cells.iter().filter(|c| c.peer == Peer::Raw).collect();
        assert_eq!(raw[0].errors, ["run 1: boom", "run 2: boom"]);
        assert!(raw.iter().all(|c| c.skipped && c.samples.is_empty()));
        // monocoque was unavailable at point 2, so not tried at point 3.
        let ours: Vec<_> = cells.iter().filter(|c| c.peer == OURS).collect();
        assert_eq!(ours[0].samples.len(), 3);
        assert!(ours[1].skipped && ours[2].skipped && ours[2].errors.is_empty());
        // Every step planned and not dropped was made, and counted.
        assert!(progress.steps().2);
        // With --keep-going, a failing implementation is retried at each point.
        let (cells, _) = run_all(vec![Peer::Raw], true);
        assert!(cells.iter().all(|c| c.errors.len() == 2));
        // A failed preparation is retried, and counted.
        let (cells, progress) = run_all(vec![Peer::Zeromq], false);
        assert_eq!(cells[0].errors, ["probe: flaky"]);
        assert!(cells.iter().all(|c| c.samples.len() == 3));
        assert!(progress.steps().2);
    }
}
