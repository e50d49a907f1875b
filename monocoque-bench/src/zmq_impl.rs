//! The perf tools on libzmq, through the `zmq` crate.
//!
//! Each function mirrors what libzmq's own tool does: default socket options,
//! one I/O thread, a fresh `zmq_msg_t` per sent message, one reused
//! `zmq_msg_t` on the receiving side.

use std::time::Instant;

use crate::Result;
use crate::output::{Latency, Throughput};

/// `local_thr`: binds a PULL socket and times `count` messages, from the
/// first one's arrival to the last one's.
pub fn local_thr(endpoint: &str, size: usize, count: u64) -> Result<Throughput> {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL)?;
    pull.bind(endpoint)?;
    let mut msg = zmq::Message::new();
    pull.recv(&mut msg, 0)?;
    crate::check_size(msg.len(), size)?;
    let start = Instant::now();
    for _ in 1..count {
        pull.recv(&mut msg, 0)?;
        crate::check_size(msg.len(), size)?;
    }
    let elapsed = start.elapsed();
    drop(pull);
    drop(ctx);
    Ok(Throughput {
        size,
        count,
        elapsed,
    })
}

/// `remote_thr`: connects a PUSH socket, sends `count` messages of `size`
/// bytes, then closes with the default linger (everything is delivered
/// before this returns).
pub fn remote_thr(endpoint: &str, size: usize, count: u64) -> Result<()> {
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH)?;
    push.connect(endpoint)?;
    for _ in 0..count {
        push.send(zmq::Message::with_size(size), 0)?;
    }
    // Closing the socket then terminating the context blocks until the
    // queued messages are written (linger -1).
    drop(push);
    drop(ctx);
    Ok(())
}

/// `local_lat`: binds a REP socket and echoes `roundtrips` messages.
pub fn local_lat(endpoint: &str, size: usize, roundtrips: u64) -> Result<()> {
    let ctx = zmq::Context::new();
    let rep = ctx.socket(zmq::REP)?;
    rep.bind(endpoint)?;
    let mut msg = zmq::Message::new();
    for _ in 0..roundtrips {
        rep.recv(&mut msg, 0)?;
        crate::check_size(msg.len(), size)?;
        let reply = std::mem::replace(&mut msg, zmq::Message::new());
        rep.send(reply, 0)?;
    }
    drop(rep);
    drop(ctx);
    Ok(())
}

/// `remote_lat`: connects a REQ socket and times `roundtrips` request/reply
/// exchanges of `size`-byte messages; with `samples`, also pushes each
/// roundtrip's time there, in microseconds.
pub fn remote_lat(
    endpoint: &str,
    size: usize,
    roundtrips: u64,
    mut samples: Option<&mut Vec<f64>>,
) -> Result<Latency> {
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::REQ)?;
    req.connect(endpoint)?;
    let mut msg = zmq::Message::with_size(size);
    let start = Instant::now();
    for _ in 0..roundtrips {
        let t0 = samples.is_some().then(Instant::now);
        let request = std::mem::replace(&mut msg, zmq::Message::new());
        req.send(request, 0)?;
        req.recv(&mut msg, 0)?;
        if let (Some(t0), Some(s)) = (t0, samples.as_deref_mut()) {
            s.push(t0.elapsed().as_secs_f64() * 1e6);
        }
        crate::check_size(msg.len(), size)?;
    }
    let elapsed = start.elapsed();
    drop(req);
    drop(ctx);
    Ok(Latency {
        size,
        roundtrips,
        elapsed,
    })
}
