//! Socket-pattern semantics with monocoque on both ends (the same patterns against libzmq are in
//! `interop_matrix.rs`): REQ/REP lock-step and envelopes, DEALER/ROUTER identities,
//! ROUTER_MANDATORY and ROUTER_HANDOVER, PUB drops at HWM while PUSH waits, SUB prefix filtering
//! with counted subscriptions, XPUB subscription messages with and without XPUB_VERBOSE, and a
//! ZMTP 3.0 subscriber (subscriptions as messages) against our publisher.

mod common;

use bytes::Bytes;
use common::*;
use monocoque::{
    Context, DealerSocket, Error, Message, PubSocket, PullSocket, PushSocket, RepSocket, ReqSocket,
    RouterSocket, SocketOption, SubSocket, XPubSocket, XSubSocket,
};
use std::io::{Read, Write};
use std::time::Duration;

/// Publishes `probe` until `recv_probe` sees it arrive: the subscriptions have reached the
/// publisher. What arrived before the probe (earlier probes) is dropped.
async fn publish_until_received(
    publisher: &mut PubSocket,
    probe: &'static str,
    mut received: impl FnMut() -> bool,
) {
    bounded(async {
        loop {
            publisher.send(probe).await.unwrap();
            sleep_ms(10).await; // pacing only: the loop ends on a received message
            if received() {
                break;
            }
        }
    })
    .await;
}

/// Receives until `marker` arrives, dropping what comes before it: afterwards nothing sent
/// before the marker is still on its way (one connection delivers in order).
async fn drain_until(sub: &mut SubSocket, marker: &'static str) {
    bounded(async { while sub.recv().await.unwrap() != Message::from(marker) {} }).await;
}

async fn req_rep_lock_step(ctx: Context) {
    let mut rep = RepSocket::new(&ctx);
    let endpoint = rep.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut req = ReqSocket::new(&ctx);
    req.connect(&endpoint).await.unwrap();
    assert!(matches!(req.recv().await, Err(Error::InvalidState(_))));
    assert!(matches!(rep.send("x").await, Err(Error::InvalidState(_))));
    for i in 0..20u8 {
        req.send(Message::from_frames([vec![i], vec![]]))
            .await
            .unwrap();
        assert!(matches!(
            req.send("again").await,
            Err(Error::InvalidState(_))
        ));
        let request = bounded(rep.recv()).await.unwrap();
        assert_eq!(request, Message::from_frames([vec![i], vec![]]));
        assert!(matches!(rep.recv().await, Err(Error::InvalidState(_))));
        rep.send(vec![i, i]).await.unwrap();
        assert_eq!(
            bounded(req.recv()).await.unwrap(),
            Message::from(vec![i, i])
        );
    }
}

/// The non-blocking forms keep the same state machine.
async fn req_rep_without_waiting(ctx: Context) {
    let mut rep = RepSocket::new(&ctx);
    let endpoint = rep.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut req = ReqSocket::new(&ctx);
    assert!(matches!(
        req.try_send("early").unwrap_err().error,
        Error::WouldBlock
    ));
    req.connect(&endpoint).await.unwrap();
    assert!(matches!(rep.try_recv(), Err(Error::WouldBlock)));
    req.try_send("ping").unwrap();
    assert!(matches!(
        req.try_send("again").unwrap_err().error,
        Error::InvalidState(_)
    ));
    assert!(matches!(req.try_recv(), Err(Error::WouldBlock)));
    let request = bounded(async {
        loop {
            match rep.try_recv() {
                Ok(msg) => return msg,
                Err(Error::WouldBlock) => sleep_ms(5).await,
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await;
    assert_eq!(request, Message::from("ping"));
    rep.try_send("pong").unwrap();
    assert_eq!(bounded(req.recv()).await.unwrap(), Message::from("pong"));
}

async fn req_relaxed_and_correlated(ctx: Context) {
    let mut rep = RepSocket::new(&ctx);
    let endpoint = rep.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut req = ReqSocket::new(&ctx);
    req.set_option(SocketOption::ReqRelaxed(true)).unwrap();
    req.set_option(SocketOption::ReqCorrelate(true)).unwrap();
    req.connect(&endpoint).await.unwrap();
    req.send("first").await.unwrap();
    assert_eq!(bounded(rep.recv()).await.unwrap(), Message::from("first"));
    // Relaxed: a second request while the first reply is outstanding.
    req.send("second").await.unwrap();
    rep.send("reply to first").await.unwrap();
    assert_eq!(bounded(rep.recv()).await.unwrap(), Message::from("second"));
    rep.send("reply to second").await.unwrap();
    // Correlated: the stale reply is dropped, the current one delivered.
    assert_eq!(
        bounded(req.recv()).await.unwrap(),
        Message::from("reply to second")
    );
}

async fn dealer_router_identities(ctx: Context) {
    let mut router = RouterSocket::new(&ctx);
    let endpoint = router.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut named = DealerSocket::new(&ctx);
    named
        .set_option(SocketOption::RoutingId(Bytes::from_static(b"named")))
        .unwrap();
    named.connect(&endpoint).await.unwrap();
    let mut anonymous = DealerSocket::new(&ctx);
    anonymous.connect(&endpoint).await.unwrap();
    named.send("from named").await.unwrap();
    anonymous.send("from anonymous").await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let msg = bounded(router.recv()).await.unwrap();
        assert_eq!(msg.len(), 2, "{msg:?}");
        ids.push((msg.frames()[0].clone(), msg.frames()[1].clone()));
    }
    ids.sort();
    let (generated, text) = &ids[0];
    assert_eq!(text, "from anonymous");
    assert_eq!(generated.len(), 5, "libzmq-style generated id");
    assert_eq!(generated[0], 0);
    assert_eq!(ids[1], (Bytes::from("named"), Bytes::from("from named")));
    // Replies route by id; the routing frame is not delivered.
    router
        .send(Message::from_frames([
            generated.clone(),
            Bytes::from("to anon"),
        ]))
        .await
        .unwrap();
    router
        .send(Message::from_frames(["named", "to named"]))
        .await
        .unwrap();
    assert_eq!(
        bounded(anonymous.recv()).await.unwrap(),
        Message::from("to anon")
    );
    assert_eq!(
        bounded(named.recv()).await.unwrap(),
        Message::from("to named")
    );
    // Unknown id: dropped silently, or an error with ROUTER_MANDATORY.
    router
        .send(Message::from_frames(["nobody", "x"]))
        .await
        .unwrap();
    router
        .set_option(SocketOption::RouterMandatory(true))
        .unwrap();
    assert!(matches!(
        router.send(Message::from_frames(["nobody", "x"])).await,
        Err(Error::HostUnreachable)
    ));
}

/// One bound ROUTER serving 1,000 connected DEALERs at once: every request arrives with a
/// distinct routing id and every reply reaches exactly the dealer that asked.
async fn router_serves_a_thousand_dealers(ctx: Context) {
    const DEALERS: usize = 1000;
    let mut router = RouterSocket::new(&ctx);
    router.set_option(SocketOption::RcvHwm(0)).unwrap();
    let endpoint = router.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut dealers = Vec::with_capacity(DEALERS);
    for i in 0..DEALERS {
        let mut dealer = DealerSocket::new(&ctx);
        dealer.connect(&endpoint).await.unwrap();
        dealer.send(format!("request {i}")).await.unwrap();
        dealers.push(dealer);
    }
    let mut ids = std::collections::HashSet::new();
    bounded(async {
        for _ in 0..DEALERS {
            let msg = router.recv().await.unwrap();
            assert_eq!(msg.len(), 2, "{msg:?}");
            let (id, body) = (msg.frames()[0].clone(), msg.frames()[1].clone());
            assert!(ids.insert(id.clone()), "routing id {id:?} seen twice");
            let reply = [b"reply to ".as_slice(), &body].concat();
            router
                .send(Message::from_frames([id, Bytes::from(reply)]))
                .await
                .unwrap();
        }
    })
    .await;
    for (i, dealer) in dealers.iter_mut().enumerate() {
        let reply = bounded(dealer.recv()).await.unwrap();
        assert_eq!(reply, Message::from(format!("reply to request {i}")));
    }
}

async fn router_handover(ctx: Context) {
    let mut router = RouterSocket::new(&ctx);
    let mut events = router.monitor();
    let endpoint = router.bind("tcp://127.0.0.1:*").await.unwrap();
    let named = |ctx: &Context| {
        let mut d = DealerSocket::new(ctx);
        d.set_option(SocketOption::RoutingId(Bytes::from_static(b"dup")))
            .unwrap();
        d
    };
    let mut first = named(&ctx);
    first.connect(&endpoint).await.unwrap();
    wait_handshakes(&mut events, 1).await;
    // Without handover the second "dup" is refused and the first keeps the id.
    let mut second = named(&ctx);
    second.connect(&endpoint).await.unwrap();
    let error = wait_handshake_failure(&mut events).await;
    assert!(
        matches!(error, monocoque::ConnectionError::Rejected(_)),
        "{error:?}"
    );
    router
        .send(Message::from_frames(["dup", "one"]))
        .await
        .unwrap();
    assert_eq!(bounded(first.recv()).await.unwrap(), Message::from("one"));
    drop(second);
    // With handover a newcomer takes the id over.
    router
        .set_option(SocketOption::RouterHandover(true))
        .unwrap();
    let endpoint2 = router.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut third = named(&ctx);
    third.connect(&endpoint2).await.unwrap();
    wait_handshakes(&mut events, 1).await;
    router
        .send(Message::from_frames(["dup", "two"]))
        .await
        .unwrap();
    assert_eq!(bounded(third.recv()).await.unwrap(), Message::from("two"));
}

async fn pub_drops_at_hwm_while_push_waits(ctx: Context) {
    // PUB: a subscriber that does not read loses messages beyond the HWMs; send never waits.
    let mut publisher = PubSocket::new(&ctx);
    publisher.set_option(SocketOption::SndHwm(10)).unwrap();
    let mut events = publisher.monitor();
    let endpoint = publisher.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut sub = SubSocket::new(&ctx);
    sub.set_option(SocketOption::RcvHwm(10)).unwrap();
    sub.subscribe("").unwrap();
    sub.connect(&endpoint).await.unwrap();
    wait_handshakes(&mut events, 1).await;
    // Publish until the subscription has arrived.
    publish_until_received(&mut publisher, "probe", || sub.try_recv().is_ok()).await;
    const N: u32 = 100_000;
    bounded(async {
        for i in 0..N {
            publisher.send(i.to_be_bytes().to_vec()).await.unwrap();
        }
    })
    .await;
    // The end marker may be dropped at the HWM too: repeat it until one arrives. Everything
    // published before it that was kept has arrived by then.
    let mut got = 0;
    bounded(async {
        loop {
            publisher.send("end").await.unwrap();
            match sub.try_recv() {
                Ok(msg) if msg == Message::from("end") => break,
                Ok(msg) if msg.frames()[0].len() == 4 => got += 1,
                Ok(_) => {} // a probe, or an earlier "end"
                Err(_) => sleep_ms(1).await,
            }
        }
    })
    .await;
    assert!(
        got > 0 && got < N,
        "PUB delivered {got} of {N}: it must drop at HWM"
    );
    // PUSH with the same HWMs and a slow reader: everything arrives.
    let mut pull = PullSocket::new(&ctx);
    pull.set_option(SocketOption::RcvHwm(10)).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut push = PushSocket::new(&ctx);
    push.set_option(SocketOption::SndHwm(10)).unwrap();
    push.connect(&endpoint).await.unwrap();
    let sender = async {
        for i in 0..2000u32 {
            push.send(i.to_be_bytes().to_vec()).await.unwrap();
        }
    };
    let receiver = async {
        for i in 0..2000u32 {
            assert_eq!(
                pull.recv().await.unwrap(),
                Message::from(i.to_be_bytes().to_vec())
            );
        }
    };
    bounded(futures::future::join(sender, receiver)).await;
}

async fn sub_filters_with_counted_subscriptions(ctx: Context) {
    let mut publisher = PubSocket::new(&ctx);
    let endpoint = publisher.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut sub = SubSocket::new(&ctx);
    sub.connect(&endpoint).await.unwrap();
    sub.subscribe("A").unwrap();
    sub.subscribe("A").unwrap();
    sub.subscribe("B").unwrap();
    // Publish until the subscriptions have arrived (B's: it was sent last), then drop the
    // probes still on their way.
    publish_until_received(&mut publisher, "B-probe", || sub.try_recv().is_ok()).await;
    publisher.send("A-sync").await.unwrap();
    drain_until(&mut sub, "A-sync").await;
    for topic in ["A1", "B1", "C1", "AB", "A-end"] {
        publisher.send(topic).await.unwrap();
    }
    // Exactly these, in order: C1 was filtered out.
    for want in ["A1", "B1", "AB", "A-end"] {
        assert_eq!(bounded(sub.recv()).await.unwrap(), Message::from(want));
    }
    // One unsubscribe of two: "A" stays; "B" goes. Once a B message no longer comes before
    // an A one, the cancel has arrived.
    sub.unsubscribe("A").unwrap();
    sub.unsubscribe("B").unwrap();
    bounded(async {
        loop {
            publisher.send("B-check").await.unwrap();
            publisher.send("A-check").await.unwrap();
            let first = sub.recv().await.unwrap();
            if first == Message::from("A-check") {
                break;
            }
            assert_eq!(first, Message::from("B-check"));
            assert_eq!(sub.recv().await.unwrap(), Message::from("A-check"));
        }
    })
    .await;
    for topic in ["B2", "A2", "C2", "A-end"] {
        publisher.send(topic).await.unwrap();
    }
    assert_eq!(bounded(sub.recv()).await.unwrap(), Message::from("A2"));
    // Nothing else matched: the marker published after comes next.
    assert_eq!(bounded(sub.recv()).await.unwrap(), Message::from("A-end"));
}

async fn xpub_subscription_messages(ctx: Context) {
    for verbose in [false, true] {
        let mut xpub = XPubSocket::new(&ctx);
        xpub.set_option(SocketOption::XpubVerbose(verbose)).unwrap();
        let endpoint = xpub.bind("tcp://127.0.0.1:*").await.unwrap();
        let mut a = SubSocket::new(&ctx);
        a.connect(&endpoint).await.unwrap();
        a.subscribe("T").unwrap();
        let mut b = XSubSocket::new(&ctx);
        b.connect(&endpoint).await.unwrap();
        b.send(vec![1u8, b'T']).await.unwrap();
        // Publish until both subscribers get messages: both subscriptions are in place.
        bounded(async {
            let (mut a_got, mut b_got) = (false, false);
            while !(a_got && b_got) {
                xpub.send("T-probe").await.unwrap();
                sleep_ms(10).await;
                a_got |= a.try_recv().is_ok();
                b_got |= b.try_recv().is_ok();
            }
        })
        .await;
        let sub_t = Message::from(vec![1u8, b'T']);
        let unsub_t = Message::from(vec![0u8, b'T']);
        assert_eq!(bounded(xpub.recv()).await.unwrap(), sub_t);
        if verbose {
            // Every subscribe is passed on, not only the first.
            assert_eq!(bounded(xpub.recv()).await.unwrap(), sub_t);
        }
        // One subscriber leaves (its cancel is synthesised), the other cancels: the topic's
        // last cancel reaches the application exactly once, whichever comes first.
        drop(a);
        b.send(vec![0u8, b'T']).await.unwrap();
        assert_eq!(bounded(xpub.recv()).await.unwrap(), unsub_t);
        // No second cancel: the next subscription message is the one sent after.
        b.send(vec![1u8, b'Z']).await.unwrap();
        let next = bounded(xpub.recv()).await.unwrap();
        assert_eq!(next, Message::from(vec![1u8, b'Z']), "verbose={verbose}");
    }
}

/// A ROUTER-DEALER broker through `proxy`, and an XSUB-XPUB forwarder through the steerable
/// proxy with a capture socket and a REP control socket (PAUSE, RESUME, STATISTICS, TERMINATE).
async fn proxies(ctx: Context) {
    // Request/reply broker.
    let mut frontend = RouterSocket::new(&ctx);
    let front = frontend.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut backend = DealerSocket::new(&ctx);
    let back = backend.bind("tcp://127.0.0.1:*").await.unwrap();
    let broker = async move {
        let _ = monocoque::proxy(&mut frontend, &mut backend).await;
    };
    let work = async {
        let mut worker = RepSocket::new(&ctx);
        worker.connect(&back).await.unwrap();
        let mut client = ReqSocket::new(&ctx);
        client.connect(&front).await.unwrap();
        for i in 0..10u8 {
            client.send(vec![i]).await.unwrap();
            let request = worker.recv().await.unwrap();
            worker
                .send(vec![request.frames()[0][0] + 100])
                .await
                .unwrap();
            assert_eq!(client.recv().await.unwrap(), Message::from(vec![i + 100]));
        }
    };
    bounded(async {
        futures::pin_mut!(broker, work);
        futures::future::select(broker, work).await;
    })
    .await;

    // Steerable pub/sub forwarder.
    let mut xsub = XSubSocket::new(&ctx);
    let upstream = xsub.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut xpub = XPubSocket::new(&ctx);
    let downstream = xpub.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut capture = PushSocket::new(&ctx);
    let captured = capture.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut control = RepSocket::new(&ctx);
    let control_ep = control.bind("tcp://127.0.0.1:*").await.unwrap();
    let forwarder = async move {
        monocoque::proxy_steerable(&mut xsub, &mut xpub, Some(&mut capture), &mut control).await
    };
    let drive = async {
        let mut publisher = PubSocket::new(&ctx);
        publisher.connect(&upstream).await.unwrap();
        let mut subscriber = SubSocket::new(&ctx);
        subscriber.connect(&downstream).await.unwrap();
        subscriber.subscribe("w").unwrap();
        let mut tap = PullSocket::new(&ctx);
        tap.connect(&captured).await.unwrap();
        let mut steer = ReqSocket::new(&ctx);
        steer.connect(&control_ep).await.unwrap();
        // The subscription travels subscriber -> XPUB -> proxy -> XSUB -> publisher.
        loop {
            publisher.send("w probe").await.unwrap();
            sleep_ms(10).await;
            if subscriber.try_recv().is_ok() {
                break;
            }
        }
        // The capture socket saw the subscription going up and the probe coming down.
        assert_eq!(tap.recv().await.unwrap(), Message::from(vec![1u8, b'w']));
        assert_eq!(tap.recv().await.unwrap(), Message::from("w probe"));
        steer.send("STATISTICS").await.unwrap();
        let stats = steer.recv().await.unwrap();
        assert_eq!(stats.len(), 8);
        let frontend_msgs_in = u64::from_ne_bytes(stats.frames()[0][..].try_into().unwrap());
        assert!(frontend_msgs_in >= 1, "{stats:?}");
        steer.send("TERMINATE").await.unwrap();
        // Kept alive until the proxy has stopped: a capture PUSH with no peer left would wait
        // (as libzmq's does), and the subscriber leaving would send it a cancel to capture.
        (publisher, subscriber, tap, steer)
    };
    let (result, sockets) = bounded(futures::future::join(forwarder, drive)).await;
    result.unwrap();
    drop(sockets);
}

/// INVERT_MATCHING on both ends: the subscriber gets what matches none of its subscriptions.
async fn invert_matching(ctx: Context) {
    let mut publisher = PubSocket::new(&ctx);
    publisher
        .set_option(SocketOption::InvertMatching(true))
        .unwrap();
    let endpoint = publisher.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut sub = SubSocket::new(&ctx);
    sub.set_option(SocketOption::InvertMatching(true)).unwrap();
    sub.subscribe("A").unwrap();
    sub.connect(&endpoint).await.unwrap();
    publish_until_received(&mut publisher, "B-probe", || sub.try_recv().is_ok()).await;
    publisher.send("B-sync").await.unwrap();
    drain_until(&mut sub, "B-sync").await;
    for topic in ["A1", "B1", "AB", "C1", "Z-end"] {
        publisher.send(topic).await.unwrap();
    }
    // Exactly these, in order: the A ones were filtered out.
    for want in ["B1", "C1", "Z-end"] {
        assert_eq!(bounded(sub.recv()).await.unwrap(), Message::from(want));
    }
}

/// IMMEDIATE: nothing is queued to an endpoint that is not connected yet.
async fn immediate_skips_endpoints_not_connected(ctx: Context) {
    let mut pull = PullSocket::new(&ctx);
    let live = pull.bind("tcp://127.0.0.1:*").await.unwrap();
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut push = PushSocket::new(&ctx);
    push.set_option(SocketOption::Immediate(true)).unwrap();
    let mut events = push.monitor();
    push.connect(format!("tcp://127.0.0.1:{dead_port}").as_str())
        .await
        .unwrap();
    push.connect(&live).await.unwrap();
    wait_handshakes(&mut events, 1).await;
    for i in 0..10u8 {
        push.send(vec![i]).await.unwrap();
    }
    for i in 0..10u8 {
        assert_eq!(bounded(pull.recv()).await.unwrap(), Message::from(vec![i]));
    }
}

/// CONFLATE: only the newest message waits to be received.
async fn conflate_keeps_the_newest(ctx: Context) {
    let mut pull = PullSocket::new(&ctx);
    pull.set_option(SocketOption::Conflate(true)).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut push = PushSocket::new(&ctx);
    push.connect(&endpoint).await.unwrap();
    for i in 0..100u8 {
        push.send(vec![i]).await.unwrap();
    }
    push.send("last").await.unwrap();
    // Pacing, not a check: give the messages time to arrive, so that they pile up and are
    // conflated (if they are slow the assertion below fails; it never passes wrongly).
    sleep_ms(300).await;
    // Without conflation all 100 earlier messages would still be waiting before "last".
    let mut older = 0;
    bounded(async {
        while pull.recv().await.unwrap() != Message::from("last") {
            older += 1;
        }
    })
    .await;
    assert!(older < 100, "{older} stale messages were kept");
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));

    // Outbound: a conflating PUSH whose peer is not there yet keeps only the newest message.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let mut push = PushSocket::new(&ctx);
    push.set_option(SocketOption::Conflate(true)).unwrap();
    push.connect(endpoint.as_str()).await.unwrap();
    for i in 0..100u8 {
        push.try_send(vec![i]).unwrap();
    }
    push.send("newest").await.unwrap();
    let mut pull = PullSocket::new(&ctx);
    pull.bind(endpoint.as_str()).await.unwrap();
    assert_eq!(bounded(pull.recv()).await.unwrap(), Message::from("newest"));
    // Nothing older follows: the next message is one sent now.
    push.send("probe").await.unwrap();
    assert_eq!(bounded(pull.recv()).await.unwrap(), Message::from("probe"));
}

/// XPUB_MANUAL: subscriptions reach the application and take effect only when it applies them.
async fn xpub_manual(ctx: Context) {
    let mut xpub = XPubSocket::new(&ctx);
    xpub.set_option(SocketOption::XpubManual(true)).unwrap();
    let endpoint = xpub.bind("tcp://127.0.0.1:*").await.unwrap();
    assert!(matches!(xpub.subscribe("x"), Err(Error::InvalidState(_))));
    let mut sub = SubSocket::new(&ctx);
    sub.connect(&endpoint).await.unwrap();
    sub.subscribe("x").unwrap();
    assert_eq!(
        bounded(xpub.recv()).await.unwrap(),
        Message::from(vec![1u8, b'x'])
    );
    // Not applied yet: x1 goes nowhere, so x2, sent once it is applied, comes first.
    xpub.send("x1").await.unwrap();
    xpub.subscribe("x").unwrap();
    xpub.send("x2").await.unwrap();
    assert_eq!(bounded(sub.recv()).await.unwrap(), Message::from("x2"));
}

/// PROBE_ROUTER: a ROUTER hears of a new DEALER at once (an empty message with its id);
/// XPUB_WELCOME_MSG: a new subscriber is greeted.
async fn probe_router_and_welcome_message(ctx: Context) {
    let mut router = RouterSocket::new(&ctx);
    let endpoint = router.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut dealer = DealerSocket::new(&ctx);
    dealer.set_option(SocketOption::ProbeRouter(true)).unwrap();
    dealer
        .set_option(SocketOption::RoutingId(Bytes::from_static(b"probe")))
        .unwrap();
    dealer.connect(&endpoint).await.unwrap();
    assert_eq!(
        bounded(router.recv()).await.unwrap(),
        Message::from_frames(["probe", ""])
    );
    let mut xpub = XPubSocket::new(&ctx);
    xpub.set_option(SocketOption::XpubWelcomeMsg(Some(Bytes::from_static(
        b"welcome",
    ))))
    .unwrap();
    let endpoint = xpub.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut sub = SubSocket::new(&ctx);
    sub.subscribe("").unwrap();
    sub.connect(&endpoint).await.unwrap();
    assert_eq!(bounded(sub.recv()).await.unwrap(), Message::from("welcome"));
}

/// A ZMTP 3.0 subscriber: greets with minor version 0 and subscribes with a message
/// (`0x01 + topic`), as libzmq 4.0/4.1 do. Our publisher must accept that form.
async fn zmtp30_subscriber(ctx: Context) {
    let mut publisher = PubSocket::new(&ctx);
    let endpoint = publisher.bind("tcp://127.0.0.1:*").await.unwrap();
    let port: u16 = endpoint
        .to_string()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut hello = vec![0u8; 64];
        hello[0] = 0xff;
        hello[9] = 0x7f;
        hello[10] = 3; // ZMTP 3.0
        hello[12..16].copy_from_slice(b"NULL");
        let ready = b"\x04\x19\x05READY\x0bSocket-Type\x00\x00\x00\x03SUB";
        hello.extend_from_slice(ready);
        hello.extend_from_slice(&[0x00, 0x02, 0x01, b'N']); // subscribe "N" as a message
        s.write_all(&hello).unwrap();
        // Read until a message frame "News" arrives after our greeting and READY.
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).unwrap();
            assert!(n > 0, "publisher closed the 3.0 subscriber");
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(6).any(|w| w == b"\x00\x04News") {
                tx.send(()).unwrap();
                return;
            }
        }
    });
    bounded(async {
        loop {
            publisher.send("Other").await.unwrap();
            publisher.send("News").await.unwrap();
            sleep_ms(20).await;
            if rx.try_recv().is_ok() {
                break;
            }
        }
    })
    .await;
}

on_all_runtimes!(
    req_rep_lock_step,
    req_relaxed_and_correlated,
    req_rep_without_waiting,
    dealer_router_identities,
    router_handover,
    router_serves_a_thousand_dealers,
    pub_drops_at_hwm_while_push_waits,
    sub_filters_with_counted_subscriptions,
    xpub_subscription_messages,
    zmtp30_subscriber,
    proxies,
    invert_matching,
    immediate_skips_endpoints_not_connected,
    conflate_keeps_the_newest,
    xpub_manual,
    probe_router_and_welcome_message,
);
