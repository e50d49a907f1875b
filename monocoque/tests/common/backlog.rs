//! A PUSH's backlog through a peer that goes away: numbered messages sent while a good PULL
//! receives, then a probe that carries the lost peer's handed-over messages along, and the
//! count of what never arrived.

use bytes::Bytes;
use monocoque::{Message, PullSocket, PushSocket};
use std::collections::HashSet;

/// The sequence number a backlog message carries in its first frame.
pub fn seq(msg: &Message) -> u32 {
    u32::from_be_bytes(msg.frames()[0][..4].try_into().unwrap())
}

/// The probe's sequence number.
const PROBE: u32 = u32::MAX;

/// Sends messages `0..count` (the number, then `payload`) through `push` while `good` receives
/// into `received`, so that the good peer's queue never holds the sender up. Returns once all
/// are sent (bounded).
pub async fn send_while_receiving(
    push: &mut PushSocket,
    good: &mut PullSocket,
    count: u32,
    payload: &Bytes,
    received: &mut HashSet<u32>,
) -> Result<(), String> {
    let send_all = async {
        for i in 0..count {
            let msg =
                Message::from_frames([Bytes::copy_from_slice(&i.to_be_bytes()), payload.clone()]);
            push.send(msg).await.map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    };
    let receive = async {
        loop {
            match good.recv().await {
                Ok(msg) => {
                    received.insert(seq(&msg));
                }
                Err(e) => return e,
            }
        }
    };
    match futures::future::select(Box::pin(super::bounded(send_all)), Box::pin(receive)).await {
        futures::future::Either::Left((sent, _)) => sent,
        futures::future::Either::Right((error, _)) => Err(error.to_string()),
    }
}

/// Sends a probe, which takes a lost peer's handed-over messages along ahead of itself (into
/// the good peer's queue, past its HWM: the probe may wait for room, so `good` receives
/// meanwhile), and receives until it arrives; a message delivered twice is an error. Returns
/// how many of `0..count` never arrived.
pub async fn probe_and_count_lost(
    push: &mut PushSocket,
    good: &mut PullSocket,
    count: u32,
    received: &mut HashSet<u32>,
) -> Result<u32, String> {
    let probe = Message::from_frames([Bytes::copy_from_slice(&PROBE.to_be_bytes())]);
    let send_probe = async { push.send(probe).await.map_err(|e| e.to_string()) };
    let receive_rest = async {
        loop {
            let msg = good.recv().await.map_err(|e| e.to_string())?;
            let n = seq(&msg);
            if n == PROBE {
                return Ok::<_, String>(());
            }
            if !received.insert(n) {
                return Err(format!("message {n} delivered twice"));
            }
        }
    };
    let (sent, rest) = super::bounded(async { futures::join!(send_probe, receive_rest) }).await;
    sent?;
    rest?;
    Ok(count - received.len() as u32)
}
