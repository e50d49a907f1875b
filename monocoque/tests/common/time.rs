//! Runtime-independent timers: one timer thread wakes futures by deadline, so timeouts work
//! the same on every executor.

use super::*;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, mpsc};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

struct TimerThread {
    pending: Mutex<Vec<(Instant, Waker)>>,
    cond: Condvar,
}

fn timer_thread() -> &'static TimerThread {
    static TIMER: OnceLock<&'static TimerThread> = OnceLock::new();
    TIMER.get_or_init(|| {
        let timer: &'static TimerThread = Box::leak(Box::new(TimerThread {
            pending: Mutex::new(Vec::new()),
            cond: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("test-timer".into())
            .spawn(move || {
                let mut pending = timer.pending.lock().unwrap();
                loop {
                    let now = Instant::now();
                    let (due, rest): (Vec<_>, Vec<_>) =
                        pending.drain(..).partition(|(at, _)| *at <= now);
                    *pending = rest;
                    if !due.is_empty() {
                        drop(pending);
                        due.into_iter().for_each(|(_, w)| w.wake());
                        pending = timer.pending.lock().unwrap();
                        continue;
                    }
                    pending = match pending.iter().map(|(at, _)| *at).min() {
                        Some(next) => timer.cond.wait_timeout(pending, next - now).unwrap().0,
                        None => timer.cond.wait(pending).unwrap(),
                    };
                }
            })
            .expect("spawn timer thread");
        timer
    })
}

/// A future that completes at a deadline, on any executor.
#[derive(Debug)]
pub struct Delay {
    deadline: Instant,
}

impl Delay {
    /// Completes after `d`.
    pub fn new(d: Duration) -> Self {
        Self {
            deadline: Instant::now() + d,
        }
    }
}

impl Future for Delay {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let timer = timer_thread();
        let mut pending = timer.pending.lock().unwrap();
        pending.retain(|(at, w)| !(*at == self.deadline && w.will_wake(cx.waker())));
        pending.push((self.deadline, cx.waker().clone()));
        timer.cond.notify_one();
        Poll::Pending
    }
}

/// Sleeps on any executor.
pub fn sleep(d: Duration) -> Delay {
    Delay::new(d)
}

/// Runs `fut` for at most `d`; on expiry, the error says what was being waited for.
pub async fn within<F: Future>(d: Duration, what: &str, fut: F) -> Result<F::Output, String> {
    let mut fut = std::pin::pin!(fut);
    let mut delay = Delay::new(d);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(&mut delay).poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(Err(format!("timed out after {d:?} waiting for {what}")))
            }
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Awaits one step of a test, failing the test if it takes longer than [`STEP_TIMEOUT`].
pub async fn bounded<F: Future>(fut: F) -> F::Output {
    match within(STEP_TIMEOUT, "a test step", fut).await {
        Ok(out) => out,
        Err(e) => panic!("{e}"),
    }
}

/// Sleeps for `ms` milliseconds, on any executor. Only for pacing (retrying a probe, letting
/// a queue fill): a test never concludes that something did not happen from a sleep.
pub fn sleep_ms(ms: u64) -> Delay {
    sleep(Duration::from_millis(ms))
}
