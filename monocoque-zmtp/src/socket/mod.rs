//! The sockets: one generic [`Socket<K>`](Socket), where `K` is the socket type ([`Push`],
//! [`Dealer`], ...), and aliases for each (`PushSocket` = `Socket<Push>`, ...).
//!
//! Every socket has the methods of `Socket<K>` (options, bind, connect, unbind, disconnect,
//! monitor, close); each type adds its own ways to send and receive, in its own module, with
//! `Stream` and `Sink` implementations, and [`split`](Socket::split) into a [`SendHalf`] and a
//! [`RecvHalf`] for the types that both send and receive freely (DEALER, ROUTER, PAIR).
//!
//! Layout, top to bottom: the type modules (`pipeline`, `pair`, `dealer`, `router`, `req`,
//! `rep`, `publish`, `subscribe`) hold the socket policy; `outbox` and `inbox` the two
//! directions of data; `peers` the peer table and the sender's view of it; `base` the
//! endpoints; `connection` the accept and connect loops and each connection's life; `inproc`
//! the in-process transport. Below this module are `link` (the queues and signals connections
//! are driven through) and `engine` (one connection's I/O).

mod base;
mod connection;
mod dealer;
mod fair_queue;
mod inbox;
pub(crate) mod inproc;
mod outbox;
mod pair;
mod peers;
mod pipeline;
mod proxy;
mod publish;
mod rep;
mod req;
mod round_robin;
mod router;
mod split;
mod subscribe;

pub use dealer::Dealer;
pub use fair_queue::FairQueued;
pub use outbox::SendFuture;
pub use pair::Pair;
pub use pipeline::{Pull, Push};
pub use proxy::{
    ProxyCommand, ProxySocket, ProxyStatistics, proxy, proxy_steerable, proxy_with_capture,
};
pub use publish::{Pub, XPub};
pub use rep::Rep;
pub use req::Req;
pub use round_robin::RoundRobin;
pub use router::Router;
pub use split::{RecvHalf, SendHalf, Splittable};
pub use subscribe::{Sub, XSub};

use self::base::SocketBase;
use self::inbox::Inbox;
use self::outbox::Outbox;
use crate::context::Context;
use crate::monitor::Monitor;
use monocoque_core::endpoint::ToEndpoint;
use monocoque_core::{Endpoint, Message, Result, SocketOption, SocketOptions, SocketType};

/// A PAIR socket: see [`Pair`].
pub type PairSocket = Socket<Pair>;
/// A PUSH socket: see [`Push`].
pub type PushSocket = Socket<Push>;
/// A PULL socket: see [`Pull`].
pub type PullSocket = Socket<Pull>;
/// A DEALER socket: see [`Dealer`].
pub type DealerSocket = Socket<Dealer>;
/// A ROUTER socket: see [`Router`].
pub type RouterSocket = Socket<Router>;
/// A REQ socket: see [`Req`].
pub type ReqSocket = Socket<Req>;
/// A REP socket: see [`Rep`].
pub type RepSocket = Socket<Rep>;
/// A PUB socket: see [`Pub`].
pub type PubSocket = Socket<Pub>;
/// A SUB socket: see [`Sub`].
pub type SubSocket = Socket<Sub>;
/// An XPUB socket: see [`XPub`].
pub type XPubSocket = Socket<XPub>;
/// An XSUB socket: see [`XSub`].
pub type XSubSocket = Socket<XSub>;

mod sealed {
    pub trait Sealed {}
}

/// A socket type as a Rust type: the `K` of [`Socket<K>`](Socket), holding what that type
/// remembers between calls (a REQ's outstanding request, a SUB's subscriptions, ...).
/// Implemented by [`Pair`], [`Push`], [`Pull`], [`Dealer`], [`Router`], [`Req`], [`Rep`],
/// [`Pub`], [`Sub`], [`XPub`] and [`XSub`] only.
pub trait Kind: sealed::Sealed + Default + Send + Unpin + 'static {
    /// The socket type.
    const TYPE: SocketType;
}

/// A ZeroMQ socket of type `K`, made from a [`Context`]. Sockets are `Send`: they can move into
/// a task of a multi-threaded runtime.
///
/// The methods here are common to every type; sending and receiving are documented with each
/// type ([`Push`], [`Dealer`], ...).
pub struct Socket<K: Kind> {
    base: SocketBase,
    outbox: Outbox,
    inbox: Inbox,
    kind: K,
}

impl<K: Kind> Socket<K> {
    /// A new socket on `ctx`'s runtime and transports, with default options.
    #[must_use]
    pub fn new(ctx: &Context) -> Self {
        let base = SocketBase::new(ctx, K::TYPE);
        let runtime = ctx.runtime().clone();
        Self {
            outbox: Outbox::new(base.peers().clone(), runtime.clone()),
            inbox: Inbox::new(runtime),
            base,
            kind: K::default(),
        }
    }

    /// The socket type.
    #[must_use]
    pub fn socket_type(&self) -> SocketType {
        K::TYPE
    }

    /// The current options.
    #[must_use]
    pub fn options(&self) -> &SocketOptions {
        self.base.options()
    }

    /// Sets an option; it applies to endpoints bound or connected afterwards (HWMs, reconnect,
    /// handshake) or at once (timeouts), as in libzmq. An option of another socket type's
    /// pattern (ZMQ_REQ_RELAXED on a DEALER, say) is refused with
    /// [`Error::InvalidOption`](monocoque_core::Error::InvalidOption), as libzmq's EINVAL (see
    /// [`SocketOption::check_applies_to`]).
    pub fn set_option(&mut self, option: SocketOption) -> Result<()> {
        option.check_applies_to(K::TYPE)?;
        self.base.set_option(option)
    }

    /// The socket's inbound queue for a new endpoint's connections (none for PUSH, which never
    /// receives).
    fn inbound(&mut self) -> Option<crate::link::queue::Sender<crate::link::Inbound>> {
        (K::TYPE != SocketType::Push).then(|| self.inbox.sender(self.base.options()))
    }

    /// Listens on `endpoint` (`tcp://127.0.0.1:*` picks a port) and returns the endpoint
    /// actually bound. One socket may bind and connect many endpoints of any transport.
    ///
    /// Cancel safety: cancelled, nothing is bound.
    pub async fn bind(&mut self, endpoint: impl ToEndpoint) -> Result<Endpoint> {
        let inbound = self.inbound();
        self.base.bind(endpoint, inbound).await
    }

    /// Connects to `endpoint` in the background and returns at once. The connection is retried
    /// every RECONNECT_IVL (backing off to RECONNECT_IVL_MAX) until it is made, and remade
    /// after any failure; messages sent meanwhile wait in the peer's queue.
    ///
    /// Cancel safety: it completes at its first poll.
    pub async fn connect(&mut self, endpoint: impl ToEndpoint) -> Result<()> {
        let inbound = self.inbound();
        self.base.connect(endpoint, inbound)
    }

    /// Stops listening on a bound endpoint (written as bound or as requested) and closes the
    /// connections accepted through it.
    pub fn unbind(&mut self, endpoint: impl ToEndpoint) -> Result<()> {
        self.base.unbind(endpoint)
    }

    /// Stops connecting to `endpoint` and closes its connection; messages queued for it are
    /// written for at most LINGER.
    pub fn disconnect(&mut self, endpoint: impl ToEndpoint) -> Result<()> {
        self.base.disconnect(endpoint)
    }

    /// Starts reporting [`SocketEvent`](crate::SocketEvent)s on the returned [`Monitor`]
    /// (replacing any earlier monitor, whose stream ends).
    pub fn monitor(&mut self) -> Monitor {
        self.base.monitor()
    }

    /// libzmq's `zmq_socket_monitor`: binds a PAIR socket at `endpoint` (inproc, in this
    /// socket's context) and sends it every event whose number is in `events` (a mask of
    /// [`monitor::events`](crate::monitor::events), e.g. `events::ALL`) as libzmq's two-frame
    /// message ([`LibzmqEvent::to_message`](crate::monitor::LibzmqEvent::to_message)), ending
    /// with MONITOR_STOPPED, so that code ported from libzmq can connect a PAIR and read them.
    /// Replaces any earlier monitor, like [`monitor`](Self::monitor).
    pub async fn monitor_to(&mut self, endpoint: impl ToEndpoint, events: u16) -> Result<()> {
        let endpoint = endpoint.to_endpoint()?;
        if !matches!(endpoint, Endpoint::Inproc(_)) {
            return Err(monocoque_core::Error::NotSupported(
                "a monitor socket binds an inproc endpoint, as in libzmq",
            ));
        }
        let ctx = self.base.context().clone();
        let mut pair = PairSocket::new(&ctx);
        pair.set_option(SocketOption::Linger(Some(std::time::Duration::ZERO)))?;
        pair.bind(endpoint).await?;
        let mut monitor = self.base.monitor();
        let forward = async move {
            while let Some(event) = monitor.recv().await {
                let stopped = matches!(event, crate::SocketEvent::MonitorStopped);
                let wanted = event.libzmq_event().filter(|e| e.event & events != 0);
                if let Some(e) = wanted {
                    // Waits for the reader to connect (and keep up): the monitor counts what
                    // it cannot hold meanwhile.
                    if pair.send(e.to_message()).await.is_err() {
                        break;
                    }
                }
                if stopped {
                    break;
                }
            }
            pair.close().await;
        };
        ctx.runtime().spawn(Box::pin(forward));
        Ok(())
    }

    /// Closes the socket: stops all endpoints and waits until queued messages have been
    /// written, for at most LINGER (forever by default, as in libzmq). Dropping the socket
    /// does the same in the background.
    ///
    /// Cancel safety: cancelled, the socket is closed all the same; the connections finish
    /// writing in the background.
    pub async fn close(self) {
        let Self {
            base,
            outbox,
            inbox,
            kind,
        } = self;
        // Let go of the queues first, so that connections see the end of what was queued.
        drop((outbox, inbox, kind));
        base.close().await;
    }
}

impl<K: Kind> std::fmt::Debug for Socket<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("type", &K::TYPE)
            .finish_non_exhaustive()
    }
}

/// The message behind `msg`, or the error for a message with no frames.
fn non_empty(msg: impl Into<Message>) -> std::result::Result<Message, monocoque_core::SendError> {
    let msg = msg.into();
    if msg.is_empty() {
        return Err(monocoque_core::SendError {
            error: monocoque_core::Error::EmptyMessage,
            message: msg,
        });
    }
    Ok(msg)
}
