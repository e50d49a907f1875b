//! Running the perf tools: finding them ([`Tools`]), fresh endpoints on each
//! [`Transport`], and one run of a binding tool plus its connecting peer as
//! separate processes ([`run_pair`]), killed when they overrun.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A child process, killed on drop unless it has been reaped.
struct Proc {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    status: Option<ExitStatus>,
}

impl Proc {
    fn spawn(tool: &ToolCmd, args: &[String]) -> Result<Proc, String> {
        let bin = &tool.program;
        let mut child = Command::new(bin)
            .args(&tool.prefix)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        Ok(Proc {
            child,
            stdout,
            stderr,
            status: None,
        })
    }

    fn poll(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    fn kill(&mut self) {
        if self.poll().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    fn failed(&mut self) -> bool {
        self.poll().is_some_and(|st| !st.success())
    }

    fn succeeded(&self) -> bool {
        self.status.is_some_and(|st| st.success())
    }

    /// Waits for the output readers (call after the process ended).
    fn output(&mut self) -> (String, String) {
        let join =
            |h: Option<JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
        (join(self.stdout.take()), join(self.stderr.take()))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads a pipe to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// How to start one perf tool.
#[derive(Debug, Clone)]
pub struct ToolCmd {
    /// The tool's name (`local_thr`), for messages.
    pub name: String,
    /// The binary to run.
    pub program: PathBuf,
    /// Arguments before the tool's own (`--tool NAME` when `compare` runs it).
    pub prefix: Vec<String>,
}

/// The perf tools `compare` runs, found by name.
#[derive(Debug)]
pub struct Tools {
    tools: Vec<ToolCmd>,
}

impl Tools {
    /// Picks the binaries called `names` next to `self_exe` (the `compare`
    /// binary), unless they are missing or were built more than a minute
    /// before `compare` (`cargo run --bin compare` rebuilds only `compare`),
    /// or `force_self` is set: then `compare` itself runs them
    /// (`compare --tool NAME`), which is always current. Each fallback adds a
    /// note.
    pub fn locate(
        self_exe: &Path,
        names: &[&str],
        force_self: bool,
        notes: &mut Vec<String>,
    ) -> Tools {
        let dir = self_exe.parent().unwrap_or(Path::new("."));
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let self_time = mtime(self_exe);
        let pick = |name: &str, notes: &mut Vec<String>| {
            let sibling = dir.join(exe(name));
            let problem = if force_self {
                None
            } else if !sibling.exists() {
                Some("missing")
            } else {
                match (mtime(&sibling), self_time) {
                    (Some(t), Some(s)) if t + Duration::from_secs(60) < s => {
                        Some("older than compare (cargo rebuilt only compare, or it is stale)")
                    }
                    _ => {
                        return ToolCmd {
                            name: name.into(),
                            program: sibling,
                            prefix: Vec::new(),
                        };
                    }
                }
            };
            if let Some(problem) = problem {
                notes.push(format!(
                    "{} is {problem}: running it as `compare --tool {name}` (build all tools with `cargo build --release -p monocoque-bench --bins`)",
                    sibling.display()
                ));
            }
            ToolCmd {
                name: name.into(),
                program: self_exe.to_path_buf(),
                prefix: vec!["--tool".into(), name.into()],
            }
        };
        Tools {
            tools: names.iter().map(|name| pick(name, notes)).collect(),
        }
    }

    /// The tool called `name`; panics when [`Tools::locate`] was not asked
    /// for it (a bug in `compare`).
    pub fn get(&self, name: &str) -> &ToolCmd {
        self.tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("tool {name} was not located"))
    }
}

/// `name` with the platform's executable suffix.
fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// Why a run produced no result.
#[derive(Debug)]
pub enum RunError {
    /// A tool exited with code 2: this implementation cannot run.
    Unavailable(String),
    /// Anything else: a crash, a timeout, unexpected output.
    Failed(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Unavailable(s) | RunError::Failed(s) => f.write_str(s),
        }
    }
}

/// The last `n` non-blank lines of `s`, joined with ` | `.
fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

fn describe_exit(tool: &str, status: Option<ExitStatus>, stderr: &str) -> RunError {
    let msg = match status {
        Some(st) => format!("{tool} exited with {st}: {}", last_lines(stderr, 3)),
        None => format!("{tool} did not exit"),
    };
    if status.and_then(|s| s.code()) == Some(2) {
        RunError::Unavailable(msg)
    } else {
        RunError::Failed(msg)
    }
}

/// A transport the tools run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// TCP over the loopback interface.
    Tcp,
    /// Unix domain sockets.
    Ipc,
}

impl Transport {
    /// `tcp` or `ipc`, as on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Ipc => "ipc",
        }
    }

    /// A longer description for report headlines.
    pub fn describe(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp loopback",
            Transport::Ipc => "ipc (unix domain socket)",
        }
    }
}

/// Where a binding tool listens, to tell when it is ready; removes an ipc
/// socket file on drop.
pub struct Listen(ListenAt);

enum ListenAt {
    Tcp(u16),
    Ipc(PathBuf),
}

impl Listen {
    /// Whether the socket is listening; `None` when that cannot be told.
    fn ready(&self) -> Option<bool> {
        match &self.0 {
            ListenAt::Tcp(port) => is_listening(*port),
            ListenAt::Ipc(path) => Some(path.exists()),
        }
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        if let ListenAt::Ipc(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A free loopback port, never the one handed out just before (a run's
/// endpoint and the fan-out side channel must differ).
fn free_port() -> Result<u16, String> {
    static LAST: AtomicU16 = AtomicU16::new(0);
    loop {
        let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
        let port = (l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        if LAST.swap(port, Ordering::Relaxed) != port {
            return Ok(port);
        }
    }
}

/// Whether something listens on 127.0.0.1:`port` (or any address), from
/// /proc/net/tcp; `None` when that file cannot be read.
fn is_listening(port: u16) -> Option<bool> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let want = format!(":{port:04X}");
    Some(table.lines().skip(1).any(|line| {
        let mut cols = line.split_whitespace();
        let local = cols.nth(1).unwrap_or("");
        let state = cols.nth(1).unwrap_or("");
        local.ends_with(&want) && state == "0A"
    }))
}

/// A fresh endpoint on `transport`: a free loopback port, or a socket path
/// in the temporary directory that nothing uses.
pub fn new_endpoint(transport: Transport) -> Result<(String, Listen), RunError> {
    match transport {
        Transport::Tcp => {
            let port = free_port().map_err(RunError::Failed)?;
            Ok((
                format!("tcp://127.0.0.1:{port}"),
                Listen(ListenAt::Tcp(port)),
            ))
        }
        Transport::Ipc => {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir()
                .join(format!("monocoque-compare-{}-{n}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            Ok((
                format!("ipc://{}", path.display()),
                Listen(ListenAt::Ipc(path)),
            ))
        }
    }
}

/// One tool process of a run: which tool, with which arguments.
struct ToolRun<'a> {
    /// The tool.
    tool: &'a ToolCmd,
    /// Its arguments.
    args: Vec<String>,
}

/// One run of a scenario's pair of tools, `names` (the binding one, then
/// the connecting one), over a fresh endpoint on `transport`: each gets the
/// endpoint, then its `args`. Returns both stdouts; `what` describes the
/// run in a timeout's message.
pub fn run_pair(
    tools: &Tools,
    transport: Transport,
    names: [&str; 2],
    args: [Vec<String>; 2],
    timeout: Duration,
    what: &str,
) -> Result<Vec<String>, RunError> {
    let (endpoint, listen) = new_endpoint(transport)?;
    let [bind, connect] = args.map(|a| [vec![endpoint.clone()], a].concat());
    let bind = ToolRun {
        tool: tools.get(names[0]),
        args: bind,
    };
    let connect = ToolRun {
        tool: tools.get(names[1]),
        args: connect,
    };
    run_tools(bind, &[connect], &listen, timeout, what)
}

/// `parse` of `tool`'s output `out`, or why it could not be read.
pub fn parsed<T>(tool: &str, out: &str, parse: fn(&str) -> Option<T>) -> Result<T, RunError> {
    parse(out)
        .ok_or_else(|| RunError::Failed(format!("cannot read {tool}'s output: {}", out.trim())))
}

/// Starts `bind` (which binds `listen`), waits for it to listen, starts
/// every tool of `connect`, and waits for all of them, killing them all
/// once one fails or `timeout` passes (`what` describes the run in that
/// message). Returns the stdouts: `bind`'s first, then `connect`'s in order.
fn run_tools(
    bind: ToolRun<'_>,
    connect: &[ToolRun<'_>],
    listen: &Listen,
    timeout: Duration,
    what: &str,
) -> Result<Vec<String>, RunError> {
    let deadline = Instant::now() + timeout;
    let mut local = Proc::spawn(bind.tool, &bind.args).map_err(RunError::Failed)?;
    // Wait for the bound socket to listen so the peers' first connect
    // attempts succeed (every implementation would retry anyway).
    let listen_deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match listen.ready() {
            Some(true) => break,
            Some(false) if Instant::now() < listen_deadline => {}
            Some(false) => {
                return Err(RunError::Failed(format!(
                    "{} did not start listening within 10 s",
                    bind.tool.name
                )));
            }
            None => {
                std::thread::sleep(Duration::from_millis(300));
                break;
            }
        }
        if local.poll().is_some() {
            let (_, err) = local.output();
            return Err(describe_exit(&bind.tool.name, local.status, &err));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut procs = vec![local];
    for run in connect {
        procs.push(Proc::spawn(run.tool, &run.args).map_err(RunError::Failed)?);
    }
    loop {
        // A tool that failed leaves its peers waiting forever.
        if procs.iter_mut().any(Proc::failed) {
            procs.iter_mut().for_each(Proc::kill);
            break;
        }
        if procs.iter_mut().all(|p| p.poll().is_some()) {
            break;
        }
        if Instant::now() >= deadline {
            procs.iter_mut().for_each(Proc::kill);
            return Err(RunError::Failed(format!(
                "timed out after {:.0} s ({what})",
                timeout.as_secs_f64()
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let outputs: Vec<(String, String)> = procs.iter_mut().map(Proc::output).collect();
    let names = std::iter::once(bind.tool).chain(connect.iter().map(|r| r.tool));
    // The connecting side's error first: when it fails, the binding side
    // was killed and has nothing to say.
    let mut order: Vec<usize> = (1..procs.len()).collect();
    order.push(0);
    let names: Vec<&ToolCmd> = names.collect();
    for i in order {
        if !procs[i].succeeded() {
            return Err(describe_exit(
                &names[i].name,
                procs[i].status,
                &outputs[i].1,
            ));
        }
    }
    Ok(outputs.into_iter().map(|(out, _)| out).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_and_endpoints() {
        use clap::ValueEnum;
        assert_eq!(Transport::from_str("ipc", false), Ok(Transport::Ipc));
        assert!(Transport::from_str("udp", false).is_err());
        let (ep, listen) = new_endpoint(Transport::Ipc).unwrap_or_else(|e| panic!("{e}"));
        assert!(ep.starts_with("ipc://"));
        assert_eq!(listen.ready(), Some(false));
        let (ep, _) = new_endpoint(Transport::Tcp).unwrap_or_else(|e| panic!("{e}"));
        assert!(ep.starts_with("tcp://127.0.0.1:"));
        let (next, _) = new_endpoint(Transport::Tcp).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(ep, next);
        assert_eq!(last_lines("a\n\nb\nc\n", 2), "b | c");
    }
}
