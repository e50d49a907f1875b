//! Each socket type's policy, tested without OS sockets: real sockets, engines and ZMTP
//! handshakes over `memory::MemoryTransport`, on a current-thread tokio runtime. Against libzmq
//! the same patterns run in `monocoque/tests/interop_*.rs`.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use monocoque_core::{Error, Message, SocketOption};
use monocoque_runtime::TokioRuntime;
use monocoque_zmtp::memory::MemoryTransport;
use monocoque_zmtp::{
    Context, DealerSocket, Monitor, PairSocket, PubSocket, PullSocket, PushSocket, RepSocket,
    ReqSocket, RouterSocket, SocketEvent, SubSocket,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Runs `test` with a context whose `tcp://` is in memory, failing after 20 s.
fn run<F: Future<Output = ()>>(test: impl FnOnce(Context) -> F) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = Arc::new(TokioRuntime::from_handle(rt.handle().clone()));
    let ctx = Context::new(runtime).with_transport(MemoryTransport::default());
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), Box::pin(test(ctx)))
            .await
            .expect("test timed out");
    });
}

const ANY: &str = "tcp://127.0.0.1:*";

async fn handshakes(events: &mut Monitor, n: usize) {
    let mut seen = 0;
    while seen < n {
        if let SocketEvent::HandshakeSucceeded { .. } = events.recv().await.unwrap() {
            seen += 1;
        }
    }
}

#[test]
fn push_spreads_round_robin_and_waits_at_the_hwm() {
    run(|ctx| async move {
        let mut push = PushSocket::new(&ctx);
        push.set_option(SocketOption::SndHwm(5)).unwrap();
        let mut events = push.monitor();
        let mut pulls = Vec::new();
        for _ in 0..3 {
            let mut pull = PullSocket::new(&ctx);
            pull.set_option(SocketOption::RcvHwm(5)).unwrap();
            let endpoint = pull.bind(ANY).await.unwrap();
            push.connect(&endpoint).await.unwrap();
            pulls.push(pull);
        }
        handshakes(&mut events, 3).await;
        for i in 0..9u8 {
            push.send(vec![i]).await.unwrap();
        }
        for (k, pull) in pulls.iter_mut().enumerate() {
            for round in 0..3u8 {
                let want = round * 3 + k as u8;
                assert_eq!(pull.recv().await.unwrap(), Message::from(vec![want]));
            }
        }
        // Nobody reads: the queues fill (16 KiB messages fill the streams quickly), and then
        // try_send hands the message back.
        let body = |n: u32| Message::from_frames([n.to_be_bytes().to_vec(), vec![0; 16 << 10]]);
        let mut sent = 0u32;
        loop {
            match push.try_send(body(sent)) {
                Ok(()) => sent += 1,
                Err(e) => {
                    assert!(matches!(e.error, Error::WouldBlock), "{e}");
                    assert_eq!(e.message, body(sent));
                    break;
                }
            }
            // Let the connections move what they can, so that every queue fills.
            tokio::task::yield_now().await;
        }
        // A waiting send with SNDTIMEO times out and keeps its message.
        push.set_option(SocketOption::SndTimeo(Some(Duration::from_millis(20))))
            .unwrap();
        assert!(matches!(push.send("late").await, Err(Error::Timeout)));
        assert_eq!(push.take_unsent(), Some(Message::from("late")));
        // Everything try_send accepted arrives.
        let mut got = 0;
        for pull in &mut pulls {
            while pull.try_recv().is_ok() {
                got += 1;
            }
        }
        let mut rest = 0;
        while got + rest < sent {
            for pull in &mut pulls {
                if let Ok(Some(Ok(_))) =
                    tokio::time::timeout(Duration::from_millis(50), pull.next()).await
                {
                    rest += 1;
                }
            }
        }
        assert_eq!(got + rest, sent);
    });
}

#[test]
fn a_cancelled_send_keeps_its_message() {
    run(|ctx| async move {
        // No peer: a send waits for one.
        let mut dealer = DealerSocket::new(&ctx);
        {
            let send = dealer.send("kept");
            let cancelled = tokio::time::timeout(Duration::from_millis(20), send).await;
            assert!(cancelled.is_err(), "sent to nobody?");
        }
        assert_eq!(dealer.take_unsent(), Some(Message::from("kept")));
        assert_eq!(dealer.take_unsent(), None);
        // Dropped before its first poll: kept too.
        drop(dealer.send("never polled"));
        assert_eq!(dealer.take_unsent(), Some(Message::from("never polled")));
    });
}

#[test]
fn router_routes_by_id_and_refuses_or_hands_over_duplicates() {
    run(|ctx| async move {
        let mut router = RouterSocket::new(&ctx);
        let mut events = router.monitor();
        let endpoint = router.bind(ANY).await.unwrap();
        let named = |ctx: &Context| {
            let mut d = DealerSocket::new(ctx);
            d.set_option(SocketOption::RoutingId(Bytes::from_static(b"w1")))
                .unwrap();
            d
        };
        let mut w1 = named(&ctx);
        w1.connect(&endpoint).await.unwrap();
        let mut anonymous = DealerSocket::new(&ctx);
        anonymous.connect(&endpoint).await.unwrap();
        handshakes(&mut events, 2).await;
        anonymous.send("hi").await.unwrap();
        let msg = router.recv().await.unwrap();
        let generated = msg.frames()[0].clone();
        assert_eq!((generated.len(), generated[0]), (5, 0), "a libzmq-style id");
        router
            .send(Message::from_frames([
                generated.clone(),
                Bytes::from_static(b"to anon"),
            ]))
            .await
            .unwrap();
        router
            .send(Message::from_frames(["w1", "to w1"]))
            .await
            .unwrap();
        assert_eq!(anonymous.recv().await.unwrap(), Message::from("to anon"));
        assert_eq!(w1.recv().await.unwrap(), Message::from("to w1"));
        // Unknown: dropped, or refused with ROUTER_MANDATORY.
        router
            .send(Message::from_frames(["nobody", "x"]))
            .await
            .unwrap();
        router
            .set_option(SocketOption::RouterMandatory(true))
            .unwrap();
        let refused = router.send(Message::from_frames(["nobody", "x"])).await;
        assert!(
            matches!(refused, Err(Error::HostUnreachable)),
            "{refused:?}"
        );
        assert_eq!(
            router.take_unsent(),
            Some(Message::from_frames(["nobody", "x"])),
            "given back whole, routing id included"
        );
        // A second "w1" is refused without ROUTER_HANDOVER...
        let mut second = named(&ctx);
        second.connect(&endpoint).await.unwrap();
        loop {
            if let SocketEvent::HandshakeFailed { .. } = events.recv().await.unwrap() {
                break;
            }
        }
        router
            .send(Message::from_frames(["w1", "still"]))
            .await
            .unwrap();
        assert_eq!(w1.recv().await.unwrap(), Message::from("still"));
        drop(second);
        // ...and takes over with it.
        router
            .set_option(SocketOption::RouterHandover(true))
            .unwrap();
        let endpoint2 = router.bind(ANY).await.unwrap();
        let mut third = named(&ctx);
        third.connect(&endpoint2).await.unwrap();
        handshakes(&mut events, 1).await;
        router
            .send(Message::from_frames(["w1", "new"]))
            .await
            .unwrap();
        assert_eq!(third.recv().await.unwrap(), Message::from("new"));
    });
}

#[test]
fn req_rep_in_lock_step_with_envelopes() {
    run(|ctx| async move {
        let mut rep = RepSocket::new(&ctx);
        let endpoint = rep.bind(ANY).await.unwrap();
        let mut req = ReqSocket::new(&ctx);
        req.connect(&endpoint).await.unwrap();
        assert!(matches!(req.recv().await, Err(Error::InvalidState(_))));
        for i in 0..10u8 {
            req.send(vec![i]).await.unwrap();
            assert!(matches!(
                req.send("again").await,
                Err(Error::InvalidState(_))
            ));
            assert_eq!(rep.recv().await.unwrap(), Message::from(vec![i]));
            rep.send(vec![i, i]).await.unwrap();
            assert_eq!(req.recv().await.unwrap(), Message::from(vec![i, i]));
        }
        // A REQ whose send was cancelled has no request out: it may send again.
        let mut lonely = ReqSocket::new(&ctx);
        let _ = tokio::time::timeout(Duration::from_millis(10), lonely.send("q")).await;
        assert_eq!(lonely.take_unsent(), Some(Message::from("q")));
        assert!(matches!(lonely.recv().await, Err(Error::InvalidState(_))));
    });
}

#[test]
fn sub_receives_what_matches() {
    run(|ctx| async move {
        let mut publisher = PubSocket::new(&ctx);
        let endpoint = publisher.bind(ANY).await.unwrap();
        let mut sub = SubSocket::new(&ctx);
        sub.subscribe("A").unwrap();
        sub.connect(&endpoint).await.unwrap();
        // Publish until the subscription has arrived.
        loop {
            publisher.send("A-probe").await.unwrap();
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(10), sub.recv()).await {
                break;
            }
        }
        publisher.send("A-sync").await.unwrap();
        while sub.recv().await.unwrap() != Message::from("A-sync") {}
        for topic in ["A1", "B1", "AB", "A-end"] {
            publisher.send(topic).await.unwrap();
        }
        let got: Vec<Message> = (&mut sub).take(3).map(Result::unwrap).collect().await;
        assert_eq!(got, ["A1", "AB", "A-end"].map(Message::from));
    });
}

/// A DEALER split in two: one task sends while another receives, on the same socket.
#[test]
fn split_halves_send_and_receive_at_once() {
    run(|ctx| async move {
        let mut router = RouterSocket::new(&ctx);
        // Waits when the DEALER's queue is full, instead of dropping the echo.
        router
            .set_option(SocketOption::RouterMandatory(true))
            .unwrap();
        let endpoint = router.bind(ANY).await.unwrap();
        let echo = async move {
            loop {
                let msg = router.recv().await.unwrap();
                router.send(msg).await.unwrap();
            }
        };
        let mut dealer = DealerSocket::new(&ctx);
        dealer.connect(&endpoint).await.unwrap();
        let (mut tx, mut rx) = dealer.split();
        const N: u32 = 2000;
        let sending = async {
            // Through the Sink: fed one by one, flushed at the end.
            for i in 0..N {
                tx.feed(Message::from(i.to_be_bytes().to_vec()))
                    .await
                    .unwrap();
            }
            tx.flush().await.unwrap();
        };
        let receiving = async {
            for i in 0..N {
                let msg = rx.next().await.unwrap().unwrap();
                assert_eq!(msg, Message::from(i.to_be_bytes().to_vec()));
            }
        };
        tokio::select! {
            _ = echo => unreachable!(),
            _ = async { futures::join!(sending, receiving) } => {}
        }
    });
}

/// The Sink's batch keeps PUSH's round-robin per message: fed and flushed together, nine
/// messages go 0, 3, 6 / 1, 4, 7 / 2, 5, 8 over three peers, as nine sends would.
#[test]
fn push_sink_batch_spreads_round_robin_per_message() {
    run(|ctx| async move {
        let mut push = PushSocket::new(&ctx);
        let mut events = push.monitor();
        let mut pulls = Vec::new();
        for _ in 0..3 {
            let mut pull = PullSocket::new(&ctx);
            let endpoint = pull.bind(ANY).await.unwrap();
            push.connect(&endpoint).await.unwrap();
            pulls.push(pull);
        }
        handshakes(&mut events, 3).await;
        for i in 0..9u8 {
            push.feed(Message::from(vec![i])).await.unwrap();
        }
        push.flush().await.unwrap();
        let mut firsts = Vec::new();
        for pull in &mut pulls {
            let got: Vec<u8> = [
                pull.recv().await.unwrap(),
                pull.recv().await.unwrap(),
                pull.recv().await.unwrap(),
            ]
            .iter()
            .map(|m| m.frames()[0][0])
            .collect();
            assert_eq!(got[1], got[0] + 3, "{got:?}");
            assert_eq!(got[2], got[0] + 6, "{got:?}");
            firsts.push(got[0]);
        }
        firsts.sort_unstable();
        assert_eq!(firsts, [0, 1, 2]);
    });
}

/// Batches larger than the peer's room: with SNDHWM and RCVHWM at 5, a thousand fed messages
/// (several batches, each placed a few at a time as room appears) all arrive, in order.
#[test]
fn push_sink_batches_wait_for_room_and_lose_nothing() {
    run(|ctx| async move {
        let mut pull = PullSocket::new(&ctx);
        pull.set_option(SocketOption::RcvHwm(5)).unwrap();
        let endpoint = pull.bind(ANY).await.unwrap();
        let mut push = PushSocket::new(&ctx);
        push.set_option(SocketOption::SndHwm(5)).unwrap();
        push.connect(&endpoint).await.unwrap();
        const N: u32 = 1000;
        let sending = async {
            for i in 0..N {
                push.feed(Message::from(i.to_be_bytes().to_vec()))
                    .await
                    .unwrap();
            }
            push.flush().await.unwrap();
        };
        let receiving = async {
            for i in 0..N {
                let msg = pull.recv().await.unwrap();
                assert_eq!(msg, Message::from(i.to_be_bytes().to_vec()));
            }
        };
        futures::join!(sending, receiving);
    });
}

/// What the Sink accepted and no flush placed still goes out on close, within linger, after
/// what was sent before it and before nothing else.
#[test]
fn push_sink_messages_fed_but_not_flushed_go_out_on_close() {
    run(|ctx| async move {
        let mut pull = PullSocket::new(&ctx);
        let endpoint = pull.bind(ANY).await.unwrap();
        let mut push = PushSocket::new(&ctx);
        let mut events = push.monitor();
        push.connect(&endpoint).await.unwrap();
        handshakes(&mut events, 1).await;
        push.send("first").await.unwrap();
        for i in 0..10u8 {
            push.feed(Message::from(vec![i])).await.unwrap();
        }
        push.close().await;
        assert_eq!(pull.recv().await.unwrap(), Message::from("first"));
        for i in 0..10u8 {
            assert_eq!(pull.recv().await.unwrap(), Message::from(vec![i]));
        }
    });
}

/// As libzmq (EINVAL): `*` names every local interface, which a socket binds to but cannot
/// connect to; the connect fails at once and leaves nothing behind.
#[test]
fn connect_to_every_interface_is_refused() {
    run(|ctx| async move {
        let mut push = PushSocket::new(&ctx);
        match push.connect("tcp://*:5555").await {
            Err(Error::Endpoint(e)) => assert!(e.to_string().contains("for bind"), "{e}"),
            other => panic!("connect to tcp://*:5555: {other:?}"),
        }
        assert!(matches!(
            push.try_send("no peer"),
            Err(e) if matches!(e.error, Error::WouldBlock)
        ));
    });
}

/// As libzmq (EINVAL): an option of another pattern is refused, and leaves the socket as it
/// was; an option of the socket's own pattern is taken.
#[test]
fn options_of_another_pattern_are_refused() {
    run(|ctx| async move {
        let mut dealer = DealerSocket::new(&ctx);
        for option in [
            SocketOption::ReqRelaxed(true),
            SocketOption::RouterMandatory(true),
            SocketOption::XpubVerbose(true),
        ] {
            let got = dealer.set_option(option.clone());
            assert!(
                matches!(got, Err(Error::InvalidOption { .. })),
                "{option:?}: {got:?}"
            );
        }
        dealer.set_option(SocketOption::ProbeRouter(true)).unwrap();
        let mut router = RouterSocket::new(&ctx);
        router
            .set_option(SocketOption::RouterMandatory(true))
            .unwrap();
        let mut req = ReqSocket::new(&ctx);
        req.set_option(SocketOption::ReqRelaxed(true)).unwrap();
        let mut publisher = PubSocket::new(&ctx);
        publisher
            .set_option(SocketOption::XpubVerbose(true))
            .unwrap();
        let mut sub = SubSocket::new(&ctx);
        assert!(sub.set_option(SocketOption::XpubManual(true)).is_err());
    });
}

#[test]
fn pair_refuses_a_second_peer_and_monitor_reports_it() {
    run(|ctx| async move {
        let mut a = PairSocket::new(&ctx);
        let mut events = a.monitor();
        let endpoint = a.bind(ANY).await.unwrap();
        let mut b = PairSocket::new(&ctx);
        b.connect(&endpoint).await.unwrap();
        let mut c = PairSocket::new(&ctx);
        c.connect(&endpoint).await.unwrap();
        let mut seen = Vec::new();
        while !seen
            .iter()
            .any(|e| matches!(e, SocketEvent::HandshakeFailed { .. }))
        {
            seen.push(events.recv().await.unwrap());
        }
        assert!(matches!(seen[0], SocketEvent::Listening { .. }), "{seen:?}");
        b.send("ping").await.unwrap();
        assert_eq!(a.recv().await.unwrap(), Message::from("ping"));
        // The monitor's stream ends with the socket.
        drop((a, b, c));
        while events.next().await.is_some() {}
    });
}
