//! ROUTER <-> DEALERs on monocoque (tokio, async-std or smol): one task per
//! DEALER socket, spawned on the runtime.

use std::time::Instant;

use bytes::Bytes;
use monocoque::{Context, DealerSocket, Message, RouterSocket};

use super::{WINDOW, check_frames, echoes, summarize};
use crate::Result;
use crate::args::Runtime;
use crate::output::Roundtrips;
use crate::tasks::{self, Barrier, Reporter};
use crate::watchdog::Progress;

/// `router_echo`: echoes `peers * (count + 1)` messages, then closes,
/// delivering the last echoes first (default linger).
pub async fn router_echo(
    ctx: Context,
    endpoint: &str,
    size: usize,
    count: u64,
    peers: usize,
    progress: Progress,
) -> Result<()> {
    let mut router = RouterSocket::new(&ctx);
    router.bind(endpoint).await?;
    progress.phase("echoing");
    for _ in 0..echoes(peers, count) {
        let msg = router.recv().await?;
        check_frames(msg.len())?;
        crate::check_size(msg.frames()[1].len(), size)?;
        router.send(msg).await?;
        progress.tick();
    }
    progress.phase("closing the ROUTER socket (delivering the last echoes)");
    router.close().await;
    Ok(())
}

fn payload(size: usize) -> Message {
    Message::single(Bytes::from(crate::zeroed_body(size)))
}

/// One dealer: warm-up, barrier, then `count` roundtrips with [`WINDOW`] in
/// flight; returns the time of its last echo.
async fn dealer(
    mut dealer: DealerSocket,
    size: usize,
    count: u64,
    ready: Reporter,
    go: smol::channel::Receiver<()>,
    progress: Progress,
) -> Result<Instant> {
    dealer.send(payload(size)).await?;
    crate::check_size(dealer.recv().await?.payload_len(), size)?;
    tasks::arrived(&ready);
    // Nothing is ever sent: the channel closing is the signal.
    let _ = go.recv().await;
    let mut sent = count.min(WINDOW);
    for _ in 0..sent {
        dealer.send(payload(size)).await?;
    }
    for _ in 0..count {
        crate::check_size(dealer.recv().await?.payload_len(), size)?;
        progress.tick();
        if sent < count {
            dealer.send(payload(size)).await?;
            sent += 1;
        }
    }
    let last = Instant::now();
    dealer.close().await;
    Ok(last)
}

/// `dealers`: `peers` DEALER sockets in this process, one task each.
pub async fn dealers(
    ctx: Context,
    runtime: Runtime,
    endpoint: &str,
    size: usize,
    count: u64,
    peers: usize,
    progress: Progress,
) -> Result<Roundtrips> {
    let barrier = Barrier::new();
    let (go, released) = smol::channel::bounded::<()>(1);
    let mut tasks = Vec::with_capacity(peers);
    for _ in 0..peers {
        let mut socket = DealerSocket::new(&ctx);
        socket.connect(endpoint).await?;
        let ready = barrier.reporter();
        let body = dealer(
            socket,
            size,
            count,
            ready.clone(),
            released.clone(),
            progress.clone(),
        );
        tasks.push(tasks::spawn(runtime, tasks::reporting(ready, body)));
    }
    drop(released);
    progress.phase("waiting for every dealer's warm-up echo");
    barrier.wait(peers, &progress).await?;
    progress.phase("making roundtrips");
    let start = Instant::now();
    drop(go);
    let last_echoes = tasks::join_all(tasks).await?;
    summarize(size, count, start, &last_echoes)
}
