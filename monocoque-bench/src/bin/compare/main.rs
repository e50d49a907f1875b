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

use crate::fanout::Fanout;
use crate::latency::Latency;
use crate::machine::Machine;
use crate::options::{Options, USAGE};
use crate::process::Tools;
use crate::progress::{Progress, clock};
use crate::report::Report;
use crate::router::Router;
use crate::runner::Scenario;
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
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("compare: {e}\n{USAGE}");
            std::process::exit(1);
        }
    };
    if let Err(e) = run(&opts) {
        eprintln!("compare: error: {e}");
        std::process::exit(1);
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
    let mut tool_names = Vec::new();
    if opts.throughput {
        tool_names.extend(throughput::TOOLS);
    }
    if opts.latency {
        tool_names.extend(latency::TOOLS);
    }
    if opts.fanout {
        tool_names.extend(fanout::TOOLS);
    }
    if opts.router {
        tool_names.extend(router::TOOLS);
    }
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
    let thr: Vec<Throughput> = if opts.throughput {
        (opts.transports.iter())
            .map(|&transport| Throughput {
                opts,
                tools: &tools,
                transport,
            })
            .collect()
    } else {
        Vec::new()
    };
    let lat = opts.latency.then_some(Latency {
        opts,
        tools: &tools,
    });
    let fan = opts.fanout.then_some(Fanout {
        opts,
        tools: &tools,
    });
    let rtr = opts.router.then_some(Router {
        opts,
        tools: &tools,
    });
    let router_points = [opts.router_peers];
    let mut plan: Vec<PlanLine> = Vec::new();
    for t in &thr {
        let sizes = opts.sizes_for(t.transport);
        plan.push(PlanLine::new(
            t,
            variants.len(),
            sizes,
            "size(s)",
            opts.runs,
        ));
    }
    if let Some(l) = &lat {
        plan.push(PlanLine::new(
            l,
            lat_peers.len(),
            &opts.lat_sizes,
            "size(s)",
            opts.runs,
        ));
    }
    if let Some(f) = &fan {
        plan.push(PlanLine::new(
            f,
            many_peers.len(),
            &opts.fanout_subs,
            "subscriber count(s)",
            opts.runs,
        ));
    }
    if let Some(r) = &rtr {
        plan.push(PlanLine::new(
            r,
            many_peers.len(),
            &router_points,
            "peer count(s)",
            opts.runs,
        ));
    }
    let steps: usize = plan.iter().map(|p| p.steps).sum();
    let secs: f64 = plan.iter().map(|p| p.secs).sum();
    let machine = Machine::detect();
    eprintln!(
        "compare: {steps} steps ({} run(s) per series and size, probes and warm-ups included), about {}; {}; libzmq {}",
        opts.runs,
        clock(Duration::from_secs_f64(secs)),
        machine.summary(),
        monocoque_bench::libzmq_version().unwrap_or_else(|| "not built in".into()),
    );
    if opts.plan_only {
        for p in &plan {
            println!(
                "{}: {} series x {} {}: {} steps, about {}",
                p.name,
                p.series,
                p.points,
                p.unit,
                p.steps,
                clock(Duration::from_secs_f64(p.secs))
            );
        }
        println!(
            "total: {steps} steps, about {}",
            clock(Duration::from_secs_f64(secs))
        );
        return Ok(());
    }
    let mut progress = Progress::new(steps, secs);

    if !thr.is_empty() {
        let started = Instant::now();
        let mut sections = Vec::new();
        let mut thr_notes = notes.clone();
        for t in &thr {
            let sizes = opts.sizes_for(t.transport);
            let cells = runner::run(
                t,
                &variants,
                sizes,
                opts.runs,
                opts.keep_going,
                &mut progress,
            );
            sections.push(throughput::section(&cells, t.transport, opts, &machine));
            thr_notes.extend(throughput::notes(&cells, t.transport));
        }
        let report = throughput::report(opts, &machine, &thr_notes, started.elapsed(), sections);
        publish(&report, &out_dir, &mut progress, started)?;
    }
    if let Some(l) = &lat {
        let started = Instant::now();
        let cells = runner::run(
            l,
            &lat_peers,
            &opts.lat_sizes,
            opts.runs,
            opts.keep_going,
            &mut progress,
        );
        let sections = vec![latency::section(&cells, opts, &machine)];
        let report = latency::report(opts, &machine, &notes, started.elapsed(), sections);
        publish(&report, &out_dir, &mut progress, started)?;
    }
    if let Some(f) = &fan {
        let started = Instant::now();
        let cells = runner::run(
            f,
            &many_peers,
            &opts.fanout_subs,
            opts.runs,
            opts.keep_going,
            &mut progress,
        );
        let sections = vec![fanout::section(&cells, opts, &machine)];
        let report = fanout::report(opts, &machine, &notes, started.elapsed(), sections);
        publish(&report, &out_dir, &mut progress, started)?;
    }
    if let Some(r) = &rtr {
        let started = Instant::now();
        let cells = runner::run(
            r,
            &many_peers,
            &router_points,
            opts.runs,
            opts.keep_going,
            &mut progress,
        );
        let sections = vec![router::section(&cells, opts, &machine)];
        let report = router::report(opts, &machine, &notes, started.elapsed(), sections);
        publish(&report, &out_dir, &mut progress, started)?;
    }
    progress.clear();
    if !notes.is_empty() {
        println!();
        for n in &notes {
            println!("note: {n}");
        }
    }
    eprintln!(
        "compare: done in {} (estimated {})",
        clock(progress.elapsed()),
        clock(Duration::from_secs_f64(secs))
    );
    Ok(())
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

/// Prints `report`'s tables to stdout and writes its files into `dir`.
fn publish(
    report: &Report,
    dir: &Path,
    progress: &mut Progress,
    started: Instant,
) -> Result<(), String> {
    progress.clear();
    println!("\n{}", report.table());
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
