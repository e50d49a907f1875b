//! [`Runtime`] on tokio.

use futures::future::BoxFuture;
use monocoque_core::runtime::Runtime;
use std::time::Duration;

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
