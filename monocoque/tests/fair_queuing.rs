//! Inbound fair queuing against libzmq senders: three libzmq PUSH (or DEALER) peers, each with
//! its messages waiting, are read one message from each in turn, as libzmq's own PULL and
//! ROUTER read them (10/10/10 in the first 30, not 30/0/0 for whichever connection came first).
//!
//! Each peer's messages are all sent (the peer said `SENT` for each) before the first
//! `recv`; a short settle then lets them cross loopback into our pipes. The check is positive:
//! a message still on its way can only make it fail, never pass.

mod common;

use common::*;
use monocoque::{Context, Message, PullSocket, RouterSocket};

/// Messages each peer sends.
const EACH: u8 = 30;
/// Peers.
const PEERS: u8 = 3;

/// Starts `PEERS` libzmq peers of `socket_type` connected to `endpoint`, waits for their
/// handshakes on `events`, and has each send `EACH` one-frame messages `[b'A' + k, i]`.
async fn senders(
    socket_type: &str,
    endpoint: &str,
    events: &mut monocoque::Monitor,
) -> Vec<PyPeer> {
    let mut peers = Vec::new();
    for _ in 0..PEERS {
        peers.push(PeerSpec::new(socket_type).connect(endpoint).start().await);
    }
    wait_handshakes(events, PEERS as usize).await;
    for (k, peer) in peers.iter_mut().enumerate() {
        for i in 0..EACH {
            peer.send_msg(&Message::from(vec![b'A' + k as u8, i])).await;
        }
    }
    // Loopback carries them in well under this; late ones fail the test, never pass it.
    sleep_ms(300).await;
    peers
}

/// Checks that `body` (sender tag, sequence) messages came one from each sender in turn, and
/// each sender's in order.
fn check_rotation(bodies: &[[u8; 2]]) {
    let mut next = [0u8; PEERS as usize];
    for (n, round) in bodies.chunks(PEERS as usize).enumerate() {
        let mut tags: Vec<u8> = round.iter().map(|b| b[0]).collect();
        tags.sort_unstable();
        assert_eq!(
            tags,
            [b'A', b'B', b'C'],
            "round {n} was not one from each: {bodies:?}"
        );
        for body in round {
            let k = usize::from(body[0] - b'A');
            assert_eq!(body[1], next[k], "sender {k} out of order: {bodies:?}");
            next[k] += 1;
        }
    }
}

async fn pull_takes_one_message_from_each_libzmq_push_in_turn(ctx: Context) -> TestResult {
    let mut pull = PullSocket::new(&ctx);
    let mut events = pull.monitor();
    let endpoint = pull.bind("tcp://127.0.0.1:*").await?.to_string();
    let peers = senders("PUSH", &endpoint, &mut events).await;
    let mut bodies = Vec::new();
    for _ in 0..u32::from(EACH) * u32::from(PEERS) {
        let msg = bounded(pull.recv()).await?;
        let body = &msg.frames()[0];
        bodies.push([body[0], body[1]]);
    }
    check_rotation(&bodies);
    drop(peers);
    Ok(())
}

async fn router_takes_one_message_from_each_libzmq_dealer_in_turn(ctx: Context) -> TestResult {
    let mut router = RouterSocket::new(&ctx);
    let mut events = router.monitor();
    let endpoint = router.bind("tcp://127.0.0.1:*").await?.to_string();
    let peers = senders("DEALER", &endpoint, &mut events).await;
    let mut bodies = Vec::new();
    let mut ids = std::collections::HashMap::new();
    for _ in 0..u32::from(EACH) * u32::from(PEERS) {
        let msg = bounded(router.recv()).await?;
        let (id, body) = (&msg.frames()[0], &msg.frames()[1]);
        // One routing id per sender.
        assert_eq!(ids.entry(body[0]).or_insert_with(|| id.clone()), id);
        bodies.push([body[0], body[1]]);
    }
    check_rotation(&bodies);
    drop(peers);
    Ok(())
}

on_all_runtimes!(
    pull_takes_one_message_from_each_libzmq_push_in_turn,
    router_takes_one_message_from_each_libzmq_dealer_in_turn,
);
