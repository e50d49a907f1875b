//! Waiting on a socket's monitor: tests wait for the event that says something happened,
//! never for a fixed time.

use super::*;
use monocoque::{Monitor, SocketEvent};

/// Waits (at most [`STEP_TIMEOUT`]) for the first event `pick` accepts, and returns what it
/// extracted.
pub async fn wait_event<T>(
    events: &mut Monitor,
    mut pick: impl FnMut(SocketEvent) -> Option<T>,
) -> T {
    bounded(async {
        loop {
            let event = events.recv().await.expect("the monitor ended");
            if let Some(t) = pick(event) {
                return t;
            }
        }
    })
    .await
}

/// Waits for `n` completed handshakes.
pub async fn wait_handshakes(events: &mut Monitor, n: usize) {
    for _ in 0..n {
        wait_event(events, |e| {
            matches!(e, SocketEvent::HandshakeSucceeded { .. }).then_some(())
        })
        .await;
    }
}

/// Waits for a failed handshake and returns why it failed.
pub async fn wait_handshake_failure(events: &mut Monitor) -> monocoque::ConnectionError {
    wait_event(events, |e| match e {
        SocketEvent::HandshakeFailed { error, .. } => Some(error),
        _ => None,
    })
    .await
}
