//! The libzmq interop matrix: every compatible socket-type pair, with monocoque on one side and
//! libzmq (pyzmq, `tests/peer/zmq_peer.py`) on the other, ours binding and ours connecting, over
//! tcp and ipc, on tokio, async-std and smol.
//!
//! A cell is (pair, our socket type, role, transport, runtime). Each cell exchanges
//! [`N`] multipart messages (the canonical stream: 1 to 4 frames, empty frames, 255/256/257-byte
//! frames...) with the pattern's semantics, checking content, frame boundaries and order on both
//! sides:
//! * request/reply (REQ, REP, DEALER, ROUTER): requests are canonical messages, each reply is
//!   [`reply`]`(request)` (frames reversed, plus `b"reply"`); REQ/REP in lock-step, DEALERs
//!   pipelined; a ROUTER must see its peer's routing id first (exactly the `ROUTING_ID` the peer
//!   set, in some cells) and route replies back by it; a DEALER facing a REP adds the empty
//!   delimiter itself; ROUTER-ROUTER addresses the bound side by its `ROUTING_ID` with
//!   `ROUTER_MANDATORY`, retrying until the connection is routable;
//! * publish/subscribe: the subscriber subscribes to [`SUB_TOPIC`] (an XSUB by sending
//!   `b"\x01" + topic`), a PUB repeats a probe until the subscription has propagated (dropping
//!   before that is correct), an XPUB instead waits for the subscription message and checks it;
//!   then [`N`] messages with matching and non-matching topics, of which the subscriber must get
//!   exactly the matching ones, in order, without gaps;
//! * PUSH-PULL: the canonical stream one way; PAIR-PAIR: pipelined requests and replies.
//!
//! One test per (pair, runtime) runs its cells one after another with a single peer process in
//! serve mode (one socket per cell), so python's start-up is paid once per test, not per cell. A
//! failing cell does not stop the others: the test fails at the end, naming each failed cell.
//! Every cell appends a row to the matrix table (see [`record_matrix_cell`]), which
//! `cargo xtask test` prints after the run.
//!
//! Socket types land in groups: a group marked `off` below is compiled out (its cells are neither
//! run nor listed) until its types exist in monocoque's API.

mod common;

use bytes::Bytes;
use common::*;
use futures::FutureExt;
use monocoque::{Context, Error, Message, SocketOption};
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

/// Messages per cell (a multiple of 4, so the pub/sub sequence ends with a matching topic).
const N: u64 = 100;
/// Upper bound for one cell, peer start-up excluded (normally well under a second).
const CELL_TIMEOUT: Duration = Duration::from_secs(6);
/// The peer's limit for each of its sends and receives.
const PEER_TIMEOUT_MS: u64 = 4000;
/// How long a subscription (or a ROUTER-ROUTER route) may take to become effective.
const PROPAGATION_LIMIT: Duration = Duration::from_secs(3);
/// The routing id a DEALER/REQ (or the connecting ROUTER) sets in some cells.
const CLIENT_ID: &[u8] = b"mq-client\xff\x01";
/// The routing id of the bound ROUTER in ROUTER-ROUTER cells.
const BOUND_ID: &[u8] = b"mq-bound\xfe";

// ---------------------------------------------------------------------------------------------
// cells
// ---------------------------------------------------------------------------------------------

/// Ours / libzmq socket types of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ReqRep,
    RepReq,
    ReqRouter,
    RouterReq,
    RepDealer,
    DealerRep,
    DealerDealer,
    DealerRouter,
    RouterDealer,
    RouterRouter,
    PubSub,
    SubPub,
    PubXsub,
    XsubPub,
    XpubSub,
    SubXpub,
    XpubXsub,
    XsubXpub,
    PushPull,
    PullPush,
    PairPair,
}

impl Kind {
    const ALL: [Kind; 21] = [
        Kind::ReqRep,
        Kind::RepReq,
        Kind::ReqRouter,
        Kind::RouterReq,
        Kind::RepDealer,
        Kind::DealerRep,
        Kind::DealerDealer,
        Kind::DealerRouter,
        Kind::RouterDealer,
        Kind::RouterRouter,
        Kind::PubSub,
        Kind::SubPub,
        Kind::PubXsub,
        Kind::XsubPub,
        Kind::XpubSub,
        Kind::SubXpub,
        Kind::XpubXsub,
        Kind::XsubXpub,
        Kind::PushPull,
        Kind::PullPush,
        Kind::PairPair,
    ];

    /// (pair as the table names it, our type, libzmq's type).
    fn types(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::ReqRep => ("REQ-REP", "REQ", "REP"),
            Kind::RepReq => ("REQ-REP", "REP", "REQ"),
            Kind::ReqRouter => ("REQ-ROUTER", "REQ", "ROUTER"),
            Kind::RouterReq => ("REQ-ROUTER", "ROUTER", "REQ"),
            Kind::RepDealer => ("REP-DEALER", "REP", "DEALER"),
            Kind::DealerRep => ("REP-DEALER", "DEALER", "REP"),
            Kind::DealerDealer => ("DEALER-DEALER", "DEALER", "DEALER"),
            Kind::DealerRouter => ("DEALER-ROUTER", "DEALER", "ROUTER"),
            Kind::RouterDealer => ("DEALER-ROUTER", "ROUTER", "DEALER"),
            Kind::RouterRouter => ("ROUTER-ROUTER", "ROUTER", "ROUTER"),
            Kind::PubSub => ("PUB-SUB", "PUB", "SUB"),
            Kind::SubPub => ("PUB-SUB", "SUB", "PUB"),
            Kind::PubXsub => ("PUB-XSUB", "PUB", "XSUB"),
            Kind::XsubPub => ("PUB-XSUB", "XSUB", "PUB"),
            Kind::XpubSub => ("XPUB-SUB", "XPUB", "SUB"),
            Kind::SubXpub => ("XPUB-SUB", "SUB", "XPUB"),
            Kind::XpubXsub => ("XPUB-XSUB", "XPUB", "XSUB"),
            Kind::XsubXpub => ("XPUB-XSUB", "XSUB", "XPUB"),
            Kind::PushPull => ("PUSH-PULL", "PUSH", "PULL"),
            Kind::PullPush => ("PUSH-PULL", "PULL", "PUSH"),
            Kind::PairPair => ("PAIR-PAIR", "PAIR", "PAIR"),
        }
    }
    fn pair(self) -> &'static str {
        self.types().0
    }
    fn ours(self) -> &'static str {
        self.types().1
    }
    fn theirs(self) -> &'static str {
        self.types().2
    }
}

/// The security mechanism of a cell. With PLAIN and CURVE the binding side is the mechanism's
/// server and the connecting side its client, so ours plays both roles across a test. When
/// libzmq is the server it runs a `zmq.auth` authenticator that allows only our credentials;
/// ours has an [`monocoque::Authenticator`] that allows only libzmq's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mech {
    Null,
    Plain,
    Curve,
}

/// PLAIN credentials and CURVE keys of the secure cells: libzmq's test key pairs.
const PLAIN_USER: &str = "admin";
const PLAIN_PASSWORD: &str = "s3cret";
const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

/// The pairs that also run under PLAIN and CURVE (the others run under NULL only).
const SECURE_PAIRS: [&str; 4] = ["PUSH-PULL", "REQ-REP", "DEALER-ROUTER", "PUB-SUB"];

impl Mech {
    fn name(self) -> &'static str {
        match self {
            Mech::Null => "NULL",
            Mech::Plain => "PLAIN",
            Mech::Curve => "CURVE",
        }
    }

    /// Our options for this mechanism, as its server or client.
    fn ours(self, server: bool) -> Vec<SocketOption> {
        let key = |z: &str| monocoque::CurvePublicKey::from_z85(z).expect("test key");
        let secret = |z: &str| monocoque::CurveSecretKey::from_z85(z).expect("test key");
        match (self, server) {
            (Mech::Null, _) => vec![],
            (Mech::Plain, true) => vec![SocketOption::PlainServer(true)],
            (Mech::Plain, false) => vec![
                SocketOption::PlainUsername(Bytes::from_static(PLAIN_USER.as_bytes())),
                SocketOption::PlainPassword(PLAIN_PASSWORD.into()),
            ],
            (Mech::Curve, true) => vec![
                SocketOption::CurveSecretKey(secret(SERVER_SECRET)),
                SocketOption::CurveServer(true),
            ],
            (Mech::Curve, false) => vec![
                SocketOption::CurvePublicKey(key(CLIENT_PUBLIC)),
                SocketOption::CurveSecretKey(secret(CLIENT_SECRET)),
                SocketOption::CurveServerKey(key(SERVER_PUBLIC)),
            ],
        }
    }

    /// The libzmq peer's options, as the mechanism's server (with an authenticator that allows
    /// our credentials) or client.
    fn theirs(self, spec: PeerSpec, server: bool) -> PeerSpec {
        match (self, server) {
            (Mech::Null, _) => spec,
            (Mech::Plain, true) => spec.plain_server(&[(PLAIN_USER, PLAIN_PASSWORD)]),
            (Mech::Plain, false) => spec.plain_client(PLAIN_USER, PLAIN_PASSWORD),
            (Mech::Curve, true) => spec.curve_server(SERVER_SECRET, &[CLIENT_PUBLIC]),
            (Mech::Curve, false) => spec.curve_client(CLIENT_PUBLIC, CLIENT_SECRET, SERVER_PUBLIC),
        }
    }
}

/// One cell of the matrix (the runtime is the test's).
#[derive(Debug, Clone, Copy)]
struct Cell {
    kind: Kind,
    side: Side,
    tr: Transport,
    mech: Mech,
    /// Position in its test, for unique ipc paths.
    seq: usize,
}

impl Cell {
    /// Where the binding side listens.
    fn bind_endpoint(&self, dir: &TestDir) -> String {
        match self.tr {
            Transport::Tcp => "tcp://127.0.0.1:*".to_owned(),
            Transport::Ipc => dir.ipc(&format!("c{}.sock", self.seq)),
        }
    }

    /// The routing id the DEALER/REQ side sets: in half of the cells, so that both an explicit
    /// id and a generated one are covered.
    fn client_id(&self) -> Option<&'static [u8]> {
        matches!(
            (self.side, self.tr),
            (Side::OursBind, Transport::Tcp) | (Side::OursConnect, Transport::Ipc)
        )
        .then_some(CLIENT_ID)
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let role = match self.side {
            Side::OursBind => "ours binds",
            Side::OursConnect => "ours connects",
        };
        let tr = match self.tr {
            Transport::Tcp => "tcp",
            Transport::Ipc => "ipc",
        };
        write!(
            f,
            "{} (ours {}, libzmq {}, {role}, {tr}, {})",
            self.kind.pair(),
            self.kind.ours(),
            self.kind.theirs(),
            self.mech.name()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// shared steps
// ---------------------------------------------------------------------------------------------

/// What every one of our socket types can do.
trait Ours: Sized {
    fn set(&mut self, option: SocketOption) -> Result<(), Error>;
    async fn bind_to(&mut self, ep: &str) -> Result<String, Error>;
    async fn connect_to(&mut self, ep: &str) -> Result<(), Error>;
    async fn shut(self);
}

macro_rules! impl_ours {
    ($($t:ty),+ $(,)?) => {$(
        impl Ours for $t {
            fn set(&mut self, option: SocketOption) -> Result<(), Error> {
                self.set_option(option)
            }
            async fn bind_to(&mut self, ep: &str) -> Result<String, Error> {
                Ok(self.bind(ep).await?.to_string())
            }
            async fn connect_to(&mut self, ep: &str) -> Result<(), Error> {
                self.connect(ep).await
            }
            async fn shut(self) {
                self.close().await
            }
        }
    )+};
}

/// Binds `sock` and has the peer open `spec` connected to it, or the other way round.
async fn link<S: Ours>(
    sock: &mut S,
    cell: &Cell,
    peer: &mut PyPeer,
    spec: PeerSpec,
    dir: &TestDir,
) -> TestResult {
    let ours_server = cell.side == Side::OursBind;
    for option in cell.mech.ours(ours_server) {
        sock.set(option)?;
    }
    let spec = cell
        .mech
        .theirs(spec.timeout_ms(PEER_TIMEOUT_MS), !ours_server);
    match cell.side {
        Side::OursBind => {
            let ep = sock
                .bind_to(&cell.bind_endpoint(dir))
                .await
                .map_err(|e| format!("binding ours: {e}"))?;
            peer.open(spec.connect(&ep)).await;
        }
        Side::OursConnect => {
            let ep = peer.open(spec.bind(&cell.bind_endpoint(dir))).await;
            sock.connect_to(&ep)
                .await
                .map_err(|e| format!("connecting ours to {ep}: {e}"))?;
        }
    }
    Ok(())
}

/// Waits for the peer's `OK <want>`.
async fn expect_ok(peer: &mut PyPeer, want: u64) -> TestResult {
    let n = peer.wait_ok().await;
    if n != want {
        return Err(peer
            .explain(format!("the peer reported OK {n}, expected OK {want}"))
            .into());
    }
    Ok(())
}

/// Closes the peer's socket, then ours.
async fn finish<S: Ours>(sock: S, peer: &mut PyPeer) -> TestResult {
    peer.close_socket().await;
    sock.shut().await;
    Ok(())
}

fn hex(frame: &[u8]) -> String {
    hex_frames(&Message::single(frame.to_vec()))
}

/// Checks the `ID <hex>` line of libzmq's ROUTER: exactly `set` when ours set a routing id,
/// else one libzmq generated (5 bytes, the first one zero).
async fn expect_id_line(peer: &mut PyPeer, set: Option<&[u8]>) -> TestResult {
    let line = peer.next_line().await;
    let Some(seen) = line.strip_prefix("ID ") else {
        return Err(peer
            .explain(format!(
                "expected libzmq's ROUTER to print ID, got {line:?}"
            ))
            .into());
    };
    let ok = match set {
        Some(id) => seen == hex(id),
        None => seen.len() == 10 && seen.starts_with("00"),
    };
    if ok {
        Ok(())
    } else {
        let want = set.map_or("one libzmq generates (00 + 4 bytes)".to_owned(), hex);
        Err(format!("libzmq's ROUTER saw routing id {seen}, expected {want}").into())
    }
}

/// `head` frames, then `msg`'s.
fn prefixed(head: &[&'static [u8]], msg: Message) -> Message {
    head.iter()
        .map(|f| Bytes::from_static(f))
        .chain(msg.into_frames())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// socket groups (flip `off` to `on` as the types land in monocoque's API)
// ---------------------------------------------------------------------------------------------

/// `socket_group!(name, on|off, [kinds], items...)`: a module whose `run` plays the listed cell
/// kinds; when `off`, its items are only parsed (they may name types that do not exist yet).
macro_rules! socket_group {
    ($name:ident, on, [$($kind:ident),+], $($item:item)*) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            pub const KINDS: &[Kind] = &[$(Kind::$kind),+];
            $($item)*
        }
    };
    ($name:ident, off, [$($kind:ident),+], $($item:item)*) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            pub const KINDS: &[Kind] = &[];
            pub async fn run(_: &Context, _: &Cell, _: &mut PyPeer, _: &TestDir) -> TestResult {
                unreachable!("group compiled out")
            }
        }
    };
}

socket_group! { basic, on, [PushPull, PullPush, PairPair],
    use monocoque::{PairSocket, PullSocket, PushSocket};

    impl_ours!(PushSocket, PullSocket, PairSocket);

    pub async fn run(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
        match cell.kind {
            Kind::PushPull => push(ctx, cell, peer, dir).await,
            Kind::PullPush => pull(ctx, cell, peer, dir).await,
            Kind::PairPair => pair(ctx, cell, peer, dir).await,
            other => unreachable!("{other:?}"),
        }
    }

    async fn push(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
        let mut push = PushSocket::new(ctx);
        link(&mut push, cell, peer, PeerSpec::new("PULL"), dir).await?;
        peer.run(&format!("verify {N}"));
        for i in 0..N {
            peer.bounded(format_args!("PUSH: sending {i}"), push.send(canonical_message(i)))
                .await?;
        }
        expect_ok(peer, N).await?;
        finish(push, peer).await
    }

    async fn pull(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
        let mut pull = PullSocket::new(ctx);
        link(&mut pull, cell, peer, PeerSpec::new("PUSH"), dir).await?;
        peer.run(&format!("send {N}"));
        for i in 0..N {
            let msg = peer.bounded(format_args!("PULL: receiving {i}"), pull.recv()).await?;
            check_canonical(i, &msg).map_err(|e| format!("as our PULL got it: {e}"))?;
        }
        expect_ok(peer, N).await?;
        finish(pull, peer).await
    }

    async fn pair(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
        let mut pair = PairSocket::new(ctx);
        link(&mut pair, cell, peer, PeerSpec::new("PAIR"), dir).await?;
        peer.run(&format!("serve {N}"));
        for i in 0..N {
            peer.bounded(format_args!("PAIR: sending {i}"), pair.send(canonical_message(i)))
                .await?;
        }
        for i in 0..N {
            let got = peer.bounded(format_args!("PAIR: receiving reply {i}"), pair.recv()).await?;
            assert_msg_eq(&got, &reply(&canonical_message(i)), &format!("reply {i} as our PAIR got it"))?;
        }
        expect_ok(peer, N).await?;
        finish(pair, peer).await
    }
}

socket_group! { reqrep, on, [ReqRep, RepReq, ReqRouter, RepDealer, DealerRep, DealerDealer, DealerRouter],
    use monocoque::{DealerSocket, RepSocket, ReqSocket};

    impl_ours!(ReqSocket, RepSocket, DealerSocket);

    pub async fn run(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
        match cell.kind {
            Kind::ReqRep => req(ctx, cell, peer, dir, false).await,
            Kind::ReqRouter => req(ctx, cell, peer, dir, true).await,
            Kind::RepReq => rep(ctx, cell, peer, dir, PeerSpec::new("REQ"), "client").await,
            Kind::RepDealer => rep(ctx, cell, peer, dir, PeerSpec::new("DEALER"), "client-delim").await,
            Kind::DealerRep | Kind::DealerDealer | Kind::DealerRouter => dealer(ctx, cell, peer, dir).await,
            other => unreachable!("{other:?}"),
        }
    }

    /// Our REQ, lock-step, facing libzmq's REP (`serve`) or ROUTER (`router-rep`).
    async fn req(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir, router: bool) -> TestResult {
        let mut req = ReqSocket::new(ctx);
        let id = if router { cell.client_id() } else { None };
        if let Some(id) = id {
            req.set_option(SocketOption::RoutingId(Bytes::from_static(id)))?;
        }
        let (spec, scenario) = if router {
            (PeerSpec::new("ROUTER"), "router-rep")
        } else {
            (PeerSpec::new("REP"), "serve")
        };
        link(&mut req, cell, peer, spec, dir).await?;
        peer.run(&format!("{scenario} {N}"));
        for i in 0..N {
            let request = canonical_message(i);
            peer.bounded(format_args!("REQ: sending request {i}"), req.send(request.clone())).await?;
            let got = peer.bounded(format_args!("REQ: receiving reply {i}"), req.recv()).await?;
            assert_msg_eq(&got, &reply(&request), &format!("reply {i} as our REQ got it"))?;
        }
        if router {
            expect_id_line(peer, id).await?;
        }
        expect_ok(peer, N).await?;
        finish(req, peer).await
    }

    /// Our REP facing libzmq's REQ (`client`) or DEALER (`client-delim`), lock-step.
    async fn rep(
        ctx: &Context,
        cell: &Cell,
        peer: &mut PyPeer,
        dir: &TestDir,
        spec: PeerSpec,
        scenario: &str,
    ) -> TestResult {
        let mut rep = RepSocket::new(ctx);
        link(&mut rep, cell, peer, spec, dir).await?;
        peer.run(&format!("{scenario} {N}"));
        for i in 0..N {
            let got = peer.bounded(format_args!("REP: receiving request {i}"), rep.recv()).await?;
            check_canonical(i, &got).map_err(|e| format!("request as our REP got it: {e}"))?;
            peer.bounded(format_args!("REP: sending reply {i}"), rep.send(reply(&got))).await?;
        }
        expect_ok(peer, N).await?;
        finish(rep, peer).await
    }

    /// Our DEALER, pipelined: all requests, then all replies; facing a REP it adds the empty
    /// delimiter itself and expects it back.
    async fn dealer(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
        let mut dealer = DealerSocket::new(ctx);
        let router = cell.kind == Kind::DealerRouter;
        let id = if router { cell.client_id() } else { None };
        if let Some(id) = id {
            dealer.set_option(SocketOption::RoutingId(Bytes::from_static(id)))?;
        }
        let (spec, scenario, head): (_, _, &[&'static [u8]]) = match cell.kind {
            Kind::DealerRep => (PeerSpec::new("REP"), "serve", &[b""]),
            Kind::DealerRouter => (PeerSpec::new("ROUTER"), "router-serve", &[]),
            _ => (PeerSpec::new("DEALER"), "serve", &[]),
        };
        link(&mut dealer, cell, peer, spec, dir).await?;
        peer.run(&format!("{scenario} {N}"));
        for i in 0..N {
            let request = prefixed(head, canonical_message(i));
            peer.bounded(format_args!("DEALER: sending request {i}"), dealer.send(request)).await?;
        }
        for i in 0..N {
            let got = peer.bounded(format_args!("DEALER: receiving reply {i}"), dealer.recv()).await?;
            let want = prefixed(head, reply(&canonical_message(i)));
            assert_msg_eq(&got, &want, &format!("reply {i} as our DEALER got it"))?;
        }
        if router {
            expect_id_line(peer, id).await?;
        }
        expect_ok(peer, N).await?;
        finish(dealer, peer).await
    }
}

socket_group! { router, on, [RouterReq, RouterDealer, RouterRouter],
    use monocoque::RouterSocket;

    impl_ours!(RouterSocket);

    pub async fn run(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
        match (cell.kind, cell.side) {
            (Kind::RouterRouter, Side::OursConnect) => calling(ctx, cell, peer, dir).await,
            (Kind::RouterReq | Kind::RouterDealer | Kind::RouterRouter, _) => {
                serving(ctx, cell, peer, dir).await
            }
            other => unreachable!("{other:?}"),
        }
    }

    /// Our ROUTER answering libzmq's REQ (`client`, delimited), DEALER (`burst`) or, in
    /// ROUTER-ROUTER with ours bound, ROUTER (`router-call`, addressing ours by [`BOUND_ID`]).
    async fn serving(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
        let mut router = RouterSocket::new(ctx);
        let (spec, scenario, expect_id, delimited) = match cell.kind {
            Kind::RouterReq => (PeerSpec::new("REQ"), format!("client {N}"), cell.client_id(), true),
            Kind::RouterDealer => (PeerSpec::new("DEALER"), format!("burst {N}"), cell.client_id(), false),
            _ => {
                router.set_option(SocketOption::RoutingId(Bytes::from_static(BOUND_ID)))?;
                let spec = PeerSpec::new("ROUTER").router_mandatory();
                (spec, format!("router-call {N} {}", hex(BOUND_ID)), Some(CLIENT_ID), false)
            }
        };
        let spec = match expect_id {
            Some(id) => spec.routing_id(id),
            None => spec,
        };
        link(&mut router, cell, peer, spec, dir).await?;
        peer.run(&scenario);
        let mut first: Option<Bytes> = None;
        for i in 0..N {
            let msg = peer.bounded(format_args!("ROUTER: receiving request {i}"), router.recv()).await?;
            let mut frames = msg.into_frames().into_iter();
            let rid = frames.next().unwrap_or_default();
            if let Some(id) = expect_id {
                if rid != id {
                    return Err(format!(
                        "request {i}: our ROUTER saw routing id {}, the peer set {}",
                        hex(&rid),
                        hex(id)
                    )
                    .into());
                }
            } else if rid.is_empty() {
                return Err(format!("request {i}: our ROUTER saw an empty routing id").into());
            }
            match &first {
                Some(f) if *f != rid => {
                    return Err(format!(
                        "request {i}: routing id {} differs from the first request's {}",
                        hex(&rid),
                        hex(f)
                    )
                    .into());
                }
                Some(_) => {}
                None => first = Some(rid.clone()),
            }
            let mut head = vec![rid];
            if delimited {
                match frames.next() {
                    Some(d) if d.is_empty() => head.push(d),
                    _ => {
                        return Err(format!(
                            "request {i}: our ROUTER got no empty delimiter after the routing id"
                        )
                        .into());
                    }
                }
            }
            let body: Message = frames.collect();
            check_canonical(i, &body).map_err(|e| format!("request as our ROUTER got it: {e}"))?;
            let out: Message = head.into_iter().chain(reply(&body).into_frames()).collect();
            peer.bounded(format_args!("ROUTER: sending reply {i}"), router.send(out)).await?;
        }
        expect_ok(peer, N).await?;
        finish(router, peer).await
    }

    /// ROUTER-ROUTER with ours connecting: ours addresses libzmq's bound ROUTER by [`BOUND_ID`]
    /// with ROUTER_MANDATORY, retrying until the route exists, then lock-step.
    async fn calling(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
        let mut router = RouterSocket::new(ctx);
        router.set_option(SocketOption::RoutingId(Bytes::from_static(CLIENT_ID)))?;
        router.set_option(SocketOption::RouterMandatory(true))?;
        let spec = PeerSpec::new("ROUTER").routing_id(BOUND_ID);
        link(&mut router, cell, peer, spec, dir).await?;
        peer.run(&format!("router-serve {N}"));
        for i in 0..N {
            let request = prefixed(&[BOUND_ID], canonical_message(i));
            if i == 0 {
                let deadline = Instant::now() + PROPAGATION_LIMIT;
                loop {
                    match router.send(request.clone()).await {
                        Ok(()) => break,
                        Err(_) if Instant::now() < deadline => sleep(Duration::from_millis(5)).await,
                        Err(e) => {
                            return Err(peer
                                .explain(format!(
                                    "ROUTER_MANDATORY: the bound ROUTER was still not routable \
                                     after {PROPAGATION_LIMIT:?}: {e}"
                                ))
                                .into());
                        }
                    }
                }
            } else {
                peer.bounded(format_args!("ROUTER: sending request {i}"), router.send(request))
                    .await?;
            }
            let got = peer.bounded(format_args!("ROUTER: receiving reply {i}"), router.recv()).await?;
            let want = prefixed(&[BOUND_ID], reply(&canonical_message(i)));
            assert_msg_eq(&got, &want, &format!("reply {i} as our ROUTER got it"))?;
        }
        expect_id_line(peer, Some(CLIENT_ID)).await?;
        expect_ok(peer, N).await?;
        finish(router, peer).await
    }
}

socket_group! { pubsub, on, [PubSub, SubPub, PubXsub, XsubPub, XpubSub, SubXpub, XpubXsub, XsubXpub],
    use monocoque::{PubSocket, SubSocket, XPubSocket, XSubSocket};

    impl_ours!(PubSocket, SubSocket, XPubSocket, XSubSocket);

    /// Our publishers.
    trait Publish: Ours {
        async fn publish(&mut self, msg: Message) -> Result<(), Error>;
        /// XPUB: the next subscription message.
        async fn subscription_msg(&mut self) -> Result<Message, Error>;
    }
    impl Publish for PubSocket {
        async fn publish(&mut self, msg: Message) -> Result<(), Error> {
            self.send(msg).await
        }
        async fn subscription_msg(&mut self) -> Result<Message, Error> {
            unreachable!("a PUB does not receive")
        }
    }
    impl Publish for XPubSocket {
        async fn publish(&mut self, msg: Message) -> Result<(), Error> {
            self.send(msg).await
        }
        async fn subscription_msg(&mut self) -> Result<Message, Error> {
            self.recv().await
        }
    }

    /// Our subscribers.
    trait Subscribe: Ours {
        async fn subscribe_to(&mut self, topic: &[u8]) -> Result<(), Error>;
        async fn recv_one(&mut self) -> Result<Message, Error>;
        fn try_recv_one(&mut self) -> Result<Message, Error>;
    }
    impl Subscribe for SubSocket {
        async fn subscribe_to(&mut self, topic: &[u8]) -> Result<(), Error> {
            self.subscribe(topic)
        }
        async fn recv_one(&mut self) -> Result<Message, Error> {
            self.recv().await
        }
        fn try_recv_one(&mut self) -> Result<Message, Error> {
            self.try_recv()
        }
    }
    impl Subscribe for XSubSocket {
        async fn subscribe_to(&mut self, topic: &[u8]) -> Result<(), Error> {
            self.send(subscription(topic)).await
        }
        async fn recv_one(&mut self) -> Result<Message, Error> {
            self.recv().await
        }
        fn try_recv_one(&mut self) -> Result<Message, Error> {
            self.try_recv()
        }
    }

    fn subscription(topic: &[u8]) -> Message {
        let mut frame = vec![1u8];
        frame.extend_from_slice(topic);
        Message::single(frame)
    }

    pub async fn run(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
        match cell.kind {
            Kind::PubSub | Kind::PubXsub => publisher(PubSocket::new(ctx), false, cell, peer, dir).await,
            Kind::XpubSub | Kind::XpubXsub => publisher(XPubSocket::new(ctx), true, cell, peer, dir).await,
            Kind::SubPub | Kind::SubXpub => subscriber(SubSocket::new(ctx), cell, peer, dir).await,
            Kind::XsubPub | Kind::XsubXpub => subscriber(XSubSocket::new(ctx), cell, peer, dir).await,
            other => unreachable!("{other:?}"),
        }
    }

    /// Our PUB or XPUB facing libzmq's SUB or XSUB (`subscriber`).
    async fn publisher<P: Publish>(
        mut sock: P,
        xpub: bool,
        cell: &Cell,
        peer: &mut PyPeer,
        dir: &TestDir,
    ) -> TestResult {
        let spec = match cell.kind.theirs() {
            "XSUB" => PeerSpec::new("XSUB").xsubscribe(SUB_TOPIC),
            _ => PeerSpec::new("SUB").subscribe(SUB_TOPIC),
        };
        link(&mut sock, cell, peer, spec, dir).await?;
        peer.run(&format!("subscriber {N}"));
        if xpub {
            // XPUB is told about the subscription: no probing needed.
            let sub = peer
                .bounded("XPUB: receiving the subscription", sock.subscription_msg())
                .await?;
            assert_msg_eq(&sub, &subscription(SUB_TOPIC), "the subscription as our XPUB got it")?;
        } else {
            // PUB drops until the subscription arrives: probe until the subscriber sees one.
            let deadline = Instant::now() + PROPAGATION_LIMIT;
            loop {
                peer.bounded("PUB: sending a probe", sock.publish(probe_message())).await?;
                match peer.next_event(Duration::from_millis(20)).await {
                    LineEvent::Line(l) if l == "SUBSCRIBED" => break,
                    LineEvent::TimedOut if Instant::now() < deadline => {}
                    LineEvent::TimedOut => {
                        return Err(peer
                            .explain(format!(
                                "libzmq's subscriber got no probe in {PROPAGATION_LIMIT:?}: \
                                 our PUB never applied its subscription"
                            ))
                            .into());
                    }
                    other => {
                        return Err(peer.explain(format!("while probing, the peer gave {other:?}")).into());
                    }
                }
            }
        }
        for i in 0..N {
            peer.bounded(format_args!("sending pub/sub message {i}"), sock.publish(pubsub_message(i)))
                .await?;
        }
        expect_ok(peer, (0..N).filter(|&i| pubsub_matches(i)).count() as u64).await?;
        finish(sock, peer).await
    }

    /// Our SUB or XSUB facing libzmq's PUB (probed through script commands, then `pubseq`) or
    /// XPUB (`xpublish`, which reports the subscription it received).
    async fn subscriber<S: Subscribe>(mut sock: S, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
        let facing_xpub = cell.kind.theirs() == "XPUB";
        // Subscribing before bind/connect and after both must work: ours binding subscribes
        // first, ours connecting subscribes once the connection may already be up.
        if cell.side == Side::OursBind {
            sock.subscribe_to(SUB_TOPIC).await?;
        }
        link(&mut sock, cell, peer, PeerSpec::new(cell.kind.theirs()), dir).await?;
        if cell.side == Side::OursConnect {
            sock.subscribe_to(SUB_TOPIC).await?;
        }
        if facing_xpub {
            peer.run(&format!("xpublish {N}"));
            let got = peer.recv_msg_hex().await;
            assert_hex_eq(&got, &hex_frames(&subscription(SUB_TOPIC)), "the subscription as libzmq's XPUB got it")?;
        } else {
            let deadline = Instant::now() + PROPAGATION_LIMIT;
            'probing: loop {
                if Instant::now() >= deadline {
                    return Err(peer
                        .explain(format!(
                            "no probe from libzmq's PUB reached ours in {PROPAGATION_LIMIT:?}: \
                             our subscription never took effect"
                        ))
                        .into());
                }
                peer.send_msg(&probe_message()).await;
                let until = Instant::now() + Duration::from_millis(30);
                while Instant::now() < until {
                    match sock.try_recv_one() {
                        Ok(m) if m == probe_message() => break 'probing,
                        Ok(m) => {
                            return Err(format!(
                                "before the sequence, ours got something else than a probe: {}",
                                hex_frames(&m).chars().take(80).collect::<String>()
                            )
                            .into());
                        }
                        Err(Error::WouldBlock) => sleep(Duration::from_millis(2)).await,
                        Err(e) => return Err(peer.explain(format!("try_recv while probing: {e}")).into()),
                    }
                }
            }
            peer.run(&format!("pubseq {N}"));
        }
        let expected: Vec<u64> = (0..N).filter(|&i| pubsub_matches(i)).collect();
        let mut k = 0;
        while k < expected.len() {
            let i = expected[k];
            let m = peer.bounded(format_args!("receiving pub/sub message {i}"), sock.recv_one()).await?;
            if m == probe_message() {
                if k == 0 {
                    continue;
                }
                return Err(format!("a probe arrived after pub/sub message {}", expected[k - 1]).into());
            }
            assert_msg_eq(&m, &pubsub_message(i), &format!("pub/sub message {i} as ours got it (the matching ones are expected, in order)"))?;
            k += 1;
        }
        expect_ok(peer, N).await?;
        finish(sock, peer).await
    }
}

/// Cells libzmq itself cannot play: its REQ, bound as a PLAIN or CURVE server, never receives
/// the replies, whoever the REP is (checked with pyzmq 27.3 / libzmq 4.3.5 against libzmq's own
/// REP; REP as the server and REQ as the client work, and are in the matrix).
fn libzmq_cannot(kind: Kind, side: Side, mech: Mech) -> bool {
    kind == Kind::RepReq && side == Side::OursConnect && mech != Mech::Null
}

/// Plays `cell` with the group that has it.
async fn run_cell(ctx: &Context, cell: &Cell, peer: &mut PyPeer, dir: &TestDir) -> TestResult {
    let kind = cell.kind;
    if basic::KINDS.contains(&kind) {
        basic::run(ctx, cell, peer, dir).await
    } else if reqrep::KINDS.contains(&kind) {
        reqrep::run(ctx, cell, peer, dir).await
    } else if router::KINDS.contains(&kind) {
        router::run(ctx, cell, peer, dir).await
    } else if pubsub::KINDS.contains(&kind) {
        pubsub::run(ctx, cell, peer, dir).await
    } else {
        unreachable!("{kind:?} is not enabled")
    }
}

fn enabled(kind: Kind) -> bool {
    [basic::KINDS, reqrep::KINDS, router::KINDS, pubsub::KINDS]
        .iter()
        .any(|kinds| kinds.contains(&kind))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panic".to_owned())
}

/// Every enabled cell of `pair` (both directions when ours can be either type, ours binding and
/// connecting, tcp and ipc) on `ctx`'s runtime, each recorded in the matrix table.
async fn matrix_pair(ctx: Context, pair: &'static str) -> TestResult {
    let runtime = ctx.runtime().name();
    let dir = TestDir::new();
    let mut peer: Option<PyPeer> = None;
    let mut failures = Vec::new();
    let mut seq = 0;
    // Ours, as a PLAIN or CURVE server, authenticates with a ZAP handler that allows exactly
    // the test credentials.
    let secure_ctx = ctx.clone().with_zap_handler(
        monocoque::Authenticator::new()
            .plain_user(PLAIN_USER, PLAIN_PASSWORD)
            .curve_key(monocoque::CurvePublicKey::from_z85(CLIENT_PUBLIC).expect("test key")),
    );
    for kind in Kind::ALL.into_iter().filter(|k| k.pair() == pair) {
        if !enabled(kind) {
            eprintln!(
                "interop matrix: {pair} with ours {} is not enabled yet (socket type missing)",
                kind.ours()
            );
            continue;
        }
        let mechs: &[Mech] = if SECURE_PAIRS.contains(&pair) {
            &[Mech::Null, Mech::Plain, Mech::Curve]
        } else {
            &[Mech::Null]
        };
        for (&mech, side, tr) in mechs.iter().flat_map(|m| {
            [Side::OursBind, Side::OursConnect]
                .into_iter()
                .flat_map(move |side| [Transport::Tcp, Transport::Ipc].map(|tr| (m, side, tr)))
        }) {
            {
                if libzmq_cannot(kind, side, mech) {
                    eprintln!(
                        "interop matrix: {pair} ours {} {side:?} {} left out: libzmq 4.3.5's REQ as a \
                         PLAIN/CURVE server never receives replies, even from libzmq's own REP",
                        kind.ours(),
                        mech.name()
                    );
                    continue;
                }
                seq += 1;
                let cell = Cell {
                    kind,
                    side,
                    tr,
                    mech,
                    seq,
                };
                let started = Instant::now();
                let outcome = AssertUnwindSafe(async {
                    if peer.is_none() {
                        peer = Some(PeerSpec::server().start().await);
                    }
                    let p = peer.as_mut().expect("peer started");
                    let ctx = if mech == Mech::Null {
                        &ctx
                    } else {
                        &secure_ctx
                    };
                    match within(CELL_TIMEOUT, "the cell", run_cell(ctx, &cell, p, &dir)).await {
                        Ok(result) => result.map_err(|e| e.to_string()),
                        Err(timeout) => Err(p.explain(timeout)),
                    }
                })
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err(panic_message(&*panic)));
                record_matrix_cell(
                    pair,
                    kind.ours(),
                    side,
                    tr,
                    mech.name(),
                    runtime,
                    outcome.is_ok(),
                );
                match outcome {
                    Ok(()) => {
                        eprintln!("PASS {cell} on {runtime} in {:?}", started.elapsed());
                    }
                    Err(why) => {
                        eprintln!("FAIL {cell} on {runtime}: {why}");
                        failures.push(format!("{cell}: {why}"));
                        // A fresh peer for the next cell: this one may be stuck mid-scenario.
                        peer = None;
                    }
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {seq} cells failed on {runtime}:\n{}",
            failures.len(),
            failures.join("\n")
        )
        .into())
    }
}

on_all_runtimes! {
    req_rep: |ctx| matrix_pair(ctx, "REQ-REP"),
    req_router: |ctx| matrix_pair(ctx, "REQ-ROUTER"),
    rep_dealer: |ctx| matrix_pair(ctx, "REP-DEALER"),
    dealer_dealer: |ctx| matrix_pair(ctx, "DEALER-DEALER"),
    dealer_router: |ctx| matrix_pair(ctx, "DEALER-ROUTER"),
    router_router: |ctx| matrix_pair(ctx, "ROUTER-ROUTER"),
    pub_sub: |ctx| matrix_pair(ctx, "PUB-SUB"),
    pub_xsub: |ctx| matrix_pair(ctx, "PUB-XSUB"),
    xpub_sub: |ctx| matrix_pair(ctx, "XPUB-SUB"),
    xpub_xsub: |ctx| matrix_pair(ctx, "XPUB-XSUB"),
    push_pull: |ctx| matrix_pair(ctx, "PUSH-PULL"),
    pair_pair: |ctx| matrix_pair(ctx, "PAIR-PAIR"),
}
