//! DEALER (RFC 28).

use super::fair_queue::FairQueued;
use super::round_robin::RoundRobin;
use super::split::Splittable;
use super::{Kind, sealed};
use monocoque_core::SocketType;

/// DEALER (RFC 28): sends round-robin to its peers (waits, never drops, when all are at
/// SNDHWM) and receives from all of them, with no envelope handling: [`RoundRobin`]'s `send`,
/// `try_send` and `Sink`, [`FairQueued`]'s `recv`, `try_recv` and `Stream`, and
/// [`split`](super::Socket::split) to do both at once.
#[derive(Debug, Default)]
pub struct Dealer;

impl sealed::Sealed for Dealer {}
impl Kind for Dealer {
    const TYPE: SocketType = SocketType::Dealer;
}
impl RoundRobin for Dealer {}
impl FairQueued for Dealer {}
impl Splittable for Dealer {}
