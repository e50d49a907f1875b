//! The fan-out tools on monocoque (tokio, async-std or smol): one task per
//! SUB socket, spawned on the runtime.

use std::time::Instant;

use bytes::Bytes;
use monocoque::{Context, Message, PubSocket, SubSocket};

use super::sync::{FINISHED, READY, SyncClient, SyncServer};
use super::{DATA, END, HELLO, RESEND_INTERVAL, Seen, SubState, message, summarize};
use crate::Result;
use crate::args::Runtime;
use crate::output::{Fanout, FanoutSend};
use crate::tasks::{self, Barrier, Reporter};
use crate::watchdog::Progress;

fn msg(kind: u8, size: usize) -> Message {
    Message::single(Bytes::from(message(kind, size)))
}

/// Sends `kind` messages every [`RESEND_INTERVAL`] until `byte` arrives on
/// the side channel.
async fn repeat_until(
    ctx: &Context,
    publisher: &mut PubSocket,
    sync: &mut SyncServer,
    kind: u8,
    size: usize,
    byte: u8,
) -> Result<()> {
    loop {
        publisher.send(msg(kind, size)).await?;
        if sync.poll(byte)? {
            return Ok(());
        }
        ctx.runtime().sleep(RESEND_INTERVAL).await;
    }
}

/// `pub_fanout`: binds a PUB socket and the side channel, then HELLO until
/// ready, `count` DATA as fast as `send` goes, END until finished.
pub async fn pub_fanout(
    ctx: Context,
    endpoint: &str,
    sync: &str,
    size: usize,
    count: u64,
    subscribers: usize,
    progress: Progress,
) -> Result<FanoutSend> {
    let mut publisher = PubSocket::new(&ctx);
    publisher.bind(endpoint).await?;
    let mut sync = SyncServer::bind(sync)?;
    progress.phase("waiting for every subscriber to see a HELLO");
    repeat_until(&ctx, &mut publisher, &mut sync, HELLO, size, READY).await?;
    progress.phase("sending DATA");
    let start = Instant::now();
    for _ in 0..count {
        publisher.send(msg(DATA, size)).await?;
        progress.tick();
    }
    let elapsed = start.elapsed();
    progress.phase("waiting for every subscriber to see an END");
    repeat_until(&ctx, &mut publisher, &mut sync, END, size, FINISHED).await?;
    progress.phase("closing the PUB socket");
    publisher.close().await;
    Ok(FanoutSend {
        size,
        count,
        subscribers,
        elapsed,
    })
}

/// One subscriber: reports its first HELLO, then counts DATA until END.
async fn subscriber(
    mut sub: SubSocket,
    size: usize,
    ready: Reporter,
    progress: Progress,
) -> Result<SubState> {
    let mut state = SubState::new(size);
    loop {
        let msg = sub.recv().await?;
        let frame = msg.first().map_or(&[][..], |f| &f[..]);
        match state.on_message(frame)? {
            Seen::Nothing => continue,
            Seen::FirstHello => tasks::arrived(&ready),
            Seen::Data => {}
            Seen::End => break,
        }
        progress.tick();
    }
    progress.tick();
    drop(sub);
    Ok(state)
}

/// `sub_fanout`: `subscribers` SUB sockets in this process, one task each.
#[allow(clippy::too_many_arguments)]
pub async fn sub_fanout(
    ctx: Context,
    runtime: Runtime,
    endpoint: &str,
    sync: &mut SyncClient,
    size: usize,
    count: u64,
    subscribers: usize,
    progress: Progress,
) -> Result<Fanout> {
    let barrier = Barrier::new();
    let mut tasks = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let mut sub = SubSocket::new(&ctx);
        sub.subscribe("")?;
        sub.connect(endpoint).await?;
        let (ready, progress) = (barrier.reporter(), progress.clone());
        let body = subscriber(sub, size, ready.clone(), progress);
        tasks.push(tasks::spawn(runtime, tasks::reporting(ready, body)));
    }
    progress.phase("waiting for every subscriber to see a HELLO");
    barrier.wait(subscribers, &progress).await?;
    sync.send(READY)?;
    progress.phase("receiving DATA until every subscriber has seen an END");
    let states = tasks::join_all(tasks).await?;
    sync.send(FINISHED)?;
    summarize(size, count, &states)
}
