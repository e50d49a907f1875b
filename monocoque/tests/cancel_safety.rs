//! Cancel safety: a `send` or `recv` future dropped before it completes loses no message and
//! leaves the socket usable. Each future is polled once (`now_or_never`) and dropped, the way a
//! `select!` that picked another branch drops it.

mod common;

use common::*;
use futures::FutureExt;
use monocoque::{
    Context, DealerSocket, Message, PullSocket, PushSocket, RepSocket, ReqSocket, RouterSocket,
    SocketOption,
};

const COUNT: u64 = 2000;

async fn cancelled_receives_lose_nothing(ctx: Context) -> TestResult {
    let mut pull = PullSocket::new(&ctx);
    let ep = pull.bind("tcp://127.0.0.1:*").await?;
    // Nothing there yet: a receive polled once and dropped.
    assert!(pull.recv().now_or_never().is_none());
    let mut push = PushSocket::new(&ctx);
    push.connect(&ep).await?;
    let sender = async {
        for i in 0..COUNT {
            push.send(canonical_message(i)).await?;
        }
        Ok::<_, monocoque::Error>(())
    };
    // Receives that are dropped after one poll alternate with ones that run to the end:
    // every message arrives once, in order.
    let receiver = async {
        let mut next = 0;
        while next < COUNT {
            let msg = match pull.recv().now_or_never() {
                Some(msg) => msg?,
                None => bounded(pull.recv()).await?,
            };
            check_canonical(next, &msg)?;
            next += 1;
        }
        TestResult::Ok(())
    };
    let (sent, received) = futures::join!(bounded(sender), receiver);
    sent?;
    received?;
    push.close().await;
    pull.close().await;
    Ok(())
}

async fn a_cancelled_send_keeps_its_message(ctx: Context) -> TestResult {
    // A PUSH whose only peer reads nothing, so that a send must wait.
    let mut pull = PullSocket::new(&ctx);
    pull.set_option(SocketOption::RcvHwm(1))?;
    let ep = pull.bind("tcp://127.0.0.1:*").await?;
    let mut push = PushSocket::new(&ctx);
    push.set_option(SocketOption::SndHwm(1))?;
    push.connect(&ep).await?;
    let mut sent = 0;
    // Fill every queue on the way (ours, the kernel's, the peer's) until a send has to wait.
    let blocked = loop {
        match push.send(canonical_message(sent)).now_or_never() {
            Some(result) => {
                result?;
                sent += 1;
            }
            None => break sent,
        }
        // Small messages fill the kernel buffers slowly: make the wait come sooner.
        if sent > 200_000 {
            panic!("sending never had to wait");
        }
    };
    // The dropped send handed its message back; nothing was lost or sent twice.
    let unsent = push.take_unsent().expect("the cancelled send's message");
    check_canonical(blocked, &unsent)?;
    let resend = async {
        push.send(unsent).await?;
        push.send(canonical_message(blocked + 1)).await
    };
    let receive = async {
        for i in 0..=blocked + 1 {
            let msg = bounded(pull.recv()).await?;
            check_canonical(i, &msg)?;
        }
        TestResult::Ok(())
    };
    let (resent, received) = futures::join!(bounded(resend), receive);
    resent?;
    received?;
    push.close().await;
    pull.close().await;
    Ok(())
}

async fn a_cancelled_req_recv_still_expects_the_reply(ctx: Context) -> TestResult {
    let mut rep = RepSocket::new(&ctx);
    let ep = rep.bind("tcp://127.0.0.1:*").await?;
    let mut req = ReqSocket::new(&ctx);
    req.connect(&ep).await?;
    req.send(Message::from("ping")).await?;
    // The reply has not come: the receive is dropped; the socket still waits for it.
    assert!(req.recv().now_or_never().is_none());
    assert!(req.send(Message::from("too early")).await.is_err());
    let request = bounded(rep.recv()).await?;
    assert_eq!(request, Message::from("ping"));
    rep.send(Message::from("pong")).await?;
    assert_eq!(bounded(req.recv()).await?, Message::from("pong"));
    // And the cycle goes on.
    req.send(Message::from("again")).await?;
    assert_eq!(bounded(rep.recv()).await?, Message::from("again"));
    req.close().await;
    rep.close().await;
    Ok(())
}

async fn cancelled_router_receives_lose_nothing(ctx: Context) -> TestResult {
    let mut router = RouterSocket::new(&ctx);
    let ep = router.bind("tcp://127.0.0.1:*").await?;
    let mut dealer = DealerSocket::new(&ctx);
    dealer.connect(&ep).await?;
    for i in 0..100 {
        dealer.send(canonical_message(i)).await?;
    }
    let mut next = 0;
    while next < 100 {
        let msg = match router.recv().now_or_never() {
            Some(msg) => msg?,
            None => bounded(router.recv()).await?,
        };
        // The routing id first, then the message.
        check_canonical(
            next,
            &Message::from_frames(msg.frames()[1..].iter().cloned()),
        )?;
        next += 1;
    }
    router.close().await;
    dealer.close().await;
    Ok(())
}

on_all_runtimes!(
    cancelled_receives_lose_nothing,
    a_cancelled_send_keeps_its_message,
    a_cancelled_req_recv_still_expects_the_reply,
    cancelled_router_receives_lose_nothing,
);
