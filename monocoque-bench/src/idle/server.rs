//! The `server` side: one ROUTER socket that waits for its peers and
//! measures what they cost; the socket itself is each implementation's
//! [`idle_server`](crate::imp::Implementation::idle_server), the readings
//! and lines around it are here ([`Server`]).
//!
//! Every implementation counts the same thing: the one-octet message every
//! client sends after its handshake. Received messages are never lost (a
//! full queue holds the connection back), so the count is exact; a peer
//! whose message arrived has completed its handshake and is attached.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::mem::{heap_in_use, rss_bytes};
use super::{Report, ServerSide};
use crate::Result;

/// How long to wait after the last peer arrived before reading RSS again.
pub const SETTLE_AFTER: Duration = Duration::from_secs(1);

/// What a server run needs to know: the `idle_conns server` command line.
#[derive(Debug, clap::Args)]
pub struct ServerConfig {
    /// Where to bind, e.g. `tcp://127.0.0.1:*`.
    #[arg(value_name = "bind-to")]
    pub bind: String,
    /// Peers to wait for.
    #[arg(value_parser = super::connections())]
    pub connections: usize,
    /// The implementation and its runtime.
    #[command(flatten)]
    pub side: ServerSide,
    /// Messages each peer sends (`clients --messages`).
    #[arg(long = "messages", value_name = "N", default_value_t = 1, value_parser = super::connections())]
    pub messages_per_peer: usize,
}

impl ServerConfig {
    /// How many messages to wait for.
    pub fn expected_messages(&self) -> usize {
        self.connections * self.messages_per_peer
    }
}

/// Writes a line to stdout and flushes it (the driver reads it at once).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // Nothing useful to do if stdout is gone.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The readings and lines of one server run, around its socket.
pub struct Server<'a> {
    config: &'a ServerConfig,
    /// Set once this process's stdin reaches end-of-file.
    closed: Arc<AtomicBool>,
}

impl Server<'_> {
    /// Starts watching stdin (on a thread of its own).
    pub fn start(config: &ServerConfig) -> Server<'_> {
        let closed = Arc::new(AtomicBool::new(false));
        let set = closed.clone();
        std::thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            set.store(true, Ordering::SeqCst);
        });
        Server { config, closed }
    }

    /// Whether stdin has closed: the driver's signal to exit.
    pub fn stdin_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// First RSS reading (and Rust heap reading, with `heap`), then the
    /// lines the driver waits for: `endpoint: <endpoint>` and `ready`.
    pub fn announce(&self, endpoint: &str, heap: bool) -> Result<(u64, Option<u64>)> {
        let before = (rss_bytes()?, heap_in_use().filter(|_| heap));
        say(&format!("endpoint: {endpoint}"));
        say("ready");
        Ok(before)
    }

    /// Second reading, after everyone arrived and things settled; prints
    /// the report.
    pub fn conclude(&self, before: (u64, Option<u64>)) -> Result<Report> {
        let report = Report {
            connections: self.config.connections,
            rss_before: before.0,
            rss_after: rss_bytes()?,
            heap_before: before.1,
            heap_after: before.1.and(heap_in_use()),
        };
        say(report.to_string().trim_end());
        Ok(report)
    }
}
