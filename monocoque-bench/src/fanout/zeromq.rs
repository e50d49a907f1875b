//! The fan-out tools on zmq.rs (the `zeromq` crate), on tokio: one tokio
//! task per SUB socket.

use std::time::Instant;

use zeromq::{PubSocket, Socket, SocketRecv, SocketSend, SubSocket, ZmqMessage};

use super::sync::{FINISHED, READY, SyncClient, SyncServer};
use super::{DATA, END, HELLO, RESEND_INTERVAL, Seen, SubState, message, summarize};
use crate::Result;
use crate::args::Runtime;
use crate::output::{Fanout, FanoutSend};
use crate::tasks::{self, Barrier, Reporter};
use crate::watchdog::Progress;

fn msg(kind: u8, size: usize) -> ZmqMessage {
    ZmqMessage::from(message(kind, size))
}

/// Sends `kind` messages every [`RESEND_INTERVAL`] until `byte` arrives on
/// the side channel.
async fn repeat_until(
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
        tokio::time::sleep(RESEND_INTERVAL).await;
    }
}

/// `pub_fanout`: binds a PUB socket and the side channel, then HELLO until
/// ready, `count` DATA as fast as `send` goes, END until finished.
///
/// zmq.rs has no linger; nothing is lost by dropping the socket at the end,
/// since every subscriber has seen END by then.
pub async fn pub_fanout(
    endpoint: &str,
    sync: &str,
    size: usize,
    count: u64,
    subscribers: usize,
    progress: Progress,
) -> Result<FanoutSend> {
    let mut publisher = PubSocket::new();
    publisher.bind(endpoint).await?;
    let mut sync = SyncServer::bind(sync)?;
    progress.phase("waiting for every subscriber to see a HELLO");
    repeat_until(&mut publisher, &mut sync, HELLO, size, READY).await?;
    progress.phase("sending DATA");
    let start = Instant::now();
    for _ in 0..count {
        publisher.send(msg(DATA, size)).await?;
        progress.tick();
    }
    let elapsed = start.elapsed();
    progress.phase("waiting for every subscriber to see an END");
    repeat_until(&mut publisher, &mut sync, END, size, FINISHED).await?;
    drop(publisher);
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
        let frame = msg.get(0).map_or(&[][..], |f| &f[..]);
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

/// `sub_fanout`: `subscribers` SUB sockets in this process, one tokio task
/// each.
pub async fn sub_fanout(
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
        let mut sub = SubSocket::new();
        sub.subscribe("").await?;
        sub.connect(endpoint).await?;
        let (ready, progress) = (barrier.reporter(), progress.clone());
        let body = subscriber(sub, size, ready.clone(), progress);
        tasks.push(tasks::spawn(Runtime::Tokio, tasks::reporting(ready, body)));
    }
    progress.phase("waiting for every subscriber to see a HELLO");
    barrier.wait(subscribers, &progress).await?;
    sync.send(READY)?;
    progress.phase("receiving DATA until every subscriber has seen an END");
    let states = tasks::join_all(tasks).await?;
    sync.send(FINISHED)?;
    summarize(size, count, &states)
}
