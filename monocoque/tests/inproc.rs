//! `inproc://` between sockets of one context: every pattern, bind and connect in either order,
//! messages passed by value, incompatible types refused, unbind and close.

mod common;

use bytes::Bytes;
use common::*;
use monocoque::{
    Context, DealerSocket, Error, Message, PairSocket, PubSocket, PullSocket, PushSocket,
    RepSocket, ReqSocket, RouterSocket, SocketOption, SubSocket, XPubSocket, XSubSocket,
};

fn name(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("inproc://{tag}-{}", N.fetch_add(1, Ordering::Relaxed))
}

async fn push_pull_either_order(ctx: Context) {
    for connect_first in [false, true] {
        let ep = name("pipeline");
        let mut pull = PullSocket::new(&ctx);
        let mut push = PushSocket::new(&ctx);
        push.set_option(SocketOption::SndHwm(10)).unwrap();
        if connect_first {
            push.connect(ep.as_str()).await.unwrap();
            push.send("early").await.unwrap();
            pull.bind(ep.as_str()).await.unwrap();
        } else {
            pull.bind(ep.as_str()).await.unwrap();
            push.connect(ep.as_str()).await.unwrap();
            push.send("early").await.unwrap();
        }
        assert_eq!(bounded(pull.recv()).await.unwrap(), Message::from("early"));
        let sender = async {
            for i in 0..10_000u32 {
                push.send(Message::from_frames([i.to_be_bytes().to_vec(), vec![]]))
                    .await
                    .unwrap();
            }
        };
        let receiver = async {
            for i in 0..10_000u32 {
                let msg = pull.recv().await.unwrap();
                assert_eq!(
                    msg,
                    Message::from_frames([i.to_be_bytes().to_vec(), vec![]])
                );
            }
        };
        bounded(futures::future::join(sender, receiver)).await;
    }
}

async fn request_reply_and_routing(ctx: Context) {
    let ep = name("reqrep");
    let mut rep = RepSocket::new(&ctx);
    rep.bind(ep.as_str()).await.unwrap();
    let mut req = ReqSocket::new(&ctx);
    req.connect(ep.as_str()).await.unwrap();
    for i in 0..5u8 {
        req.send(vec![i]).await.unwrap();
        assert_eq!(bounded(rep.recv()).await.unwrap(), Message::from(vec![i]));
        rep.send(vec![i, i]).await.unwrap();
        assert_eq!(
            bounded(req.recv()).await.unwrap(),
            Message::from(vec![i, i])
        );
    }
    let ep = name("router");
    let mut router = RouterSocket::new(&ctx);
    router.bind(ep.as_str()).await.unwrap();
    let mut dealer = DealerSocket::new(&ctx);
    dealer
        .set_option(SocketOption::RoutingId(Bytes::from_static(b"d1")))
        .unwrap();
    dealer.connect(ep.as_str()).await.unwrap();
    dealer.send("hi").await.unwrap();
    assert_eq!(
        bounded(router.recv()).await.unwrap(),
        Message::from_frames(["d1", "hi"])
    );
    router
        .send(Message::from_frames(["d1", "back"]))
        .await
        .unwrap();
    assert_eq!(bounded(dealer.recv()).await.unwrap(), Message::from("back"));
}

async fn publish_subscribe(ctx: Context) {
    let ep = name("pubsub");
    let mut publisher = PubSocket::new(&ctx);
    let mut sub = SubSocket::new(&ctx);
    sub.subscribe("a").unwrap();
    sub.connect(ep.as_str()).await.unwrap(); // before the bind
    publisher.bind(ep.as_str()).await.unwrap();
    bounded(async {
        loop {
            publisher.send("b-skip").await.unwrap();
            publisher.send("a-probe").await.unwrap();
            sleep_ms(5).await;
            if let Ok(msg) = sub.try_recv() {
                assert_eq!(msg, Message::from("a-probe"));
                break;
            }
        }
    })
    .await;
    // XPUB sees subscriptions from an XSUB over inproc.
    let ep = name("xpub");
    let mut xpub = XPubSocket::new(&ctx);
    xpub.bind(ep.as_str()).await.unwrap();
    let mut xsub = XSubSocket::new(&ctx);
    xsub.connect(ep.as_str()).await.unwrap();
    xsub.send(vec![1u8, b'z']).await.unwrap();
    assert_eq!(
        bounded(xpub.recv()).await.unwrap(),
        Message::from(vec![1u8, b'z'])
    );
    xpub.send("zed").await.unwrap();
    assert_eq!(bounded(xsub.recv()).await.unwrap(), Message::from("zed"));
    drop(xsub);
    assert_eq!(
        bounded(xpub.recv()).await.unwrap(),
        Message::from(vec![0u8, b'z'])
    );
}

async fn refusals_and_unbind(ctx: Context) {
    let ep = name("refuse");
    let mut pair = PairSocket::new(&ctx);
    let mut events = pair.monitor();
    pair.bind(ep.as_str()).await.unwrap();
    let mut wrong = PushSocket::new(&ctx);
    wrong.connect(ep.as_str()).await.unwrap();
    let error = wait_handshake_failure(&mut events).await;
    assert!(
        matches!(error, monocoque::ConnectionError::Protocol(_)),
        "{error:?}"
    );
    // A name is bound once at a time; after unbind it can be bound again.
    let mut other = PairSocket::new(&ctx);
    assert!(matches!(other.bind(ep.as_str()).await, Err(Error::Io(_))));
    pair.unbind(ep.as_str()).unwrap();
    other.bind(ep.as_str()).await.unwrap();
    let mut peer = PairSocket::new(&ctx);
    peer.connect(ep.as_str()).await.unwrap();
    peer.send("works").await.unwrap();
    assert_eq!(bounded(other.recv()).await.unwrap(), Message::from("works"));
    // close() of both ends returns (nothing holds it up).
    bounded(async {
        peer.close().await;
        other.close().await;
    })
    .await;
}

on_all_runtimes!(
    push_pull_either_order,
    request_reply_and_routing,
    publish_subscribe,
    refusals_and_unbind,
);
