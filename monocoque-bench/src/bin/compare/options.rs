//! The command line of `compare`: [`USAGE`], [`Options`] and the
//! scenarios it can pick ([`Which`]).

use std::path::PathBuf;
use std::time::Duration;

use monocoque_bench::args::{Impl, Runtime};

use crate::process::Transport;

/// The `--help` text.
pub const USAGE: &str = "\
usage: compare [options]
  --quick              a smoke run in under 3 minutes on 2 cores (the full run:
                       about 15 minutes): 3 runs of about 0.3 s, 3000 latency
                       roundtrips, a fifth of the fan-out messages, 1000 router
                       roundtrips per peer (explicit options below win)
  --runs N             runs per implementation and size (default 5), in every
                       scenario
  --sizes LIST         tcp message sizes in bytes, comma-separated; K suffix = KiB,
                       M = MiB (default 16,64,256,1K,4K,64K,1M)
  --ipc-sizes LIST     ipc message sizes (default 64,1K,64K; with `--transport ipc`
                       and --sizes given: those)
  --transport LIST     tcp, ipc or tcp,ipc (default tcp,ipc) for the throughput
                       scenario, one report section each (latency always uses tcp)
  --impls LIST         libzmq,monocoque,zeromq,omq,raw (default: all, as built;
                       zeromq = zmq.rs on tokio; omq = omq-tokio on tokio,
                       throughput only; raw = plain socket with ZMTP framing
                       and perfect batching, the loopback limit, throughput
                       only; zeromq: throughput, fan-out and router)
  --runtimes LIST      monocoque runtimes: tokio,async-std,smol (each in its
                       default set-up) and tokio-current-thread,
                       smol-single-thread (application and connections on
                       one thread; throughput and latency only)
                       (default: all five)
  --mixed              also run monocoque PULL <- libzmq PUSH and the reverse
                       (on the first runtime)
  --target-secs F      aim for throughput runs of about F seconds (default 2)
  --fixed-counts       no probe run: use the built-in message counts as they are
  --count N            use N messages for every size (implies --fixed-counts)
  --timeout SECS       kill a run after SECS seconds (default: 10 times its
                       expected length, at least 10 s; probes at most 20 s)
  --keep-going         still run a variant at the next sizes after it failed
                       (a failed probe or warm-up is always tried once more)
  --self-exec          run the perf tools as `compare --tool NAME` instead of
                       the tool binaries next to compare (automatic when those
                       are missing or older than compare)
  --out DIR            report directory (default <target-dir>/bench-report)
  --scenarios LIST     which scenarios to run, in this order whatever the list's:
                       throughput,latency,fanout,router (default: all four)
  --no-latency         skip the REQ/REP latency scenario
  --no-fanout          skip the PUB/SUB fan-out scenario
  --no-router          skip the ROUTER <-> DEALERs scenario
  --latency-only       run only the REQ/REP latency scenario (= --scenarios latency)
  --lat-sizes LIST     latency message sizes (default 64,1K)
  --roundtrips N       roundtrips per latency run (default 20000; --quick 3000)
  --fanout-subs LIST   subscriber counts of the PUB/SUB fan-out scenario, one
                       publisher process and one subscriber process, 64 B over
                       tcp (default 1,10,100); fixed message counts for about
                       1-2 s per run: 3,000,000 to 1 subscriber, 750,000 to 10,
                       20,000 to 100, log-interpolated between (--quick: a fifth)
  --router-peers N     DEALERs of the ROUTER <-> DEALERs scenario, 64 B over tcp
                       (default 100), 300,000 roundtrips in all per run (--quick:
                       100,000): 3000 per peer at 100 peers
  --plan               print the plan (steps, estimated time) and exit

Progress goes to stderr: a bar redrawn in place on a terminal, one line per run
otherwise. The tables go to stdout; the reports (Markdown, JSON, SVG charts) to
the report directory. Scenarios (libzmq, monocoque on each runtime, zmq.rs, and
for throughput omq and a raw socket): PUSH/PULL throughput, REQ/REP latency
(libzmq and monocoque only), PUB/SUB fan-out, ROUTER <-> DEALERs.";

/// One scenario of `compare`, as named by `--scenarios`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// PUSH/PULL throughput.
    Throughput,
    /// REQ/REP latency.
    Latency,
    /// PUB/SUB fan-out.
    Fanout,
    /// ROUTER <-> DEALERs.
    Router,
}

impl Which {
    /// Every scenario, in run order.
    pub const ALL: [Which; 4] = [
        Which::Throughput,
        Which::Latency,
        Which::Fanout,
        Which::Router,
    ];
}

impl std::str::FromStr for Which {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "throughput" | "thr" => Ok(Which::Throughput),
            "latency" | "lat" => Ok(Which::Latency),
            "fanout" | "fan-out" | "pubsub" => Ok(Which::Fanout),
            "router" | "dealers" => Ok(Which::Router),
            other => Err(format!(
                "unknown scenario `{other}` (throughput, latency, fanout or router)"
            )),
        }
    }
}

/// Everything the command line decides.
#[derive(Debug, Clone)]
pub struct Options {
    /// Runs per implementation and size.
    pub runs: usize,
    /// Throughput message sizes over tcp.
    pub sizes: Vec<usize>,
    /// Throughput message sizes over ipc.
    pub ipc_sizes: Vec<usize>,
    /// Transports of the throughput scenario, one report section each.
    pub transports: Vec<Transport>,
    /// Implementations asked for.
    pub impls: Vec<Impl>,
    /// monocoque runtimes asked for.
    pub runtimes: Vec<Runtime>,
    /// Also run monocoque against libzmq in both directions.
    pub mixed: bool,
    /// Aim for throughput runs of about this many seconds.
    pub target_secs: f64,
    /// No probe run: the message counts of [`Options::base_count`] as they are.
    pub fixed_counts: bool,
    /// `--count`: this many messages at every size.
    pub count_override: Option<u64>,
    /// `--timeout`: kill a run after this long (else [`Options::timeout_for`]
    /// decides).
    pub timeout: Option<Duration>,
    /// `--out`: the report directory.
    pub out_dir: Option<PathBuf>,
    /// `--quick` was given.
    pub quick: bool,
    /// Run the tools as `compare --tool NAME`.
    pub self_exec: bool,
    /// Keep running a variant at later sizes after it failed.
    pub keep_going: bool,
    /// Run the PUSH/PULL throughput scenario.
    pub throughput: bool,
    /// Run the REQ/REP latency scenario.
    pub latency: bool,
    /// Latency message sizes.
    pub lat_sizes: Vec<usize>,
    /// Roundtrips per latency run.
    pub roundtrips: u64,
    /// Run the PUB/SUB fan-out scenario.
    pub fanout: bool,
    /// Subscriber counts of the fan-out scenario.
    pub fanout_subs: Vec<usize>,
    /// Run the ROUTER <-> DEALERs scenario.
    pub router: bool,
    /// DEALERs of the router scenario.
    pub router_peers: usize,
    /// `--plan`: print the plan and exit.
    pub plan_only: bool,
}

/// The default tcp throughput sizes.
pub const DEFAULT_SIZES: [usize; 7] = [16, 64, 256, 1024, 4096, 65536, 1 << 20];
/// The default ipc throughput sizes.
pub const DEFAULT_IPC_SIZES: [usize; 3] = [64, 1024, 65536];
/// The default subscriber counts of the fan-out scenario.
pub const DEFAULT_FANOUT_SUBS: [usize; 3] = [1, 10, 100];
/// The default DEALER count of the router scenario.
pub const DEFAULT_ROUTER_PEERS: usize = 100;

impl Options {
    /// Parses the arguments (program name excluded); prints [`USAGE`] and
    /// exits for `--help`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut opts = Options {
            runs: 5,
            sizes: DEFAULT_SIZES.to_vec(),
            ipc_sizes: DEFAULT_IPC_SIZES.to_vec(),
            transports: vec![Transport::Tcp, Transport::Ipc],
            impls: vec![
                Impl::Libzmq,
                Impl::Monocoque,
                Impl::Zeromq,
                Impl::Omq,
                Impl::Raw,
            ],
            runtimes: Runtime::ALL
                .into_iter()
                .chain(Runtime::SINGLE_THREAD)
                .collect(),
            mixed: false,
            target_secs: 2.0,
            fixed_counts: false,
            count_override: None,
            timeout: None,
            out_dir: None,
            quick: false,
            self_exec: false,
            keep_going: false,
            throughput: true,
            latency: true,
            lat_sizes: vec![64, 1024],
            roundtrips: 20_000,
            fanout: true,
            fanout_subs: DEFAULT_FANOUT_SUBS.to_vec(),
            router: true,
            router_peers: DEFAULT_ROUTER_PEERS,
            plan_only: false,
        };
        // --scenarios (or --latency-only): these only; --no-*: not these.
        let mut chosen: Option<Vec<Which>> = None;
        let mut dropped: Vec<Which> = Vec::new();
        let mut runs = None;
        let mut roundtrips = None;
        let mut target = None;
        let mut sizes_given = false;
        let mut ipc_sizes_given = false;
        let mut iter = args.into_iter();
        while let Some(arg) = iter.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (arg.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| iter.next())
                    .ok_or_else(|| format!("option {name} needs a value"))
            };
            match name.as_str() {
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                "--quick" => opts.quick = true,
                "--mixed" => opts.mixed = true,
                "--fixed-counts" => opts.fixed_counts = true,
                "--self-exec" => opts.self_exec = true,
                "--keep-going" => opts.keep_going = true,
                "--plan" => opts.plan_only = true,
                "--no-latency" => dropped.push(Which::Latency),
                "--no-fanout" => dropped.push(Which::Fanout),
                "--no-router" => dropped.push(Which::Router),
                "--latency-only" => chosen = Some(vec![Which::Latency]),
                "--scenarios" => chosen = Some(split_list(&value()?)?),
                "--fanout-subs" => opts.fanout_subs = count_list(&value()?, "--fanout-subs")?,
                "--router-peers" => {
                    opts.router_peers = parse_num::<usize>(&value()?, "--router-peers")?;
                    if opts.router_peers == 0 {
                        return Err("--router-peers must be at least 1".into());
                    }
                }
                "--transport" => {
                    let mut list: Vec<Transport> = split_list(&value()?)?;
                    list.dedup();
                    opts.transports = list;
                }
                "--lat-sizes" => opts.lat_sizes = size_list(&value()?, "--lat-sizes")?,
                "--sizes" => {
                    opts.sizes = size_list(&value()?, "--sizes")?;
                    sizes_given = true;
                }
                "--ipc-sizes" => {
                    opts.ipc_sizes = size_list(&value()?, "--ipc-sizes")?;
                    ipc_sizes_given = true;
                }
                "--roundtrips" => {
                    roundtrips = Some(parse_num::<u64>(&value()?, "--roundtrips")?.max(1));
                }
                "--runs" => runs = Some(parse_num::<usize>(&value()?, "--runs")?.max(1)),
                "--impls" => opts.impls = enum_list(&value()?)?,
                "--runtimes" => opts.runtimes = enum_list(&value()?)?,
                "--target-secs" => {
                    let t: f64 = parse_num(&value()?, "--target-secs")?;
                    if t.is_nan() || t <= 0.0 {
                        return Err("--target-secs must be positive".into());
                    }
                    target = Some(t);
                }
                "--count" => {
                    opts.count_override = Some(parse_num::<u64>(&value()?, "--count")?.max(1));
                    opts.fixed_counts = true;
                }
                "--timeout" => {
                    let secs = parse_num::<f64>(&value()?, "--timeout")?;
                    if secs.is_nan() {
                        return Err("--timeout must be a number".into());
                    }
                    opts.timeout = Some(Duration::from_secs_f64(secs.clamp(1.0, 1e6)));
                }
                "--out" => opts.out_dir = Some(PathBuf::from(value()?)),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        if opts.quick {
            opts.runs = 3;
            opts.target_secs = 0.3;
            opts.roundtrips = 3_000;
        }
        if let Some(r) = runs {
            opts.runs = r;
        }
        if let Some(t) = target {
            opts.target_secs = t;
        }
        if let Some(r) = roundtrips {
            opts.roundtrips = r;
        }
        // A single-transport ipc run takes --sizes unless told otherwise.
        if opts.transports == [Transport::Ipc] && sizes_given && !ipc_sizes_given {
            opts.ipc_sizes = opts.sizes.clone();
        }
        let chosen = chosen.unwrap_or_else(|| Which::ALL.to_vec());
        let on = |w: Which| chosen.contains(&w) && !dropped.contains(&w);
        opts.throughput = on(Which::Throughput);
        opts.latency = on(Which::Latency);
        opts.fanout = on(Which::Fanout);
        opts.router = on(Which::Router);
        if !(opts.throughput || opts.latency || opts.fanout || opts.router) {
            return Err(
                "no scenario left to run (--scenarios, --latency-only and --no-... exclude each other)"
                    .into(),
            );
        }
        Ok(opts)
    }

    /// How long a run expected to take `expected_secs` (`None`: unknown)
    /// may run before it is killed: `--timeout`, else ten times the
    /// expected time and at least 10 s, or 60 s when unknown. A hang
    /// (libzmq over ipc sometimes loses the last messages) then costs
    /// seconds, not minutes.
    pub fn timeout_for(&self, expected_secs: Option<f64>) -> Duration {
        if let Some(t) = self.timeout {
            return t;
        }
        match expected_secs {
            Some(s) if s.is_finite() => Duration::from_secs_f64((s * 10.0).clamp(10.0, 600.0)),
            _ => Duration::from_secs(60),
        }
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
        if let Some(c) = self.count_override {
            return c;
        }
        let scaled = (two_secs_count(size) as f64 * self.target_secs / 2.0) as u64;
        scaled.max(100)
    }

    /// Roughly how long `count` messages of `size` bytes take: libzmq's
    /// assumed rate, three times slower (for the slower implementations and
    /// a loaded machine).
    pub fn expected_secs(size: usize, count: u64) -> f64 {
        3.0 * 2.0 * count as f64 / two_secs_count(size) as f64
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

/// Parses a number, naming the option in the error.
pub fn parse_num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e| format!("bad value `{s}` for {what}: {e}"))
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
    let n: usize = parse_num(digits.trim(), "a size")?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size `{s}` is too large"))
}

/// A non-empty comma-separated list of sizes.
fn size_list(s: &str, what: &str) -> Result<Vec<usize>, String> {
    let sizes: Vec<usize> = s
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(parse_size)
        .collect::<Result<_, _>>()?;
    if sizes.is_empty() {
        return Err(format!("{what} is empty"));
    }
    Ok(sizes)
}

/// A non-empty comma-separated list of counts, each at least 1, without
/// repeats.
fn count_list(s: &str, what: &str) -> Result<Vec<usize>, String> {
    let mut counts: Vec<usize> = Vec::new();
    for item in s.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let n: usize = parse_num(item, what)?;
        if n == 0 {
            return Err(format!("{what}: counts must be at least 1"));
        }
        if !counts.contains(&n) {
            counts.push(n);
        }
    }
    if counts.is_empty() {
        return Err(format!("{what} is empty"));
    }
    Ok(counts)
}

/// A non-empty comma-separated list of `--impls` or `--runtimes` values.
fn enum_list<T: clap::ValueEnum>(s: &str) -> Result<Vec<T>, String> {
    let items: Vec<T> = s
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| T::from_str(s.trim(), false))
        .collect::<Result<_, _>>()?;
    if items.is_empty() {
        return Err(format!("empty list `{s}`"));
    }
    Ok(items)
}

/// A non-empty comma-separated list of values parsed with `FromStr`.
fn split_list<T: std::str::FromStr<Err = String>>(s: &str) -> Result<Vec<T>, String> {
    let items: Vec<T> = s
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    if items.is_empty() {
        return Err(format!("empty list `{s}`"));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[&str]) -> Options {
        Options::parse(args.iter().map(|s| s.to_string())).unwrap()
    }

    #[test]
    fn option_parsing() {
        let o = opts(&[]);
        assert_eq!(o.runs, 5);
        assert_eq!(o.sizes, DEFAULT_SIZES);
        assert_eq!(o.ipc_sizes, DEFAULT_IPC_SIZES);
        assert_eq!(o.transports, [Transport::Tcp, Transport::Ipc]);
        assert!(o.impls.contains(&Impl::Omq));
        let o = opts(&["--impls", "libzmq,omq"]);
        assert_eq!(o.impls, [Impl::Libzmq, Impl::Omq]);
        let o = opts(&["--quick", "--sizes", "64,1K,2KiB,3B,1M", "--runs=7"]);
        assert_eq!(o.runs, 7);
        assert!(o.target_secs < 1.0);
        assert_eq!(o.sizes, vec![64, 1024, 2048, 3, 1 << 20]);
        assert_eq!(o.ipc_sizes, DEFAULT_IPC_SIZES);
        let o = opts(&[
            "--impls",
            "libzmq",
            "--runtimes",
            "smol,tokio",
            "--count",
            "10",
        ]);
        assert_eq!(o.impls, vec![Impl::Libzmq]);
        assert_eq!(o.runtimes, vec![Runtime::Smol, Runtime::Tokio]);
        assert_eq!(o.base_count(64), 10);
        assert!(o.fixed_counts);
        assert!(o.latency && o.throughput);
        assert_eq!(
            (o.lat_sizes.clone(), o.roundtrips),
            (vec![64, 1024], 20_000)
        );
        let o = opts(&["--quick", "--latency-only", "--lat-sizes", "16"]);
        assert!(o.latency && !o.throughput);
        assert_eq!((o.lat_sizes.clone(), o.roundtrips), (vec![16], 3_000));
        assert!(!o.fanout && !o.router);
        let o = opts(&["--no-latency", "--roundtrips=7"]);
        assert!(!o.latency && o.throughput && o.roundtrips == 7);
        assert!(o.fanout && o.router);
        assert!(
            Options::parse(["--no-latency".to_string(), "--latency-only".to_string()]).is_err()
        );
        assert!(Options::parse(["--bogus".to_string()]).is_err());
        assert!(Options::parse(["--runs".to_string()]).is_err());
        assert!(Options::parse(["--sizes=,".to_string()]).is_err());
        assert_eq!(o.timeout_for(Some(0.5)), Duration::from_secs(10));
        assert_eq!(o.timeout_for(Some(2.5)), Duration::from_secs(25));
        assert_eq!(o.timeout_for(None), Duration::from_secs(60));
        let o = opts(&["--timeout", "3"]);
        assert_eq!(o.timeout_for(Some(100.0)), Duration::from_secs(3));
    }

    #[test]
    fn scenario_selection() {
        let o = opts(&[]);
        assert!(o.throughput && o.latency && o.fanout && o.router);
        assert_eq!(o.fanout_subs, DEFAULT_FANOUT_SUBS);
        assert_eq!(o.router_peers, DEFAULT_ROUTER_PEERS);
        let o = opts(&["--scenarios", "router,fanout"]);
        assert!(!o.throughput && !o.latency && o.fanout && o.router);
        let o = opts(&["--scenarios=fanout,latency", "--no-fanout"]);
        assert!(!o.throughput && o.latency && !o.fanout && !o.router);
        let o = opts(&["--no-fanout", "--no-router", "--fanout-subs", "2,2,50"]);
        assert!(o.throughput && o.latency && !o.fanout && !o.router);
        assert_eq!(o.fanout_subs, [2, 50]);
        assert_eq!(opts(&["--router-peers", "7"]).router_peers, 7);
        let bad = |args: &[&str]| Options::parse(args.iter().map(|s| s.to_string())).is_err();
        assert!(bad(&["--scenarios", "fanout", "--no-fanout"]));
        assert!(bad(&["--scenarios", "nope"]));
        assert!(bad(&["--fanout-subs", "0"]));
        assert!(bad(&["--fanout-subs", ","]));
        assert!(bad(&["--router-peers", "0"]));
    }

    #[test]
    fn transports_and_their_sizes() {
        assert_eq!(opts(&["--transport", "tcp"]).transports, [Transport::Tcp]);
        let o = opts(&["--transport", "ipc", "--sizes", "64,70000"]);
        assert_eq!(o.transports, [Transport::Ipc]);
        assert_eq!(o.sizes_for(Transport::Ipc), [64, 70000]);
        let o = opts(&["--transport=ipc", "--sizes=8", "--ipc-sizes=9"]);
        assert_eq!(o.sizes_for(Transport::Ipc), [9]);
        let o = opts(&["--transport", "tcp,ipc", "--sizes", "8"]);
        assert_eq!(o.sizes_for(Transport::Tcp), [8]);
        assert_eq!(o.sizes_for(Transport::Ipc), DEFAULT_IPC_SIZES);
        assert!(Options::parse(["--transport=udp".to_string()]).is_err());
    }

    #[test]
    fn counts_stay_sane_at_large_sizes() {
        let o = opts(&[]);
        assert_eq!(o.base_count(64), 8_000_000);
        // 1 MiB: a few thousand messages (a few GB) per 2 s run, a probe of
        // a few hundred.
        let big = o.base_count(1 << 20);
        assert!((2_000..=5_000).contains(&big), "{big}");
        assert!((Options::expected_secs(1 << 20, big) - 6.0).abs() < 0.1);
        let quick = opts(&["--quick"]);
        assert!(quick.base_count(1 << 20) >= 100);
        assert!(quick.base_count(1 << 20) < big);
    }
}
