//! [`Runtime`] on smol.

use futures::future::BoxFuture;
use monocoque_core::runtime::Runtime;
use std::sync::Arc;
use std::time::Duration;

/// [`Runtime`] on smol: its global executor by default, or an executor of the application's
/// ([`SmolRuntime::on`]).
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

    /// On `executor`: connection tasks run wherever the application runs that executor. Run it
    /// on one thread (`smol::block_on(executor.run(main))`) and the application's tasks and its
    /// connections share that thread: no hand-over between threads per message.
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
