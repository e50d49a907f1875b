//! In-memory byte streams, and a [`Transport`] made of them.
//!
//! [`duplex`] makes two connected [`MemoryStream`]s, each end reading what the other writes,
//! through a buffer of bounded size (a writer waits while it is full, as with a socket's send
//! buffer). [`MemoryTransport`] serves an endpoint scheme (`tcp` by default) with them: `bind`
//! registers a listener under the endpoint, `connect` makes a duplex pair and hands one end to
//! that listener. A [`Context`](crate::Context) with it runs real sockets, engines and
//! handshakes with no OS socket, which is how the engine and each socket type's policy are
//! tested.

use async_trait::async_trait;
use futures::channel::mpsc;
use futures::io::{AsyncRead, AsyncWrite};
use futures::{SinkExt, StreamExt};
use hashbrown::HashMap;
use monocoque_core::endpoint::{Endpoint, Host, TcpAddr};
use monocoque_core::transport::{ConnectOptions, Connection, Listener, Transport};
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Bytes each direction of a [`duplex`] made by [`MemoryTransport`] holds before a writer
/// waits (about a loopback socket's buffer).
pub const DEFAULT_CAPACITY: usize = 256 * 1024;

/// One direction of a duplex stream.
#[derive(Debug, Default)]
struct Pipe {
    state: Mutex<PipeState>,
}

#[derive(Debug, Default)]
struct PipeState {
    bytes: VecDeque<u8>,
    capacity: usize,
    /// The writing end closed (or was dropped): the reader sees end-of-stream once drained.
    write_closed: bool,
    /// The reading end was dropped: writes fail.
    read_closed: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Pipe {
    fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(PipeState {
                capacity: capacity.max(1),
                ..PipeState::default()
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// One end of an in-memory byte stream (see [`duplex`]).
#[derive(Debug)]
pub struct MemoryStream {
    incoming: Arc<Pipe>,
    outgoing: Arc<Pipe>,
}

/// Two connected streams: what one writes, the other reads. Each direction buffers up to
/// `capacity` bytes.
#[must_use]
pub fn duplex(capacity: usize) -> (MemoryStream, MemoryStream) {
    let (a_to_b, b_to_a) = (Pipe::new(capacity), Pipe::new(capacity));
    let a = MemoryStream {
        incoming: b_to_a.clone(),
        outgoing: a_to_b.clone(),
    };
    let b = MemoryStream {
        incoming: a_to_b,
        outgoing: b_to_a,
    };
    (a, b)
}

impl AsyncRead for MemoryStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut pipe = self.incoming.lock();
        if pipe.bytes.is_empty() {
            if pipe.write_closed {
                return Poll::Ready(Ok(0));
            }
            pipe.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(pipe.bytes.len());
        for (dst, src) in buf.iter_mut().zip(pipe.bytes.drain(..n)) {
            *dst = src;
        }
        let writer = pipe.writer.take();
        drop(pipe);
        wake(writer);
        Poll::Ready(Ok(n))
    }
}

impl MemoryStream {
    fn poll_write_slices(
        &self,
        cx: &mut Context<'_>,
        slices: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut pipe = self.outgoing.lock();
        if pipe.read_closed || pipe.write_closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let room = pipe.capacity.saturating_sub(pipe.bytes.len());
        if room == 0 {
            pipe.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut written = 0;
        for slice in slices {
            let take = slice.len().min(room - written);
            pipe.bytes.extend(&slice[..take]);
            written += take;
            if written == room {
                break;
            }
        }
        let reader = pipe.reader.take();
        drop(pipe);
        wake(reader);
        Poll::Ready(Ok(written))
    }

    fn close_write(&self) {
        let mut pipe = self.outgoing.lock();
        pipe.write_closed = true;
        let reader = pipe.reader.take();
        drop(pipe);
        wake(reader);
    }
}

impl AsyncWrite for MemoryStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_slices(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_slices(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.close_write();
        Poll::Ready(Ok(()))
    }
}

impl Drop for MemoryStream {
    fn drop(&mut self) {
        self.close_write();
        let mut pipe = self.incoming.lock();
        pipe.read_closed = true;
        let writer = pipe.writer.take();
        drop(pipe);
        wake(writer);
    }
}

/// The listeners of one [`MemoryTransport`], by endpoint.
type Registry = Arc<Mutex<HashMap<Endpoint, mpsc::Sender<Connection>>>>;

/// A [`Transport`] of [`duplex`] streams within one process, for one endpoint scheme. Clones
/// share their listeners; give the same transport (or a clone) to every context that should
/// reach the others.
#[derive(Debug, Clone)]
pub struct MemoryTransport {
    scheme: &'static str,
    listeners: Registry,
    next_port: Arc<AtomicU16>,
}

impl Default for MemoryTransport {
    fn default() -> Self {
        Self::new("tcp")
    }
}

impl MemoryTransport {
    /// A transport serving `scheme` (e.g. `"tcp"`) in memory.
    #[must_use]
    pub fn new(scheme: &'static str) -> Self {
        Self {
            scheme,
            listeners: Registry::default(),
            next_port: Arc::new(AtomicU16::new(1)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Endpoint, mpsc::Sender<Connection>>> {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A wildcard port (`tcp://host:*`) made concrete.
    fn resolve(&self, endpoint: &Endpoint) -> Endpoint {
        match endpoint {
            Endpoint::Tcp(addr) if addr.port == 0 => {
                let port = self.next_port.fetch_add(1, Ordering::Relaxed);
                let host = match &addr.host {
                    Host::Any => Host::Ip([127, 0, 0, 1].into()),
                    host => host.clone(),
                };
                Endpoint::Tcp(TcpAddr { host, port })
            }
            other => other.clone(),
        }
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    async fn bind(&self, endpoint: &Endpoint) -> io::Result<Box<dyn Listener>> {
        let local = self.resolve(endpoint);
        let mut listeners = self.lock();
        if listeners.get(&local).is_some_and(|tx| !tx.is_closed()) {
            return Err(io::ErrorKind::AddrInUse.into());
        }
        let (tx, incoming) = mpsc::channel(16);
        listeners.insert(local.clone(), tx);
        Ok(Box::new(MemoryListener {
            local,
            incoming,
            listeners: self.listeners.clone(),
        }))
    }

    async fn connect(
        &self,
        endpoint: &Endpoint,
        _options: &ConnectOptions,
    ) -> io::Result<Connection> {
        let listener = self.lock().get(endpoint).cloned();
        let Some(mut listener) = listener else {
            return Err(io::ErrorKind::ConnectionRefused.into());
        };
        let (ours, theirs) = duplex(DEFAULT_CAPACITY);
        let accepted = Connection {
            stream: Box::new(theirs),
            peer_addr: "memory".into(),
        };
        listener
            .send(accepted)
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::ConnectionRefused))?;
        Ok(Connection {
            stream: Box::new(ours),
            peer_addr: endpoint.to_string(),
        })
    }
}

/// A bound endpoint of a [`MemoryTransport`]; dropping it unbinds.
#[derive(Debug)]
struct MemoryListener {
    local: Endpoint,
    incoming: mpsc::Receiver<Connection>,
    listeners: Registry,
}

#[async_trait]
impl Listener for MemoryListener {
    fn local_endpoint(&self) -> Endpoint {
        self.local.clone()
    }

    async fn accept(&mut self) -> io::Result<Connection> {
        (self.incoming.next().await).ok_or_else(|| io::ErrorKind::NotConnected.into())
    }
}

impl Drop for MemoryListener {
    fn drop(&mut self) {
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        listeners.remove(&self.local);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn bytes_both_ways_backpressure_and_close() {
        futures::executor::block_on(async {
            let (mut a, mut b) = duplex(4);
            // Only 4 bytes fit: the rest waits for the reader.
            let (wrote, read) = futures::join!(a.write_all(b"hello world"), async {
                let mut got = vec![0u8; 11];
                b.read_exact(&mut got).await.map(|()| got)
            });
            wrote.unwrap();
            assert_eq!(read.unwrap(), b"hello world");
            b.write_all(b"back").await.unwrap();
            let mut got = [0u8; 4];
            a.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"back");
            a.close().await.unwrap();
            assert_eq!(b.read(&mut got).await.unwrap(), 0, "end of stream");
            drop(b);
            assert!(a.write(b"x").await.is_err(), "the reader is gone");
        });
    }

    #[test]
    fn the_transport_binds_connects_and_refuses() {
        futures::executor::block_on(async {
            let transport = MemoryTransport::default();
            let any: Endpoint = "tcp://127.0.0.1:*".parse().unwrap();
            let mut listener = transport.bind(&any).await.unwrap();
            let endpoint = listener.local_endpoint();
            assert!(transport.bind(&endpoint).await.is_err(), "bound once");
            let options = ConnectOptions::default();
            let (connected, accepted) =
                futures::join!(transport.connect(&endpoint, &options), listener.accept());
            let (mut c, mut s) = (connected.unwrap().stream, accepted.unwrap().stream);
            c.write_all(b"ping").await.unwrap();
            let mut got = [0u8; 4];
            s.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping");
            drop(listener);
            let refused = transport.connect(&endpoint, &options).await.unwrap_err();
            assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        });
    }
}
