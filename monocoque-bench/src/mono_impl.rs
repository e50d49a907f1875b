//! The throughput tools on monocoque, on tokio, async-std or smol.
//!
//! The latency tools need REQ/REP, which monocoque does not have yet.

use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use monocoque::{Context, Endpoint, Message, PullSocket, PushSocket};

use crate::Result;
use crate::args::Runtime;
use crate::output::Throughput;

/// Runs `body` to completion on `runtime`, handing it a monocoque context
/// made inside that runtime.
pub fn block_on<T, F, Fut>(runtime: Runtime, body: F) -> Result<T>
where
    F: FnOnce(Context) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    match runtime {
        Runtime::Tokio => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async { body(monocoque::tokio::context()).await })
        }
        Runtime::AsyncStd => {
            async_std::task::block_on(async { body(monocoque::async_std::context()).await })
        }
        Runtime::Smol => smol::block_on(async { body(monocoque::smol::context()).await }),
    }
}

fn check_size(got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(
            format!("message of incorrect size received: {got} B, expected {want} B").into(),
        );
    }
    Ok(())
}

/// `local_thr`: binds a PULL socket and times `count` messages, from the
/// first one's arrival to the last one's.
pub async fn local_thr(
    ctx: Context,
    endpoint: &str,
    size: usize,
    count: u64,
) -> Result<Throughput> {
    let mut pull = PullSocket::new(&ctx);
    let _bound: Endpoint = pull.bind(endpoint).await?;
    let first: Message = pull.recv().await?;
    check_size(first.payload_len(), size)?;
    let start = Instant::now();
    for _ in 1..count {
        let msg = pull.recv().await?;
        check_size(msg.payload_len(), size)?;
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
/// bytes (a freshly allocated buffer each, as libzmq's tool does), then
/// closes, waiting for every message to be delivered (default linger).
pub async fn remote_thr(ctx: Context, endpoint: &str, size: usize, count: u64) -> Result<()> {
    let mut push = PushSocket::new(&ctx);
    push.connect(endpoint).await?;
    for _ in 0..count {
        push.send(Message::single(Bytes::from(vec![0u8; size])))
            .await?;
    }
    push.close().await;
    Ok(())
}
