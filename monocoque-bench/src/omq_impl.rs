//! The throughput tools on omq (the `omq-tokio` crate), on tokio.
//!
//! Sockets are made with `Socket::new(.., Options::default())`, which runs
//! their driver tasks on the caller's tokio runtime (a multi-thread one
//! here, as for zmq.rs); `--runtime` is ignored. Messages go out without any
//! flush call: `send` queues a message for the driver, which writes it.
//!
//! omq's linger defaults to zero, unlike libzmq's (forever): closing or
//! dropping a socket discards what it has not written yet. `remote_thr`
//! therefore gives its PUSH socket a linger of [`LINGER`], the one option
//! changed from the defaults, which only matters at close, and closes it
//! explicitly, as omq's documentation says a sender that must deliver
//! everything does.

use std::time::{Duration, Instant};

use omq_tokio::{Message, Options, Socket, SocketType};

use crate::Result;
use crate::output::Throughput;

/// How long `remote_thr`'s close waits for queued messages to be written.
const LINGER: Duration = Duration::from_secs(120);

/// `local_thr`: binds a PULL socket and times `count` messages, from the
/// first one's arrival to the last one's.
pub async fn local_thr(endpoint: &str, size: usize, count: u64) -> Result<Throughput> {
    let pull = Socket::new(SocketType::Pull, Options::default());
    pull.bind(endpoint).await?;
    let first = pull.recv().await?;
    crate::check_size(first.byte_len(), size)?;
    let start = Instant::now();
    for _ in 1..count {
        let msg = pull.recv().await?;
        crate::check_size(msg.byte_len(), size)?;
    }
    let elapsed = start.elapsed();
    pull.close().await?;
    Ok(Throughput {
        size,
        count,
        elapsed,
    })
}

/// `remote_thr`: connects a PUSH socket, sends `count` messages of `size`
/// bytes (a fresh buffer each), then closes it, waiting up to [`LINGER`]
/// for the queued messages to be written.
pub async fn remote_thr(endpoint: &str, size: usize, count: u64) -> Result<()> {
    let push = Socket::new(SocketType::Push, Options::default().linger(LINGER));
    push.connect(endpoint).await?;
    for _ in 0..count {
        push.send(Message::single(crate::zeroed_body(size))).await?;
    }
    let closing = Instant::now();
    push.close().await?;
    // A close whose linger ran out returns Ok too, having dropped the rest.
    if closing.elapsed() >= LINGER {
        return Err(format!(
            "queued messages were still unwritten {} s after the last send",
            LINGER.as_secs()
        )
        .into());
    }
    Ok(())
}
