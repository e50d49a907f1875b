//! The engine over an in-memory duplex stream: handshakes, messages both ways through its
//! link, backpressure into a full inbound queue, the two ways of stopping, the handshake
//! deadline, and a peer that breaks the protocol. No OS socket, no socket layer.

use super::*;
use crate::link::queue::{self, Room};
use crate::link::{PeerId, Shutdown};
use crate::memory::{MemoryStream, duplex};
use crate::proto::SessionConfig;
use bytes::{Bytes, BytesMut};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use monocoque_core::SocketType;
use monocoque_runtime::TokioRuntime;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `test` on a current-thread tokio runtime, with the runtime handle engines time on.
fn run<F: Future<Output = ()>>(test: impl FnOnce(RuntimeHandle) -> F) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handle: RuntimeHandle = Arc::new(TokioRuntime::from_handle(rt.handle().clone()));
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), test(handle))
            .await
            .expect("test timed out");
    });
}

fn engine(stream: MemoryStream, socket_type: SocketType, runtime: &RuntimeHandle) -> Engine {
    let config = SessionConfig {
        handshake_timeout: Some(Duration::from_secs(5)),
        ..SessionConfig::null(socket_type, false)
    };
    Engine::new(
        stream,
        Session::new(config, Instant::now()),
        runtime.clone(),
    )
}

/// Both ends of one link: what the test holds to talk to a running engine.
struct Ends {
    outbound: queue::Sender<Outbound>,
    inbound: queue::Receiver<Inbound>,
    shutdown: Shutdown,
}

fn link(peer: PeerId, inbound_capacity: usize, prefix: Option<Bytes>) -> (Link, Ends) {
    let (out_tx, out_rx) = queue::bounded(1000, Room::new());
    let (in_tx, in_rx) = queue::bounded(inbound_capacity, Room::new());
    let shutdown = Shutdown::new();
    let link = Link {
        peer,
        outbound: Some(out_rx),
        inbound: Some(in_tx),
        prefix,
        subscriptions: false,
        shutdown: shutdown.clone(),
        linger: None,
        metadata: None,
    };
    let ends = Ends {
        outbound: out_tx,
        inbound: in_rx,
        shutdown,
    };
    (link, ends)
}

/// Two engines, handshaken with each other over a duplex stream.
async fn connected(a: SocketType, b: SocketType, runtime: &RuntimeHandle) -> (Engine, Engine) {
    let (sa, sb) = duplex(64 * 1024);
    let (mut ea, mut eb) = (engine(sa, a, runtime), engine(sb, b, runtime));
    let (ra, rb) = futures::join!(ea.handshake(), eb.handshake());
    assert_eq!(ra.unwrap().socket_type, b);
    assert_eq!(rb.unwrap().socket_type, a);
    (ea, eb)
}

fn message(i: u32) -> Message {
    Message::from_frames([i.to_be_bytes().to_vec(), vec![7u8; (i % 300) as usize]])
}

async fn next_message(inbound: &queue::Receiver<Inbound>) -> (PeerId, Message) {
    match inbound.recv().await {
        Some(Inbound::Message(peer, msg)) => (peer, msg),
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn messages_flow_both_ways_through_the_link() {
    run(|rt| async move {
        let (a, b) = connected(SocketType::Dealer, SocketType::Router, &rt).await;
        let (link_a, ends_a) = link(1, 1000, None);
        let (link_b, ends_b) = link(2, 1000, Some(Bytes::from_static(b"id-a")));
        let (run_a, run_b) = (a.run(link_a), b.run(link_b));
        let exchange = async {
            for i in 0..500 {
                ends_a
                    .outbound
                    .try_send(Outbound::Message(message(i)))
                    .unwrap();
            }
            for i in 0..500 {
                // A ROUTER's engine puts the peer's routing id in front of every message.
                let (peer, msg) = next_message(&ends_b.inbound).await;
                assert_eq!(peer, 2);
                assert_eq!(msg.frames()[0], "id-a");
                assert_eq!(&msg.frames()[1..], message(i).frames());
            }
            ends_b
                .outbound
                .try_send(Outbound::Message(Message::from("back")))
                .unwrap();
            assert_eq!(
                next_message(&ends_a.inbound).await,
                (1, Message::from("back"))
            );
            ends_a.shutdown.trigger(Stop::Close);
            ends_b.shutdown.trigger(Stop::Close);
        };
        let (ra, rb, ()) = futures::join!(run_a, run_b, exchange);
        assert!(ra.is_ok() && rb.is_ok(), "{ra:?} {rb:?}");
    });
}

#[test]
fn a_full_inbound_queue_pauses_reading_and_loses_nothing() {
    run(|rt| async move {
        let (a, b) = connected(SocketType::Push, SocketType::Pull, &rt).await;
        let (link_a, ends_a) = link(1, 1000, None);
        // The receiving socket takes only two messages at a time.
        let (link_b, ends_b) = link(2, 2, None);
        let (run_a, run_b) = (a.run(link_a), b.run(link_b));
        const N: u32 = 5000;
        let exchange = async {
            let send = async {
                for i in 0..N {
                    ends_a
                        .outbound
                        .send(Outbound::Message(message(i)))
                        .await
                        .unwrap();
                }
            };
            let receive = async {
                // Read slowly at first: the queue stays full and the engine waits for room.
                tokio::time::sleep(Duration::from_millis(50)).await;
                for i in 0..N {
                    let (_, msg) = next_message(&ends_b.inbound).await;
                    assert_eq!(msg, message(i), "message {i}");
                }
            };
            futures::join!(send, receive);
            ends_a.shutdown.trigger(Stop::Close);
            ends_b.shutdown.trigger(Stop::Close);
        };
        let (ra, rb, ()) = futures::join!(run_a, run_b, exchange);
        assert!(ra.is_ok() && rb.is_ok(), "{ra:?} {rb:?}");
    });
}

#[test]
fn close_writes_what_is_queued_and_abort_does_not() {
    run(|rt| async move {
        for stop in [Stop::Close, Stop::Abort] {
            let (a, mut b) = connected(SocketType::Push, SocketType::Pull, &rt).await;
            let (link_a, ends_a) = link(1, 1000, None);
            for i in 0..100 {
                ends_a
                    .outbound
                    .try_send(Outbound::Message(message(i)))
                    .unwrap();
            }
            // Stopped before it ever ran: a close still writes all 100, an abort none.
            ends_a.shutdown.trigger(stop);
            assert!(a.run(link_a).await.is_ok());
            let mut received = 0;
            let mut input = BytesMut::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                while let Ok(Some(event)) = b.session.poll_event(&mut input) {
                    assert_eq!(event, Event::Message(message(received)));
                    received += 1;
                }
                let n = b.stream.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                input.extend_from_slice(&buf[..n]);
            }
            let want = if stop == Stop::Close { 100 } else { 0 };
            assert_eq!(received, want, "{stop:?}");
        }
    });
}

#[test]
fn a_silent_peer_fails_the_handshake_at_its_deadline() {
    run(|rt| async move {
        let (ours, _silent) = duplex(1024);
        let config = SessionConfig {
            handshake_timeout: Some(Duration::from_millis(50)),
            ..SessionConfig::null(SocketType::Pull, true)
        };
        let mut e = Engine::new(ours, Session::new(config, Instant::now()), rt.clone());
        let started = Instant::now();
        let result = e.handshake().await;
        assert!(
            matches!(result, Err(ConnectionError::HandshakeTimeout)),
            "{result:?}"
        );
        assert!(started.elapsed() >= Duration::from_millis(50));
    });
}

#[test]
fn a_lost_connection_gives_back_what_it_never_encoded() {
    run(|rt| async move {
        let (a, b) = connected(SocketType::Push, SocketType::Pull, &rt).await;
        // The peer is gone: the first write fails.
        drop(b);
        let (link_a, ends_a) = link(1, 10, None);
        let sent = 300u32;
        for i in 0..sent {
            let msg = Message::from_frames([i.to_be_bytes().to_vec(), vec![0u8; 4096]]);
            ends_a.outbound.try_send(Outbound::Message(msg)).unwrap();
        }
        let mut run = a.run(link_a);
        let result = (&mut run).await;
        assert!(result.is_err(), "{result:?}");
        let unsent: Vec<u32> = (run.take_unsent(true).into_iter())
            .map(|o| match o {
                Outbound::Message(m) => u32::from_be_bytes(m.frames()[0][..].try_into().unwrap()),
                other => panic!("{other:?}"),
            })
            .collect();
        // What was encoded (at most one write batch) may be lost; the rest comes back, in
        // order, the queue's rest included.
        let encoded = sent - unsent.len() as u32;
        assert!(encoded as usize <= WRITE_BATCH / 4096 + 1, "{encoded} lost");
        assert_eq!(unsent, (encoded..sent).collect::<Vec<_>>());
        assert!(
            ends_a
                .outbound
                .try_send(Outbound::Message(message(0)))
                .is_err()
        );
    });
}

#[test]
fn a_peer_breaking_the_protocol_ends_the_connection_with_the_reason() {
    run(|rt| async move {
        let (ours, mut theirs) = duplex(64 * 1024);
        let mut e = engine(ours, SocketType::Pull, &rt);
        // A ZMTP 3.1 NULL greeting and READY, then a frame with reserved flag bits.
        let mut wire = vec![0u8; 64];
        wire[0] = 0xff;
        wire[9] = 0x7f;
        wire[10] = 3;
        wire[11] = 1;
        wire[12..16].copy_from_slice(b"NULL");
        let ready = b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH";
        wire.extend_from_slice(ready);
        wire.extend_from_slice(&[0x08, 0x01, b'x']);
        theirs.write_all(&wire).await.unwrap();
        let info = e.handshake().await.unwrap();
        assert_eq!(info.socket_type, SocketType::Push);
        let (link, _ends) = link(1, 10, None);
        let result = e.run(link).await;
        assert!(
            matches!(
                result,
                Err(ConnectionError::Protocol(
                    crate::proto::ZmtpError::ReservedFlags(0x08)
                ))
            ),
            "{result:?}"
        );
    });
}

mod authentication {
    use super::*;
    use crate::proto::{CurveClient, CurveServer};
    use crate::zap::{ZapHandler, ZapReply, ZapRequest};
    use monocoque_core::{CurvePublicKey, CurveSecretKey};

    const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
    const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

    /// Never answers.
    struct Silent;

    #[async_trait::async_trait]
    impl ZapHandler for Silent {
        async fn authenticate(&self, _: ZapRequest) -> ZapReply {
            std::future::pending().await
        }
    }

    fn curve_pair(
        runtime: &RuntimeHandle,
        handler: Arc<dyn ZapHandler>,
        timeout: Duration,
    ) -> (Engine, Engine) {
        let (a, b) = duplex(64 * 1024);
        let server = SessionConfig {
            handshake_timeout: Some(timeout),
            mechanism: Box::new(CurveServer::new(
                &CurveSecretKey::from_z85(SERVER_SECRET).unwrap(),
                true,
            )),
            ..SessionConfig::null(SocketType::Pull, true)
        };
        let client = SessionConfig {
            handshake_timeout: Some(Duration::from_secs(10)),
            mechanism: Box::new(CurveClient::new(
                &CurvePublicKey::from_z85(CLIENT_PUBLIC).unwrap(),
                &CurveSecretKey::from_z85(CLIENT_SECRET).unwrap(),
                &CurvePublicKey::from_z85(SERVER_PUBLIC).unwrap(),
            )),
            ..SessionConfig::null(SocketType::Push, false)
        };
        let auth = Authentication {
            handler,
            domain: Bytes::new(),
            address: "memory".into(),
            routing_id: Bytes::new(),
        };
        (
            Engine::new(a, Session::new(server, Instant::now()), runtime.clone())
                .with_authentication(Some(auth)),
            Engine::new(b, Session::new(client, Instant::now()), runtime.clone()),
        )
    }

    #[test]
    fn the_handlers_verdict_completes_the_handshake() {
        run(|rt| async move {
            let allow = |r: &ZapRequest| {
                assert_eq!(r.address, "memory");
                ZapReply::allow("alice")
            };
            let (mut server, mut client) = curve_pair(&rt, Arc::new(allow), Duration::from_secs(5));
            let (s, c) = futures::join!(server.handshake(), client.handshake());
            let info = s.expect("server handshake");
            c.expect("client handshake");
            assert_eq!(info.properties.get("User-Id").unwrap(), "alice");
        });
    }

    #[test]
    fn a_handler_that_never_answers_ends_at_handshake_ivl() {
        run(|rt| async move {
            let (mut server, mut client) =
                curve_pair(&rt, Arc::new(Silent), Duration::from_millis(100));
            let client_side = async {
                // The client waits for a READY that never comes; it is only here to talk.
                let _ = tokio::time::timeout(Duration::from_secs(2), client.handshake()).await;
            };
            let (s, ()) = futures::join!(server.handshake(), client_side);
            assert!(matches!(s, Err(ConnectionError::HandshakeTimeout)), "{s:?}");
        });
    }
}
