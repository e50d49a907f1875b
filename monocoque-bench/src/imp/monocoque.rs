//! The perf tools on monocoque, on tokio, async-std or smol: PUSH/PULL for
//! throughput (as CURVE server and client with `--curve`), REQ/REP for
//! latency and CURVE handshakes, and one task per socket, spawned on the
//! runtime, in the many-socket tools.

use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use futures::SinkExt;
use monocoque::{
    Context, CurvePublicKey, CurveSecretKey, DealerSocket, Endpoint, Kind, Message, PubSocket,
    PullSocket, PushSocket, RepSocket, ReqSocket, RouterSocket, Socket, SocketOption, SubSocket,
};

use super::{Implementation, Job};
use crate::Result;
use crate::args::Runtime;
use crate::curve::{CurveKeys, Handshakes};
use crate::fanout::sync::{FINISHED, READY, SyncClient, SyncServer};
use crate::fanout::{DATA, END, HELLO, RESEND_INTERVAL, Seen, SubState, message};
use crate::idle::Report;
use crate::idle::server::{SETTLE_AFTER, Server, ServerConfig};
use crate::output::{Fanout, FanoutSend, Latency, Roundtrips, Throughput};
use crate::router::{WINDOW, check_frames, echoes};
use crate::tasks::{self, Barrier, Reporter};
use crate::watchdog::Progress;

/// monocoque on a runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Monocoque(pub Runtime);

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

/// A single-frame message: a freshly allocated `size`-byte body, as
/// libzmq's tools send.
fn payload(size: usize) -> Message {
    Message::single(Bytes::from(crate::zeroed_body(size)))
}

/// Makes `socket` the CURVE server of `keys`, when there are keys.
fn curve_server<K: Kind>(socket: &mut Socket<K>, keys: Option<&CurveKeys>) -> Result<()> {
    if let Some(keys) = keys {
        let secret = CurveSecretKey::from_z85(&keys.server_secret)?;
        socket.set_option(SocketOption::CurveSecretKey(secret))?;
        socket.set_option(SocketOption::CurveServer(true))?;
    }
    Ok(())
}

/// Makes `socket` the CURVE client of `keys`, when there are keys.
fn curve_client<K: Kind>(socket: &mut Socket<K>, keys: Option<&CurveKeys>) -> Result<()> {
    if let Some(keys) = keys {
        let public = CurvePublicKey::from_z85(&keys.client_public)?;
        let secret = CurveSecretKey::from_z85(&keys.client_secret)?;
        let server = CurvePublicKey::from_z85(&keys.server_public)?;
        socket.set_option(SocketOption::CurvePublicKey(public))?;
        socket.set_option(SocketOption::CurveSecretKey(secret))?;
        socket.set_option(SocketOption::CurveServerKey(server))?;
    }
    Ok(())
}

/// One `handshakes` client: `count` times a fresh REQ socket as CURVE
/// client, connect, one roundtrip, close.
async fn handshake_client(ctx: Context, job: HandshakeJob, progress: Progress) -> Result<()> {
    for _ in 0..job.count {
        let mut req = ReqSocket::new(&ctx);
        curve_client(&mut req, Some(&job.keys))?;
        req.connect(job.endpoint.as_str()).await?;
        req.send(payload(job.size)).await?;
        crate::check_size(req.recv().await?.payload_len(), job.size)?;
        req.close().await;
        progress.tick();
    }
    Ok(())
}

/// What each spawned `handshakes` client owns (a task outlives borrows).
#[derive(Clone)]
struct HandshakeJob {
    endpoint: String,
    size: usize,
    count: u64,
    keys: CurveKeys,
}

/// A fresh fan-out message of `kind`.
fn kind_msg(kind: u8, size: usize) -> Message {
    Message::single(Bytes::from(message(kind, size)))
}

/// Sends `kind` messages every [`RESEND_INTERVAL`] until `byte` arrives on
/// the side channel.
async fn repeat_until(
    ctx: &Context,
    publisher: &mut PubSocket,
    sync: &mut SyncServer,
    (kind, size): (u8, usize),
    byte: u8,
) -> Result<()> {
    loop {
        publisher.send(kind_msg(kind, size)).await?;
        if sync.poll(byte)? {
            return Ok(());
        }
        ctx.runtime().sleep(RESEND_INTERVAL).await;
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

impl Implementation for Monocoque {
    fn local_thr(&self, job: Job<'_>) -> Result<Throughput> {
        block_on(self.0, |ctx| async move {
            let mut pull = PullSocket::new(&ctx);
            curve_server(&mut pull, job.curve)?;
            let _bound: Endpoint = pull.bind(job.endpoint).await?;
            let first: Message = pull.recv().await?;
            crate::check_size(first.payload_len(), job.size)?;
            let start = Instant::now();
            for _ in 1..job.count {
                let msg = pull.recv().await?;
                crate::check_size(msg.payload_len(), job.size)?;
            }
            let elapsed = start.elapsed();
            drop(pull);
            Ok(Throughput::new(job, elapsed))
        })
    }

    /// Sends a freshly allocated buffer per message, as libzmq's tool does,
    /// then closes, waiting for every message to be delivered (default
    /// linger).
    fn remote_thr(&self, job: Job<'_>) -> Result<()> {
        block_on(self.0, |ctx| async move {
            let mut push = PushSocket::new(&ctx);
            curve_client(&mut push, job.curve)?;
            push.connect(job.endpoint).await?;
            if job.batch > 1 {
                // Feeds a batch without waiting for any of it, then waits once.
                let mut left = job.count;
                while left > 0 {
                    let batch = left.min(job.batch as u64);
                    for _ in 0..batch {
                        push.feed(payload(job.size)).await?;
                    }
                    push.flush().await?;
                    left -= batch;
                }
            } else {
                for _ in 0..job.count {
                    push.send(payload(job.size)).await?;
                }
            }
            push.close().await;
            Ok(())
        })
    }

    fn local_lat(&self, job: Job<'_>) -> Result<()> {
        block_on(self.0, |ctx| async move {
            let mut rep = RepSocket::new(&ctx);
            let _bound: Endpoint = rep.bind(job.endpoint).await?;
            for _ in 0..job.count {
                let msg = rep.recv().await?;
                crate::check_size(msg.payload_len(), job.size)?;
                rep.send(msg).await?;
            }
            // Waits for the last reply to be written (default linger).
            rep.close().await;
            Ok(())
        })
    }

    fn remote_lat(&self, job: Job<'_>, mut samples: Option<&mut Vec<f64>>) -> Result<Latency> {
        block_on(self.0, |ctx| async move {
            let mut req = ReqSocket::new(&ctx);
            req.connect(job.endpoint).await?;
            let mut msg = payload(job.size);
            let start = Instant::now();
            for _ in 0..job.count {
                let t0 = samples.is_some().then(Instant::now);
                req.send(msg).await?;
                msg = req.recv().await?;
                if let (Some(t0), Some(s)) = (t0, samples.as_deref_mut()) {
                    s.push(t0.elapsed().as_secs_f64() * 1e6);
                }
                crate::check_size(msg.payload_len(), job.size)?;
            }
            let elapsed = start.elapsed();
            req.close().await;
            Ok(Latency::new(job, elapsed))
        })
    }

    fn pub_fanout(&self, job: Job<'_>, sync: &str, progress: Progress) -> Result<FanoutSend> {
        block_on(self.0, |ctx| async move {
            let mut publisher = PubSocket::new(&ctx);
            publisher.bind(job.endpoint).await?;
            let mut sync = SyncServer::bind(sync)?;
            progress.phase("waiting for every subscriber to see a HELLO");
            repeat_until(&ctx, &mut publisher, &mut sync, (HELLO, job.size), READY).await?;
            progress.phase("sending DATA");
            let start = Instant::now();
            for _ in 0..job.count {
                publisher.send(kind_msg(DATA, job.size)).await?;
                progress.tick();
            }
            let elapsed = start.elapsed();
            progress.phase("waiting for every subscriber to see an END");
            repeat_until(&ctx, &mut publisher, &mut sync, (END, job.size), FINISHED).await?;
            progress.phase("closing the PUB socket");
            publisher.close().await;
            Ok(FanoutSend::new(job, elapsed))
        })
    }

    fn sub_fanout(
        &self,
        job: Job<'_>,
        sync: &mut SyncClient,
        progress: Progress,
    ) -> Result<Fanout> {
        let runtime = self.0;
        block_on(runtime, |ctx| async move {
            let barrier = Barrier::new();
            let mut tasks = Vec::with_capacity(job.peers);
            for _ in 0..job.peers {
                let mut sub = SubSocket::new(&ctx);
                sub.subscribe("")?;
                sub.connect(job.endpoint).await?;
                let (ready, progress) = (barrier.reporter(), progress.clone());
                let body = subscriber(sub, job.size, ready.clone(), progress);
                tasks.push(tasks::spawn(runtime, ready, body));
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

    fn router_echo(&self, job: Job<'_>, progress: Progress) -> Result<()> {
        let count = echoes(job.peers, job.count);
        block_on(self.0, |ctx| echo_server(ctx, job, count, None, progress))
    }

    fn dealers(&self, job: Job<'_>, progress: Progress) -> Result<Roundtrips> {
        let runtime = self.0;
        block_on(runtime, |ctx| async move {
            let barrier = Barrier::new();
            let (go, released) = smol::channel::bounded::<()>(1);
            let mut tasks = Vec::with_capacity(job.peers);
            for _ in 0..job.peers {
                let mut socket = DealerSocket::new(&ctx);
                socket.connect(job.endpoint).await?;
                let ready = barrier.reporter();
                let (run, progress) = ((job.size, job.count), progress.clone());
                let body = dealer(socket, run, ready.clone(), released.clone(), progress);
                tasks.push(tasks::spawn(runtime, ready, body));
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

    fn idle_server(&self, config: &ServerConfig) -> Result<Report> {
        let server = Server::start(config);
        block_on(self.0, |ctx| async move {
            let mut router = RouterSocket::new(&ctx);
            let endpoint = router.bind(config.bind.as_str()).await?;
            ctx.runtime().sleep(crate::idle::SETTLE_BEFORE).await;
            let before = server.announce(&endpoint.to_string(), true)?;
            for _ in 0..config.expected_messages() {
                router.recv().await?;
            }
            ctx.runtime().sleep(SETTLE_AFTER).await;
            let report = server.conclude(before)?;
            while !server.stdin_closed() {
                ctx.runtime()
                    .sleep(std::time::Duration::from_millis(50))
                    .await;
            }
            drop(router);
            Ok(report)
        })
    }

    fn handshake_server(&self, job: Job<'_>, progress: Progress) -> Result<()> {
        block_on(self.0, |ctx| async move {
            let mut rep = RepSocket::new(&ctx);
            curve_server(&mut rep, Some(curve_keys(&job)?))?;
            rep.bind(job.endpoint).await?;
            progress.phase("answering each handshake's request");
            for _ in 0..job.count * job.peers as u64 {
                let msg = rep.recv().await?;
                crate::check_size(msg.payload_len(), job.size)?;
                rep.send(msg).await?;
                progress.tick();
            }
            progress.phase("closing the REP socket (delivering the last reply)");
            rep.close().await;
            Ok(())
        })
    }

    fn connect_server(&self, job: Job<'_>, progress: Progress) -> Result<()> {
        // Room in the listen queue for a whole round (see `Implementation::connect_server`).
        let (count, backlog) = (job.count * job.peers as u64, Some(job.peers));
        block_on(self.0, |ctx| {
            echo_server(ctx, job, count, backlog, progress)
        })
    }

    fn connects(&self, job: Job<'_>, progress: Progress) -> Result<Handshakes> {
        let runtime = self.0;
        let (endpoint, size) = (job.endpoint.to_owned(), job.size);
        block_on(runtime, |ctx| async move {
            progress.phase("making connections");
            let barrier = Barrier::new();
            let start = Instant::now();
            // Each round: every DEALER of it at once, as libzmq's tool does.
            for _ in 0..job.count {
                let dealers: Vec<_> = (0..job.peers)
                    .map(|_| {
                        let (ctx, endpoint, progress) =
                            (ctx.clone(), endpoint.clone(), progress.clone());
                        let body = async move {
                            let mut dealer = DealerSocket::new(&ctx);
                            dealer.connect(endpoint.as_str()).await?;
                            dealer.send(payload(size)).await?;
                            crate::check_size(dealer.recv().await?.payload_len(), size)?;
                            drop(dealer);
                            progress.tick();
                            Ok(())
                        };
                        tasks::spawn(runtime, barrier.reporter(), body)
                    })
                    .collect();
                tasks::join_all(dealers).await?;
            }
            let elapsed = start.elapsed();
            Ok(Handshakes::new(size, job.count, job.peers, elapsed))
        })
    }

    fn handshakes(&self, job: Job<'_>, progress: Progress) -> Result<Handshakes> {
        let runtime = self.0;
        let one = HandshakeJob {
            endpoint: job.endpoint.to_owned(),
            size: job.size,
            count: job.count,
            keys: curve_keys(&job)?.clone(),
        };
        block_on(runtime, |ctx| async move {
            progress.phase("making handshakes");
            let barrier = Barrier::new();
            let start = Instant::now();
            let clients: Vec<_> = (0..job.peers)
                .map(|_| {
                    let body = handshake_client(ctx.clone(), one.clone(), progress.clone());
                    tasks::spawn(runtime, barrier.reporter(), body)
                })
                .collect();
            tasks::join_all(clients).await?;
            let elapsed = start.elapsed();
            Ok(Handshakes::new(job.size, job.count, job.peers, elapsed))
        })
    }
}

/// The keys of a CURVE job (the handshake tools always have some).
fn curve_keys<'a>(job: &Job<'a>) -> Result<&'a CurveKeys> {
    (job.curve).ok_or_else(|| "the handshake tools run CURVE jobs only".into())
}

/// A ROUTER bound to the job's endpoint (with `backlog`, ZMQ_BACKLOG, if given) that sends
/// `count` messages back to their senders, each one payload frame of the job's size, then
/// closes: the server of `router_echo` and `connect_server`.
async fn echo_server(
    ctx: Context,
    job: Job<'_>,
    count: u64,
    backlog: Option<usize>,
    progress: Progress,
) -> Result<()> {
    let mut router = RouterSocket::new(&ctx);
    if let Some(backlog) = backlog {
        let backlog = u32::try_from(backlog).unwrap_or(u32::MAX);
        router.set_option(SocketOption::Backlog(backlog))?;
    }
    router.bind(job.endpoint).await?;
    progress.phase("echoing");
    for _ in 0..count {
        let msg = router.recv().await?;
        check_frames(msg.len())?;
        crate::check_size(msg.frames()[1].len(), job.size)?;
        router.send(msg).await?;
        progress.tick();
    }
    progress.phase("closing the ROUTER socket (delivering the last echoes)");
    router.close().await;
    Ok(())
}
