//! Command-line parsing shared by the perf tools.
//!
//! Every tool takes three positional arguments (endpoint, message size, and a
//! message or roundtrip count), as libzmq's tools do, plus two options:
//! `--impl monocoque|libzmq` and `--runtime tokio|async-std|smol` (the
//! runtime only matters for monocoque). Options may come anywhere, as
//! `--impl X` or `--impl=X`. `remote_lat` also takes the flag `--histogram`:
//! it then times every roundtrip and prints percentiles after libzmq's lines.

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
            "raw" => Ok(Impl::Raw),
            other => Err(format!(
                "unknown implementation `{other}` (expected monocoque, libzmq, zeromq or raw)"
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
    /// `smol::block_on`.
    Smol,
}

impl Runtime {
    /// All runtimes, in report order.
    pub const ALL: [Runtime; 3] = [Runtime::Tokio, Runtime::AsyncStd, Runtime::Smol];

    /// The name used on command lines and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Tokio => "tokio",
            Runtime::AsyncStd => "async-std",
            Runtime::Smol => "smol",
        }
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
            other => Err(format!(
                "unknown runtime `{other}` (expected tokio, async-std or smol)"
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

/// Parses `<endpoint> <size> <count> [--impl I] [--runtime R] [--histogram]`.
///
/// `args` excludes the program name. The implementation defaults to
/// monocoque and the runtime to tokio.
pub fn parse_tool_args<I, S>(args: I) -> Result<ToolArgs, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut positional = Vec::new();
    let mut imp = Impl::Monocoque;
    let mut runtime = Runtime::Tokio;
    let mut histogram = false;
    let mut iter = args.into_iter().map(Into::into);
    while let Some(arg) = iter.next() {
        if arg == "--histogram" {
            histogram = true;
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
                "impl" => imp = value.parse()?,
                "runtime" => runtime = value.parse()?,
                _ => return Err(format!("unknown option --{name}")),
            }
        } else {
            positional.push(arg);
        }
    }
    if positional.len() != 3 {
        return Err(format!(
            "expected 3 positional arguments, got {}",
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
    Ok(ToolArgs {
        endpoint: positional[0].clone(),
        size,
        count,
        imp,
        runtime,
        histogram,
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
    }

    #[test]
    fn errors() {
        assert!(parse_tool_args(["e", "1"]).is_err());
        assert!(parse_tool_args(["e", "x", "2"]).is_err());
        assert!(parse_tool_args(["e", "1", "0"]).is_err());
        assert!(parse_tool_args(["e", "1", "2", "--impl"]).is_err());
        assert!(parse_tool_args(["e", "1", "2", "--impl", "nope"]).is_err());
        assert!(parse_tool_args(["e", "1", "2", "--bogus", "x"]).is_err());
    }
}
