//! Sans-I/O routing core: the data structures a socket uses to decide where each message goes.
//!
//! Nothing here does I/O, awaits, spawns or locks. Each structure is plain data owned by the
//! socket's task and called inline on the message path, so routing costs no channel hop per
//! message: peers joining and leaving update the structures (control plane), and each message
//! consults them (data plane) on the task that holds the per-peer queues. Peers are named by a
//! key `P: Copy + Eq + Hash` (sockets use `u64` peer ids).
//!
//! | Piece | Used by |
//! |---|---|
//! | [`LoadBalancer`]: round-robin over peers whose outbound queue has room | DEALER, PUSH, REQ (send) |
//! | [`RouterTable`]: routing id <-> peer, generated ids, ROUTER_HANDOVER | ROUTER (and REP, which routes replies back to the requester) |
//! | [`PublisherTrie`]: topic -> subscribed peers, each matching peer once | PUB, XPUB (send), XPUB's first-subscribe / last-cancel notifications |
//! | [`SubscriberTrie`]: reference-counted local subscriptions | SUB, XSUB (local filtering, CANCEL on last unsubscribe, re-sending on reconnect) |
//! | [`envelope`]: REP envelope split/join | REP |
//!
//! PAIR needs none of them (one peer). The socket still owns the policy: what "ready" means
//! (queue not full for DEALER/PUSH/REQ; never blocking and dropping on a full queue for
//! ROUTER/PUB), what to do with a refused duplicate routing id, and when to forward
//! subscriptions. Every structure here tolerates any input from peers without panicking, and the
//! subscription tries bound what a peer can make them store ([`TrieLimits`]).

pub mod envelope;
mod load_balancer;
mod radix;
mod router_table;
mod subscriptions;

pub use envelope::{join_envelope, split_envelope};
pub use load_balancer::LoadBalancer;
pub use router_table::{
    DuplicateId, GENERATED_ID_LEN, InvalidRoutingId, MAX_ROUTING_ID_LEN, RouterTable,
    validate_routing_id,
};
pub use subscriptions::{
    DEFAULT_MAX_TOPIC_LEN, DEFAULT_MAX_TOPICS, PublisherTrie, SubscriberTrie, SubscriptionRefused,
    TrieLimits,
};
