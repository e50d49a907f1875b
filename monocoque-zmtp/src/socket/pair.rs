//! PAIR (RFC 31).

use super::fair_queue::FairQueued;
use super::round_robin::RoundRobin;
use super::split::Splittable;
use super::{Kind, sealed};
use monocoque_core::SocketType;

/// PAIR (RFC 31): one exclusive peer, both directions; waits, never drops. A second peer
/// connecting to a bound PAIR is refused. Sends and receives as a [`RoundRobin`] and
/// [`FairQueued`] socket (of one peer), and can be [split](super::Socket::split).
#[derive(Debug, Default)]
pub struct Pair;

impl sealed::Sealed for Pair {}
impl Kind for Pair {
    const TYPE: SocketType = SocketType::Pair;
}
impl RoundRobin for Pair {}
impl FairQueued for Pair {}
impl Splittable for Pair {}
