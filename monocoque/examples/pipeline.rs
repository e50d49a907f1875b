//! A parallel pipeline with PUSH/PULL: a ventilator hands out 100 tasks, three workers process
//! them, and a sink collects the results, then prints how long the batch took and how many tasks
//! each worker did.
//!
//! PUSH spreads messages round-robin over its connected peers and PULL fair-queues from all of
//! its peers, so work fans out and results fan back in without any routing code. The ventilator
//! waits until all three workers are connected before sending (otherwise the first worker to
//! connect would get the whole batch), and tells the sink how many results to expect.
//!
//! This example runs on async-std instead of tokio, to show that the runtime is the caller's
//! choice: only the context constructor and the task/timer functions change.
//!
//! Run with `cargo run -p monocoque --features async-std --example pipeline`.

#[cfg(feature = "async-std")]
fn main() -> monocoque::Result<()> {
    use std::time::Duration;
    match async_std::task::block_on(async_std::future::timeout(
        Duration::from_secs(20),
        with_async_std::run(),
    )) {
        Ok(result) => result,
        Err(_) => {
            eprintln!("pipeline: did not finish within 20 s");
            std::process::exit(1);
        }
    }
}

#[cfg(not(feature = "async-std"))]
fn main() {
    eprintln!(
        "this example runs on async-std: cargo run -p monocoque --features async-std --example pipeline"
    );
    std::process::exit(2);
}

#[cfg(feature = "async-std")]
mod with_async_std {
    use monocoque::{Endpoint, PullSocket, PushSocket, SocketEvent, SocketOption};
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    const TASKS: u64 = 100;
    const WORKERS: usize = 3;
    const WAIT: Duration = Duration::from_secs(10);

    /// Waits until `count` handshakes have completed on a monitored socket.
    async fn handshakes(events: &mut monocoque::Monitor, count: usize) {
        let mut done = 0;
        while done < count {
            match async_std::future::timeout(WAIT, events.recv()).await {
                Ok(Some(SocketEvent::HandshakeSucceeded { .. })) => done += 1,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => panic!("only {done} of {count} peers connected in time"),
            }
        }
    }

    /// A worker: takes a workload (milliseconds), "works" that long, reports to the sink.
    async fn worker(
        name: String,
        tasks_from: Endpoint,
        results_to: Endpoint,
    ) -> monocoque::Result<()> {
        let ctx = monocoque::async_std::context();
        let mut receiver = PullSocket::new(&ctx);
        receiver.connect(&tasks_from).await?;
        let mut sender = PushSocket::new(&ctx);
        sender.connect(&results_to).await?;
        loop {
            let task = receiver.recv().await?;
            let workload: u64 = String::from_utf8_lossy(&task.frames()[0])
                .parse()
                .expect("a workload in ms");
            async_std::task::sleep(Duration::from_millis(workload)).await;
            sender.send(name.clone()).await?;
        }
    }

    pub async fn run() -> monocoque::Result<()> {
        let ctx = monocoque::async_std::context();

        // The sink collects results; it binds so workers can come and go.
        let mut sink = PullSocket::new(&ctx);
        sink.set_option(SocketOption::RcvTimeo(Some(WAIT)))?;
        let sink_endpoint = sink.bind("tcp://127.0.0.1:*").await?;

        // The ventilator hands out tasks; it binds too, and watches workers arrive.
        let mut ventilator = PushSocket::new(&ctx);
        let mut arrivals = ventilator.monitor();
        let tasks_endpoint = ventilator.bind("tcp://127.0.0.1:*").await?;
        println!("ventilator on {tasks_endpoint}, sink on {sink_endpoint}");

        let workers: Vec<_> = (1..=WORKERS)
            .map(|k| {
                let (from, to) = (tasks_endpoint.clone(), sink_endpoint.clone());
                async_std::task::spawn(worker(format!("worker-{k}"), from, to))
            })
            .collect();

        // The ventilator's line to the sink, for the start-of-batch signal.
        let mut to_sink = PushSocket::new(&ctx);
        let mut sink_link = to_sink.monitor();
        to_sink.connect(&sink_endpoint).await?;
        handshakes(&mut sink_link, 1).await;
        handshakes(&mut arrivals, WORKERS).await;
        println!("ventilator: {WORKERS} workers connected, sending {TASKS} tasks");

        to_sink.send(format!("START {TASKS}")).await?;
        let started = Instant::now();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut total_ms = 0;
        for _ in 0..TASKS {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let workload = 1 + rng % 10; // 1..=10 ms
            total_ms += workload;
            ventilator.send(workload.to_string()).await?;
        }
        println!("ventilator: total expected cost {total_ms} ms of work");

        // The sink: results may overtake the start signal, so count everything it gets.
        let mut expected = None;
        let mut per_worker = BTreeMap::<String, u64>::new();
        let mut results = 0;
        let mut clock = None;
        while expected != Some(results) {
            let msg = sink.recv().await?;
            let text = String::from_utf8_lossy(&msg.frames()[0]).into_owned();
            if let Some(n) = text.strip_prefix("START ") {
                expected = Some(n.parse().expect("a task count"));
                clock = Some(Instant::now());
            } else {
                results += 1;
                *per_worker.entry(text).or_default() += 1;
            }
        }
        let elapsed = clock.unwrap_or(started).elapsed();
        println!("sink: {results} results in {} ms", elapsed.as_millis());
        for (name, count) in &per_worker {
            println!("sink: {name} did {count} tasks");
        }

        for handle in workers {
            // Workers loop forever; the batch is done, so stop them.
            handle.cancel().await;
        }
        for socket in [ventilator, to_sink] {
            socket.close().await;
        }
        sink.close().await;
        Ok(())
    }
}
