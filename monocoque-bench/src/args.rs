//! Command-line parsing shared by the perf tools.
//!
//! Every tool takes three positional arguments (endpoint, message size, and a
//! message or roundtrip count), as libzmq's tools do, plus two options:
//! `--impl monocoque|libzmq|zeromq|omq|raw` and
//! `--runtime tokio|async-std|smol` (the runtime only matters for
//! monocoque). Options may come anywhere, as
//! `--impl X` or `--impl=X`. `remote_lat` also takes the flag `--histogram`:
//! it then times every roundtrip and prints percentiles after libzmq's lines.
//!
//! The many-socket scenario tools take a fourth positional argument, the
//! number of subscribers or peers, and the fan-out pair also the option
//! `--sync host:port` (see [`parse_scenario_args`]).

use std::fmt;
use std::str::FromStr;

/// Which ZeroMQ implementation a tool runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Impl {
    /// monocoque, this project.
    Monocoque,
    /// libzmq through the `zmq` crate.
    Libzmq,
    /// zmq.rs, the `zeromq` crate (throughput tools only, on tokio).
    Zeromq,
    /// omq, the `omq-tokio` crate (throughput tools only, on tokio).
    Omq,
    /// Plain blocking TCP with ZMTP framing, perfectly batched: the
    /// loopback limit (throughput tools only).
    Raw,
}

impl Impl {
    /// The name used on command lines and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Monocoque => "monocoque",
            Impl::Libzmq => "libzmq",
            Impl::Zeromq => "zeromq",
            Impl::Omq => "omq",
            Impl::Raw => "raw",
        }
    }
}

impl fmt::Display for Impl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Impl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "monocoque" | "ours" => Ok(Impl::Monocoque),
            "libzmq" | "zmq" => Ok(Impl::Libzmq),
            "zeromq" | "zmq.rs" | "zmqrs" => Ok(Impl::Zeromq),
            "omq" | "omq-tokio" => Ok(Impl::Omq),
            "raw" => Ok(Impl::Raw),
            other => Err(format!(
                "unknown implementation `{other}` (expected monocoque, libzmq, zeromq, omq or raw)"
            )),
        }
    }
}

/// Which async runtime monocoque runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    /// tokio's multi-thread runtime with the default worker count.
    Tokio,
    /// `async_std::task::block_on`.
    AsyncStd,
    /// `smol::block_on`, connections on smol's global executor (its own thread).
    Smol,
    /// tokio's current-thread runtime: the application and its connections on one thread.
    TokioCurrentThread,
    /// `smol::block_on(executor.run(..))` with the connections on that executor: the
    /// application and its connections on one thread.
    SmolSingleThread,
}

impl Runtime {
    /// Each runtime in its default set-up (what `#[tokio::main]`, `async_std::task::block_on`
    /// and `smol::block_on` give), in report order: every scenario runs on these.
    pub const ALL: [Runtime; 3] = [Runtime::Tokio, Runtime::AsyncStd, Runtime::Smol];

    /// The set-ups that keep the application and its connections on one thread; the
    /// throughput and latency tools offer them (async-std has no such set-up).
    pub const SINGLE_THREAD: [Runtime; 2] =
        [Runtime::TokioCurrentThread, Runtime::SmolSingleThread];

    /// The name used on command lines and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Tokio => "tokio",
            Runtime::AsyncStd => "async-std",
            Runtime::Smol => "smol",
            Runtime::TokioCurrentThread => "tokio-current-thread",
            Runtime::SmolSingleThread => "smol-single-thread",
        }
    }

    /// True for the one-thread set-ups ([`Runtime::SINGLE_THREAD`]).
    pub fn is_single_thread(self) -> bool {
        Runtime::SINGLE_THREAD.contains(&self)
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Runtime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tokio" => Ok(Runtime::Tokio),
            "async-std" | "async_std" | "asyncstd" => Ok(Runtime::AsyncStd),
            "smol" => Ok(Runtime::Smol),
            "tokio-current-thread" => Ok(Runtime::TokioCurrentThread),
            "smol-single-thread" => Ok(Runtime::SmolSingleThread),
            other => Err(format!(
                "unknown runtime `{other}` (expected tokio, async-std, smol, \
                 tokio-current-thread or smol-single-thread)"
            )),
        }
    }
}

/// Parsed arguments of one perf tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolArgs {
    /// Endpoint to bind to or connect to, e.g. `tcp://127.0.0.1:5555`.
    pub endpoint: String,
    /// Message size in bytes.
    pub size: usize,
    /// Message count (throughput tools) or roundtrip count (latency tools).
    pub count: u64,
    /// Implementation to run.
    pub imp: Impl,
    /// Runtime for monocoque.
    pub runtime: Runtime,
    /// `--histogram`: time each roundtrip and print percentiles (latency).
    pub histogram: bool,
}

/// Options and positional arguments, before the per-tool checks.
struct Raw {
    positional: Vec<String>,
    imp: Impl,
    runtime: Runtime,
    histogram: bool,
    sync: Option<String>,
}

/// Splits `args` into options and positional arguments. `--histogram` and
/// `--sync` are accepted only when `histogram` / `sync` say so.
fn parse_raw<I, S>(args: I, histogram: bool, sync: bool) -> Result<Raw, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut raw = Raw {
        positional: Vec::new(),
        imp: Impl::Monocoque,
        runtime: Runtime::Tokio,
        histogram: false,
        sync: None,
    };
    let mut iter = args.into_iter().map(Into::into);
    while let Some(arg) = iter.next() {
        if arg == "--histogram" {
            if !histogram {
                return Err("unknown option --histogram".to_owned());
            }
            raw.histogram = true;
        } else if let Some(option) = arg.strip_prefix("--") {
            let (name, inline) = match option.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (option.to_owned(), None),
            };
            let value = match inline {
                Some(value) => value,
                None => iter
                    .next()
                    .ok_or_else(|| format!("option --{name} needs a value"))?,
            };
            match name.as_str() {
                "impl" => raw.imp = value.parse()?,
                "runtime" => raw.runtime = value.parse()?,
                "sync" if sync => raw.sync = Some(value),
                _ => return Err(format!("unknown option --{name}")),
            }
        } else {
            raw.positional.push(arg);
        }
    }
    Ok(raw)
}

/// Checks the positional count and parses the size and count (at least 1)
/// that follow the endpoint.
fn size_and_count(positional: &[String], expected: usize) -> Result<(usize, u64), String> {
    if positional.len() != expected {
        return Err(format!(
            "expected {expected} positional arguments, got {}",
            positional.len()
        ));
    }
    let size = positional[1]
        .parse::<usize>()
        .map_err(|e| format!("bad message size `{}`: {e}", positional[1]))?;
    let count = positional[2]
        .parse::<u64>()
        .map_err(|e| format!("bad count `{}`: {e}", positional[2]))?;
    if count == 0 {
        return Err("count must be at least 1".to_owned());
    }
    Ok((size, count))
}

/// Parses `<endpoint> <size> <count> [--impl I] [--runtime R] [--histogram]`.
///
/// `args` excludes the program name. The implementation defaults to
/// monocoque and the runtime to tokio.
pub fn parse_tool_args<I, S>(args: I) -> Result<ToolArgs, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let raw = parse_raw(args, true, false)?;
    let (size, count) = size_and_count(&raw.positional, 3)?;
    Ok(ToolArgs {
        endpoint: raw.positional[0].clone(),
        size,
        count,
        imp: raw.imp,
        runtime: raw.runtime,
        histogram: raw.histogram,
    })
}

/// Parsed arguments of a many-socket scenario tool (`pub_fanout`,
/// `sub_fanout`, `router_echo`, `dealers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioArgs {
    /// Endpoint to bind to or connect to, e.g. `tcp://127.0.0.1:5555`.
    pub endpoint: String,
    /// Message size in bytes.
    pub size: usize,
    /// DATA messages (fan-out) or roundtrips per peer (router).
    pub count: u64,
    /// Subscribers (fan-out) or DEALER peers (router), at least 1.
    pub peers: usize,
    /// Implementation to run.
    pub imp: Impl,
    /// Runtime for monocoque.
    pub runtime: Runtime,
    /// `--sync host:port`: the plain TCP side channel of the fan-out tools.
    pub sync: Option<String>,
}

/// Parses `<endpoint> <size> <count> <peers> [--impl I] [--runtime R]`, plus
/// `--sync host:port`, required when `sync` is true and refused otherwise.
pub fn parse_scenario_args<I, S>(args: I, sync: bool) -> Result<ScenarioArgs, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let raw = parse_raw(args, false, sync)?;
    let (size, count) = size_and_count(&raw.positional, 4)?;
    let peers = raw.positional[3]
        .parse::<usize>()
        .map_err(|e| format!("bad peer count `{}`: {e}", raw.positional[3]))?;
    if peers == 0 {
        return Err("the peer (subscriber) count must be at least 1".to_owned());
    }
    if sync && raw.sync.is_none() {
        return Err("option --sync host:port is required".to_owned());
    }
    Ok(ScenarioArgs {
        endpoint: raw.positional[0].clone(),
        size,
        count,
        peers,
        imp: raw.imp,
        runtime: raw.runtime,
        sync: raw.sync,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_with_defaults() {
        let a = parse_tool_args(["tcp://127.0.0.1:5555", "64", "1000"]).unwrap();
        assert_eq!(a.endpoint, "tcp://127.0.0.1:5555");
        assert_eq!(a.size, 64);
        assert_eq!(a.count, 1000);
        assert_eq!(a.imp, Impl::Monocoque);
        assert_eq!(a.runtime, Runtime::Tokio);
        assert!(!a.histogram);
    }

    #[test]
    fn runtime_names_round_trip() {
        for rt in Runtime::ALL.into_iter().chain(Runtime::SINGLE_THREAD) {
            assert_eq!(rt.name().parse::<Runtime>(), Ok(rt));
            assert_eq!(rt.is_single_thread(), Runtime::SINGLE_THREAD.contains(&rt));
        }
        assert!("tokio-ct".parse::<Runtime>().is_err());
    }

    #[test]
    fn histogram_flag() {
        let a = parse_tool_args(["--histogram", "e", "1", "2", "--impl", "libzmq"]).unwrap();
        assert!(a.histogram);
        assert_eq!(a.imp, Impl::Libzmq);
    }

    #[test]
    fn options_anywhere() {
        let a = parse_tool_args([
            "--impl",
            "libzmq",
            "tcp://127.0.0.1:1",
            "16",
            "--runtime=smol",
            "10",
        ])
        .unwrap();
        assert_eq!(a.imp, Impl::Libzmq);
        assert_eq!(a.runtime, Runtime::Smol);
        assert_eq!((a.size, a.count), (16, 10));
        let a = parse_tool_args(["e", "1", "2", "--runtime", "async-std"]).unwrap();
        assert_eq!(a.runtime, Runtime::AsyncStd);
        let a = parse_tool_args(["e", "1", "2", "--impl=zmq.rs"]).unwrap();
        assert_eq!(a.imp, Impl::Zeromq);
        let a = parse_tool_args(["e", "1", "2", "--impl", "omq"]).unwrap();
        assert_eq!((a.imp, a.imp.name()), (Impl::Omq, "omq"));
    }

    #[test]
    fn errors() {
        assert!(parse_tool_args(["e", "1"]).is_err());
        assert!(parse_tool_args(["e", "x", "2"]).is_err());
        assert!(parse_tool_args(["e", "1", "0"]).is_err());
        assert!(parse_tool_args(["e", "1", "2", "--impl"]).is_err());
        assert!(parse_tool_args(["e", "1", "2", "--impl", "nope"]).is_err());
        assert!(parse_tool_args(["e", "1", "2", "--bogus", "x"]).is_err());
        assert!(parse_tool_args(["e", "1", "2", "--sync", "h:1"]).is_err());
    }

    #[test]
    fn scenario_args() {
        let a = parse_scenario_args(
            [
                "tcp://h:1",
                "64",
                "1000",
                "10",
                "--sync",
                "h:2",
                "--impl=libzmq",
            ],
            true,
        )
        .unwrap();
        assert_eq!((a.size, a.count, a.peers), (64, 1000, 10));
        assert_eq!(a.sync.as_deref(), Some("h:2"));
        assert_eq!((a.imp, a.runtime), (Impl::Libzmq, Runtime::Tokio));
        let a = parse_scenario_args(["e", "0", "5", "3", "--runtime", "smol"], false).unwrap();
        assert_eq!((a.size, a.count, a.peers, a.sync), (0, 5, 3, None));
        assert_eq!(a.runtime, Runtime::Smol);
        // --sync is required by the fan-out tools and refused by the others.
        assert!(parse_scenario_args(["e", "1", "2", "3"], true).is_err());
        assert!(parse_scenario_args(["e", "1", "2", "3", "--sync=h:1"], false).is_err());
        assert!(parse_scenario_args(["e", "1", "2", "0", "--sync=h:1"], true).is_err());
        assert!(parse_scenario_args(["e", "1", "2", "x"], false).is_err());
        assert!(parse_scenario_args(["e", "1", "2"], false).is_err());
        assert!(parse_scenario_args(["e", "1", "2", "3", "--histogram"], false).is_err());
    }
}
