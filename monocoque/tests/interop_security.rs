//! PLAIN and CURVE against libzmq (pyzmq, with `zmq.auth` where libzmq is the server) when
//! something is wrong: a refused password, a refused client key, a wrong server key, a NULL peer
//! facing a CURVE server. Each failure costs only that connection, is reported by a
//! `HandshakeFailed` monitor event that tells authentication failures from protocol errors, and
//! the socket keeps serving its good peers. (The working cells, every pattern and role, are in
//! the interop matrix.)

mod common;

use bytes::Bytes;
use common::*;
use monocoque::{
    Authenticator, ConnectionError, Context, CurvePublicKey, CurveSecretKey, HandshakeFailure,
    KeyPair, PullSocket, PushSocket, SocketOption, ZmtpError,
};

/// libzmq's test key pairs (spec README).
const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

fn public(z85: &str) -> CurvePublicKey {
    CurvePublicKey::from_z85(z85).unwrap()
}

fn secret(z85: &str) -> CurveSecretKey {
    CurveSecretKey::from_z85(z85).unwrap()
}

/// Our PULL as a CURVE server that allows only the test client key, bound on tcp.
async fn curve_pull(ctx: &Context) -> (PullSocket, monocoque::Monitor, String) {
    let ctx = ctx
        .clone()
        .with_zap_handler(Authenticator::new().curve_key(public(CLIENT_PUBLIC)));
    let mut pull = PullSocket::new(&ctx);
    let events = pull.monitor();
    pull.set_option(SocketOption::CurveSecretKey(secret(SERVER_SECRET)))
        .unwrap();
    pull.set_option(SocketOption::CurveServer(true)).unwrap();
    let ep = pull.bind("tcp://127.0.0.1:*").await.unwrap().to_string();
    (pull, events, ep)
}

/// A libzmq PUSH with this CURVE key pair sends canonical messages 0..n to our server.
async fn libzmq_curve_push(ep: &str, public: &str, secret: &str, n: u64) -> PyPeer {
    PeerSpec::new("PUSH")
        .curve_client(public, secret, SERVER_PUBLIC)
        .scenario(&format!("send {n}"))
        .connect(ep)
        .start()
        .await
}

async fn curve_refused_key_costs_only_its_connection(ctx: Context) -> TestResult {
    let (mut pull, mut events, ep) = curve_pull(&ctx).await;
    // A client that proves a key the authenticator does not know.
    let stranger = KeyPair::generate();
    let mut refused =
        libzmq_curve_push(&ep, &stranger.public.to_z85(), &stranger.secret.to_z85(), 1).await;
    let error = wait_handshake_failure(&mut events).await;
    assert_eq!(
        error.handshake_failure(),
        HandshakeFailure::Auth {
            status_code: Some(400)
        },
        "{error}"
    );
    // The known client gets through on the same socket.
    let mut good = libzmq_curve_push(&ep, CLIENT_PUBLIC, CLIENT_SECRET, 3).await;
    for i in 0..3 {
        let msg = good
            .bounded(format_args!("receiving {i}"), pull.recv())
            .await?;
        check_canonical(i, &msg)?;
    }
    good.wait_ok().await;
    refused.close_stdin();
    pull.close().await;
    Ok(())
}

async fn null_peer_against_curve_server_is_a_protocol_error(ctx: Context) -> TestResult {
    let (mut pull, mut events, ep) = curve_pull(&ctx).await;
    let mut null_peer = PeerSpec::new("PUSH")
        .scenario("send 1")
        .connect(&ep)
        .start()
        .await;
    // Either we read libzmq's NULL greeting first, or libzmq, having read our CURVE greeting,
    // closed before we did.
    let error = wait_handshake_failure(&mut events).await;
    assert!(
        matches!(
            error,
            ConnectionError::Protocol(ZmtpError::MechanismMismatch { .. })
                | ConnectionError::PeerClosed
        ),
        "{error}"
    );
    assert_ne!(
        error.handshake_failure(),
        HandshakeFailure::Auth { status_code: None }
    );
    assert!(!error.is_authentication_failure());
    let mut good = libzmq_curve_push(&ep, CLIENT_PUBLIC, CLIENT_SECRET, 1).await;
    let msg = good.bounded("receiving", pull.recv()).await?;
    check_canonical(0, &msg)?;
    null_peer.close_stdin();
    pull.close().await;
    Ok(())
}

async fn curve_without_zap_handler_accepts_proven_keys(ctx: Context) -> TestResult {
    // libzmq 4.3.5 without a ZAP handler: a CURVE server accepts any client that proves a key.
    let mut pull = PullSocket::new(&ctx);
    pull.set_option(SocketOption::CurveSecretKey(secret(SERVER_SECRET)))?;
    pull.set_option(SocketOption::CurveServer(true))?;
    let ep = pull.bind("tcp://127.0.0.1:*").await?.to_string();
    let anyone = KeyPair::generate();
    let mut peer =
        libzmq_curve_push(&ep, &anyone.public.to_z85(), &anyone.secret.to_z85(), 2).await;
    for i in 0..2 {
        let msg = peer
            .bounded(format_args!("receiving {i}"), pull.recv())
            .await?;
        check_canonical(i, &msg)?;
    }
    peer.wait_ok().await;
    pull.close().await;
    Ok(())
}

async fn zap_enforce_domain_refuses_without_a_handler(ctx: Context) -> TestResult {
    // ZMQ_ZAP_ENFORCE_DOMAIN: no handler means no admission, even for a proven CURVE key.
    let mut pull = PullSocket::new(&ctx);
    let mut events = pull.monitor();
    pull.set_option(SocketOption::CurveSecretKey(secret(SERVER_SECRET)))?;
    pull.set_option(SocketOption::CurveServer(true))?;
    pull.set_option(SocketOption::ZapEnforceDomain(true))?;
    let ep = pull.bind("tcp://127.0.0.1:*").await?.to_string();
    let mut peer = libzmq_curve_push(&ep, CLIENT_PUBLIC, CLIENT_SECRET, 1).await;
    let error = wait_handshake_failure(&mut events).await;
    assert_eq!(
        error.handshake_failure(),
        HandshakeFailure::Auth {
            status_code: Some(500)
        },
        "{error}"
    );
    peer.close_stdin();
    pull.close().await;
    Ok(())
}

async fn plain_without_zap_handler_refuses(ctx: Context) -> TestResult {
    // libzmq 4.3.5 without a ZAP handler: a PLAIN server refuses every client.
    let mut pull = PullSocket::new(&ctx);
    let mut events = pull.monitor();
    pull.set_option(SocketOption::PlainServer(true))?;
    let ep = pull.bind("tcp://127.0.0.1:*").await?.to_string();
    let mut peer = PeerSpec::new("PUSH")
        .plain_client("admin", "s3cret")
        .scenario("send 1")
        .connect(&ep)
        .start()
        .await;
    let error = wait_handshake_failure(&mut events).await;
    assert!(error.is_authentication_failure(), "{error}");
    peer.close_stdin();
    pull.close().await;
    Ok(())
}

async fn plain_wrong_password_refused_by_libzmq(ctx: Context) -> TestResult {
    let peer = PeerSpec::new("PULL")
        .plain_server(&[("admin", "s3cret")])
        .scenario("recv 1")
        .bind("tcp://127.0.0.1:*")
        .start()
        .await;
    let mut push = PushSocket::new(&ctx);
    let mut events = push.monitor();
    push.set_option(SocketOption::PlainUsername(Bytes::from_static(b"admin")))?;
    push.set_option(SocketOption::PlainPassword("wrong".into()))?;
    push.connect(peer.endpoint()).await?;
    let error = wait_handshake_failure(&mut events).await;
    // libzmq's zmq.auth refused: ERROR "400", libzmq's HANDSHAKE_FAILED_AUTH with 400.
    assert_eq!(
        error.handshake_failure(),
        HandshakeFailure::Auth {
            status_code: Some(400)
        },
        "{error}"
    );
    drop(peer);
    push.close().await;
    Ok(())
}

async fn curve_wrong_server_key_fails_the_handshake(ctx: Context) -> TestResult {
    let peer = PeerSpec::new("PULL")
        .curve_server(SERVER_SECRET, &[CLIENT_PUBLIC])
        .scenario("recv 1")
        .bind("tcp://127.0.0.1:*")
        .start()
        .await;
    let mut push = PushSocket::new(&ctx);
    let mut events = push.monitor();
    push.set_option(SocketOption::CurvePublicKey(public(CLIENT_PUBLIC)))?;
    push.set_option(SocketOption::CurveSecretKey(secret(CLIENT_SECRET)))?;
    // Not the server's key: libzmq cannot open our HELLO and drops the connection.
    push.set_option(SocketOption::CurveServerKey(public(CLIENT_PUBLIC)))?;
    push.connect(peer.endpoint()).await?;
    let error = wait_handshake_failure(&mut events).await;
    assert!(!error.is_authentication_failure(), "{error}");
    assert_ne!(error.handshake_failure().libzmq_event(), 0x4000, "{error}");
    drop(peer);
    push.close().await;
    Ok(())
}

async fn incomplete_setups_are_refused_at_the_call(ctx: Context) -> TestResult {
    let mut push = PushSocket::new(&ctx);
    assert!(push.set_option(SocketOption::CurveServer(true)).is_err());
    assert!(CurvePublicKey::from_slice(&[0; 31]).is_err());
    push.set_option(SocketOption::CurveServerKey(public(SERVER_PUBLIC)))?;
    // A CURVE client without its own key pair: refused by connect, before any connection.
    let refused = push.connect("tcp://127.0.0.1:9").await;
    assert!(
        matches!(refused, Err(monocoque::Error::InvalidOption { .. })),
        "{refused:?}"
    );
    push.close().await;
    Ok(())
}

async fn libzmq_style_zap_rep_socket_decides(ctx: Context) -> TestResult {
    // Code ported from libzmq: a REP bound at inproc://zeromq.zap.01 in the same context
    // answers RFC 27 requests; no handler is installed.
    let mut zap = monocoque::RepSocket::new(&ctx);
    zap.bind(monocoque::zap::ZAP_ENDPOINT).await?;
    let mut pull = PullSocket::new(&ctx);
    let mut events = pull.monitor();
    pull.set_option(SocketOption::CurveSecretKey(secret(SERVER_SECRET)))?;
    pull.set_option(SocketOption::CurveServer(true))?;
    pull.set_option(SocketOption::ZapDomain(Bytes::from_static(b"test-domain")))?;
    let ep = pull.bind("tcp://127.0.0.1:*").await?.to_string();

    let serve = async {
        // Until the good client is let in (the refused one may retry meanwhile).
        let mut seen = Vec::new();
        while !seen.last().copied().unwrap_or(false) {
            let request = bounded(zap.recv()).await?;
            let f = request.frames();
            // version, request id, domain, address, identity, mechanism, key
            assert_eq!(f.len(), 7, "{request:?}");
            assert_eq!(
                (&f[0][..], &f[2][..], &f[5][..]),
                (&b"1.0"[..], &b"test-domain"[..], &b"CURVE"[..])
            );
            // The address as libzmq gives it: the IP address, no port.
            assert_eq!(&f[3][..], b"127.0.0.1");
            let allowed = &f[6][..] == public(CLIENT_PUBLIC).as_bytes();
            seen.push(allowed);
            let (code, text): (&[u8], &[u8]) = if allowed {
                (b"200", b"OK")
            } else {
                (b"400", b"no")
            };
            let reply = monocoque::Message::from_frames([
                Bytes::from_static(b"1.0"),
                f[1].clone(),
                Bytes::from_static(code),
                Bytes::from_static(text),
                Bytes::from_static(b"user"),
                // ZAP metadata (ZMTP property encoding): X-Tenant = acme.
                Bytes::from_static(b"\x08X-Tenant\x00\x00\x00\x04acme"),
            ]);
            bounded(zap.send(reply)).await?;
        }
        Ok::<_, monocoque::Error>(seen)
    };
    let clients = async {
        let stranger = KeyPair::generate();
        let mut refused =
            libzmq_curve_push(&ep, &stranger.public.to_z85(), &stranger.secret.to_z85(), 1).await;
        let error = wait_handshake_failure(&mut events).await;
        assert!(error.is_authentication_failure(), "{error}");
        refused.close_stdin();
        drop(refused);
        let mut good = libzmq_curve_push(&ep, CLIENT_PUBLIC, CLIENT_SECRET, 1).await;
        let msg = good.bounded("receiving", pull.recv()).await?;
        check_canonical(0, &msg)?;
        // The handler's user id and metadata travel with the message.
        assert_eq!(
            msg.property("User-Id"),
            Some("user"),
            "{:?}",
            msg.metadata()
        );
        assert_eq!(msg.property("X-Tenant"), Some("acme"));
        TestResult::Ok(())
    };
    let (seen, done) = futures::join!(serve, clients);
    done?;
    let seen = seen?;
    assert_eq!(
        (seen.first(), seen.last()),
        (Some(&false), Some(&true)),
        "{seen:?}"
    );
    pull.close().await;
    zap.close().await;
    Ok(())
}

async fn received_messages_carry_user_id_peer_address_and_socket_type(ctx: Context) -> TestResult {
    // zmq_msg_gets: each message from an authenticated libzmq peer names who sent it.
    let ctx = ctx
        .clone()
        .with_zap_handler(Authenticator::new().plain_user("admin", "secret"));
    let mut pull = PullSocket::new(&ctx);
    pull.set_option(SocketOption::PlainServer(true))?;
    let ep = pull.bind("tcp://127.0.0.1:*").await?.to_string();
    let mut peer = PeerSpec::new("PUSH")
        .plain_client("admin", "secret")
        .scenario("send 2")
        .connect(&ep)
        .start()
        .await;
    for i in 0..2 {
        let msg = peer
            .bounded(format_args!("receiving {i}"), pull.recv())
            .await?;
        check_canonical(i, &msg)?;
        assert_eq!(
            msg.property("User-Id"),
            Some("admin"),
            "{:?}",
            msg.metadata()
        );
        assert_eq!(msg.property("Peer-Address"), Some("127.0.0.1"));
        assert_eq!(msg.property("socket-type"), Some("PUSH"));
        assert_eq!(msg.property("X-Missing"), None);
    }
    peer.wait_ok().await;
    pull.close().await;
    Ok(())
}

async fn null_with_zap_domain_filters_addresses(ctx: Context) -> TestResult {
    // As libzmq: with ZAP_DOMAIN set, NULL peers go to the ZAP handler too (address lists).
    for (auth, admitted) in [
        (Authenticator::new().deny(["127.0.0.1"]), false),
        (Authenticator::new().allow(["127.0.0.1"]), true),
    ] {
        let ctx = ctx.clone().with_zap_handler(auth);
        let mut pull = PullSocket::new(&ctx);
        let mut events = pull.monitor();
        pull.set_option(SocketOption::ZapDomain(Bytes::from_static(b"global")))?;
        let ep = pull.bind("tcp://127.0.0.1:*").await?.to_string();
        let mut peer = PeerSpec::new("PUSH")
            .scenario("send 1")
            .connect(&ep)
            .start()
            .await;
        if admitted {
            let msg = peer.bounded("receiving", pull.recv()).await?;
            check_canonical(0, &msg)?;
        } else {
            let error = wait_handshake_failure(&mut events).await;
            assert!(error.is_authentication_failure(), "{error}");
        }
        peer.close_stdin();
        pull.close().await;
    }
    Ok(())
}

/// Runs a Python snippet with pyzmq; its stdout.
fn pyzmq(code: &str) -> String {
    require_pyzmq("zcert interop");
    let out = std::process::Command::new(python())
        .args(["-c", code])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn zcert_files_are_shared_with_pyzmq() {
    use monocoque::keys::{read_certificate, read_public_keys, write_certificate};
    let dir = TestDir::new();
    let path = dir.path().display().to_string();
    // Ours, read by zmq.auth.
    let ours = KeyPair::generate();
    write_certificate(dir.path(), "ours", &ours, &[("name", "monocoque")]).unwrap();
    let seen = pyzmq(&format!(
        "import zmq.auth; p, s = zmq.auth.load_certificate('{path}/ours.key_secret'); \
         print(p.decode(), s.decode())"
    ));
    assert_eq!(
        seen,
        format!("{} {}", ours.public.to_z85(), ours.secret.to_z85())
    );
    // zmq.auth's, read by us.
    let made = pyzmq(&format!(
        "import zmq.auth; pub, sec = zmq.auth.create_certificates('{path}', 'theirs'); \
         p, s = zmq.auth.load_certificate(sec); print(p.decode(), s.decode())"
    ));
    let theirs = read_certificate(&dir.path().join("theirs.key_secret")).unwrap();
    let pair = theirs
        .key_pair()
        .expect("the secret file has the secret key");
    assert_eq!(
        made,
        format!("{} {}", pair.public.to_z85(), pair.secret.to_z85())
    );
    assert_eq!(monocoque::keys::public_key(&pair.secret), pair.public);
    let mut allowed = read_public_keys(dir.path()).unwrap();
    allowed.sort_by_key(|k| k.to_z85());
    let mut want = vec![ours.public, pair.public];
    want.sort_by_key(|k| k.to_z85());
    assert_eq!(allowed, want);
    // An Authenticator reading that directory admits both keys and nothing else.
    let auth = Authenticator::new()
        .curve_keys_from_dir(dir.path())
        .unwrap();
    let request = |key: &CurvePublicKey| monocoque::ZapRequest {
        domain: Bytes::new(),
        address: "127.0.0.1:1".into(),
        routing_id: Bytes::new(),
        mechanism: monocoque::zap::MechanismName::CURVE,
        credentials: vec![Bytes::copy_from_slice(key.as_bytes())],
    };
    for key in [ours.public, pair.public] {
        assert_eq!(
            auth.check(&request(&key)).status,
            monocoque::ZapStatus::Success
        );
    }
    let stranger = KeyPair::generate().public;
    assert_ne!(
        auth.check(&request(&stranger)).status,
        monocoque::ZapStatus::Success
    );
}

on_all_runtimes!(
    curve_refused_key_costs_only_its_connection,
    null_peer_against_curve_server_is_a_protocol_error,
    curve_without_zap_handler_accepts_proven_keys,
    plain_without_zap_handler_refuses,
    zap_enforce_domain_refuses_without_a_handler,
    plain_wrong_password_refused_by_libzmq,
    curve_wrong_server_key_fails_the_handshake,
    incomplete_setups_are_refused_at_the_call,
    libzmq_style_zap_rep_socket_decides,
    received_messages_carry_user_id_peer_address_and_socket_type,
    null_with_zap_domain_filters_addresses,
);
