//! `idle_conns`: what one idle connection costs a ROUTER socket, in
//! resident memory.
//!
//! ```text
//! idle_conns server <bind-to> <connections> [--impl monocoque|libzmq] [--runtime tokio|async-std|smol]
//!                   [--messages N] [--residency]
//! idle_conns clients <connect-to> <connections> [--threads N] [--messages N] [--size OCTETS]
//! idle_conns measure <connections> [--impl ..] [--runtime ..] [--threads N] [--timeout SECS]
//!                    [--messages N] [--size OCTETS] [--residency]
//! ```
//!
//! - `server` binds one ROUTER socket (`tcp://127.0.0.1:*` picks a port),
//!   waits a moment, reads its own RSS (`VmRSS` of `/proc/self/status`),
//!   prints `endpoint: <bound endpoint>` and `ready`, then waits until
//!   `connections` peers have each completed the handshake and sent their
//!   one message, waits one more second, reads RSS again and prints the
//!   report ([`Report`]). It exits when its stdin closes.
//! - `clients` opens `connections` plain TCP connections, performs the
//!   ZMTP 3.0 NULL handshake by hand on each as a DEALER, sends one
//!   one-octet message, prints `connected: <n>` and keeps them all open and
//!   idle until its stdin closes (or a signal ends it). See [`client`].
//! - `measure` runs both as child processes of this same binary and prints
//!   the server's report. See [`measure`].
//!
//! By default each client sends one one-octet message and then stays idle;
//! `--messages N --size OCTETS` (given to `measure`, or to both `server` and
//! `clients` for `--messages`) makes each send more first, to see what a
//! connection that was busy once costs when idle.
//!
//! With the monocoque server, the binary's global allocator is
//! [`mem::CountingAlloc`], so the report also gives the Rust heap allocated
//! (requested, whether or not its pages were ever touched) per connection;
//! `--residency` adds which of the large per-connection allocations are
//! resident ([`residency`]).

pub mod client;
pub mod measure;
pub mod mem;
pub mod residency;
pub mod server;

use std::fmt;
use std::io::{Read, Write};
use std::time::Duration;

use crate::Result;
use crate::args::Runtime;

/// Exit code for a usage error or a failed run.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code when the requested implementation is not built in.
pub const EXIT_UNAVAILABLE: i32 = 2;

/// Client threads by default: handshakes in flight at once.
pub const DEFAULT_THREADS: usize = 8;

/// How long the server waits after binding before its first RSS reading.
pub const SETTLE_BEFORE: Duration = Duration::from_millis(300);

const USAGE: &str = "usage:
  idle_conns server <bind-to> <connections> [--impl monocoque|libzmq] [--runtime tokio|async-std|smol] [--messages N] [--residency]
  idle_conns clients <connect-to> <connections> [--threads N] [--messages N] [--size OCTETS]
  idle_conns measure <connections> [--impl monocoque|libzmq] [--runtime tokio|async-std|smol] [--threads N] [--timeout SECS] [--messages N] [--size OCTETS] [--residency]";

/// The server implementations `idle_conns` can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// monocoque's `RouterSocket`, on the runtime chosen with `--runtime`.
    Monocoque,
    /// libzmq's ROUTER through the `zmq` crate.
    Libzmq,
}

impl Impl {
    /// The name used on command lines and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Monocoque => "monocoque",
            Impl::Libzmq => "libzmq",
        }
    }

    /// Whether this build has the implementation.
    pub fn available(self) -> bool {
        match self {
            Impl::Monocoque => crate::HAS_MONOCOQUE,
            Impl::Libzmq => crate::HAS_LIBZMQ,
        }
    }
}

impl fmt::Display for Impl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Impl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "monocoque" | "ours" => Ok(Impl::Monocoque),
            "libzmq" | "zmq" => Ok(Impl::Libzmq),
            other => Err(format!(
                "unknown implementation `{other}` (expected monocoque or libzmq)"
            )),
        }
    }
}

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

/// What the server measured. Printed as
///
/// ```text
/// connections: 10000
/// rss before: 4.2 [MiB]
/// rss after: 120.5 [MiB]
/// memory per connection: 12.1 [KiB]
/// ```
///
/// followed, when the Rust heap was counted, by `heap before`, `heap after`
/// and `heap per connection` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Connections open and idle at the second reading.
    pub connections: usize,
    /// RSS in bytes after binding, before any connection.
    pub rss_before: u64,
    /// RSS in bytes with every connection open and idle.
    pub rss_after: u64,
    /// Rust heap in use (bytes) at the first reading, if counted.
    pub heap_before: Option<u64>,
    /// Rust heap in use (bytes) at the second reading, if counted.
    pub heap_after: Option<u64>,
}

impl Report {
    /// Resident memory per connection, in bytes.
    pub fn per_connection(&self) -> f64 {
        (self.rss_after as f64 - self.rss_before as f64) / self.connections.max(1) as f64
    }

    /// Rust heap allocated per connection, in bytes, if counted.
    pub fn heap_per_connection(&self) -> Option<f64> {
        let (before, after) = (self.heap_before?, self.heap_after?);
        Some((after as f64 - before as f64) / self.connections.max(1) as f64)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "connections: {}", self.connections)?;
        writeln!(f, "rss before: {:.1} [MiB]", self.rss_before as f64 / MIB)?;
        writeln!(f, "rss after: {:.1} [MiB]", self.rss_after as f64 / MIB)?;
        writeln!(
            f,
            "memory per connection: {:.1} [KiB]",
            self.per_connection() / KIB
        )?;
        if let (Some(before), Some(after), Some(per)) = (
            self.heap_before,
            self.heap_after,
            self.heap_per_connection(),
        ) {
            writeln!(f, "heap before: {:.1} [MiB]", before as f64 / MIB)?;
            writeln!(f, "heap after: {:.1} [MiB]", after as f64 / MIB)?;
            writeln!(f, "heap per connection: {:.1} [KiB]", per / KIB)?;
        }
        Ok(())
    }
}

/// The number after `name: ` on a report line, e.g. `12.1` from
/// `memory per connection: 12.1 [KiB]`.
pub fn report_value(report: &str, name: &str) -> Option<f64> {
    report.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Positional arguments, `--name value` / `--name=value` options and
/// `--name` flags.
#[derive(Debug, Default)]
struct Parsed {
    positional: Vec<String>,
    options: Vec<(String, String)>,
    flags: Vec<String>,
}

impl Parsed {
    fn new(args: Vec<String>, known: &[&str], flags: &[&str]) -> Result<Parsed, String> {
        let mut parsed = Parsed::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(option) = arg.strip_prefix("--") else {
                parsed.positional.push(arg);
                continue;
            };
            if flags.contains(&option) {
                parsed.flags.push(option.to_string());
                continue;
            }
            let (name, value) = match option.split_once('=') {
                Some((name, value)) => (name.to_string(), value.to_string()),
                None => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("option --{option} needs a value"))?;
                    (option.to_string(), value)
                }
            };
            if !known.contains(&name.as_str()) {
                return Err(format!("unknown option --{name}"));
            }
            parsed.options.push((name, value));
        }
        Ok(parsed)
    }

    fn option<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String>
    where
        T::Err: fmt::Display,
    {
        match self.options.iter().rev().find(|(n, _)| n == name) {
            None => Ok(default),
            Some((_, v)) => v.parse().map_err(|e| format!("--{name} {v}: {e}")),
        }
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    fn positional<const N: usize>(&self, what: &str) -> Result<[&str; N], String> {
        let args: Vec<&str> = self.positional.iter().map(String::as_str).collect();
        args.try_into()
            .map_err(|_| format!("expected {N} arguments: {what}"))
    }
}

fn parse_count(text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "<connections> must be a positive integer, not {text:?}"
        )),
    }
}

/// `--messages N` (at least 1) and `--size OCTETS`.
fn parse_traffic(parsed: &Parsed) -> Result<client::Traffic, String> {
    let default = client::Traffic::default();
    let traffic = client::Traffic {
        messages: parsed.option("messages", default.messages)?,
        size: parsed.option("size", default.size)?,
    };
    if traffic.messages == 0 {
        return Err("--messages must be at least 1 (the server counts them)".into());
    }
    Ok(traffic)
}

fn usage_error(e: impl fmt::Display) -> i32 {
    eprintln!("idle_conns: {e}");
    eprintln!("{USAGE}");
    EXIT_FAILURE
}

fn failed(e: impl fmt::Display) -> i32 {
    eprintln!("idle_conns: error: {e}");
    EXIT_FAILURE
}

fn unavailable(imp: Impl) -> i32 {
    eprintln!("idle_conns: --impl {imp} is not available in this build");
    EXIT_UNAVAILABLE
}

/// The `idle_conns` binary: dispatches on the first argument (`server`,
/// `clients` or `measure`) and returns the exit code.
pub fn main() -> i32 {
    let mut args = std::env::args().skip(1);
    let mode = args.next();
    let rest: Vec<String> = args.collect();
    match mode.as_deref() {
        Some("server") => server_main(rest),
        Some("clients") => clients_main(rest),
        Some("measure") => measure_main(rest),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            0
        }
        Some(other) => usage_error(format!("unknown mode `{other}`")),
        None => usage_error("missing mode"),
    }
}

/// `idle_conns server <bind-to> <connections> [--impl ..] [--runtime ..]`.
pub fn server_main(args: Vec<String>) -> i32 {
    let parsed = match Parsed::new(args, &["impl", "runtime", "messages"], &["residency"]) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let setup = || -> Result<(server::ServerConfig, Impl, Runtime), String> {
        let [bind, n] = parsed.positional("<bind-to> <connections>")?;
        let imp = parsed.option("impl", Impl::Monocoque)?;
        let residency = parsed.flag("residency");
        if residency && imp != Impl::Monocoque {
            return Err("--residency works with --impl monocoque only".into());
        }
        let config = server::ServerConfig {
            bind: bind.to_string(),
            connections: parse_count(n)?,
            messages_per_peer: parse_traffic(&parsed)?.messages,
            settle_before: SETTLE_BEFORE,
            residency,
        };
        Ok((config, imp, parsed.option("runtime", Runtime::Tokio)?))
    };
    let (config, imp, runtime) = match setup() {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    if !imp.available() {
        return unavailable(imp);
    }
    if let Err(e) = mem::check_fd_limit(config.connections) {
        return failed(e);
    }
    match run_server(imp, runtime, &config) {
        Ok(_) => 0,
        Err(e) => failed(e),
    }
}

/// Runs the server on `imp` (which [`Impl::available`] said is built in).
fn run_server(imp: Impl, runtime: Runtime, config: &server::ServerConfig) -> Result<Report> {
    match imp {
        #[cfg(feature = "monocoque-impl")]
        Impl::Monocoque => server::monocoque(runtime, config),
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => server::libzmq(config),
        #[allow(unreachable_patterns)]
        _ => {
            let _ = (runtime, config);
            Err(format!("--impl {imp} is not available in this build").into())
        }
    }
}

/// `idle_conns clients <connect-to> <connections> [--threads N]`.
pub fn clients_main(args: Vec<String>) -> i32 {
    let parsed = match Parsed::new(args, &["threads", "messages", "size"], &[]) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let setup = || -> Result<(String, usize, usize, client::Traffic), String> {
        let [endpoint, n] = parsed.positional("<connect-to> <connections>")?;
        Ok((
            endpoint.to_string(),
            parse_count(n)?,
            parsed.option("threads", DEFAULT_THREADS)?,
            parse_traffic(&parsed)?,
        ))
    };
    let (endpoint, connections, threads, traffic) = match setup() {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let run = || -> Result<()> {
        mem::check_fd_limit(connections)?;
        let addr = client::tcp_address(&endpoint)?;
        let streams = client::open_idle(addr, connections, threads, traffic)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "connected: {}", streams.len())?;
        out.flush()?;
        drop(out);
        // Idle until told to stop.
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        drop(streams);
        Ok(())
    };
    match run() {
        Ok(()) => 0,
        Err(e) => failed(e),
    }
}

/// `idle_conns measure <connections> [--impl ..] [--runtime ..] [--threads N]
/// [--timeout SECS]`.
pub fn measure_main(args: Vec<String>) -> i32 {
    let parsed = match Parsed::new(
        args,
        &["impl", "runtime", "threads", "timeout", "messages", "size"],
        &["residency"],
    ) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let setup = || -> Result<measure::MeasureConfig, String> {
        let [n] = parsed.positional("<connections>")?;
        let connections = parse_count(n)?;
        let default_timeout = measure::MeasureConfig::default_timeout(connections).as_secs();
        let imp = parsed.option("impl", Impl::Monocoque)?;
        let residency = parsed.flag("residency");
        if residency && imp != Impl::Monocoque {
            return Err("--residency works with --impl monocoque only".into());
        }
        Ok(measure::MeasureConfig {
            connections,
            imp,
            traffic: parse_traffic(&parsed)?,
            residency,
            runtime: parsed.option("runtime", Runtime::Tokio)?,
            threads: parsed.option("threads", DEFAULT_THREADS)?,
            timeout: Duration::from_secs(parsed.option("timeout", default_timeout)?),
        })
    };
    let config = match setup() {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    if !config.imp.available() {
        return unavailable(config.imp);
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return failed(format!("cannot find this program's path: {e}")),
    };
    match measure::measure(&exe, &config) {
        Ok(report) => {
            println!("impl: {}", config.imp);
            if config.imp == Impl::Monocoque {
                println!("runtime: {}", config.runtime);
            }
            if config.traffic != client::Traffic::default() {
                println!(
                    "sent per connection before idling: {} x {} [B]",
                    config.traffic.messages, config.traffic.size
                );
            }
            print!("{report}");
            0
        }
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trip() {
        let report = Report {
            connections: 10_000,
            rss_before: 4 * 1024 * 1024,
            rss_after: 4 * 1024 * 1024 + 10_000 * 12 * 1024,
            heap_before: Some(1024 * 1024),
            heap_after: Some(1024 * 1024 + 10_000 * 2048),
        };
        let text = report.to_string();
        assert!(text.starts_with("connections: 10000\nrss before: 4.0 [MiB]\n"));
        assert_eq!(report_value(&text, "memory per connection"), Some(12.0));
        assert_eq!(report_value(&text, "heap per connection"), Some(2.0));
        assert_eq!(report_value(&text, "connections"), Some(10_000.0));
    }

    #[test]
    fn parses_options_anywhere() {
        let args = ["a", "--impl=libzmq", "b", "--runtime", "smol"].map(String::from);
        let parsed = Parsed::new(args.to_vec(), &["impl", "runtime"], &["residency"]).unwrap();
        assert_eq!(parsed.positional::<2>("x").unwrap(), ["a", "b"]);
        assert_eq!(parsed.option("impl", Impl::Monocoque), Ok(Impl::Libzmq));
        assert_eq!(parsed.option("runtime", Runtime::Tokio), Ok(Runtime::Smol));
        assert!(!parsed.flag("residency"));
        assert!(Parsed::new(vec!["--bogus=1".into()], &["impl"], &[]).is_err());
        let parsed = Parsed::new(vec!["--residency".into()], &[], &["residency"]).unwrap();
        assert!(parsed.flag("residency"));
    }
}
