//! The command line of `compare` ([`Options`], parsed with clap) and the
//! scenarios it can pick ([`Which`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use monocoque_bench::args::{Impl, Runtime};

use crate::process::Transport;

/// What `--help` adds after the options.
const AFTER_HELP: &str = "\
Progress goes to stderr: a bar redrawn in place on a terminal, one line per run otherwise. \
The tables go to stdout; the reports (Markdown, JSON, SVG charts) to the report directory. \
Scenarios (libzmq, monocoque on each runtime, zmq.rs, and for throughput omq, monocoque-rs \
(tcp) and a raw socket; monocoque and monocoque-rs also batched): PUSH/PULL throughput, REQ/REP latency (libzmq and monocoque only), PUB/SUB fan-out, \
ROUTER <-> DEALERs, and CURVE (throughput and handshakes/s of monocoque and of a libzmq with \
CURVE loaded at run time: $MONOCOQUE_BENCH_LIBZMQ, else pyzmq's bundled libzmq, else the \
system's libzmq.so.5).";

/// One scenario of `compare`, as named by `--scenarios`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Which {
    /// PUSH/PULL throughput.
    #[value(alias = "thr")]
    Throughput,
    /// REQ/REP latency.
    #[value(alias = "lat")]
    Latency,
    /// PUB/SUB fan-out.
    #[value(aliases = ["fan-out", "pubsub"])]
    Fanout,
    /// ROUTER <-> DEALERs.
    #[value(alias = "dealers")]
    Router,
    /// CURVE: PUSH/PULL throughput and handshakes per second.
    #[value(alias = "security")]
    Curve,
}

/// A count of at least 1.
fn at_least_1() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..)
}

/// monocoque against libzmq, zmq.rs, omq and the raw socket limit, each
/// perf tool in a process of its own.
#[derive(Debug, Clone, Parser)]
#[command(name = "compare", after_help = AFTER_HELP)]
pub struct Options {
    /// A smoke run in under 4 minutes on 2 cores (the full run: about 25
    /// minutes): 3 runs of about 0.3 s, 3000 latency roundtrips, a fifth of
    /// the fan-out messages, 1000 router roundtrips per peer, 300 CURVE
    /// handshakes per run (explicit options win).
    #[arg(long)]
    pub quick: bool,
    /// Runs per implementation and size, in every scenario (--quick: 3).
    #[arg(
        long,
        value_name = "N",
        value_parser = at_least_1(),
        default_value_t = 5,
        default_value_if("quick", "true", "3")
    )]
    pub runs: usize,
    /// tcp message sizes in bytes, comma-separated; K suffix = KiB, M = MiB.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_size, default_value = "16,64,256,1K,4K,64K,1M")]
    pub sizes: Vec<usize>,
    /// ipc message sizes (with `--transport ipc` and --sizes given: those).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_size, default_value = "64,1K,64K")]
    pub ipc_sizes: Vec<usize>,
    /// Transports of the throughput scenario, one report section each
    /// (latency always uses tcp).
    #[arg(
        long = "transport",
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "tcp,ipc"
    )]
    pub transports: Vec<Transport>,
    /// Implementations (default: all, as built; zeromq = zmq.rs on tokio:
    /// throughput, fan-out and router; omq = omq-tokio on tokio, throughput
    /// only; monocoque-rs = the public `monocoque-rs` crate on tokio, eager
    /// and coalescing, tcp throughput only; raw = plain socket with ZMTP
    /// framing and perfect batching, the loopback limit, throughput only).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "libzmq,monocoque,zeromq,omq,monocoque-rs,raw"
    )]
    pub impls: Vec<Impl>,
    /// monocoque runtimes: tokio, async-std, smol (each in its default
    /// set-up) and tokio-current-thread, smol-single-thread (application and
    /// connections on one thread; throughput and latency only).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "tokio,async-std,smol,tokio-current-thread,smol-single-thread"
    )]
    pub runtimes: Vec<Runtime>,
    /// Aim for throughput runs of about F seconds (--quick: 0.3).
    #[arg(
        long,
        value_name = "F",
        value_parser = positive,
        default_value_t = 2.0,
        default_value_if("quick", "true", "0.3")
    )]
    pub target_secs: f64,
    /// No probe run: use the built-in message counts as they are.
    #[arg(long)]
    pub fixed_counts: bool,
    /// Kill a run after SECS seconds (default: 10 times its expected
    /// length, at least 10 s; probes at most 20 s).
    #[arg(long, value_name = "SECS", value_parser = timeout)]
    pub timeout: Option<Duration>,
    /// Still run a variant at the next sizes after it failed (a failed
    /// probe or warm-up is always tried once more).
    #[arg(long)]
    pub keep_going: bool,
    /// Report directory (default: `<target-dir>/bench-report`).
    #[arg(long = "out", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Which scenarios to run, in this order whatever the list's.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "throughput,latency,fanout,router,curve"
    )]
    pub scenarios: Vec<Which>,
    /// Latency message sizes.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_size, default_value = "64,1K")]
    pub lat_sizes: Vec<usize>,
    /// Roundtrips per latency run (--quick: 3000).
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..),
        default_value_t = 20_000,
        default_value_if("quick", "true", "3000")
    )]
    pub roundtrips: u64,
    /// Subscriber counts of the PUB/SUB fan-out scenario, one publisher
    /// process and one subscriber process, 64 B over tcp; fixed message
    /// counts for about 1-2 s per run: 3,000,000 to 1 subscriber, 750,000
    /// to 10, 20,000 to 100, log-interpolated between (--quick: a fifth).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = at_least_1(), default_value = "1,10,100")]
    pub fanout_subs: Vec<usize>,
    /// DEALERs of the ROUTER <-> DEALERs scenario, 64 B over tcp, 300,000
    /// roundtrips in all per run (--quick: 100,000): 3000 per peer at 100
    /// peers.
    #[arg(long, value_name = "N", value_parser = at_least_1(), default_value_t = 100)]
    pub router_peers: usize,
    /// DEALERs at once in the connection set-up scenario (part of `router`),
    /// one point each.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = at_least_1(), default_value = "100,1000")]
    pub connect_clients: Vec<usize>,
    /// Connections per run of the connection set-up scenario, over all
    /// rounds and clients (--quick: 1000).
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..),
        default_value_t = 3000,
        default_value_if("quick", "true", "1000")
    )]
    pub connects: u64,
    /// Message sizes of the CURVE throughput scenario (tcp), with the
    /// throughput scenario's probe and `--target-secs`.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_size, default_value = "64,1K,64K")]
    pub curve_sizes: Vec<usize>,
    /// Clients at once in the CURVE handshake scenario, one point each.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = at_least_1(), default_value = "1,4")]
    pub handshake_clients: Vec<usize>,
    /// CURVE handshakes per run, over all clients (--quick: 300).
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..),
        default_value_t = 2000,
        default_value_if("quick", "true", "300")
    )]
    pub handshakes: u64,
    /// Print the plan (steps, estimated time) and exit.
    #[arg(long = "plan")]
    pub plan_only: bool,
}

impl Options {
    /// Parses the arguments (program name excluded) and settles the
    /// defaults that depend on other options (`--quick`, `--transport
    /// ipc`) and puts the scenarios in order.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Options, clap::Error> {
        let args = std::iter::once("compare".to_owned()).chain(args);
        let matches = Options::command().try_get_matches_from(args)?;
        let mut opts = Options::from_arg_matches(&matches)?;
        let given = |id| matches.value_source(id) == Some(ValueSource::CommandLine);
        opts.transports.dedup();
        opts.handshake_clients.dedup();
        opts.connect_clients.dedup();
        let mut seen = Vec::new();
        opts.fanout_subs.retain(|n| {
            !seen.contains(n) && {
                seen.push(*n);
                true
            }
        });
        // A single-transport ipc run takes --sizes unless told otherwise.
        if opts.transports == [Transport::Ipc] && given("sizes") && !given("ipc_sizes") {
            opts.ipc_sizes = opts.sizes.clone();
        }
        opts.scenarios.sort();
        opts.scenarios.dedup();
        Ok(opts)
    }

    /// How long a run expected to take `expected_secs` may run before it
    /// is killed: `--timeout`, else ten times the expected time and at least
    /// 10 s. A hang (libzmq over ipc sometimes loses the last messages) then
    /// costs seconds, not minutes.
    pub fn timeout_for(&self, expected_secs: f64) -> Duration {
        (self.timeout)
            .unwrap_or_else(|| Duration::from_secs_f64((expected_secs * 10.0).clamp(10.0, 600.0)))
    }

    /// The throughput message sizes over `transport`.
    pub fn sizes_for(&self, transport: Transport) -> &[usize] {
        match transport {
            Transport::Tcp => &self.sizes,
            Transport::Ipc => &self.ipc_sizes,
        }
    }

    /// Message count before any probe: enough for about `--target-secs` of
    /// libzmq on a small machine.
    pub fn base_count(&self, size: usize) -> u64 {
        let scaled = (two_secs_count(size) as f64 * self.target_secs / 2.0) as u64;
        scaled.max(100)
    }

    /// [`Options::base_count`] with CURVE, which moves about a fifth of the
    /// messages (encrypting and authenticating each); probes adjust.
    pub fn curve_base_count(&self, size: usize) -> u64 {
        (self.base_count(size) / 5).max(100)
    }
}

/// About 2 s worth of libzmq messages of `size` bytes on the 2-core
/// development machine (the probe adjusts); large messages go at 1-2.5 GB/s.
fn two_secs_count(size: usize) -> u64 {
    match size {
        0..=64 => 8_000_000,
        65..=256 => 6_000_000,
        257..=1024 => 3_000_000,
        1025..=8192 => 1_000_000,
        8193..=65536 => 60_000,
        _ => (4_000_000_000 / size as u64).max(1),
    }
}

/// Parses one size: `64`, `64B`, `1K`, `1KiB`, `1M`, `1MiB`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (digits, mult) = if let Some(d) = s.strip_suffix("KiB").or(s.strip_suffix(['K', 'k'])) {
        (d, 1024)
    } else if let Some(d) = s.strip_suffix("MiB").or(s.strip_suffix('M')) {
        (d, 1024 * 1024)
    } else {
        (s.strip_suffix('B').unwrap_or(s), 1)
    };
    let n: usize = (digits.trim().parse()).map_err(|e| format!("bad size `{s}`: {e}"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size `{s}` is too large"))
}

/// A positive number of seconds.
fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t > 0.0 => Ok(t),
        _ => Err(format!("`{s}` is not a positive number")),
    }
}

/// `--timeout`: seconds, within 1 s and a million.
fn timeout(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(t) if !t.is_nan() => Ok(Duration::from_secs_f64(t.clamp(1.0, 1e6))),
        _ => Err(format!("`{s}` is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default ipc throughput sizes.
    const DEFAULT_IPC_SIZES: [usize; 3] = [64, 1024, 65536];

    /// The options of a command line written as one string.
    fn parse(line: &str) -> Result<Options, clap::Error> {
        Options::from_args(line.split_whitespace().map(String::from))
    }

    fn opts(line: &str) -> Options {
        parse(line).unwrap()
    }

    fn bad(line: &str) -> bool {
        parse(line).is_err()
    }

    #[test]
    fn option_parsing() {
        let o = opts("");
        assert_eq!(o.runs, 5);
        assert_eq!(o.sizes, [16, 64, 256, 1024, 4096, 65536, 1 << 20]);
        assert_eq!(o.ipc_sizes, DEFAULT_IPC_SIZES);
        assert_eq!(o.transports, [Transport::Tcp, Transport::Ipc]);
        assert!(o.impls.contains(&Impl::Omq));
        assert_eq!(o.runtimes.len(), 5);
        let o = opts("--impls libzmq,omq");
        assert_eq!(o.impls, [Impl::Libzmq, Impl::Omq]);
        let o = opts("--quick --sizes 64,1K,2KiB,3B,1M --runs=7");
        assert_eq!(o.runs, 7);
        assert!(o.target_secs < 1.0);
        assert_eq!(o.sizes, vec![64, 1024, 2048, 3, 1 << 20]);
        assert_eq!(o.ipc_sizes, DEFAULT_IPC_SIZES);
        let o = opts("--impls libzmq --runtimes smol,tokio --fixed-counts");
        assert_eq!(o.impls, vec![Impl::Libzmq]);
        assert_eq!(o.runtimes, vec![Runtime::Smol, Runtime::Tokio]);
        assert!(o.fixed_counts);
        assert_eq!(
            (o.lat_sizes.clone(), o.roundtrips),
            (vec![64, 1024], 20_000)
        );
        let o = opts("--quick --scenarios lat --lat-sizes 16");
        assert_eq!(o.scenarios, [Which::Latency]);
        assert_eq!((o.lat_sizes.clone(), o.roundtrips), (vec![16], 3_000));
        assert!(bad("--bogus"));
        assert!(bad("--runs"));
        assert!(bad("--sizes=,"));
        assert!(bad("--target-secs 0"));
        assert_eq!(o.timeout_for(0.5), Duration::from_secs(10));
        assert_eq!(o.timeout_for(2.5), Duration::from_secs(25));
        let o = opts("--timeout 3");
        assert_eq!(o.timeout_for(100.0), Duration::from_secs(3));
    }

    #[test]
    fn scenario_selection() {
        let o = opts("");
        assert_eq!(o.scenarios, Which::value_variants());
        assert_eq!(
            (o.fanout_subs.clone(), o.router_peers),
            (vec![1, 10, 100], 100)
        );
        let o = opts("--scenarios router,fanout");
        assert_eq!(o.scenarios, [Which::Fanout, Which::Router]);
        let o = opts("--scenarios=lat,thr,lat --fanout-subs 2,2,50");
        assert_eq!(o.scenarios, [Which::Throughput, Which::Latency]);
        assert_eq!(o.fanout_subs, [2, 50]);
        assert_eq!(opts("--router-peers 7").router_peers, 7);
        let o = opts("--scenarios curve --quick");
        assert_eq!(o.scenarios, [Which::Curve]);
        assert_eq!(
            (o.curve_sizes.clone(), o.handshakes),
            (vec![64, 1024, 65536], 300)
        );
        let o = opts("--handshake-clients 2,2,8 --handshakes 50");
        assert_eq!(
            (o.handshake_clients.clone(), o.handshakes),
            (vec![2, 8], 50)
        );
        assert!(bad("--handshake-clients 0"));
        assert!(bad("--scenarios nope"));
        assert!(bad("--fanout-subs 0"));
        assert!(bad("--fanout-subs ,"));
        assert!(bad("--router-peers 0"));
    }

    #[test]
    fn transports_and_their_sizes() {
        assert_eq!(opts("--transport tcp").transports, [Transport::Tcp]);
        let o = opts("--transport ipc --sizes 64,70000");
        assert_eq!(o.transports, [Transport::Ipc]);
        assert_eq!(o.sizes_for(Transport::Ipc), [64, 70000]);
        let o = opts("--transport=ipc --sizes=8 --ipc-sizes=9");
        assert_eq!(o.sizes_for(Transport::Ipc), [9]);
        let o = opts("--transport tcp,ipc --sizes 8");
        assert_eq!(o.sizes_for(Transport::Tcp), [8]);
        assert_eq!(o.sizes_for(Transport::Ipc), DEFAULT_IPC_SIZES);
        assert!(bad("--transport=udp"));
    }

    #[test]
    fn counts_stay_sane_at_large_sizes() {
        let o = opts("");
        assert_eq!(o.base_count(64), 8_000_000);
        // 1 MiB: a few thousand messages (a few GB) per 2 s run, a probe of
        // a few hundred.
        let big = o.base_count(1 << 20);
        assert!((2_000..=5_000).contains(&big), "{big}");
        let quick = opts("--quick");
        assert!(quick.base_count(1 << 20) >= 100);
        assert!(quick.base_count(1 << 20) < big);
    }
}
