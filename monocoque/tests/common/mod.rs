//! Shared harness for monocoque's integration tests.
//!
//! * [`PeerSpec`] / [`PyPeer`]: a libzmq peer (pyzmq, `tests/peer/zmq_peer.py`) in a child
//!   process, driven by command-line arguments and stdin/stdout lines. The child's pipes are served
//!   by plain threads, so waiting for a line works the same on tokio, async-std and smol (and
//!   outside any runtime), and never blocks an executor thread when awaited.
//! * [`canonical_message`] / [`check_canonical`]: the canonical message stream, identical to
//!   `canonical()` in `zmq_peer.py`.
//! * [`run_on_all_runtimes!`]: turns `async fn name(ctx: monocoque::Context) -> TestResult` into
//!   the tests `tokio_::name`, `async_std_::name` and `smol_::name`, each bounded by
//!   [`TEST_TIMEOUT`].
//! * [`sleep`], [`within`]: runtime-independent timers.
//! * [`TestDir`], [`reserve_tcp_port`]: unique ipc paths and a free TCP port.
//! * [`PeerSpec::server`]: one peer process serving many sockets in turn ([`PyPeer::open`],
//!   [`PyPeer::run`], [`PyPeer::close_socket`]); [`reply`], [`pubsub_message`], [`PROBE`]: the
//!   messages of its request/reply and pub/sub scenarios.
//! * [`record_matrix_cell`]: one row of the interop matrix table that `cargo xtask test` prints.
//!
//! Set `PYTHON` to choose the interpreter (default `python3`). When pyzmq is missing, interop
//! tests print `SKIP` and pass, unless `MONOCOQUE_REQUIRE_PYZMQ` is set (as `cargo xtask test`
//! does): then they fail.

#![allow(dead_code, unused_macros, unused_imports)]

use monocoque_core::Message;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, mpsc};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

/// Upper bound for one whole test body.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a peer may take to start (python + pyzmq import) and print `READY`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default wait for one line from a peer, or one message from a socket.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(30);
/// Wait for a peer's final `OK` (it may be verifying a long stream).
pub const OK_TIMEOUT: Duration = Duration::from_secs(55);

/// What test bodies return; `?` works on monocoque errors, `String`s and `io::Error`s.
pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

// ---------------------------------------------------------------------------------------------
// python / pyzmq discovery
// ---------------------------------------------------------------------------------------------

/// The interpreter: `$PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_owned())
}

/// Path of `zmq_peer.py`.
pub fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/zmq_peer.py")
}

/// True when `MONOCOQUE_REQUIRE_PYZMQ` is set to something other than empty or `0`.
pub fn pyzmq_required() -> bool {
    std::env::var("MONOCOQUE_REQUIRE_PYZMQ").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `Ok(libzmq version)` when `import zmq` works, else why not. Probed once per test binary.
pub fn pyzmq_status() -> &'static Result<String, String> {
    static STATUS: OnceLock<Result<String, String>> = OnceLock::new();
    STATUS.get_or_init(|| {
        let py = python();
        match Command::new(&py)
            .args(["-c", "import zmq; print(zmq.zmq_version())"])
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => {
                Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
            }
            Ok(out) => Err(format!(
                "`{py} -c 'import zmq'` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Err(format!("cannot run `{py}`: {e}")),
        }
    })
}

/// Whether an interop test can run. Returns false (after printing `SKIP`) when pyzmq is missing,
/// and panics instead when `MONOCOQUE_REQUIRE_PYZMQ` is set.
pub fn pyzmq_or_skip(test: &str) -> bool {
    match pyzmq_status() {
        Ok(_) => true,
        Err(why) if pyzmq_required() => {
            panic!("{test}: pyzmq is required (MONOCOQUE_REQUIRE_PYZMQ is set) but unusable: {why}")
        }
        Err(why) => {
            eprintln!("SKIP {test}: {why} (install with `python3 -m pip install pyzmq`)");
            false
        }
    }
}

// ---------------------------------------------------------------------------------------------
// canonical messages (keep identical to canonical() in tests/peer/zmq_peer.py)
// ---------------------------------------------------------------------------------------------

/// Frame sizes cycled through by the canonical stream (ZMTP short/long frame boundary at 255/256).
pub const SIZES: [usize; 11] = [0, 1, 8, 29, 100, 254, 255, 256, 257, 1000, 4096];
/// Every `BIG_EVERY`-th message (index `BIG_EVERY - 1`, `2 * BIG_EVERY - 1`, ...) ends in a big frame.
pub const BIG_EVERY: u64 = 1000;
/// Size of that big frame.
pub const BIG_SIZE: usize = 100_000;
const MODULUS: u64 = 251;

/// Frame sizes of canonical message `i`: `1 + i % 4` frames; frame 0 is `max(8, SIZES[i % 11])`,
/// frame `j >= 1` is `SIZES[(i + 5 j) % 11]`; when `i % 1000 == 999` the last frame is 100 000 bytes.
pub fn canonical_sizes(i: u64) -> Vec<usize> {
    let n = SIZES.len() as u64;
    let frames = 1 + i % 4;
    let mut sizes: Vec<usize> = (0..frames)
        .map(|j| {
            if j == 0 {
                SIZES[(i % n) as usize].max(8)
            } else {
                SIZES[((i + 5 * j) % n) as usize]
            }
        })
        .collect();
    if i % BIG_EVERY == BIG_EVERY - 1 {
        *sizes.last_mut().expect("at least one frame") = BIG_SIZE;
    }
    sizes
}

/// Filler bytes: `FILLER[k] = k % 251`, long enough for any frame.
fn filler_table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..MODULUS as usize + BIG_SIZE + 1)
            .map(|k| (k % 251) as u8)
            .collect()
    })
}

/// `len` filler bytes of frame `j` of message `i`: byte `k` is `(7 i + 13 j + k) % 251`.
fn filler(i: u64, j: u64, len: usize) -> &'static [u8] {
    let start = ((7 * i + 13 * j) % MODULUS) as usize;
    &filler_table()[start..start + len]
}

/// Canonical message `i`: frame 0 starts with `i` as 8 big-endian bytes; all other bytes are
/// filler (see [`canonical_sizes`] for the sizes).
pub fn canonical_message(i: u64) -> Message {
    Message::from_frames(canonical_sizes(i).into_iter().enumerate().map(|(j, size)| {
        if j == 0 {
            let mut frame = Vec::with_capacity(size);
            frame.extend_from_slice(&i.to_be_bytes());
            frame.extend_from_slice(filler(i, 0, size - 8));
            frame
        } else {
            filler(i, j as u64, size).to_vec()
        }
    }))
}

/// `Ok` when `msg` is canonical message `i`, else a one-line reason (same wording as the peer).
pub fn check_canonical(i: u64, msg: &Message) -> Result<(), String> {
    let sizes = canonical_sizes(i);
    if msg.len() != sizes.len() {
        let index = msg
            .first()
            .filter(|f| f.len() >= 8)
            .map(|f| {
                let idx = u64::from_be_bytes(f[..8].try_into().expect("8 bytes"));
                format!(" (its index field is {idx})")
            })
            .unwrap_or_default();
        return Err(format!(
            "message {i}: expected {} frames, got {}{index}",
            sizes.len(),
            msg.len()
        ));
    }
    let head = msg.frames()[0].get(..8);
    let index_ok = head == Some(&i.to_be_bytes()[..]);
    let fast_ok = index_ok
        && msg.iter().zip(&sizes).enumerate().all(|(j, (f, &size))| {
            f.len() == size
                && if j == 0 {
                    f[8..] == *filler(i, 0, size - 8)
                } else {
                    f[..] == *filler(i, j as u64, size)
                }
        });
    if fast_ok {
        return Ok(());
    }
    match first_difference(msg, &canonical_message(i)) {
        None => Ok(()),
        Some(why) => Err(format!("message {i}: {why}")),
    }
}

/// Where two messages differ, in one short line; `None` when equal.
pub fn first_difference(got: &Message, want: &Message) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!("expected {} frames, got {}", want.len(), got.len()));
    }
    for (j, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        if g == w {
            continue;
        }
        if g.len() != w.len() {
            return Some(format!(
                "frame {j}: expected {} bytes, got {}",
                w.len(),
                g.len()
            ));
        }
        let k = g
            .iter()
            .zip(w.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Some(format!(
            "frame {j}: byte {k} is {:02x}, expected {:02x}",
            g[k], w[k]
        ));
    }
    None
}

/// Fails with a short description (never the payload) when `got != want`.
pub fn assert_msg_eq(got: &Message, want: &Message, what: &str) -> Result<(), String> {
    match first_difference(got, want) {
        None => Ok(()),
        Some(why) => Err(format!("{what}: {why}")),
    }
}

/// Compares two `hex_frames` strings, describing the first difference without dumping megabytes.
pub fn assert_hex_eq(got: &str, want: &str, what: &str) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let why = match (parse_hex_frames(got), parse_hex_frames(want)) {
        (Ok(g), Ok(w)) => first_difference(&g, &w).unwrap_or_else(|| "same frames".into()),
        (Err(e), _) | (_, Err(e)) => e,
    };
    Err(format!(
        "{what}: {why}\n  got:      {}\n  expected: {}",
        abbreviate(got),
        abbreviate(want)
    ))
}

fn abbreviate(s: &str) -> String {
    if s.len() <= 80 {
        s.to_owned()
    } else {
        format!("{}...({} chars)", &s[..80], s.len())
    }
}

/// Frames of at least this size that equal [`pattern_frame`] are written `@<len>:<seed>`.
pub const PATTERN_MIN: usize = 1024;

/// `len` bytes where byte `k` is `(seed + 31 k) % 256` (built with memcpy, fast even unoptimized).
pub fn pattern_frame(len: usize, seed: u8) -> Vec<u8> {
    let base: Vec<u8> = (0..=255u8)
        .map(|k| seed.wrapping_add(k.wrapping_mul(31)))
        .collect();
    let mut frame = base.repeat(len.div_ceil(256));
    frame.truncate(len);
    frame
}

/// Messages whose exact content must survive the trip: empty frames, the 255/256-byte boundary of
/// ZMTP short/long frames, all byte values, a 4 MiB frame, many frames.
pub fn special_messages() -> Vec<Message> {
    let bytes = |n: usize, seed: u8| -> Vec<u8> {
        (0..n)
            .map(|k| (k as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    };
    vec![
        Message::from_frames(vec![Vec::<u8>::new()]),
        Message::from_frames(vec![b"a".to_vec(), Vec::new(), b"b".to_vec()]),
        Message::from_frames(vec![Vec::<u8>::new(), Vec::new(), Vec::new()]),
        Message::from_frames(vec![bytes(255, 1)]),
        Message::from_frames(vec![bytes(256, 2)]),
        Message::from_frames(vec![
            bytes(254, 3),
            bytes(255, 4),
            bytes(256, 5),
            bytes(257, 6),
        ]),
        Message::from_frames(vec![(0..=255u8).collect::<Vec<u8>>()]),
        Message::from_frames(vec![bytes(4 << 20, 7)]),
        Message::from_frames(vec![b"head".to_vec(), bytes((4 << 20) + 1, 8), Vec::new()]),
        Message::from_frames((0..40).map(|j| bytes(j * 13, j as u8))),
        Message::from_frames(vec![b"last".to_vec()]),
    ]
}

// ---------------------------------------------------------------------------------------------
// request/reply and pub/sub messages (keep identical to reply(), pubsub(), PROBE in zmq_peer.py)
// ---------------------------------------------------------------------------------------------

/// What a serving socket sends back for a request: its frames reversed, then `b"reply"` (so an
/// echo does not pass, and frame boundaries and empty frames must survive both ways).
pub fn reply(request: &Message) -> Message {
    request
        .iter()
        .rev()
        .cloned()
        .chain(std::iter::once(bytes::Bytes::from_static(b"reply")))
        .collect()
}

/// Topics of the pub/sub sequence, by `i % 4`; those starting with [`SUB_TOPIC`] match.
pub const TOPICS: [&[u8]; 4] = [b"topic.b", b"topic.a", b"topic", b"topic.ab"];
/// The prefix the subscribers subscribe to.
pub const SUB_TOPIC: &[u8] = b"topic.a";
/// The single frame of the probe a publisher repeats until the subscription has propagated.
pub const PROBE: &[u8] = b"topic.a:probe";

/// Pub/sub message `i`: canonical message `i` with `TOPICS[i % 4]` in front of its first frame.
pub fn pubsub_message(i: u64) -> Message {
    let mut frames = canonical_message(i).into_frames();
    let mut first = TOPICS[(i % 4) as usize].to_vec();
    first.extend_from_slice(&frames[0]);
    frames[0] = first.into();
    Message::from_frames(frames)
}

/// Whether pub/sub message `i` matches [`SUB_TOPIC`].
pub fn pubsub_matches(i: u64) -> bool {
    TOPICS[(i % 4) as usize].starts_with(SUB_TOPIC)
}

/// The probe message.
pub fn probe_message() -> Message {
    Message::single(bytes::Bytes::from_static(PROBE))
}

// ---------------------------------------------------------------------------------------------
// hex frames: "6162 - ff00" = ["ab", "", [0xff, 0x00]]
// ---------------------------------------------------------------------------------------------

/// Frames hex-encoded, space-separated, an empty frame as `-`, a frame of [`PATTERN_MIN`] bytes or
/// more that is [`pattern_frame`]`(len, first byte)` as `@<len>:<seed>` (the peer's `MSG` format).
pub fn hex_frames(msg: &Message) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(msg.payload_len() * 2 + msg.len() * 2);
    for (j, frame) in msg.iter().enumerate() {
        if j > 0 {
            out.push(b' ');
        }
        if frame.is_empty() {
            out.push(b'-');
            continue;
        }
        if frame.len() >= PATTERN_MIN && frame[..] == pattern_frame(frame.len(), frame[0])[..] {
            out.extend_from_slice(format!("@{}:{}", frame.len(), frame[0]).as_bytes());
            continue;
        }
        for &b in frame.iter() {
            out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
    String::from_utf8(out).expect("ascii")
}

/// Inverse of [`hex_frames`].
pub fn parse_hex_frames(line: &str) -> Result<Message, String> {
    fn nibble(c: u8) -> Result<u8, String> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(format!("bad hex digit {:?}", c as char)),
        }
    }
    let mut frames = Vec::new();
    for tok in line.split_ascii_whitespace() {
        if tok == "-" {
            frames.push(Vec::new());
            continue;
        }
        if let Some(spec) = tok.strip_prefix('@') {
            let bad = || format!("bad pattern token {tok:?}");
            let (len, seed) = spec.split_once(':').ok_or_else(bad)?;
            let len = len.parse().map_err(|_| bad())?;
            frames.push(pattern_frame(len, seed.parse().map_err(|_| bad())?));
            continue;
        }
        if tok.len() % 2 != 0 {
            return Err(format!("odd-length hex frame ({} chars)", tok.len()));
        }
        let mut frame = Vec::with_capacity(tok.len() / 2);
        for pair in tok.as_bytes().chunks_exact(2) {
            frame.push(nibble(pair[0])? << 4 | nibble(pair[1])?);
        }
        frames.push(frame);
    }
    Ok(Message::from_frames(frames))
}

// ---------------------------------------------------------------------------------------------
// runtime-independent timers: one timer thread, wakers by deadline
// ---------------------------------------------------------------------------------------------

struct TimerThread {
    pending: Mutex<Vec<(Instant, Waker)>>,
    cond: Condvar,
}

fn timer_thread() -> &'static TimerThread {
    static TIMER: OnceLock<&'static TimerThread> = OnceLock::new();
    TIMER.get_or_init(|| {
        let timer: &'static TimerThread = Box::leak(Box::new(TimerThread {
            pending: Mutex::new(Vec::new()),
            cond: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("test-timer".into())
            .spawn(move || {
                let mut pending = timer.pending.lock().unwrap();
                loop {
                    let now = Instant::now();
                    let (due, rest): (Vec<_>, Vec<_>) =
                        pending.drain(..).partition(|(at, _)| *at <= now);
                    *pending = rest;
                    if !due.is_empty() {
                        drop(pending);
                        due.into_iter().for_each(|(_, w)| w.wake());
                        pending = timer.pending.lock().unwrap();
                        continue;
                    }
                    pending = match pending.iter().map(|(at, _)| *at).min() {
                        Some(next) => timer.cond.wait_timeout(pending, next - now).unwrap().0,
                        None => timer.cond.wait(pending).unwrap(),
                    };
                }
            })
            .expect("spawn timer thread");
        timer
    })
}

/// A future that completes at a deadline, on any executor.
#[derive(Debug)]
pub struct Delay {
    deadline: Instant,
}

impl Delay {
    /// Completes after `d`.
    pub fn new(d: Duration) -> Self {
        Self {
            deadline: Instant::now() + d,
        }
    }
}

impl Future for Delay {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let timer = timer_thread();
        let mut pending = timer.pending.lock().unwrap();
        pending.retain(|(at, w)| !(*at == self.deadline && w.will_wake(cx.waker())));
        pending.push((self.deadline, cx.waker().clone()));
        timer.cond.notify_one();
        Poll::Pending
    }
}

/// Sleeps on any executor.
pub fn sleep(d: Duration) -> Delay {
    Delay::new(d)
}

/// Runs `fut` for at most `d`; on expiry, the error says what was being waited for.
pub async fn within<F: Future>(d: Duration, what: &str, fut: F) -> Result<F::Output, String> {
    let mut fut = std::pin::pin!(fut);
    let mut delay = Delay::new(d);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(&mut delay).poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(Err(format!("timed out after {d:?} waiting for {what}")))
            }
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// child stdout lines, shared between a reader thread and sync/async readers
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct LineState {
    queue: VecDeque<String>,
    eof: bool,
    wakers: Vec<Waker>,
}

#[derive(Default)]
struct Lines {
    state: Mutex<LineState>,
    cond: Condvar,
}

impl Lines {
    fn push(&self, line: Option<String>) {
        let wakers = {
            let mut st = self.state.lock().unwrap();
            match line {
                Some(l) => st.queue.push_back(l),
                None => st.eof = true,
            }
            std::mem::take(&mut st.wakers)
        };
        self.cond.notify_all();
        wakers.into_iter().for_each(Waker::wake);
    }

    /// `Ready(Some(line))`, `Ready(None)` at EOF, else registers the waker.
    fn poll_line(&self, cx: &mut TaskContext<'_>) -> Poll<Option<String>> {
        let mut st = self.state.lock().unwrap();
        if let Some(l) = st.queue.pop_front() {
            return Poll::Ready(Some(l));
        }
        if st.eof {
            return Poll::Ready(None);
        }
        if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            st.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    fn wait_line(&self, timeout: Duration) -> LineEvent {
        let deadline = Instant::now() + timeout;
        let mut st = self.state.lock().unwrap();
        loop {
            if let Some(l) = st.queue.pop_front() {
                return LineEvent::Line(l);
            }
            if st.eof {
                return LineEvent::Eof;
            }
            let now = Instant::now();
            if now >= deadline {
                return LineEvent::TimedOut;
            }
            st = self.cond.wait_timeout(st, deadline - now).unwrap().0;
        }
    }
}

/// What reading one line from a peer gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// A line, without its newline.
    Line(String),
    /// The peer closed its stdout (it exited).
    Eof,
    /// Nothing arrived in time.
    TimedOut,
}

// ---------------------------------------------------------------------------------------------
// PyPeer
// ---------------------------------------------------------------------------------------------

/// How to start a [`PyPeer`]: socket type, endpoints, scenario and options of `zmq_peer.py`.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    args: Vec<String>,
}

impl PeerSpec {
    /// A peer with a libzmq socket of this type (`"PULL"`, `"PAIR"`, ...), in `script` mode.
    pub fn new(socket_type: &str) -> Self {
        Self {
            args: vec!["--type".into(), socket_type.into()],
        }
    }
    /// Any extra `zmq_peer.py` argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }
    fn opt(self, name: &str, value: impl ToString) -> Self {
        self.arg(name).arg(value.to_string())
    }
    /// `--bind ep` (`tcp://127.0.0.1:*` picks a free port; `endpoint()` tells which).
    pub fn bind(self, ep: &str) -> Self {
        self.opt("--bind", ep)
    }
    /// `--connect ep`.
    pub fn connect(self, ep: &str) -> Self {
        self.opt("--connect", ep)
    }
    /// `--scenario s`: `recv N`, `send N`, `verify N`, `echo N`, `duplex N`, `send-stdin`, `script`.
    pub fn scenario(self, s: &str) -> Self {
        self.opt("--scenario", s)
    }
    /// `--verify-seq n`: receive canonical messages 0..n and print `OK n`.
    pub fn verify_seq(self, n: u64) -> Self {
        self.opt("--verify-seq", n)
    }
    /// `--sndhwm`.
    pub fn sndhwm(self, n: u32) -> Self {
        self.opt("--sndhwm", n)
    }
    /// `--rcvhwm`.
    pub fn rcvhwm(self, n: u32) -> Self {
        self.opt("--rcvhwm", n)
    }
    /// `--linger` in ms (close-time linger).
    pub fn linger_ms(self, ms: u64) -> Self {
        self.opt("--linger", ms)
    }
    /// `--timeout-ms`: limit for each of the peer's sends and receives.
    pub fn timeout_ms(self, ms: u64) -> Self {
        self.opt("--timeout-ms", ms)
    }

    /// `--routing-id-hex`: ZMQ_ROUTING_ID (any bytes).
    pub fn routing_id(self, id: &[u8]) -> Self {
        let hex = hex_frames(&Message::single(id.to_vec()));
        self.opt("--routing-id-hex", hex)
    }
    /// `--router-mandatory`: ZMQ_ROUTER_MANDATORY.
    pub fn router_mandatory(self) -> Self {
        self.arg("--router-mandatory")
    }
    /// `--subscribe topic` (SUB; the topic must be UTF-8 without whitespace).
    pub fn subscribe(self, topic: &[u8]) -> Self {
        self.opt(
            "--subscribe",
            std::str::from_utf8(topic).expect("utf-8 topic"),
        )
    }
    /// `--xsubscribe topic`: an XSUB that sends `b"\x01" + topic` once bound/connected.
    pub fn xsubscribe(self, topic: &[u8]) -> Self {
        self.opt(
            "--xsubscribe",
            std::str::from_utf8(topic).expect("utf-8 topic"),
        )
    }

    /// A peer in serve mode (`--serve`): no socket until [`PyPeer::open`], then any number of
    /// sockets one after another, each driven by [`PyPeer::run`] or script commands.
    pub fn server() -> Self {
        Self {
            args: vec!["--serve".into()],
        }
    }

    /// Starts the process and waits (blocking this thread) for `READY`.
    pub fn spawn(self) -> PyPeer {
        let mut peer = PyPeer::launch(self);
        let ev = peer.lines.wait_line(READY_TIMEOUT);
        peer.take_ready(ev);
        peer
    }

    /// Starts the process and waits asynchronously for `READY`.
    pub async fn start(self) -> PyPeer {
        let mut peer = PyPeer::launch(self);
        let ev = peer.next_event(READY_TIMEOUT).await;
        peer.take_ready(ev);
        peer
    }
}

/// A running `zmq_peer.py`. Killed (and reaped) on drop.
pub struct PyPeer {
    child: Child,
    desc: String,
    endpoint: String,
    stdin: Option<mpsc::Sender<String>>,
    lines: Arc<Lines>,
    stderr: Arc<Mutex<String>>,
    recent: VecDeque<String>,
    exit: Option<ExitStatus>,
}

impl PyPeer {
    fn launch(spec: PeerSpec) -> PyPeer {
        if let Err(why) = pyzmq_status() {
            panic!("cannot start a libzmq peer: {why}");
        }
        let desc = format!("zmq_peer.py {}", spec.args.join(" "));
        let mut child = Command::new(python())
            .arg("-u")
            .arg(peer_script())
            .args(&spec.args)
            .arg("--die-with-parent")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {} {desc}: {e}", python()));

        let lines = Arc::new(Lines::default());
        let stdout = child.stdout.take().expect("piped stdout");
        let sink = lines.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 16, stdout);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let trimmed = line.trim_end_matches(['\r', '\n']).len();
                        line.truncate(trimmed);
                        sink.push(Some(line));
                    }
                }
            }
            sink.push(None);
        });

        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let err_sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err_pipe.read(&mut buf) {
                let mut s = err_sink.lock().unwrap();
                if s.len() < 64 * 1024 {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });

        let mut pipe: ChildStdin = child.stdin.take().expect("piped stdin");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in rx {
                if pipe.write_all(line.as_bytes()).is_err() || pipe.flush().is_err() {
                    break;
                }
            }
        });

        PyPeer {
            child,
            desc,
            endpoint: String::new(),
            stdin: Some(tx),
            lines,
            stderr,
            recent: VecDeque::new(),
            exit: None,
        }
    }

    fn take_ready(&mut self, ev: LineEvent) {
        match ev {
            LineEvent::Line(l) if l.starts_with("READY ") => {
                self.endpoint = l["READY ".len()..].to_owned();
            }
            other => self.fail(&format!("expected READY, got {other:?}")),
        }
    }

    /// The endpoint the peer bound or connected last (`LAST_ENDPOINT`), e.g. `tcp://127.0.0.1:41234`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the peer wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Panics with the command line, the last lines read and the peer's stderr.
    #[track_caller]
    pub fn fail(&mut self, what: &str) -> ! {
        // Give the child a moment to finish writing its traceback.
        std::thread::sleep(Duration::from_millis(100));
        let status = self.child.try_wait().ok().flatten();
        panic!(
            "libzmq peer: {what}\n  command: {}\n  exit: {status:?}\n  last lines: {:?}\n  stderr:\n{}",
            self.desc,
            self.recent,
            self.stderr()
        );
    }

    /// Writes one line to the peer's stdin (a newline is added). Never blocks.
    pub fn send_line(&self, line: &str) {
        let tx = self.stdin.as_ref().expect("stdin open");
        let _ = tx.send(format!("{line}\n"));
    }

    /// Closes the peer's stdin (ends `send-stdin` and `script` scenarios).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Script mode: `SEND <frames>`, waits for the peer's `SENT 1`.
    pub async fn send_msg(&mut self, msg: &Message) {
        self.send_line(&format!("SEND {}", hex_frames(msg)));
        self.expect_line("SENT 1").await;
    }

    /// Serve mode: closes the current socket (if any) and opens the one `spec` describes (its
    /// type, endpoints and options; its scenario is ignored, see [`run`](Self::run)); waits for
    /// `READY` and returns the endpoint (also [`endpoint`](Self::endpoint)).
    pub async fn open(&mut self, spec: PeerSpec) -> String {
        assert!(
            spec.args
                .iter()
                .all(|a| !a.is_empty() && !a.contains(char::is_whitespace)),
            "OPEN arguments cannot hold whitespace: {:?}",
            spec.args
        );
        let args = spec.args.join(" ");
        if let Some((server, _)) = self.desc.split_once(", OPEN ") {
            self.desc = server.to_owned();
        }
        self.desc = format!("{}, OPEN {args}", self.desc);
        self.send_line(&format!("OPEN {args}"));
        match self.next_event(READY_TIMEOUT).await {
            LineEvent::Line(l) if l.starts_with("READY ") => {
                self.endpoint = l["READY ".len()..].to_owned();
            }
            other => self.fail(&format!("expected READY after OPEN, got {other:?}")),
        }
        self.endpoint.clone()
    }

    /// Serve mode: starts `scenario` (e.g. `serve 100`) on the open socket; its `OK`, `FAIL`...
    /// lines come later.
    pub fn run(&mut self, scenario: &str) {
        self.send_line(&format!("RUN {scenario}"));
    }

    /// Serve mode: closes the open socket (linger 0) and waits for `CLOSED`.
    pub async fn close_socket(&mut self) {
        self.send_line("CLOSE");
        self.expect_line("CLOSED").await;
    }

    fn note(&mut self, ev: &LineEvent) {
        if let LineEvent::Line(l) = ev {
            if self.recent.len() == 8 {
                self.recent.pop_front();
            }
            self.recent.push_back(abbreviate(l));
        }
    }

    /// Next line, blocking this thread for at most `timeout`; `None` on timeout or EOF.
    pub fn read_line_timeout(&mut self, timeout: Duration) -> Option<String> {
        match self.read_event_blocking(timeout) {
            LineEvent::Line(l) => Some(l),
            _ => None,
        }
    }

    /// Next line event, blocking this thread for at most `timeout`.
    pub fn read_event_blocking(&mut self, timeout: Duration) -> LineEvent {
        let ev = self.lines.wait_line(timeout);
        self.note(&ev);
        ev
    }

    /// Next line event, awaiting (on any executor) for at most `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> LineEvent {
        let lines = self.lines.clone();
        let ev = within(timeout, "", std::future::poll_fn(|cx| lines.poll_line(cx)))
            .await
            .map_or(LineEvent::TimedOut, |l| {
                l.map_or(LineEvent::Eof, LineEvent::Line)
            });
        self.note(&ev);
        ev
    }

    /// Next line (awaiting at most [`LINE_TIMEOUT`]); panics with diagnostics on timeout or EOF.
    pub async fn next_line(&mut self) -> String {
        match self.next_event(LINE_TIMEOUT).await {
            LineEvent::Line(l) => l,
            other => self.fail(&format!("expected a line, got {other:?}")),
        }
    }

    /// Panics unless the next line is exactly `expected`.
    pub async fn expect_line(&mut self, expected: &str) {
        let line = self.next_line().await;
        if line != expected {
            self.fail(&format!(
                "expected {expected:?}, got {:?}",
                abbreviate(&line)
            ));
        }
    }

    /// Next `MSG` line, parsed back into a message.
    pub async fn recv_msg(&mut self) -> Message {
        let hex = self.recv_msg_hex().await;
        match parse_hex_frames(&hex) {
            Ok(m) => m,
            Err(e) => self.fail(&format!("bad MSG line: {e}")),
        }
    }

    /// Next `MSG` line's frames (the text after `MSG `), as produced by [`hex_frames`].
    pub async fn recv_msg_hex(&mut self) -> String {
        let line = self.next_line().await;
        match line.strip_prefix("MSG ") {
            Some(hex) => hex.to_owned(),
            None if line == "MSG" => String::new(),
            None => self.fail(&format!("expected a MSG line, got {:?}", abbreviate(&line))),
        }
    }

    /// Waits (at most [`OK_TIMEOUT`]) for `OK <n>` and returns `n`. Other lines (`MSG`, `SENT`)
    /// are skipped; `FAIL`, `TIMEOUT`, `ERROR` or the peer exiting first panic.
    pub async fn wait_ok(&mut self) -> u64 {
        let deadline = Instant::now() + OK_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left).await {
                LineEvent::Line(l) => match self.classify(&l) {
                    Some(n) => return n,
                    None => continue,
                },
                other => self.fail(&format!("expected OK, got {other:?}")),
            }
        }
    }

    /// [`wait_ok`](Self::wait_ok), blocking this thread.
    pub fn wait_ok_blocking(&mut self) -> u64 {
        let deadline = Instant::now() + OK_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read_event_blocking(left) {
                LineEvent::Line(l) => match self.classify(&l) {
                    Some(n) => return n,
                    None => continue,
                },
                other => self.fail(&format!("expected OK, got {other:?}")),
            }
        }
    }

    fn classify(&mut self, line: &str) -> Option<u64> {
        if let Some(n) = line.strip_prefix("OK ") {
            return Some(n.trim().parse().unwrap_or(0));
        }
        if ["FAIL", "TIMEOUT", "ERROR"]
            .iter()
            .any(|p| line.starts_with(p))
        {
            self.fail(&format!("peer reported {:?}", abbreviate(line)));
        }
        None
    }

    /// Status lines (`FAIL`, `TIMEOUT`, `ERROR`) the peer printed that nobody has read yet.
    fn pending_failures(&self) -> Vec<String> {
        let st = self.lines.state.lock().unwrap();
        st.queue
            .iter()
            .filter(|l| {
                ["FAIL", "TIMEOUT", "ERROR"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .map(|l| abbreviate(l))
            .collect()
    }

    /// Fails fast, without waiting or consuming lines, when the peer has already reported a
    /// failure or exited with an error. Call it now and then in long loops.
    pub fn check(&mut self) -> Result<(), String> {
        let failures = self.pending_failures();
        let exit = self.try_exit().filter(|s| !s.success());
        if failures.is_empty() && exit.is_none() {
            Ok(())
        } else {
            Err(self.explain("the libzmq peer failed"))
        }
    }

    /// `what` (an error seen on our side), plus what the peer has to say: failure lines it
    /// printed, its exit status, its command line and its stderr.
    pub fn explain(&mut self, what: impl std::fmt::Display) -> String {
        let exit = self.try_exit();
        let mut s = format!("{what}\n  peer: {}", self.desc);
        let failures = self.pending_failures();
        if !failures.is_empty() {
            let _ = write!(s, "\n  peer reported: {failures:?}");
        }
        let _ = write!(
            s,
            "\n  peer exit: {exit:?}\n  peer last lines: {:?}",
            self.recent
        );
        let err = self.stderr();
        if !err.trim().is_empty() {
            let _ = write!(s, "\n  peer stderr:\n{err}");
        }
        s
    }

    /// Awaits `fut` (an operation on our socket) for at most [`LINE_TIMEOUT`], returning early
    /// when the peer reports a failure or exits with an error; any error comes with the peer's
    /// view (see [`explain`](Self::explain)).
    pub async fn bounded<T, E: std::fmt::Display>(
        &mut self,
        what: impl std::fmt::Display,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, String> {
        let mut fut = std::pin::pin!(fut);
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            match within(Duration::from_millis(100), "", fut.as_mut()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => return Err(self.explain(format!("{what}: {e}"))),
                Err(_) if self.check().is_err() => {
                    return Err(self.explain(format!("{what}: stopped waiting, the peer failed")));
                }
                Err(_) if Instant::now() >= deadline => {
                    return Err(self.explain(format!("{what}: timed out after {LINE_TIMEOUT:?}")));
                }
                Err(_) => {}
            }
        }
    }

    /// Waits (at most `timeout`, asynchronously) for the peer to exit by itself; its exit status.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.try_exit() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// Panics unless the peer exits with status 0 within 15 s (it may be lingering to flush).
    pub async fn wait_exit_ok(&mut self) {
        match self.wait_exit(Duration::from_secs(15)).await {
            Some(st) if st.success() => {}
            other => self.fail(&format!("expected a clean exit, got {other:?}")),
        }
    }

    /// [`wait_exit`](Self::wait_exit), blocking this thread.
    pub fn wait_exit_blocking(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.try_exit() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }
}

impl Drop for PyPeer {
    fn drop(&mut self) {
        self.stdin = None;
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// endpoints
// ---------------------------------------------------------------------------------------------

/// A fresh directory under the system temp dir (pid + counter), removed on drop. Short paths, as
/// `ipc://` paths must fit in `sockaddr_un` (108 bytes).
#[derive(Debug)]
pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    /// Creates `<tmp>/mq-<pid>-<n>`.
    pub fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("mq-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test dir");
        Self { path }
    }
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// `ipc://<dir>/<name>`.
    pub fn ipc(&self, name: &str) -> String {
        format!("ipc://{}", self.path.join(name).display())
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, released).
pub fn reserve_tcp_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// The transports the interop tests cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `tcp://127.0.0.1`
    Tcp,
    /// `ipc://` under a [`TestDir`]
    Ipc,
}

impl Transport {
    /// An endpoint to bind: `tcp://127.0.0.1:*`, or a fresh ipc path in `dir`.
    pub fn bind_endpoint(self, dir: &TestDir) -> String {
        match self {
            Transport::Tcp => "tcp://127.0.0.1:*".to_owned(),
            Transport::Ipc => dir.ipc("s.sock"),
        }
    }
    /// A concrete endpoint nobody listens on yet (for connect-before-bind).
    pub fn unbound_endpoint(self, dir: &TestDir) -> String {
        match self {
            Transport::Tcp => format!("tcp://127.0.0.1:{}", reserve_tcp_port()),
            Transport::Ipc => dir.ipc("later.sock"),
        }
    }
}

/// Which side binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// monocoque binds, libzmq connects.
    OursBind,
    /// libzmq binds, monocoque connects.
    OursConnect,
}

// ---------------------------------------------------------------------------------------------
// the interop matrix table
// ---------------------------------------------------------------------------------------------

/// Where matrix rows go: `$MONOCOQUE_MATRIX_DIR`, else `<workspace>/target/interop-matrix`.
pub fn matrix_dir() -> PathBuf {
    match std::env::var_os("MONOCOQUE_MATRIX_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .join("target/interop-matrix"),
    }
}

/// Appends `pair<TAB>ours<TAB>role<TAB>transport<TAB>runtime<TAB>PASS|FAIL` to this process's
/// file in [`matrix_dir`] (one file per process, so concurrent test processes never interleave).
/// A row that cannot be written is reported on stderr, never fails the test.
pub fn record_matrix_cell(
    pair: &str,
    ours: &str,
    side: Side,
    transport: Transport,
    runtime: &str,
    pass: bool,
) {
    static LOCK: Mutex<()> = Mutex::new(());
    let role = match side {
        Side::OursBind => "bind",
        Side::OursConnect => "connect",
    };
    let transport = match transport {
        Transport::Tcp => "tcp",
        Transport::Ipc => "ipc",
    };
    let verdict = if pass { "PASS" } else { "FAIL" };
    let line = format!("{pair}\t{ours}\t{role}\t{transport}\t{runtime}\t{verdict}\n");
    let dir = matrix_dir();
    let file = dir.join(format!("cells-{}.tsv", std::process::id()));
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)?
            .write_all(line.as_bytes())
    });
    if let Err(e) = written {
        eprintln!("interop matrix: cannot append to {}: {e}", file.display());
    }
}

// ---------------------------------------------------------------------------------------------
// running a test body on each runtime
// ---------------------------------------------------------------------------------------------

/// Aborts the process if a test outlives [`TEST_TIMEOUT`] by 30 s (its own timeout could not fire
/// because something blocked the executor). Disarmed on drop, including during unwinding.
pub struct Watchdog {
    _disarm: mpsc::Sender<()>,
}

impl Watchdog {
    /// Arms the watchdog for `test`.
    pub fn arm(test: &str) -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        let test = test.to_owned();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(TEST_TIMEOUT + Duration::from_secs(30))
            {
                eprintln!(
                    "WATCHDOG: {test} is stuck (executor blocked?); aborting the test process"
                );
                std::process::abort();
            }
        });
        Self { _disarm: tx }
    }
}

async fn guarded<C, B, Fut>(test: &str, make_ctx: impl FnOnce() -> C, body: B)
where
    B: FnOnce(C) -> Fut,
    Fut: Future<Output = TestResult>,
{
    let ctx = make_ctx();
    match within(TEST_TIMEOUT, "the test body", body(ctx)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{test} failed: {e}"),
        Err(e) => panic!("{test}: {e}"),
    }
}

/// Runs `body(make_ctx())` on a fresh multi-thread tokio runtime (context made inside it).
pub fn run_tokio<C, B, Fut>(test: &str, make_ctx: impl FnOnce() -> C, body: B)
where
    B: FnOnce(C) -> Fut,
    Fut: Future<Output = TestResult>,
{
    if !pyzmq_or_skip(test) {
        return;
    }
    let _watchdog = Watchdog::arm(test);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(guarded(test, make_ctx, body));
    rt.shutdown_timeout(Duration::from_secs(5));
}

/// Runs `body(make_ctx())` with `async_std::task::block_on`.
pub fn run_async_std<C, B, Fut>(test: &str, make_ctx: impl FnOnce() -> C, body: B)
where
    B: FnOnce(C) -> Fut,
    Fut: Future<Output = TestResult>,
{
    if !pyzmq_or_skip(test) {
        return;
    }
    let _watchdog = Watchdog::arm(test);
    async_std::task::block_on(guarded(test, make_ctx, body));
}

/// Runs `body(make_ctx())` with `smol::block_on`.
pub fn run_smol<C, B, Fut>(test: &str, make_ctx: impl FnOnce() -> C, body: B)
where
    B: FnOnce(C) -> Fut,
    Fut: Future<Output = TestResult>,
{
    if !pyzmq_or_skip(test) {
        return;
    }
    let _watchdog = Watchdog::arm(test);
    smol::block_on(guarded(test, make_ctx, body));
}

/// Generates one test per runtime for each entry: `tokio_::name`, `async_std_::name` and
/// `smol_::name` (each only when monocoque's feature for that runtime is on; `--all-features`
/// turns all three on). An entry is either the name of an
/// `async fn name(ctx: monocoque::Context) -> TestResult`, or `name: body` where `body` is any
/// `FnOnce(monocoque::Context) -> impl Future<Output = TestResult>` (e.g. a closure calling a
/// parameterized fn). Each test makes its context inside its runtime, skips when pyzmq is missing
/// (fails when `MONOCOQUE_REQUIRE_PYZMQ` is set) and is bounded by [`TEST_TIMEOUT`].
///
/// ```ignore
/// run_on_all_runtimes!(push_then_pull);
/// run_on_all_runtimes! {
///     push_stream_tcp_bind: |ctx| push_stream(ctx, Transport::Tcp, Side::OursBind),
/// }
/// ```
macro_rules! run_on_all_runtimes {
    ($($name:ident),+ $(,)?) => {
        run_on_all_runtimes!($($name: super::$name),+);
    };
    ($($name:ident : $body:expr),+ $(,)?) => {
        #[cfg(feature = "tokio")]
        mod tokio_ {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $crate::common::run_tokio(
                        concat!("tokio_::", stringify!($name)),
                        || ::monocoque::tokio::context(),
                        $body,
                    );
                }
            )+
        }
        #[cfg(feature = "async-std")]
        mod async_std_ {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $crate::common::run_async_std(
                        concat!("async_std_::", stringify!($name)),
                        || ::monocoque::async_std::context(),
                        $body,
                    );
                }
            )+
        }
        #[cfg(feature = "smol")]
        mod smol_ {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $crate::common::run_smol(
                        concat!("smol_::", stringify!($name)),
                        || ::monocoque::smol::context(),
                        $body,
                    );
                }
            )+
        }
    };
}
pub(crate) use run_on_all_runtimes;
