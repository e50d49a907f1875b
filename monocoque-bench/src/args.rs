//! Command lines of the perf tools, parsed with clap.
//!
//! Every tool takes three positional arguments (endpoint, message size, and
//! a message or roundtrip count), as libzmq's tools do, plus two options:
//! `--impl monocoque|libzmq|zeromq|omq|raw` and
//! `--runtime tokio|async-std|smol|tokio-current-thread|smol-single-thread`
//! (the runtime only matters for monocoque), as `--impl X` or `--impl=X`,
//! anywhere. `remote_lat` also takes the flag `--histogram`: it then times
//! every roundtrip and prints percentiles after libzmq's lines; the
//! throughput pair takes `--curve` (see [`curve`](crate::curve)).
//!
//! The many-socket scenario tools ([`ScenarioArgs`]) take a fourth
//! positional argument, the number of subscribers or peers, and the
//! fan-out pair ([`FanoutArgs`]) also `--sync host:port`.

use std::fmt;

use clap::builder::RangedU64ValueParser;
use clap::{Args, FromArgMatches, Parser, ValueEnum};

/// Which ZeroMQ implementation a tool runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Impl {
    /// monocoque, this project.
    #[value(alias = "ours")]
    Monocoque,
    /// libzmq through the `zmq` crate.
    #[value(alias = "zmq")]
    Libzmq,
    /// zmq.rs, the `zeromq` crate (on tokio).
    #[value(aliases = ["zmq.rs", "zmqrs"])]
    Zeromq,
    /// omq, the `omq-tokio` crate (throughput tools only, on tokio).
    #[value(alias = "omq-tokio")]
    Omq,
    /// monocoque-rs, the public `monocoque-rs` crate (vorjdux/monocoque, unrelated to this
    /// project), on tokio (throughput tools over tcp only).
    #[value(name = "monocoque-rs", alias = "vorjdux")]
    MonocoqueRs,
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
            Impl::MonocoqueRs => "monocoque-rs",
            Impl::Raw => "raw",
        }
    }

    /// The cargo feature of monocoque-bench that builds it in (none for
    /// the raw socket).
    pub fn feature(self) -> &'static str {
        match self {
            Impl::Monocoque => "monocoque-impl",
            Impl::Raw => "",
            other => other.name(),
        }
    }

    /// Whether its `remote_thr` takes `--batch` (a batched sending path in its API: our
    /// `Sink`, monocoque-rs's write coalescing).
    pub fn batches(self) -> bool {
        matches!(self, Impl::Monocoque | Impl::MonocoqueRs)
    }
}

impl fmt::Display for Impl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which async runtime monocoque runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Runtime {
    /// tokio's multi-thread runtime with the default worker count.
    Tokio,
    /// `async_std::task::block_on`.
    #[value(aliases = ["async_std", "asyncstd"])]
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

/// `--impl` and `--runtime`, common to every tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct On {
    /// Implementation to run.
    #[arg(long = "impl", value_enum, default_value_t = Impl::Monocoque)]
    pub imp: Impl,
    /// Runtime for monocoque.
    #[arg(long, value_enum, default_value_t = Runtime::Tokio)]
    pub runtime: Runtime,
}

/// Arguments of `local_thr`, `remote_thr`, `local_lat` and `remote_lat`.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
pub struct ToolArgs {
    /// Endpoint to bind to or connect to, e.g. `tcp://127.0.0.1:5555`.
    pub endpoint: String,
    /// Message size in bytes.
    pub size: usize,
    /// Message count (throughput tools) or roundtrip count (latency tools), at least 1.
    #[arg(value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// The implementation and its runtime.
    #[command(flatten)]
    pub on: On,
    /// Time each roundtrip and print percentiles (`remote_lat`).
    #[arg(long)]
    pub histogram: bool,
    /// Run as CURVE server (`local_thr`) or client (`remote_thr`) with the
    /// keys in $MONOCOQUE_BENCH_CURVE_KEYS (default: libzmq's test key
    /// pairs); `--impl libzmq` then loads a libzmq with CURVE at run time.
    /// Throughput tools only.
    #[arg(long)]
    pub curve: bool,
    /// Messages per batch (`remote_thr`): hand this many to the socket, then wait for room
    /// once (monocoque: `Sink` feed, then flush); only the implementations with a batch path
    /// take more than 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
}

/// Arguments of the many-socket scenario tools (`pub_fanout`,
/// `sub_fanout`, `router_echo`, `dealers`) and of the CURVE handshake
/// tools (`handshake_server`, `handshakes`: `count` handshakes per client,
/// `peers` clients at once).
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
pub struct ScenarioArgs {
    /// Endpoint to bind to or connect to, e.g. `tcp://127.0.0.1:5555`.
    pub endpoint: String,
    /// Message size in bytes.
    pub size: usize,
    /// DATA messages (fan-out) or roundtrips per peer (router), at least 1.
    #[arg(value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// Subscribers (fan-out) or DEALER peers (router), at least 1.
    #[arg(value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub peers: usize,
    /// The implementation and its runtime.
    #[command(flatten)]
    pub on: On,
}

/// Arguments of the fan-out pair: [`ScenarioArgs`] and the side channel.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
pub struct FanoutArgs {
    /// What every scenario tool takes.
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// `host:port` of the plain TCP side channel (see
    /// [`sync`](crate::fanout::sync)).
    #[arg(long, value_name = "host:port")]
    pub sync: String,
}

/// Parses the arguments (program name excluded) of `tool`, whose usage
/// line shows `positional`, into `A` and the [`On`] flattened into it; the
/// error is clap's message, usage included (or the help text, for `--help`).
pub fn parse<A: Parser>(
    tool: &str,
    positional: &str,
    args: Vec<String>,
) -> Result<(A, On), clap::Error> {
    let command = A::command()
        .name(tool.to_owned())
        .bin_name(tool.to_owned())
        .override_usage(format!("{tool} {positional} [OPTIONS]"));
    let matches = command.try_get_matches_from(std::iter::once(tool.to_owned()).chain(args))?;
    Ok((
        A::from_arg_matches(&matches)?,
        On::from_arg_matches(&matches)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a command line written as one string (words separated by
    /// spaces), program name left out.
    fn parsed<A: Parser>(line: &str) -> Result<A, clap::Error> {
        let args = line.split_whitespace().map(String::from).collect();
        parse::<A>("t", "", args).map(|(a, _)| a)
    }

    fn tool(line: &str) -> Result<ToolArgs, clap::Error> {
        parsed(line)
    }

    fn scenario(line: &str) -> Result<ScenarioArgs, clap::Error> {
        parsed(line)
    }

    fn fanout(line: &str) -> Result<FanoutArgs, clap::Error> {
        parsed(line)
    }

    #[test]
    fn positional_with_defaults() {
        let a = tool("tcp://127.0.0.1:5555 64 1000").unwrap();
        assert_eq!(
            (a.endpoint.as_str(), a.size, a.count),
            ("tcp://127.0.0.1:5555", 64, 1000)
        );
        assert_eq!((a.on.imp, a.on.runtime), (Impl::Monocoque, Runtime::Tokio));
        assert!(!a.histogram);
    }

    #[test]
    fn names_round_trip() {
        for rt in Runtime::ALL.into_iter().chain(Runtime::SINGLE_THREAD) {
            assert_eq!(Runtime::from_str(rt.name(), false), Ok(rt));
            assert_eq!(rt.is_single_thread(), Runtime::SINGLE_THREAD.contains(&rt));
        }
        assert!(Runtime::from_str("tokio-ct", false).is_err());
        for imp in Impl::value_variants() {
            assert_eq!(Impl::from_str(imp.name(), false), Ok(*imp));
        }
    }

    #[test]
    fn options_anywhere() {
        let a = tool("--impl libzmq tcp://h:1 16 --runtime=smol 10").unwrap();
        assert_eq!((a.on.imp, a.on.runtime), (Impl::Libzmq, Runtime::Smol));
        assert_eq!((a.size, a.count), (16, 10));
        assert!(tool("--histogram e 1 2").unwrap().histogram);
        assert!(tool("e 1 2 --curve").unwrap().curve && !tool("e 1 2").unwrap().curve);
        let a = tool("e 1 2 --runtime async-std").unwrap();
        assert_eq!(a.on.runtime, Runtime::AsyncStd);
        assert_eq!(tool("e 1 2 --impl=zmq.rs").unwrap().on.imp, Impl::Zeromq);
        let a = tool("e 1 2 --impl omq").unwrap();
        assert_eq!((a.on.imp, a.on.imp.name()), (Impl::Omq, "omq"));
    }

    #[test]
    fn errors() {
        for line in ["e 1", "e x 2", "e 1 0", "e 1 2 --impl", "e 1 2 --impl nope"] {
            assert!(tool(line).is_err(), "{line}");
        }
        assert!(tool("e 1 2 --bogus x").is_err());
        assert!(tool("e 1 2 --sync h:1").is_err());
    }

    #[test]
    fn scenario_args() {
        let args = "tcp://h:1 64 1000 10 --sync h:2 --impl=libzmq";
        let args = args.split(' ').map(String::from).collect();
        let (a, on) = parse::<FanoutArgs>("f", "", args).unwrap();
        assert_eq!((a.sync.as_str(), on), ("h:2", a.scenario.on));
        let s = a.scenario;
        assert_eq!((s.size, s.count, s.peers), (64, 1000, 10));
        assert_eq!((s.on.imp, s.on.runtime), (Impl::Libzmq, Runtime::Tokio));
        let a = scenario("e 0 5 3 --runtime smol").unwrap();
        assert_eq!(
            (a.size, a.count, a.peers, a.on.runtime),
            (0, 5, 3, Runtime::Smol)
        );
        // --sync is required by the fan-out tools and refused by the others.
        assert!(fanout("e 1 2 3").is_err());
        assert!(scenario("e 1 2 3 --sync=h:1").is_err());
        assert!(fanout("e 1 2 0 --sync=h:1").is_err());
        for line in ["e 1 2 x", "e 1 2", "e 1 2 3 --histogram"] {
            assert!(scenario(line).is_err(), "{line}");
        }
    }
}
