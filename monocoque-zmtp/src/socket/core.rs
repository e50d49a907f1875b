//! `SocketCore`: what every socket type shares: options, endpoints, background tasks, the peer
//! snapshot used for sending, and the inbound queue used for receiving.

use super::inproc::Connector;
use super::queue;
use super::shared::{EndpointKey, InEvent, Inbound, Outbound, PeerId, PeerTx, Shared};
use super::tasks::{ConnParams, accept_loop, connect_loop};
use crate::context::Context;
use crate::monitor::SocketEvent;
use bytes::Bytes;
use hashbrown::HashMap;
use monocoque_core::endpoint::ToEndpoint;
use monocoque_core::routing::LoadBalancer;
use monocoque_core::runtime::timeout;
use monocoque_core::{
    Endpoint, Error, Message, Result, SocketOption, SocketOptions, SocketType, TrySendError,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

/// How many monitor events may wait unread before new ones are dropped.
const MONITOR_CAPACITY: usize = 1024;

/// Most received events taken off the inbound queue at once (one lock for the batch): all of
/// them, swapping buffers with the queue, so up to RCVHWM more can be received meanwhile.
const RECV_BATCH: usize = usize::MAX;

/// Extra time `close` allows beyond LINGER for tasks to notice and exit.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

enum EndpointKind {
    Bound,
    Connected,
}

struct EndpointEntry {
    key: EndpointKey,
    kind: EndpointKind,
    /// As the user wrote it.
    requested: Endpoint,
    /// As bound (wildcard port resolved); same as `requested` for connects.
    actual: Endpoint,
    /// Dropping it tells the endpoint's tasks to stop.
    _shutdown: flume::Sender<()>,
}

/// The round-robin view of the peers' outgoing queues, refreshed only when the peer table moved.
#[derive(Default)]
struct OutPeers {
    seen_generation: u64,
    queues: Vec<(PeerId, PeerTx)>,
    /// The peers of `queues` that are connected now.
    connected: Vec<PeerId>,
    /// Where each peer sits in `queues`.
    index: HashMap<PeerId, usize>,
    /// Round-robin order over the peers (PUSH, DEALER, REQ, PAIR).
    balancer: LoadBalancer<PeerId>,
    /// ROUTER: routing id -> peer.
    routes: HashMap<Bytes, PeerId>,
}

/// The shared machinery of every socket type.
pub(crate) struct SocketCore {
    ctx: Context,
    shared: Arc<Shared>,
    options: SocketOptions,
    sends: bool,
    receives: bool,
    endpoints: Vec<EndpointEntry>,
    next_endpoint_key: EndpointKey,
    out: OutPeers,
    inbound: Option<(queue::Sender<Inbound>, queue::Receiver<Inbound>)>,
    /// Events taken off the inbound queue in one batch, not yet received.
    received: VecDeque<Inbound>,
    alive_tx: Option<flume::Sender<()>>,
    alive_rx: flume::Receiver<()>,
}

impl SocketCore {
    pub fn new(ctx: &Context, socket_type: SocketType, sends: bool, receives: bool) -> Self {
        let (alive_tx, alive_rx) = flume::bounded(1);
        Self {
            ctx: ctx.clone(),
            shared: Arc::new(Shared::new(socket_type)),
            options: SocketOptions::default(),
            sends,
            receives,
            endpoints: Vec::new(),
            next_endpoint_key: 1,
            out: OutPeers::default(),
            inbound: None,
            received: VecDeque::new(),
            alive_tx: Some(alive_tx),
            alive_rx,
        }
    }

    pub fn socket_type(&self) -> SocketType {
        self.shared.socket_type
    }

    pub fn options(&self) -> &SocketOptions {
        &self.options
    }

    pub fn set_option(&mut self, option: SocketOption) -> Result<()> {
        self.options.set(option)
    }

    pub fn monitor(&mut self) -> flume::Receiver<SocketEvent> {
        let (tx, rx) = flume::bounded(MONITOR_CAPACITY);
        self.shared.set_monitor(tx);
        rx
    }

    /// The inbound queue, created on first use so that RCVHWM set after `new` still applies.
    fn inbound(&mut self) -> &(queue::Sender<Inbound>, queue::Receiver<Inbound>) {
        // CONFLATE: a queue of one, whose occupant connections replace.
        let capacity = if self.options.conflate {
            1
        } else {
            self.options.rcvhwm
        };
        self.inbound.get_or_insert_with(|| queue::queue(capacity))
    }

    fn params(&mut self) -> Result<ConnParams> {
        let inbound = if self.receives {
            Some(self.inbound().0.clone())
        } else {
            None
        };
        let conflate = self.receives && self.options.conflate;
        Ok(ConnParams {
            shared: self.shared.clone(),
            runtime: self.ctx.runtime().clone(),
            options: self.options.clone(),
            inbound,
            conflate,
            sends: self.sends,
            _alive: Some(self.alive_tx.clone().ok_or(Error::Closed)?),
        })
    }

    fn transport_for(
        &self,
        endpoint: &Endpoint,
    ) -> Result<Arc<dyn monocoque_core::transport::Transport>> {
        self.ctx
            .transport(endpoint.scheme())
            .cloned()
            .ok_or(Error::UnsupportedTransport(endpoint.scheme()))
    }

    fn new_key(&mut self) -> EndpointKey {
        let key = self.next_endpoint_key;
        self.next_endpoint_key += 1;
        key
    }

    pub async fn bind(&mut self, endpoint: impl ToEndpoint) -> Result<Endpoint> {
        let requested = endpoint.to_endpoint()?;
        if let Endpoint::Inproc(name) = &requested {
            let params = self.params()?;
            let key = self.new_key();
            let (shutdown_tx, shutdown_rx) = flume::bounded(1);
            self.ctx.inproc().bind(name, &params, key, shutdown_rx)?;
            self.push_endpoint(
                key,
                EndpointKind::Bound,
                requested.clone(),
                requested.clone(),
                shutdown_tx,
            );
            return Ok(requested);
        }
        let transport = self.transport_for(&requested)?;
        let params = self.params()?;
        let listener = transport.bind(&requested).await?;
        let actual = listener.local_endpoint();
        let key = self.new_key();
        let (shutdown_tx, shutdown_rx) = flume::bounded(1);
        self.shared.emit(|| SocketEvent::Listening {
            endpoint: actual.clone(),
        });
        let runtime = params.runtime.clone();
        runtime.spawn(Box::pin(accept_loop(
            listener,
            params,
            key,
            actual.clone(),
            shutdown_rx,
        )));
        self.push_endpoint(
            key,
            EndpointKind::Bound,
            requested,
            actual.clone(),
            shutdown_tx,
        );
        Ok(actual)
    }

    pub async fn connect(&mut self, endpoint: impl ToEndpoint) -> Result<()> {
        let requested = endpoint.to_endpoint()?;
        let transport = match &requested {
            Endpoint::Inproc(_) => None,
            _ if requested.is_wildcard() => {
                return Err(Error::InvalidState("cannot connect to a wildcard port"));
            }
            _ => Some(self.transport_for(&requested)?),
        };
        // The peer's queue exists from now on, as libzmq's pipe does: messages wait in it
        // until the connection is up.
        let params = self.params()?;
        let key = self.new_key();
        let id = self.shared.next_peer_id();
        let (tx, outbound) = params.peer_queue();
        self.shared.add_detached(id, key, tx);
        let (shutdown_tx, shutdown) = flume::bounded(1);
        match (transport, &requested) {
            (None, Endpoint::Inproc(name)) => {
                let connector = Connector {
                    params: params.weak(),
                    peer: id,
                    origin: key,
                    outbound,
                    shutdown,
                };
                self.ctx.inproc().connect(name, connector);
            }
            (Some(transport), _) => {
                let runtime = params.runtime.clone();
                let task =
                    connect_loop(transport, params, id, requested.clone(), outbound, shutdown);
                runtime.spawn(Box::pin(task));
            }
            (None, _) => unreachable!("only inproc has no transport"),
        }
        self.push_endpoint(
            key,
            EndpointKind::Connected,
            requested.clone(),
            requested,
            shutdown_tx,
        );
        Ok(())
    }

    fn push_endpoint(
        &mut self,
        key: EndpointKey,
        kind: EndpointKind,
        requested: Endpoint,
        actual: Endpoint,
        shutdown: flume::Sender<()>,
    ) {
        self.endpoints.push(EndpointEntry {
            key,
            kind,
            requested,
            actual,
            _shutdown: shutdown,
        });
    }

    fn remove_endpoint(&mut self, endpoint: impl ToEndpoint, bound: bool) -> Result<()> {
        let endpoint = endpoint.to_endpoint()?;
        let position = self.endpoints.iter().position(|e| {
            matches!(e.kind, EndpointKind::Bound) == bound
                && (e.actual == endpoint || e.requested == endpoint)
        });
        let entry = position
            .map(|i| self.endpoints.remove(i))
            .ok_or_else(|| Error::UnknownEndpoint(endpoint.to_string()))?;
        self.shared.remove_origin(entry.key);
        self.refresh_peers();
        Ok(())
    }

    pub fn unbind(&mut self, endpoint: impl ToEndpoint) -> Result<()> {
        self.remove_endpoint(endpoint, true)
    }

    pub fn disconnect(&mut self, endpoint: impl ToEndpoint) -> Result<()> {
        self.remove_endpoint(endpoint, false)
    }

    /// Stops every endpoint and lets go of every peer queue, then waits for the connections to
    /// write what was queued, for at most LINGER.
    pub async fn close(mut self) {
        self.shut_down();
        let limit = self.options.linger.map(|l| l + CLOSE_GRACE);
        let runtime = self.ctx.runtime().clone();
        let alive = self.alive_rx.clone();
        drop(self);
        // Completes with Err(Disconnected) once every task has dropped its `alive` sender.
        let _ = timeout(&*runtime, limit, alive.recv_async()).await;
    }

    fn shut_down(&mut self) {
        self.endpoints.clear();
        self.shared.remove_all();
        self.out = OutPeers::default();
        self.alive_tx = None;
    }

    // ----- sending: round-robin over peers with room (PUSH, DEALER, REQ, PAIR) -----

    fn refresh_peers(&mut self) {
        let generation = self.shared.generation();
        if generation == self.out.seen_generation {
            return;
        }
        self.out.seen_generation = generation;
        let mut senders = self.shared.senders();
        if self.options.immediate {
            // IMMEDIATE: endpoints still connecting get nothing queued.
            senders.retain(|(_, _, attached)| *attached);
        }
        let out = &mut self.out;
        out.connected = (senders.iter())
            .filter(|(_, _, attached)| *attached)
            .map(|(id, _, _)| *id)
            .collect();
        let mut by_peer: HashMap<PeerId, PeerTx> =
            (senders.into_iter()).map(|(id, tx, _)| (id, tx)).collect();
        let gone: Vec<PeerId> = (out.balancer.peers().iter())
            .filter(|p| !by_peer.contains_key(*p))
            .copied()
            .collect();
        for peer in gone {
            out.balancer.remove(peer);
        }
        // Newcomers join the rotation in the order they joined the table.
        for (peer, _, _) in self.shared.senders() {
            if by_peer.contains_key(&peer) {
                out.balancer.add(peer);
            }
        }
        // The queues sit in rotation order, so a pick needs no lookup.
        out.queues = (out.balancer.peers().iter())
            .filter_map(|peer| by_peer.remove(peer).map(|tx| (*peer, tx)))
            .collect();
        out.index = (out.queues.iter().enumerate())
            .map(|(i, (id, _))| (*id, i))
            .collect();
        if self.shared.socket_type == SocketType::Router {
            out.routes = self.shared.routes().into_iter().collect();
        }
    }

    /// Queues the message for the next peer (round-robin) whose queue has room; gives it back
    /// when every queue is full (or there is no peer). Only this socket sends on the queues, so
    /// a queue that is not full takes the message.
    fn try_send_round_robin(&mut self, msg: Message) -> Result<PeerId, Message> {
        self.refresh_peers();
        let out = &mut self.out;
        let queues = &out.queues;
        let mut item = Some(Outbound::Message(msg));
        let picked = out.balancer.next_ready_position(|i| {
            let tx = &queues[i].1;
            if tx.is_full() {
                return false;
            }
            let Some(outbound) = item.take() else {
                return false;
            };
            match tx.offer(outbound) {
                Ok(()) => true,
                // A peer whose connection is going away: try the next one.
                Err(queue::TrySendError::Full(back) | queue::TrySendError::Disconnected(back)) => {
                    item = Some(back);
                    false
                }
            }
        });
        match (picked, item) {
            (Some(i), _) => Ok(queues[i].0),
            (None, Some(Outbound::Message(msg))) => Err(msg),
            (None, _) => unreachable!("the message is given back when no peer took it"),
        }
    }

    /// Ready when a peer joined or left, or some queue has room.
    fn poll_room(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        self.shared.sender_waker.register(cx.waker());
        if self.shared.generation() != self.out.seen_generation
            || self.out.queues.iter().any(|(_, tx)| !tx.is_full())
        {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Queues `msg` for the next peer with room without waiting; returns the peer.
    pub fn try_send(&mut self, msg: Message) -> Result<PeerId, TrySendError> {
        if msg.is_empty() {
            return Err(TrySendError {
                error: Error::EmptyMessage,
                message: msg,
            });
        }
        self.try_send_round_robin(msg)
            .map_err(|message| TrySendError {
                error: Error::WouldBlock,
                message,
            })
    }

    /// Sends to the next peer with room, waiting (up to SNDTIMEO) while there is none.
    /// Never drops the message. Returns the peer it went to.
    pub async fn send(&mut self, msg: Message) -> Result<PeerId> {
        if msg.is_empty() {
            return Err(Error::EmptyMessage);
        }
        match self.try_send_round_robin(msg) {
            Ok(peer) => Ok(peer),
            // Waiting is the rare case: its state lives on the heap, so that the future of
            // every `send` stays small (it is moved on each call).
            Err(msg) => Box::pin(self.send_waiting(msg)).await,
        }
    }

    async fn send_waiting(&mut self, mut msg: Message) -> Result<PeerId> {
        let sndtimeo = self.options.sndtimeo;
        if sndtimeo == Some(Duration::ZERO) {
            return Err(Error::WouldBlock);
        }
        let runtime = self.ctx.runtime().clone();
        let wait = async {
            loop {
                std::future::poll_fn(|cx| self.poll_room(cx)).await;
                match self.try_send_round_robin(msg) {
                    Ok(peer) => return peer,
                    Err(m) => msg = m,
                }
            }
        };
        timeout(&*runtime, sndtimeo, wait)
            .await
            .ok_or(Error::Timeout)
    }

    /// Queues `msg` for one peer without waiting: [`Error::WouldBlock`] when it is at SNDHWM,
    /// [`Error::HostUnreachable`] when it is gone.
    pub fn try_send_to(&mut self, peer: PeerId, msg: Message) -> Result<(), TrySendError> {
        self.refresh_peers();
        let Some(&index) = self.out.index.get(&peer) else {
            return Err(TrySendError {
                error: Error::HostUnreachable,
                message: msg,
            });
        };
        let (error, item) = match self.out.queues[index].1.offer(Outbound::Message(msg)) {
            Ok(()) => return Ok(()),
            Err(queue::TrySendError::Full(item)) => (Error::WouldBlock, item),
            Err(queue::TrySendError::Disconnected(item)) => (Error::HostUnreachable, item),
        };
        let Outbound::Message(message) = item else {
            unreachable!("a message went in");
        };
        Err(TrySendError { error, message })
    }

    /// ROUTER: the peer holding `routing_id`, if it is connected.
    pub fn route(&mut self, routing_id: &[u8]) -> Option<PeerId> {
        self.refresh_peers();
        self.out.routes.get(routing_id).copied()
    }

    /// Ready when a peer joined or left, or `peer`'s queue has room.
    fn poll_room_for(&mut self, peer: PeerId, cx: &mut std::task::Context<'_>) -> Poll<()> {
        self.shared.sender_waker.register(cx.waker());
        let room = (self.out.index.get(&peer)).is_some_and(|&i| !self.out.queues[i].1.is_full());
        if room || self.shared.generation() != self.out.seen_generation {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Sends to one peer, waiting (up to SNDTIMEO) while it is at SNDHWM (ROUTER_MANDATORY).
    pub async fn send_to(&mut self, peer: PeerId, msg: Message) -> Result<()> {
        match self.try_send_to(peer, msg) {
            Ok(()) => Ok(()),
            Err(TrySendError {
                error: Error::WouldBlock,
                message,
            }) => Box::pin(self.send_to_waiting(peer, message)).await,
            Err(e) => Err(e.error),
        }
    }

    async fn send_to_waiting(&mut self, peer: PeerId, mut msg: Message) -> Result<()> {
        let sndtimeo = self.options.sndtimeo;
        if sndtimeo == Some(Duration::ZERO) {
            return Err(Error::WouldBlock);
        }
        let runtime = self.ctx.runtime().clone();
        let wait = async {
            loop {
                std::future::poll_fn(|cx| self.poll_room_for(peer, cx)).await;
                match self.try_send_to(peer, msg) {
                    Ok(()) => return Ok(()),
                    Err(TrySendError {
                        error: Error::WouldBlock,
                        message,
                    }) => msg = message,
                    Err(e) => return Err(e.error),
                }
            }
        };
        timeout(&*runtime, sndtimeo, wait)
            .await
            .unwrap_or(Err(Error::Timeout))
    }

    /// Offers an item to every connected peer (XSUB messages). A peer at SNDHWM misses it, as
    /// with libzmq.
    pub fn send_to_all(&mut self, item: &Outbound) {
        self.refresh_peers();
        let connected = std::mem::take(&mut self.out.connected);
        self.send_to_peers(&connected, item);
        self.out.connected = connected;
    }

    /// Offers an item to each of `peers` (a peer at SNDHWM misses it).
    pub fn send_to_peers(&mut self, peers: &[PeerId], item: &Outbound) {
        self.refresh_peers();
        for peer in peers {
            if let Some(&index) = self.out.index.get(peer) {
                let _ = self.out.queues[index].1.offer(item.clone());
            }
        }
    }

    /// SUB/XSUB: records the new subscription list and sends `change` to the peers connected
    /// now; peers connecting later get the whole list instead.
    pub fn change_subscriptions(&mut self, topics: Vec<Bytes>, change: &Outbound) {
        let connected = self.shared.set_subscriptions(topics);
        self.send_to_peers(&connected, change);
    }

    /// The peers connected now.
    pub fn connected_peers(&mut self) -> &[PeerId] {
        self.refresh_peers();
        &self.out.connected
    }

    /// Offers a message to each of `peers` that has room; the others miss it (PUB, XPUB).
    pub fn send_to_each(&mut self, peers: impl IntoIterator<Item = PeerId>, msg: &Message) {
        self.refresh_peers();
        for peer in peers {
            if let Some(&index) = self.out.index.get(&peer) {
                let _ = self.out.queues[index]
                    .1
                    .offer(Outbound::Message(msg.clone()));
            }
        }
    }

    // ----- receiving: one fair queue fed by every connection -----

    /// The next event: from the batch taken earlier, else from a new batch off the queue.
    fn next_inbound(&mut self) -> Option<Inbound> {
        if let Some(inbound) = self.received.pop_front() {
            return Some(inbound);
        }
        // CONFLATE: one at a time, so that nothing stale waits outside the queue.
        let max = if self.options.conflate { 1 } else { RECV_BATCH };
        self.inbound();
        let (_, rx) = self.inbound.as_ref()?;
        rx.drain_into(&mut self.received, max);
        self.received.pop_front()
    }

    pub fn try_recv_inbound(&mut self) -> Result<Inbound> {
        // The socket holds a sender itself: the queue never reports disconnection.
        self.next_inbound().ok_or(Error::WouldBlock)
    }

    /// Takes waiting events until `accept` takes one (others are dropped); never waits.
    pub fn try_recv_filtered<T>(
        &mut self,
        mut accept: impl FnMut(Inbound) -> Option<T>,
    ) -> Result<T> {
        loop {
            if let Some(t) = accept(self.try_recv_inbound()?) {
                return Ok(t);
            }
        }
    }

    pub fn try_recv(&mut self) -> Result<Message> {
        loop {
            if let InEvent::Message(msg) = self.try_recv_inbound()?.event {
                return Ok(msg);
            }
        }
    }

    /// Polls for the next event any peer sent (also the proxy's way in: nothing is held across
    /// polls, so polling several sockets in turn loses nothing). Connections wake the registered
    /// task when they add to an empty queue.
    pub fn poll_recv_inbound(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<Inbound>> {
        if let Some(inbound) = self.next_inbound() {
            return Poll::Ready(Ok(inbound));
        }
        let max = if self.options.conflate { 1 } else { RECV_BATCH };
        let Some((_, rx)) = self.inbound.as_ref() else {
            return Poll::Ready(Err(Error::Closed));
        };
        match rx.poll_drain(cx, &mut self.received, max) {
            Poll::Ready(Some(_)) => match self.received.pop_front() {
                Some(inbound) => Poll::Ready(Ok(inbound)),
                None => Poll::Pending,
            },
            Poll::Ready(None) => Poll::Ready(Err(Error::Closed)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Polls for the next message (skipping other events).
    pub fn poll_recv_message(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<Message>> {
        loop {
            match self.poll_recv_inbound(cx) {
                Poll::Ready(Ok(inbound)) => {
                    if let InEvent::Message(msg) = inbound.event {
                        return Poll::Ready(Ok(msg));
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Receives the next message any peer sent, waiting up to RCVTIMEO.
    pub async fn recv_inbound(&mut self) -> Result<Inbound> {
        self.recv_filtered(Some).await
    }

    pub async fn recv(&mut self) -> Result<Message> {
        self.recv_filtered(|inbound| match inbound.event {
            InEvent::Message(msg) => Some(msg),
            _ => None,
        })
        .await
    }

    /// Receives until `accept` takes a message (others are dropped), all within one RCVTIMEO.
    pub async fn recv_filtered<T>(
        &mut self,
        mut accept: impl FnMut(Inbound) -> Option<T>,
    ) -> Result<T> {
        while let Some(inbound) = self.next_inbound() {
            if let Some(t) = accept(inbound) {
                return Ok(t);
            }
        }
        let rcvtimeo = self.options.rcvtimeo;
        if rcvtimeo == Some(Duration::ZERO) {
            return Err(Error::WouldBlock);
        }
        let runtime = rcvtimeo.map(|_| self.ctx.runtime().clone());
        let wait = async {
            loop {
                let inbound = std::future::poll_fn(|cx| self.poll_recv_inbound(cx)).await?;
                if let Some(t) = accept(inbound) {
                    return Ok(t);
                }
            }
        };
        match runtime {
            None => wait.await,
            Some(runtime) => {
                // The timer's state lives on the heap: the future of every `recv` stays small.
                Box::pin(timeout(&*runtime, rcvtimeo, wait))
                    .await
                    .unwrap_or(Err(Error::Timeout))
            }
        }
    }
}

impl Drop for SocketCore {
    /// A socket dropped without `close` behaves the same, without waiting: connections keep
    /// writing what was queued, for at most LINGER, in the background.
    fn drop(&mut self) {
        self.shut_down();
    }
}
