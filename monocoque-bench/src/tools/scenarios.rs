//! Entry points of the many-socket scenario tools: `pub_fanout` /
//! `sub_fanout` (PUB/SUB fan-out) and `router_echo` / `dealers` (ROUTER <->
//! DEALERs). Each runs on monocoque, libzmq or zmq.rs, under a
//! [`Watchdog`] that gives up after [`STALL_LIMIT`] without progress.

use super::{failed, print, unavailable};
use crate::args::{Impl, ScenarioArgs, parse_scenario_args};
use crate::fanout::sync::SyncClient;
use crate::watchdog::{STALL_LIMIT, Watchdog};

#[cfg(not(feature = "libzmq"))]
use super::NO_LIBZMQ;
#[cfg(not(feature = "monocoque-impl"))]
use super::NO_MONOCOQUE;
#[cfg(not(feature = "zeromq"))]
use super::NO_ZEROMQ;

const NO_SCENARIO: &str = "the scenario tools run on monocoque, libzmq or zeromq";

fn parse_or_usage(
    tool: &str,
    positional: &str,
    args: Vec<String>,
    sync: bool,
) -> Result<ScenarioArgs, i32> {
    let args = parse_scenario_args(args, sync).map_err(|e| {
        eprintln!("{tool}: {e}");
        let sync = if sync { " --sync <host:port>" } else { "" };
        eprintln!(
            "usage: {tool} {positional}{sync} [--impl monocoque|libzmq|zeromq] [--runtime tokio|async-std|smol]"
        );
        super::EXIT_FAILURE
    })?;
    // Their socket tasks are spawned with the runtime's global spawn function, which a
    // one-thread set-up does not have.
    if args.runtime.is_single_thread() {
        eprintln!(
            "{tool}: --runtime {} is offered by the throughput and latency tools only",
            args.runtime
        );
        return Err(super::EXIT_UNAVAILABLE);
    }
    Ok(args)
}

/// Prints the result or the error; returns the exit code.
fn finish<T>(tool: &str, result: crate::Result<T>, render: impl FnOnce(&T) -> String) -> i32 {
    match result {
        Ok(value) => {
            print(&render(&value));
            0
        }
        Err(e) => failed(tool, e),
    }
}

/// Connects `sub_fanout`'s end of the side channel, retrying until the
/// publisher listens.
#[cfg_attr(
    not(any(feature = "libzmq", feature = "monocoque-impl", feature = "zeromq")),
    allow(dead_code)
)]
fn connect_sync(args: &ScenarioArgs) -> crate::Result<SyncClient> {
    SyncClient::connect(args.sync.as_deref().unwrap_or_default(), STALL_LIMIT)
}

/// `pub_fanout <bind-to> <message-size> <message-count> <subscribers> --sync <host:port>`.
pub fn pub_fanout_main() -> i32 {
    pub_fanout_with(std::env::args().skip(1).collect())
}

/// [`pub_fanout_main`] with explicit arguments (program name excluded).
// With no implementation built in, every arm below returns early.
#[cfg_attr(
    not(any(feature = "libzmq", feature = "monocoque-impl", feature = "zeromq")),
    allow(unreachable_code, unused_variables)
)]
pub fn pub_fanout_with(args: Vec<String>) -> i32 {
    const TOOL: &str = "pub_fanout";
    const POSITIONAL: &str = "<bind-to> <message-size> <message-count> <subscribers>";
    let args = match parse_or_usage(TOOL, POSITIONAL, args, true) {
        Ok(args) => args,
        Err(code) => return code,
    };
    if let Err(e) = crate::fanout::check_message_size(args.size) {
        return failed(TOOL, e);
    }
    let dog = Watchdog::start(TOOL);
    let progress = dog.progress();
    let ScenarioArgs {
        endpoint,
        size,
        count,
        peers,
        ..
    } = &args;
    let sync = args.sync.as_deref().unwrap_or_default();
    let result: crate::Result<crate::output::FanoutSend> = match args.imp {
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => {
            crate::fanout::libzmq::pub_fanout(endpoint, sync, *size, *count, *peers, progress)
        }
        #[cfg(not(feature = "libzmq"))]
        Impl::Libzmq => return unavailable(TOOL, args.imp, NO_LIBZMQ),
        #[cfg(feature = "monocoque-impl")]
        Impl::Monocoque => crate::mono_impl::block_on(args.runtime, |ctx| async move {
            crate::fanout::mono::pub_fanout(ctx, endpoint, sync, *size, *count, *peers, progress)
                .await
        }),
        #[cfg(not(feature = "monocoque-impl"))]
        Impl::Monocoque => return unavailable(TOOL, args.imp, NO_MONOCOQUE),
        #[cfg(feature = "zeromq")]
        Impl::Zeromq => crate::block_on_tokio(crate::fanout::zeromq::pub_fanout(
            endpoint, sync, *size, *count, *peers, progress,
        )),
        #[cfg(not(feature = "zeromq"))]
        Impl::Zeromq => return unavailable(TOOL, args.imp, NO_ZEROMQ),
        Impl::Omq | Impl::Raw => return unavailable(TOOL, args.imp, NO_SCENARIO),
    };
    drop(dog);
    finish(TOOL, result, |r| r.render())
}

/// `sub_fanout <connect-to> <message-size> <message-count> <subscribers> --sync <host:port>`.
pub fn sub_fanout_main() -> i32 {
    sub_fanout_with(std::env::args().skip(1).collect())
}

/// [`sub_fanout_main`] with explicit arguments (program name excluded).
// With no implementation built in, every arm below returns early.
#[cfg_attr(
    not(any(feature = "libzmq", feature = "monocoque-impl", feature = "zeromq")),
    allow(unreachable_code, unused_variables)
)]
pub fn sub_fanout_with(args: Vec<String>) -> i32 {
    const TOOL: &str = "sub_fanout";
    const POSITIONAL: &str = "<connect-to> <message-size> <message-count> <subscribers>";
    let args = match parse_or_usage(TOOL, POSITIONAL, args, true) {
        Ok(args) => args,
        Err(code) => return code,
    };
    if let Err(e) = crate::fanout::check_message_size(args.size) {
        return failed(TOOL, e);
    }
    let dog = Watchdog::start(TOOL);
    let progress = dog.progress();
    let ScenarioArgs {
        endpoint,
        size,
        count,
        peers,
        ..
    } = &args;
    let result: crate::Result<crate::output::Fanout> = match args.imp {
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => connect_sync(&args).and_then(|mut sync| {
            crate::fanout::libzmq::sub_fanout(endpoint, &mut sync, *size, *count, *peers, progress)
        }),
        #[cfg(not(feature = "libzmq"))]
        Impl::Libzmq => return unavailable(TOOL, args.imp, NO_LIBZMQ),
        #[cfg(feature = "monocoque-impl")]
        Impl::Monocoque => connect_sync(&args).and_then(|mut sync| {
            crate::mono_impl::block_on(args.runtime, |ctx| async move {
                let sync = &mut sync;
                crate::fanout::mono::sub_fanout(
                    ctx,
                    args.runtime,
                    endpoint,
                    sync,
                    *size,
                    *count,
                    *peers,
                    progress,
                )
                .await
            })
        }),
        #[cfg(not(feature = "monocoque-impl"))]
        Impl::Monocoque => return unavailable(TOOL, args.imp, NO_MONOCOQUE),
        #[cfg(feature = "zeromq")]
        Impl::Zeromq => connect_sync(&args).and_then(|mut sync| {
            crate::block_on_tokio(crate::fanout::zeromq::sub_fanout(
                endpoint, &mut sync, *size, *count, *peers, progress,
            ))
        }),
        #[cfg(not(feature = "zeromq"))]
        Impl::Zeromq => return unavailable(TOOL, args.imp, NO_ZEROMQ),
        Impl::Omq | Impl::Raw => return unavailable(TOOL, args.imp, NO_SCENARIO),
    };
    drop(dog);
    finish(TOOL, result, |r| r.render())
}

/// `router_echo <bind-to> <message-size> <message-count> <peers>`.
pub fn router_echo_main() -> i32 {
    router_echo_with(std::env::args().skip(1).collect())
}

/// [`router_echo_main`] with explicit arguments (program name excluded).
// With no implementation built in, every arm below returns early.
#[cfg_attr(
    not(any(feature = "libzmq", feature = "monocoque-impl", feature = "zeromq")),
    allow(unreachable_code, unused_variables)
)]
pub fn router_echo_with(args: Vec<String>) -> i32 {
    const TOOL: &str = "router_echo";
    const POSITIONAL: &str = "<bind-to> <message-size> <message-count> <peers>";
    let args = match parse_or_usage(TOOL, POSITIONAL, args, false) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let dog = Watchdog::start(TOOL);
    let progress = dog.progress();
    let ScenarioArgs {
        endpoint,
        size,
        count,
        peers,
        ..
    } = &args;
    let result: crate::Result<()> = match args.imp {
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => {
            crate::router::libzmq::router_echo(endpoint, *size, *count, *peers, progress)
        }
        #[cfg(not(feature = "libzmq"))]
        Impl::Libzmq => return unavailable(TOOL, args.imp, NO_LIBZMQ),
        #[cfg(feature = "monocoque-impl")]
        Impl::Monocoque => crate::mono_impl::block_on(args.runtime, |ctx| async move {
            crate::router::mono::router_echo(ctx, endpoint, *size, *count, *peers, progress).await
        }),
        #[cfg(not(feature = "monocoque-impl"))]
        Impl::Monocoque => return unavailable(TOOL, args.imp, NO_MONOCOQUE),
        #[cfg(feature = "zeromq")]
        Impl::Zeromq => crate::block_on_tokio(crate::router::zeromq::router_echo(
            endpoint, *size, *count, *peers, progress,
        )),
        #[cfg(not(feature = "zeromq"))]
        Impl::Zeromq => return unavailable(TOOL, args.imp, NO_ZEROMQ),
        Impl::Omq | Impl::Raw => return unavailable(TOOL, args.imp, NO_SCENARIO),
    };
    drop(dog);
    finish(TOOL, result, |()| String::new())
}

/// `dealers <connect-to> <message-size> <message-count> <peers>`.
pub fn dealers_main() -> i32 {
    dealers_with(std::env::args().skip(1).collect())
}

/// [`dealers_main`] with explicit arguments (program name excluded).
// With no implementation built in, every arm below returns early.
#[cfg_attr(
    not(any(feature = "libzmq", feature = "monocoque-impl", feature = "zeromq")),
    allow(unreachable_code, unused_variables)
)]
pub fn dealers_with(args: Vec<String>) -> i32 {
    const TOOL: &str = "dealers";
    const POSITIONAL: &str = "<connect-to> <message-size> <message-count> <peers>";
    let args = match parse_or_usage(TOOL, POSITIONAL, args, false) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let dog = Watchdog::start(TOOL);
    let progress = dog.progress();
    let ScenarioArgs {
        endpoint,
        size,
        count,
        peers,
        ..
    } = &args;
    let result: crate::Result<crate::output::Roundtrips> = match args.imp {
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => crate::router::libzmq::dealers(endpoint, *size, *count, *peers, progress),
        #[cfg(not(feature = "libzmq"))]
        Impl::Libzmq => return unavailable(TOOL, args.imp, NO_LIBZMQ),
        #[cfg(feature = "monocoque-impl")]
        Impl::Monocoque => crate::mono_impl::block_on(args.runtime, |ctx| async move {
            crate::router::mono::dealers(
                ctx,
                args.runtime,
                endpoint,
                *size,
                *count,
                *peers,
                progress,
            )
            .await
        }),
        #[cfg(not(feature = "monocoque-impl"))]
        Impl::Monocoque => return unavailable(TOOL, args.imp, NO_MONOCOQUE),
        #[cfg(feature = "zeromq")]
        Impl::Zeromq => crate::block_on_tokio(crate::router::zeromq::dealers(
            endpoint, *size, *count, *peers, progress,
        )),
        #[cfg(not(feature = "zeromq"))]
        Impl::Zeromq => return unavailable(TOOL, args.imp, NO_ZEROMQ),
        Impl::Omq | Impl::Raw => return unavailable(TOOL, args.imp, NO_SCENARIO),
    };
    drop(dog);
    finish(TOOL, result, |r| r.render())
}
