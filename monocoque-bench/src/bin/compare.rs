//! `compare`: PUSH/PULL throughput of monocoque (on each runtime) against
//! libzmq, zmq.rs and the raw socket limit, then REQ/REP latency (mean, p50,
//! p99 from `remote_lat --histogram`) of monocoque against libzmq, written to
//! `latency.{md,json}` next to the throughput report.
//!
//! Every run starts `local_thr` (PULL, binds) and `remote_thr` (PUSH,
//! connects) as two separate processes over tcp loopback, taken from the
//! directory this binary lives in, and reads `local_thr`'s result. For each
//! message size a short probe run first picks a message count that makes a
//! run last about `--target-secs`, then each implementation runs `--runs`
//! times, the implementations taking turns. The table (median, min and max
//! msg/s, MB/s, ratio to libzmq's median) goes to stdout, progress to
//! stderr, and the report to `<target-dir>/bench-report/throughput.{md,json}`.

use std::fmt::Write as _;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use monocoque_bench::args::{Impl, Runtime};
use monocoque_bench::output::{
    ParsedLatency, ParsedThroughput, Percentiles, parse_latency, parse_throughput,
};
use monocoque_bench::stats::{Summary, summarize};

const USAGE: &str = "\
usage: compare [options]
  --quick              3 runs, shorter runs (about 0.4 s each)
  --runs N             runs per implementation and size (default 5)
  --sizes LIST         message sizes in bytes, comma-separated; K suffix = KiB
                       (default 64,16,256,1K,64K)
  --impls LIST         libzmq,monocoque,zeromq,raw (default: all, as built;
                       zeromq = zmq.rs on tokio; raw = plain TCP with ZMTP
                       framing and perfect batching, the loopback limit;
                       these two: throughput only)
  --runtimes LIST      monocoque runtimes: tokio,async-std,smol (default: all)
  --mixed              also run monocoque PULL <- libzmq PUSH and the reverse
                       (on the first runtime)
  --target-secs F      aim for runs of about F seconds (default 2)
  --fixed-counts       no probe run: use the built-in message counts as they are
  --count N            use N messages for every size (implies --fixed-counts)
  --timeout SECS       kill a run after SECS seconds (default 60; probes 20)
  --keep-going         still run a variant at the next sizes after it failed
  --self-exec          run the perf tools as `compare --tool NAME` instead of
                       the local_thr/remote_thr binaries next to compare
                       (automatic when those are missing or older than compare)
  --out DIR            report directory (default <target-dir>/bench-report)
  --transport T        tcp (default) or ipc for the throughput scenario
                       (latency always uses tcp)
  --no-latency         skip the REQ/REP latency scenario
  --latency-only       run only the REQ/REP latency scenario
  --lat-sizes LIST     latency message sizes (default 64,1K)
  --roundtrips N       roundtrips per latency run (default 20000; --quick 5000)";

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

// ---------------------------------------------------------------------------
// Options

struct Options {
    runs: usize,
    sizes: Vec<usize>,
    impls: Vec<Impl>,
    runtimes: Vec<Runtime>,
    mixed: bool,
    target_secs: f64,
    fixed_counts: bool,
    count_override: Option<u64>,
    timeout: Duration,
    out_dir: Option<PathBuf>,
    quick: bool,
    self_exec: bool,
    keep_going: bool,
    throughput: bool,
    transport: TransportKind,
    latency: bool,
    lat_sizes: Vec<usize>,
    roundtrips: u64,
}

impl Options {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut opts = Options {
            runs: 5,
            sizes: vec![64, 16, 256, 1024, 65536],
            impls: vec![Impl::Libzmq, Impl::Monocoque, Impl::Zeromq, Impl::Raw],
            runtimes: Runtime::ALL.to_vec(),
            mixed: false,
            target_secs: 2.0,
            fixed_counts: false,
            count_override: None,
            timeout: Duration::from_secs(60),
            out_dir: None,
            quick: false,
            self_exec: false,
            keep_going: false,
            throughput: true,
            transport: TransportKind::Tcp,
            latency: true,
            lat_sizes: vec![64, 1024],
            roundtrips: 20_000,
        };
        let mut runs = None;
        let mut roundtrips = None;
        let mut target = None;
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
                "--no-latency" => opts.latency = false,
                "--transport" => {
                    opts.transport = match value()?.as_str() {
                        "tcp" => TransportKind::Tcp,
                        "ipc" => TransportKind::Ipc,
                        other => return Err(format!("unknown transport `{other}` (tcp or ipc)")),
                    }
                }
                "--latency-only" => opts.throughput = false,
                "--lat-sizes" => {
                    opts.lat_sizes = value()?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(parse_size)
                        .collect::<Result<_, _>>()?;
                    if opts.lat_sizes.is_empty() {
                        return Err("--lat-sizes is empty".into());
                    }
                }
                "--roundtrips" => {
                    roundtrips = Some(parse_num::<u64>(&value()?, "--roundtrips")?.max(1));
                }
                "--runs" => runs = Some(parse_num::<usize>(&value()?, "--runs")?.max(1)),
                "--sizes" => {
                    opts.sizes = value()?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(parse_size)
                        .collect::<Result<_, _>>()?;
                    if opts.sizes.is_empty() {
                        return Err("--sizes is empty".into());
                    }
                }
                "--impls" => {
                    opts.impls = split_list(&value()?)?;
                }
                "--runtimes" => {
                    opts.runtimes = split_list(&value()?)?;
                }
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
                    opts.timeout =
                        Duration::from_secs_f64(parse_num::<f64>(&value()?, "--timeout")?.max(1.0));
                }
                "--out" => opts.out_dir = Some(PathBuf::from(value()?)),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        if opts.quick {
            opts.runs = 3;
            opts.target_secs = 0.4;
        }
        if let Some(r) = runs {
            opts.runs = r;
        }
        if let Some(t) = target {
            opts.target_secs = t;
        }
        if opts.quick {
            opts.roundtrips = 5_000;
        }
        if let Some(r) = roundtrips {
            opts.roundtrips = r;
        }
        if !opts.throughput && !opts.latency {
            return Err("--latency-only and --no-latency exclude each other".into());
        }
        Ok(opts)
    }

    /// Message count before any probe: enough for about 2 s of libzmq on a
    /// small machine, scaled down for `--quick`.
    fn base_count(&self, size: usize) -> u64 {
        if let Some(c) = self.count_override {
            return c;
        }
        // Measured on the 2-core development machine; the probe adjusts.
        let two_secs: u64 = match size {
            0..=64 => 8_000_000,
            65..=256 => 6_000_000,
            257..=1024 => 3_000_000,
            1025..=8192 => 1_000_000,
            _ => 60_000,
        };
        let scaled = (two_secs as f64 * self.target_secs / 2.0) as u64;
        scaled.max(100)
    }
}

fn parse_num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e| format!("bad value `{s}` for {what}: {e}"))
}

fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (digits, mult) = if let Some(d) = s.strip_suffix("KiB").or(s.strip_suffix(['K', 'k'])) {
        (d, 1024)
    } else if let Some(d) = s.strip_suffix("MiB").or(s.strip_suffix('M')) {
        (d, 1024 * 1024)
    } else {
        (s.strip_suffix('B').unwrap_or(s), 1)
    };
    let n: usize = parse_num(digits.trim(), "--sizes")?;
    Ok(n * mult)
}

fn split_list<T: std::str::FromStr<Err = String>>(s: &str) -> Result<Vec<T>, String> {
    let items: Vec<T> = s
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    if items.is_empty() {
        return Err(format!("empty list `{s}`"));
    }
    Ok(items)
}

// ---------------------------------------------------------------------------
// Variants: who receives (local_thr) and who sends (remote_thr)

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    Libzmq,
    Monocoque(Runtime),
    /// zmq.rs, always on tokio.
    Zeromq,
    /// Plain TCP with ZMTP framing, perfectly batched: the loopback limit.
    Raw,
}

impl Peer {
    fn tool_args(self) -> Vec<String> {
        match self {
            Peer::Libzmq => vec!["--impl".into(), "libzmq".into()],
            Peer::Monocoque(rt) => vec![
                "--impl".into(),
                "monocoque".into(),
                "--runtime".into(),
                rt.name().into(),
            ],
            Peer::Zeromq => vec!["--impl".into(), "zeromq".into()],
            Peer::Raw => vec!["--impl".into(), "raw".into()],
        }
    }

    fn label(self) -> String {
        match self {
            Peer::Libzmq => "libzmq".into(),
            Peer::Monocoque(rt) => format!("monocoque/{rt}"),
            Peer::Zeromq => "zmq.rs/tokio".into(),
            Peer::Raw => "raw socket (limit)".into(),
        }
    }

    fn imp(self) -> Impl {
        match self {
            Peer::Libzmq => Impl::Libzmq,
            Peer::Monocoque(_) => Impl::Monocoque,
            Peer::Zeromq => Impl::Zeromq,
            Peer::Raw => Impl::Raw,
        }
    }

    fn runtime(self) -> Option<Runtime> {
        match self {
            Peer::Libzmq => None,
            Peer::Monocoque(rt) => Some(rt),
            Peer::Zeromq => Some(Runtime::Tokio),
            Peer::Raw => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Variant {
    recv: Peer,
    send: Peer,
}

impl Variant {
    fn label(self) -> String {
        if self.recv == self.send {
            self.recv.label()
        } else {
            // Receiver first, like "PULL <- PUSH".
            format!("{}<-{}", self.recv.label(), self.send.label())
        }
    }

    fn is_libzmq_baseline(self) -> bool {
        self.recv == Peer::Libzmq && self.send == Peer::Libzmq
    }
}

fn variants(opts: &Options, notes: &mut Vec<String>) -> Vec<Variant> {
    let mut out = Vec::new();
    let want_libzmq = opts.impls.contains(&Impl::Libzmq);
    let want_mono = opts.impls.contains(&Impl::Monocoque);
    let have_libzmq = want_libzmq && monocoque_bench::HAS_LIBZMQ;
    let have_mono = want_mono && monocoque_bench::HAS_MONOCOQUE;
    if want_libzmq && !have_libzmq {
        notes.push(
            "libzmq rows skipped: built without the `libzmq` feature of monocoque-bench".into(),
        );
    }
    if want_mono && !have_mono {
        notes.push(
            "monocoque rows skipped: built without the `monocoque-impl` feature of monocoque-bench"
                .into(),
        );
    }
    if have_libzmq {
        out.push(Variant {
            recv: Peer::Libzmq,
            send: Peer::Libzmq,
        });
    }
    if have_mono {
        for &rt in &opts.runtimes {
            let p = Peer::Monocoque(rt);
            out.push(Variant { recv: p, send: p });
        }
        if opts.mixed && have_libzmq {
            let p = Peer::Monocoque(opts.runtimes[0]);
            out.push(Variant {
                recv: p,
                send: Peer::Libzmq,
            });
            out.push(Variant {
                recv: Peer::Libzmq,
                send: p,
            });
        }
    }
    if opts.impls.contains(&Impl::Zeromq) {
        if monocoque_bench::HAS_ZEROMQ {
            out.push(Variant {
                recv: Peer::Zeromq,
                send: Peer::Zeromq,
            });
        } else {
            notes.push(
                "zmq.rs rows skipped: built without the `zeromq` feature of monocoque-bench".into(),
            );
        }
    }
    if opts.impls.contains(&Impl::Raw) {
        out.push(Variant {
            recv: Peer::Raw,
            send: Peer::Raw,
        });
    }
    out
}

// ---------------------------------------------------------------------------
// One run: two processes

/// Kills the child on drop unless it has been reaped.
struct Proc {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    status: Option<ExitStatus>,
}

impl Proc {
    fn spawn(tool: &ToolCmd, args: &[String]) -> Result<Proc, String> {
        let bin = &tool.program;
        let mut child = Command::new(bin)
            .args(&tool.prefix)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        Ok(Proc {
            child,
            stdout,
            stderr,
            status: None,
        })
    }

    fn poll(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    fn kill(&mut self) {
        if self.poll().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    /// Waits for the output readers (call after the process ended).
    fn output(&mut self) -> (String, String) {
        let join =
            |h: Option<JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
        (join(self.stdout.take()), join(self.stderr.take()))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// How to start one perf tool.
struct ToolCmd {
    program: PathBuf,
    prefix: Vec<String>,
}

/// The perf tools: the throughput pair and the latency pair.
struct Tools {
    local: ToolCmd,
    remote: ToolCmd,
    lat_local: ToolCmd,
    lat_remote: ToolCmd,
}

/// Picks the `local_thr`/`remote_thr` binaries next to `compare`, unless
/// they are missing or were built more than a minute before `compare`
/// (`cargo run --bin compare` rebuilds only `compare`): then `compare`
/// itself runs them (`compare --tool NAME`), which is always current.
fn locate_tools(self_exe: &Path, force_self: bool, notes: &mut Vec<String>) -> Tools {
    let dir = self_exe.parent().unwrap_or(Path::new("."));
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let self_time = mtime(self_exe);
    let pick = |name: &str, notes: &mut Vec<String>| {
        let sibling = dir.join(exe(name));
        let problem = if force_self {
            None
        } else if !sibling.exists() {
            Some("missing")
        } else {
            match (mtime(&sibling), self_time) {
                (Some(t), Some(s)) if t + Duration::from_secs(60) < s => {
                    Some("older than compare (cargo rebuilt only compare, or it is stale)")
                }
                _ => {
                    return ToolCmd {
                        program: sibling,
                        prefix: Vec::new(),
                    };
                }
            }
        };
        if let Some(problem) = problem {
            notes.push(format!(
                "{} is {problem}: running it as `compare --tool {name}` (build all tools with `cargo build --release -p monocoque-bench --bins`)",
                sibling.display()
            ));
        }
        ToolCmd {
            program: self_exe.to_path_buf(),
            prefix: vec!["--tool".into(), name.into()],
        }
    };
    Tools {
        local: pick("local_thr", notes),
        remote: pick("remote_thr", notes),
        lat_local: pick("local_lat", notes),
        lat_remote: pick("remote_lat", notes),
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Whether something listens on 127.0.0.1:`port` (or any address), from
/// /proc/net/tcp; `None` when that file cannot be read.
fn is_listening(port: u16) -> Option<bool> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let want = format!(":{port:04X}");
    Some(table.lines().skip(1).any(|line| {
        let mut cols = line.split_whitespace();
        let local = cols.nth(1).unwrap_or("");
        let state = cols.nth(1).unwrap_or("");
        local.ends_with(&want) && state == "0A"
    }))
}

enum RunError {
    /// The tool exited with code 2: this implementation cannot run.
    Unavailable(String),
    Failed(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Unavailable(s) | RunError::Failed(s) => f.write_str(s),
        }
    }
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

fn describe_exit(tool: &str, status: Option<ExitStatus>, stderr: &str) -> RunError {
    let msg = match status {
        Some(st) => format!("{tool} exited with {st}: {}", last_lines(stderr, 3)),
        None => format!("{tool} did not exit"),
    };
    if status.and_then(|s| s.code()) == Some(2) {
        RunError::Unavailable(msg)
    } else {
        RunError::Failed(msg)
    }
}

/// Transport of the throughput scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransportKind {
    Tcp,
    Ipc,
}

impl TransportKind {
    fn describe(self) -> &'static str {
        match self {
            TransportKind::Tcp => "tcp loopback",
            TransportKind::Ipc => "ipc (unix domain socket)",
        }
    }
}

/// Where the binding tool listens, to tell when it is ready.
enum Listen {
    Tcp(u16),
    Ipc(PathBuf),
}

impl Listen {
    fn ready(&self) -> Option<bool> {
        match self {
            Listen::Tcp(port) => is_listening(*port),
            Listen::Ipc(path) => Some(path.exists()),
        }
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        if let Listen::Ipc(path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A fresh endpoint on `transport`: a free loopback port, or a socket path
/// in the temporary directory that nothing uses.
fn new_endpoint(transport: TransportKind) -> Result<(String, Listen), RunError> {
    match transport {
        TransportKind::Tcp => {
            let port = free_port().map_err(RunError::Failed)?;
            Ok((format!("tcp://127.0.0.1:{port}"), Listen::Tcp(port)))
        }
        TransportKind::Ipc => {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::env::temp_dir()
                .join(format!("monocoque-compare-{}-{n}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            Ok((format!("ipc://{}", path.display()), Listen::Ipc(path)))
        }
    }
}

/// Starts `local` (which binds `listen`), waits for it to listen, starts
/// `remote`, and waits for both; returns their stdouts.
fn run_two(
    local: (&ToolCmd, &str, &[String]),
    remote: (&ToolCmd, &str, &[String]),
    listen: &Listen,
    timeout: Duration,
    what: &str,
) -> Result<(String, String), RunError> {
    let (local_tool, local_name, local_args) = local;
    let (remote_tool, remote_name, remote_args) = remote;
    let deadline = Instant::now() + timeout;

    let mut local = Proc::spawn(local_tool, local_args).map_err(RunError::Failed)?;
    // Wait for the bound socket to listen so the peer's first connect
    // attempt succeeds (every implementation would retry anyway).
    let listen_deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match listen.ready() {
            Some(true) => break,
            Some(false) if Instant::now() < listen_deadline => {}
            Some(false) => {
                return Err(RunError::Failed(format!(
                    "{local_name} did not start listening within 10 s"
                )));
            }
            None => {
                std::thread::sleep(Duration::from_millis(300));
                break;
            }
        }
        if local.poll().is_some() {
            let (_, err) = local.output();
            return Err(describe_exit(local_name, local.status, &err));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut remote = Proc::spawn(remote_tool, remote_args).map_err(RunError::Failed)?;

    loop {
        let l = local.poll();
        let r = remote.poll();
        if l.is_some() && r.is_some() {
            break;
        }
        // A peer that failed leaves the other one waiting forever.
        if let Some(st) = r
            && !st.success()
        {
            local.kill();
            break;
        }
        if let Some(st) = l
            && !st.success()
        {
            remote.kill();
            break;
        }
        if Instant::now() >= deadline {
            local.kill();
            remote.kill();
            return Err(RunError::Failed(format!(
                "timed out after {:.0} s ({what})",
                timeout.as_secs_f64()
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let (local_out, local_err) = local.output();
    let (remote_out, remote_err) = remote.output();
    if !remote.status.is_some_and(|s| s.success()) {
        return Err(describe_exit(remote_name, remote.status, &remote_err));
    }
    if !local.status.is_some_and(|s| s.success()) {
        return Err(describe_exit(local_name, local.status, &local_err));
    }
    Ok((local_out, remote_out))
}

fn run_pair(
    tools: &Tools,
    variant: Variant,
    size: usize,
    count: u64,
    timeout: Duration,
    transport: TransportKind,
) -> Result<ParsedThroughput, RunError> {
    let (endpoint, listen) = new_endpoint(transport)?;
    let common = [endpoint, size.to_string(), count.to_string()];
    let with = |peer: Peer| {
        let mut a = common.to_vec();
        a.extend(peer.tool_args());
        a
    };
    let (local_out, _) = run_two(
        (&tools.local, "local_thr", &with(variant.recv)),
        (&tools.remote, "remote_thr", &with(variant.send)),
        &listen,
        timeout,
        &format!("{count} messages"),
    )?;
    let parsed = parse_throughput(&local_out).map_err(RunError::Failed)?;
    if parsed.count != count || parsed.size != size {
        return Err(RunError::Failed(format!(
            "local_thr reported {} x {} B, expected {count} x {size} B",
            parsed.count, parsed.size
        )));
    }
    Ok(parsed)
}

/// One local_lat/remote_lat pair (`remote_lat --histogram`), both sides on
/// `peer`.
fn run_lat_pair(
    tools: &Tools,
    peer: Peer,
    size: usize,
    roundtrips: u64,
    timeout: Duration,
) -> Result<ParsedLatency, RunError> {
    let (endpoint, listen) = new_endpoint(TransportKind::Tcp)?;
    let mut args = vec![endpoint, size.to_string(), roundtrips.to_string()];
    args.extend(peer.tool_args());
    let local_args = args.clone();
    args.push("--histogram".into());
    let (_, remote_out) = run_two(
        (&tools.lat_local, "local_lat", &local_args),
        (&tools.lat_remote, "remote_lat", &args),
        &listen,
        timeout,
        &format!("{roundtrips} roundtrips"),
    )?;
    let parsed = parse_latency(&remote_out).map_err(RunError::Failed)?;
    if parsed.roundtrips != roundtrips || parsed.size != size || parsed.percentiles.is_none() {
        return Err(RunError::Failed(format!(
            "remote_lat reported {} x {} B (percentiles: {}), expected {roundtrips} x {size} B",
            parsed.roundtrips,
            parsed.size,
            parsed.percentiles.is_some()
        )));
    }
    Ok(parsed)
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

// ---------------------------------------------------------------------------
// The benchmark

struct Row {
    variant: Variant,
    size: usize,
    count: u64,
    samples: Vec<f64>,
    errors: Vec<String>,
    skipped: bool,
}

impl Row {
    fn summary(&self) -> Option<Summary> {
        summarize(&self.samples)
    }
}

fn run(opts: &Options) -> Result<(), String> {
    let exe_path = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let bin_dir = exe_path
        .parent()
        .ok_or("current_exe has no parent directory")?
        .to_path_buf();
    let out_dir = match &opts.out_dir {
        Some(d) => d.clone(),
        // <target-dir>/<profile>/compare -> <target-dir>/bench-report
        None => bin_dir
            .parent()
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
    let tools = locate_tools(&exe_path, opts.self_exec, &mut notes);
    let variants = variants(opts, &mut notes);
    for n in &notes {
        eprintln!("compare: note: {n}");
    }
    if variants.is_empty() && opts.throughput {
        return Err("nothing to run".into());
    }
    let machine = Machine::detect();
    eprintln!(
        "compare: {} variant(s) x {} size(s), {} run(s) each; {}; libzmq {}",
        variants.len(),
        opts.sizes.len(),
        opts.runs,
        machine.summary(),
        monocoque_bench::libzmq_version().unwrap_or_else(|| "not built in".into()),
    );

    if opts.throughput {
        run_throughput(opts, &tools, &variants, &machine, &notes, &out_dir)?;
    }
    if opts.latency {
        run_latency(opts, &tools, &machine, &notes, &out_dir)?;
    }
    Ok(())
}

/// The PUSH/PULL throughput scenario: runs, table, throughput.{md,json}.
fn run_throughput(
    opts: &Options,
    tools: &Tools,
    variants: &[Variant],
    machine: &Machine,
    notes: &[String],
    out_dir: &Path,
) -> Result<(), String> {
    let started = Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    // Variants that cannot run ("not available") or failed at a size are
    // not tried at the next sizes (a hanging run costs a whole timeout).
    let mut given_up: Vec<Variant> = Vec::new();
    let give_up = |variant: Variant, e: &RunError, given_up: &mut Vec<Variant>| {
        if (opts.keep_going && matches!(e, RunError::Failed(_))) || given_up.contains(&variant) {
            return;
        }
        eprintln!(
            "compare: not running {} at the remaining sizes (--keep-going would)",
            variant.label()
        );
        given_up.push(variant);
    };
    for &size in &opts.sizes {
        let base = opts.base_count(size);
        let mut size_rows: Vec<Row> = variants
            .iter()
            .map(|&variant| Row {
                variant,
                size,
                count: base,
                samples: Vec::new(),
                errors: Vec::new(),
                skipped: given_up.contains(&variant),
            })
            .collect();

        // Probe: pick the count for about target_secs per run; also a
        // warm-up. Never more than the base count, so slow
        // implementations get shorter runs, not longer ones.
        for row in size_rows.iter_mut().filter(|r| !r.skipped) {
            let tag = format!("[{} {}]", row.variant.label(), fmt_size(size));
            if opts.fixed_counts {
                continue;
            }
            let probe_count = (base / 20).max(100);
            let probe_timeout = opts.timeout.min(Duration::from_secs(20));
            match run_pair(
                tools,
                row.variant,
                size,
                probe_count,
                probe_timeout,
                opts.transport,
            ) {
                Ok(p) => {
                    let want = (p.msgs_per_sec * opts.target_secs) as u64;
                    // The raw limit is 10-20x faster than the base counts
                    // assume at small sizes: let its runs grow too.
                    let cap = if row.variant.recv == Peer::Raw {
                        base.saturating_mul(20)
                    } else {
                        base
                    };
                    row.count = want.clamp(probe_count.min(base), cap);
                    eprintln!(
                        "{tag} probe: {} msg/s -> {} messages per run",
                        fmt_int(p.msgs_per_sec),
                        fmt_int(row.count as f64)
                    );
                }
                Err(e) => {
                    eprintln!("{tag} probe failed: {e}");
                    give_up(row.variant, &e, &mut given_up);
                    row.errors.push(format!("probe: {e}"));
                    row.skipped = true;
                }
            }
        }

        for run_no in 1..=opts.runs {
            for row in size_rows.iter_mut().filter(|r| !r.skipped) {
                let tag = format!("[{} {}]", row.variant.label(), fmt_size(size));
                let t0 = Instant::now();
                match run_pair(
                    tools,
                    row.variant,
                    size,
                    row.count,
                    opts.timeout,
                    opts.transport,
                ) {
                    Ok(p) => {
                        eprintln!(
                            "{tag} run {run_no}/{}: {} msg/s ({:.2} s)",
                            opts.runs,
                            fmt_int(p.msgs_per_sec),
                            t0.elapsed().as_secs_f64()
                        );
                        row.samples.push(p.msgs_per_sec);
                    }
                    Err(e) => {
                        eprintln!("{tag} run {run_no}/{} failed: {e}", opts.runs);
                        row.errors.push(format!("run {run_no}: {e}"));
                        if matches!(e, RunError::Unavailable(_))
                            || row.errors.len() >= 2 && row.samples.is_empty()
                        {
                            give_up(row.variant, &e, &mut given_up);
                            row.skipped = true;
                        }
                    }
                }
            }
        }
        rows.extend(size_rows);
    }

    let report = Report {
        opts,
        rows: &rows,
        notes,
        machine,
        elapsed: started.elapsed(),
    };
    let table = report.table();
    println!("\n{table}");
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let md = out_dir.join("throughput.md");
    let json = out_dir.join("throughput.json");
    std::fs::write(&md, report.markdown())
        .map_err(|e| format!("cannot write {}: {e}", md.display()))?;
    std::fs::write(&json, report.json())
        .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    eprintln!(
        "compare: wrote {} and {} ({:.0} s)",
        md.display(),
        json.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// REQ/REP latency

struct LatRow {
    peer: Peer,
    size: usize,
    /// One entry per successful run.
    runs: Vec<ParsedLatency>,
    errors: Vec<String>,
    skipped: bool,
}

/// Medians over the runs of the mean, p50 and p99 one-way latency (us).
#[derive(Debug, Clone, Copy, PartialEq)]
struct LatSummary {
    mean: f64,
    p50: f64,
    p99: f64,
}

impl LatRow {
    fn summary(&self) -> Option<LatSummary> {
        let med = |f: fn(&ParsedLatency) -> Option<f64>| {
            let v: Option<Vec<f64>> = self.runs.iter().map(f).collect();
            summarize(&v?).map(|s| s.median)
        };
        Some(LatSummary {
            mean: med(|r| Some(r.mean_us))?,
            p50: med(|r| r.percentiles.map(|p| p.p50))?,
            p99: med(|r| r.percentiles.map(|p| p.p99))?,
        })
    }
}

/// The REQ/REP latency scenario: libzmq and monocoque on each runtime, both
/// ends on the same implementation; runs, table, latency.{md,json}.
fn run_latency(
    opts: &Options,
    tools: &Tools,
    machine: &Machine,
    notes: &[String],
    out_dir: &Path,
) -> Result<(), String> {
    let mut peers = Vec::new();
    if opts.impls.contains(&Impl::Libzmq) && monocoque_bench::HAS_LIBZMQ {
        peers.push(Peer::Libzmq);
    }
    if opts.impls.contains(&Impl::Monocoque) && monocoque_bench::HAS_MONOCOQUE {
        peers.extend(opts.runtimes.iter().map(|&rt| Peer::Monocoque(rt)));
    }
    if peers.is_empty() {
        return Err("nothing to run for latency".into());
    }
    eprintln!(
        "compare: latency: {} implementation(s) x {} size(s), {} run(s) of {} roundtrips each",
        peers.len(),
        opts.lat_sizes.len(),
        opts.runs,
        opts.roundtrips
    );
    let started = Instant::now();
    let mut rows: Vec<LatRow> = Vec::new();
    let mut given_up: Vec<Peer> = Vec::new();
    for &size in &opts.lat_sizes {
        let mut size_rows: Vec<LatRow> = peers
            .iter()
            .map(|&peer| LatRow {
                peer,
                size,
                runs: Vec::new(),
                errors: Vec::new(),
                skipped: given_up.contains(&peer),
            })
            .collect();
        // Warm-up run (page cache, CPU frequency), not recorded.
        for row in size_rows.iter_mut().filter(|r| !r.skipped) {
            let warm = (opts.roundtrips / 10).max(10);
            if let Err(e) = run_lat_pair(tools, row.peer, size, warm, opts.timeout) {
                eprintln!(
                    "[{} {} latency] warm-up failed: {e}",
                    row.peer.label(),
                    fmt_size(size)
                );
                row.errors.push(format!("warm-up: {e}"));
                row.skipped = true;
                if !opts.keep_going || matches!(e, RunError::Unavailable(_)) {
                    given_up.push(row.peer);
                }
            }
        }
        for run_no in 1..=opts.runs {
            for row in size_rows.iter_mut().filter(|r| !r.skipped) {
                let tag = format!("[{} {} latency]", row.peer.label(), fmt_size(size));
                match run_lat_pair(tools, row.peer, size, opts.roundtrips, opts.timeout) {
                    Ok(p) => {
                        let pct = p.percentiles.unwrap_or(Percentiles {
                            p50: f64::NAN,
                            p90: f64::NAN,
                            p99: f64::NAN,
                            max: f64::NAN,
                        });
                        eprintln!(
                            "{tag} run {run_no}/{}: mean {:.2} us, p50 {:.2} us, p99 {:.2} us",
                            opts.runs, p.mean_us, pct.p50, pct.p99
                        );
                        row.runs.push(p);
                    }
                    Err(e) => {
                        eprintln!("{tag} run {run_no}/{} failed: {e}", opts.runs);
                        row.errors.push(format!("run {run_no}: {e}"));
                        if row.errors.len() >= 2 && row.runs.is_empty() {
                            row.skipped = true;
                        }
                    }
                }
            }
        }
        rows.extend(size_rows);
    }
    let report = LatReport {
        opts,
        rows: &rows,
        notes,
        machine,
        elapsed: started.elapsed(),
    };
    println!("\n{}", report.table());
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let md = out_dir.join("latency.md");
    let json = out_dir.join("latency.json");
    std::fs::write(&md, report.markdown())
        .map_err(|e| format!("cannot write {}: {e}", md.display()))?;
    std::fs::write(&json, report.json())
        .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    eprintln!(
        "compare: wrote {} and {} ({:.0} s)",
        md.display(),
        json.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

struct LatReport<'a> {
    opts: &'a Options,
    rows: &'a [LatRow],
    notes: &'a [String],
    machine: &'a Machine,
    elapsed: Duration,
}

impl LatReport<'_> {
    fn baseline(&self, size: usize) -> Option<LatSummary> {
        self.rows
            .iter()
            .find(|r| r.size == size && r.peer == Peer::Libzmq)
            .and_then(LatRow::summary)
    }

    /// Ours over libzmq's (mean, p50, p99): above 1 is slower.
    fn ratios(&self, row: &LatRow) -> Option<[f64; 3]> {
        let b = self.baseline(row.size)?;
        let s = row.summary()?;
        let r = |x: f64, y: f64| if y > 0.0 { x / y } else { f64::NAN };
        Some([r(s.mean, b.mean), r(s.p50, b.p50), r(s.p99, b.p99)])
    }

    fn headline(&self) -> String {
        format!(
            "REQ/REP latency, tcp loopback, REP (local_lat) and REQ (remote_lat) in separate processes; {} roundtrips x {} run(s) per row; one-way us (half a roundtrip), medians over runs",
            self.opts.roundtrips, self.opts.runs
        )
    }

    fn cells(&self, row: &LatRow) -> [String; 8] {
        let s = row.summary();
        let us =
            |f: fn(&LatSummary) -> f64| s.as_ref().map_or("-".into(), |s| format!("{:.2}", f(s)));
        let status = if !row.errors.is_empty() {
            "failed"
        } else if row.skipped {
            "skipped"
        } else {
            "-"
        };
        let ratios = self.ratios(row);
        let ratio = |i: usize| ratios.map_or("-".into(), |r| format!("{:.2}x", r[i]));
        [
            row.peer.label(),
            fmt_size(row.size),
            s.as_ref()
                .map_or(status.into(), |s| format!("{:.2}", s.mean)),
            us(|s| s.p50),
            us(|s| s.p99),
            ratio(0),
            ratio(1),
            ratio(2),
        ]
    }

    const HEADER: [&'static str; 8] = [
        "impl/runtime",
        "size",
        "mean us",
        "p50 us",
        "p99 us",
        "mean vs libzmq",
        "p50 vs libzmq",
        "p99 vs libzmq",
    ];

    fn table(&self) -> String {
        let lines: Vec<[String; 8]> = self.rows.iter().map(|r| self.cells(r)).collect();
        let mut widths = Self::HEADER.map(str::len);
        for l in &lines {
            for (w, cell) in widths.iter_mut().zip(l) {
                *w = (*w).max(cell.len());
            }
        }
        let mut out = format!("{}\n", self.headline());
        let fmt_line = |cells: &[&str], out: &mut String| {
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i == 0 {
                    let _ = write!(out, "{cell:<w$}");
                } else {
                    let _ = write!(out, "  {cell:>w$}");
                }
            }
            out.push('\n');
        };
        fmt_line(&Self::HEADER, &mut out);
        let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
        out.push_str(&"-".repeat(total));
        out.push('\n');
        let mut last_size = None;
        for (l, row) in lines.iter().zip(self.rows) {
            if last_size.is_some_and(|s| s != row.size) {
                out.push('\n');
            }
            last_size = Some(row.size);
            let refs: Vec<&str> = l.iter().map(String::as_str).collect();
            fmt_line(&refs, &mut out);
        }
        for row in self.rows.iter().filter(|r| !r.errors.is_empty()) {
            let _ = writeln!(
                out,
                "! {} {}: {}",
                row.peer.label(),
                fmt_size(row.size),
                row.errors.join("; ")
            );
        }
        out
    }

    fn markdown(&self) -> String {
        let mut out = String::from("# monocoque vs libzmq: REQ/REP latency\n\n");
        let _ = writeln!(out, "{}.\n", self.headline());
        let _ = writeln!(
            out,
            "- date: {}\n- machine: {}\n- libzmq: {} (vendored, via the `zmq` crate)\n- each run: `local_lat` (REP, binds) and `remote_lat --histogram` (REQ, connects, times every roundtrip), after one unrecorded warm-up run per row\n- columns: medians over the runs of the mean, p50 and p99 one-way latency; `vs libzmq` = ours / libzmq's (above 1 is slower)\n- total time: {:.0} s\n",
            utc_string(self.machine.unix_time),
            self.machine.summary(),
            monocoque_bench::libzmq_version().unwrap_or_else(|| "not built in".into()),
            self.elapsed.as_secs_f64(),
        );
        let _ = writeln!(out, "| {} |", Self::HEADER.join(" | "));
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for row in self.rows {
            let _ = writeln!(out, "| {} |", self.cells(row).join(" | "));
        }
        let failures = (self.rows.iter()).map(|r| (r.peer.label(), r.size, r.errors.as_slice()));
        append_failures_and_notes(&mut out, failures, self.notes);
        out
    }

    fn json(&self) -> String {
        let mut out = String::from("{\n");
        let _ = writeln!(out, "  \"benchmark\": \"req_rep_latency\",");
        let _ = writeln!(out, "  \"transport\": \"tcp loopback\",");
        let _ = writeln!(
            out,
            "  \"unit\": \"one-way microseconds (half a roundtrip)\","
        );
        let _ = writeln!(out, "  \"unix_time\": {},", self.machine.unix_time);
        let _ = writeln!(
            out,
            "  \"machine\": {{\"cpu\": {}, \"cores\": {}, \"kernel\": {}}},",
            json_str(&self.machine.cpu),
            self.machine.cores,
            json_str(&self.machine.kernel)
        );
        let _ = writeln!(
            out,
            "  \"libzmq_version\": {},",
            monocoque_bench::libzmq_version().map_or("null".into(), |v| json_str(&v))
        );
        let _ = writeln!(
            out,
            "  \"settings\": {{\"runs\": {}, \"roundtrips\": {}, \"quick\": {}, \"optimized\": {}}},",
            self.opts.runs,
            self.opts.roundtrips,
            self.opts.quick,
            !cfg!(debug_assertions)
        );
        let _ = writeln!(
            out,
            "  \"elapsed_secs\": {:.1},",
            self.elapsed.as_secs_f64()
        );
        out.push_str("  \"results\": [\n");
        let items: Vec<String> = self
            .rows
            .iter()
            .map(|row| {
                let s = row.summary();
                let ratios = self.ratios(row);
                let list = |f: fn(&ParsedLatency) -> Option<f64>| {
                    row.runs
                        .iter()
                        .map(|r| json_num(f(r)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!(
                    "    {{\"label\": {}, \"impl\": {}, \"runtime\": {}, \"size\": {}, \"runs_mean_us\": [{}], \"runs_p50_us\": [{}], \"runs_p99_us\": [{}], \"mean_us\": {}, \"p50_us\": {}, \"p99_us\": {}, \"ratio_vs_libzmq\": {{\"mean\": {}, \"p50\": {}, \"p99\": {}}}, \"errors\": [{}]}}",
                    json_str(&row.peer.label()),
                    json_str(row.peer.imp().name()),
                    row.peer.runtime().map_or("null".into(), |r| json_str(r.name())),
                    row.size,
                    list(|r| Some(r.mean_us)),
                    list(|r| r.percentiles.map(|p| p.p50)),
                    list(|r| r.percentiles.map(|p| p.p99)),
                    json_num(s.map(|s| s.mean)),
                    json_num(s.map(|s| s.p50)),
                    json_num(s.map(|s| s.p99)),
                    json_num(ratios.map(|r| r[0])),
                    json_num(ratios.map(|r| r[1])),
                    json_num(ratios.map(|r| r[2])),
                    row.errors
                        .iter()
                        .map(|e| json_str(e))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        out.push_str(&items.join(",\n"));
        out.push_str("\n  ]\n}\n");
        out
    }
}

// ---------------------------------------------------------------------------
// Machine description

struct Machine {
    cpu: String,
    cores: usize,
    kernel: String,
    unix_time: u64,
}

impl Machine {
    fn detect() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| format!("Linux {}", s.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.to_owned());
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel,
            unix_time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    fn summary(&self) -> String {
        format!("{}, {} cores, {}", self.cpu, self.cores, self.kernel)
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` from seconds since the Unix epoch.
fn utc_string(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days since 1970-01-01 to a proleptic Gregorian date, counting in
    // 400-year eras that start on March 1st.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------
// Report

fn fmt_size(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// Rounds and groups thousands: 1234567.8 -> "1,234,568".
fn fmt_int(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => "null".into(),
    }
}

struct Report<'a> {
    opts: &'a Options,
    rows: &'a [Row],
    notes: &'a [String],
    machine: &'a Machine,
    elapsed: Duration,
}

/// One formatted table line.
struct Cells {
    label: String,
    size: String,
    count: String,
    median: String,
    min: String,
    max: String,
    mbs: String,
    ratio: String,
}

impl Report<'_> {
    fn baseline(&self, size: usize) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.size == size && r.variant.is_libzmq_baseline())
            .and_then(|r| r.summary())
            .map(|s| s.median)
    }

    fn ratio(&self, row: &Row) -> Option<f64> {
        let base = self.baseline(row.size)?;
        let s = row.summary()?;
        (base > 0.0).then(|| s.median / base)
    }

    fn cells(&self, row: &Row) -> Cells {
        let s = row.summary();
        let num = |f: fn(&Summary) -> f64| s.as_ref().map_or("-".into(), |s| fmt_int(f(s)));
        Cells {
            label: row.variant.label(),
            size: fmt_size(row.size),
            count: if s.is_some() {
                fmt_int(row.count as f64)
            } else {
                "-".into()
            },
            median: match &s {
                Some(s) => fmt_int(s.median),
                None if !row.errors.is_empty() => "failed".into(),
                None if row.skipped => "skipped".into(),
                None => "-".into(),
            },
            min: num(|s| s.min),
            max: num(|s| s.max),
            mbs: s.as_ref().map_or("-".into(), |s| {
                format!("{:.1}", s.median * row.size as f64 / 1e6)
            }),
            ratio: self.ratio(row).map_or("-".into(), |r| format!("{r:.2}x")),
        }
    }

    fn headline(&self) -> String {
        format!(
            "PUSH/PULL throughput, {}, default options, sender and receiver in separate processes; {} run(s) per row, msg/s",
            self.opts.transport.describe(),
            self.opts.runs
        )
    }

    fn table(&self) -> String {
        let header = [
            "impl/runtime",
            "size",
            "count",
            "median msg/s",
            "min",
            "max",
            "MB/s",
            "vs libzmq",
        ];
        let lines: Vec<[String; 8]> = self
            .rows
            .iter()
            .map(|r| {
                let c = self.cells(r);
                [
                    c.label, c.size, c.count, c.median, c.min, c.max, c.mbs, c.ratio,
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for l in &lines {
            for (w, cell) in widths.iter_mut().zip(l) {
                *w = (*w).max(cell.len());
            }
        }
        let mut out = format!("{}\n", self.headline());
        let fmt_line = |cells: &[&str], out: &mut String| {
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i == 0 {
                    let _ = write!(out, "{cell:<w$}");
                } else {
                    let _ = write!(out, "  {cell:>w$}");
                }
            }
            out.push('\n');
        };
        fmt_line(&header, &mut out);
        let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
        out.push_str(&"-".repeat(total));
        out.push('\n');
        let mut last_size = None;
        for (l, row) in lines.iter().zip(self.rows) {
            if last_size.is_some_and(|s| s != row.size) {
                out.push('\n');
            }
            last_size = Some(row.size);
            let refs: Vec<&str> = l.iter().map(String::as_str).collect();
            fmt_line(&refs, &mut out);
        }
        for row in self.rows.iter().filter(|r| !r.errors.is_empty()) {
            let _ = writeln!(
                out,
                "! {} {}: {}",
                row.variant.label(),
                fmt_size(row.size),
                row.errors.join("; ")
            );
        }
        for n in self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }

    fn markdown(&self) -> String {
        let mut out = String::from("# monocoque vs libzmq: PUSH/PULL throughput\n\n");
        let _ = writeln!(out, "{}.\n", self.headline());
        let _ = writeln!(
            out,
            "- date: {}\n- machine: {}\n- libzmq: {} (vendored, via the `zmq` crate)\n- runs per row: {}; message count per run picked by a probe run for about {:.1} s{}\n- columns: median, min and max over the runs of `local_thr`'s mean throughput (first to last message); MB/s = median x size / 10^6; `vs libzmq` = median / libzmq's median at that size\n- `a<-b`: `a` receives (PULL, `local_thr`), `b` sends (PUSH, `remote_thr`)\n- total time: {:.0} s\n",
            utc_string(self.machine.unix_time),
            self.machine.summary(),
            monocoque_bench::libzmq_version().unwrap_or_else(|| "not built in".into()),
            self.opts.runs,
            self.opts.target_secs,
            if self.opts.fixed_counts {
                " (disabled: fixed counts)"
            } else {
                ""
            },
            self.elapsed.as_secs_f64(),
        );
        out.push_str(
            "| impl/runtime | size | count | median msg/s | min | max | MB/s | vs libzmq |\n",
        );
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for row in self.rows {
            let c = self.cells(row);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                c.label, c.size, c.count, c.median, c.min, c.max, c.mbs, c.ratio
            );
        }
        let failures = (self.rows.iter()).map(|r| (r.variant.label(), r.size, r.errors.as_slice()));
        append_failures_and_notes(&mut out, failures, self.notes);
        out
    }

    fn json(&self) -> String {
        let mut out = String::from("{\n");
        let _ = writeln!(out, "  \"benchmark\": \"push_pull_throughput\",");
        let _ = writeln!(
            out,
            "  \"transport\": {},",
            json_str(self.opts.transport.describe())
        );
        let _ = writeln!(out, "  \"unix_time\": {},", self.machine.unix_time);
        let _ = writeln!(
            out,
            "  \"date\": {},",
            json_str(&utc_string(self.machine.unix_time))
        );
        let _ = writeln!(
            out,
            "  \"machine\": {{\"cpu\": {}, \"cores\": {}, \"kernel\": {}}},",
            json_str(&self.machine.cpu),
            self.machine.cores,
            json_str(&self.machine.kernel)
        );
        let _ = writeln!(
            out,
            "  \"libzmq_version\": {},",
            monocoque_bench::libzmq_version().map_or("null".into(), |v| json_str(&v))
        );
        let _ = writeln!(
            out,
            "  \"settings\": {{\"runs\": {}, \"target_secs\": {}, \"fixed_counts\": {}, \"quick\": {}, \"optimized\": {}}},",
            self.opts.runs,
            self.opts.target_secs,
            self.opts.fixed_counts,
            self.opts.quick,
            !cfg!(debug_assertions)
        );
        let _ = writeln!(
            out,
            "  \"elapsed_secs\": {:.1},",
            self.elapsed.as_secs_f64()
        );
        out.push_str("  \"notes\": [");
        out.push_str(
            &self
                .notes
                .iter()
                .map(|n| json_str(n))
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push_str("],\n  \"results\": [\n");
        let items: Vec<String> = self
            .rows
            .iter()
            .map(|row| {
                let s = row.summary();
                let peer = |p: Peer| {
                    format!(
                        "{{\"impl\": {}, \"runtime\": {}}}",
                        json_str(p.imp().name()),
                        p.runtime().map_or("null".into(), |r| json_str(r.name()))
                    )
                };
                format!(
                    "    {{\"label\": {}, \"receiver\": {}, \"sender\": {}, \"size\": {}, \"count\": {}, \"samples_msgs_per_sec\": [{}], \"median_msgs_per_sec\": {}, \"min_msgs_per_sec\": {}, \"max_msgs_per_sec\": {}, \"median_mb_per_sec\": {}, \"ratio_vs_libzmq\": {}, \"errors\": [{}]}}",
                    json_str(&row.variant.label()),
                    peer(row.variant.recv),
                    peer(row.variant.send),
                    row.size,
                    row.count,
                    row.samples
                        .iter()
                        .map(|v| json_num(Some(*v)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    json_num(s.map(|s| s.median)),
                    json_num(s.map(|s| s.min)),
                    json_num(s.map(|s| s.max)),
                    json_num(s.map(|s| s.median * row.size as f64 / 1e6)),
                    json_num(self.ratio(row)),
                    row.errors
                        .iter()
                        .map(|e| json_str(e))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        out.push_str(&items.join(",\n"));
        out.push_str("\n  ]\n}\n");
        out
    }
}

/// The Markdown report's tail, shared by the throughput and latency reports: a "Failures"
/// section listing every row (label, size, errors) that had errors, then the notes.
fn append_failures_and_notes<'a, L: std::fmt::Display>(
    out: &mut String,
    rows: impl Iterator<Item = (L, usize, &'a [String])>,
    notes: &[String],
) {
    let mut failures = rows.filter(|(_, _, errors)| !errors.is_empty()).peekable();
    if failures.peek().is_some() {
        out.push_str("\n## Failures\n\n");
        for (label, size, errors) in failures {
            let errors = errors.join("; ").replace('|', "\\|");
            let _ = writeln!(out, "- {label} {}: {errors}", fmt_size(size));
        }
    }
    if !notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
    }
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
        assert_eq!(o.sizes, vec![64, 16, 256, 1024, 65536]);
        let o = opts(&["--quick", "--sizes", "64,1K,2KiB,3B", "--runs=7"]);
        assert_eq!(o.runs, 7);
        assert!(o.target_secs < 1.0);
        assert_eq!(o.sizes, vec![64, 1024, 2048, 3]);
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
        assert_eq!((o.lat_sizes.clone(), o.roundtrips), (vec![16], 5_000));
        assert_eq!(o.transport, TransportKind::Tcp);
        assert_eq!(opts(&["--transport", "ipc"]).transport, TransportKind::Ipc);
        assert!(Options::parse(["--transport=udp".to_string()]).is_err());
        let o = opts(&["--no-latency", "--roundtrips=7"]);
        assert!(!o.latency && o.throughput && o.roundtrips == 7);
        assert!(
            Options::parse(["--no-latency".to_string(), "--latency-only".to_string()]).is_err()
        );
        assert!(Options::parse(["--bogus".to_string()]).is_err());
        assert!(Options::parse(["--runs".to_string()]).is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_int(0.4), "0");
        assert_eq!(fmt_int(999.0), "999");
        assert_eq!(fmt_int(1000.0), "1,000");
        assert_eq!(fmt_int(1234567.8), "1,234,568");
        assert_eq!(fmt_size(64), "64 B");
        assert_eq!(fmt_size(65536), "64 KiB");
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(utc_string(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_string(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_string(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn labels() {
        let m = Peer::Monocoque(Runtime::AsyncStd);
        let v = Variant {
            recv: m,
            send: Peer::Libzmq,
        };
        assert_eq!(v.label(), "monocoque/async-std<-libzmq");
        assert!(!v.is_libzmq_baseline());
        assert_eq!(
            m.tool_args(),
            ["--impl", "monocoque", "--runtime", "async-std"]
        );
    }
}
