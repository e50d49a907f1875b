//! Test support shared by the monocoque-only test files: run one async test body on every
//! runtime, with a runtime-neutral timeout.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use monocoque::Context;
use std::time::Duration;

/// How long any single test step may take before the test fails.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Awaits `f`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<F: std::future::Future>(ctx: &Context, f: F) -> F::Output {
    monocoque::runtime::timeout(&**ctx.runtime(), Some(LIMIT), f)
        .await
        .expect("test step timed out")
}

/// Sleeps on the context's runtime.
pub async fn sleep(ctx: &Context, ms: u64) {
    ctx.runtime().sleep(Duration::from_millis(ms)).await;
}

/// For each `name`, a module `name` with tests `tokio`, `async_std` and `smol`, each running
/// `async fn name(ctx: Context)` on that runtime (tokio: multi-threaded).
#[macro_export]
macro_rules! on_all_runtimes {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn tokio() {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async { Box::pin(super::$name(monocoque::tokio::context())).await });
            }
            #[test]
            fn async_std() {
                async_std::task::block_on(Box::pin(super::$name(monocoque::async_std::context())));
            }
            #[test]
            fn smol() {
                smol::block_on(Box::pin(super::$name(monocoque::smol::context())));
            }
        }
    )*};
}
