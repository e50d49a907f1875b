//! The background tasks of a socket: one accept loop per bound endpoint, one connect loop per
//! connected endpoint (reconnecting with back-off), and one engine per connection.

use super::queue;
use super::shared::{Attached, EndpointKey, InEvent, Inbound, Outbound, PeerId, PeerTx, Shared};
use crate::engine::{Engine, Link};
use crate::monitor::{ConnectionError, SocketEvent};
use crate::proto::{NullMechanism, PeerInfo, Session, SessionConfig};
use bytes::Bytes;
use futures::future::{Either, select};
use monocoque_core::backoff::Backoff;
use monocoque_core::runtime::{RuntimeHandle, timeout};
use monocoque_core::transport::{ConnectOptions, Connection, Listener, Transport};
use monocoque_core::{Endpoint, Message, SocketOptions, SocketType};
use std::sync::Arc;
use std::time::Duration;

/// Wait after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Everything a connection task needs from its socket, cloned into each task.
#[derive(Clone)]
pub(crate) struct ConnParams {
    pub shared: Arc<Shared>,
    pub runtime: RuntimeHandle,
    /// The options as they were at bind/connect time (libzmq applies options that way too).
    pub options: SocketOptions,
    /// Where received messages go (`None`: the socket type never receives).
    pub inbound: Option<queue::Sender<Inbound>>,
    /// CONFLATE: a newer message replaces the stale one in a full inbound queue.
    pub conflate: bool,
    /// Whether the socket sends, i.e. each peer needs an outgoing queue.
    pub sends: bool,
    /// Held, never read, by every task: the socket's `close` waits until all are dropped.
    pub _alive: Option<flume::Sender<()>>,
}

impl ConnParams {
    fn session(&self, as_server: bool) -> Session {
        Session::new(
            SessionConfig {
                socket_type: self.shared.socket_type,
                routing_id: self.options.routing_id.clone(),
                as_server,
                max_msg_size: self.options.maxmsgsize,
                mechanism: Box::new(NullMechanism),
                handshake_timeout: self.options.handshake_ivl,
            },
            std::time::Instant::now(),
        )
    }

    /// A peer's outgoing queue, bounded by SNDHWM (0 = unbounded, as in libzmq); none for
    /// sockets that never send.
    pub fn peer_queue(&self) -> (Option<PeerTx>, Option<queue::Receiver<Outbound>>) {
        if !self.sends {
            return (None, None);
        }
        let (tx, rx) = PeerTx::queue(self.options.sndhwm, self.options.conflate);
        (Some(tx), Some(rx))
    }

    async fn handshake(&self, engine: &mut Engine) -> Result<PeerInfo, ConnectionError> {
        engine.handshake(&*self.runtime).await
    }

    /// Attaches a connection whose handshake succeeded to the socket.
    fn attach(
        &self,
        id: PeerId,
        origin: EndpointKey,
        tx: Option<PeerTx>,
        info: &PeerInfo,
    ) -> Result<Attached, ConnectionError> {
        self.shared
            .attach(
                id,
                origin,
                tx,
                info.routing_id.clone(),
                self.options.router_handover,
            )
            .map_err(|e| ConnectionError::Rejected(e.reason()))
    }

    /// Runs an attached connection until it ends; then tells a publishing socket the peer left.
    async fn run_attached(
        &self,
        mut engine: Engine,
        id: PeerId,
        attached: Attached,
        outbound: Option<queue::Receiver<Outbound>>,
        shutdown: &flume::Receiver<()>,
    ) -> Result<(), ConnectionError> {
        let socket_type = self.shared.socket_type;
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
        let wants_subscriptions = matches!(socket_type, SocketType::Pub | SocketType::XPub);
        let link = Link {
            peer: id,
            routing_id: attached.routing_id.clone(),
            outbound,
            inbound: self.inbound.clone(),
            conflate: self.conflate,
            shutdown: shutdown.clone().into_stream(),
            evicted: Some(attached.evicted.into_stream()),
            wants_subscriptions,
            shared: self.shared.clone(),
            linger: self.options.linger,
            runtime: self.runtime.clone(),
        };
        let result = engine.run(link).await;
        if let (true, Some(inbound)) = (wants_subscriptions, &self.inbound) {
            let left = Inbound {
                peer: id,
                routing_id: attached.routing_id,
                event: InEvent::Left,
            };
            let _ = inbound.send(left).await;
        }
        result
    }

    /// Sleeps for `delay`; false if the endpoint was shut down meanwhile.
    async fn pause(&self, delay: Duration, shutdown: &flume::Receiver<()>) -> bool {
        let sleep = self.runtime.sleep(delay);
        let stop = shutdown.recv_async();
        matches!(select(sleep, stop).await, Either::Left(_))
    }
}

/// Accepts connections on one bound endpoint until it is unbound or the socket closes.
pub(crate) async fn accept_loop(
    mut listener: Box<dyn Listener>,
    params: ConnParams,
    origin: EndpointKey,
    endpoint: Endpoint,
    shutdown: flume::Receiver<()>,
) {
    loop {
        let accepted = match select(listener.accept(), shutdown.recv_async()).await {
            Either::Left((accepted, _)) => accepted,
            Either::Right(_) => break,
        };
        match accepted {
            Ok(conn) => {
                params.shared.emit(|| SocketEvent::Accepted {
                    endpoint: endpoint.clone(),
                    peer_addr: conn.peer_addr.clone(),
                });
                let task = serve_accepted(
                    conn,
                    params.clone(),
                    origin,
                    endpoint.clone(),
                    shutdown.clone(),
                );
                params.runtime.spawn(Box::pin(task));
            }
            Err(_) => {
                if !params.pause(ACCEPT_ERROR_PAUSE, &shutdown).await {
                    break;
                }
            }
        }
    }
    drop(listener);
    params.shared.emit(|| SocketEvent::Closed { endpoint });
}

/// Runs one accepted connection: handshake, attach to the socket, move messages, detach.
async fn serve_accepted(
    conn: Connection,
    params: ConnParams,
    origin: EndpointKey,
    endpoint: Endpoint,
    shutdown: flume::Receiver<()>,
) {
    let shared = &params.shared;
    let peer_addr = conn.peer_addr;
    let mut engine = Engine::new(conn.stream, params.session(true));
    let info = match params.handshake(&mut engine).await {
        Ok(info) => info,
        Err(error) => {
            shared.emit(|| SocketEvent::HandshakeFailed {
                endpoint,
                peer_addr,
                error,
            });
            return;
        }
    };
    let id = shared.next_peer_id();
    let (tx, rx) = params.peer_queue();
    let attached = match params.attach(id, origin, tx, &info) {
        Ok(attached) => attached,
        Err(error) => {
            shared.emit(|| SocketEvent::HandshakeFailed {
                endpoint,
                peer_addr,
                error,
            });
            return;
        }
    };
    shared.emit(|| SocketEvent::HandshakeSucceeded {
        endpoint: endpoint.clone(),
        peer_addr: peer_addr.clone(),
        peer_type: info.socket_type,
    });
    let result = params
        .run_attached(engine, id, attached, rx, &shutdown)
        .await;
    shared.remove(id);
    shared.emit(|| SocketEvent::Disconnected {
        endpoint,
        peer_addr,
        error: result.err(),
    });
}

/// Keeps one connected endpoint connected: connect, handshake, run, and after any failure wait
/// (RECONNECT_IVL with back-off) and start over, until disconnected or the socket closes. The
/// peer's outgoing queue `outbound` outlives the individual connections.
///
/// When the socket closes while messages are still queued for this peer (it never connected, or
/// was between connections), they are not dropped at once: as libzmq does, the endpoint keeps
/// trying to connect and deliver them for up to LINGER.
pub(crate) async fn connect_loop(
    transport: Arc<dyn Transport>,
    params: ConnParams,
    id: PeerId,
    endpoint: Endpoint,
    outbound: Option<queue::Receiver<Outbound>>,
    shutdown: flume::Receiver<()>,
) {
    let attempt = ConnectAttempt {
        transport: &*transport,
        params: &params,
        id,
        endpoint: &endpoint,
        outbound: outbound.as_ref(),
        shutdown: &shutdown,
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
    /// The endpoint was shut down (disconnect, close) while not connected.
    Stopped,
    /// A connection ended because this side closed it (queue drained after shutdown).
    Closed,
    /// A connection failed and RECONNECT_IVL is off.
    GaveUp,
}

struct ConnectAttempt<'a> {
    transport: &'a dyn Transport,
    params: &'a ConnParams,
    id: PeerId,
    endpoint: &'a Endpoint,
    outbound: Option<&'a queue::Receiver<Outbound>>,
    shutdown: &'a flume::Receiver<()>,
}

impl ConnectAttempt<'_> {
    /// Resolves when the endpoint is shut down; never while `lingering` (it already was).
    async fn stop(&self, lingering: bool) {
        if lingering {
            std::future::pending::<()>().await;
        }
        let _ = self.shutdown.recv_async().await;
    }

    async fn keep_connected(&self, lingering: bool) -> Ended {
        let (params, id, endpoint, shutdown) = (self.params, self.id, self.endpoint, self.shutdown);
        let outbound = self.outbound;
        let shared = &params.shared;
        let options = &params.options;
        let mut backoff = Backoff::new(
            options.reconnect_ivl.unwrap_or(Duration::from_millis(100)),
            options.reconnect_ivl_max,
        );
        let connect_options = ConnectOptions {
            timeout: options.connect_timeout,
        };
        loop {
            let attempt = self.transport.connect(endpoint, &connect_options);
            let delay = match select(attempt, Box::pin(self.stop(lingering))).await {
                Either::Right(_) => return Ended::Stopped,
                Either::Left((Err(error), _)) => {
                    let delay = backoff.next_delay();
                    shared.emit(|| SocketEvent::ConnectRetried {
                        endpoint: endpoint.clone(),
                        error: Arc::new(error),
                        retry_in: delay,
                    });
                    delay
                }
                Either::Left((Ok(conn), _)) => {
                    let peer_addr = conn.peer_addr;
                    shared.emit(|| SocketEvent::Connected {
                        endpoint: endpoint.clone(),
                        peer_addr: peer_addr.clone(),
                    });
                    let mut engine = Engine::new(conn.stream, params.session(false));
                    // The peer's entry (and queue) exists since `connect`: origin and queue unused.
                    let handshake = match params.handshake(&mut engine).await {
                        Ok(info) => params.attach(id, 0, None, &info).map(|a| (info, a)),
                        Err(error) => Err(error),
                    };
                    match handshake {
                        Err(error) => {
                            let delay = match error {
                                ConnectionError::Io(_) => backoff.next_delay(),
                                _ => backoff.protocol_failure(),
                            };
                            shared.emit(|| SocketEvent::HandshakeFailed {
                                endpoint: endpoint.clone(),
                                peer_addr,
                                error,
                            });
                            delay
                        }
                        Ok((info, attached)) => {
                            backoff.reset();
                            shared.emit(|| SocketEvent::HandshakeSucceeded {
                                endpoint: endpoint.clone(),
                                peer_addr: peer_addr.clone(),
                                peer_type: info.socket_type,
                            });
                            let result = params
                                .run_attached(engine, id, attached, outbound.cloned(), shutdown)
                                .await;
                            shared.detach(id);
                            let closed_here = result.is_ok();
                            shared.emit(|| SocketEvent::Disconnected {
                                endpoint: endpoint.clone(),
                                peer_addr,
                                error: result.err(),
                            });
                            if closed_here {
                                return Ended::Closed;
                            }
                            backoff.next_delay()
                        }
                    }
                }
            };
            if options.reconnect_ivl.is_none() {
                return Ended::GaveUp;
            }
            if lingering {
                params.runtime.sleep(delay).await;
            } else if !params.pause(delay, shutdown).await {
                return Ended::Stopped;
            }
        }
    }
}
