//! PUSH and PULL (RFC 30).

use super::fair_queue::FairQueued;
use super::round_robin::RoundRobin;
use super::{Kind, sealed};
use monocoque_core::SocketType;

/// PUSH (RFC 30): sends round-robin to its PULL peers; waits, never drops, when every peer is
/// at SNDHWM or none is connected. Sends through [`RoundRobin`]'s methods: `send`, `try_send`
/// and `Sink`.
#[derive(Debug, Default)]
pub struct Push;

impl sealed::Sealed for Push {}
impl Kind for Push {
    const TYPE: SocketType = SocketType::Push;
}
impl RoundRobin for Push {}

/// PULL (RFC 30): receives from all its PUSH peers, through [`FairQueued`]'s methods: `recv`,
/// `try_recv` and `Stream`.
#[derive(Debug, Default)]
pub struct Pull;

impl sealed::Sealed for Pull {}
impl Kind for Pull {
    const TYPE: SocketType = SocketType::Pull;
}
impl FairQueued for Pull {}
