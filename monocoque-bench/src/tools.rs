//! Entry points of the perf tool binaries: libzmq's four perf tools here,
//! the many-socket scenario tools (`pub_fanout`, `sub_fanout`,
//! `router_echo`, `dealers`) in a submodule, re-exported.
//!
//! Exit codes: 0 on success, 1 on a usage error or a failed run, 2 when the
//! requested implementation is not available (not built in, or the sockets
//! it needs do not exist yet).

use std::io::Write;

use crate::args::{Impl, ToolArgs, parse_tool_args};

mod scenarios;

pub use scenarios::{
    dealers_main, dealers_with, pub_fanout_main, pub_fanout_with, router_echo_main,
    router_echo_with, sub_fanout_main, sub_fanout_with,
};

/// Exit code for a usage error or a failed run.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code when the requested implementation is not available.
pub const EXIT_UNAVAILABLE: i32 = 2;

fn parse_or_usage(tool: &str, positional: &str, args: Vec<String>) -> Result<ToolArgs, i32> {
    parse_tool_args(args).map_err(|e| {
        eprintln!("{tool}: {e}");
        eprintln!(
            "usage: {tool} {positional} [--impl monocoque|libzmq|zeromq|omq|raw] [--runtime tokio|async-std|smol] [--histogram]"
        );
        EXIT_FAILURE
    })
}

fn unavailable(tool: &str, imp: Impl, why: &str) -> i32 {
    eprintln!("{tool}: --impl {imp} is not available: {why}");
    EXIT_UNAVAILABLE
}

fn failed(tool: &str, err: impl std::fmt::Display) -> i32 {
    eprintln!("{tool}: error: {err}");
    EXIT_FAILURE
}

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    // Nothing useful to do if stdout is gone.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

#[cfg(not(feature = "libzmq"))]
const NO_LIBZMQ: &str = "this build lacks the `libzmq` feature of monocoque-bench";
#[cfg(not(feature = "monocoque-impl"))]
const NO_MONOCOQUE: &str = "this build lacks the `monocoque-impl` feature of monocoque-bench";
#[cfg(not(feature = "zeromq"))]
const NO_ZEROMQ: &str = "this build lacks the `zeromq` feature of monocoque-bench";
#[cfg(not(feature = "omq"))]
const NO_OMQ: &str = "this build lacks the `omq` feature of monocoque-bench";
const NO_LAT: &str = "the latency tools run on monocoque or libzmq only";

/// The tool names [`run_tool`] knows.
pub const TOOLS: [&str; 8] = [
    "local_thr",
    "remote_thr",
    "local_lat",
    "remote_lat",
    "pub_fanout",
    "sub_fanout",
    "router_echo",
    "dealers",
];

/// Runs the tool called `name` with `args` (program name excluded) and
/// returns its exit code, or `None` for an unknown name.
pub fn run_tool(name: &str, args: Vec<String>) -> Option<i32> {
    Some(match name {
        "local_thr" => local_thr_with(args),
        "remote_thr" => remote_thr_with(args),
        "local_lat" => local_lat_with(args),
        "remote_lat" => remote_lat_with(args),
        "pub_fanout" => pub_fanout_with(args),
        "sub_fanout" => sub_fanout_with(args),
        "router_echo" => router_echo_with(args),
        "dealers" => dealers_with(args),
        _ => return None,
    })
}

/// `local_thr <bind-to> <message-size> <message-count>`.
pub fn local_thr_main() -> i32 {
    local_thr_with(std::env::args().skip(1).collect())
}

/// [`local_thr_main`] with explicit arguments (program name excluded).
// With neither implementation built in, every arm below returns early.
#[cfg_attr(
    not(any(feature = "libzmq", feature = "monocoque-impl")),
    allow(unreachable_code, unused_variables)
)]
pub fn local_thr_with(args: Vec<String>) -> i32 {
    const TOOL: &str = "local_thr";
    let args = match parse_or_usage(TOOL, "<bind-to> <message-size> <message-count>", args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let result: crate::Result<crate::output::Throughput> = match args.imp {
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => crate::zmq_impl::local_thr(&args.endpoint, args.size, args.count),
        #[cfg(not(feature = "libzmq"))]
        Impl::Libzmq => return unavailable(TOOL, args.imp, NO_LIBZMQ),
        #[cfg(feature = "monocoque-impl")]
        Impl::Monocoque => {
            let ToolArgs {
                endpoint,
                size,
                count,
                runtime,
                ..
            } = &args;
            crate::mono_impl::block_on(*runtime, |ctx| async move {
                crate::mono_impl::local_thr(ctx, endpoint, *size, *count).await
            })
        }
        #[cfg(not(feature = "monocoque-impl"))]
        Impl::Monocoque => return unavailable(TOOL, args.imp, NO_MONOCOQUE),
        #[cfg(feature = "zeromq")]
        Impl::Zeromq => crate::block_on_tokio(crate::zeromq_impl::local_thr(
            &args.endpoint,
            args.size,
            args.count,
        )),
        #[cfg(not(feature = "zeromq"))]
        Impl::Zeromq => return unavailable(TOOL, args.imp, NO_ZEROMQ),
        #[cfg(feature = "omq")]
        Impl::Omq => crate::block_on_tokio(crate::omq_impl::local_thr(
            &args.endpoint,
            args.size,
            args.count,
        )),
        #[cfg(not(feature = "omq"))]
        Impl::Omq => return unavailable(TOOL, args.imp, NO_OMQ),
        Impl::Raw => crate::raw_impl::local_thr(&args.endpoint, args.size, args.count),
    };
    match result {
        Ok(thr) => {
            print(&thr.render());
            0
        }
        Err(e) => failed(TOOL, e),
    }
}

/// `remote_thr <connect-to> <message-size> <message-count>`.
pub fn remote_thr_main() -> i32 {
    remote_thr_with(std::env::args().skip(1).collect())
}

/// [`remote_thr_main`] with explicit arguments (program name excluded).
// With neither implementation built in, every arm below returns early.
#[cfg_attr(
    not(any(feature = "libzmq", feature = "monocoque-impl")),
    allow(unreachable_code, unused_variables)
)]
pub fn remote_thr_with(args: Vec<String>) -> i32 {
    const TOOL: &str = "remote_thr";
    let args = match parse_or_usage(TOOL, "<connect-to> <message-size> <message-count>", args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let result: crate::Result<()> = match args.imp {
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => crate::zmq_impl::remote_thr(&args.endpoint, args.size, args.count),
        #[cfg(not(feature = "libzmq"))]
        Impl::Libzmq => return unavailable(TOOL, args.imp, NO_LIBZMQ),
        #[cfg(feature = "monocoque-impl")]
        Impl::Monocoque => {
            let ToolArgs {
                endpoint,
                size,
                count,
                runtime,
                ..
            } = &args;
            crate::mono_impl::block_on(*runtime, |ctx| async move {
                crate::mono_impl::remote_thr(ctx, endpoint, *size, *count).await
            })
        }
        #[cfg(not(feature = "monocoque-impl"))]
        Impl::Monocoque => return unavailable(TOOL, args.imp, NO_MONOCOQUE),
        #[cfg(feature = "zeromq")]
        Impl::Zeromq => crate::block_on_tokio(crate::zeromq_impl::remote_thr(
            &args.endpoint,
            args.size,
            args.count,
        )),
        #[cfg(not(feature = "zeromq"))]
        Impl::Zeromq => return unavailable(TOOL, args.imp, NO_ZEROMQ),
        #[cfg(feature = "omq")]
        Impl::Omq => crate::block_on_tokio(crate::omq_impl::remote_thr(
            &args.endpoint,
            args.size,
            args.count,
        )),
        #[cfg(not(feature = "omq"))]
        Impl::Omq => return unavailable(TOOL, args.imp, NO_OMQ),
        Impl::Raw => crate::raw_impl::remote_thr(&args.endpoint, args.size, args.count),
    };
    match result {
        Ok(()) => 0,
        Err(e) => failed(TOOL, e),
    }
}

/// `local_lat <bind-to> <message-size> <roundtrip-count>`.
pub fn local_lat_main() -> i32 {
    local_lat_with(std::env::args().skip(1).collect())
}

/// [`local_lat_main`] with explicit arguments (program name excluded).
// With neither implementation built in, every arm below returns early.
#[cfg_attr(
    not(any(feature = "libzmq", feature = "monocoque-impl")),
    allow(unreachable_code, unused_variables)
)]
pub fn local_lat_with(args: Vec<String>) -> i32 {
    const TOOL: &str = "local_lat";
    let args = match parse_or_usage(TOOL, "<bind-to> <message-size> <roundtrip-count>", args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let result: crate::Result<()> = match args.imp {
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => crate::zmq_impl::local_lat(&args.endpoint, args.size, args.count),
        #[cfg(not(feature = "libzmq"))]
        Impl::Libzmq => return unavailable(TOOL, args.imp, NO_LIBZMQ),
        #[cfg(feature = "monocoque-impl")]
        Impl::Monocoque => {
            let ToolArgs {
                endpoint,
                size,
                count,
                runtime,
                ..
            } = &args;
            crate::mono_impl::block_on(*runtime, |ctx| async move {
                crate::mono_impl::local_lat(ctx, endpoint, *size, *count).await
            })
        }
        #[cfg(not(feature = "monocoque-impl"))]
        Impl::Monocoque => return unavailable(TOOL, args.imp, NO_MONOCOQUE),
        Impl::Zeromq | Impl::Omq | Impl::Raw => return unavailable(TOOL, args.imp, NO_LAT),
    };
    match result {
        Ok(()) => 0,
        Err(e) => failed(TOOL, e),
    }
}

/// `remote_lat <connect-to> <message-size> <roundtrip-count>`.
pub fn remote_lat_main() -> i32 {
    remote_lat_with(std::env::args().skip(1).collect())
}

/// [`remote_lat_main`] with explicit arguments (program name excluded).
///
/// With `--histogram`, every roundtrip is timed and p50/p90/p99/max lines
/// follow libzmq's three.
// With neither implementation built in, every arm below returns early.
#[cfg_attr(
    not(any(feature = "libzmq", feature = "monocoque-impl")),
    allow(unreachable_code, unused_variables, unused_mut)
)]
pub fn remote_lat_with(args: Vec<String>) -> i32 {
    const TOOL: &str = "remote_lat";
    let args = match parse_or_usage(TOOL, "<connect-to> <message-size> <roundtrip-count>", args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let mut samples = Vec::new();
    if args.histogram {
        samples.reserve(usize::try_from(args.count).unwrap_or(0));
    }
    let record = args.histogram.then_some(&mut samples);
    let result: crate::Result<crate::output::Latency> = match args.imp {
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => crate::zmq_impl::remote_lat(&args.endpoint, args.size, args.count, record),
        #[cfg(not(feature = "libzmq"))]
        Impl::Libzmq => return unavailable(TOOL, args.imp, NO_LIBZMQ),
        #[cfg(feature = "monocoque-impl")]
        Impl::Monocoque => {
            let ToolArgs {
                endpoint,
                size,
                count,
                runtime,
                ..
            } = &args;
            crate::mono_impl::block_on(*runtime, |ctx| async move {
                crate::mono_impl::remote_lat(ctx, endpoint, *size, *count, record).await
            })
        }
        #[cfg(not(feature = "monocoque-impl"))]
        Impl::Monocoque => return unavailable(TOOL, args.imp, NO_MONOCOQUE),
        Impl::Zeromq | Impl::Omq | Impl::Raw => return unavailable(TOOL, args.imp, NO_LAT),
    };
    match result {
        Ok(lat) => {
            let mut text = lat.render();
            if let Some(p) = crate::output::Percentiles::from_roundtrips(&samples) {
                text.push_str(&p.render());
            }
            print(&text);
            0
        }
        Err(e) => failed(TOOL, e),
    }
}
