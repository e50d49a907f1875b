//! Request/reply, the smallest useful pattern: a REP server answers "World" to each of ten
//! "Hello" requests from a REQ client.
//!
//! REQ and REP enforce strict alternation: the client must read each reply before sending the
//! next request, and the server must reply before it may receive again. Both run in this one
//! process (the server as a tokio task) over loopback TCP on a port picked at bind time.
//!
//! Run with `cargo run -p monocoque --example hello_world`.

use monocoque::{RepSocket, ReqSocket, SocketOption};
use std::time::Duration;

const REQUESTS: usize = 10;

#[tokio::main]
async fn main() -> monocoque::Result<()> {
    let ctx = monocoque::tokio::context();

    // The server binds; `*` lets the OS pick a free port and `bind` tells us which.
    let mut server = RepSocket::new(&ctx);
    let endpoint = server.bind("tcp://127.0.0.1:*").await?;
    println!("server listening on {endpoint}");

    let server_task = tokio::spawn(async move {
        for _ in 0..REQUESTS {
            let request = server.recv().await?;
            println!("server: received {request:?}");
            // Pretend to do some work before answering.
            tokio::time::sleep(Duration::from_millis(5)).await;
            server.send("World").await?;
        }
        server.close().await;
        Ok::<_, monocoque::Error>(())
    });

    let mut client = ReqSocket::new(&ctx);
    // Never wait more than a few seconds for a reply, so a broken setup fails instead of hanging.
    client.set_option(SocketOption::RcvTimeo(Some(Duration::from_secs(5))))?;
    client.connect(&endpoint).await?;

    for n in 1..=REQUESTS {
        client.send("Hello").await?;
        let reply = client.recv().await?;
        println!("client: request {n} got {reply:?}");
        assert_eq!(reply.frames(), ["World"]);
    }

    tokio::time::timeout(Duration::from_secs(5), server_task)
        .await
        .expect("server finished in time")
        .expect("server task did not panic")?;
    client.close().await;
    println!("done: {REQUESTS} requests answered");
    Ok(())
}
