//! Benchmarks for monocoque.
//!
//! The binaries in `src/bin/` are perf tools with the command lines and
//! output of libzmq's `local_thr`, `remote_thr`, `local_lat` and
//! `remote_lat`, each able to run on monocoque (`--impl monocoque`, on the
//! runtime chosen by `--runtime`) or on libzmq (`--impl libzmq`, through the
//! `zmq` crate), and more ([`tools`]). Every implementation is one module
//! of [`imp`] implementing one trait, [`imp::Implementation`]. `compare`
//! runs the pairs as separate processes for every implementation and
//! writes the reports.
//!
//! Cargo features:
//! - `libzmq` (default): the libzmq side (the `zmq` crate, vendored libzmq).
//! - `monocoque-impl` (default): the monocoque side.
//! - `zeromq` (default): zmq.rs, the `zeromq` crate, in the throughput tools
//!   (`--impl zeromq`, always on tokio).
//! - `omq` (default): omq, the `omq-tokio` crate, in the throughput tools
//!   (`--impl omq`, always on tokio).
//!
//! - `libzmq-curve` (default): libzmq with CURVE for `--curve` and the
//!   handshake tools, loaded at run time ([`imp::libzmq_curve`]): the
//!   vendored libzmq has no CURVE.
//!
//! `--impl raw` (always built) moves the same bytes over plain blocking TCP
//! with perfect batching: the loopback limit.
//!
//! Two many-socket scenarios come as tool pairs too, each on monocoque,
//! libzmq and zmq.rs: PUB/SUB fan-out ([`fanout`]: `pub_fanout` and
//! `sub_fanout`, which count what each of many subscribers in one process
//! receives) and ROUTER <-> DEALERs ([`router`]: `router_echo` and
//! `dealers`, many dealers in one process making windowed roundtrips).
//!
//! CURVE ([`curve`]): `local_thr`/`remote_thr --curve` run the throughput
//! pair as CURVE server and client, and `handshake_server`/`handshakes`
//! time CURVE handshakes, each on monocoque and on libzmq with CURVE.

pub mod args;
pub mod child;
pub mod curve;
pub mod fanout;
pub mod idle;
pub mod imp;
pub mod output;
pub mod router;
pub mod stats;
pub mod tasks;
pub mod tools;
pub mod watchdog;

/// Error type of the perf tools.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result type of the perf tools.
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

/// Runs `body` on a new tokio multi-thread runtime with the default worker count (what
/// `#[tokio::main]` gives): monocoque's default tokio set-up, and the runtime zmq.rs and omq
/// spawn their tasks on.
pub fn block_on_tokio<T>(body: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(body)
}

/// Connects with `connect`, retrying every 10 ms for up to `limit` while
/// nothing listens yet (refused, or no socket file), as ZeroMQ sockets do.
pub fn connect_retrying<S>(
    limit: std::time::Duration,
    mut connect: impl FnMut() -> std::io::Result<S>,
) -> std::io::Result<S> {
    use std::io::ErrorKind::{ConnectionRefused, NotFound};
    let give_up = std::time::Instant::now() + limit;
    loop {
        match connect() {
            Err(e)
                if matches!(e.kind(), ConnectionRefused | NotFound)
                    && std::time::Instant::now() < give_up =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

/// Fails unless a received payload has the expected size (every perf tool checks each one).
pub fn check_size(got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(
            format!("message of incorrect size received: {got} B, expected {want} B").into(),
        );
    }
    Ok(())
}

/// A message body of `size` zero bytes, made once per message by every Rust peer's tools.
///
/// libzmq's `remote_thr` makes each body with `zmq_msg_init_size` and never writes it (its
/// `perf/remote_thr.cpp`). Safe Rust cannot hand out memory it has not initialised, so the Rust
/// tools `malloc` and fill: at 1 MiB that fill (and the page faults of its first touch) is
/// about a third of the sender's CPU, work libzmq's tool does not do. `vec![0; size]` would ask
/// for `calloc` instead: glibc serves that without its thread cache, and at 1 MiB it measured
/// worse still (sender CPU 2.2-2.4 s -> 3.3-3.9 s per 3,000 messages: fresh mappings, faulted
/// in and unmapped each time).
// Deliberately not `vec![0; size]` (calloc): see above.
#[allow(clippy::slow_vector_initialization)]
pub fn zeroed_body(size: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(size);
    body.resize(size, 0);
    body
}

/// The version of the linked libzmq, as `"major.minor.patch"`, if built in.
pub fn libzmq_version() -> Option<String> {
    #[cfg(feature = "libzmq")]
    {
        let (major, minor, patch) = zmq::version();
        Some(format!("{major}.{minor}.{patch}"))
    }
    #[cfg(not(feature = "libzmq"))]
    {
        None
    }
}
