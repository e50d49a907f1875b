//! Running one async test body on every runtime, bounded in time.
//!
//! [`on_all_runtimes!`] turns each `async fn name(ctx: monocoque::Context)` (returning `()` or
//! [`TestResult`]) into three tests, `name::tokio`, `name::async_std` and `name::smol`, each
//! making its context inside its runtime. Every body is bounded three ways: by
//! [`TEST_TIMEOUT`] here, by a [`Watchdog`] that aborts the process if the executor itself is
//! stuck, and by nextest's `slow-timeout` (`.config/nextest.toml`).

use super::*;
use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

/// What a test body may return: nothing (it asserts), or a [`TestResult`].
pub trait Outcome {
    /// `Err` with the reason when the test failed.
    fn into_result(self) -> TestResult;
}

impl Outcome for () {
    fn into_result(self) -> TestResult {
        Ok(())
    }
}

impl Outcome for TestResult {
    fn into_result(self) -> TestResult {
        self
    }
}

/// Aborts the process if a test outlives [`TEST_TIMEOUT`] by 30 s (its own timeout could not fire
/// because something blocked the executor). Disarmed on drop, including during unwinding.
pub struct Watchdog {
    _disarm: mpsc::Sender<()>,
}

impl Watchdog {
    /// Arms the watchdog for `test`.
    pub fn arm(test: &str) -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        let test = test.to_owned();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(TEST_TIMEOUT + Duration::from_secs(30))
            {
                eprintln!(
                    "WATCHDOG: {test} is stuck (executor blocked?); aborting the test process"
                );
                std::process::abort();
            }
        });
        Self { _disarm: tx }
    }
}

/// Runs `body(ctx)` within [`TEST_TIMEOUT`], failing the test on an error or a timeout. The
/// body's future lives on the heap: debug-build test futures get large, and async-std's
/// `block_on` copies its future around the stack.
async fn guarded<B, Fut>(test: &str, ctx: monocoque::Context, body: B)
where
    B: FnOnce(monocoque::Context) -> Fut,
    Fut: Future<Output: Outcome>,
{
    match within(TEST_TIMEOUT, "the test body", Box::pin(body(ctx))).await {
        Ok(outcome) => {
            if let Err(e) = outcome.into_result() {
                panic!("{test} failed: {e}");
            }
        }
        Err(e) => panic!("{test}: {e}"),
    }
}

/// Runs `body` on a fresh multi-thread tokio runtime (two workers), its context made inside.
pub fn run_tokio<B, Fut>(test: &str, body: B)
where
    B: FnOnce(monocoque::Context) -> Fut,
    Fut: Future<Output: Outcome>,
{
    let _watchdog = Watchdog::arm(test);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async { guarded(test, monocoque::tokio::context(), body).await });
    rt.shutdown_timeout(Duration::from_secs(5));
}

/// Runs `body` with `async_std::task::block_on`.
pub fn run_async_std<B, Fut>(test: &str, body: B)
where
    B: FnOnce(monocoque::Context) -> Fut,
    Fut: Future<Output: Outcome>,
{
    let _watchdog = Watchdog::arm(test);
    async_std::task::block_on(guarded(test, monocoque::async_std::context(), body));
}

/// Runs `body` with `smol::block_on`, its connections on smol's global executor.
pub fn run_smol<B, Fut>(test: &str, body: B)
where
    B: FnOnce(monocoque::Context) -> Fut,
    Fut: Future<Output: Outcome>,
{
    let _watchdog = Watchdog::arm(test);
    smol::block_on(guarded(test, monocoque::smol::context(), body));
}

/// For each entry, a module of three tests, `tokio`, `async_std` and `smol`. An entry is the
/// name of an `async fn name(ctx: monocoque::Context)` returning `()` or [`TestResult`], or
/// `name: body` where `body` is any `FnOnce(monocoque::Context) -> impl Future` (a closure
/// calling a parameterized fn, say).
///
/// ```ignore
/// on_all_runtimes!(push_then_pull, pair_both_ways);
/// on_all_runtimes! {
///     push_stream_tcp_bind: |ctx| push_stream(ctx, Transport::Tcp, Side::OursBind),
/// }
/// ```
macro_rules! on_all_runtimes {
    ($($name:ident),+ $(,)?) => {
        on_all_runtimes!($($name: $name),+);
    };
    ($($name:ident : $body:expr),+ $(,)?) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn tokio() {
                $crate::common::run_tokio(concat!(stringify!($name), "::tokio"), $body);
            }

            #[test]
            fn async_std() {
                $crate::common::run_async_std(concat!(stringify!($name), "::async_std"), $body);
            }

            #[test]
            fn smol() {
                $crate::common::run_smol(concat!(stringify!($name), "::smol"), $body);
            }
        }
    )+};
}
pub(crate) use on_all_runtimes;
