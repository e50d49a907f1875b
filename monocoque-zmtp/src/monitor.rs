//! Socket events: what happened to each endpoint and connection, for logs, tests and monitoring.
//!
//! [`Monitor`] is the receiving end a socket's `monitor()` returns: an owned, bounded stream of
//! [`SocketEvent`]s. It never holds the socket up (a monitor nobody reads fills up and then
//! misses events) and it is never silently lossy: the events it had to miss are reported, in
//! their place, as one [`SocketEvent::Missed`] with their count.

use crate::error::{ConnectionError, HandshakeFailure};
use futures::Stream;
use futures::task::AtomicWaker;
use monocoque_core::{Endpoint, SocketType};
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// How many events a monitor holds unread before it starts counting missed ones.
pub const MONITOR_CAPACITY: usize = 1024;

/// One event of a socket's life, as `zmq_socket_monitor` reports them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SocketEvent {
    /// A bind succeeded (ZMQ_EVENT_LISTENING).
    Listening {
        /// The bound endpoint.
        endpoint: Endpoint,
    },
    /// A connection was accepted on a bound endpoint (ZMQ_EVENT_ACCEPTED).
    Accepted {
        /// The bound endpoint.
        endpoint: Endpoint,
        /// The peer's address.
        peer_addr: String,
    },
    /// An outgoing connection was established (ZMQ_EVENT_CONNECTED).
    Connected {
        /// The endpoint connected to.
        endpoint: Endpoint,
        /// The peer's address.
        peer_addr: String,
    },
    /// A connect attempt did not complete at once: it is in progress
    /// (ZMQ_EVENT_CONNECT_DELAYED).
    ConnectDelayed {
        /// The endpoint.
        endpoint: Endpoint,
    },
    /// A bind failed (ZMQ_EVENT_BIND_FAILED); `bind` returned the error too.
    BindFailed {
        /// The endpoint asked for.
        endpoint: Endpoint,
        /// Why.
        error: Arc<io::Error>,
    },
    /// Accepting a connection failed (ZMQ_EVENT_ACCEPT_FAILED), e.g. out of file descriptors;
    /// the listener goes on after a short pause.
    AcceptFailed {
        /// The bound endpoint.
        endpoint: Endpoint,
        /// Why.
        error: Arc<io::Error>,
    },
    /// A connect attempt failed; the next one follows after `retry_in`
    /// (ZMQ_EVENT_CONNECT_RETRIED).
    ConnectRetried {
        /// The endpoint.
        endpoint: Endpoint,
        /// Why it failed.
        error: Arc<io::Error>,
        /// The back-off before the next attempt.
        retry_in: Duration,
    },
    /// The ZMTP handshake completed (ZMQ_EVENT_HANDSHAKE_SUCCEEDED).
    HandshakeSucceeded {
        /// The local endpoint (bound or connected).
        endpoint: Endpoint,
        /// The peer's address.
        peer_addr: String,
        /// The peer's socket type.
        peer_type: SocketType,
    },
    /// The handshake failed: the connection was closed (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
    /// _PROTOCOL or _AUTH: [`SocketEvent::handshake_failure`] tells which).
    HandshakeFailed {
        /// The local endpoint (bound or connected).
        endpoint: Endpoint,
        /// The peer's address.
        peer_addr: String,
        /// What went wrong.
        error: ConnectionError,
    },
    /// An established connection ended (ZMQ_EVENT_DISCONNECTED).
    Disconnected {
        /// The local endpoint (bound or connected).
        endpoint: Endpoint,
        /// The peer's address.
        peer_addr: String,
        /// What ended it: `None` when this socket closed it.
        error: Option<ConnectionError>,
    },
    /// A listener stopped (unbind or close), or a connecting endpoint stopped reconnecting
    /// for good (ZMQ_RECONNECT_STOP) (ZMQ_EVENT_CLOSED).
    Closed {
        /// The endpoint that was bound, or connected to.
        endpoint: Endpoint,
    },
    /// A listener stopped, but releasing what it held failed (ZMQ_EVENT_CLOSE_FAILED): for
    /// IPC, its socket file could not be removed (`NotFound`: someone removed it already).
    CloseFailed {
        /// The endpoint that was bound.
        endpoint: Endpoint,
        /// Why.
        error: Arc<io::Error>,
    },
    /// The monitor was full: this many events happened here and were not kept.
    Missed {
        /// How many.
        count: u64,
    },
    /// The monitor stopped (ZMQ_EVENT_MONITOR_STOPPED): the socket closed, or a new monitor
    /// took its place. Always the last event.
    MonitorStopped,
}

/// libzmq's event numbers (`ZMQ_EVENT_*`), as [`SocketEvent::libzmq_event`] gives them and
/// [`Socket::monitor_to`](crate::socket::Socket::monitor_to) filters on.
pub mod events {
    /// ZMQ_EVENT_CONNECTED.
    pub const CONNECTED: u16 = 0x0001;
    /// ZMQ_EVENT_CONNECT_DELAYED.
    pub const CONNECT_DELAYED: u16 = 0x0002;
    /// ZMQ_EVENT_CONNECT_RETRIED.
    pub const CONNECT_RETRIED: u16 = 0x0004;
    /// ZMQ_EVENT_LISTENING.
    pub const LISTENING: u16 = 0x0008;
    /// ZMQ_EVENT_BIND_FAILED.
    pub const BIND_FAILED: u16 = 0x0010;
    /// ZMQ_EVENT_ACCEPTED.
    pub const ACCEPTED: u16 = 0x0020;
    /// ZMQ_EVENT_ACCEPT_FAILED.
    pub const ACCEPT_FAILED: u16 = 0x0040;
    /// ZMQ_EVENT_CLOSED.
    pub const CLOSED: u16 = 0x0080;
    /// ZMQ_EVENT_CLOSE_FAILED.
    pub const CLOSE_FAILED: u16 = 0x0100;
    /// ZMQ_EVENT_DISCONNECTED.
    pub const DISCONNECTED: u16 = 0x0200;
    /// ZMQ_EVENT_MONITOR_STOPPED.
    pub const MONITOR_STOPPED: u16 = 0x0400;
    /// ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL.
    pub const HANDSHAKE_FAILED_NO_DETAIL: u16 = 0x0800;
    /// ZMQ_EVENT_HANDSHAKE_SUCCEEDED.
    pub const HANDSHAKE_SUCCEEDED: u16 = 0x1000;
    /// ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL.
    pub const HANDSHAKE_FAILED_PROTOCOL: u16 = 0x2000;
    /// ZMQ_EVENT_HANDSHAKE_FAILED_AUTH.
    pub const HANDSHAKE_FAILED_AUTH: u16 = 0x4000;
    /// ZMQ_EVENT_ALL.
    pub const ALL: u16 = 0xffff;
}

/// One event as libzmq's monitor socket carries it: the event number, its 32-bit value and
/// the endpoint it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibzmqEvent {
    /// `ZMQ_EVENT_*` (see [`events`]).
    pub event: u16,
    /// The value: an errno for failures, the ZAP status code or `ZMQ_PROTOCOL_ERROR_*` code for
    /// handshake failures, the retry interval in ms for CONNECT_RETRIED; 0 where libzmq gives a
    /// file descriptor (monocoque's transports do not expose one).
    pub value: u32,
    /// The endpoint.
    pub endpoint: String,
}

impl LibzmqEvent {
    /// The two frames of libzmq's monitor message: 16-bit event and 32-bit value in native
    /// byte order (as libzmq writes them), then the endpoint.
    #[must_use]
    pub fn to_message(&self) -> monocoque_core::Message {
        let mut head = Vec::with_capacity(6);
        head.extend_from_slice(&self.event.to_ne_bytes());
        head.extend_from_slice(&self.value.to_ne_bytes());
        monocoque_core::Message::from_frames([head, self.endpoint.clone().into_bytes()])
    }
}

fn errno(error: &io::Error) -> u32 {
    error.raw_os_error().map_or(0, |n| n.unsigned_abs())
}

impl SocketEvent {
    /// This event as libzmq reports it; `None` for [`SocketEvent::Missed`], which libzmq
    /// does not have.
    #[must_use]
    pub fn libzmq_event(&self) -> Option<LibzmqEvent> {
        use events::*;
        let at = |event: u16, value: u32, endpoint: &Endpoint| LibzmqEvent {
            event,
            value,
            endpoint: endpoint.to_string(),
        };
        Some(match self {
            SocketEvent::Listening { endpoint } => at(LISTENING, 0, endpoint),
            SocketEvent::Accepted { endpoint, .. } => at(ACCEPTED, 0, endpoint),
            SocketEvent::Connected { endpoint, .. } => at(CONNECTED, 0, endpoint),
            SocketEvent::ConnectDelayed { endpoint } => at(CONNECT_DELAYED, 115, endpoint), // EINPROGRESS
            SocketEvent::BindFailed { endpoint, error } => at(BIND_FAILED, errno(error), endpoint),
            SocketEvent::AcceptFailed { endpoint, error } => {
                at(ACCEPT_FAILED, errno(error), endpoint)
            }
            SocketEvent::ConnectRetried {
                endpoint, retry_in, ..
            } => at(
                CONNECT_RETRIED,
                u32::try_from(retry_in.as_millis()).unwrap_or(u32::MAX),
                endpoint,
            ),
            SocketEvent::HandshakeSucceeded { endpoint, .. } => {
                at(HANDSHAKE_SUCCEEDED, 0, endpoint)
            }
            SocketEvent::HandshakeFailed {
                endpoint, error, ..
            } => at(
                error.handshake_failure().libzmq_event(),
                error.libzmq_event_value(),
                endpoint,
            ),
            SocketEvent::Disconnected { endpoint, .. } => at(DISCONNECTED, 0, endpoint),
            SocketEvent::Closed { endpoint } => at(CLOSED, 0, endpoint),
            SocketEvent::CloseFailed { endpoint, error } => {
                at(CLOSE_FAILED, errno(error), endpoint)
            }
            SocketEvent::MonitorStopped => LibzmqEvent {
                event: MONITOR_STOPPED,
                value: 0,
                endpoint: String::new(),
            },
            SocketEvent::Missed { .. } => return None,
        })
    }

    /// For a [`SocketEvent::HandshakeFailed`], which of libzmq's three events it is:
    /// authentication refused (with the ZAP status code), a protocol error, or no detail (the
    /// stream failed or the handshake timed out).
    #[must_use]
    pub fn handshake_failure(&self) -> Option<HandshakeFailure> {
        match self {
            SocketEvent::HandshakeFailed { error, .. } => Some(error.handshake_failure()),
            _ => None,
        }
    }
}

/// What the socket side and the monitor share.
#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<Events>,
    waiter: AtomicWaker,
}

#[derive(Debug, Default)]
struct Events {
    events: VecDeque<SocketEvent>,
    /// The monitor was dropped: stop collecting.
    closed: bool,
    /// The socket side is gone: the stream ends once drained.
    ended: bool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Events> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The events of one socket, as returned by its `monitor()`: a [`Stream`] of [`SocketEvent`]s
/// (also readable with [`recv`](Self::recv) and [`try_recv`](Self::try_recv)). It holds up to
/// [`MONITOR_CAPACITY`] unread events; beyond that, events are counted instead of kept and the
/// count arrives as [`SocketEvent::Missed`] where they would have been. The stream ends when the
/// socket (and every connection it had) is gone, or when a newer `monitor()` replaces it.
#[derive(Debug)]
pub struct Monitor {
    shared: Arc<Shared>,
}

impl Monitor {
    /// The next event, waiting for one; `None` once the stream has ended.
    ///
    /// Cancel safety: an event is taken only when this returns it, so a cancelled `recv` loses
    /// nothing.
    pub async fn recv(&mut self) -> Option<SocketEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<SocketEvent> {
        self.shared.lock().events.pop_front()
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<SocketEvent>> {
        let mut queue = self.shared.lock();
        if let Some(event) = queue.events.pop_front() {
            return Poll::Ready(Some(event));
        }
        if queue.ended {
            return Poll::Ready(None);
        }
        self.shared.waiter.register(cx.waker());
        Poll::Pending
    }
}

impl Stream for Monitor {
    type Item = SocketEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SocketEvent>> {
        self.get_mut().poll_event(cx)
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        queue.closed = true;
        queue.events.clear();
    }
}

/// Where a socket and its tasks report events: cheap to clone, and free when no monitor is
/// listening (the event is not even built).
#[derive(Debug, Clone, Default)]
pub(crate) struct Emitter {
    target: Arc<Mutex<Option<Arc<Shared>>>>,
}

impl Emitter {
    /// Starts a new monitor; the one before it, if any, ends.
    pub fn monitor(&self) -> Monitor {
        let shared = Arc::new(Shared::default());
        let old = self.lock().replace(shared.clone());
        if let Some(old) = old {
            end(&old);
        }
        Monitor { shared }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Shared>>> {
        self.target.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reports an event, built only if a monitor is listening.
    pub fn emit(&self, event: impl FnOnce() -> SocketEvent) {
        let target = self.lock();
        let Some(shared) = target.as_ref() else {
            return;
        };
        let mut queue = shared.lock();
        if queue.closed {
            return;
        }
        if queue.events.len() < MONITOR_CAPACITY {
            queue.events.push_back(event());
        } else if let Some(SocketEvent::Missed { count }) = queue.events.back_mut() {
            *count += 1;
        } else {
            // One slot beyond the capacity holds the count of what follows.
            queue.events.push_back(SocketEvent::Missed { count: 1 });
        }
        drop(queue);
        shared.waiter.wake();
    }
}

/// Ends a monitor's stream (once drained), MONITOR_STOPPED last (beyond the capacity if need
/// be: one more event).
fn end(shared: &Shared) {
    let mut queue = shared.lock();
    if !queue.closed && !queue.ended {
        queue.events.push_back(SocketEvent::MonitorStopped);
    }
    queue.ended = true;
    drop(queue);
    shared.waiter.wake();
}

impl Emitter {
    /// The socket and all its tasks are gone: the monitor's stream ends once drained.
    pub fn end(&self) {
        if let Some(shared) = self.lock().take() {
            end(&shared);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn listening(n: u16) -> SocketEvent {
        SocketEvent::Listening {
            endpoint: format!("tcp://127.0.0.1:{n}").parse().unwrap(),
        }
    }

    #[test]
    fn overflow_is_counted_in_place_and_the_stream_ends() {
        let emitter = Emitter::default();
        emitter.emit(|| listening(1)); // nobody listens: not kept
        let mut monitor = emitter.monitor();
        let total = MONITOR_CAPACITY + 10;
        for n in 0..total {
            emitter.emit(|| listening(n as u16));
        }
        for _ in 0..MONITOR_CAPACITY {
            assert!(matches!(
                monitor.try_recv(),
                Some(SocketEvent::Listening { .. })
            ));
        }
        assert!(matches!(
            monitor.try_recv(),
            Some(SocketEvent::Missed { count: 10 })
        ));
        // Room again: events are kept again.
        emitter.emit(|| listening(9));
        assert!(matches!(
            monitor.try_recv(),
            Some(SocketEvent::Listening { .. })
        ));
        assert!(monitor.try_recv().is_none());
        emitter.emit(|| listening(10));
        emitter.end();
        emitter.emit(|| listening(11)); // after the end: not kept
        futures::executor::block_on(async {
            assert!(matches!(
                monitor.next().await,
                Some(SocketEvent::Listening { .. })
            ));
            assert!(matches!(
                monitor.next().await,
                Some(SocketEvent::MonitorStopped)
            ));
            assert!(
                monitor.next().await.is_none(),
                "the stream ends with the socket"
            );
        });
    }

    #[test]
    fn a_new_monitor_replaces_the_old_one() {
        let emitter = Emitter::default();
        let mut first = emitter.monitor();
        let mut second = emitter.monitor();
        emitter.emit(|| listening(1));
        futures::executor::block_on(async {
            assert!(matches!(
                first.recv().await,
                Some(SocketEvent::MonitorStopped)
            ));
            assert!(first.recv().await.is_none());
            assert!(matches!(
                second.recv().await,
                Some(SocketEvent::Listening { .. })
            ));
        });
    }
}
