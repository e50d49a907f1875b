//! The link between one connection's engine and its socket: everything the engine knows of the
//! socket layer, and everything the socket layer hands a connection.
//!
//! * [`Outbound`]: what the socket queues for one peer, in that peer's outbound queue, which the
//!   engine drains and writes in batches;
//! * [`Inbound`]: what a connection hands its socket, in the socket's inbound queue, which the
//!   engine fills (one type for everything a peer sends);
//! * [`queue`]: those bounded queues, with one backpressure mechanism ([`queue::Room`]) used in
//!   both directions: the socket waits for room in its peers' outbound queues, an engine waits
//!   for room in the inbound queue (and stops reading meanwhile);
//! * [`Shutdown`]: the one signal that stops a connection.
//!
//! Routing, load balancing, subscriptions and every other socket policy stay above, in
//! `socket/`; the engine below only moves bytes for one peer.

pub(crate) mod queue;
mod shutdown;

pub(crate) use shutdown::{Shutdown, Stop};

use bytes::Bytes;
use monocoque_core::{Message, Metadata};
use std::time::Duration;

/// Names one peer of a socket: one connection, or one connecting endpoint across its
/// reconnects.
pub(crate) type PeerId = u64;

/// What the socket queues for a peer.
#[derive(Debug, Clone)]
pub(crate) enum Outbound {
    /// A message.
    Message(Message),
    /// Subscribe the peer (a publisher) to a topic: SUBSCRIBE, or a 3.0 subscription message.
    Subscribe(Bytes),
    /// Cancel a subscription.
    Cancel(Bytes),
}

/// What a connection hands its socket, tagged with the peer it came from.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A message (for a ROUTER, its routing id frame first).
    Message(PeerId, Message),
    /// The peer (a subscriber) subscribed to a topic.
    Subscribe(PeerId, Bytes),
    /// The peer cancelled a subscription.
    Cancel(PeerId, Bytes),
    /// The peer's connection ended (a publisher drops its subscriptions).
    Left(PeerId),
}

impl Inbound {
    /// The message, if this is one.
    pub fn into_message(self) -> Option<Message> {
        match self {
            Inbound::Message(_, msg) => Some(msg),
            _ => None,
        }
    }
}

/// What a running engine is given: its queues, its shutdown signal, and the little it must know
/// about the socket to fill the inbound queue.
pub(crate) struct Link {
    /// Who this connection is, in the socket's peer table.
    pub peer: PeerId,
    /// Messages to send; `None` when the socket never sends.
    pub outbound: Option<queue::Receiver<Outbound>>,
    /// Where received messages go; `None` when the socket never receives (they are dropped).
    pub inbound: Option<queue::Sender<Inbound>>,
    /// A frame put in front of every received message (a ROUTER's routing id for the peer).
    pub prefix: Option<Bytes>,
    /// Whether the peer's subscriptions are wanted (the socket publishes); otherwise they are
    /// dropped.
    pub subscriptions: bool,
    /// Stops the connection: [`Stop::Close`] writes what is queued first (for at most
    /// `linger`), [`Stop::Abort`] does not.
    pub shutdown: Shutdown,
    /// ZMQ_LINGER: how long to keep writing after a close (`None`: until done).
    pub linger: Option<Duration>,
    /// The connection's properties, attached to every received message (`zmq_msg_gets`).
    pub metadata: Option<Metadata>,
}
