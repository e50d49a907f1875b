//! Soak: connection churn for a while on every runtime, with the process's memory (RSS) and
//! open file descriptors sampled, printed as a table (start, peak, end) per runtime.
//!
//! Each round, on one runtime: 20 DEALERs connect to a ROUTER, each does a roundtrip and
//! closes; 20 SUBs subscribe to a PUB, each gets a message and leaves; a PUSH reconnects to a
//! PULL that is unbound and bound again (a reconnect storm in miniature). Run it with
//! `cargo xtask soak [--minutes N]` (default 1 minute per runtime; Linux, for /proc).

use monocoque::{
    Context, DealerSocket, Message, PubSocket, PullSocket, PushSocket, RouterSocket, SocketOption,
    SubSocket,
};
use std::time::{Duration, Instant};

/// (RSS in KiB, open descriptors), read from /proc.
fn sample() -> (u64, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    (rss, fds)
}

#[derive(Debug, Default)]
struct Samples {
    start: (u64, usize),
    peak: (u64, usize),
    end: (u64, usize),
    rounds: u64,
}

impl Samples {
    fn take(&mut self) {
        let now = sample();
        self.peak = (self.peak.0.max(now.0), self.peak.1.max(now.1));
        self.end = now;
    }
}

async fn round(ctx: &Context) -> monocoque::Result<()> {
    // ROUTER and DEALERs coming and going.
    let mut router = RouterSocket::new(ctx);
    let ep = router.bind("tcp://127.0.0.1:*").await?;
    for _ in 0..20 {
        let mut dealer = DealerSocket::new(ctx);
        dealer.set_option(SocketOption::Linger(Some(Duration::ZERO)))?;
        dealer.connect(&ep).await?;
        dealer.send(Message::from("ping")).await?;
        let mut request = router.recv().await?;
        request.pop_back();
        request.push_back("pong");
        router.send(request).await?;
        dealer.recv().await?;
        dealer.close().await;
    }
    router.close().await;
    // Subscribers coming and going.
    let mut publisher = PubSocket::new(ctx);
    let ep = publisher.bind("tcp://127.0.0.1:*").await?;
    for _ in 0..20 {
        let mut sub = SubSocket::new(ctx);
        sub.subscribe("t")?;
        sub.connect(&ep).await?;
        loop {
            publisher.send(Message::from("t: news")).await?;
            let got =
                futures::future::select(Box::pin(sub.recv()), Box::pin(monocoque_sleep(5))).await;
            if let futures::future::Either::Left((msg, _)) = got {
                msg?;
                break;
            }
        }
        sub.close().await;
    }
    publisher.close().await;
    // A PUSH reconnecting to a PULL that goes away and comes back on the same port.
    let mut pull = PullSocket::new(ctx);
    let ep = pull.bind("tcp://127.0.0.1:*").await?;
    let mut push = PushSocket::new(ctx);
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(5))))?;
    push.set_option(SocketOption::Linger(Some(Duration::ZERO)))?;
    let mut events = push.monitor();
    push.connect(&ep).await?;
    for i in 0..5u32 {
        // A message written into a connection the peer has just closed is lost in the kernel,
        // as with libzmq: send only once connected again.
        while !matches!(
            events.recv().await,
            Some(monocoque::SocketEvent::HandshakeSucceeded { .. })
        ) {}
        push.send(Message::single(i.to_be_bytes().to_vec())).await?;
        pull.recv().await?;
        pull.close().await;
        pull = PullSocket::new(ctx);
        pull.bind(&ep).await?;
    }
    push.close().await;
    pull.close().await;
    Ok(())
}

/// A runtime-neutral sleep (a thread per call is fine at this rate).
async fn monocoque_sleep(ms: u64) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(ms));
        let _ = tx.send(());
    });
    let _ = rx.await;
}

async fn soak(ctx: Context, for_how_long: Duration) -> Samples {
    let mut samples = Samples::default();
    let started = Instant::now();
    // One round first: what the runtime and the first sockets take is not churn.
    round(&ctx).await.expect("a soak round");
    samples.start = sample();
    samples.peak = samples.start;
    while started.elapsed() < for_how_long {
        round(&ctx).await.expect("a soak round");
        samples.rounds += 1;
        samples.take();
    }
    samples
}

fn main() {
    let minutes: f64 = std::env::args()
        .skip_while(|a| a != "--minutes")
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(1.0);
    let each = Duration::from_secs_f64(minutes * 60.0);
    let mut rows = Vec::new();
    let rt = tokio::runtime::Runtime::new().expect("tokio");
    rows.push((
        "tokio",
        rt.block_on(soak(
            monocoque::tokio::context_on(rt.handle().clone()),
            each,
        )),
    ));
    drop(rt);
    rows.push((
        "async-std",
        async_std::task::block_on(soak(monocoque::async_std::context(), each)),
    ));
    rows.push((
        "smol",
        smol::block_on(soak(monocoque::smol::context(), each)),
    ));
    println!("soak: {minutes} min per runtime; RSS in KiB, open file descriptors");
    println!(
        "{:<10} {:>7} {:>10} {:>10} {:>10} {:>6} {:>6} {:>6}",
        "runtime", "rounds", "rss start", "rss peak", "rss end", "fd st", "fd pk", "fd end"
    );
    for (name, s) in rows {
        println!(
            "{:<10} {:>7} {:>10} {:>10} {:>10} {:>6} {:>6} {:>6}",
            name, s.rounds, s.start.0, s.peak.0, s.end.0, s.start.1, s.peak.1, s.end.1
        );
    }
}
