//! A DEALER split in two: one task sends requests while another receives the replies, on the
//! same socket at the same time, against a ROUTER that echoes every message back.
//!
//! `cargo run -p monocoque --example split_dealer`

use futures::{SinkExt, StreamExt};
use monocoque::{DealerSocket, Message, RouterSocket};
use std::time::Duration;

const REQUESTS: u32 = 10_000;

#[tokio::main]
async fn main() -> monocoque::Result<()> {
    let ctx = monocoque::tokio::context();

    // The server: a ROUTER answering each message with the same message, to its sender. With
    // ROUTER_MANDATORY it waits when the DEALER's queue is full, instead of dropping replies.
    let mut router = RouterSocket::new(&ctx);
    router.set_option(monocoque::SocketOption::RouterMandatory(true))?;
    let endpoint = router.bind("tcp://127.0.0.1:*").await?;
    tokio::spawn(async move {
        while let Ok(msg) = router.recv().await {
            if router.send(msg).await.is_err() {
                break;
            }
        }
    });

    let mut dealer = DealerSocket::new(&ctx);
    dealer.connect(&endpoint).await?;
    let (mut requests, mut replies) = dealer.split();

    // The halves are independent: each goes to its own task.
    let sender = tokio::spawn(async move {
        for i in 0..REQUESTS {
            // Through the Sink: fed without waiting for each one, flushed at the end.
            requests
                .feed(Message::from(i.to_be_bytes().to_vec()))
                .await?;
        }
        requests.flush().await?;
        Ok::<_, monocoque::SendError>(requests)
    });
    let receiver = tokio::spawn(async move {
        let mut next = 0u32;
        while next < REQUESTS {
            let reply = replies.next().await.expect("the stream never ends")?;
            assert_eq!(
                reply,
                Message::from(next.to_be_bytes().to_vec()),
                "in order"
            );
            next += 1;
        }
        Ok::<_, monocoque::Error>(next)
    });

    let limit = Duration::from_secs(30);
    let received = tokio::time::timeout(limit, receiver)
        .await
        .expect("replies within 30 s")
        .expect("receiver task")?;
    let _requests = sender.await.expect("sender task")?;
    println!("sent {REQUESTS} requests and received {received} replies concurrently");
    Ok(())
}
