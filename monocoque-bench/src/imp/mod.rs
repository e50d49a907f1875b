//! The implementations the perf tools run on, behind one trait.
//!
//! [`Implementation`] has one method per tool; each implementation module
//! ([`libzmq`], [`libzmq_curve`], [`monocoque`], [`zeromq`], [`omq`],
//! [`raw`]) implements those its tools exist for, the others keep the
//! default, which fails with [`Unavailable`] (the tools exit with code 2).
//! [`implementation`] is the one place that maps `--impl` (and `--curve`)
//! to an implementation, and the one place that knows which cargo features
//! are built in.

use crate::Result;
use crate::args::{Impl, Runtime};
use crate::curve::{CurveKeys, Handshakes};
use crate::fanout::sync::SyncClient;
use crate::idle::Report;
use crate::idle::server::ServerConfig;
use crate::output::{Fanout, FanoutSend, Latency, Roundtrips, Throughput};
use crate::watchdog::Progress;

#[cfg(feature = "libzmq")]
pub mod libzmq;
#[cfg(feature = "libzmq-curve")]
pub mod libzmq_curve;
#[cfg(feature = "monocoque-impl")]
pub mod monocoque;
#[cfg(feature = "monocoque-rs")]
pub mod monocoque_rs;
#[cfg(feature = "omq")]
pub mod omq;
pub mod raw;
#[cfg(feature = "zeromq")]
pub mod zeromq;

/// Why a tool cannot run on an implementation: not built in, or no such
/// tool for it. The tools exit with code 2 on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// Fails with [`Unavailable`]: `tool` does not run on this implementation.
fn missing<T>(tool: &str) -> Result<T> {
    Err(Unavailable(format!("there is no {tool} for it")).into())
}

/// What one message size and count, or one roundtrip count, asks of a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job<'a> {
    /// Endpoint to bind to or connect to.
    pub endpoint: &'a str,
    /// Message size in bytes.
    pub size: usize,
    /// Messages, roundtrips, or roundtrips per peer.
    pub count: u64,
    /// Subscribers or DEALER peers of the many-socket tools, concurrent
    /// clients of `handshakes` (1 otherwise).
    pub peers: usize,
    /// The CURVE keys of a CURVE job (`--curve`, the handshake tools):
    /// the binding side is the server, the connecting side the client.
    /// Only implementations from [`implementation`] with `curve` set get
    /// such a job.
    pub curve: Option<&'a CurveKeys>,
    /// Messages per batch of `remote_thr --batch` (1 otherwise): the sender hands this many
    /// to the socket before it waits for any of them (monocoque: the `Sink`'s feed, then one
    /// flush). Only implementations with a batch path
    /// ([`Impl::batches`](crate::args::Impl::batches)) take more than 1.
    pub batch: usize,
}

/// One ZeroMQ implementation, as the perf tools drive it: one method per
/// tool, each with the socket types, set-up and linger of that tool. An
/// implementation without a tool keeps its default method, which fails
/// with [`Unavailable`].
pub trait Implementation {
    /// `local_thr`: binds a PULL socket and times `count` messages, from
    /// the first one's arrival to the last one's.
    fn local_thr(&self, _job: Job<'_>) -> Result<Throughput> {
        missing("local_thr")
    }

    /// `remote_thr`: connects a PUSH socket, sends `count` fresh messages
    /// of `size` bytes, and returns once all of them are delivered.
    fn remote_thr(&self, _job: Job<'_>) -> Result<()> {
        missing("remote_thr")
    }

    /// `local_lat`: binds a REP socket and echoes `count` messages.
    fn local_lat(&self, _job: Job<'_>) -> Result<()> {
        missing("local_lat")
    }

    /// `remote_lat`: connects a REQ socket and times `count` roundtrips
    /// (the reply goes back as the next request, as libzmq's tool does);
    /// with `samples`, also pushes each roundtrip's time there, in
    /// microseconds.
    fn remote_lat(&self, _job: Job<'_>, _samples: Option<&mut Vec<f64>>) -> Result<Latency> {
        missing("remote_lat")
    }

    /// `pub_fanout`: binds a PUB socket and the side channel at `sync`,
    /// then HELLO until ready, `count` DATA as fast as `send` goes, END
    /// until finished (see [`fanout`](crate::fanout)).
    fn pub_fanout(&self, _job: Job<'_>, _sync: &str, _progress: Progress) -> Result<FanoutSend> {
        missing("pub_fanout")
    }

    /// `sub_fanout`: `peers` SUB sockets in this process, counting DATA
    /// until each has seen END, milestones written to `sync`.
    fn sub_fanout(
        &self,
        _job: Job<'_>,
        _sync: &mut SyncClient,
        _progress: Progress,
    ) -> Result<Fanout> {
        missing("sub_fanout")
    }

    /// `router_echo`: binds a ROUTER and echoes `peers * (count + 1)`
    /// messages, then closes once the last echoes are delivered (see
    /// [`router`](crate::router)).
    fn router_echo(&self, _job: Job<'_>, _progress: Progress) -> Result<()> {
        missing("router_echo")
    }

    /// `dealers`: `peers` DEALER sockets in this process, each making
    /// `count` roundtrips with up to [`WINDOW`](crate::router::WINDOW) in
    /// flight after a warm-up barrier.
    fn dealers(&self, _job: Job<'_>, _progress: Progress) -> Result<Roundtrips> {
        missing("dealers")
    }

    /// `idle_conns server`: binds one ROUTER, waits for its peers, prints
    /// the memory report and keeps the connections until stdin closes (see
    /// [`idle`](crate::idle)).
    fn idle_server(&self, _config: &ServerConfig) -> Result<Report> {
        missing("idle_conns server")
    }

    /// `handshake_server`: binds a REP socket as a CURVE server and answers
    /// `peers * count` requests, one per client handshake (see
    /// [`curve`](crate::curve)).
    fn handshake_server(&self, _job: Job<'_>, _progress: Progress) -> Result<()> {
        missing("handshake_server")
    }

    /// `handshakes`: `peers` clients at once, each `count` times in a row
    /// making a fresh REQ socket as a CURVE client, connecting, making one
    /// roundtrip of a `size`-byte message (the handshake is done once the
    /// reply is in) and closing it; times them all.
    fn handshakes(&self, _job: Job<'_>, _progress: Progress) -> Result<Handshakes> {
        missing("handshakes")
    }

    /// `connect_server`: binds a ROUTER (NULL) with ZMQ_BACKLOG set to `peers` (a round's
    /// connects all fit the listen queue: with the default 100, a burst of 1,000 mostly waits
    /// for the kernel's SYN retry, a second later, whatever the implementation) and echoes
    /// `peers * count` messages, one per connection the `connects` tool makes, then closes.
    fn connect_server(&self, _job: Job<'_>, _progress: Progress) -> Result<()> {
        missing("connect_server")
    }

    /// `connects`: `count` rounds, each making `peers` fresh DEALER sockets at once, connecting
    /// them, one roundtrip of a `size`-byte message on each (its connection is set up once the
    /// echo is in) and closing them; the rate is connections per second over all rounds.
    fn connects(&self, _job: Job<'_>, _progress: Progress) -> Result<Handshakes> {
        missing("connects")
    }
}

/// Whether this build has `imp` (its cargo feature is on).
pub fn built_in(imp: Impl) -> bool {
    implementation(imp, Runtime::Tokio).is_ok()
}

/// Whether this build has `imp` with CURVE (what [`curve_implementation`]
/// gives; libzmq's library is only looked for when a tool runs).
pub fn curve_built_in(imp: Impl) -> bool {
    curve_implementation(imp, Runtime::Tokio).is_ok()
}

/// The implementation `--impl imp --curve` names: libzmq loaded at run
/// time with CURVE ([`libzmq_curve`]) instead of the vendored one,
/// monocoque on `runtime`, omq (throughput tools only); [`Unavailable`]
/// for those without CURVE.
pub fn curve_implementation(
    imp: Impl,
    runtime: Runtime,
) -> Result<Box<dyn Implementation>, Unavailable> {
    let _ = runtime;
    let no = |why: &str| Err(Unavailable(why.into()));
    match imp {
        #[cfg(feature = "libzmq-curve")]
        Impl::Libzmq => Ok(Box::new(libzmq_curve::LibzmqCurve)),
        #[cfg(not(feature = "libzmq-curve"))]
        Impl::Libzmq => no(
            "this build lacks the `libzmq-curve` feature of monocoque-bench (the vendored libzmq has no CURVE)",
        ),
        #[cfg(feature = "monocoque-impl")]
        Impl::Monocoque => Ok(Box::new(monocoque::Monocoque(runtime))),
        #[cfg(feature = "omq")]
        Impl::Omq => Ok(Box::new(omq::Omq)),
        Impl::Zeromq => no("zmq.rs 0.7 has no CURVE"),
        Impl::MonocoqueRs => no("monocoque-rs is run without CURVE here"),
        Impl::Raw => no("the raw socket has no CURVE"),
        #[allow(unreachable_patterns)]
        other => Err(Unavailable(format!(
            "this build lacks the `{}` feature of monocoque-bench",
            other.feature()
        ))),
    }
}

/// The implementation `--impl imp` names, monocoque on `runtime` (the
/// others have a runtime of their own, or none); [`Unavailable`] when this
/// build lacks its cargo feature.
pub fn implementation(imp: Impl, runtime: Runtime) -> Result<Box<dyn Implementation>, Unavailable> {
    let _ = runtime;
    Ok(match imp {
        #[cfg(feature = "libzmq")]
        Impl::Libzmq => Box::new(libzmq::Libzmq),
        #[cfg(feature = "monocoque-impl")]
        Impl::Monocoque => Box::new(monocoque::Monocoque(runtime)),
        #[cfg(feature = "zeromq")]
        Impl::Zeromq => Box::new(zeromq::Zeromq),
        #[cfg(feature = "omq")]
        Impl::Omq => Box::new(omq::Omq),
        #[cfg(feature = "monocoque-rs")]
        Impl::MonocoqueRs => Box::new(monocoque_rs::MonocoqueRs),
        Impl::Raw => Box::new(raw::Raw),
        #[allow(unreachable_patterns)]
        other => {
            return Err(Unavailable(format!(
                "this build lacks the `{}` feature of monocoque-bench",
                other.feature()
            )));
        }
    })
}
