//! The sockets. Each type is a thin, typed face over [`core::SocketCore`], which owns endpoints,
//! connections and queues; the type decides only how messages are spread and gathered.

mod core;
pub(crate) mod shared;
mod tasks;

use crate::context::Context;
use crate::monitor::SocketEvent;
use monocoque_core::endpoint::ToEndpoint;
use monocoque_core::{
    Endpoint, Message, Result, SocketOption, SocketOptions, SocketType, TrySendError,
};

/// Methods every socket type has: construction, options, endpoints, monitoring, close.
macro_rules! socket_common {
    ($name:ident, $kind:expr, sends: $sends:expr, receives: $receives:expr) => {
        impl $name {
            /// A new socket on `ctx`'s runtime and transports, with default options.
            #[must_use]
            pub fn new(ctx: &Context) -> Self {
                Self {
                    core: core::SocketCore::new(ctx, $kind, $sends, $receives),
                }
            }

            /// The socket type.
            #[must_use]
            pub fn socket_type(&self) -> SocketType {
                self.core.socket_type()
            }

            /// The current options.
            #[must_use]
            pub fn options(&self) -> &SocketOptions {
                self.core.options()
            }

            /// Sets an option; it applies to endpoints bound or connected afterwards (HWMs,
            /// reconnect, handshake) or at once (timeouts), as in libzmq.
            pub fn set_option(&mut self, option: SocketOption) -> Result<()> {
                self.core.set_option(option)
            }

            /// Listens on `endpoint` (`tcp://127.0.0.1:*` picks a port) and returns the endpoint
            /// actually bound. One socket may bind and connect many endpoints of any transport.
            pub async fn bind(&mut self, endpoint: impl ToEndpoint) -> Result<Endpoint> {
                self.core.bind(endpoint).await
            }

            /// Connects to `endpoint` in the background and returns at once. The connection is
            /// retried every RECONNECT_IVL (backing off to RECONNECT_IVL_MAX) until it is made,
            /// and remade after any failure.
            pub async fn connect(&mut self, endpoint: impl ToEndpoint) -> Result<()> {
                self.core.connect(endpoint).await
            }

            /// Stops listening on a bound endpoint (written as bound or as requested) and closes
            /// the connections accepted through it.
            pub fn unbind(&mut self, endpoint: impl ToEndpoint) -> Result<()> {
                self.core.unbind(endpoint)
            }

            /// Stops connecting to `endpoint` and closes its connection; messages queued for it
            /// are written for at most LINGER.
            pub fn disconnect(&mut self, endpoint: impl ToEndpoint) -> Result<()> {
                self.core.disconnect(endpoint)
            }

            /// Starts reporting [`SocketEvent`]s on the returned channel (replacing any earlier
            /// monitor). Events are dropped while the channel is full.
            pub fn monitor(&mut self) -> flume::Receiver<SocketEvent> {
                self.core.monitor()
            }

            /// Closes the socket: stops all endpoints and waits until queued messages have been
            /// written, for at most LINGER (forever by default, as in libzmq). Dropping the socket
            /// does the same in the background.
            pub async fn close(self) {
                self.core.close().await
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

/// Sending methods for socket types that round-robin over their peers and never drop.
macro_rules! socket_send {
    ($name:ident) => {
        impl $name {
            /// Sends a message to the next peer with room, waiting while every peer is at SNDHWM
            /// or there is no peer yet (up to SNDTIMEO). Never drops the message.
            pub async fn send(&mut self, msg: impl Into<Message>) -> Result<()> {
                self.core.send(msg.into()).await
            }

            /// Queues a message without waiting; when no peer has room, fails with
            /// [`Error::WouldBlock`](monocoque_core::Error::WouldBlock) and hands the message back.
            pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), TrySendError> {
                self.core.try_send(msg.into())
            }
        }
    };
}

/// Receiving methods for fair-queued socket types.
macro_rules! socket_recv {
    ($name:ident) => {
        impl $name {
            /// Receives the next message from any peer (fair-queued), waiting up to RCVTIMEO.
            pub async fn recv(&mut self) -> Result<Message> {
                self.core.recv().await
            }

            /// Receives a message if one is waiting, else fails with
            /// [`Error::WouldBlock`](monocoque_core::Error::WouldBlock).
            pub fn try_recv(&mut self) -> Result<Message> {
                self.core.try_recv()
            }
        }
    };
}

/// A PUSH socket (RFC 30): sends round-robin to its PULL peers; waits, never drops, when every
/// peer is at SNDHWM or none is connected.
pub struct PushSocket {
    core: core::SocketCore,
}
socket_common!(PushSocket, SocketType::Push, sends: true, receives: false);
socket_send!(PushSocket);

/// A PULL socket (RFC 30): receives from all its PUSH peers, fair-queued.
pub struct PullSocket {
    core: core::SocketCore,
}
socket_common!(PullSocket, SocketType::Pull, sends: false, receives: true);
socket_recv!(PullSocket);

/// A PAIR socket (RFC 31): one exclusive peer, both directions; waits, never drops.
/// A second peer connecting to a bound PAIR is refused.
pub struct PairSocket {
    core: core::SocketCore,
}
socket_common!(PairSocket, SocketType::Pair, sends: true, receives: true);
socket_send!(PairSocket);
socket_recv!(PairSocket);
