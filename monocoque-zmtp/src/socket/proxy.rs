//! The proxy (libzmq's `zmq_proxy` and `zmq_proxy_steerable`): shuttles messages between a
//! frontend and a backend socket, both ways, optionally copying each to a capture socket.
//!
//! Typical pairs: ROUTER frontend + DEALER backend (a request/reply broker), XSUB frontend +
//! XPUB backend (a pub/sub forwarder, subscriptions flowing upstream), PULL + PUSH (a streamer).

use super::fair_queue::FairQueued;
use super::round_robin::RoundRobin;
use super::{Pub, Pull, Push, Rep, Router, Socket, Sub, XPub, XSub};
use crate::link::Inbound;
use monocoque_core::{Error, Message, Result};
use std::future::Future;
use std::task::{Context, Poll};

/// A socket a proxy can read from and write to. Sockets that only send (PUB, PUSH) never
/// yield a message; sockets that only receive (SUB, PULL) refuse to send.
pub trait ProxySocket: Send {
    /// Polls for the next message, as the socket's `recv` would return it.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>>;

    /// Sends a message, as the socket's `send` would (waiting where it would wait).
    fn send_message(&mut self, msg: Message) -> impl Future<Output = Result<()>> + Send;
}

/// What a steerable proxy's control socket may say (the same words as libzmq's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyCommand {
    /// Stop forwarding until RESUME.
    Pause,
    /// Forward again.
    Resume,
    /// Stop the proxy: `proxy_steerable` returns `Ok(())`.
    Terminate,
    /// Reply with the eight counters (see [`ProxyStatistics`]).
    Statistics,
}

impl ProxyCommand {
    /// Parses a control message (`"PAUSE"`, `"RESUME"`, `"TERMINATE"`, `"STATISTICS"`).
    #[must_use]
    pub fn parse(msg: &Message) -> Option<Self> {
        match msg.first().map(|f| &f[..]) {
            Some(b"PAUSE") => Some(Self::Pause),
            Some(b"RESUME") => Some(Self::Resume),
            Some(b"TERMINATE") => Some(Self::Terminate),
            Some(b"STATISTICS") => Some(Self::Statistics),
            _ => None,
        }
    }
}

/// Message and byte counts per direction, as libzmq's STATISTICS reply reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStatistics {
    /// Messages received from the frontend.
    pub frontend_msgs_in: u64,
    /// Bytes received from the frontend.
    pub frontend_bytes_in: u64,
    /// Messages sent to the frontend.
    pub frontend_msgs_out: u64,
    /// Bytes sent to the frontend.
    pub frontend_bytes_out: u64,
    /// Messages received from the backend.
    pub backend_msgs_in: u64,
    /// Bytes received from the backend.
    pub backend_bytes_in: u64,
    /// Messages sent to the backend.
    pub backend_msgs_out: u64,
    /// Bytes sent to the backend.
    pub backend_bytes_out: u64,
}

impl ProxyStatistics {
    /// The STATISTICS reply: eight frames of u64 in native byte order, as libzmq sends them.
    #[must_use]
    pub fn to_message(&self) -> Message {
        [
            self.frontend_msgs_in,
            self.frontend_bytes_in,
            self.frontend_msgs_out,
            self.frontend_bytes_out,
            self.backend_msgs_in,
            self.backend_bytes_in,
            self.backend_msgs_out,
            self.backend_bytes_out,
        ]
        .iter()
        .map(|n| n.to_ne_bytes().to_vec())
        .collect()
    }
}

/// A socket that receives through the fair queue: its next message, polled.
fn poll_fair_queue<K: FairQueued>(
    socket: &mut Socket<K>,
    cx: &mut Context<'_>,
) -> Poll<Result<Message>> {
    let options = socket.base.options();
    socket
        .inbox
        .poll_accept(options, cx, Inbound::into_message)
        .map(Ok)
}

fn does_not_send() -> Result<()> {
    Err(Error::NotSupported("this socket type does not send"))
}

impl ProxySocket for Socket<Push> {
    fn poll_recv(&mut self, _: &mut Context<'_>) -> Poll<Result<Message>> {
        Poll::Pending
    }
    async fn send_message(&mut self, msg: Message) -> Result<()> {
        self.send(msg).await
    }
}

impl ProxySocket for Socket<Pull> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        poll_fair_queue(self, cx)
    }
    async fn send_message(&mut self, _: Message) -> Result<()> {
        does_not_send()
    }
}

/// DEALER and PAIR.
impl<K: RoundRobin + FairQueued> ProxySocket for Socket<K> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        poll_fair_queue(self, cx)
    }
    async fn send_message(&mut self, msg: Message) -> Result<()> {
        self.send(msg).await
    }
}

impl ProxySocket for Socket<Router> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        poll_fair_queue(self, cx)
    }
    async fn send_message(&mut self, msg: Message) -> Result<()> {
        self.send(msg).await
    }
}

/// A REP proxy side: used as a steerable proxy's control socket.
impl ProxySocket for Socket<Rep> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        Socket::<Rep>::poll_recv(self, cx)
    }
    async fn send_message(&mut self, msg: Message) -> Result<()> {
        self.send(msg).await
    }
}

/// PUB receives nothing; polling it applies the subscribers' (un)subscriptions.
impl ProxySocket for Socket<Pub> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        Socket::<Pub>::poll_recv(self, cx)
    }
    async fn send_message(&mut self, msg: Message) -> Result<()> {
        self.send(msg).await
    }
}

impl ProxySocket for Socket<XPub> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        Socket::<XPub>::poll_recv(self, cx)
    }
    async fn send_message(&mut self, msg: Message) -> Result<()> {
        self.send(msg).await
    }
}

impl ProxySocket for Socket<Sub> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        Socket::<Sub>::poll_recv(self, cx).map(Ok)
    }
    async fn send_message(&mut self, _: Message) -> Result<()> {
        does_not_send()
    }
}

impl ProxySocket for Socket<XSub> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        poll_fair_queue(self, cx)
    }
    async fn send_message(&mut self, msg: Message) -> Result<()> {
        self.send(msg).await
    }
}

/// A stand-in for "no capture" / "no control" socket.
enum Absent {}

impl ProxySocket for Absent {
    fn poll_recv(&mut self, _: &mut Context<'_>) -> Poll<Result<Message>> {
        match *self {}
    }
    async fn send_message(&mut self, _: Message) -> Result<()> {
        match *self {}
    }
}

/// Forwards messages between `frontend` and `backend` until one of them fails.
///
/// Cancel safety: cancelled while it waits for a message, nothing is lost; cancelled while it
/// hands one on (waiting for room at a blocking side), that message is kept by the sending
/// socket for its `take_unsent`.
pub async fn proxy<F: ProxySocket, B: ProxySocket>(
    frontend: &mut F,
    backend: &mut B,
) -> Result<()> {
    run(frontend, backend, None::<&mut Absent>, None::<&mut Absent>).await
}

/// Like [`proxy`], also sending a copy of every forwarded message to `capture`. Cancel
/// safety: as [`proxy`].
pub async fn proxy_with_capture<F: ProxySocket, B: ProxySocket, C: ProxySocket>(
    frontend: &mut F,
    backend: &mut B,
    capture: &mut C,
) -> Result<()> {
    run(frontend, backend, Some(capture), None::<&mut Absent>).await
}

/// Like [`proxy`] (with an optional capture socket), steered by messages on `control`: PAUSE,
/// RESUME, TERMINATE (then it returns `Ok(())`) and STATISTICS (answered on `control`). Cancel
/// safety: as [`proxy`].
pub async fn proxy_steerable<F, B, C, K>(
    frontend: &mut F,
    backend: &mut B,
    capture: Option<&mut C>,
    control: &mut K,
) -> Result<()>
where
    F: ProxySocket,
    B: ProxySocket,
    C: ProxySocket,
    K: ProxySocket,
{
    run(frontend, backend, capture, Some(control)).await
}

/// Where the next message came from.
enum Next {
    Frontend(Message),
    Backend(Message),
    Control(Message),
}

async fn run<F, B, C, K>(
    frontend: &mut F,
    backend: &mut B,
    mut capture: Option<&mut C>,
    mut control: Option<&mut K>,
) -> Result<()>
where
    F: ProxySocket,
    B: ProxySocket,
    C: ProxySocket,
    K: ProxySocket,
{
    let mut stats = ProxyStatistics::default();
    let mut paused = false;
    let mut frontend_first = true;
    loop {
        let next = std::future::poll_fn(|cx| {
            if let Some(control) = control.as_mut() {
                if let Poll::Ready(msg) = control.poll_recv(cx) {
                    return Poll::Ready(msg.map(Next::Control));
                }
            }
            if paused {
                return Poll::Pending;
            }
            // Alternate which side is polled first, so a busy side cannot starve the other.
            frontend_first = !frontend_first;
            for from_frontend in [frontend_first, !frontend_first] {
                let polled = if from_frontend {
                    frontend.poll_recv(cx).map(|m| m.map(Next::Frontend))
                } else {
                    backend.poll_recv(cx).map(|m| m.map(Next::Backend))
                };
                if polled.is_ready() {
                    return polled;
                }
            }
            Poll::Pending
        })
        .await?;
        match next {
            Next::Control(msg) => match ProxyCommand::parse(&msg) {
                Some(ProxyCommand::Pause) => paused = true,
                Some(ProxyCommand::Resume) => paused = false,
                Some(ProxyCommand::Terminate) => return Ok(()),
                Some(ProxyCommand::Statistics) => {
                    if let Some(control) = control.as_mut() {
                        control.send_message(stats.to_message()).await?;
                    }
                }
                None => return Err(Error::InvalidState("unknown proxy control command")),
            },
            Next::Frontend(msg) => {
                let size = msg.payload_len() as u64;
                stats.frontend_msgs_in += 1;
                stats.frontend_bytes_in += size;
                if let Some(capture) = capture.as_mut() {
                    capture.send_message(msg.clone()).await?;
                }
                backend.send_message(msg).await?;
                stats.backend_msgs_out += 1;
                stats.backend_bytes_out += size;
            }
            Next::Backend(msg) => {
                let size = msg.payload_len() as u64;
                stats.backend_msgs_in += 1;
                stats.backend_bytes_in += size;
                if let Some(capture) = capture.as_mut() {
                    capture.send_message(msg.clone()).await?;
                }
                frontend.send_message(msg).await?;
                stats.frontend_msgs_out += 1;
                stats.frontend_bytes_out += size;
            }
        }
    }
}
