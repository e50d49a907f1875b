//! The perf tools on libzmq, through the `zmq` crate.
//!
//! Each tool mirrors what libzmq's own does: default socket options, one
//! I/O thread, a fresh `zmq_msg_t` per sent message, one reused `zmq_msg_t`
//! on the receiving side. The many-socket tools serve all their sockets
//! from one thread with `zmq::poll`, draining each readable socket with
//! `DONTWAIT`, as a libzmq application would.

use std::time::Instant;

use super::{Implementation, Job};
use crate::Result;
use crate::curve::Handshakes;
use crate::fanout::sync::{FINISHED, READY, SyncClient, SyncServer};
use crate::fanout::{DATA, END, HELLO, RESEND_INTERVAL, Seen, SubState};
use crate::idle::Report;
use crate::idle::server::{Server, ServerConfig};
use crate::output::{Fanout, FanoutSend, Latency, Roundtrips, Throughput};
use crate::router::{WINDOW, echoes};
use crate::watchdog::Progress;

/// How long one `zmq::poll` waits, in milliseconds (the watchdog bounds the
/// whole run).
const POLL_MS: i64 = 100;

/// libzmq, through the `zmq` crate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Libzmq;

/// A fresh `size`-byte message starting with `kind`, allocated by libzmq as
/// its perf tools do.
fn kind_msg(kind: u8, size: usize) -> zmq::Message {
    let mut msg = zmq::Message::with_size(size);
    msg[0] = kind;
    msg
}

/// Sends `kind` messages every [`RESEND_INTERVAL`] until `byte` arrives on
/// the side channel.
fn repeat_until(
    publisher: &zmq::Socket,
    sync: &mut SyncServer,
    kind: u8,
    size: usize,
    byte: u8,
) -> Result<()> {
    loop {
        publisher.send(kind_msg(kind, size), 0)?;
        if sync.poll(byte)? {
            return Ok(());
        }
        std::thread::sleep(RESEND_INTERVAL);
    }
}

/// Receives every waiting message on `socket`, calling `on_msg` with each;
/// stops early when `on_msg` says so.
fn drain(
    socket: &zmq::Socket,
    msg: &mut zmq::Message,
    mut on_msg: impl FnMut(&zmq::Message) -> Result<bool>,
) -> Result<()> {
    loop {
        match socket.recv(msg, zmq::DONTWAIT) {
            Ok(()) => {}
            Err(zmq::Error::EAGAIN) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        if !on_msg(msg)? {
            return Ok(());
        }
    }
}

/// Polls `sockets` until `done` says so, draining each readable one into
/// `on_msg(socket index, message)`.
fn poll_loop(
    sockets: &[zmq::Socket],
    mut done: impl FnMut() -> bool,
    mut on_msg: impl FnMut(usize, &zmq::Message) -> Result<bool>,
) -> Result<()> {
    let mut items: Vec<zmq::PollItem<'_>> = (sockets.iter())
        .map(|s| s.as_poll_item(zmq::POLLIN))
        .collect();
    let mut msg = zmq::Message::new();
    while !done() {
        if zmq::poll(&mut items, POLL_MS)? == 0 {
            continue;
        }
        for (i, item) in items.iter().enumerate() {
            if item.is_readable() {
                drain(&sockets[i], &mut msg, |m| on_msg(i, m))?;
            }
        }
    }
    Ok(())
}

impl Implementation for Libzmq {
    fn local_thr(&self, job: Job<'_>) -> Result<Throughput> {
        let ctx = zmq::Context::new();
        let pull = ctx.socket(zmq::PULL)?;
        pull.bind(job.endpoint)?;
        let mut msg = zmq::Message::new();
        pull.recv(&mut msg, 0)?;
        crate::check_size(msg.len(), job.size)?;
        let start = Instant::now();
        for _ in 1..job.count {
            pull.recv(&mut msg, 0)?;
            crate::check_size(msg.len(), job.size)?;
        }
        let elapsed = start.elapsed();
        drop(pull);
        drop(ctx);
        Ok(Throughput::new(job, elapsed))
    }

    fn remote_thr(&self, job: Job<'_>) -> Result<()> {
        let ctx = zmq::Context::new();
        let push = ctx.socket(zmq::PUSH)?;
        push.connect(job.endpoint)?;
        for _ in 0..job.count {
            push.send(zmq::Message::with_size(job.size), 0)?;
        }
        // Closing the socket then terminating the context blocks until the
        // queued messages are written (linger -1).
        drop(push);
        drop(ctx);
        Ok(())
    }

    fn local_lat(&self, job: Job<'_>) -> Result<()> {
        let ctx = zmq::Context::new();
        let rep = ctx.socket(zmq::REP)?;
        rep.bind(job.endpoint)?;
        let mut msg = zmq::Message::new();
        for _ in 0..job.count {
            rep.recv(&mut msg, 0)?;
            crate::check_size(msg.len(), job.size)?;
            let reply = std::mem::replace(&mut msg, zmq::Message::new());
            rep.send(reply, 0)?;
        }
        drop(rep);
        drop(ctx);
        Ok(())
    }

    fn remote_lat(&self, job: Job<'_>, mut samples: Option<&mut Vec<f64>>) -> Result<Latency> {
        let ctx = zmq::Context::new();
        let req = ctx.socket(zmq::REQ)?;
        req.connect(job.endpoint)?;
        let mut msg = zmq::Message::with_size(job.size);
        let start = Instant::now();
        for _ in 0..job.count {
            let t0 = samples.is_some().then(Instant::now);
            let request = std::mem::replace(&mut msg, zmq::Message::new());
            req.send(request, 0)?;
            req.recv(&mut msg, 0)?;
            if let (Some(t0), Some(s)) = (t0, samples.as_deref_mut()) {
                s.push(t0.elapsed().as_secs_f64() * 1e6);
            }
            crate::check_size(msg.len(), job.size)?;
        }
        let elapsed = start.elapsed();
        drop(req);
        drop(ctx);
        Ok(Latency::new(job, elapsed))
    }

    fn pub_fanout(&self, job: Job<'_>, sync: &str, progress: Progress) -> Result<FanoutSend> {
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::PUB)?;
        publisher.bind(job.endpoint)?;
        let mut sync = SyncServer::bind(sync)?;
        progress.phase("waiting for every subscriber to see a HELLO");
        repeat_until(&publisher, &mut sync, HELLO, job.size, READY)?;
        progress.phase("sending DATA");
        let start = Instant::now();
        for _ in 0..job.count {
            publisher.send(kind_msg(DATA, job.size), 0)?;
            progress.tick();
        }
        let elapsed = start.elapsed();
        progress.phase("waiting for every subscriber to see an END");
        repeat_until(&publisher, &mut sync, END, job.size, FINISHED)?;
        // Every subscriber has seen END: what is still queued is END
        // repeats, worth nothing. libzmq 4.3.4 was seen to block in
        // zmq_ctx_term now and then at this point (after the subscriber
        // process had exited), even with linger 0, so the socket and
        // context are not torn down: the process ends right after
        // printing, which releases them.
        publisher.set_linger(0)?;
        std::mem::forget(publisher);
        std::mem::forget(ctx);
        Ok(FanoutSend::new(job, elapsed))
    }

    fn sub_fanout(
        &self,
        job: Job<'_>,
        sync: &mut SyncClient,
        progress: Progress,
    ) -> Result<Fanout> {
        let ctx = zmq::Context::new();
        let mut subs = Vec::with_capacity(job.peers);
        for _ in 0..job.peers {
            let sub = ctx.socket(zmq::SUB)?;
            sub.set_subscribe(b"")?;
            sub.connect(job.endpoint)?;
            subs.push(sub);
        }
        let mut states = vec![SubState::new(job.size); job.peers];
        let (mut ready, done) = (0, std::cell::Cell::new(0));
        progress.phase("waiting for every subscriber to see a HELLO");
        poll_loop(
            &subs,
            || done.get() >= job.peers,
            |i, msg| {
                match states[i].on_message(msg)? {
                    Seen::Nothing => return Ok(true),
                    Seen::FirstHello => {
                        ready += 1;
                        if ready == job.peers {
                            sync.send(READY)?;
                            progress.phase("receiving DATA until every subscriber has seen an END");
                        }
                    }
                    Seen::Data => {}
                    Seen::End => done.set(done.get() + 1),
                }
                progress.tick();
                Ok(true)
            },
        )?;
        sync.send(FINISHED)?;
        drop(subs);
        drop(ctx);
        crate::fanout::summarize(job.size, job.count, &states)
    }

    fn router_echo(&self, job: Job<'_>, progress: Progress) -> Result<()> {
        echo_server(&job, echoes(job.peers, job.count), None, progress)
    }

    fn connect_server(&self, job: Job<'_>, progress: Progress) -> Result<()> {
        // Room in the listen queue for a whole round (see `Implementation::connect_server`).
        let backlog = Some(job.peers);
        echo_server(&job, job.count * job.peers as u64, backlog, progress)
    }

    fn connects(&self, job: Job<'_>, progress: Progress) -> Result<Handshakes> {
        let (size, count, peers) = (job.size, job.count, job.peers);
        progress.phase("making connections");
        let start = Instant::now();
        for _ in 0..count {
            // A context per round: libzmq counts a closed socket against ZMQ_MAX_SOCKETS (1023,
            // which the `zmq` crate cannot raise) until its reaper has destroyed it, so sockets
            // closed in one round could refuse the next round's. Dropping the context waits for
            // that, inside the timing.
            let ctx = zmq::Context::new();
            // Every DEALER of the round at once: connected and sent on, then each echo awaited
            // (libzmq's I/O thread makes the connections meanwhile).
            let mut dealers = Vec::with_capacity(peers);
            for _ in 0..peers {
                let dealer = ctx.socket(zmq::DEALER)?;
                dealer.connect(job.endpoint)?;
                dealer.send(zmq::Message::with_size(size), 0)?;
                dealers.push(dealer);
            }
            for dealer in &dealers {
                crate::check_size(dealer.recv_msg(0)?.len(), size)?;
                progress.tick();
            }
            drop(dealers);
            drop(ctx);
        }
        let elapsed = start.elapsed();
        Ok(Handshakes::new(size, count, peers, elapsed))
    }

    fn dealers(&self, job: Job<'_>, progress: Progress) -> Result<Roundtrips> {
        let (size, count, peers) = (job.size, job.count, job.peers);
        let ctx = zmq::Context::new();
        let mut sockets = Vec::with_capacity(peers);
        for _ in 0..peers {
            let socket = ctx.socket(zmq::DEALER)?;
            socket.connect(job.endpoint)?;
            socket.send(zmq::Message::with_size(size), 0)?;
            sockets.push(socket);
        }
        progress.phase("waiting for every dealer's warm-up echo");
        let mut warm = vec![false; peers];
        let warmed = std::cell::Cell::new(0);
        poll_loop(
            &sockets,
            || warmed.get() >= peers,
            |i, msg| {
                crate::check_size(msg.len(), size)?;
                if std::mem::replace(&mut warm[i], true) {
                    return Err("a second echo before the barrier".into());
                }
                warmed.set(warmed.get() + 1);
                progress.tick();
                Ok(true)
            },
        )?;
        progress.phase("making roundtrips");
        let start = Instant::now();
        let window = count.min(WINDOW);
        for socket in &sockets {
            for _ in 0..window {
                socket.send(zmq::Message::with_size(size), 0)?;
            }
        }
        // Per dealer: messages sent, echoes received, time of the last echo.
        let mut state = vec![(window, 0, None); peers];
        let done = std::cell::Cell::new(0);
        poll_loop(
            &sockets,
            || done.get() >= peers,
            |i, msg| {
                crate::check_size(msg.len(), size)?;
                progress.tick();
                let (sent, received, last) = &mut state[i];
                *received += 1;
                if *sent < count {
                    sockets[i].send(zmq::Message::with_size(size), 0)?;
                    *sent += 1;
                }
                if *received == count {
                    *last = Some(Instant::now());
                    done.set(done.get() + 1);
                    return Ok(false);
                }
                Ok(true)
            },
        )?;
        let last_echoes: Vec<Instant> = state.iter().filter_map(|d| d.2).collect();
        drop(sockets);
        drop(ctx);
        crate::router::summarize(size, count, start, &last_echoes)
    }

    fn idle_server(&self, config: &ServerConfig) -> Result<Report> {
        let server = Server::start(config);
        let ctx = zmq::Context::new();
        let router = ctx.socket(zmq::ROUTER)?;
        router.bind(&config.bind)?;
        let endpoint = router
            .get_last_endpoint()?
            .map_err(|raw| format!("bound endpoint is not UTF-8: {raw:?}"))?;
        std::thread::sleep(crate::idle::SETTLE_BEFORE);
        // libzmq allocates with malloc directly: the Rust heap says nothing.
        let before = server.announce(&endpoint, false)?;
        for _ in 0..config.expected_messages() {
            router.recv_multipart(0)?;
        }
        std::thread::sleep(crate::idle::server::SETTLE_AFTER);
        let report = server.conclude(before)?;
        while !server.stdin_closed() {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // Do not wait for anything still queued (there is nothing to send).
        router.set_linger(0)?;
        drop(router);
        drop(ctx);
        Ok(report)
    }
}

/// A ROUTER bound to the job's endpoint (with `backlog`, ZMQ_BACKLOG, if given) that sends
/// `count` messages back to their senders, each one payload frame of the job's size, then
/// closes: the server of `router_echo` and `connect_server`.
fn echo_server(
    job: &Job<'_>,
    count: u64,
    backlog: Option<usize>,
    progress: Progress,
) -> Result<()> {
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER)?;
    if let Some(backlog) = backlog {
        router.set_backlog(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    }
    router.bind(job.endpoint)?;
    let (mut id, mut body) = (zmq::Message::new(), zmq::Message::new());
    progress.phase("echoing");
    for _ in 0..count {
        router.recv(&mut id, 0)?;
        if !id.get_more() {
            return Err("a message without a payload frame".into());
        }
        router.recv(&mut body, 0)?;
        if body.get_more() {
            return Err("a message with more than one payload frame".into());
        }
        crate::check_size(body.len(), job.size)?;
        router.send(
            std::mem::replace(&mut id, zmq::Message::new()),
            zmq::SNDMORE,
        )?;
        router.send(std::mem::replace(&mut body, zmq::Message::new()), 0)?;
        progress.tick();
    }
    progress.phase("closing the ROUTER socket (delivering the last echoes)");
    drop(router);
    drop(ctx);
    Ok(())
}
