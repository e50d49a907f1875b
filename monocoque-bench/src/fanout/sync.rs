//! The fan-out tools' side channel: one plain `std::net` TCP connection,
//! independent of any ZeroMQ implementation. The subscriber process writes
//! one byte per milestone ([`READY`], then [`FINISHED`]); the publisher polls
//! for them between its sends without ever blocking.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use crate::Result;

/// Written by `sub_fanout` once every subscriber has seen a HELLO.
pub const READY: u8 = b'R';
/// Written by `sub_fanout` once every subscriber has seen an END.
pub const FINISHED: u8 = b'F';

/// `host:port`, with an optional `tcp://` in front.
fn addr(sync: &str) -> &str {
    sync.strip_prefix("tcp://").unwrap_or(sync)
}

/// The publisher's end: listens, accepts the one connection, watches for
/// milestone bytes.
pub struct SyncServer {
    listener: TcpListener,
    conn: Option<TcpStream>,
    /// Every byte received so far.
    received: Vec<u8>,
}

impl SyncServer {
    /// Listens on `sync` (`host:port`).
    pub fn bind(sync: &str) -> Result<SyncServer> {
        let listener = TcpListener::bind(addr(sync))
            .map_err(|e| format!("cannot listen on the sync address {sync}: {e}"))?;
        listener.set_nonblocking(true)?;
        Ok(SyncServer {
            listener,
            conn: None,
            received: Vec::new(),
        })
    }

    /// Whether `byte` has arrived; never blocks. Fails when the subscriber
    /// process closed the connection without sending it.
    pub fn poll(&mut self, byte: u8) -> Result<bool> {
        if self.conn.is_none() {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(true)?;
                    self.conn = Some(stream);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return Ok(false);
        };
        let mut buf = [0u8; 64];
        loop {
            match conn.read(&mut buf) {
                Ok(0) => {
                    if self.received.contains(&byte) {
                        return Ok(true);
                    }
                    return Err(format!(
                        "the subscriber process closed the sync connection before sending `{}`",
                        char::from(byte)
                    )
                    .into());
                }
                Ok(n) => self.received.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(self.received.contains(&byte))
    }
}

/// The subscriber process's end.
pub struct SyncClient {
    stream: TcpStream,
}

impl SyncClient {
    /// Connects to `sync` (`host:port`), retrying every 10 ms until the
    /// publisher listens, for at most `limit`.
    pub fn connect(sync: &str, limit: Duration) -> Result<SyncClient> {
        let stream = crate::connect_retrying(limit, || TcpStream::connect(addr(sync)));
        let stream = stream.map_err(|e| {
            let secs = limit.as_secs();
            format!("no publisher listening on the sync address {sync} within {secs} s: {e}")
        })?;
        stream.set_nodelay(true)?;
        Ok(SyncClient { stream })
    }

    /// Writes one milestone byte.
    pub fn send(&mut self, byte: u8) -> Result<()> {
        self.stream.write_all(&[byte])?;
        self.stream.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn milestones_arrive() {
        let mut server = SyncServer::bind("127.0.0.1:0").unwrap();
        let port = server.listener.local_addr().unwrap().port();
        assert!(!server.poll(READY).unwrap());
        let mut client =
            SyncClient::connect(&format!("tcp://127.0.0.1:{port}"), Duration::from_secs(5))
                .unwrap();
        client.send(READY).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !server.poll(READY).unwrap() {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!server.poll(FINISHED).unwrap());
        client.send(FINISHED).unwrap();
        drop(client);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !server.poll(FINISHED).unwrap() {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn early_close_is_an_error() {
        let mut server = SyncServer::bind("127.0.0.1:0").unwrap();
        let port = server.listener.local_addr().unwrap().port();
        let client =
            SyncClient::connect(&format!("127.0.0.1:{port}"), Duration::from_secs(5)).unwrap();
        drop(client);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match server.poll(FINISHED) {
                Ok(false) => {}
                Ok(true) => panic!("FINISHED was never sent"),
                Err(_) => break,
            }
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
