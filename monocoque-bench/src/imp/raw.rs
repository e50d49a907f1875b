//! The raw loopback limit: the throughput tools over a plain blocking
//! `std::net` TCP connection, no ZeroMQ at all.
//!
//! The bytes on the wire are those of a ZMTP 3 message stream after the
//! handshake (a 2-byte header, flags and length, before each body of up to
//! 255 bytes; a 9-byte header with a 64-bit length above that), but the
//! sender writes them in large blocks prepared once (perfect batching, no
//! per-message allocation) and the receiver parses them out of a large
//! buffer. No greeting, no handshake. This is what loopback TCP and the
//! framing alone allow, the ceiling for any ZMTP implementation.

use std::io::{self, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use super::{Implementation, Job};
use crate::Result;
use crate::output::Throughput;

/// How long `remote_thr` retries connecting while nothing listens yet, as
/// ZeroMQ sockets do.
const CONNECT_FOR: Duration = Duration::from_secs(10);

/// Size of the sender's prepared block and of the receiver's buffer.
const BLOCK: usize = 256 * 1024;

fn addr(endpoint: &str) -> Result<&str> {
    endpoint.strip_prefix("tcp://").ok_or_else(|| {
        format!("--impl raw supports tcp:// endpoints only, not `{endpoint}`").into()
    })
}

/// The ZMTP 3 header of a final frame of `size` bytes, a command frame
/// with `command`: flags, then the length in one byte up to 255, else in
/// eight (the `idle_conns` clients frame their messages and READY with it
/// too).
pub fn frame_header(size: usize, command: bool) -> Vec<u8> {
    let flags = if command { 0x04 } else { 0x00 };
    match u8::try_from(size) {
        Ok(short) => vec![flags, short],
        Err(_) => [&[flags | 0x02][..], &(size as u64).to_be_bytes()].concat(),
    }
}

/// Reads one frame into `body`, refusing one longer than `max` bytes;
/// returns its flags, `None` at a clean end of stream.
pub fn read_frame(r: &mut impl Read, body: &mut Vec<u8>, max: usize) -> io::Result<Option<u8>> {
    let mut flags = [0u8; 1];
    match r.read_exact(&mut flags) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut len = [0u8; 8];
    let len = if flags[0] & 0x02 == 0 {
        r.read_exact(&mut len[..1])?;
        u64::from(len[0])
    } else {
        r.read_exact(&mut len)?;
        u64::from_be_bytes(len)
    };
    let size = (usize::try_from(len).ok().filter(|&size| size <= max))
        .ok_or_else(|| io::Error::new(ErrorKind::InvalidData, format!("a {len}-octet frame")))?;
    body.resize(size, 0);
    r.read_exact(body)?;
    Ok(Some(flags[0]))
}

/// The raw socket (throughput tools only, `tcp://` and `ipc://`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Raw;

impl Implementation for Raw {
    fn local_thr(&self, job: Job<'_>) -> Result<Throughput> {
        local_thr(job.endpoint, job.size, job.count)
    }

    fn remote_thr(&self, job: Job<'_>) -> Result<()> {
        remote_thr(job.endpoint, job.size, job.count)
    }
}

/// `local_thr`: accepts one connection (`tcp://` or `ipc://`) and times
/// `count` messages, from the first one's arrival to the last one's.
fn local_thr(endpoint: &str, size: usize, count: u64) -> Result<Throughput> {
    if let Some(path) = endpoint.strip_prefix("ipc://") {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        let (stream, _) = listener.accept()?;
        let result = receive(stream, size, count);
        let _ = std::fs::remove_file(path);
        return result;
    }
    let listener = TcpListener::bind(addr(endpoint)?)?;
    let (stream, _) = listener.accept()?;
    stream.set_nodelay(true)?;
    receive(stream, size, count)
}

fn receive(stream: impl Read, size: usize, count: u64) -> Result<Throughput> {
    let mut reader = BufReader::with_capacity(BLOCK, stream);
    let mut body = Vec::with_capacity(size);
    let mut start = None;
    for received in 0..count {
        read_frame(&mut reader, &mut body, usize::MAX)?
            .ok_or_else(|| format!("connection closed after {received} of {count} messages"))?;
        crate::check_size(body.len(), size)?;
        if start.is_none() {
            start = Some(Instant::now());
        }
    }
    let elapsed = start.map(|s| s.elapsed()).unwrap_or_default();
    Ok(Throughput {
        size,
        count,
        msgs_per_sec: crate::output::rate(count, elapsed),
    })
}

/// `remote_thr`: connects (`tcp://` or `ipc://`) and writes `count` framed
/// messages in blocks of about [`BLOCK`] bytes, then waits for the receiver
/// to close.
fn remote_thr(endpoint: &str, size: usize, count: u64) -> Result<()> {
    if let Some(path) = endpoint.strip_prefix("ipc://") {
        let stream = crate::connect_retrying(CONNECT_FOR, || UnixStream::connect(path))?;
        let closer = stream.try_clone()?;
        return send(stream, size, count, move || {
            closer.shutdown(Shutdown::Write)
        });
    }
    let addr = addr(endpoint)?;
    let stream = crate::connect_retrying(CONNECT_FOR, || TcpStream::connect(addr))?;
    stream.set_nodelay(true)?;
    let closer = stream.try_clone()?;
    send(stream, size, count, move || {
        closer.shutdown(Shutdown::Write)
    })
}

fn send(
    mut stream: impl Read + Write,
    size: usize,
    count: u64,
    shutdown_write: impl FnOnce() -> std::io::Result<()>,
) -> Result<()> {
    let mut message = frame_header(size, false);
    message.resize(message.len() + size, 0);
    let per_block = (BLOCK / message.len()).max(1) as u64;
    let block = message.repeat(per_block as usize);
    let mut left = count;
    while left >= per_block {
        stream.write_all(&block)?;
        left -= per_block;
    }
    stream.write_all(&block[..message.len() * left as usize])?;
    // Linger: everything is written once the receiver, done, closes.
    shutdown_write()?;
    let mut sink = [0u8; 64];
    while stream.read(&mut sink)? > 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_parsing() {
        assert_eq!(frame_header(0, false), [0, 0]);
        assert_eq!(frame_header(255, true), [4, 255]);
        assert_eq!(frame_header(256, false), [2, 0, 0, 0, 0, 0, 0, 1, 0]);
        let mut wire = Vec::new();
        for size in [3, 300] {
            wire.extend(frame_header(size, false));
            wire.extend(std::iter::repeat_n(7u8, size));
        }
        let mut r = &wire[..];
        let mut body = Vec::new();
        assert_eq!(read_frame(&mut r, &mut body, 300).unwrap(), Some(0));
        assert_eq!(body.len(), 3);
        let mut short = r;
        assert!(read_frame(&mut short, &mut body, 299).is_err());
        assert_eq!(read_frame(&mut r, &mut body, 300).unwrap(), Some(2));
        assert_eq!(body.len(), 300);
        assert_eq!(read_frame(&mut r, &mut body, 300).unwrap(), None);
    }
}
