//! Tasks for the many-socket scenario tools: one task per socket, spawned
//! on the runtime the tool runs on, and the barrier the tasks report to.

use std::future::Future;

use crate::Result;
use crate::args::Runtime;
use crate::watchdog::Progress;

/// A task spawned by [`spawn`]; [`join`](Task::join) waits for its output.
pub enum Task<T> {
    /// `tokio::spawn`.
    Tokio(tokio::task::JoinHandle<T>),
    /// `async_std::task::spawn`.
    AsyncStd(async_std::task::JoinHandle<T>),
    /// `smol::spawn` (smol's global executor).
    Smol(smol::Task<T>),
}

/// Spawns `future` with `runtime`'s own spawn function. Call it from inside
/// that runtime (for tokio, inside its `block_on`).
pub fn spawn<T, F>(runtime: Runtime, future: F) -> Task<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    match runtime {
        Runtime::Tokio | Runtime::TokioCurrentThread => Task::Tokio(tokio::spawn(future)),
        Runtime::AsyncStd => Task::AsyncStd(async_std::task::spawn(future)),
        // The scenario tools refuse the one-thread smol set-up (its executor is not global).
        Runtime::Smol | Runtime::SmolSingleThread => Task::Smol(smol::spawn(future)),
    }
}

impl<T> Task<T> {
    /// Waits for the task's output; fails if it panicked (tokio only: the
    /// other runtimes propagate the panic).
    pub async fn join(self) -> Result<T> {
        match self {
            Task::Tokio(handle) => handle
                .await
                .map_err(|e| format!("a socket task failed: {e}").into()),
            Task::AsyncStd(handle) => Ok(handle.await),
            Task::Smol(task) => Ok(task.await),
        }
    }
}

/// Joins every task in order, failing on the first error.
pub async fn join_all<T>(tasks: Vec<Task<Result<T>>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.join().await??);
    }
    Ok(out)
}

/// What a task reports at a barrier: `Ok(())` when it got there, the error
/// text when it failed on the way.
pub type Report = std::result::Result<(), String>;

/// The sending side of a barrier, one clone per task.
pub type Reporter = smol::channel::Sender<Report>;

/// A barrier for `n` tasks (any runtime: the channel needs none).
pub struct Barrier {
    reporter: Reporter,
    reports: smol::channel::Receiver<Report>,
}

impl Barrier {
    /// A new barrier.
    pub fn new() -> Barrier {
        let (reporter, reports) = smol::channel::unbounded();
        Barrier { reporter, reports }
    }

    /// A reporter for one task.
    pub fn reporter(&self) -> Reporter {
        self.reporter.clone()
    }

    /// Waits until `n` tasks have reported `Ok(())`, failing at the first
    /// reported error; ticks `progress` at each report.
    pub async fn wait(self, n: usize, progress: &Progress) -> Result<()> {
        let Barrier { reporter, reports } = self;
        drop(reporter);
        for _ in 0..n {
            match reports.recv().await {
                Ok(Ok(())) => progress.tick(),
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => return Err("every socket task ended before the barrier".into()),
            }
        }
        Ok(())
    }
}

impl Default for Barrier {
    fn default() -> Self {
        Barrier::new()
    }
}

/// Reports that the task reached the barrier.
pub fn arrived(reporter: &Reporter) {
    // Unbounded: never full. Closed only when the main task gave up.
    let _ = reporter.try_send(Ok(()));
}

/// Runs `body`, reporting its error (if any) to the barrier so the main
/// task fails at once instead of waiting for a report that never comes.
pub async fn reporting<T>(reporter: Reporter, body: impl Future<Output = Result<T>>) -> Result<T> {
    let result = body.await;
    if let Err(e) = &result {
        let _ = reporter.try_send(Err(e.to_string()));
    }
    result
}
