//! The engine's one protocol timer: it sleeps until the session's next deadline.

use futures::FutureExt;
use futures::future::BoxFuture;
use monocoque_core::runtime::Runtime;
use std::task::{Context, Poll, ready};
use std::time::Instant;

/// A timer for the session's next deadline ([`Session::poll_timeout`]), re-armed only when that
/// deadline moves earlier: a later deadline (the peer's TTL counts from its latest input, so it
/// moves with every read) lets the armed sleep fire early, and the session, finding nothing due,
/// gives the new deadline to arm next. No sleep is made per read.
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
        let Some(at) = deadline else {
            // Nothing due: an armed sleep may still fire, harmlessly.
            return match self.sleep.as_mut() {
                Some(sleep) => {
                    let polled = sleep.poll_unpin(cx);
                    self.fired(polled)
                }
                None => Poll::Pending,
            };
        };
        if self.armed_for.is_none_or(|armed| at < armed) {
            self.armed_for = Some(at);
            self.sleep = Some(runtime.sleep(at.saturating_duration_since(Instant::now())));
        }
        let Some(sleep) = self.sleep.as_mut() else {
            return Poll::Pending;
        };
        let polled = sleep.poll_unpin(cx);
        self.fired(polled)
    }

    /// After polling the sleep: once it fired, the next poll re-arms if a deadline is still
    /// wanted (the session moved it, or the timer fired a little early).
    fn fired(&mut self, polled: Poll<()>) -> Poll<Instant> {
        ready!(polled);
        self.sleep = None;
        self.armed_for = None;
        Poll::Ready(Instant::now())
    }
}
