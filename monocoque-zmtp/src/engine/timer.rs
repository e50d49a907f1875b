//! The engine's one protocol timer: it sleeps until the session's next deadline.

use futures::FutureExt;
use futures::future::BoxFuture;
use monocoque_core::runtime::Runtime;
use std::task::{Context, Poll, ready};
use std::time::Instant;

/// A timer for the session's next deadline ([`Session::poll_timeout`]), re-armed whenever that
/// deadline moves.
///
/// [`Session::poll_timeout`]: crate::proto::Session::poll_timeout
#[derive(Default)]
pub(crate) struct DeadlineTimer {
    /// The deadline `sleep` was armed for.
    armed_for: Option<Instant>,
    sleep: Option<BoxFuture<'static, ()>>,
}

impl DeadlineTimer {
    /// Ready with the current time once `deadline` has passed; pending (woken then) before.
    /// `None` disarms the timer.
    pub fn poll(
        &mut self,
        cx: &mut Context<'_>,
        runtime: &dyn Runtime,
        deadline: Option<Instant>,
    ) -> Poll<Instant> {
        if deadline != self.armed_for {
            self.armed_for = deadline;
            self.sleep =
                deadline.map(|at| runtime.sleep(at.saturating_duration_since(Instant::now())));
        }
        let Some(sleep) = self.sleep.as_mut() else {
            return Poll::Pending;
        };
        ready!(sleep.poll_unpin(cx));
        // Fired: the next poll re-arms if the deadline is still wanted (the session moved it,
        // or the timer fired a little early).
        self.sleep = None;
        self.armed_for = None;
        Poll::Ready(Instant::now())
    }
}
