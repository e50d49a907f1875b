//! PUSH and PULL (RFC 30).

use monocoque_core::SocketType;

/// A PUSH socket (RFC 30): sends round-robin to its PULL peers; waits, never drops, when every
/// peer is at SNDHWM or none is connected.
pub struct PushSocket {
    core: super::core::SocketCore,
}
socket_common!(PushSocket, SocketType::Push, sends: true, receives: false);
socket_send!(PushSocket);
proxy_socket!(PushSocket, recv: false, send: true);

/// A PULL socket (RFC 30): receives from all its PUSH peers, fair-queued.
pub struct PullSocket {
    core: super::core::SocketCore,
}
socket_common!(PullSocket, SocketType::Pull, sends: false, receives: true);
socket_recv!(PullSocket);
proxy_socket!(PullSocket, recv: true, send: false);
