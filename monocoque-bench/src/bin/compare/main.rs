//! `compare`: monocoque against libzmq, zmq.rs, omq and the raw socket limit,
//! each perf tool in a process of its own. `cargo xtask bench` runs it.
//!
//! Scenarios, in this order, each a report with one section (table and SVG
//! chart) per transport:
//! - PUSH/PULL throughput (`local_thr`/`remote_thr`) of libzmq, monocoque on
//!   tokio, async-std and smol, zmq.rs, omq and a raw socket, over tcp at
//!   16 B to 1 MiB and over ipc at 64 B, 1 KiB and 64 KiB:
//!   `throughput.{md,json}`, `throughput-tcp.svg`, `throughput-ipc.svg`;
//! - REQ/REP latency (`local_lat`/`remote_lat --histogram`, mean, p50, p99)
//!   of libzmq and monocoque over tcp: `latency.{md,json}`, `latency.svg`;
//! - PUB/SUB fan-out (`pub_fanout`/`sub_fanout`: deliveries/s, share
//!   delivered, fewest and most per subscriber, send rate) of libzmq,
//!   monocoque on each runtime and zmq.rs over tcp at 64 B to 1, 10 and 100
//!   subscribers: `fanout.{md,json}`, `fanout.svg`;
//! - ROUTER <-> DEALERs (`router_echo`/`dealers`: roundtrips/s) of the same
//!   implementations over tcp at 64 B with 100 DEALERs: `router.{md,json}`,
//!   `router.svg`.
//!
//! For each throughput message size a short probe run first picks a message
//! count that makes a run last about `--target-secs`; latency warms up
//! once; fan-out and router use fixed counts. Then each implementation runs
//! `--runs` times, the implementations taking turns. The whole plan (every
//! probe, warm-up and run) is counted before the first run, so the progress
//! bar on stderr knows its total and an honest ETA. Tables go to stdout, the
//! reports to `<target-dir>/bench-report/`. `--quick` takes under 3 minutes
//! on 2 cores, the full run about 15 minutes (`--plan` prints the estimate).
//!
//! Modules: [`options`] (command line), [`peers`] (implementations and
//! variants), [`process`] (tool processes and endpoints), [`runner`] (the
//! measuring loop shared by the scenarios), [`throughput`], [`latency`],
//! [`fanout`] and [`router`] (the scenarios), [`report`] (tables, Markdown,
//! JSON), [`chart`] (SVG), [`progress`] (the bar) and [`machine`] (what it
//! ran on).

mod chart;
mod fanout;
mod latency;
mod machine;
mod options;
mod peers;
mod process;
mod progress;
mod report;
mod router;
mod runner;
mod throughput;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::FormattedDuration;

use crate::machine::Machine;
use crate::options::Options;
use crate::process::Tools;
use crate::progress::Progress;
use crate::report::{About, Report, Section};
use crate::runner::{Cell, Scenario};
use crate::throughput::Throughput;

fn main() {
    let opts = match Options::from_args(std::env::args().skip(1)) {
        Ok(opts) => opts,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() { 1 } else { 0 });
        }
    };
    if let Err(e) = run(&opts) {
        eprintln!("compare: error: {e}");
        std::process::exit(1);
    }
}

/// One scenario's line of the plan.
struct PlanLine {
    /// The scenario's name.
    name: String,
    /// How many series (implementations, pairs) it runs.
    series: usize,
    /// How many points (sizes, subscriber counts) it runs them at.
    points: usize,
    /// What the points are: `size(s)`.
    unit: &'static str,
    /// Steps: probes, warm-ups and runs.
    steps: usize,
    /// Estimated seconds.
    secs: f64,
}

/// What makes a part's report section and notes of its scenario's cells.
type SectionFn<'a, S> =
    Box<dyn Fn(&S, &[Cell<<S as Scenario>::Series, <S as Scenario>::Sample>]) -> Part + 'a>;

/// A report section and the notes that explain it.
type Part = (Section, Vec<String>);

/// One scenario, planned: the series, the points and what makes its
/// report section.
struct Planned<'a, S: Scenario> {
    scenario: S,
    series: Vec<S::Series>,
    points: Vec<usize>,
    /// What the points are, in the plan: `size(s)`.
    unit: &'static str,
    section: SectionFn<'a, S>,
}

/// A [`Planned`] scenario, whatever its types.
trait Runs {
    /// Its line of the plan, at `runs` runs per series and point.
    fn plan(&self, runs: usize) -> PlanLine;
    /// Runs every step, reporting to `progress`; returns its section.
    fn run(&self, opts: &Options, progress: &mut Progress) -> Part;
}

impl<S: Scenario> Runs for Planned<'_, S> {
    fn plan(&self, runs: usize) -> PlanLine {
        let (steps, secs) = runner::plan(&self.scenario, self.series.len(), &self.points, runs);
        PlanLine {
            name: self.scenario.name(),
            series: self.series.len(),
            points: self.points.len(),
            unit: self.unit,
            steps,
            secs,
        }
    }

    fn run(&self, opts: &Options, progress: &mut Progress) -> Part {
        let (series, points) = (&self.series, &self.points);
        let cells = runner::run(
            &self.scenario,
            series,
            points,
            opts.runs,
            opts.keep_going,
            progress,
        );
        (self.section)(&self.scenario, &cells)
    }
}

/// One report: its parts (one per transport for throughput), and what it
/// says besides them.
struct Job<'a> {
    parts: Vec<Box<dyn Runs + 'a>>,
    about: fn(&Options, &[Section]) -> About,
}

/// `scenario` over `series` at `points`, as a part of a [`Job`].
fn part<'a, S: Scenario + 'a>(
    scenario: S,
    series: Vec<S::Series>,
    points: Vec<usize>,
    unit: &'static str,
    section: impl Fn(&S, &[Cell<S::Series, S::Sample>]) -> Part + 'a,
) -> Box<dyn Runs + 'a> {
    let section = Box::new(section);
    Box::new(Planned {
        scenario,
        series,
        points,
        unit,
        section,
    })
}

/// Plans, runs and reports every scenario the options ask for.
fn run(opts: &Options) -> Result<(), String> {
    let exe_path = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out_dir = match &opts.out_dir {
        Some(d) => d.clone(),
        // <target-dir>/<profile>/compare -> <target-dir>/bench-report
        None => exe_path
            .parent()
            .and_then(Path::parent)
            .map(|t| t.join("bench-report"))
            .unwrap_or_else(|| PathBuf::from("bench-report")),
    };

    let mut notes = Vec::new();
    if cfg!(debug_assertions) {
        notes.push(
            "built without optimisations (debug profile): numbers are not meaningful, use --release"
                .into(),
        );
    }
    let chosen = [
        (opts.throughput, throughput::TOOLS),
        (opts.latency, latency::TOOLS),
        (opts.fanout, fanout::TOOLS),
        (opts.router, router::TOOLS),
    ];
    let tool_names: Vec<&str> = chosen.iter().filter(|c| c.0).flat_map(|c| c.1).collect();
    let tools = Tools::locate(&exe_path, &tool_names)?;
    let variants = peers::variants(opts, &mut notes);
    // Same notes as for the variants: not again.
    let lat_peers = peers::peers(opts, &mut Vec::new());
    let many_peers = peers::scenario_peers(opts, &mut Vec::new());
    for n in &notes {
        eprintln!("compare: note: {n}");
    }
    if opts.throughput && variants.is_empty() {
        return Err("nothing to run".into());
    }
    if opts.latency && lat_peers.is_empty() {
        return Err("nothing to run for latency".into());
    }
    if (opts.fanout || opts.router) && many_peers.is_empty() {
        return Err("nothing to run for fan-out and router (libzmq, monocoque or zeromq)".into());
    }

    // The plan: every step of every scenario, before the first one runs.
    let machine = Machine::detect();
    let (tools, machine) = (&tools, &machine);
    let mut jobs: Vec<Job<'_>> = Vec::new();
    if opts.throughput {
        let parts = (opts.transports.iter())
            .map(|&transport| {
                let sizes = opts.sizes_for(transport).to_vec();
                let scenario = Throughput {
                    opts,
                    tools,
                    transport,
                };
                part(scenario, variants.clone(), sizes, "size(s)", |t, cells| {
                    let section = throughput::section(cells, t.transport, opts, machine);
                    (section, throughput::notes(cells, t.transport))
                })
            })
            .collect();
        jobs.push(Job {
            parts,
            about: throughput::about,
        });
    }
    if opts.latency {
        let scenario = latency::Latency { opts, tools };
        let sizes = opts.lat_sizes.clone();
        jobs.push(Job {
            parts: vec![part(scenario, lat_peers, sizes, "size(s)", |_, cells| {
                (latency::section(cells, opts, machine), Vec::new())
            })],
            about: |opts, _| latency::about(opts),
        });
    }
    if opts.fanout {
        let scenario = fanout::Fanout { opts, tools };
        let (peers, subs) = (many_peers.clone(), opts.fanout_subs.clone());
        jobs.push(Job {
            parts: vec![part(
                scenario,
                peers,
                subs,
                "subscriber count(s)",
                |_, cells| (fanout::section(cells, opts, machine), Vec::new()),
            )],
            about: |opts, _| fanout::about(opts),
        });
    }
    if opts.router {
        let scenario = router::Router { opts, tools };
        let points = vec![opts.router_peers];
        jobs.push(Job {
            parts: vec![part(
                scenario,
                many_peers,
                points,
                "peer count(s)",
                |_, cells| (router::section(cells, opts, machine), Vec::new()),
            )],
            about: |opts, _| router::about(opts),
        });
    }
    let plan: Vec<PlanLine> = (jobs.iter().flat_map(|j| &j.parts))
        .map(|p| p.plan(opts.runs))
        .collect();
    let steps: usize = plan.iter().map(|p| p.steps).sum();
    let secs: f64 = plan.iter().map(|p| p.secs).sum();
    let total = FormattedDuration(Duration::from_secs_f64(secs));
    eprintln!(
        "compare: {steps} steps ({} run(s) per series and size, probes and warm-ups included), about {total}; {}; libzmq {}",
        opts.runs,
        machine.summary(),
        monocoque_bench::libzmq_version().unwrap_or_else(|| "not built in".into()),
    );
    if opts.plan_only {
        for p in &plan {
            let est = FormattedDuration(Duration::from_secs_f64(p.secs));
            println!(
                "{}: {} series x {} {}: {} steps, about {est}",
                p.name, p.series, p.points, p.unit, p.steps
            );
        }
        println!("total: {steps} steps, about {total}");
        return Ok(());
    }
    let mut progress = Progress::new(steps, secs);
    for job in &jobs {
        let started = Instant::now();
        let (mut sections, mut job_notes) = (Vec::new(), notes.clone());
        for part in &job.parts {
            let (section, notes) = part.run(opts, &mut progress);
            sections.push(section);
            job_notes.extend(notes);
        }
        let about = (job.about)(opts, &sections);
        let report = Report::new(about, machine, started.elapsed(), sections, job_notes);
        publish(&report, &out_dir, &mut progress, started)?;
    }
    progress.close();
    if !notes.is_empty() {
        println!();
        for n in &notes {
            println!("note: {n}");
        }
    }
    eprintln!(
        "compare: done in {} (estimated {total})",
        FormattedDuration(progress.elapsed())
    );
    Ok(())
}

/// Prints `report`'s tables to stdout and writes its files into `dir`.
fn publish(
    report: &Report,
    dir: &Path,
    progress: &mut Progress,
    started: Instant,
) -> Result<(), String> {
    progress.suspend(|| println!("\n{}", report.table()));
    let written = report.write(dir)?;
    let names: Vec<String> = (written.iter())
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    progress.log(&format!(
        "compare: wrote {} in {} ({:.0} s)",
        names.join(", "),
        dir.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
