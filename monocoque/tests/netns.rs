//! Two hosts over a real Linux network stack: a network namespace joined to the test's own by
//! a veth pair ([`Hosts`]). A partition is the far end of the link set down (packets vanish,
//! nothing is reset: only heartbeats can tell), then up again; a slow link is a `tc tbf` rate
//! limit; delay and loss come from `tc netem` when the kernel has it, else from the fault proxy
//! placed between the hosts. PUSH/PULL, REQ/REP, PUB/SUB and ROUTER/DEALER cross the link,
//! ours on both hosts and ours against libzmq (pyzmq, run with `ip netns exec`) on the far one.
//!
//! Expectations: a partition is detected by heartbeats (Disconnected with
//! [`ConnectionError::HeartbeatTimeout`]) within HEARTBEAT_TIMEOUT plus a generous margin,
//! and once it heals traffic resumes without the application doing anything (a SUB's
//! subscription included); messages sent meanwhile that were not already in the lost
//! connection's kernel buffers arrive, whole and in order; a slow link delivers a whole MiB in
//! order without heartbeats falsely dropping it. Detection and recovery times are printed
//! (`--no-capture`); only the qualitative outcome and the generous bound are asserted.
//!
//! Layout, and why: our connecting sockets live in the test process's own namespace (the
//! "near" host), since connects and reconnects are made by tasks on the runtime's worker
//! threads, which all live there, on every runtime; our bound sockets for the far host are
//! bound from a thread that entered the far namespace ([`Hosts::on_far_host`]: the listener
//! is made while `bind`'s future is polled, and accepted connections belong to the listener's
//! namespace). So one process is on both hosts without moving any runtime thread, and the
//! tests run the same under nextest and `cargo test`. The near end of the veth gets an address
//! of a /30 no route covers yet; deleting the far namespace removes the pair.
//!
//! A link set down is not silent: the veth's other end loses its carrier too, and the near
//! host flushes its neighbour entries. The blackhole tests partition silently instead: the
//! hosts are routed through a third namespace, whose blackhole routes drop everything it would
//! forward, every link up; connects tried into it show what CONNECT_TIMEOUT changes.
//!
//! Where namespaces cannot be made (not root, no iproute2), each test prints why and passes;
//! with `MONOCOQUE_REQUIRE_NETNS=1` (set by `.ci/run` where a namespace can be made) it fails
//! instead.

mod common;

use common::netns::Hosts;
use common::*;
use monocoque::{
    ConnectionError, Context, DealerSocket, Kind, Message, Monitor, PubSocket, PullSocket,
    PushSocket, RepSocket, ReqSocket, RouterSocket, Socket, SocketEvent, SocketOption, SubSocket,
};
use std::time::{Duration, Instant};

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// HEARTBEAT_IVL of the partition tests.
const IVL: Duration = ms(100);
/// HEARTBEAT_TIMEOUT of the partition tests.
const TIMEOUT: Duration = ms(500);
/// How much later than TIMEOUT + IVL a detection may come on a loaded 2-core machine.
const MARGIN: Duration = ms(4000);
/// The sequence number of the probe sent after a partition heals.
const AFTER: u64 = 5000;

/// Returns from the test (it passes) when the hosts cannot be made, after saying why.
macro_rules! hosts_or_skip {
    ($test:expr) => {
        hosts_or_skip!($test, or_skip)
    };
    ($test:expr, $make:ident) => {
        match Hosts::$make($test) {
            Some(hosts) => hosts,
            None => return Ok(()),
        }
    };
}

/// Heartbeats every `ivl`, given up after `timeout`; reconnects every 50 ms, each attempt
/// bounded by CONNECT_TIMEOUT (a SYN lost in a partition would otherwise be retried by the
/// kernel only a second later, and later still after a few retries).
fn heartbeating<K: Kind>(
    socket: &mut Socket<K>,
    ivl: Duration,
    timeout: Duration,
) -> monocoque::Result<()> {
    socket.set_option(SocketOption::HeartbeatIvl(Some(ivl)))?;
    socket.set_option(SocketOption::HeartbeatTimeout(Some(timeout)))?;
    socket.set_option(SocketOption::ReconnectIvl(Some(ms(50))))?;
    socket.set_option(SocketOption::ConnectTimeout(Some(ms(250))))?;
    Ok(())
}

/// The partition tests' heartbeats.
fn partition_options<K: Kind>(socket: &mut Socket<K>) -> monocoque::Result<()> {
    heartbeating(socket, IVL, TIMEOUT)
}

fn seq_of(msg: &Message) -> u64 {
    u64::from_be_bytes(msg.frames()[0][..8].try_into().unwrap())
}

/// Waits for the connection to end; an error unless heartbeats ended it.
async fn heartbeat_loss(events: &mut Monitor, what: &str) -> Result<(), String> {
    let error = wait_event(events, |e| match e {
        SocketEvent::Disconnected { error, .. } => Some(error),
        _ => None,
    })
    .await;
    match error {
        Some(ConnectionError::HeartbeatTimeout) => Ok(()),
        other => Err(format!(
            "{what}: the partition ended the connection with {other:?}, not a heartbeat timeout"
        )),
    }
}

/// What one partition measured.
#[derive(Debug, Default)]
struct Times {
    /// Link down until the near side's Disconnected.
    detected: Duration,
    /// Link down until the far side's Disconnected (when it is ours).
    far_detected: Option<Duration>,
    /// Link up until the near side's next HandshakeSucceeded.
    handshake: Duration,
    /// Link up until the first message after it was delivered.
    delivered: Duration,
}

impl Times {
    fn report(&self, test: &str) {
        let far = self
            .far_detected
            .map_or(String::new(), |d| format!(", far side {d:?}"));
        eprintln!(
            "netns {test}: partition detected after {:?}{far} (IVL {IVL:?}, TIMEOUT \
             {TIMEOUT:?}); after healing, handshake in {:?}, first message in {:?}",
            self.detected, self.handshake, self.delivered
        );
    }
}

/// After the link went down at `down`: waits until heartbeats have ended the connection on
/// the near side (`near`) and, when given, on the far one (so that the old connection cannot
/// come back to life with the link); then heals the link and waits for the near side's next
/// handshake. Fills in everything but [`Times::delivered`]; returns when the link came up.
async fn detect_then_heal(
    hosts: &Hosts,
    down: Instant,
    near: &mut Monitor,
    far: Option<&mut Monitor>,
    times: &mut Times,
) -> Result<Instant, String> {
    // Both at once: each time is taken when its own event arrives.
    let near_loss = async {
        heartbeat_loss(near, "near side").await?;
        Ok::<_, String>(down.elapsed())
    };
    let far_loss = async {
        match far {
            Some(far) => heartbeat_loss(far, "far side")
                .await
                .map(|()| Some(down.elapsed())),
            None => Ok(None),
        }
    };
    let (detected, far_detected) = futures::join!(near_loss, far_loss);
    times.detected = detected?;
    times.far_detected = far_detected?;
    let bound = TIMEOUT + IVL + MARGIN;
    let slowest = times.far_detected.unwrap_or_default().max(times.detected);
    if slowest > bound {
        return Err(format!(
            "the partition was detected only after {slowest:?} (bound {bound:?})"
        ));
    }
    hosts.heal();
    let up = Instant::now();
    wait_handshakes(near, 1).await;
    times.handshake = up.elapsed();
    Ok(up)
}

/// Partitions the hosts; when it happened.
fn partition(hosts: &Hosts) -> Instant {
    hosts.partition();
    Instant::now()
}

/// Which of the messages sent into a fault never arrived.
#[derive(Debug, Default)]
struct Lost {
    /// The ranges of sequence numbers missing, in order.
    ranges: Vec<std::ops::Range<u64>>,
}

impl Lost {
    fn count(&self) -> u64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }

    fn bytes(&self) -> usize {
        self.ranges
            .iter()
            .flat_map(|r| r.clone())
            .map(|i| canonical_message(i).payload_len())
            .sum()
    }
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} messages ({} KiB) lost: {:?}",
            self.count(),
            self.bytes() / 1024,
            self.ranges
        )
    }
}

/// Receives canonical messages `first..first + sent`, then [`AFTER`]: each whole, in
/// increasing order; returns which of the `sent` never arrived, and when AFTER did.
async fn receive_until_after(
    pull: &mut PullSocket,
    first: u64,
    sent: u64,
) -> Result<(Lost, Instant), String> {
    let mut lost = Lost::default();
    let mut next = first;
    loop {
        let msg = bounded(pull.recv()).await.map_err(|e| e.to_string())?;
        let i = seq_of(&msg);
        check_canonical(i, &msg)?;
        if i < next || (i > first + sent && i != AFTER) {
            return Err(format!(
                "message {i} when {next} or later was due: duplicated, reordered or unknown"
            ));
        }
        let end = if i == AFTER { first + sent } else { i };
        if end > next {
            lost.ranges.push(next..end);
        }
        if i == AFTER {
            return Ok((lost, Instant::now()));
        }
        next = i + 1;
    }
}

async fn push_pull_across_a_partition(ctx: Context) -> TestResult {
    let test = "push_pull_across_a_partition";
    let hosts = hosts_or_skip!(test);
    let mut pull = PullSocket::new(&ctx);
    partition_options(&mut pull)?;
    let mut far = pull.monitor();
    let ep = hosts
        .on_far_host(&ctx, pull.bind(hosts.far_any_port()))
        .await?;
    let mut push = PushSocket::new(&ctx);
    partition_options(&mut push)?;
    let mut near = push.monitor();
    push.connect(ep.to_string().as_str()).await?;
    wait_handshakes(&mut near, 1).await;
    crossed_the_link(&mut far, &hosts).await?;
    for i in 0..100 {
        push.send(canonical_message(i)).await?;
    }
    for i in 0..100 {
        check_canonical(i, &bounded(pull.recv()).await?)?;
    }
    let mut times = Times::default();
    let down = partition(&hosts);
    // Sent while the link is down: those already in the kernel when heartbeats give up are
    // lost with the connection; the rest wait in the peer's queue for the next one.
    for i in 100..600 {
        push.send(canonical_message(i)).await?;
    }
    let up = detect_then_heal(&hosts, down, &mut near, Some(&mut far), &mut times).await?;
    push.send(canonical_message(AFTER)).await?;
    let (lost, at) = receive_until_after(&mut pull, 100, 500).await?;
    times.delivered = at - up;
    times.report(test);
    eprintln!("netns {test}: of the 500 messages sent into the partition, {lost}");
    push.close().await;
    pull.close().await;
    Ok(())
}

/// How long a blackhole lasts after both sides detected it.
const HOLD: Duration = ms(1500);

/// A silent partition instead of a link down: the hosts routed through a third namespace
/// that blackholes both ways ([`Hosts::blackhole`]), kept for [`HOLD`] after the heartbeats
/// gave up, so that connects are tried into it. With CONNECT_TIMEOUT (`Some`) a fresh attempt
/// follows every timeout + RECONNECT_IVL and the first one after the heal succeeds; with the
/// OS's (`None`) the SYN sent into the blackhole is retried by the kernel every second (Linux
/// 6.7 and later, for the first `tcp_syn_linear_timeouts` = 4 retries; then, and on older
/// kernels from the first, at doubling intervals), and the recovery waits for that retry.
async fn blackhole_partition(ctx: Context, connect_timeout: Option<Duration>) -> TestResult {
    let test = match connect_timeout {
        Some(_) => "blackhole_with_a_connect_timeout",
        None => "blackhole_without_a_connect_timeout",
    };
    let hosts = hosts_or_skip!(test, routed_or_skip);
    let mut pull = PullSocket::new(&ctx);
    partition_options(&mut pull)?;
    let mut far = pull.monitor();
    let ep = hosts
        .on_far_host(&ctx, pull.bind(hosts.far_any_port()))
        .await?;
    let mut push = PushSocket::new(&ctx);
    partition_options(&mut push)?;
    push.set_option(SocketOption::ConnectTimeout(connect_timeout))?;
    let mut near = push.monitor();
    push.connect(ep.to_string().as_str()).await?;
    wait_handshakes(&mut near, 1).await;
    crossed_the_link(&mut far, &hosts).await?;
    push.send(canonical_message(0)).await?;
    check_canonical(0, &bounded(pull.recv()).await?)?;
    hosts.blackhole();
    let down = Instant::now();
    let (detected, far_detected) = futures::join!(
        async {
            heartbeat_loss(&mut near, "near side").await?;
            Ok::<_, String>(down.elapsed())
        },
        async {
            heartbeat_loss(&mut far, "far side").await?;
            Ok::<_, String>(down.elapsed())
        },
    );
    let (detected, far_detected) = (detected?, far_detected?);
    let bound = TIMEOUT + IVL + MARGIN;
    assert!(
        detected.max(far_detected) <= bound,
        "detected after {detected:?} / {far_detected:?} (bound {bound:?})"
    );
    // The partition lasts on: connects are tried into it meanwhile.
    sleep(HOLD).await;
    hosts.restore();
    let up = Instant::now();
    let mut attempts = 0;
    wait_event(&mut near, |e| match e {
        SocketEvent::ConnectRetried { .. } => {
            attempts += 1;
            None
        }
        SocketEvent::HandshakeSucceeded { .. } => Some(()),
        _ => None,
    })
    .await;
    let handshake = up.elapsed();
    push.send(canonical_message(AFTER)).await?;
    check_canonical(AFTER, &bounded(pull.recv()).await?)?;
    eprintln!(
        "netns {test}: blackhole detected after {detected:?}, far side {far_detected:?} (IVL \
         {IVL:?}, TIMEOUT {TIMEOUT:?}); kept {HOLD:?} longer; after healing, handshake in \
         {handshake:?}, first message in {:?} (CONNECT_TIMEOUT {connect_timeout:?}, \
         {attempts} connects failed)",
        up.elapsed()
    );
    push.close().await;
    pull.close().await;
    Ok(())
}

/// Waits for the far side's handshake and checks that its peer is on the near host: the
/// connection crossed the link (it did not stay inside one namespace).
async fn crossed_the_link(far: &mut Monitor, hosts: &Hosts) -> Result<(), String> {
    let peer = wait_event(far, |e| match e {
        SocketEvent::HandshakeSucceeded { peer_addr, .. } => Some(peer_addr),
        _ => None,
    })
    .await;
    if peer.starts_with(&format!("{}:", hosts.near_ip())) {
        Ok(())
    } else {
        Err(format!(
            "the far side's peer is {peer}, not on the near host {}",
            hosts.near_ip()
        ))
    }
}

/// Every event the monitor holds now.
fn drain(events: &mut Monitor) -> Vec<SocketEvent> {
    std::iter::from_fn(|| events.try_recv()).collect()
}

/// An error if the monitor holds a Disconnected.
fn never_disconnected(events: &mut Monitor, what: &str) -> Result<(), String> {
    let events = drain(events);
    match events
        .iter()
        .find(|e| matches!(e, SocketEvent::Disconnected { .. }))
    {
        Some(e) => Err(format!("{what}: the connection was dropped: {e:?}")),
        None => Ok(()),
    }
}

/// Ends with whichever of `serve` (a server loop, which only ends on an error) and `client`
/// ends first.
async fn serving<S, C>(serve: S, client: C) -> TestResult
where
    S: std::future::Future<Output = monocoque::Result<()>>,
    C: std::future::Future<Output = TestResult>,
{
    use futures::future::{Either, select};
    match select(std::pin::pin!(serve), std::pin::pin!(client)).await {
        Either::Left((served, _)) => Err(format!("the server ended: {served:?}").into()),
        Either::Right((outcome, _)) => outcome,
    }
}

async fn req_rep_across_a_partition(ctx: Context) -> TestResult {
    let test = "req_rep_across_a_partition";
    let hosts = hosts_or_skip!(test);
    let mut rep = RepSocket::new(&ctx);
    partition_options(&mut rep)?;
    let mut far = rep.monitor();
    let ep = hosts
        .on_far_host(&ctx, rep.bind(hosts.far_any_port()))
        .await?;
    let mut req = ReqSocket::new(&ctx);
    partition_options(&mut req)?;
    // A request whose reply was lost with the connection is never answered: REQ_RELAXED lets
    // the application ask again, REQ_CORRELATE keeps a late reply to the old one out.
    req.set_option(SocketOption::ReqRelaxed(true))?;
    req.set_option(SocketOption::ReqCorrelate(true))?;
    let mut near = req.monitor();
    req.connect(ep.to_string().as_str()).await?;
    let served = std::cell::RefCell::new(Vec::new());
    let serve = async {
        loop {
            let request = rep.recv().await?;
            served.borrow_mut().push(seq_of(&request));
            if let Err(e) = rep.send(reply(&request)).await {
                eprintln!("netns {test}: a reply could not be sent: {e}");
            }
        }
    };
    let client = async {
        wait_handshakes(&mut near, 1).await;
        crossed_the_link(&mut far, &hosts).await?;
        req.send(canonical_message(0)).await?;
        assert_msg_eq(
            &bounded(req.recv()).await?,
            &reply(&canonical_message(0)),
            "reply 0",
        )?;
        let mut times = Times::default();
        let down = partition(&hosts);
        // Its reply cannot come while the link is down.
        req.send(canonical_message(1)).await?;
        let up = detect_then_heal(&hosts, down, &mut near, Some(&mut far), &mut times).await?;
        req.send(canonical_message(2)).await?;
        assert_msg_eq(
            &bounded(req.recv()).await?,
            &reply(&canonical_message(2)),
            "the reply after the partition",
        )?;
        times.delivered = up.elapsed();
        times.report(test);
        Ok(())
    };
    serving(serve, client).await?;
    // Whether the request sent into the partition reached REP after all (it waited in the
    // peer's queue) or was lost (in the kernel's buffers of the old connection).
    eprintln!("netns {test}: REP served requests {:?}", served.borrow());
    req.close().await;
    rep.close().await;
    Ok(())
}

/// Publishes a B and an A message until the subscriber (subscribed to A) has one.
async fn until_received(publisher: &mut PubSocket, sub: &mut SubSocket) -> TestResult {
    bounded(async {
        loop {
            publisher.send(Message::from("B: not for us")).await?;
            publisher.send(Message::from("A: wanted")).await?;
            if let Ok(msg) = within(ms(20), "an A message", sub.recv()).await {
                assert_eq!(msg?, Message::from("A: wanted"));
                return Ok(());
            }
        }
    })
    .await
}

async fn pub_sub_across_a_partition(ctx: Context) -> TestResult {
    let test = "pub_sub_across_a_partition";
    let hosts = hosts_or_skip!(test);
    let mut publisher = PubSocket::new(&ctx);
    partition_options(&mut publisher)?;
    let mut far = publisher.monitor();
    let ep = hosts
        .on_far_host(&ctx, publisher.bind(hosts.far_any_port()))
        .await?;
    let mut sub = SubSocket::new(&ctx);
    partition_options(&mut sub)?;
    sub.subscribe("A")?;
    let mut near = sub.monitor();
    sub.connect(ep.to_string().as_str()).await?;
    wait_handshakes(&mut near, 1).await;
    crossed_the_link(&mut far, &hosts).await?;
    until_received(&mut publisher, &mut sub).await?;
    let mut times = Times::default();
    let down = partition(&hosts);
    let up = detect_then_heal(&hosts, down, &mut near, Some(&mut far), &mut times).await?;
    // The subscription comes back with the connection: nothing to do but wait.
    until_received(&mut publisher, &mut sub).await?;
    times.delivered = up.elapsed();
    times.report(test);
    sub.close().await;
    publisher.close().await;
    Ok(())
}

async fn router_dealer_across_a_partition(ctx: Context) -> TestResult {
    let test = "router_dealer_across_a_partition";
    let hosts = hosts_or_skip!(test);
    let mut router = RouterSocket::new(&ctx);
    partition_options(&mut router)?;
    let mut far = router.monitor();
    let ep = hosts
        .on_far_host(&ctx, router.bind(hosts.far_any_port()))
        .await?;
    let mut dealer = DealerSocket::new(&ctx);
    partition_options(&mut dealer)?;
    dealer.set_option(SocketOption::RoutingId(bytes::Bytes::from_static(
        b"near-dealer",
    )))?;
    let mut near = dealer.monitor();
    dealer.connect(ep.to_string().as_str()).await?;
    let serve = async {
        loop {
            let mut request = router.recv().await?;
            let id = request.pop_front().expect("a routing id");
            assert_eq!(&id[..], b"near-dealer");
            let mut answer = reply(&request);
            answer.push_front(id);
            if let Err(e) = router.send(answer).await {
                eprintln!("netns {test}: a reply could not be sent: {e}");
            }
        }
    };
    let client = async {
        wait_handshakes(&mut near, 1).await;
        crossed_the_link(&mut far, &hosts).await?;
        dealer.send(canonical_message(0)).await?;
        assert_msg_eq(
            &bounded(dealer.recv()).await?,
            &reply(&canonical_message(0)),
            "reply 0",
        )?;
        let mut times = Times::default();
        let down = partition(&hosts);
        let up = detect_then_heal(&hosts, down, &mut near, Some(&mut far), &mut times).await?;
        // The router knows the dealer again by its routing id.
        dealer.send(canonical_message(1)).await?;
        assert_msg_eq(
            &bounded(dealer.recv()).await?,
            &reply(&canonical_message(1)),
            "the reply after the partition",
        )?;
        times.delivered = up.elapsed();
        times.report(test);
        Ok(())
    };
    serving(serve, client).await?;
    dealer.close().await;
    router.close().await;
    Ok(())
}

/// libzmq's heartbeats as ours: IVL, no TTL, TIMEOUT.
fn libzmq_heartbeats(spec: PeerSpec) -> PeerSpec {
    spec.heartbeat(IVL.as_millis() as u64, 0, TIMEOUT.as_millis() as u64)
}

async fn libzmq_pull_on_the_far_host(ctx: Context) -> TestResult {
    let test = "libzmq_pull_on_the_far_host";
    let hosts = hosts_or_skip!(test);
    let mut peer = libzmq_heartbeats(PeerSpec::new("PULL"))
        .under(hosts.exec_prefix())
        .scenario("script")
        .bind(&hosts.far_any_port())
        .start()
        .await;
    let mut push = PushSocket::new(&ctx);
    partition_options(&mut push)?;
    let mut near = push.monitor();
    push.connect(peer.endpoint()).await?;
    wait_handshakes(&mut near, 1).await;
    peer.send_line("VERIFY 50");
    for i in 0..50 {
        push.send(canonical_message(i)).await?;
    }
    peer.expect_line("OK 50").await;
    let mut times = Times::default();
    let down = partition(&hosts);
    let up = detect_then_heal(&hosts, down, &mut near, None, &mut times).await?;
    peer.send_line(&format!("VERIFY 1 {AFTER}"));
    push.send(canonical_message(AFTER)).await?;
    peer.expect_line("OK 1").await;
    times.delivered = up.elapsed();
    times.report(test);
    peer.send_line("QUIT");
    peer.wait_exit_ok().await;
    push.close().await;
    Ok(())
}

async fn libzmq_push_from_the_far_host(ctx: Context) -> TestResult {
    let test = "libzmq_push_from_the_far_host";
    let hosts = hosts_or_skip!(test);
    // Our bound PULL detects the partition; libzmq reconnects. Its connects fail at once while
    // the link is down (its end of the link is the one down: no route), so it retries every
    // RECONNECT_IVL and connects as soon as the link is up.
    let mut pull = PullSocket::new(&ctx);
    partition_options(&mut pull)?;
    let mut near = pull.monitor();
    let ep = pull.bind(hosts.near_any_port()).await?.to_string();
    let mut peer = libzmq_heartbeats(PeerSpec::new("PUSH"))
        .under(hosts.exec_prefix())
        .arg("--reconnect-ivl")
        .arg("50")
        .scenario("script")
        .connect(&ep)
        .start()
        .await;
    wait_handshakes(&mut near, 1).await;
    peer.send_line("SENDSEQ 50");
    for i in 0..50 {
        check_canonical(i, &peer.bounded("receiving", pull.recv()).await?)?;
    }
    let mut times = Times::default();
    let down = partition(&hosts);
    let up = detect_then_heal(&hosts, down, &mut near, None, &mut times).await?;
    peer.send_line(&format!("SENDSEQ 1 {AFTER}"));
    check_canonical(AFTER, &peer.bounded("receiving", pull.recv()).await?)?;
    times.delivered = up.elapsed();
    times.report(test);
    peer.send_line("QUIT");
    pull.close().await;
    Ok(())
}

async fn libzmq_rep_on_the_far_host(ctx: Context) -> TestResult {
    let test = "libzmq_rep_on_the_far_host";
    let hosts = hosts_or_skip!(test);
    // libzmq's REP checks that request i is canonical i and answers it: nothing may be in
    // flight when the link goes down.
    let mut peer = libzmq_heartbeats(PeerSpec::new("REP"))
        .under(hosts.exec_prefix())
        .scenario("serve 2")
        .bind(&hosts.far_any_port())
        .start()
        .await;
    let mut req = ReqSocket::new(&ctx);
    partition_options(&mut req)?;
    let mut near = req.monitor();
    req.connect(peer.endpoint()).await?;
    wait_handshakes(&mut near, 1).await;
    req.send(canonical_message(0)).await?;
    let answer = peer.bounded("reply 0", req.recv()).await?;
    assert_msg_eq(&answer, &reply(&canonical_message(0)), "reply 0")?;
    let mut times = Times::default();
    let down = partition(&hosts);
    let up = detect_then_heal(&hosts, down, &mut near, None, &mut times).await?;
    req.send(canonical_message(1)).await?;
    let answer = peer.bounded("reply 1", req.recv()).await?;
    assert_msg_eq(&answer, &reply(&canonical_message(1)), "reply 1")?;
    times.delivered = up.elapsed();
    times.report(test);
    peer.expect_line("OK 2").await;
    req.close().await;
    Ok(())
}

async fn libzmq_pub_on_the_far_host(ctx: Context) -> TestResult {
    let test = "libzmq_pub_on_the_far_host";
    let hosts = hosts_or_skip!(test);
    let mut peer = libzmq_heartbeats(PeerSpec::new("PUB"))
        .under(hosts.exec_prefix())
        .scenario("script")
        .bind(&hosts.far_any_port())
        .start()
        .await;
    let mut sub = SubSocket::new(&ctx);
    partition_options(&mut sub)?;
    sub.subscribe("A")?;
    let mut near = sub.monitor();
    sub.connect(peer.endpoint()).await?;
    wait_handshakes(&mut near, 1).await;
    // libzmq publishes a B and an A message until our SUB has an A one.
    async fn until_received(peer: &mut PyPeer, sub: &mut SubSocket) -> TestResult {
        let (unwanted, wanted) = (Message::from("B: not for us"), Message::from("A: wanted"));
        let deadline = Instant::now() + STEP_TIMEOUT;
        while Instant::now() < deadline {
            peer.send_msg(&unwanted).await;
            peer.send_msg(&wanted).await;
            if let Ok(msg) = within(ms(20), "an A message", sub.recv()).await {
                assert_msg_eq(&msg?, &wanted, "the published message")?;
                return Ok(());
            }
        }
        Err(peer.explain("no A message arrived").into())
    }
    until_received(&mut peer, &mut sub).await?;
    let mut times = Times::default();
    let down = partition(&hosts);
    let up = detect_then_heal(&hosts, down, &mut near, None, &mut times).await?;
    // Our subscription goes to libzmq's PUB again with the new connection.
    until_received(&mut peer, &mut sub).await?;
    times.delivered = up.elapsed();
    times.report(test);
    peer.send_line("QUIT");
    sub.close().await;
    Ok(())
}

/// Message `i` of the slow-link streams: `size` bytes, `i` first.
fn numbered(i: u64, size: usize) -> Message {
    let mut frame = i.to_be_bytes().to_vec();
    frame.extend(pattern_frame(size - 8, i as u8));
    Message::single(frame)
}

/// Streams `count` messages of `size` bytes from `push` to `pull` (sending and receiving at
/// once), checking each is whole and in order; how long it took.
async fn stream(
    push: &mut PushSocket,
    pull: &mut PullSocket,
    count: u64,
    size: usize,
) -> Result<Duration, String> {
    let start = Instant::now();
    let send = async {
        for i in 0..count {
            push.send(numbered(i, size))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    };
    let receive = async {
        for i in 0..count {
            let msg = pull.recv().await.map_err(|e| e.to_string())?;
            assert_msg_eq(&msg, &numbered(i, size), &format!("message {i}"))?;
        }
        Ok::<_, String>(start.elapsed())
    };
    let (sent, received) = bounded(async { futures::join!(send, receive) }).await;
    sent?;
    received
}

/// Our PULL bound on the far host and our PUSH connected from the near one, both with
/// heartbeats every `ivl` given up after `timeout`; their monitors.
async fn pipeline(
    ctx: &Context,
    hosts: &Hosts,
    ivl: Duration,
    timeout: Duration,
) -> Result<(PushSocket, Monitor, PullSocket, Monitor), Box<dyn std::error::Error + Send + Sync>> {
    let mut pull = PullSocket::new(ctx);
    heartbeating(&mut pull, ivl, timeout)?;
    let mut far = pull.monitor();
    let ep = hosts
        .on_far_host(ctx, pull.bind(hosts.far_any_port()))
        .await?;
    let mut push = PushSocket::new(ctx);
    heartbeating(&mut push, ivl, timeout)?;
    let mut near = push.monitor();
    push.connect(ep.to_string().as_str()).await?;
    wait_handshakes(&mut near, 1).await;
    crossed_the_link(&mut far, hosts).await?;
    Ok((push, near, pull, far))
}

async fn slow_link_delivers_a_mib_in_order(ctx: Context) -> TestResult {
    let test = "slow_link_delivers_a_mib_in_order";
    let hosts = hosts_or_skip!(test);
    const RATE_BITS: u64 = 4_000_000;
    hosts.qdisc(&[
        "tbf", "rate", "4mbit", "burst", "32kbit", "latency", "200ms",
    ])?;
    // PINGs often, but a generous TIMEOUT: a PING waits behind whatever the kernel already
    // holds for the slow link, and so does its PONG.
    let (mut push, mut near, mut pull, mut far) = pipeline(&ctx, &hosts, ms(50), ms(5000)).await?;
    let (count, size) = (256, 4096);
    let took = stream(&mut push, &mut pull, count, size).await?;
    let bytes = count * size as u64;
    let ideal = Duration::from_secs_f64((bytes * 8) as f64 / RATE_BITS as f64);
    eprintln!(
        "netns {test}: {bytes} bytes over a 4 mbit/s tbf link in {took:?} ({:.2} mbit/s; \
         {ideal:?} at the full rate), heartbeats every 50 ms, TIMEOUT 5 s",
        (bytes * 8) as f64 / took.as_secs_f64() / 1e6
    );
    never_disconnected(&mut near, "near side")?;
    never_disconnected(&mut far, "far side")?;
    // Not a timing bound: proof that the link was shaped at all (it can only be slower).
    assert!(
        took >= ideal / 2,
        "{took:?} for {bytes} bytes: the tbf qdisc did not shape the link"
    );
    push.close().await;
    pull.close().await;
    Ok(())
}

async fn delay_and_loss_between_the_hosts(ctx: Context) -> TestResult {
    let test = "delay_and_loss_between_the_hosts";
    let hosts = hosts_or_skip!(test);
    let netem = [
        "netem", "delay", "20ms", "10ms", "loss", "1%", "reorder", "10%",
    ];
    match hosts.qdisc(&netem) {
        Ok(()) => netem_stream(&ctx, &hosts, test).await,
        Err(why) => {
            eprintln!(
                "netns {test}: tc netem unavailable ({why}); delay and loss come from the \
                 fault proxy between the hosts instead"
            );
            proxy_faults(&ctx, &hosts, test).await
        }
    }
}

/// With netem's delay, loss and reordering on both ends: a stream arrives whole and in order,
/// and heartbeats (TIMEOUT 2 s) do not drop the link.
async fn netem_stream(ctx: &Context, hosts: &Hosts, test: &str) -> TestResult {
    let (mut push, mut near, mut pull, mut far) = pipeline(ctx, hosts, ms(50), ms(2000)).await?;
    let took = stream(&mut push, &mut pull, 256, 1024).await?;
    eprintln!(
        "netns {test}: 256 KiB through netem (delay 20±10 ms, 1% loss, 10% reordering) in {took:?}"
    );
    never_disconnected(&mut near, "near side")?;
    never_disconnected(&mut far, "far side")?;
    push.close().await;
    pull.close().await;
    Ok(())
}

/// The fault proxy in our namespace, forwarding to the far host: a short stall (a pause
/// heartbeats must bear), a fixed delay (a long link), a long stall (everything lost: heartbeats
/// give up, the connection is made again once it ends) and a cut (the connection lost).
async fn proxy_faults(ctx: &Context, hosts: &Hosts, test: &str) -> TestResult {
    let timeout = ms(1000);
    let mut pull = PullSocket::new(ctx);
    heartbeating(&mut pull, IVL, timeout)?;
    let mut far = pull.monitor();
    let ep = hosts
        .on_far_host(ctx, pull.bind(hosts.far_any_port()))
        .await?;
    let proxy = FaultProxy::new(ep.to_string().trim_start_matches("tcp://").parse()?);
    let mut push = PushSocket::new(ctx);
    heartbeating(&mut push, IVL, timeout)?;
    let mut near = push.monitor();
    push.connect(proxy.endpoint().as_str()).await?;
    wait_handshakes(&mut near, 1).await;
    crossed_the_link(&mut far, hosts).await?;

    // A delay: nothing crosses for 150 ms, then everything does; the heartbeats bear it.
    proxy.stall(true);
    for i in 0..50 {
        push.send(canonical_message(i)).await?;
    }
    sleep(ms(150)).await;
    proxy.stall(false);
    for i in 0..50 {
        check_canonical(i, &bounded(pull.recv()).await?)?;
    }
    never_disconnected(&mut near, "near side, after a 150 ms delay")?;
    never_disconnected(&mut far, "far side, after a 150 ms delay")?;

    // A long link: every chunk held back 80 ms each way (more than the heartbeat interval);
    // a stream crosses whole and in order, and the heartbeats bear the round trip.
    proxy.delay(ms(80));
    let delayed = Instant::now();
    let mut first = None;
    for i in 0..50 {
        push.send(canonical_message(1000 + i)).await?;
    }
    for i in 0..50 {
        check_canonical(1000 + i, &bounded(pull.recv()).await?)?;
        first.get_or_insert_with(|| delayed.elapsed());
    }
    proxy.delay(Duration::ZERO);
    eprintln!(
        "netns {test}: through an 80 ms-each-way link: the first message after {:?}, all 50 \
         after {:?}",
        first.unwrap_or_default(),
        delayed.elapsed()
    );
    never_disconnected(&mut near, "near side, on a long link")?;
    never_disconnected(&mut far, "far side, on a long link")?;

    // Everything lost until heartbeats give up on both sides. First a pause (pacing only):
    // the PONG to a PING held up by the delay may still be on its way, and caught in this
    // stall it would make the detection look earlier than TIMEOUT after it began.
    sleep(IVL * 2).await;
    proxy.stall(true);
    let stalled = Instant::now();
    for i in 50..100 {
        push.send(canonical_message(i)).await?;
    }
    let (detected, far_detected) = futures::join!(
        async {
            heartbeat_loss(&mut near, "near side").await?;
            Ok::<_, String>(stalled.elapsed())
        },
        async {
            heartbeat_loss(&mut far, "far side").await?;
            Ok::<_, String>(stalled.elapsed())
        },
    );
    let (detected, far_detected) = (detected?, far_detected?);
    let bound = timeout + IVL + MARGIN;
    assert!(
        far_detected.max(detected) <= bound,
        "detected after {detected:?} / {far_detected:?} (bound {bound:?})"
    );
    proxy.stall(false);
    let resumed = Instant::now();
    wait_handshakes(&mut near, 1).await;
    let handshake = resumed.elapsed();
    push.send(canonical_message(AFTER)).await?;
    let (lost, at) = receive_until_after(&mut pull, 50, 50).await?;
    eprintln!(
        "netns {test}: proxy stall detected after {detected:?}, far side {far_detected:?} \
         (IVL {IVL:?}, TIMEOUT {timeout:?}); after it ended, handshake in {handshake:?}, first \
         message in {:?}; of the 50 messages sent into the stall, {lost}",
        at - resumed
    );

    // The connection cut: made again at once, no heartbeat needed.
    let before = proxy.connections();
    proxy.cut();
    let cut = Instant::now();
    wait_event(&mut near, |e| {
        matches!(e, SocketEvent::Disconnected { .. }).then_some(())
    })
    .await;
    wait_handshakes(&mut near, 1).await;
    push.send(canonical_message(AFTER + 1)).await?;
    check_canonical(AFTER + 1, &bounded(pull.recv()).await?)?;
    eprintln!(
        "netns {test}: after a proxy cut, a message arrived again in {:?}",
        cut.elapsed()
    );
    assert!(proxy.connections() > before);
    push.close().await;
    pull.close().await;
    Ok(())
}

on_all_runtimes! {
    blackhole_with_a_connect_timeout: |ctx| blackhole_partition(ctx, Some(ms(250))),
    blackhole_without_a_connect_timeout: |ctx| blackhole_partition(ctx, None),
}

on_all_runtimes!(
    push_pull_across_a_partition,
    req_rep_across_a_partition,
    pub_sub_across_a_partition,
    router_dealer_across_a_partition,
    libzmq_pull_on_the_far_host,
    libzmq_push_from_the_far_host,
    libzmq_rep_on_the_far_host,
    libzmq_pub_on_the_far_host,
    slow_link_delivers_a_mib_in_order,
    delay_and_loss_between_the_hosts,
);
