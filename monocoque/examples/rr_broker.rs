//! A request/reply broker: REQ clients talk to a ROUTER frontend, REP workers to a DEALER
//! backend, and `monocoque::proxy` shuttles messages between the two, both ways.
//!
//! Neither side knows about the other: clients and workers only know the broker's endpoints,
//! so either side can grow or shrink without reconfiguring the other. The ROUTER puts the
//! client's routing id in front of each request; the DEALER spreads requests round-robin over
//! the workers, and each REP worker hands the envelope back with its reply, which lets the
//! ROUTER route the reply to the right client.
//!
//! Run with `cargo run -p monocoque --example rr_broker`.

use monocoque::{DealerSocket, RepSocket, ReqSocket, RouterSocket, SocketOption};
use std::collections::BTreeMap;
use std::time::Duration;

const CLIENTS: usize = 4;
const REQUESTS_PER_CLIENT: usize = 5;
const WORKERS: usize = 3;
const WAIT: Duration = Duration::from_secs(5);

/// A worker: answers each request, naming itself in the reply. Runs until aborted.
async fn serve(mut worker: RepSocket, k: usize) -> monocoque::Result<()> {
    loop {
        let request = worker.recv().await?;
        let text = String::from_utf8_lossy(&request.frames()[0]).into_owned();
        tokio::time::sleep(Duration::from_millis(2)).await; // the "work"
        worker.send(format!("{text} -> done by worker-{k}")).await?;
    }
}

#[tokio::main]
async fn main() -> monocoque::Result<()> {
    let ctx = monocoque::tokio::context();

    let mut frontend = RouterSocket::new(&ctx);
    let frontend_ep = frontend.bind("tcp://127.0.0.1:*").await?;
    let mut backend = DealerSocket::new(&ctx);
    let backend_ep = backend.bind("tcp://127.0.0.1:*").await?;
    println!("broker: clients connect to {frontend_ep}, workers to {backend_ep}");

    // The broker is one call; it runs until a socket fails, so it gets a task of its own.
    let broker = tokio::spawn(async move {
        let result = monocoque::proxy(&mut frontend, &mut backend).await;
        println!("broker: proxy stopped: {result:?}");
    });

    let mut workers = Vec::new();
    for k in 1..=WORKERS {
        let mut worker = RepSocket::new(&ctx);
        worker.connect(&backend_ep).await?;
        workers.push(tokio::spawn(serve(worker, k)));
    }

    let mut clients = Vec::new();
    for c in 1..=CLIENTS {
        let mut client = ReqSocket::new(&ctx);
        client.set_option(SocketOption::RcvTimeo(Some(WAIT)))?;
        client.connect(&frontend_ep).await?;
        clients.push(tokio::spawn(async move {
            let mut handled_by = Vec::new();
            for r in 1..=REQUESTS_PER_CLIENT {
                let request = format!("client-{c} request {r}");
                client.send(request.clone()).await?;
                let reply = client.recv().await?;
                let reply = String::from_utf8_lossy(&reply.frames()[0]).into_owned();
                let worker = reply
                    .strip_prefix(&format!("{request} -> done by "))
                    .unwrap_or_else(|| panic!("client-{c} got {reply:?} for {request:?}"));
                handled_by.push(worker.to_owned());
            }
            client.close().await;
            Ok::<_, monocoque::Error>(handled_by)
        }));
    }

    let mut tally = BTreeMap::<String, usize>::new();
    for (c, client) in clients.into_iter().enumerate() {
        let handled_by = tokio::time::timeout(WAIT * 2, client)
            .await
            .expect("client finished in time")
            .expect("client task did not panic")?;
        println!("client-{}: {} replies", c + 1, handled_by.len());
        for worker in handled_by {
            *tally.entry(worker).or_default() += 1;
        }
    }
    for (worker, count) in &tally {
        println!("{worker} handled {count} requests");
    }
    assert_eq!(tally.values().sum::<usize>(), CLIENTS * REQUESTS_PER_CLIENT);

    // Every client has its replies: stop the workers and the broker.
    for worker in workers {
        worker.abort();
    }
    broker.abort();
    println!("done: {} requests brokered", CLIENTS * REQUESTS_PER_CLIENT);
    Ok(())
}
