//! The fan-out tools on libzmq (the `zmq` crate): `sub_fanout` serves all
//! its SUB sockets from one thread with `zmq::poll`, draining each readable
//! socket with `DONTWAIT`, as a libzmq application would.

use std::time::Instant;

use super::sync::{FINISHED, READY, SyncClient, SyncServer};
use super::{DATA, END, HELLO, RESEND_INTERVAL, Seen, SubState, summarize};
use crate::Result;
use crate::output::{Fanout, FanoutSend};
use crate::watchdog::Progress;

/// How long one `zmq::poll` waits, in milliseconds (the watchdog bounds the
/// whole run).
const POLL_MS: i64 = 100;

/// A fresh `size`-byte message starting with `kind`, allocated by libzmq as
/// its perf tools do.
fn msg(kind: u8, size: usize) -> zmq::Message {
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
        publisher.send(msg(kind, size), 0)?;
        if sync.poll(byte)? {
            return Ok(());
        }
        std::thread::sleep(RESEND_INTERVAL);
    }
}

/// `pub_fanout`: binds a PUB socket and the side channel, then HELLO until
/// ready, `count` DATA as fast as `send` goes, END until finished.
pub fn pub_fanout(
    endpoint: &str,
    sync: &str,
    size: usize,
    count: u64,
    subscribers: usize,
    progress: Progress,
) -> Result<FanoutSend> {
    let ctx = zmq::Context::new();
    let publisher = ctx.socket(zmq::PUB)?;
    publisher.bind(endpoint)?;
    let mut sync = SyncServer::bind(sync)?;
    progress.phase("waiting for every subscriber to see a HELLO");
    repeat_until(&publisher, &mut sync, HELLO, size, READY)?;
    progress.phase("sending DATA");
    let start = Instant::now();
    for _ in 0..count {
        publisher.send(msg(DATA, size), 0)?;
        progress.tick();
    }
    let elapsed = start.elapsed();
    progress.phase("waiting for every subscriber to see an END");
    repeat_until(&publisher, &mut sync, END, size, FINISHED)?;
    // Every subscriber has seen END: what is still queued is END repeats,
    // worth nothing. libzmq 4.3.4 was seen to block in zmq_ctx_term now and
    // then at this point (after the subscriber process had exited), even
    // with linger 0, so the socket and context are not torn down: the
    // process ends right after printing, which releases them.
    publisher.set_linger(0)?;
    std::mem::forget(publisher);
    std::mem::forget(ctx);
    Ok(FanoutSend {
        size,
        count,
        subscribers,
        elapsed,
    })
}

/// `sub_fanout`: `subscribers` SUB sockets served by this one thread.
pub fn sub_fanout(
    endpoint: &str,
    sync: &mut SyncClient,
    size: usize,
    count: u64,
    subscribers: usize,
    progress: Progress,
) -> Result<Fanout> {
    let ctx = zmq::Context::new();
    let mut subs = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let sub = ctx.socket(zmq::SUB)?;
        sub.set_subscribe(b"")?;
        sub.connect(endpoint)?;
        subs.push(sub);
    }
    let mut states = vec![SubState::new(size); subscribers];
    let mut items: Vec<zmq::PollItem<'_>> =
        subs.iter().map(|s| s.as_poll_item(zmq::POLLIN)).collect();
    let mut msg = zmq::Message::new();
    let (mut ready, mut done) = (0, 0);
    progress.phase("waiting for every subscriber to see a HELLO");
    while done < subscribers {
        if zmq::poll(&mut items, POLL_MS)? == 0 {
            continue;
        }
        for (i, item) in items.iter().enumerate() {
            if !item.is_readable() {
                continue;
            }
            loop {
                match subs[i].recv(&mut msg, zmq::DONTWAIT) {
                    Ok(()) => {}
                    Err(zmq::Error::EAGAIN) => break,
                    Err(e) => return Err(e.into()),
                }
                match states[i].on_message(&msg)? {
                    Seen::Nothing => continue,
                    Seen::FirstHello => {
                        ready += 1;
                        if ready == subscribers {
                            sync.send(READY)?;
                            progress.phase("receiving DATA until every subscriber has seen an END");
                        }
                    }
                    Seen::Data => {}
                    Seen::End => done += 1,
                }
                progress.tick();
            }
        }
    }
    sync.send(FINISHED)?;
    drop(items);
    drop(subs);
    drop(ctx);
    summarize(size, count, &states)
}
