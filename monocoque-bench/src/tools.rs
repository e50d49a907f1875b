//! Entry points of the perf tool binaries: libzmq's four perf tools (the
//! throughput pair also with CURVE, `--curve`), the many-socket scenario
//! tools (`pub_fanout`, `sub_fanout`, `router_echo`, `dealers`), the
//! connection set-up pair (`connect_server`, `connects`) and the CURVE
//! handshake pair (`handshake_server`, `handshakes`). Each parses its command line ([`args`]),
//! finds its implementation ([`implementation`]), runs the tool's method
//! of [`Implementation`] and prints the result lines ([`output`]).
//!
//! Exit codes: 0 on success, 1 on a usage error or a failed run, 2 when the
//! requested implementation is not available (not built in, or without
//! that tool).
//!
//! [`args`]: crate::args
//! [`output`]: crate::output

use std::io::Write;

use clap::Parser;

use crate::args::{FanoutArgs, On, ScenarioArgs, ToolArgs, parse};
use crate::curve::CurveKeys;
use crate::fanout::sync::SyncClient;
use crate::imp::{Implementation, Job, Unavailable, curve_implementation, implementation};
use crate::output::Percentiles;
use crate::watchdog::{Progress, STALL_LIMIT};

/// Exit code for a usage error or a failed run.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code when the requested implementation is not available.
pub const EXIT_UNAVAILABLE: i32 = 2;

/// Runs the tool called `name` with `args` (program name excluded) and
/// returns its exit code.
fn run_tool(name: &str, args: Vec<String>) -> i32 {
    const THR: &str = "<endpoint> <message-size> <message-count>";
    const LAT: &str = "<endpoint> <message-size> <roundtrip-count>";
    const FAN: &str = "<endpoint> <message-size> <message-count> <subscribers> --sync <host:port>";
    const RTR: &str = "<endpoint> <message-size> <message-count> <peers>";
    const HS: &str = "<endpoint> <message-size> <handshakes-per-client> <clients>";
    match name {
        "local_thr" => run((name, THR), args, thr_curve, |a: ToolArgs, imp, _| {
            let keys = curve_keys(a.curve)?;
            Ok(imp.local_thr(job(&a, keys.as_ref()))?.render())
        }),
        "remote_thr" => run((name, THR), args, thr_curve, |a: ToolArgs, imp, _| {
            if a.batch > 1 && !a.on.imp.batches() {
                return Err(Unavailable("it has no batched sending (--batch)".into()).into());
            }
            let keys = curve_keys(a.curve)?;
            imp.remote_thr(job(&a, keys.as_ref()))
                .map(|()| String::new())
        }),
        "local_lat" => run((name, LAT), args, never, |a: ToolArgs, imp, _| {
            no_curve(&a)?;
            imp.local_lat(job(&a, None)).map(|()| String::new())
        }),
        "remote_lat" => run((name, LAT), args, never, remote_lat),
        "handshake_server" => scenario(
            (name, HS),
            args,
            always,
            |a: ScenarioArgs, imp, progress| {
                let keys = curve_keys(true)?;
                let job = Job {
                    curve: keys.as_ref(),
                    ..job_of(&a)
                };
                imp.handshake_server(job, progress).map(|()| String::new())
            },
        ),
        "handshakes" => scenario(
            (name, HS),
            args,
            always,
            |a: ScenarioArgs, imp, progress| {
                let keys = curve_keys(true)?;
                let job = Job {
                    curve: keys.as_ref(),
                    ..job_of(&a)
                };
                Ok(imp.handshakes(job, progress)?.render())
            },
        ),
        "connect_server" => scenario(
            (name, RTR),
            args,
            never,
            |a: ScenarioArgs, imp, progress| {
                imp.connect_server(job_of(&a), progress)
                    .map(|()| String::new())
            },
        ),
        "connects" => scenario(
            (name, RTR),
            args,
            never,
            |a: ScenarioArgs, imp, progress| Ok(imp.connects(job_of(&a), progress)?.render()),
        ),
        "pub_fanout" => scenario((name, FAN), args, never, |a: FanoutArgs, imp, progress| {
            let job = scenario_job(&a.scenario)?;
            Ok(imp.pub_fanout(job, &a.sync, progress)?.render())
        }),
        "sub_fanout" => scenario((name, FAN), args, never, |a: FanoutArgs, imp, progress| {
            let job = scenario_job(&a.scenario)?;
            let mut sync = SyncClient::connect(&a.sync, STALL_LIMIT)?;
            Ok(imp.sub_fanout(job, &mut sync, progress)?.render())
        }),
        "router_echo" => scenario(
            (name, RTR),
            args,
            never,
            |a: ScenarioArgs, imp, progress| {
                imp.router_echo(job_of(&a), progress)
                    .map(|()| String::new())
            },
        ),
        "dealers" => scenario(
            (name, RTR),
            args,
            never,
            |a: ScenarioArgs, imp, progress| Ok(imp.dealers(job_of(&a), progress)?.render()),
        ),
        _ => panic!("no tool called {name}"),
    }
}

/// Whether a throughput tool runs with CURVE: `--curve`.
fn thr_curve(a: &ToolArgs) -> bool {
    a.curve
}

/// For the tools without CURVE.
fn never<A>(_: &A) -> bool {
    false
}

/// For the tools that always run CURVE (the handshake pair).
fn always<A>(_: &A) -> bool {
    true
}

/// The [`Job`] of a throughput or latency tool, with CURVE when there are `keys`.
fn job<'a>(a: &'a ToolArgs, keys: Option<&'a CurveKeys>) -> Job<'a> {
    Job {
        endpoint: &a.endpoint,
        size: a.size,
        count: a.count,
        peers: 1,
        curve: keys,
        batch: usize::try_from(a.batch).unwrap_or(usize::MAX),
    }
}

/// The CURVE keys ([`CurveKeys::from_env`]) when `curve` is asked for.
fn curve_keys(curve: bool) -> crate::Result<Option<CurveKeys>> {
    Ok(curve.then(CurveKeys::from_env).transpose()?)
}

/// Fails on `--curve`, which only the throughput tools take.
fn no_curve(a: &ToolArgs) -> crate::Result<()> {
    if a.curve {
        return Err("--curve is for the throughput tools (local_thr, remote_thr) only".into());
    }
    Ok(())
}

/// The [`Job`] of a many-socket tool.
fn job_of(a: &ScenarioArgs) -> Job<'_> {
    Job {
        endpoint: &a.endpoint,
        size: a.size,
        count: a.count,
        peers: a.peers,
        curve: None,
        batch: 1,
    }
}

/// The [`Job`] of a fan-out tool, whose messages carry a kind byte.
fn scenario_job(a: &ScenarioArgs) -> crate::Result<Job<'_>> {
    crate::fanout::check_message_size(a.size)?;
    Ok(job_of(a))
}

/// `remote_lat`: with `--histogram`, every roundtrip is timed and
/// p50/p90/p99/max lines follow libzmq's three.
fn remote_lat(a: ToolArgs, imp: &dyn Implementation, _: On) -> crate::Result<String> {
    no_curve(&a)?;
    let mut samples = Vec::new();
    if a.histogram {
        samples.reserve(usize::try_from(a.count).unwrap_or(0));
    }
    let mut lat = imp.remote_lat(job(&a, None), a.histogram.then_some(&mut samples))?;
    lat.percentiles = Percentiles::from_roundtrips(&samples);
    Ok(lat.render())
}

/// Runs tool `tool`: parses `args` into `A`, finds the implementation
/// (with CURVE when `curve` says the arguments ask for it), and prints what
/// `body` returns; returns the exit code.
fn run<A: Parser>(
    (tool, positional): (&str, &str),
    args: Vec<String>,
    curve: fn(&A) -> bool,
    body: impl FnOnce(A, &dyn Implementation, On) -> crate::Result<String>,
) -> i32 {
    let (args, on): (A, On) = match parse(tool, positional, args) {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_FAILURE } else { 0 };
        }
    };
    let imp = if curve(&args) {
        curve_implementation(on.imp, on.runtime)
    } else {
        implementation(on.imp, on.runtime)
    };
    let result = imp
        .map_err(Into::into)
        .and_then(|imp| body(args, imp.as_ref(), on));
    match result {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            // Nothing useful to do if stdout is gone.
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            0
        }
        Err(e) if e.is::<Unavailable>() => {
            eprintln!("{tool}: --impl {} is not available: {e}", on.imp);
            EXIT_UNAVAILABLE
        }
        Err(e) => {
            eprintln!("{tool}: error: {e}");
            EXIT_FAILURE
        }
    }
}

/// [`run`] for a many-socket tool: under a watchdog ([`Progress`]) that gives up after
/// [`STALL_LIMIT`] without progress, and not on a one-thread runtime set-up
/// (its socket tasks are spawned with the runtime's global spawn function,
/// which a one-thread set-up does not have).
fn scenario<A: Parser>(
    (tool, positional): (&str, &str),
    args: Vec<String>,
    curve: fn(&A) -> bool,
    body: impl FnOnce(A, &dyn Implementation, Progress) -> crate::Result<String>,
) -> i32 {
    run((tool, positional), args, curve, |args: A, imp, on| {
        let runtime = on.runtime;
        if runtime.is_single_thread() {
            return Err(Unavailable(format!(
                "--runtime {runtime} is offered by the throughput and latency tools only"
            ))
            .into());
        }
        body(args, imp, Progress::watched(tool))
    })
}

/// The `main` of the binary called `tool`: runs it on this process's
/// arguments and exits with its code.
pub fn main(tool: &str) -> ! {
    std::process::exit(run_tool(tool, std::env::args().skip(1).collect()))
}
