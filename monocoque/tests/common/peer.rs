//! The libzmq peer: `tests/peer/zmq_peer.py` (pyzmq) in a child process, driven by
//! command-line arguments and stdin/stdout lines. The child's pipes are served by plain threads,
//! so waiting for a line works the same on tokio, async-std and smol (and outside any runtime).
//! Without pyzmq a peer cannot start, and the test that asked for one fails saying so.

use super::*;
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

/// Panics, saying how to install it, unless pyzmq (libzmq's peer for the interop tests) is
/// importable: an interop test never passes without its peer.
pub fn require_pyzmq(test: &str) {
    if let Err(why) = pyzmq_status() {
        panic!(
            "{test}: the libzmq peer needs pyzmq, which is unusable: {why} \
             (install it with `{} -m pip install pyzmq`, or set PYTHON to an interpreter that \
             has it; `cargo xtask test` installs it)",
            python()
        );
    }
}

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

/// How to start a [`PyPeer`]: socket type, endpoints, scenario and options of `zmq_peer.py`.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    args: Vec<String>,
    /// A command the interpreter runs under (`ip netns exec NS`), if any.
    prefix: Vec<String>,
}

impl PeerSpec {
    /// A peer with a libzmq socket of this type (`"PULL"`, `"PAIR"`, ...), in `script` mode.
    pub fn new(socket_type: &str) -> Self {
        Self {
            args: vec!["--type".into(), socket_type.into()],
            prefix: Vec::new(),
        }
    }
    /// Runs the interpreter under `prefix` (e.g. `ip netns exec NS`: the peer on another
    /// host); the prefix must exec the interpreter, so that [`PyPeer::pid`] is its pid.
    pub fn under(mut self, prefix: Vec<String>) -> Self {
        self.prefix = prefix;
        self
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
    /// `--plain-server`: a PLAIN server, with a zmq.auth authenticator allowing `users`
    /// (`(name, password)`); none: libzmq accepts everyone.
    pub fn plain_server(self, users: &[(&str, &str)]) -> Self {
        users
            .iter()
            .fold(self.arg("--plain-server"), |spec, (u, p)| {
                spec.arg(format!("--auth-plain={u}={p}"))
            })
    }
    /// `--plain-user`, `--plain-password`: a PLAIN client.
    pub fn plain_client(self, user: &str, password: &str) -> Self {
        self.arg(format!("--plain-user={user}"))
            .arg(format!("--plain-password={password}"))
    }
    /// `--curve-server=SECRET`: a CURVE server; with `allow`, a zmq.auth authenticator that
    /// accepts only these client public keys (Z85).
    pub fn curve_server(self, secret: &str, allow: &[&str]) -> Self {
        allow
            .iter()
            .fold(self.arg(format!("--curve-server={secret}")), |spec, key| {
                spec.arg(format!("--auth-curve-allow={key}"))
            })
    }
    /// A CURVE client with this key pair, for the server with this public key (all Z85).
    pub fn curve_client(self, public: &str, secret: &str, server: &str) -> Self {
        self.arg(format!("--curve-public={public}"))
            .arg(format!("--curve-secret={secret}"))
            .arg(format!("--curve-serverkey={server}"))
    }
    /// ZMQ_HEARTBEAT_IVL, _TTL and _TIMEOUT, in ms.
    pub fn heartbeat(self, ivl_ms: u64, ttl_ms: u64, timeout_ms: u64) -> Self {
        self.opt("--heartbeat-ivl", ivl_ms)
            .opt("--heartbeat-ttl", ttl_ms)
            .opt("--heartbeat-timeout", timeout_ms)
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
            prefix: Vec::new(),
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
        require_pyzmq("starting a libzmq peer");
        let desc = format!(
            "{}zmq_peer.py {}",
            spec.prefix
                .iter()
                .map(|p| format!("{p} "))
                .collect::<String>(),
            spec.args.join(" ")
        );
        let mut command = match spec.prefix.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(python());
                c
            }
            None => Command::new(python()),
        };
        let mut child = command
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
