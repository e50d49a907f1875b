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
    // `compare --tool local_thr ARGS...` runs a perf tool: the fallback
    // when the tool binaries next to this one are missing or stale.
    let mut args = std::env::args().skip(1);
    if let Some(first) = args.next()
        && first == "--tool"
    {
        let name = args.next().unwrap_or_default();
        let code = monocoque_bench::tools::run_tool(&name, args.collect()).unwrap_or_else(|| {
            eprintln!("compare: unknown tool `{name}`");
            1
        });
        std::process::exit(code);
    }
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

impl PlanLine {
    /// The plan of running `series` series of `scenario` at `points`,
    /// `runs` times each.
    fn new<S: Scenario>(
        scenario: &S,
        series: usize,
        points: &[usize],
        unit: &'static str,
        runs: usize,
    ) -> PlanLine {
        let (steps, secs) = runner::plan(scenario, series, points, runs);
        PlanLine {
            name: scenario.name(),
            series,
            points: points.len(),
            unit,
            steps,
            secs,
        }
    }
}

/// One scenario, planned and ready to run into its report.
trait Job {
    /// Its lines of the plan (one per transport for throughput).
    fn plan(&self) -> Vec<PlanLine>;
    /// Runs every step, reporting to `progress`; returns the report.
    fn run(&self, progress: &mut Progress) -> Report;
}

/// The throughput scenario, one part per transport, one report.
struct ThroughputJob<'a> {
    opts: &'a Options,
    parts: Vec<Throughput<'a>>,
    variants: Vec<peers::Variant>,
    machine: &'a Machine,
    notes: &'a [String],
}

impl Job for ThroughputJob<'_> {
    fn plan(&self) -> Vec<PlanLine> {
        (self.parts.iter())
            .map(|t| {
                let sizes = self.opts.sizes_for(t.transport);
                PlanLine::new(t, self.variants.len(), sizes, "size(s)", self.opts.runs)
            })
            .collect()
    }

    fn run(&self, progress: &mut Progress) -> Report {
        let started = Instant::now();
        let (opts, mut sections, mut notes) = (self.opts, Vec::new(), self.notes.to_vec());
        for t in &self.parts {
            let sizes = opts.sizes_for(t.transport);
            let cells = runner::run(
                t,
                &self.variants,
                sizes,
                opts.runs,
                opts.keep_going,
                progress,
            );
            sections.push(throughput::section(&cells, t.transport, opts, self.machine));
            notes.extend(throughput::notes(&cells, t.transport));
        }
        let about = throughput::about(opts, &sections);
        Report::new(about, self.machine, started.elapsed(), sections, notes)
    }
}

/// What makes the report section of a scenario's cells.
type SectionFn<S> =
    fn(&[Cell<<S as Scenario>::Series, <S as Scenario>::Sample>], &Options, &Machine) -> Section;

/// A scenario of one section: latency, fan-out or router.
struct OneSection<'a, S: Scenario> {
    scenario: S,
    series: Vec<S::Series>,
    points: Vec<usize>,
    /// What the points are, in the plan: `size(s)`.
    unit: &'static str,
    opts: &'a Options,
    machine: &'a Machine,
    notes: &'a [String],
    section: SectionFn<S>,
    about: fn(&Options) -> About,
}

impl<S: Scenario> Job for OneSection<'_, S> {
    fn plan(&self) -> Vec<PlanLine> {
        let n = self.series.len();
        vec![PlanLine::new(
            &self.scenario,
            n,
            &self.points,
            self.unit,
            self.opts.runs,
        )]
    }

    fn run(&self, progress: &mut Progress) -> Report {
        let started = Instant::now();
        let (opts, points) = (self.opts, &self.points);
        let cells = runner::run(
            &self.scenario,
            &self.series,
            points,
            opts.runs,
            opts.keep_going,
            progress,
        );
        let sections = vec![(self.section)(&cells, opts, self.machine)];
        let about = (self.about)(opts);
        Report::new(
            about,
            self.machine,
            started.elapsed(),
            sections,
            self.notes.to_vec(),
        )
    }
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
    let tools = Tools::locate(&exe_path, &tool_names, opts.self_exec, &mut notes);
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
    let (tools, machine, notes_ref) = (&tools, &machine, &notes[..]);
    let mut jobs: Vec<Box<dyn Job + '_>> = Vec::new();
    if opts.throughput {
        let parts = (opts.transports.iter())
            .map(|&transport| Throughput {
                opts,
                tools,
                transport,
            })
            .collect();
        let variants = variants.clone();
        jobs.push(Box::new(ThroughputJob {
            opts,
            parts,
            variants,
            machine,
            notes: notes_ref,
        }));
    }
    if opts.latency {
        jobs.push(Box::new(OneSection {
            scenario: latency::Latency { opts, tools },
            series: lat_peers,
            points: opts.lat_sizes.clone(),
            unit: "size(s)",
            opts,
            machine,
            notes: notes_ref,
            section: latency::section,
            about: latency::about,
        }));
    }
    if opts.fanout {
        jobs.push(Box::new(OneSection {
            scenario: fanout::Fanout { opts, tools },
            series: many_peers.clone(),
            points: opts.fanout_subs.clone(),
            unit: "subscriber count(s)",
            opts,
            machine,
            notes: notes_ref,
            section: fanout::section,
            about: fanout::about,
        }));
    }
    if opts.router {
        jobs.push(Box::new(OneSection {
            scenario: router::Router { opts, tools },
            series: many_peers,
            points: vec![opts.router_peers],
            unit: "peer count(s)",
            opts,
            machine,
            notes: notes_ref,
            section: router::section,
            about: router::about,
        }));
    }
    let plan: Vec<PlanLine> = jobs.iter().flat_map(|j| j.plan()).collect();
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
        let report = job.run(&mut progress);
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
