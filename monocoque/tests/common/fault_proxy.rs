//! A loopback TCP proxy that breaks connections on command: [`FaultProxy`] listens on an
//! ephemeral port, forwards each connection it accepts to the target, and, when told, cuts every
//! connection, stalls them (nothing forwarded either way, the sockets stay open), delays what it
//! forwards (each chunk held back a fixed time, order kept: a long link), truncates the next
//! chunk mid-way and closes, or flips one byte of the next chunk.
//!
//! Plain threads and blocking std sockets: it runs the same under every runtime, and is not
//! part of what is tested.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the next forwarded chunk suffers (either direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mangle {
    None,
    /// Forward half of it, then close both sides.
    Truncate,
    /// Flip a byte in it (the one at this offset, or the last).
    Corrupt(usize),
}

#[derive(Debug)]
struct Control {
    stalled: AtomicBool,
    /// How long each chunk is held back (one way).
    delay: Mutex<Duration>,
    mangle: Mutex<Mangle>,
    /// Every open connection's two sockets, to cut them.
    open: Mutex<Vec<(TcpStream, TcpStream)>>,
    /// Connections accepted so far.
    accepted: AtomicU64,
    stop: AtomicBool,
}

/// See the module documentation.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    control: Arc<Control>,
}

impl FaultProxy {
    /// A proxy in front of `target` (`127.0.0.1:port`).
    pub fn new(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let control = Arc::new(Control {
            stalled: AtomicBool::new(false),
            delay: Mutex::new(Duration::ZERO),
            mangle: Mutex::new(Mangle::None),
            open: Mutex::new(Vec::new()),
            accepted: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let ctl = control.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if ctl.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                ctl.accepted.fetch_add(1, Ordering::SeqCst);
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                ctl.open
                    .lock()
                    .unwrap()
                    .push((client.try_clone().unwrap(), server.try_clone().unwrap()));
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let ctl = ctl.clone();
                    std::thread::spawn(move || pump(from, to, &ctl));
                }
            }
        });
        Self { addr, control }
    }

    /// The endpoint to connect to instead of the target.
    pub fn endpoint(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    /// Connections accepted so far (a reconnect makes one more).
    pub fn connections(&self) -> u64 {
        self.control.accepted.load(Ordering::SeqCst)
    }

    /// Closes every open connection, both sides (the peers see a reset or end of stream).
    pub fn cut(&self) {
        for (a, b) in self.control.open.lock().unwrap().drain(..) {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
    }

    /// Stops (`true`) or resumes forwarding; the connections stay open meanwhile.
    pub fn stall(&self, stalled: bool) {
        self.control.stalled.store(stalled, Ordering::SeqCst);
    }

    /// From now on, each chunk read (either way) is forwarded `delay` later, in order: a link
    /// with that one-way latency. `Duration::ZERO` ends it (chunks already held keep theirs).
    pub fn delay(&self, delay: Duration) {
        *self.control.delay.lock().unwrap() = delay;
    }

    /// The next chunk forwarded (either way) is cut in half, then the connection is closed.
    pub fn truncate_next(&self) {
        *self.control.mangle.lock().unwrap() = Mangle::Truncate;
    }

    /// The next chunk of at least `offset + 1` bytes forwarded gets its byte at `offset`
    /// flipped.
    pub fn corrupt_next(&self, offset: usize) {
        *self.control.mangle.lock().unwrap() = Mangle::Corrupt(offset);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.control.stop.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(self.addr);
    }
}

/// What the reading half of a [`pump`] hands its writing half.
enum Forward {
    /// Write these bytes once the instant has come.
    At(Instant, Vec<u8>),
    /// Write these, then close both sides.
    Last(Instant, Vec<u8>),
}

/// Writes what [`pump`] read, each chunk when its time comes, in order.
fn deliver(chunks: Receiver<Forward>, from: TcpStream, mut to: TcpStream) {
    for chunk in chunks {
        let (at, bytes, last) = match chunk {
            Forward::At(at, bytes) => (at, bytes, false),
            Forward::Last(at, bytes) => (at, bytes, true),
        };
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if to.write_all(&bytes).is_err() || last {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// Forwards `from` to `to` until either ends, applying the faults asked for: this thread reads,
/// a second one writes (so that a delay holds chunks back without holding the reads up).
fn pump(mut from: TcpStream, to: TcpStream, ctl: &Control) {
    let (forward, chunks) = channel();
    let writer = {
        let (from, to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
        std::thread::spawn(move || deliver(chunks, from, to))
    };
    let mut buf = vec![0u8; 64 * 1024];
    let _ = from.set_read_timeout(Some(Duration::from_millis(20)));
    loop {
        if ctl.stop.load(Ordering::SeqCst) {
            break;
        }
        if ctl.stalled.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => break,
        };
        let chunk = &mut buf[..n];
        let mangle = {
            let mut m = ctl.mangle.lock().unwrap();
            let now = *m;
            match now {
                Mangle::Corrupt(at) if at >= n => Mangle::None,
                _ => {
                    *m = Mangle::None;
                    now
                }
            }
        };
        let at = Instant::now() + *ctl.delay.lock().unwrap();
        let sent = match mangle {
            Mangle::None => forward.send(Forward::At(at, chunk.to_vec())),
            Mangle::Corrupt(offset) => {
                chunk[offset] ^= 0x5a;
                forward.send(Forward::At(at, chunk.to_vec()))
            }
            Mangle::Truncate => {
                let _ = forward.send(Forward::Last(at, chunk[..n / 2].to_vec()));
                break;
            }
        };
        if sent.is_err() {
            break;
        }
    }
    // What was read goes out (the writer closes both sides after it).
    drop(forward);
    let _ = writer.join();
}
