//! Entry points of the perf tool binaries.
//!
//! Exit codes: 0 on success, 1 on a usage error or a failed run, 2 when the
//! requested implementation is not available (not built in, or the sockets
//! it needs do not exist yet).

use std::io::Write;

use crate::args::{Impl, ToolArgs, parse_tool_args};

/// Exit code for a usage error or a failed run.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code when the requested implementation is not available.
pub const EXIT_UNAVAILABLE: i32 = 2;

fn parse_or_usage(tool: &str, positional: &str, args: Vec<String>) -> Result<ToolArgs, i32> {
    parse_tool_args(args).map_err(|e| {
        eprintln!("{tool}: {e}");
        eprintln!(
            "usage: {tool} {positional} [--impl monocoque|libzmq] [--runtime tokio|async-std|smol]"
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
const NO_REQ_REP: &str = "monocoque has no REQ/REP sockets yet; use --impl libzmq";

/// The tool names [`run_tool`] knows.
pub const TOOLS: [&str; 4] = ["local_thr", "remote_thr", "local_lat", "remote_lat"];

/// Runs the tool called `name` with `args` (program name excluded) and
/// returns its exit code, or `None` for an unknown name.
pub fn run_tool(name: &str, args: Vec<String>) -> Option<i32> {
    Some(match name {
        "local_thr" => local_thr_with(args),
        "remote_thr" => remote_thr_with(args),
        "local_lat" => local_lat_with(args),
        "remote_lat" => remote_lat_with(args),
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
pub fn local_lat_with(args: Vec<String>) -> i32 {
    const TOOL: &str = "local_lat";
    let args = match parse_or_usage(TOOL, "<bind-to> <message-size> <roundtrip-count>", args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    match args.imp {
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => match crate::zmq_impl::local_lat(&args.endpoint, args.size, args.count) {
            Ok(()) => 0,
            Err(e) => failed(TOOL, e),
        },
        #[cfg(not(feature = "libzmq"))]
        Impl::Libzmq => unavailable(TOOL, args.imp, NO_LIBZMQ),
        Impl::Monocoque => unavailable(TOOL, args.imp, NO_REQ_REP),
    }
}

/// `remote_lat <connect-to> <message-size> <roundtrip-count>`.
pub fn remote_lat_main() -> i32 {
    remote_lat_with(std::env::args().skip(1).collect())
}

/// [`remote_lat_main`] with explicit arguments (program name excluded).
pub fn remote_lat_with(args: Vec<String>) -> i32 {
    const TOOL: &str = "remote_lat";
    let args = match parse_or_usage(TOOL, "<connect-to> <message-size> <roundtrip-count>", args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    match args.imp {
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => match crate::zmq_impl::remote_lat(&args.endpoint, args.size, args.count) {
            Ok(lat) => {
                print(&lat.render());
                0
            }
            Err(e) => failed(TOOL, e),
        },
        #[cfg(not(feature = "libzmq"))]
        Impl::Libzmq => unavailable(TOOL, args.imp, NO_LIBZMQ),
        Impl::Monocoque => unavailable(TOOL, args.imp, NO_REQ_REP),
    }
}
