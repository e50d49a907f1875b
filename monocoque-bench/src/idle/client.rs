//! The `clients` side: many plain blocking TCP connections, each greeted
//! by hand as a ZMTP 3.0 DEALER with the NULL mechanism (RFC 23), each
//! sending one one-octet message (or `--messages` messages of `--size`
//! octets), then all left idle.
//!
//! A few threads share the connections, each one connecting and completing
//! handshakes one after another, so at most that many handshakes are in
//! flight: the server's accept backlog never overflows and 10,000
//! connections take a few seconds at most.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::Result;
use crate::imp::raw::{frame_header, read_frame};

/// Length of a ZMTP 3.x greeting.
pub const GREETING_LEN: usize = 64;

/// Our greeting: signature (0xFF, 8 octets of padding, 0x7F), version 3.0,
/// mechanism "NULL" padded to 20 octets, as-server 0, 31 octets of filler.
pub const GREETING: [u8; GREETING_LEN] = {
    let mut g = [0u8; GREETING_LEN];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = 0;
    g[12] = b'N';
    g[13] = b'U';
    g[14] = b'L';
    g[15] = b'L';
    g
};

/// The one message each client sends by default once its handshake is
/// done: a single frame (flags 0, no MORE) of one octet. The server counts
/// these.
pub const HELLO: [u8; 3] = [0x00, 0x01, b'x'];

/// A single-frame message of `size` octets (`x`s), header included.
pub fn message_frame(size: usize) -> Vec<u8> {
    let mut frame = frame_header(size, false);
    frame.resize(frame.len() + size, b'x');
    frame
}

/// How long one connect, read or write may take before the client gives up.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest command body we accept from the server during the handshake.
const MAX_COMMAND: usize = 64 * 1024;

/// Appends one metadata property (`name-len name value-len(4, big-endian)
/// value`) to a command body.
fn put_property(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value);
}

/// The whole READY command frame (header included) announcing
/// `Socket-Type` `socket_type` and an empty `Identity`, so the ROUTER gives
/// the peer a routing id of its own choosing.
pub fn ready_command(socket_type: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(64);
    body.push(5);
    body.extend_from_slice(b"READY");
    put_property(&mut body, "Socket-Type", socket_type.as_bytes());
    put_property(&mut body, "Identity", b"");
    [frame_header(body.len(), true), body].concat()
}

fn protocol(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// Checks the server's 64-octet greeting: signature, version 3 or later, NULL.
pub fn check_greeting(greeting: &[u8; GREETING_LEN]) -> io::Result<()> {
    if greeting[0] != 0xFF || greeting[9] & 1 != 1 {
        return Err(protocol(
            "the server's greeting has no ZMTP signature".into(),
        ));
    }
    if greeting[10] < 3 {
        return Err(protocol(format!(
            "the server speaks ZMTP {}.{}, not 3.x",
            greeting[10], greeting[11]
        )));
    }
    if &greeting[12..16] != b"NULL" || greeting[16..32].iter().any(|&b| b != 0) {
        return Err(protocol(format!(
            "the server's mechanism is {:?}, not NULL",
            String::from_utf8_lossy(&greeting[12..32]).trim_end_matches('\0')
        )));
    }
    Ok(())
}

/// Reads the server's READY command (an ERROR command is reported as such).
fn read_ready(stream: &mut impl Read) -> io::Result<()> {
    let mut body = Vec::new();
    let flags = read_frame(stream, &mut body, MAX_COMMAND)?;
    let flags = flags.ok_or_else(|| protocol("the server closed before READY".into()))?;
    if flags & 0x04 == 0 {
        return Err(protocol("the server sent a message before READY".into()));
    }
    let name_len = usize::from(*body.first().unwrap_or(&0));
    let name = body.get(1..1 + name_len).unwrap_or_default();
    match name {
        b"READY" => Ok(()),
        b"ERROR" => {
            let reason = body.get(2 + name_len..).unwrap_or_default();
            Err(protocol(format!(
                "the server refused the handshake: {}",
                String::from_utf8_lossy(reason)
            )))
        }
        other => Err(protocol(format!(
            "the server sent {:?} instead of READY",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// Runs the client side of the NULL handshake on `stream` (greeting out,
/// greeting in, `ready` out, READY in). `after_ready` (messages) goes out
/// with our READY.
pub fn handshake<S: Read + Write>(
    stream: &mut S,
    ready: &[u8],
    after_ready: &[u8],
) -> io::Result<()> {
    stream.write_all(&GREETING)?;
    let mut greeting = [0u8; GREETING_LEN];
    stream.read_exact(&mut greeting)?;
    check_greeting(&greeting)?;
    let mut out = Vec::with_capacity(ready.len() + after_ready.len());
    out.extend_from_slice(ready);
    out.extend_from_slice(after_ready);
    stream.write_all(&out)?;
    read_ready(stream)
}

/// The socket address of a `tcp://host:port` endpoint.
pub fn tcp_address(endpoint: &str) -> Result<SocketAddr> {
    let rest = endpoint
        .strip_prefix("tcp://")
        .ok_or_else(|| format!("endpoint {endpoint:?} is not tcp://host:port"))?;
    rest.to_socket_addrs()
        .map_err(|e| format!("cannot resolve {endpoint:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{endpoint:?} resolves to no address").into())
}

/// Opens one connection, greets the server on it as a DEALER and sends
/// `messages`.
fn open_one(addr: SocketAddr, ready: &[u8], messages: &[u8]) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    handshake(&mut stream, ready, messages)?;
    Ok(stream)
}

/// What each client sends after its handshake (`--messages`, `--size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct Traffic {
    /// Messages per connection (the server counts them).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = super::connections())]
    pub messages: usize,
    /// Octets per message.
    #[arg(long, value_name = "OCTETS", default_value_t = 1)]
    pub size: usize,
}

impl Default for Traffic {
    /// One one-octet message ([`HELLO`]).
    fn default() -> Self {
        Traffic {
            messages: 1,
            size: 1,
        }
    }
}

/// Opens `connections` connections to `addr` on `threads` threads, greets
/// the server and sends `traffic` on each, and returns them all, open.
pub fn open_idle(
    addr: SocketAddr,
    connections: usize,
    threads: usize,
    traffic: Traffic,
) -> Result<Vec<TcpStream>> {
    let threads = threads.clamp(1, connections.max(1));
    let ready = ready_command("DEALER");
    let messages = message_frame(traffic.size).repeat(traffic.messages);
    let mut all = Vec::with_capacity(connections);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                // Contiguous shares: thread t opens connections [start, end).
                let start = connections * t / threads;
                let end = connections * (t + 1) / threads;
                let (ready, messages) = (&ready, &messages);
                scope.spawn(move || -> Result<Vec<TcpStream>> {
                    (start..end)
                        .map(|i| {
                            open_one(addr, ready, messages)
                                .map_err(|e| format!("connection {i} to {addr}: {e}").into())
                        })
                        .collect()
                })
            })
            .collect();
        for worker in workers {
            let streams = worker
                .join()
                .map_err(|_| "a client thread panicked".to_string())??;
            all.extend(streams);
        }
        Ok::<_, crate::BoxError>(())
    })?;
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_bytes() {
        assert_eq!(GREETING[0], 0xFF);
        assert_eq!(&GREETING[1..9], &[0; 8]);
        assert_eq!(GREETING[9], 0x7F);
        assert_eq!(&GREETING[10..12], &[3, 0]);
        assert_eq!(&GREETING[12..32], b"NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(&GREETING[32..], &[0; 32]);
        check_greeting(&GREETING).unwrap();
    }

    #[test]
    fn ready_bytes() {
        let mut want = vec![0x04, 41, 5];
        want.extend_from_slice(b"READY\x0bSocket-Type\0\0\0\x06DEALER\x08Identity\0\0\0\0");
        assert_eq!(ready_command("DEALER"), want);
        read_ready(&mut &want[..]).unwrap();
    }

    #[test]
    fn message_frames() {
        assert_eq!(message_frame(1), HELLO);
        assert_eq!(message_frame(256).len(), 9 + 256);
    }

    #[test]
    fn error_command_is_reported() {
        let frame = b"\x04\x0b\x05ERROR\x04nope";
        let err = read_ready(&mut &frame[..]).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn parses_tcp_endpoints() {
        assert_eq!(
            tcp_address("tcp://127.0.0.1:5555").unwrap(),
            "127.0.0.1:5555".parse().unwrap()
        );
        assert!(tcp_address("ipc:///tmp/x").is_err());
    }
}
