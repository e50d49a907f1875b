//! The perf tools on zmq.rs (the `zeromq` crate), on tokio: PUSH/PULL, and
//! one tokio task per socket in the many-socket tools. zmq.rs takes tokio
//! for its tasks; `--runtime` is ignored.
//!
//! zmq.rs has no linger: `send` only queues a message for a writer task,
//! and dropping the socket may lose what is still queued. The senders
//! whose last messages matter (`remote_thr`, `router_echo`) therefore keep
//! their socket open until the receivers disconnect (each does once it has
//! all its messages), which is what libzmq's default linger achieves.

use std::time::{Duration, Instant};

use zeromq::{
    DealerSocket, PubSocket, PullSocket, PushSocket, RouterSocket, Socket, SocketEvent, SocketRecv,
    SocketSend, SubSocket, ZmqMessage,
};

use super::{Implementation, Job};
use crate::Result;
use crate::args::Runtime;
use crate::fanout::sync::{FINISHED, READY, SyncClient, SyncServer};
use crate::fanout::{DATA, END, HELLO, RESEND_INTERVAL, Seen, SubState, message};
use crate::output::{Fanout, FanoutSend, Roundtrips, Throughput};
use crate::router::{WINDOW, check_frames, echoes};
use crate::tasks::{self, Barrier, Reporter};
use crate::watchdog::Progress;

/// How long `remote_thr` waits for the receiver to disconnect once every
/// message is queued.
pub const LINGER: Duration = Duration::from_secs(120);

/// zmq.rs, on tokio.
#[derive(Debug, Clone, Copy, Default)]
pub struct Zeromq;

fn payload_len(msg: &ZmqMessage) -> usize {
    msg.iter().map(|frame| frame.len()).sum()
}

/// A message of one freshly allocated `size`-byte body.
fn payload(size: usize) -> ZmqMessage {
    ZmqMessage::from(crate::zeroed_body(size))
}

/// Sends `kind` messages every [`RESEND_INTERVAL`] until `byte` arrives on
/// the side channel.
async fn repeat_until(
    publisher: &mut PubSocket,
    sync: &mut SyncServer,
    (kind, size): (u8, usize),
    byte: u8,
) -> Result<()> {
    loop {
        publisher
            .send(ZmqMessage::from(message(kind, size)))
            .await?;
        if sync.poll(byte)? {
            return Ok(());
        }
        tokio::time::sleep(RESEND_INTERVAL).await;
    }
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

/// One dealer: warm-up, barrier, then `count` roundtrips with [`WINDOW`] in
/// flight; returns the time of its last echo.
async fn dealer(
    mut dealer: DealerSocket,
    (size, count): (usize, u64),
    ready: Reporter,
    go: smol::channel::Receiver<()>,
    progress: Progress,
) -> Result<Instant> {
    dealer.send(payload(size)).await?;
    crate::check_size(payload_len(&dealer.recv().await?), size)?;
    tasks::arrived(&ready);
    // Nothing is ever sent: the channel closing is the signal.
    let _ = go.recv().await;
    let mut sent = count.min(WINDOW);
    for _ in 0..sent {
        dealer.send(payload(size)).await?;
    }
    for _ in 0..count {
        crate::check_size(payload_len(&dealer.recv().await?), size)?;
        progress.tick();
        if sent < count {
            dealer.send(payload(size)).await?;
            sent += 1;
        }
    }
    let last = Instant::now();
    drop(dealer);
    Ok(last)
}

impl Implementation for Zeromq {
    fn local_thr(&self, job: Job<'_>) -> Result<Throughput> {
        crate::block_on_tokio(async {
            let mut pull = PullSocket::new();
            pull.bind(job.endpoint).await?;
            let first = pull.recv().await?;
            crate::check_size(payload_len(&first), job.size)?;
            let start = Instant::now();
            for _ in 1..job.count {
                let msg = pull.recv().await?;
                crate::check_size(payload_len(&msg), job.size)?;
            }
            let elapsed = start.elapsed();
            drop(pull);
            Ok(Throughput::new(job, elapsed))
        })
    }

    /// Sends a fresh buffer per message, then lingers until the receiver
    /// has gone. zmq.rs only notices a departed peer when a write to it
    /// fails, so the lingering sends one more message of the same size
    /// every few milliseconds until `send` fails for want of peers. The
    /// receiver never reads these: it exits after `count` messages, which
    /// all come before them on the connection.
    fn remote_thr(&self, job: Job<'_>) -> Result<()> {
        crate::block_on_tokio(async {
            let mut push = PushSocket::new();
            push.connect(job.endpoint).await?;
            for _ in 0..job.count {
                push.send(payload(job.size)).await?;
            }
            let deadline = Instant::now() + LINGER;
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                if push.send(payload(job.size)).await.is_err() {
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
        })
    }

    /// Nothing is lost by dropping the socket at the end: every subscriber
    /// has seen END by then.
    fn pub_fanout(&self, job: Job<'_>, sync: &str, progress: Progress) -> Result<FanoutSend> {
        crate::block_on_tokio(async {
            let mut publisher = PubSocket::new();
            publisher.bind(job.endpoint).await?;
            let mut sync = SyncServer::bind(sync)?;
            progress.phase("waiting for every subscriber to see a HELLO");
            repeat_until(&mut publisher, &mut sync, (HELLO, job.size), READY).await?;
            progress.phase("sending DATA");
            let start = Instant::now();
            for _ in 0..job.count {
                publisher
                    .send(ZmqMessage::from(message(DATA, job.size)))
                    .await?;
                progress.tick();
            }
            let elapsed = start.elapsed();
            progress.phase("waiting for every subscriber to see an END");
            repeat_until(&mut publisher, &mut sync, (END, job.size), FINISHED).await?;
            drop(publisher);
            Ok(FanoutSend::new(job, elapsed))
        })
    }

    fn sub_fanout(
        &self,
        job: Job<'_>,
        sync: &mut SyncClient,
        progress: Progress,
    ) -> Result<Fanout> {
        crate::block_on_tokio(async {
            let barrier = Barrier::new();
            let mut tasks = Vec::with_capacity(job.peers);
            for _ in 0..job.peers {
                let mut sub = SubSocket::new();
                sub.subscribe("").await?;
                sub.connect(job.endpoint).await?;
                let (ready, progress) = (barrier.reporter(), progress.clone());
                let body = subscriber(sub, job.size, ready.clone(), progress);
                tasks.push(tasks::spawn(Runtime::Tokio, ready, body));
            }
            progress.phase("waiting for every subscriber to see a HELLO");
            barrier.wait(job.peers, &progress).await?;
            sync.send(READY)?;
            progress.phase("receiving DATA until every subscriber has seen an END");
            let states = tasks::join_all(tasks).await?;
            sync.send(FINISHED)?;
            crate::fanout::summarize(job.size, job.count, &states)
        })
    }

    /// Echoes, then waits for the dealers to disconnect.
    fn router_echo(&self, job: Job<'_>, progress: Progress) -> Result<()> {
        crate::block_on_tokio(async {
            let mut router = RouterSocket::new();
            let mut events = router.monitor();
            // Counts the departures reported so far. The monitor channel is
            // bounded (events beyond its capacity are dropped), so it is
            // read now and then while echoing too.
            let mut departures = move || {
                let mut n = 0;
                while let Ok(event) = events.try_recv() {
                    n += usize::from(matches!(event, SocketEvent::Disconnected(_)));
                }
                n
            };
            router.bind(job.endpoint).await?;
            let mut gone = 0;
            progress.phase("echoing");
            for n in 0..echoes(job.peers, job.count) {
                let msg = router.recv().await?;
                check_frames(msg.len())?;
                crate::check_size(msg.get(1).map_or(0, |f| f.len()), job.size)?;
                router.send(msg).await?;
                progress.tick();
                if n % 256 == 0 {
                    gone += departures();
                }
            }
            progress.phase("waiting for the dealers to disconnect (delivering the last echoes)");
            while gone < job.peers {
                // Polling `recv` is what makes zmq.rs notice a closed connection.
                match tokio::time::timeout(Duration::from_millis(10), router.recv()).await {
                    Ok(Ok(_)) => return Err("a message after the last echo".into()),
                    Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(1)).await,
                    Err(_elapsed) => {}
                }
                gone += departures();
            }
            drop(router);
            Ok(())
        })
    }

    fn dealers(&self, job: Job<'_>, progress: Progress) -> Result<Roundtrips> {
        crate::block_on_tokio(async {
            let barrier = Barrier::new();
            let (go, released) = smol::channel::bounded::<()>(1);
            let mut tasks = Vec::with_capacity(job.peers);
            for _ in 0..job.peers {
                let mut socket = DealerSocket::new();
                socket.connect(job.endpoint).await?;
                let ready = barrier.reporter();
                let (run, progress) = ((job.size, job.count), progress.clone());
                let body = dealer(socket, run, ready.clone(), released.clone(), progress);
                tasks.push(tasks::spawn(Runtime::Tokio, ready, body));
            }
            drop(released);
            progress.phase("waiting for every dealer's warm-up echo");
            barrier.wait(job.peers, &progress).await?;
            progress.phase("making roundtrips");
            let start = Instant::now();
            drop(go);
            let last_echoes = tasks::join_all(tasks).await?;
            crate::router::summarize(job.size, job.count, start, &last_echoes)
        })
    }
}
