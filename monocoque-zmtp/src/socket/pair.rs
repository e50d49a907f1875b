//! PAIR (RFC 31).

use monocoque_core::SocketType;

/// A PAIR socket (RFC 31): one exclusive peer, both directions; waits, never drops.
/// A second peer connecting to a bound PAIR is refused.
pub struct PairSocket {
    core: super::core::SocketCore,
}
socket_common!(PairSocket, SocketType::Pair, sends: true, receives: true);
socket_send!(PairSocket);
socket_recv!(PairSocket);
proxy_socket!(PairSocket, recv: true, send: true);
