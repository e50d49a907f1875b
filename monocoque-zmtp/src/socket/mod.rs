//! The sockets. Each type is a thin, typed face over [`core::SocketCore`], which owns endpoints,
//! connections and queues; the type decides only how messages are spread and gathered.

mod core;
pub(crate) mod inproc;
pub(crate) mod queue;
pub(crate) mod shared;
mod tasks;

/// Methods every socket type has: construction, options, endpoints, monitoring, close.
macro_rules! socket_common {
    ($name:ident, $kind:expr, sends: $sends:expr, receives: $receives:expr $(, $field:ident: $value:expr)*) => {
        impl $name {
            /// A new socket on `ctx`'s runtime and transports, with default options.
            #[must_use]
            pub fn new(ctx: &$crate::Context) -> Self {
                Self {
                    core: super::core::SocketCore::new(ctx, $kind, $sends, $receives),
                    $($field: $value,)*
                }
            }

            /// The socket type.
            #[must_use]
            pub fn socket_type(&self) -> monocoque_core::SocketType {
                self.core.socket_type()
            }

            /// The current options.
            #[must_use]
            pub fn options(&self) -> &monocoque_core::SocketOptions {
                self.core.options()
            }

            /// Sets an option; it applies to endpoints bound or connected afterwards (HWMs,
            /// reconnect, handshake) or at once (timeouts), as in libzmq.
            pub fn set_option(&mut self, option: monocoque_core::SocketOption) -> monocoque_core::Result<()> {
                self.core.set_option(option)
            }

            /// Listens on `endpoint` (`tcp://127.0.0.1:*` picks a port) and returns the endpoint
            /// actually bound. One socket may bind and connect many endpoints of any transport.
            pub async fn bind(&mut self, endpoint: impl monocoque_core::endpoint::ToEndpoint) -> monocoque_core::Result<monocoque_core::Endpoint> {
                self.core.bind(endpoint).await
            }

            /// Connects to `endpoint` in the background and returns at once. The connection is
            /// retried every RECONNECT_IVL (backing off to RECONNECT_IVL_MAX) until it is made,
            /// and remade after any failure.
            pub async fn connect(&mut self, endpoint: impl monocoque_core::endpoint::ToEndpoint) -> monocoque_core::Result<()> {
                self.core.connect(endpoint).await
            }

            /// Stops listening on a bound endpoint (written as bound or as requested) and closes
            /// the connections accepted through it.
            pub fn unbind(&mut self, endpoint: impl monocoque_core::endpoint::ToEndpoint) -> monocoque_core::Result<()> {
                self.core.unbind(endpoint)
            }

            /// Stops connecting to `endpoint` and closes its connection; messages queued for it
            /// are written for at most LINGER.
            pub fn disconnect(&mut self, endpoint: impl monocoque_core::endpoint::ToEndpoint) -> monocoque_core::Result<()> {
                self.core.disconnect(endpoint)
            }

            /// Starts reporting [`SocketEvent`]s on the returned channel (replacing any earlier
            /// monitor). Events are dropped while the channel is full.
            pub fn monitor(&mut self) -> flume::Receiver<$crate::SocketEvent> {
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
            pub async fn send(
                &mut self,
                msg: impl Into<monocoque_core::Message>,
            ) -> monocoque_core::Result<()> {
                self.core.send(msg.into()).await.map(|_| ())
            }

            /// Queues a message without waiting; when no peer has room, fails with
            /// [`Error::WouldBlock`](monocoque_core::Error::WouldBlock) and hands the message back.
            pub fn try_send(
                &mut self,
                msg: impl Into<monocoque_core::Message>,
            ) -> monocoque_core::Result<(), monocoque_core::TrySendError> {
                self.core.try_send(msg.into()).map(|_| ())
            }
        }
    };
}

/// Receiving methods for fair-queued socket types.
macro_rules! socket_recv {
    ($name:ident) => {
        impl $name {
            /// Receives the next message from any peer (fair-queued), waiting up to RCVTIMEO.
            pub async fn recv(&mut self) -> monocoque_core::Result<monocoque_core::Message> {
                self.core.recv().await
            }

            /// Receives a message if one is waiting, else fails with
            /// [`Error::WouldBlock`](monocoque_core::Error::WouldBlock).
            pub fn try_recv(&mut self) -> monocoque_core::Result<monocoque_core::Message> {
                self.core.try_recv()
            }
        }
    };
}

/// [`ProxySocket`](crate::ProxySocket) for socket types that receive plain messages through
/// `core` (or receive nothing) and send with their own `send` (or cannot send).
macro_rules! proxy_socket {
    ($name:ident, recv: $recv:tt, send: $send:tt) => {
        impl $crate::ProxySocket for $name {
            fn poll_recv(
                &mut self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<monocoque_core::Result<monocoque_core::Message>> {
                proxy_socket!(@recv $recv, self, cx)
            }

            async fn send_message(
                &mut self,
                msg: monocoque_core::Message,
            ) -> monocoque_core::Result<()> {
                proxy_socket!(@send $send, self, msg)
            }
        }
    };
    (@recv true, $self:ident, $cx:ident) => { $self.core.poll_recv_message($cx) };
    (@recv false, $self:ident, $cx:ident) => {{
        let _ = $cx;
        std::task::Poll::Pending
    }};
    (@send true, $self:ident, $msg:ident) => { $self.send($msg).await };
    (@send false, $self:ident, $msg:ident) => {{
        drop($msg);
        Err(monocoque_core::Error::NotSupported("this socket type does not send"))
    }};
}

mod dealer;
mod pair;
mod pipeline;
mod proxy;
mod publish;
mod rep;
mod req;
mod router;
mod subscribe;

pub use dealer::DealerSocket;
pub use pair::PairSocket;
pub use pipeline::{PullSocket, PushSocket};
pub use proxy::{
    ProxyCommand, ProxySocket, ProxyStatistics, proxy, proxy_steerable, proxy_with_capture,
};
pub use publish::{PubSocket, XPubSocket};
pub use rep::RepSocket;
pub use req::ReqSocket;
pub use router::RouterSocket;
pub use subscribe::{SubSocket, XSubSocket};
