//! Socket semantics with monocoque on both ends (interop with libzmq is in `interop_*.rs`):
//! PUSH never drops and waits for room, try_send hands the message back, connect before bind,
//! reconnect after the peer restarts, PAIR takes one peer, unbind and disconnect, ipc cleanup.

mod common;

use common::*;
use monocoque::{
    Context, DealerSocket, Endpoint, Error, Message, PairSocket, PullSocket, PushSocket,
    RouterSocket, SocketEvent, SocketOption,
};
use std::time::Duration;

/// A fresh `ipc://` endpoint in its own temporary directory (kept alive by the caller).
fn temp_ipc(dir: &TestDir, tag: &str) -> String {
    dir.ipc(&format!("{tag}.sock"))
}

async fn try_send_without_peers_gives_the_message_back(ctx: Context) {
    let mut push = PushSocket::new(&ctx);
    let err = push.try_send("kept").unwrap_err();
    assert!(matches!(err.error, Error::WouldBlock));
    assert_eq!(err.message, Message::from("kept"));
    push.set_option(SocketOption::SndTimeo(Some(Duration::from_millis(50))))
        .unwrap();
    assert!(matches!(push.send("x").await, Err(Error::Timeout)));
    assert!(matches!(
        push.send(Message::new()).await,
        Err(Error::EmptyMessage)
    ));
}

async fn push_waits_at_hwm_and_never_drops(ctx: Context) {
    let mut pull = PullSocket::new(&ctx);
    pull.set_option(SocketOption::RcvHwm(5)).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut push = PushSocket::new(&ctx);
    push.set_option(SocketOption::SndHwm(5)).unwrap();
    push.connect(&endpoint).await.unwrap();
    // Far more than both HWMs and the socket buffers: the sender must wait, not drop.
    const N: u32 = 20_000;
    let payload = vec![7u8; 1000];
    let sender = async {
        for i in 0..N {
            let mut msg = Message::single(i.to_be_bytes().to_vec());
            msg.push_back(payload.clone());
            push.send(msg).await.unwrap();
        }
        push
    };
    let receiver = async {
        sleep_ms(200).await; // pacing: let the queues fill up before reading
        for i in 0..N {
            let msg = pull.recv().await.unwrap();
            assert_eq!(msg.frames()[0], i.to_be_bytes()[..], "message {i}");
        }
    };
    let (push, ()) = bounded(futures::future::join(sender, receiver)).await;
    push.close().await;
}

async fn round_robin_over_two_pullers(ctx: Context) {
    let mut a = PullSocket::new(&ctx);
    let mut b = PullSocket::new(&ctx);
    let ea = a.bind("tcp://127.0.0.1:*").await.unwrap();
    let dir = TestDir::new();
    let eb = b.bind(temp_ipc(&dir, "rr").as_str()).await.unwrap();
    let mut push = PushSocket::new(&ctx);
    let mut events = push.monitor();
    push.connect(&ea).await.unwrap();
    push.connect(&eb).await.unwrap();
    wait_handshakes(&mut events, 2).await;
    for i in 0..10u8 {
        push.send(vec![i]).await.unwrap();
    }
    for i in 0..5u8 {
        assert_eq!(bounded(a.recv()).await.unwrap(), Message::from(vec![2 * i]));
        assert_eq!(
            bounded(b.recv()).await.unwrap(),
            Message::from(vec![2 * i + 1])
        );
    }
}

async fn connect_before_bind_and_reconnect(ctx: Context) {
    let port = reserve_tcp_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let mut push = PushSocket::new(&ctx);
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(20))))
        .unwrap();
    let mut events = push.monitor();
    push.connect(endpoint.as_str()).await.unwrap();
    // Queued while nothing listens, and the connect fails (at least once) meanwhile.
    push.send("early").await.unwrap();
    wait_event(&mut events, |e| {
        matches!(e, SocketEvent::ConnectRetried { .. }).then_some(())
    })
    .await;
    let mut pull = PullSocket::new(&ctx);
    pull.bind(endpoint.as_str()).await.unwrap();
    assert_eq!(bounded(pull.recv()).await.unwrap(), Message::from("early"));
    // The peer goes away and comes back on the same port: the PUSH reconnects. `close` (not a
    // drop, whose clean-up runs in the background) has released the port when it returns.
    pull.close().await;
    wait_event(&mut events, |e| {
        matches!(e, SocketEvent::Disconnected { .. }).then_some(())
    })
    .await;
    let mut pull = PullSocket::new(&ctx);
    pull.bind(endpoint.as_str()).await.unwrap();
    push.send("after restart").await.unwrap();
    assert_eq!(
        bounded(pull.recv()).await.unwrap(),
        Message::from("after restart")
    );
}

async fn close_delivers_what_was_queued_before_the_peer_came(ctx: Context) {
    let endpoint = format!("tcp://127.0.0.1:{}", reserve_tcp_port());
    let mut push = PushSocket::new(&ctx);
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(20))))
        .unwrap();
    let mut events = push.monitor();
    push.connect(endpoint.as_str()).await.unwrap();
    for i in 0..10u8 {
        push.send(vec![i]).await.unwrap();
    }
    let late_peer = async {
        // The peer comes only once the PUSH has been closed and failed to connect.
        let retried = |e| matches!(e, SocketEvent::ConnectRetried { .. }).then_some(());
        wait_event(&mut events, retried).await;
        let mut pull = PullSocket::new(&ctx);
        pull.bind(endpoint.as_str()).await.unwrap();
        let mut got = Vec::new();
        for _ in 0..10 {
            got.push(pull.recv().await.unwrap());
        }
        got
    };
    // Default LINGER (forever): close waits until the peer exists and has everything.
    let ((), got) = bounded(futures::future::join(push.close(), late_peer)).await;
    let want: Vec<Message> = (0..10u8).map(|i| Message::from(vec![i])).collect();
    assert_eq!(got, want);
}

async fn pair_both_ways_and_refuses_a_second_peer(ctx: Context) {
    let mut a = PairSocket::new(&ctx);
    let mut events = a.monitor();
    let endpoint = a.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut b = PairSocket::new(&ctx);
    b.connect(&endpoint).await.unwrap();
    b.send("ping").await.unwrap();
    assert_eq!(bounded(a.recv()).await.unwrap(), Message::from("ping"));
    a.send(Message::from_frames(["po", "ng"])).await.unwrap();
    assert_eq!(
        bounded(b.recv()).await.unwrap(),
        Message::from_frames(["po", "ng"])
    );
    let mut c = PairSocket::new(&ctx);
    c.connect(&endpoint).await.unwrap();
    let error = wait_handshake_failure(&mut events).await;
    assert!(
        matches!(error, monocoque::ConnectionError::Rejected(_)),
        "{error:?}"
    );
    // The first pair still works.
    b.send("again").await.unwrap();
    assert_eq!(bounded(a.recv()).await.unwrap(), Message::from("again"));
}

async fn unbind_disconnect_and_ipc_cleanup(ctx: Context) {
    let dir = TestDir::new();
    let ipc = temp_ipc(&dir, "unbind");
    let path = ipc.trim_start_matches("ipc://").to_owned();
    let mut pull = PullSocket::new(&ctx);
    let bound: Endpoint = pull.bind(ipc.as_str()).await.unwrap();
    assert!(std::path::Path::new(&path).exists());
    let tcp = pull.bind("tcp://127.0.0.1:*").await.unwrap();
    let mut push = PushSocket::new(&ctx);
    push.connect(&tcp).await.unwrap();
    push.send("one").await.unwrap();
    assert_eq!(bounded(pull.recv()).await.unwrap(), Message::from("one"));
    pull.unbind(&bound).unwrap();
    assert!(matches!(
        pull.unbind(&bound),
        Err(Error::UnknownEndpoint(_))
    ));
    bounded(async {
        while std::path::Path::new(&path).exists() {
            sleep_ms(10).await;
        }
    })
    .await;
    push.disconnect(&tcp).unwrap();
    assert!(matches!(
        push.disconnect(&tcp),
        Err(Error::UnknownEndpoint(_))
    ));
    assert!(matches!(
        push.connect("udp://x:1").await,
        Err(Error::Endpoint(_))
    ));
}

async fn socket_moves_between_tasks(ctx: Context) {
    // Socket handles are Send: the PULL runs inside a spawned task.
    let mut pull = PullSocket::new(&ctx);
    let endpoint = pull.bind("tcp://127.0.0.1:*").await.unwrap();
    let (done_tx, done_rx) = futures::channel::oneshot::channel();
    ctx.runtime().spawn(Box::pin(async move {
        let msg = pull.recv().await.unwrap();
        done_tx.send(msg).unwrap();
    }));
    let mut push = PushSocket::new(&ctx);
    push.connect(&endpoint).await.unwrap();
    push.send("moved").await.unwrap();
    assert_eq!(bounded(done_rx).await.unwrap(), Message::from("moved"));
}

/// A DEALER split in two: its halves send and receive at the same time, as a `Sink` and a
/// `Stream`, in two tasks (the halves are `Send`), against a ROUTER echoing everything back.
async fn split_dealer_sends_and_receives_at_once(ctx: Context) {
    use futures::{SinkExt, StreamExt};
    let mut router = RouterSocket::new(&ctx);
    router
        .set_option(SocketOption::RouterMandatory(true))
        .unwrap();
    let endpoint = router.bind("tcp://127.0.0.1:*").await.unwrap();
    ctx.runtime().spawn(Box::pin(async move {
        while let Ok(msg) = router.recv().await {
            if router.send(msg).await.is_err() {
                break;
            }
        }
    }));
    let mut dealer = DealerSocket::new(&ctx);
    dealer.connect(&endpoint).await.unwrap();
    let (mut tx, mut rx) = dealer.split();
    const N: u32 = 5000;
    let (done_tx, done_rx) = futures::channel::oneshot::channel();
    ctx.runtime().spawn(Box::pin(async move {
        for i in 0..N {
            tx.feed(Message::from(i.to_be_bytes().to_vec()))
                .await
                .unwrap();
        }
        tx.flush().await.unwrap();
        let _ = done_tx.send(tx);
    }));
    bounded(async {
        for i in 0..N {
            let reply = rx.next().await.unwrap().unwrap();
            assert_eq!(reply, Message::from(i.to_be_bytes().to_vec()), "reply {i}");
        }
    })
    .await;
    let _tx = bounded(done_rx).await.unwrap();
}

/// `bind("ipc://*")`, as libzmq: a fresh path, returned as the bound endpoint, that a peer
/// connects to; unbinding removes it (polled for, as the listener closes in the background).
async fn ipc_wildcard_bind_reports_its_path(ctx: Context) {
    let mut pull = PullSocket::new(&ctx);
    let bound: Endpoint = pull.bind("ipc://*").await.unwrap();
    let text = bound.to_string();
    assert!(text.starts_with("ipc:///") && text != "ipc://*", "{text}");
    let path = std::path::PathBuf::from(text.trim_start_matches("ipc://"));
    assert!(path.exists(), "{}", path.display());
    let mut push = PushSocket::new(&ctx);
    push.connect(&bound).await.unwrap();
    push.send("through *").await.unwrap();
    assert_eq!(
        bounded(pull.recv()).await.unwrap(),
        Message::from("through *")
    );
    pull.unbind(&bound).unwrap();
    bounded(async {
        while path.exists() || path.parent().is_some_and(|d| d.exists()) {
            sleep_ms(10).await;
        }
    })
    .await;
}

on_all_runtimes!(
    ipc_wildcard_bind_reports_its_path,
    try_send_without_peers_gives_the_message_back,
    push_waits_at_hwm_and_never_drops,
    round_robin_over_two_pullers,
    connect_before_bind_and_reconnect,
    close_delivers_what_was_queued_before_the_peer_came,
    pair_both_ways_and_refuses_a_second_peer,
    unbind_disconnect_and_ipc_cleanup,
    socket_moves_between_tasks,
    split_dealer_sends_and_receives_at_once,
);
