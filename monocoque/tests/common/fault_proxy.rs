//! A loopback TCP proxy that breaks connections on command: [`FaultProxy`] listens on an
//! ephemeral port, forwards each connection it accepts to the target, and, when told, cuts every
//! connection, stalls them (nothing forwarded either way, the sockets stay open), truncates the
//! next chunk mid-way and closes, or flips one byte of the next chunk.
//!
//! Plain threads and blocking std sockets: it runs the same under every runtime, and is not
//! part of what is tested.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// Forwards `from` to `to` until either ends, applying the faults asked for.
fn pump(mut from: TcpStream, mut to: TcpStream, ctl: &Control) {
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
        match mangle {
            Mangle::None => {}
            Mangle::Corrupt(at) => chunk[at] ^= 0x5a,
            Mangle::Truncate => {
                let _ = to.write_all(&chunk[..n / 2]);
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
                break;
            }
        }
        if to.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
