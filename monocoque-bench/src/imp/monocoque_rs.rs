//! The throughput tools on monocoque-rs (the public `monocoque-rs` crate, vorjdux/monocoque, a
//! pure-Rust ZeroMQ unrelated to this project despite the name), on its tokio back-end.
//!
//! Used as its documentation shows: `PullSocket::bind` (which accepts one connection) and
//! `recv`; `PushSocket::connect` and `send_one` per message. By default each send writes to
//! the kernel at once (its eager mode). With `--batch N` the PUSH socket is made with write
//! coalescing (`SocketOptions::with_write_coalescing`): sends fill a user-space buffer, written
//! when it fills, and `flush` after every N messages, as its documentation says a producer of
//! bursts does: its counterpart of our `Sink` batch. tcp endpoints only.
//!
//! Its sockets do their I/O on the task that calls them (no connection task): the application
//! thread writes and reads. The runtime is tokio's multi-thread one, as for zmq.rs and omq;
//! `--runtime` is ignored.

use std::time::{Duration, Instant};

use vorjdux_monocoque::Bytes;
use vorjdux_monocoque::SocketOptions;
use vorjdux_monocoque::zmq::{PullSocket, PushSocket};

use super::{Implementation, Job, Unavailable};
use crate::Result;
use crate::output::Throughput;

/// How long `remote_thr` retries connecting while nothing listens yet.
const CONNECT_FOR: Duration = Duration::from_secs(10);

/// monocoque-rs, on tokio (PUSH/PULL throughput over tcp only).
#[derive(Debug, Clone, Copy, Default)]
pub struct MonocoqueRs;

/// The `host:port` of a tcp endpoint.
fn addr(endpoint: &str) -> Result<&str> {
    endpoint.strip_prefix("tcp://").ok_or_else(|| {
        Unavailable(format!(
            "its tools take tcp:// endpoints only, not `{endpoint}`"
        ))
        .into()
    })
}

impl Implementation for MonocoqueRs {
    fn local_thr(&self, job: Job<'_>) -> Result<Throughput> {
        let addr = addr(job.endpoint)?.to_owned();
        crate::block_on_tokio(async move {
            let (_listener, mut pull) = PullSocket::bind(addr.as_str()).await?;
            let size = |msg: &[Bytes]| msg.iter().map(Bytes::len).sum::<usize>();
            let Some(first) = pull.recv().await? else {
                return Err("the sender went away before the first message".into());
            };
            crate::check_size(size(&first), job.size)?;
            let start = Instant::now();
            for _ in 1..job.count {
                let Some(msg) = pull.recv().await? else {
                    return Err("the sender went away before the last message".into());
                };
                crate::check_size(size(&msg), job.size)?;
            }
            Ok(Throughput::new(job, start.elapsed()))
        })
    }

    /// Sends a fresh buffer per message (`send_one`); with `--batch N`, coalescing writes and
    /// flushing every N messages. Then flushes and drops the socket, whose writes have all
    /// reached the kernel by then (it has no background writer).
    fn remote_thr(&self, job: Job<'_>) -> Result<()> {
        let addr = addr(job.endpoint)?.to_owned();
        crate::block_on_tokio(async move {
            let options = SocketOptions::default().with_write_coalescing(job.batch > 1);
            let deadline = Instant::now() + CONNECT_FOR;
            let mut push = loop {
                match PushSocket::connect_with_options(addr.as_str(), options.clone()).await {
                    Ok(push) => break push,
                    Err(e) if Instant::now() >= deadline => return Err(e.into()),
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            };
            let batch = job.batch.max(1) as u64;
            for i in 0..job.count {
                push.send_one(Bytes::from(crate::zeroed_body(job.size)))
                    .await?;
                if job.batch > 1 && (i + 1) % batch == 0 {
                    push.flush().await?;
                }
            }
            push.flush().await?;
            Ok(())
        })
    }
}
