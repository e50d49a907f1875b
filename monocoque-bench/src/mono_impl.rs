//! The perf tools on monocoque, on tokio, async-std or smol: PUSH/PULL for
//! throughput, REQ/REP for latency.

use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use monocoque::{Context, Endpoint, Message, PullSocket, PushSocket, RepSocket, ReqSocket};

use crate::Result;
use crate::args::Runtime;
use crate::output::{Latency, Throughput};

/// Runs `body` to completion on `runtime`, handing it a monocoque context
/// made inside that runtime.
pub fn block_on<T, F, Fut>(runtime: Runtime, body: F) -> Result<T>
where
    F: FnOnce(Context) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    match runtime {
        Runtime::Tokio => crate::block_on_tokio(async { body(monocoque::tokio::context()).await }),
        Runtime::AsyncStd => {
            async_std::task::block_on(async { body(monocoque::async_std::context()).await })
        }
        Runtime::Smol => smol::block_on(async { body(monocoque::smol::context()).await }),
        Runtime::TokioCurrentThread => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async { body(monocoque::tokio::context()).await })
        }
        Runtime::SmolSingleThread => {
            let executor = std::sync::Arc::new(smol::Executor::new());
            let ctx = monocoque::smol::context_on(executor.clone());
            smol::block_on(executor.run(body(ctx)))
        }
    }
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
    crate::check_size(first.payload_len(), size)?;
    let start = Instant::now();
    for _ in 1..count {
        let msg = pull.recv().await?;
        crate::check_size(msg.payload_len(), size)?;
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
        push.send(Message::single(Bytes::from(crate::zeroed_body(size))))
            .await?;
    }
    push.close().await;
    Ok(())
}

/// `local_lat`: binds a REP socket and echoes `roundtrips` messages.
pub async fn local_lat(ctx: Context, endpoint: &str, size: usize, roundtrips: u64) -> Result<()> {
    let mut rep = RepSocket::new(&ctx);
    let _bound: Endpoint = rep.bind(endpoint).await?;
    for _ in 0..roundtrips {
        let msg = rep.recv().await?;
        crate::check_size(msg.payload_len(), size)?;
        rep.send(msg).await?;
    }
    // Waits for the last reply to be written (default linger).
    rep.close().await;
    Ok(())
}

/// `remote_lat`: connects a REQ socket and times `roundtrips` request/reply
/// exchanges of `size`-byte messages (the reply is sent back as the next
/// request, as libzmq's tool does); with `samples`, also pushes each
/// roundtrip's time there, in microseconds.
pub async fn remote_lat(
    ctx: Context,
    endpoint: &str,
    size: usize,
    roundtrips: u64,
    mut samples: Option<&mut Vec<f64>>,
) -> Result<Latency> {
    let mut req = ReqSocket::new(&ctx);
    req.connect(endpoint).await?;
    let mut msg = Message::single(Bytes::from(crate::zeroed_body(size)));
    let start = Instant::now();
    for _ in 0..roundtrips {
        let t0 = samples.is_some().then(Instant::now);
        req.send(msg).await?;
        msg = req.recv().await?;
        if let (Some(t0), Some(s)) = (t0, samples.as_deref_mut()) {
            s.push(t0.elapsed().as_secs_f64() * 1e6);
        }
        crate::check_size(msg.payload_len(), size)?;
    }
    let elapsed = start.elapsed();
    req.close().await;
    Ok(Latency {
        size,
        roundtrips,
        elapsed,
    })
}
