//! Sockets on async-io's reactor (the one async-std and smol run on) as the engine's byte
//! streams.
//!
//! async-io's own streams, and async-std's and smol's built on them, try the system call first
//! on every poll and ask the reactor only once it would block. The engine polls its stream
//! each time its task wakes (a message to send, a timer, the socket closing), so on a quiet
//! socket every such wake cost a `recv` failing with `EAGAIN`: 5 to 6 `recvfrom` calls per
//! REQ/REP round trip on smol and async-std, against 1 on tokio, whose streams remember
//! readiness. [`ReactorStream`] remembers it too: once a read would block, or came back short
//! (the socket's buffer is empty then), it reads again only after the reactor has woken it for
//! this socket. It registers its own waker with the reactor to know that: async-io's readiness
//! check alone ignores an event the reactor handled while the registration was made, and a
//! read skipped then would wait one more reactor round.
//!
//! It also writes vectored in one system call (async-std's and smol's Unix streams do not) and
//! shuts its write half down on close (async-io's close only flushes), so the peer reads
//! end-of-stream as with tokio.

use async_io::Async;
use futures::io::{AsyncRead, AsyncWrite};
use futures::task::{ArcWake, AtomicWaker};
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker, ready};

/// A socket whose write half can be shut down.
pub trait ShutdownWrite {
    /// Shuts the write half down: the peer reads end-of-stream.
    fn shutdown_write(&self) -> io::Result<()>;
}

impl ShutdownWrite for std::net::TcpStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

#[cfg(unix)]
impl ShutdownWrite for std::os::unix::net::UnixStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// A connected socket on async-io's reactor that skips the reads it knows would block.
#[derive(Debug)]
pub struct ReactorStream<T> {
    io: Arc<Async<T>>,
    /// The last read would have blocked (or emptied the socket): read again only once the
    /// reactor has woken `readable`.
    read_blocked: bool,
    /// What the reactor wakes when the socket turns readable.
    readable: Arc<ReadableFlag>,
    /// `readable` as a waker, registered with the reactor.
    readable_waker: Waker,
}

/// Set by the reactor's wake-up for a readable socket; passes the wake-up on to the task.
#[derive(Debug, Default)]
struct ReadableFlag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl ArcWake for ReadableFlag {
    fn wake_by_ref(flag: &Arc<Self>) {
        flag.woken.store(true, Ordering::Release);
        flag.task.wake();
    }
}

impl<T> ReactorStream<T> {
    /// Wraps a socket already registered with the reactor (an `Async<T>`, or a stream that
    /// converts into one, such as smol's `TcpStream`).
    pub fn new(io: impl Into<Arc<Async<T>>>) -> Self {
        let readable = Arc::new(ReadableFlag::default());
        Self {
            io: io.into(),
            read_blocked: false,
            readable_waker: futures::task::waker(readable.clone()),
            readable,
        }
    }
}

#[cfg(unix)]
impl<T: std::os::fd::AsFd> ReactorStream<T> {
    /// Registers a connected std socket with the reactor (making it non-blocking).
    pub fn register(socket: T) -> io::Result<Self> {
        Ok(Self::new(Async::new(socket)?))
    }
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsSocket> ReactorStream<T> {
    /// Registers a connected std socket with the reactor (making it non-blocking).
    pub fn register(socket: T) -> io::Result<Self> {
        Ok(Self::new(Async::new(socket)?))
    }
}

impl<T> ReactorStream<T>
where
    for<'a> &'a T: Write,
{
    /// Runs `write`, waiting for room while it would block (writes seldom do).
    fn poll_write_with(
        &mut self,
        cx: &mut Context<'_>,
        mut write: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            match write(self.io.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.io.poll_writable(cx))?;
                }
                done => return Poll::Ready(done),
            }
        }
    }
}

impl<T> AsyncRead for ReactorStream<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.read_blocked {
            this.readable.task.register(cx.waker());
            if !this.readable.woken.swap(false, Ordering::AcqRel) {
                // Not woken for this socket since it was found empty: no system call. Bytes
                // that arrived meanwhile make the reactor wake the flag, and with it this task.
                return Poll::Pending;
            }
            // Take the reactor's event too (a lock, no system call), so that the next time
            // reads block the registration starts afresh instead of finding this old event.
            let mut reactor_cx = Context::from_waker(&this.readable_waker);
            let _ = this.io.poll_readable(&mut reactor_cx);
            this.read_blocked = false;
        }
        loop {
            match this.io.get_ref().read(buf) {
                Ok(n) => {
                    // A short read emptied the socket's buffer (stream sockets hand over all
                    // they hold): the next read waits for the reactor.
                    if n > 0 && n < buf.len() {
                        // The bytes are read: a registration error shows at the next read.
                        let _ = this.block_reads(cx);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if this.block_reads(cx)? {
                        return Poll::Pending;
                    }
                    // Readable again already: read.
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl<T> ReactorStream<T> {
    /// Marks reads blocked and registers the flag with the reactor; returns false (and leaves
    /// reads unblocked) when the reactor reports the socket readable at once.
    fn block_reads(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        // The task first, so a wake-up racing the registration below reaches it. A flag left
        // set by an earlier wake-up costs one read that finds nothing, never a missed one.
        self.readable.task.register(cx.waker());
        let mut reactor_cx = Context::from_waker(&self.readable_waker);
        match self.io.poll_readable(&mut reactor_cx) {
            Poll::Ready(result) => {
                result?;
                self.read_blocked = false;
                Ok(false)
            }
            Poll::Pending => {
                self.read_blocked = true;
                Ok(true)
            }
        }
    }
}

impl<T: ShutdownWrite> AsyncWrite for ReactorStream<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, |mut socket| socket.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, |mut socket| socket.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Sockets buffer nothing in user space.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.get_ref().shutdown_write())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    use std::os::unix::net::UnixStream;

    /// Two connected streams on the reactor.
    fn pair() -> (ReactorStream<UnixStream>, ReactorStream<UnixStream>) {
        let (a, b) = UnixStream::pair().unwrap();
        (
            ReactorStream::register(a).unwrap(),
            ReactorStream::register(b).unwrap(),
        )
    }

    #[test]
    fn reads_after_blocking_and_closes_to_end_of_stream() {
        async_io::block_on(async {
            let (mut a, mut b) = pair();
            let mut buf = [0u8; 5];
            // Nothing to read yet: the read waits for the reactor, then gets the bytes.
            let (read, wrote) = futures::join!(a.read(&mut buf), async {
                async_io::Timer::after(std::time::Duration::from_millis(20)).await;
                b.write_all(b"hello").await
            });
            wrote.unwrap();
            assert_eq!(&buf[..read.unwrap()], b"hello");
            let parts = [IoSlice::new(b"vec"), IoSlice::new(b"tor")];
            assert_eq!(b.write_vectored(&parts).await.unwrap(), 6);
            a.read_exact(&mut buf[..5]).await.unwrap();
            assert_eq!(&buf, b"vecto");
            b.close().await.unwrap();
            assert_eq!(a.read(&mut buf).await.unwrap(), 1);
            assert_eq!(a.read(&mut buf).await.unwrap(), 0, "close not seen");
        });
    }

    #[test]
    fn polls_while_blocked_lose_nothing() {
        async_io::block_on(async {
            let (mut a, mut b) = pair();
            let mut buf = [0u8; 8];
            let noop = futures::task::noop_waker();
            let mut cx = Context::from_waker(&noop);
            // Empty: the read blocks, and further polls (woken for something else) stay
            // pending without a system call.
            for _ in 0..3 {
                assert!(Pin::new(&mut a).poll_read(&mut cx, &mut buf).is_pending());
            }
            assert!(a.read_blocked);
            b.write_all(b"late").await.unwrap();
            // The reactor reports the bytes; the next read returns them.
            let n = a.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"late");
            // That read was short: the socket is empty again and reads wait for the reactor.
            assert!(a.read_blocked);
            b.write_all(b"more").await.unwrap();
            let n = a.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"more");
        });
    }
}
