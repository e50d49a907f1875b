//! The small runtime interface the engine needs: spawn a task, sleep. The implementations, one
//! per runtime feature, are in the `monocoque-runtime` crate; this crate only defines the
//! interface, so that nothing here names a runtime.

use futures::future::BoxFuture;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

/// Spawning and timers, abstracted over tokio, async-std and smol.
pub trait Runtime: Send + Sync + Debug + 'static {
    /// A short name: `"tokio"`, `"async-std"` or `"smol"`.
    fn name(&self) -> &'static str;

    /// Runs `future` in the background; it is not cancelled when the returned handle is dropped
    /// (there is none): tasks end on their own when their channels close.
    fn spawn(&self, future: BoxFuture<'static, ()>);

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// A shared runtime handle, as sockets hold it.
pub type RuntimeHandle = Arc<dyn Runtime>;

/// Awaits `future` for at most `limit` (forever when `None`), on `runtime`'s timers.
/// Returns `None` on timeout.
pub async fn timeout<F: std::future::Future>(
    runtime: &dyn Runtime,
    limit: Option<Duration>,
    future: F,
) -> Option<F::Output> {
    use futures::future::{Either, select};
    let Some(limit) = limit else {
        return Some(future.await);
    };
    let future = std::pin::pin!(future);
    match select(future, runtime.sleep(limit)).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(((), _)) => None,
    }
}
