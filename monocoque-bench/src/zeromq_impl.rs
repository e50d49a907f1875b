//! The throughput tools on zmq.rs (the `zeromq` crate), on tokio.
//!
//! zmq.rs has no linger: `send` only queues a message for a writer task, and
//! dropping the socket may lose what is still queued. `remote_thr` therefore
//! keeps its PUSH socket open until the receiver disconnects (it does after
//! the last message), which is what libzmq's default linger achieves.
//! zmq.rs takes tokio for its tasks; `--runtime` is ignored.

use std::time::{Duration, Instant};

use zeromq::{PullSocket, PushSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

use crate::Result;
use crate::output::Throughput;

/// How long `remote_thr` waits for the receiver to disconnect once every
/// message is queued.
const LINGER: Duration = Duration::from_secs(120);

fn payload_len(msg: &ZmqMessage) -> usize {
    msg.iter().map(|frame| frame.len()).sum()
}

/// `local_thr`: binds a PULL socket and times `count` messages, from the
/// first one's arrival to the last one's.
pub async fn local_thr(endpoint: &str, size: usize, count: u64) -> Result<Throughput> {
    let mut pull = PullSocket::new();
    pull.bind(endpoint).await?;
    let first = pull.recv().await?;
    crate::check_size(payload_len(&first), size)?;
    let start = Instant::now();
    for _ in 1..count {
        let msg = pull.recv().await?;
        crate::check_size(payload_len(&msg), size)?;
    }
    let elapsed = start.elapsed();
    drop(pull);
    Ok(Throughput {
        size,
        count,
        elapsed,
    })
}

/// `remote_thr`: connects a PUSH socket, sends `count` messages of `size`
/// bytes (a fresh buffer each), then lingers until the receiver has gone.
///
/// zmq.rs only notices a departed peer when a write to it fails, so the
/// lingering sends one more message of the same size every few milliseconds
/// until `send` fails for want of peers. The receiver never reads these: it
/// exits after `count` messages, which all come before them on the
/// connection.
pub async fn remote_thr(endpoint: &str, size: usize, count: u64) -> Result<()> {
    let mut push = PushSocket::new();
    push.connect(endpoint).await?;
    for _ in 0..count {
        push.send(ZmqMessage::from(crate::zeroed_body(size)))
            .await?;
    }
    let deadline = Instant::now() + LINGER;
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if push
            .send(ZmqMessage::from(crate::zeroed_body(size)))
            .await
            .is_err()
        {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the receiver did not disconnect within {} s of the last send",
                LINGER.as_secs()
            )
            .into());
        }
    }
    drop(push);
    Ok(())
}
