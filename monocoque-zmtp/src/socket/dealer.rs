//! DEALER (RFC 28).

use monocoque_core::SocketType;

/// A DEALER socket (RFC 28): sends round-robin to its peers (waits, never drops, when all are at
/// SNDHWM) and receives from all of them, fair-queued, with no envelope handling.
pub struct DealerSocket {
    core: super::core::SocketCore,
}
socket_common!(DealerSocket, SocketType::Dealer, sends: true, receives: true);
socket_send!(DealerSocket);
socket_recv!(DealerSocket);
proxy_socket!(DealerSocket, recv: true, send: true);
