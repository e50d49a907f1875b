//! Tasks for the many-socket scenario tools: one task per socket, spawned
//! on the runtime the tool runs on, and the barrier the tasks report to.

use std::future::Future;
use std::pin::Pin;

use crate::Result;
use crate::args::Runtime;
use crate::watchdog::Progress;

/// A task spawned by [`spawn`]: awaiting it waits for its output.
pub type Task<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// Spawns `body` with `runtime`'s own spawn function (call it from inside
/// that runtime: for tokio, inside its `block_on`). The task reports its
/// error, if any, to the barrier through `reporter`, so that the main task
/// fails at once instead of waiting for a report that never comes; it also
/// fails if it panicked (tokio only: the other runtimes propagate the panic).
pub fn spawn<T: Send + 'static>(
    runtime: Runtime,
    reporter: Reporter,
    body: impl Future<Output = Result<T>> + Send + 'static,
) -> Task<T> {
    let body = async move {
        let result = body.await;
        if let Err(e) = &result {
            let _ = reporter.try_send(Err(e.to_string()));
        }
        result
    };
    match runtime {
        Runtime::Tokio | Runtime::TokioCurrentThread => {
            let handle = tokio::spawn(body);
            Box::pin(async {
                handle
                    .await
                    .map_err(|e| format!("a socket task failed: {e}"))?
            })
        }
        Runtime::AsyncStd => Box::pin(async_std::task::spawn(body)),
        // The scenario tools refuse the one-thread smol set-up (its executor is not global).
        Runtime::Smol | Runtime::SmolSingleThread => Box::pin(smol::spawn(body)),
    }
}

/// Joins every task in order, failing on the first error.
pub async fn join_all<T>(tasks: Vec<Task<T>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await?);
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
