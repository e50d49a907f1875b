//! `compare`: monocoque against libzmq, zmq.rs, omq and the raw socket limit,
//! each perf tool in a process of its own. `cargo xtask bench` runs it.
//!
//! Scenarios, in this order, each a report with one section (table and SVG
//! chart) per transport:
//! - PUSH/PULL throughput (`local_thr`/`remote_thr`) of libzmq, monocoque on
//!   tokio, async-std and smol (also batched: `remote_thr --batch`), zmq.rs,
//!   omq, monocoque-rs (eager and coalescing; tcp only) and a raw socket, over
//!   tcp at 16 B to 1 MiB and over ipc at 64 B, 1 KiB and 64 KiB:
//!   `throughput.{md,json}`, `throughput-tcp.svg`, `throughput-ipc.svg`;
//! - REQ/REP latency (`local_lat`/`remote_lat --histogram`, mean, p50, p99)
//!   of libzmq and monocoque over tcp: `latency.{md,json}`, `latency.svg`;
//! - PUB/SUB fan-out (`pub_fanout`/`sub_fanout`: deliveries/s, share
//!   delivered, fewest and most per subscriber, send rate) of libzmq,
//!   monocoque on each runtime and zmq.rs over tcp at 64 B to 1, 10 and 100
//!   subscribers: `fanout.{md,json}`, `fanout.svg`;
//! - ROUTER <-> DEALERs (`router_echo`/`dealers`: roundtrips/s) of the same
//!   implementations over tcp at 64 B with 100 DEALERs: `router.{md,json}`,
//!   `router.svg`;
//! - CURVE: the throughput pair as CURVE server and client over tcp at 64 B,
//!   1 KiB and 64 KiB, and CURVE handshakes per second
//!   (`handshake_server`/`handshakes`, 1 and 4 clients at once), of libzmq
//!   with CURVE (loaded at run time: the vendored one has none) and
//!   monocoque: `curve.{md,json}`, `curve-throughput.svg`,
//!   `curve-handshakes.svg`.
//!
//! For each throughput message size a short probe run first picks a message
//! count that makes a run last about `--target-secs`; latency warms up
//! once; fan-out and router use fixed counts. Then each implementation runs
//! `--runs` times, the implementations taking turns. The whole plan (every
//! probe, warm-up and run) is counted before the first run, so the progress
//! bar on stderr knows its total and an honest ETA. Tables go to stdout, the
//! reports to `<target-dir>/bench-report/`. `--quick` takes under 4 minutes
//! on 2 cores, the full run about 25 minutes (`--plan` prints the estimate).
//!
//! The pipeline: plan (each scenario a [`runner::Part`]: the scenario, its
//! implementations and points), run ([`runner::run`], the cells of results),
//! report (the scenario's section of those, a [`report::Report`] per
//! scenario).
//!
//! Modules: [`options`] (command line), [`peers`] (implementations),
//! [`process`] (tool processes and endpoints), [`runner`] (the measuring
//! loop shared by the scenarios), [`throughput`], [`latency`], [`fanout`],
//! [`router`] and [`handshake`] (the scenarios), [`report`] (tables, Markdown, JSON),
//! [`chart`] (SVG), [`progress`] (the bar) and [`machine`] (what it ran on).

mod chart;
mod connect;
mod fanout;
mod handshake;
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
use monocoque_bench::imp::built_in;

use crate::machine::Machine;
use crate::options::{Options, Which};
use crate::progress::Progress;
use crate::report::Report;
use crate::runner::Part;

/// What every scenario runs with.
pub struct Ctx<'a> {
    /// The options.
    pub opts: &'a Options,
    /// The directory of the perf tools.
    pub tools: &'a Path,
    /// What it runs on.
    pub machine: &'a Machine,
}

impl Ctx<'_> {
    /// A chart's title, subtitle (machine, date, what bars and whiskers are)
    /// and x axis label.
    pub fn heading(&self, title: String, x_label: &'static str) -> (String, String, &'static str) {
        let m = self.machine;
        let subtitle = format!(
            "{}, {} cores, {}; bar: median of {} run(s), whisker: min to max",
            m.cpu,
            m.cores,
            &m.date[..10],
            self.opts.runs
        );
        (title, subtitle, x_label)
    }

    /// Runs `body` with a context of the options `args`, for tests.
    #[cfg(test)]
    pub fn with_test(args: &[&str], body: impl FnOnce(&Ctx<'_>)) {
        let opts = Options::from_args(args.iter().map(|a| a.to_string())).unwrap();
        let machine = Machine::detect();
        body(&Ctx {
            opts: &opts,
            tools: Path::new("."),
            machine: &machine,
        });
    }
}

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

/// Plans, runs and reports every scenario the options ask for.
fn run(opts: &Options) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    // <target-dir>/<profile>/compare -> <target-dir>/bench-report
    let out_dir = (opts.out_dir.clone()).unwrap_or_else(|| {
        let target = exe.parent().and_then(Path::parent);
        target.map_or_else(|| PathBuf::from("bench-report"), |t| t.join("bench-report"))
    });
    let mut notes = Vec::new();
    if cfg!(debug_assertions) {
        notes.push(
            "built without optimisations (debug profile): numbers are not meaningful, use --release"
                .into(),
        );
    }
    for imp in opts.impls.iter().filter(|imp| !built_in(**imp)) {
        let feature = imp.feature();
        notes.push(format!(
            "{imp} rows skipped: built without the `{feature}` feature of monocoque-bench"
        ));
    }
    for n in &notes {
        eprintln!("compare: note: {n}");
    }
    let chosen = [
        (Which::Throughput, throughput::TOOLS),
        (Which::Latency, latency::TOOLS),
        (Which::Fanout, fanout::TOOLS),
        (Which::Router, router::TOOLS),
        (Which::Router, connect::TOOLS),
        (Which::Curve, throughput::TOOLS),
        (Which::Curve, handshake::TOOLS),
    ];
    let chosen = chosen
        .into_iter()
        .filter(|(w, _)| opts.scenarios.contains(w));
    let tool_names: Vec<&str> = chosen.flat_map(|(_, tools)| tools).collect();
    let tools = process::locate_tools(&exe, &tool_names)?;
    let machine = Machine::detect();
    let ctx = Ctx {
        opts,
        tools: &tools,
        machine: &machine,
    };

    // The plan: every step of every scenario, before the first one runs;
    // one report per scenario (throughput: a part per transport).
    let mut reports: Vec<Vec<Part<'_>>> = Vec::new();
    for which in &opts.scenarios {
        reports.push(match which {
            Which::Throughput => (opts.transports.iter())
                .map(|&t| throughput::part(&ctx, t))
                .collect(),
            Which::Latency => vec![latency::part(&ctx)],
            Which::Fanout => vec![fanout::part(&ctx)],
            Which::Router => vec![router::part(&ctx), connect::part(&ctx)],
            Which::Curve => vec![throughput::curve_part(&ctx), handshake::part(&ctx)],
        });
    }
    if let Some(empty) = reports.iter().flatten().find(|p| p.series.is_empty()) {
        return Err(format!("nothing to run for {}", empty.scenario.name()));
    }
    let plan: Vec<(usize, f64)> = (reports.iter().flatten())
        .map(|p| runner::plan(p, opts.runs))
        .collect();
    let steps: usize = plan.iter().map(|p| p.0).sum();
    let secs: f64 = plan.iter().map(|p| p.1).sum();
    let total = FormattedDuration(Duration::from_secs_f64(secs));
    eprintln!(
        "compare: {steps} steps ({} run(s) per series and size, probes and warm-ups included), about {total}; {}; libzmq {}",
        opts.runs,
        machine.summary(),
        monocoque_bench::libzmq_version().unwrap_or_else(|| "not built in".into()),
    );
    if opts.plan_only {
        for (part, (steps, secs)) in reports.iter().flatten().zip(&plan) {
            let (name, est) = (part.scenario.name(), Duration::from_secs_f64(*secs));
            let (series, points) = (part.series.len(), part.points.len());
            let unit = part.scenario.points_are();
            let est = FormattedDuration(est);
            println!("{name}: {series} series x {points} {unit}: {steps} steps, about {est}");
        }
        println!("total: {steps} steps, about {total}");
        return Ok(());
    }

    // Run and report, scenario by scenario.
    let mut progress = Progress::new(steps, secs);
    for parts in &reports {
        let started = Instant::now();
        let (mut sections, mut report_notes) = (Vec::new(), notes.clone());
        for part in parts {
            let cells = runner::run(part, opts.runs, opts.keep_going, &mut progress);
            sections.push(part.scenario.section(&cells));
            report_notes.extend(part.scenario.notes(&cells));
        }
        let about = parts[0].scenario.about();
        let report = Report::new(about, &machine, started.elapsed(), sections, report_notes);
        progress.suspend(|| println!("\n{}", report.table()));
        let names = report.write(&out_dir)?;
        progress.log(&format!(
            "compare: wrote {} in {} ({:.0} s)",
            names.join(", "),
            out_dir.display(),
            started.elapsed().as_secs_f64()
        ));
    }
    let elapsed = FormattedDuration(progress.elapsed());
    drop(progress);
    if !notes.is_empty() {
        println!();
        for n in &notes {
            println!("note: {n}");
        }
    }
    eprintln!("compare: done in {elapsed} (estimated {total})");
    Ok(())
}
