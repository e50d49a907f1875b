//! The life of a socket's connections: one accept loop per bound endpoint, one connect loop
//! per connected endpoint (reconnecting with back-off), and for each connection: handshake,
//! attach to the peer table, run the engine over its [`Link`], detach.

use super::peers::{Attach, Attached, EndpointKey, PeerTx, Peers};
use crate::engine::{Authentication, Engine};
use crate::error::ConnectionError;
use crate::link::queue;
use crate::link::{Inbound, Link, Outbound, PeerId, Shutdown, Stop};
use crate::monitor::{Emitter, SocketEvent};
use crate::proto::{
    AuthenticatedNull, CurveClient, CurveServer, HeartbeatConfig, Mechanism, NullMechanism,
    PeerInfo, PlainClient, PlainServer, Session, SessionConfig,
};
use crate::zap::ZapHandler;
use bytes::Bytes;
use futures::future::{Either, select};
use monocoque_core::backoff::Backoff;
use monocoque_core::metadata::{Metadata, PEER_ADDRESS};
use monocoque_core::options::reconnect_stop;
use monocoque_core::runtime::{RuntimeHandle, timeout};
use monocoque_core::transport::{ConnectOptions, Connection, Listener, Transport};
use monocoque_core::{
    CurvePublicKey, CurveSecretKey, Endpoint, Error, MechanismKind, Message, Password, Security,
    SocketOptions, SocketType,
};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Wait after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The security mechanism a socket's connections are made with, checked once at
/// bind/connect ([`Security::check`]), so that a connection never finds its set-up incomplete.
/// Servers ask the context's ZAP handler about each client; without one they behave as libzmq
/// 4.3.5 without a ZAP handler (see [`crate::zap`]).
#[derive(Debug)]
pub(crate) enum MechanismConfig {
    /// `authenticate`: ZAP_DOMAIN is set, so NULL peers are authenticated too (as in libzmq).
    Null {
        authenticate: bool,
    },
    PlainServer,
    PlainClient {
        username: Bytes,
        password: Password,
    },
    CurveServer {
        secret: CurveSecretKey,
    },
    CurveClient {
        public: CurvePublicKey,
        secret: CurveSecretKey,
        server: CurvePublicKey,
    },
}

impl MechanismConfig {
    pub fn new(security: &Security) -> monocoque_core::Result<Self> {
        security.check()?;
        let incomplete = || Error::InvalidOption {
            option: "ZMQ_CURVE_SECRETKEY",
            reason: "the CURVE set-up is incomplete",
        };
        Ok(match (security.mechanism, security.as_server) {
            (MechanismKind::Null, _) => Self::Null {
                authenticate: !security.zap_domain.is_empty(),
            },
            (MechanismKind::Plain, true) => Self::PlainServer,
            (MechanismKind::Plain, false) => Self::PlainClient {
                username: security.plain_username.clone(),
                password: security.plain_password.clone(),
            },
            (MechanismKind::Curve, true) => Self::CurveServer {
                secret: security.curve_secret_key.clone().ok_or_else(incomplete)?,
            },
            (MechanismKind::Curve, false) => Self::CurveClient {
                public: security.curve_public_key.ok_or_else(incomplete)?,
                secret: security.curve_secret_key.clone().ok_or_else(incomplete)?,
                server: security.curve_server_key.ok_or_else(incomplete)?,
            },
        })
    }

    /// Whether this side is the mechanism's server (never with NULL).
    fn as_server(&self) -> bool {
        matches!(self, Self::PlainServer | Self::CurveServer { .. })
    }

    /// A fresh mechanism for one connection; a server asks for verdicts when `authenticate`.
    fn mechanism(&self, authenticate: bool) -> Box<dyn Mechanism> {
        match self {
            Self::Null { authenticate: true } if authenticate => Box::new(AuthenticatedNull::new()),
            Self::Null { .. } => Box::new(NullMechanism),
            Self::PlainServer => Box::new(PlainServer::new(authenticate)),
            Self::PlainClient { username, password } => {
                Box::new(PlainClient::new(username.clone(), password.clone()))
            }
            Self::CurveServer { secret } => Box::new(CurveServer::new(secret, authenticate)),
            Self::CurveClient {
                public,
                secret,
                server,
            } => Box::new(CurveClient::new(public, secret, server)),
        }
    }
}

/// Held by a socket and by everything that runs for it; when the last holder is gone, the
/// socket's `close` returns and its monitor's stream ends.
#[derive(Debug)]
pub(crate) struct Lifeline {
    /// Triggered when the last holder is gone.
    pub done: Shutdown,
    pub emitter: Emitter,
}

impl Drop for Lifeline {
    fn drop(&mut self) {
        self.emitter.end();
        self.done.trigger(Stop::Close);
    }
}

/// Everything a connection needs from its socket, shared by the tasks of one endpoint.
#[derive(Debug)]
pub(crate) struct ConnParams {
    pub peers: Arc<Peers>,
    pub runtime: RuntimeHandle,
    /// The options as they were at bind/connect time (libzmq applies options that way too).
    pub options: SocketOptions,
    /// The security mechanism, from `options`.
    pub mechanism: MechanismConfig,
    /// The context's ZAP handler, for server mechanisms.
    pub zap: Option<Arc<dyn ZapHandler>>,
    /// Where received messages go (`None`: the socket type never receives).
    pub inbound: Option<queue::Sender<Inbound>>,
    pub emitter: Emitter,
    /// Whether the socket sends, i.e. each peer needs an outbound queue.
    pub sends: bool,
    /// Keeps the socket's `close` waiting while this connection's tasks run.
    pub _lifeline: Arc<Lifeline>,
}

impl ConnParams {
    fn socket_type(&self) -> SocketType {
        self.peers.socket_type()
    }

    /// A session for a new connection. With PLAIN and CURVE the security role comes from the
    /// options (PLAIN_SERVER, CURVE_SERVER), whichever side bound; with NULL there is none.
    fn session(&self) -> Session {
        let config = SessionConfig {
            socket_type: self.socket_type(),
            routing_id: self.options.routing_id.clone(),
            as_server: self.mechanism.as_server(),
            max_msg_size: self.options.maxmsgsize,
            mechanism: self.mechanism.mechanism(self.zap.is_some()),
            handshake_timeout: self.options.handshake_ivl,
            heartbeat: HeartbeatConfig {
                interval: self.options.heartbeat_ivl,
                ttl: self.options.heartbeat_ttl,
                timeout: self.options.heartbeat_timeout,
            },
        };
        Session::new(config, Instant::now())
    }

    fn engine(&self, conn: Connection) -> Box<Engine> {
        let authentication = self.zap.as_ref().map(|handler| Authentication {
            handler: handler.clone(),
            domain: self.options.security.zap_domain.clone(),
            address: peer_address(&conn.peer_addr),
            routing_id: self.options.routing_id.clone().unwrap_or_default(),
        });
        Box::new(
            Engine::new(conn.stream, self.session(), self.runtime.clone())
                .with_authentication(authentication),
        )
    }

    /// A peer's outbound queue, SNDHWM deep (0 = unbounded, as in libzmq); none for sockets
    /// that never send.
    pub fn peer_queue(&self) -> (Option<PeerTx>, Option<queue::Receiver<Outbound>>) {
        if !self.sends {
            return (None, None);
        }
        let (tx, rx) = (self.peers).peer_queue(self.options.sndhwm, self.options.conflate);
        (Some(tx), Some(rx))
    }

    /// Attaches a connection whose handshake succeeded to the socket.
    fn attach(
        &self,
        peer: PeerId,
        origin: EndpointKey,
        tx: Option<PeerTx>,
        info: &PeerInfo,
        conn: &Shutdown,
    ) -> Result<Attached, ConnectionError> {
        let attach = Attach {
            peer,
            origin,
            tx,
            announced_id: info.routing_id.clone(),
            handover: self.options.router_handover,
            conn: conn.clone(),
        };
        (self.peers.attach(attach)).map_err(|e| ConnectionError::Rejected(e.reason()))
    }

    /// What a new connection sends first: PROBE_ROUTER's empty message, XPUB's welcome
    /// message, or a subscriber's subscriptions.
    fn greet(&self, engine: &mut Engine, attached: &Attached) {
        let socket_type = self.socket_type();
        if self.options.probe_router
            && matches!(socket_type, SocketType::Router | SocketType::Dealer)
        {
            engine.queue_message(&Message::single(Bytes::new()));
        }
        if let (SocketType::XPub, Some(welcome)) = (socket_type, &self.options.xpub_welcome_msg) {
            engine.queue_message(&Message::single(welcome.clone()));
        }
        if matches!(socket_type, SocketType::Sub | SocketType::XSub) {
            for topic in &attached.subscriptions {
                engine.queue_subscribe(topic);
            }
        }
    }

    /// Runs an attached connection (sending `carried` first) until it ends; then tells a
    /// publishing socket the peer left. Returns how it ended and, when it failed on a PUSH or
    /// DEALER, what it never wrote (with `gone`, the rest of the peer's queue too, as for an
    /// accepted peer): an accepted peer's goes to the other peers once this one is out of the
    /// table, a connecting endpoint's to its next connection.
    #[allow(clippy::too_many_arguments)]
    async fn run_attached(
        &self,
        mut engine: Box<Engine>,
        peer: PeerId,
        metadata: Metadata,
        attached: Attached,
        outbound: Option<queue::Receiver<Outbound>>,
        shutdown: Shutdown,
        gone: bool,
        carried: Vec<Outbound>,
    ) -> (Result<(), ConnectionError>, Vec<Outbound>) {
        self.greet(&mut engine, &attached);
        let publishes = matches!(self.socket_type(), SocketType::Pub | SocketType::XPub);
        let link = Link {
            peer,
            outbound,
            inbound: self.inbound.clone(),
            // A ROUTER hands every message on with the routing id it gave the peer in front.
            prefix: attached.routing_id,
            subscriptions: publishes,
            shutdown,
            linger: self.options.linger,
            metadata: Some(metadata),
        };
        let mut run = engine.run_with(link, carried);
        let result = (&mut run).await;
        if let (true, Some(inbound)) = (publishes, &self.inbound) {
            let _ = inbound.send(Inbound::Left(peer)).await;
        }
        let round_robin = matches!(self.socket_type(), SocketType::Push | SocketType::Dealer);
        let unsent = match (&result, round_robin) {
            (Err(_), true) => run.take_unsent(gone),
            _ => Vec::new(),
        };
        (result, unsent)
    }

    /// Sleeps for `delay`; false if `shutdown` was triggered meanwhile.
    async fn pause(&self, delay: Duration, shutdown: &Shutdown) -> bool {
        let sleep = self.runtime.sleep(delay);
        matches!(
            select(sleep, Box::pin(shutdown.wait())).await,
            Either::Left(_)
        )
    }
}

/// What `Peer-Address` and a ZAP request give as the peer's address: for tcp the IP address
/// without the port (`127.0.0.1`), as libzmq gives it; otherwise the transport's peer name.
fn peer_address(peer_addr: &str) -> String {
    match peer_addr.parse::<std::net::SocketAddr>() {
        Ok(addr) => addr.ip().to_string(),
        Err(_) => peer_addr.to_owned(),
    }
}

/// The properties every message from this peer carries (`zmq_msg_gets`): `Peer-Address`
/// first, then what the handshake gave (the ZAP handler's `User-Id` and metadata, the peer's
/// `Socket-Type`, `Identity` and application metadata).
fn connection_metadata(peer_addr: &str, info: &PeerInfo) -> Metadata {
    let address = (PEER_ADDRESS, Bytes::from(peer_address(peer_addr)));
    let handshake = (info.properties.iter()).map(|(name, value)| (name, value.clone()));
    Metadata::from_entries(std::iter::once(address).chain(handshake))
}

/// Accepts connections on one bound endpoint until `shutdown` (the endpoint's) is triggered.
pub(crate) async fn accept_loop(
    mut listener: Box<dyn Listener>,
    params: Arc<ConnParams>,
    origin: EndpointKey,
    endpoint: Endpoint,
    shutdown: Shutdown,
) {
    loop {
        let accepted = match select(listener.accept(), Box::pin(shutdown.wait())).await {
            Either::Left((accepted, _)) => accepted,
            Either::Right(_) => break,
        };
        match accepted {
            Ok(conn) => {
                params.emitter.emit(|| SocketEvent::Accepted {
                    endpoint: endpoint.clone(),
                    peer_addr: conn.peer_addr.clone(),
                });
                let task = serve_accepted(
                    conn,
                    params.clone(),
                    origin,
                    endpoint.clone(),
                    shutdown.child(),
                );
                params.runtime.spawn(Box::pin(task));
            }
            Err(error) => {
                params.emitter.emit(|| SocketEvent::AcceptFailed {
                    endpoint: endpoint.clone(),
                    error: Arc::new(error),
                });
                if !params.pause(ACCEPT_ERROR_PAUSE, &shutdown).await {
                    break;
                }
            }
        }
    }
    match listener.close() {
        Ok(()) => params.emitter.emit(|| SocketEvent::Closed { endpoint }),
        Err(error) => params.emitter.emit(|| SocketEvent::CloseFailed {
            endpoint,
            error: Arc::new(error),
        }),
    }
}

/// Runs one accepted connection: handshake, attach to the socket, move messages, detach.
async fn serve_accepted(
    conn: Connection,
    params: Arc<ConnParams>,
    origin: EndpointKey,
    endpoint: Endpoint,
    shutdown: Shutdown,
) {
    let emitter = &params.emitter;
    let peer_addr = conn.peer_addr.clone();
    let mut engine = params.engine(conn);
    let peer = params.peers.next_id();
    let (tx, rx) = params.peer_queue();
    let attached = match handshake(&mut engine, &shutdown).await {
        Ok(info) => params
            .attach(peer, origin, tx, &info, &shutdown)
            .map(|attached| (info, attached)),
        Err(error) => Err(error),
    };
    let (info, attached) = match attached {
        Ok(ok) => ok,
        Err(error) => {
            emitter.emit(|| SocketEvent::HandshakeFailed {
                endpoint,
                peer_addr,
                error,
            });
            return;
        }
    };
    emitter.emit(|| SocketEvent::HandshakeSucceeded {
        endpoint: endpoint.clone(),
        peer_addr: peer_addr.clone(),
        peer_type: info.socket_type,
    });
    let metadata = connection_metadata(&peer_addr, &info);
    let run = params.run_attached(engine, peer, metadata, attached, rx, shutdown, true, vec![]);
    let (result, unsent) = run.await;
    params.peers.remove(peer);
    params.peers.hand_over(unsent);
    emitter.emit(|| SocketEvent::Disconnected {
        endpoint,
        peer_addr,
        error: result.err(),
    });
}

/// The handshake, given up when `shutdown` is triggered meanwhile.
async fn handshake(engine: &mut Engine, shutdown: &Shutdown) -> Result<PeerInfo, ConnectionError> {
    match select(Box::pin(engine.handshake()), Box::pin(shutdown.wait())).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(ConnectionError::Rejected("the socket closed the endpoint")),
    }
}

/// Keeps one connected endpoint connected: connect, handshake, run, and after any failure wait
/// (RECONNECT_IVL with back-off) and start over, until `shutdown` (the endpoint's) is
/// triggered. The peer's outbound queue `outbound` outlives the individual connections.
///
/// When the socket closes while messages are still queued for this peer (it never connected, or
/// was between connections), they are not dropped at once: as libzmq does, the endpoint keeps
/// trying to connect and deliver them for up to LINGER.
pub(crate) async fn connect_loop(
    transport: Arc<dyn Transport>,
    params: Arc<ConnParams>,
    peer: PeerId,
    origin: EndpointKey,
    endpoint: Endpoint,
    outbound: Option<queue::Receiver<Outbound>>,
    shutdown: Shutdown,
) {
    let attempt = ConnectAttempt {
        transport: &*transport,
        params: &params,
        peer,
        origin,
        endpoint: &endpoint,
        outbound: outbound.as_ref(),
        shutdown: &shutdown,
        carry: std::sync::Mutex::new(Vec::new()),
    };
    let ended = attempt.keep_connected(false).await;
    let undelivered = outbound.as_ref().is_some_and(|rx| !rx.is_empty());
    if ended == Ended::Stopped && undelivered && params.options.linger != Some(Duration::ZERO) {
        let _ = timeout(
            &*params.runtime,
            params.options.linger,
            attempt.keep_connected(true),
        )
        .await;
    }
}

/// How [`ConnectAttempt::keep_connected`] ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The endpoint was shut down while not connected.
    Stopped,
    /// A connection ended because this side closed it (queue written after a shutdown, or an
    /// eviction).
    Closed,
    /// A connection failed and RECONNECT_IVL is off.
    GaveUp,
}

/// How one connection of a connecting endpoint ended.
enum Served {
    /// This side closed it.
    Closed,
    /// It ran, then failed.
    Lost,
    /// Its handshake failed: on the stream (`true`), or on the protocol.
    HandshakeFailed { io: bool },
}

struct ConnectAttempt<'a> {
    transport: &'a dyn Transport,
    params: &'a ConnParams,
    peer: PeerId,
    origin: EndpointKey,
    endpoint: &'a Endpoint,
    outbound: Option<&'a queue::Receiver<Outbound>>,
    shutdown: &'a Shutdown,
    /// What a lost connection took off the queue and never wrote, for the next one.
    carry: std::sync::Mutex<Vec<Outbound>>,
}

impl ConnectAttempt<'_> {
    /// Resolves when the endpoint is shut down; never while `lingering` (it already was).
    async fn stop(&self, lingering: bool) {
        if lingering {
            std::future::pending::<()>().await;
        }
        self.shutdown.wait().await;
    }

    async fn keep_connected(&self, lingering: bool) -> Ended {
        let (params, endpoint) = (self.params, self.endpoint);
        let options = &params.options;
        let mut backoff = Backoff::new(
            options.reconnect_ivl.unwrap_or(Duration::from_millis(100)),
            options.reconnect_ivl_max,
        );
        let connect_options = ConnectOptions {
            timeout: options.connect_timeout,
            keepalive: options.tcp_keepalive,
        };
        loop {
            let mut attempt = self.transport.connect(endpoint, &connect_options);
            // libzmq's CONNECT_DELAYED: the attempt did not complete at once.
            let mut first_poll = true;
            let attempt = std::future::poll_fn(|cx| {
                let polled = attempt.as_mut().poll(cx);
                if std::mem::take(&mut first_poll) && polled.is_pending() {
                    params.emitter.emit(|| SocketEvent::ConnectDelayed {
                        endpoint: endpoint.clone(),
                    });
                }
                polled
            });
            let delay = match select(Box::pin(attempt), Box::pin(self.stop(lingering))).await {
                Either::Right(_) => return Ended::Stopped,
                Either::Left((Err(error), _))
                    if error.kind() == io::ErrorKind::ConnectionRefused
                        && options.reconnect_stop & reconnect_stop::CONN_REFUSED != 0 =>
                {
                    return self.stop_for_good();
                }
                Either::Left((Err(error), _)) => {
                    let delay = backoff.next_delay();
                    params.emitter.emit(|| SocketEvent::ConnectRetried {
                        endpoint: endpoint.clone(),
                        error: Arc::new(error),
                        retry_in: delay,
                    });
                    delay
                }
                Either::Left((Ok(conn), _)) => match self.serve(conn, lingering).await {
                    Served::Closed => return Ended::Closed,
                    Served::Lost => {
                        backoff.reset();
                        backoff.next_delay()
                    }
                    Served::HandshakeFailed { .. }
                        if options.reconnect_stop & reconnect_stop::HANDSHAKE_FAILED != 0 =>
                    {
                        return self.stop_for_good();
                    }
                    Served::HandshakeFailed { io: true } => backoff.next_delay(),
                    Served::HandshakeFailed { io: false } => backoff.protocol_failure(),
                },
            };
            if options.reconnect_ivl.is_none() {
                return Ended::GaveUp;
            }
            if lingering {
                params.runtime.sleep(delay).await;
            } else if !params.pause(delay, self.shutdown).await {
                return Ended::Stopped;
            }
        }
    }

    /// RECONNECT_STOP applied: the endpoint is over; the monitor says so as libzmq does
    /// (ZMQ_EVENT_CLOSED), and the queue goes with it.
    fn stop_for_good(&self) -> Ended {
        self.params.emitter.emit(|| SocketEvent::Closed {
            endpoint: self.endpoint.clone(),
        });
        Ended::GaveUp
    }

    /// Runs one connection: handshake, attach, move messages, detach. While `lingering` (the
    /// socket is gone, messages are still queued) it only writes them out.
    async fn serve(&self, conn: Connection, lingering: bool) -> Served {
        let (params, endpoint) = (self.params, self.endpoint);
        let emitter = &params.emitter;
        let peer_addr = conn.peer_addr.clone();
        emitter.emit(|| SocketEvent::Connected {
            endpoint: endpoint.clone(),
            peer_addr: peer_addr.clone(),
        });
        let mut engine = params.engine(conn);
        // Lingering, the endpoint's signal is triggered already: the connection gets its own.
        let signal = if lingering {
            Shutdown::new()
        } else {
            self.shutdown.child()
        };
        let handshake = match handshake(&mut engine, &signal).await {
            // The socket is gone: nothing to attach to.
            Ok(info) if lingering => Ok((info, Attached::default())),
            // The peer's entry (and queue) exists since `connect`: no new queue.
            Ok(info) => (params.attach(self.peer, self.origin, None, &info, &signal))
                .map(|attached| (info, attached)),
            Err(error) => Err(error),
        };
        let (info, attached) = match handshake {
            Ok(ok) => ok,
            Err(error) => {
                let io = matches!(error, ConnectionError::Io(_));
                emitter.emit(|| SocketEvent::HandshakeFailed {
                    endpoint: endpoint.clone(),
                    peer_addr,
                    error,
                });
                return Served::HandshakeFailed { io };
            }
        };
        emitter.emit(|| SocketEvent::HandshakeSucceeded {
            endpoint: endpoint.clone(),
            peer_addr: peer_addr.clone(),
            peer_type: info.socket_type,
        });
        if lingering {
            // Write what is queued, then close.
            signal.trigger(Stop::Close);
        }
        let outbound = self.outbound.cloned();
        let metadata = connection_metadata(&peer_addr, &info);
        let carried = std::mem::take(&mut *self.carry.lock().unwrap_or_else(|p| p.into_inner()));
        let run = params.run_attached(
            engine, self.peer, metadata, attached, outbound, signal, false, carried,
        );
        let (result, unsent) = run.await;
        params.peers.detach(self.peer);
        // Kept for this endpoint's next connection, ahead of its queue's rest.
        self.carry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(unsent);
        let served = if result.is_ok() {
            Served::Closed
        } else {
            Served::Lost
        };
        emitter.emit(|| SocketEvent::Disconnected {
            endpoint: endpoint.clone(),
            peer_addr,
            error: result.err(),
        });
        served
    }
}
