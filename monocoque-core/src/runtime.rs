//! The small runtime interface the engine needs (spawn a task, sleep), one implementation per
//! runtime feature. Runtime features are additive: with several compiled in, a socket uses the one
//! it is given, or [`current`] picks the one the caller is running on.

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

/// The runtime the caller is running on, if a compiled-in one can tell: tokio is detected from its
/// context; otherwise async-std, then smol, are assumed when compiled in (neither can be detected).
#[must_use]
pub fn current() -> Option<RuntimeHandle> {
    #[cfg(feature = "tokio")]
    if let Some(rt) = TokioRuntime::try_current() {
        return Some(Arc::new(rt));
    }
    #[cfg(feature = "async-std")]
    {
        return Some(Arc::new(AsyncStdRuntime));
    }
    #[allow(unreachable_code)]
    {
        #[cfg(feature = "smol")]
        return Some(Arc::new(SmolRuntime::global()));
        #[allow(unreachable_code)]
        None
    }
}

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

#[cfg(feature = "tokio")]
pub use self::tokio_rt::TokioRuntime;

#[cfg(feature = "tokio")]
mod tokio_rt {
    use super::*;

    /// [`Runtime`] on a tokio runtime handle.
    #[derive(Debug, Clone)]
    pub struct TokioRuntime {
        handle: tokio::runtime::Handle,
    }

    impl TokioRuntime {
        /// The tokio runtime the caller runs on, if any.
        #[must_use]
        pub fn try_current() -> Option<Self> {
            tokio::runtime::Handle::try_current()
                .ok()
                .map(|handle| Self { handle })
        }

        /// A given tokio runtime handle.
        #[must_use]
        pub fn from_handle(handle: tokio::runtime::Handle) -> Self {
            Self { handle }
        }
    }

    impl Runtime for TokioRuntime {
        fn name(&self) -> &'static str {
            "tokio"
        }
        fn spawn(&self, future: BoxFuture<'static, ()>) {
            drop(self.handle.spawn(future));
        }
        fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
            // Created inside the runtime's context so the timer registers with its driver even
            // when called from another thread.
            let _guard = self.handle.enter();
            Box::pin(tokio::time::sleep(duration))
        }
    }
}

#[cfg(feature = "async-std")]
pub use self::async_std_rt::AsyncStdRuntime;

#[cfg(feature = "async-std")]
mod async_std_rt {
    use super::*;

    /// [`Runtime`] on async-std's global executor.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct AsyncStdRuntime;

    impl Runtime for AsyncStdRuntime {
        fn name(&self) -> &'static str {
            "async-std"
        }
        fn spawn(&self, future: BoxFuture<'static, ()>) {
            drop(async_std::task::spawn(future));
        }
        fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
            Box::pin(async_std::task::sleep(duration))
        }
    }
}

#[cfg(feature = "smol")]
pub use self::smol_rt::SmolRuntime;

#[cfg(feature = "smol")]
mod smol_rt {
    use super::*;

    /// [`Runtime`] on smol: its global executor by default, or an executor of the
    /// application's ([`SmolRuntime::on`]).
    #[derive(Debug, Clone, Default)]
    pub struct SmolRuntime {
        executor: Option<Arc<smol::Executor<'static>>>,
    }

    impl SmolRuntime {
        /// On smol's global executor (its own threads, `SMOL_THREADS` of them).
        #[must_use]
        pub fn global() -> Self {
            Self::default()
        }

        /// On `executor`: connection tasks run wherever the application runs that executor.
        /// Run it on one thread (`smol::block_on(executor.run(main))`) and the application's
        /// tasks and its connections share that thread: no hand-over between threads per
        /// message.
        #[must_use]
        pub fn on(executor: Arc<smol::Executor<'static>>) -> Self {
            Self {
                executor: Some(executor),
            }
        }
    }

    impl Runtime for SmolRuntime {
        fn name(&self) -> &'static str {
            "smol"
        }
        fn spawn(&self, future: BoxFuture<'static, ()>) {
            match &self.executor {
                Some(executor) => executor.spawn(future).detach(),
                None => smol::spawn(future).detach(),
            }
        }
        fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
            Box::pin(async move {
                smol::Timer::after(duration).await;
            })
        }
    }
}
