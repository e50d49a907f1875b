//! `idle_conns`: what one idle connection costs a ROUTER socket, in
//! resident memory.
//!
//! ```text
//! idle_conns server <bind-to> <connections> [--impl monocoque|libzmq] [--runtime tokio|async-std|smol]
//!                   [--messages N]
//! idle_conns clients <connect-to> <connections> [--threads N] [--messages N] [--size OCTETS]
//! idle_conns measure <connections> [--impl ..] [--runtime ..] [--threads N] [--timeout SECS]
//!                    [--messages N] [--size OCTETS]
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
//! (requested, whether or not its pages were ever touched) per connection.

pub mod client;
pub mod measure;
pub mod mem;
pub mod server;

use std::fmt;
use std::io::{Read, Write};
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser};

use crate::Result;
use crate::args::{Impl, On};
use crate::imp::implementation;
use crate::tools::{EXIT_FAILURE, EXIT_UNAVAILABLE};

/// Client threads by default: handshakes in flight at once.
pub const DEFAULT_THREADS: usize = 8;

/// How long the server waits after binding before its first RSS reading.
pub const SETTLE_BEFORE: Duration = Duration::from_millis(300);

/// The `idle_conns` command line.
#[derive(Debug, Parser)]
#[command(
    name = "idle_conns",
    about = "Memory per idle connection on one ROUTER socket"
)]
enum Cli {
    /// Binds one ROUTER, waits for <connections> peers, prints the report.
    Server(server::ServerConfig),
    /// Opens <connections> idle ZMTP connections as DEALERs.
    Clients(ClientsArgs),
    /// Runs a server and its clients, and prints the server's report.
    Measure(MeasureArgs),
}

/// A connection count: a positive integer.
pub fn connections() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..)
}

/// `--impl` (monocoque or libzmq) and `--runtime`.
#[derive(Debug, Clone, Copy, Args)]
pub struct ServerSide {
    /// The server's implementation and runtime (monocoque only).
    #[command(flatten)]
    pub on: On,
}

#[derive(Debug, Args)]
struct ClientsArgs {
    /// The server's endpoint, `tcp://host:port`.
    #[arg(value_name = "connect-to")]
    endpoint: String,
    /// Connections to open.
    #[arg(value_parser = connections())]
    connections: usize,
    /// Client threads: handshakes in flight at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_THREADS)]
    threads: usize,
    #[command(flatten)]
    traffic: client::Traffic,
}

/// What `idle_conns measure` measures, and how.
#[derive(Debug, Args)]
pub struct MeasureArgs {
    /// Idle connections.
    #[arg(value_parser = connections())]
    pub connections: usize,
    /// The server's side.
    #[command(flatten)]
    pub side: ServerSide,
    /// Client threads: handshakes in flight at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_THREADS)]
    pub threads: usize,
    /// Deadline of the whole run (default: a minute, plus a second per 200
    /// connections).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// What each client sends before going idle.
    #[command(flatten)]
    pub traffic: client::Traffic,
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

fn failed(e: impl fmt::Display) -> i32 {
    eprintln!("idle_conns: error: {e}");
    EXIT_FAILURE
}

/// Fails with a usage error unless the server can run on `side`; returns
/// the exit code to leave with (`Err`) otherwise.
fn check_side(side: &ServerSide) -> Result<(), i32> {
    let imp = side.on.imp;
    let wrong = if !matches!(imp, Impl::Monocoque | Impl::Libzmq) {
        "idle_conns measures --impl monocoque or libzmq"
    } else {
        return implementation(imp, side.on.runtime).map(drop).map_err(|e| {
            eprintln!("idle_conns: --impl {imp} is not available: {e}");
            EXIT_UNAVAILABLE
        });
    };
    eprintln!("idle_conns: {wrong}");
    Err(EXIT_FAILURE)
}

/// The `idle_conns` binary: dispatches on the first argument (`server`,
/// `clients` or `measure`) and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_FAILURE } else { 0 };
        }
    };
    let result = match cli {
        Cli::Server(args) => server_main(args),
        Cli::Clients(args) => clients_main(args),
        Cli::Measure(args) => measure_main(args),
    };
    result.unwrap_or_else(|code| code)
}

/// `idle_conns server`.
fn server_main(config: server::ServerConfig) -> Result<i32, i32> {
    check_side(&config.side)?;
    let run = || -> Result<Report> {
        mem::check_fd_limit(config.connections)?;
        implementation(config.side.on.imp, config.side.on.runtime)?.idle_server(&config)
    };
    run().map(|_| 0).map_err(failed)
}

/// `idle_conns clients`: opens the connections, prints `connected: <n>`,
/// and keeps them open and idle until stdin closes.
fn clients_main(args: ClientsArgs) -> Result<i32, i32> {
    let run = || -> Result<()> {
        mem::check_fd_limit(args.connections)?;
        let addr = client::tcp_address(&args.endpoint)?;
        let streams = client::open_idle(addr, args.connections, args.threads, args.traffic)?;
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
    run().map(|()| 0).map_err(failed)
}

/// `idle_conns measure`.
fn measure_main(args: MeasureArgs) -> Result<i32, i32> {
    check_side(&args.side)?;
    let exe = std::env::current_exe()
        .map_err(|e| failed(format!("cannot find this program's path: {e}")))?;
    let report = measure::measure(&exe, &args).map_err(failed)?;
    let on = args.side.on;
    println!("impl: {}", on.imp);
    if on.imp == Impl::Monocoque {
        println!("runtime: {}", on.runtime);
    }
    if args.traffic != client::Traffic::default() {
        println!(
            "sent per connection before idling: {} x {} [B]",
            args.traffic.messages, args.traffic.size
        );
    }
    print!("{report}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Runtime;

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
        let value = |key| crate::output::value(&text, key);
        assert_eq!(value("memory per connection"), Some(12.0));
        assert_eq!(value("heap per connection"), Some(2.0));
    }

    #[test]
    fn parses_options_anywhere() {
        let parse = |args: &[&str]| Cli::try_parse_from(["idle_conns"].iter().chain(args));
        let Ok(Cli::Measure(m)) = parse(&["measure", "--impl=libzmq", "7", "--runtime", "smol"])
        else {
            panic!("not parsed");
        };
        assert_eq!((m.connections, m.side.on.imp), (7, Impl::Libzmq));
        assert_eq!(m.side.on.runtime, Runtime::Smol);
        assert!(m.timeout.is_none());
        assert!(parse(&["measure", "1", "--bogus=1"]).is_err());
        assert!(parse(&["measure", "0"]).is_err());
        assert!(parse(&["clients", "tcp://h:1", "2", "--messages", "0"]).is_err());
        let Ok(Cli::Server(s)) = parse(&["server", "tcp://h:*", "3"]) else {
            panic!("not parsed");
        };
        assert_eq!(
            (s.bind.as_str(), s.connections, s.messages_per_peer),
            ("tcp://h:*", 3, 1)
        );
    }
}
