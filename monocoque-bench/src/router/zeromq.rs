//! ROUTER <-> DEALERs on zmq.rs (the `zeromq` crate), on tokio: one tokio
//! task per DEALER socket.
//!
//! zmq.rs has no linger: dropping the ROUTER may lose the last echoes still
//! queued for their writer tasks. `router_echo` therefore keeps its socket
//! open until every dealer has disconnected (each does once it has all its
//! echoes), which is what libzmq's default linger achieves.

use std::time::{Duration, Instant};

use zeromq::{DealerSocket, RouterSocket, Socket, SocketEvent, SocketRecv, SocketSend, ZmqMessage};

use super::{WINDOW, check_frames, echoes, summarize};
use crate::Result;
use crate::args::Runtime;
use crate::output::Roundtrips;
use crate::tasks::{self, Barrier, Reporter};
use crate::watchdog::Progress;

fn payload_len(msg: &ZmqMessage) -> usize {
    msg.iter().map(|frame| frame.len()).sum()
}

/// `router_echo`: echoes `peers * (count + 1)` messages, then waits for the
/// dealers to disconnect.
pub async fn router_echo(
    endpoint: &str,
    size: usize,
    count: u64,
    peers: usize,
    progress: Progress,
) -> Result<()> {
    let mut router = RouterSocket::new();
    let mut events = router.monitor();
    // Counts the departures reported so far. The monitor channel is bounded
    // (events beyond its capacity are dropped), so it is read now and then
    // while echoing too.
    let mut departures = move || {
        let mut n = 0;
        while let Ok(event) = events.try_recv() {
            n += usize::from(matches!(event, SocketEvent::Disconnected(_)));
        }
        n
    };
    router.bind(endpoint).await?;
    let mut gone = 0;
    progress.phase("echoing");
    for n in 0..echoes(peers, count) {
        let msg = router.recv().await?;
        check_frames(msg.len())?;
        crate::check_size(msg.get(1).map_or(0, |f| f.len()), size)?;
        router.send(msg).await?;
        progress.tick();
        if n % 256 == 0 {
            gone += departures();
        }
    }
    progress.phase("waiting for the dealers to disconnect (delivering the last echoes)");
    while gone < peers {
        // Polling `recv` is what makes zmq.rs notice a closed connection.
        match tokio::time::timeout(Duration::from_millis(10), router.recv()).await {
            Ok(Ok(_)) => return Err("a message after the last echo".into()),
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(1)).await,
            Err(_elapsed) => {}
        }
        gone += departures();
    }
    drop(router);
    Ok(())
}

/// One dealer: warm-up, barrier, then `count` roundtrips with [`WINDOW`] in
/// flight; returns the time of its last echo.
async fn dealer(
    mut dealer: DealerSocket,
    size: usize,
    count: u64,
    ready: Reporter,
    go: smol::channel::Receiver<()>,
    progress: Progress,
) -> Result<Instant> {
    dealer
        .send(ZmqMessage::from(crate::zeroed_body(size)))
        .await?;
    crate::check_size(payload_len(&dealer.recv().await?), size)?;
    tasks::arrived(&ready);
    // Nothing is ever sent: the channel closing is the signal.
    let _ = go.recv().await;
    let mut sent = count.min(WINDOW);
    for _ in 0..sent {
        dealer
            .send(ZmqMessage::from(crate::zeroed_body(size)))
            .await?;
    }
    for _ in 0..count {
        crate::check_size(payload_len(&dealer.recv().await?), size)?;
        progress.tick();
        if sent < count {
            dealer
                .send(ZmqMessage::from(crate::zeroed_body(size)))
                .await?;
            sent += 1;
        }
    }
    let last = Instant::now();
    drop(dealer);
    Ok(last)
}

/// `dealers`: `peers` DEALER sockets in this process, one tokio task each.
pub async fn dealers(
    endpoint: &str,
    size: usize,
    count: u64,
    peers: usize,
    progress: Progress,
) -> Result<Roundtrips> {
    let barrier = Barrier::new();
    let (go, released) = smol::channel::bounded::<()>(1);
    let mut tasks = Vec::with_capacity(peers);
    for _ in 0..peers {
        let mut socket = DealerSocket::new();
        socket.connect(endpoint).await?;
        let ready = barrier.reporter();
        let body = dealer(
            socket,
            size,
            count,
            ready.clone(),
            released.clone(),
            progress.clone(),
        );
        tasks.push(tasks::spawn(Runtime::Tokio, tasks::reporting(ready, body)));
    }
    drop(released);
    progress.phase("waiting for every dealer's warm-up echo");
    barrier.wait(peers, &progress).await?;
    progress.phase("making roundtrips");
    let start = Instant::now();
    drop(go);
    let last_echoes = tasks::join_all(tasks).await?;
    summarize(size, count, start, &last_echoes)
}
