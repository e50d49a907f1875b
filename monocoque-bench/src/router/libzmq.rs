//! ROUTER <-> DEALERs on libzmq (the `zmq` crate): `dealers` serves all its
//! DEALER sockets from one thread with `zmq::poll`, draining each readable
//! socket with `DONTWAIT`, as a libzmq application would.

use std::time::Instant;

use super::{WINDOW, echoes, summarize};
use crate::Result;
use crate::output::Roundtrips;
use crate::watchdog::Progress;

/// How long one `zmq::poll` waits, in milliseconds (the watchdog bounds the
/// whole run).
const POLL_MS: i64 = 100;

/// `router_echo`: echoes `peers * (count + 1)` messages, then closes,
/// delivering the last echoes first (default linger).
pub fn router_echo(
    endpoint: &str,
    size: usize,
    count: u64,
    peers: usize,
    progress: Progress,
) -> Result<()> {
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER)?;
    router.bind(endpoint)?;
    let (mut id, mut body) = (zmq::Message::new(), zmq::Message::new());
    progress.phase("echoing");
    for _ in 0..echoes(peers, count) {
        router.recv(&mut id, 0)?;
        if !id.get_more() {
            return Err("a message without a payload frame".into());
        }
        router.recv(&mut body, 0)?;
        if body.get_more() {
            return Err("a message with more than one payload frame".into());
        }
        crate::check_size(body.len(), size)?;
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

/// One dealer's counts.
#[derive(Clone, Copy, Default)]
struct Dealer {
    sent: u64,
    received: u64,
    last: Option<Instant>,
}

/// Receives every waiting message on `socket`, calling `on_echo` with each
/// one's size; stops early when `on_echo` says so.
fn drain(
    socket: &zmq::Socket,
    msg: &mut zmq::Message,
    mut on_echo: impl FnMut(usize) -> Result<bool>,
) -> Result<()> {
    loop {
        match socket.recv(msg, zmq::DONTWAIT) {
            Ok(()) => {}
            Err(zmq::Error::EAGAIN) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        if !on_echo(msg.len())? {
            return Ok(());
        }
    }
}

/// `dealers`: `peers` DEALER sockets served by this one thread.
pub fn dealers(
    endpoint: &str,
    size: usize,
    count: u64,
    peers: usize,
    progress: Progress,
) -> Result<Roundtrips> {
    let ctx = zmq::Context::new();
    let mut sockets = Vec::with_capacity(peers);
    for _ in 0..peers {
        let socket = ctx.socket(zmq::DEALER)?;
        socket.connect(endpoint)?;
        socket.send(zmq::Message::with_size(size), 0)?;
        sockets.push(socket);
    }
    let mut items: Vec<zmq::PollItem<'_>> = sockets
        .iter()
        .map(|s| s.as_poll_item(zmq::POLLIN))
        .collect();
    let mut msg = zmq::Message::new();
    progress.phase("waiting for every dealer's warm-up echo");
    let mut warm = vec![false; peers];
    let mut warmed = 0;
    while warmed < peers {
        zmq::poll(&mut items, POLL_MS)?;
        for (i, item) in items.iter().enumerate() {
            if item.is_readable() {
                drain(&sockets[i], &mut msg, |len| {
                    crate::check_size(len, size)?;
                    if std::mem::replace(&mut warm[i], true) {
                        return Err("a second echo before the barrier".into());
                    }
                    warmed += 1;
                    progress.tick();
                    Ok(true)
                })?;
            }
        }
    }
    progress.phase("making roundtrips");
    let start = Instant::now();
    let window = count.min(WINDOW);
    for socket in &sockets {
        for _ in 0..window {
            socket.send(zmq::Message::with_size(size), 0)?;
        }
    }
    let mut state = vec![
        Dealer {
            sent: window,
            ..Dealer::default()
        };
        peers
    ];
    let mut done = 0;
    while done < peers {
        zmq::poll(&mut items, POLL_MS)?;
        for (i, item) in items.iter().enumerate() {
            if !item.is_readable() {
                continue;
            }
            let d = &mut state[i];
            let socket = &sockets[i];
            drain(socket, &mut msg, |len| {
                crate::check_size(len, size)?;
                progress.tick();
                d.received += 1;
                if d.sent < count {
                    socket.send(zmq::Message::with_size(size), 0)?;
                    d.sent += 1;
                }
                if d.received == count {
                    d.last = Some(Instant::now());
                    done += 1;
                    return Ok(false);
                }
                Ok(true)
            })?;
        }
    }
    let last_echoes: Vec<Instant> = state.iter().filter_map(|d| d.last).collect();
    drop(items);
    drop(sockets);
    drop(ctx);
    summarize(size, count, start, &last_echoes)
}
