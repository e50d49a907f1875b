//! Running the perf tools: finding them ([`locate_tools`]), fresh endpoints on each
//! [`Transport`], and one run of a binding tool plus its connecting peer as
//! separate processes ([`Ctx::run_pair`]), killed when they overrun.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use monocoque_bench::child::Child;

use crate::Ctx;
use monocoque_bench::output;

/// The directory of `self_exe` (the `compare` binary), once every perf
/// tool in `names` is there (`cargo xtask bench` builds them all first).
pub fn locate_tools(self_exe: &Path, names: &[&str]) -> Result<PathBuf, String> {
    let dir = self_exe.parent().unwrap_or(Path::new(".")).to_path_buf();
    let missing: Vec<&str> = (names.iter().copied())
        .filter(|name| !dir.join(exe(name)).exists())
        .collect();
    if missing.is_empty() {
        return Ok(dir);
    }
    Err(format!(
        "{} missing in {}: build the perf tools with `cargo build --release -p monocoque-bench --bins` (`cargo xtask bench` does)",
        missing.join(", "),
        dir.display()
    ))
}

/// `name` with the platform's executable suffix.
fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// Why a run produced no result.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A tool exited with code 2: this implementation cannot run.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: a crash, a timeout, unexpected output.
    #[error("{0}")]
    Failed(String),
}

/// The last `n` non-blank lines of `s`, joined with ` | `.
fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Why `child` (which has exited, or was killed) produced no result.
fn describe_exit(child: &mut Child) -> RunError {
    let status = child.poll();
    let msg = match status {
        Some(st) => {
            let stderr = last_lines(&child.stderr(), 3);
            format!("{} exited with {st}: {stderr}", child.name)
        }
        None => format!("{} did not exit", child.name),
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
pub enum Listen {
    /// A loopback port.
    Tcp(u16),
    /// A socket file.
    Ipc(PathBuf),
}

impl Listen {
    /// Whether the socket is listening; `None` when that cannot be told.
    fn ready(&self) -> Option<bool> {
        match self {
            Listen::Tcp(port) => is_listening(*port),
            Listen::Ipc(path) => Some(path.exists()),
        }
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        if let Listen::Ipc(path) = self {
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
            Ok((format!("tcp://127.0.0.1:{port}"), Listen::Tcp(port)))
        }
        Transport::Ipc => {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir()
                .join(format!("monocoque-compare-{}-{n}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            Ok((format!("ipc://{}", path.display()), Listen::Ipc(path)))
        }
    }
}

impl Ctx<'_> {
    /// One run of a scenario's pair of tools, `names` (the binding one, then
    /// the connecting one), over a fresh endpoint on `transport`: each gets the
    /// endpoint, then its `args`. Starts the binding tool, waits for it to
    /// listen, starts the other, and waits for both, killing both once one
    /// fails or `timeout` passes (`what` describes the run in that message).
    /// Returns both stdouts.
    pub fn run_pair(
        &self,
        transport: Transport,
        names: [&str; 2],
        args: [Vec<String>; 2],
        timeout: Duration,
        what: &str,
    ) -> Result<Vec<String>, RunError> {
        self.run_pair_with(transport, names, args, &[], timeout, what)
    }

    /// [`Ctx::run_pair`] with `env` added to both tools' environment.
    pub fn run_pair_with(
        &self,
        transport: Transport,
        names: [&str; 2],
        args: [Vec<String>; 2],
        env: &[(&str, String)],
        timeout: Duration,
        what: &str,
    ) -> Result<Vec<String>, RunError> {
        let (endpoint, listen) = new_endpoint(transport)?;
        let deadline = Instant::now() + timeout;
        let spawn = |i: usize| {
            let mut command = Command::new(self.tools.join(exe(names[i])));
            command.arg(&endpoint).args(&args[i]);
            command.envs(env.iter().map(|(k, v)| (k, v)));
            Child::spawn(names[i], &mut command).map_err(|e| RunError::Failed(e.to_string()))
        };
        let mut local = spawn(0)?;
        // Wait for the bound socket to listen so the peer's first connect
        // attempts succeed (every implementation would retry anyway).
        let listen_deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match listen.ready() {
                Some(true) => break,
                Some(false) if Instant::now() < listen_deadline => {}
                Some(false) => {
                    return Err(RunError::Failed(format!(
                        "{} did not start listening within 10 s",
                        names[0]
                    )));
                }
                None => {
                    std::thread::sleep(Duration::from_millis(300));
                    break;
                }
            }
            if local.poll().is_some() {
                return Err(describe_exit(&mut local));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut procs = [local, spawn(1)?];
        loop {
            // A tool that failed leaves its peer waiting forever.
            if procs.iter_mut().any(Child::failed) {
                procs.iter_mut().for_each(Child::kill);
                break;
            }
            if procs.iter_mut().all(|p| p.poll().is_some()) {
                break;
            }
            if Instant::now() >= deadline {
                return Err(RunError::Failed(format!(
                    "timed out after {:.0} s ({what})",
                    timeout.as_secs_f64()
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // The connecting side's error first: when it fails, the binding side
        // was killed and has nothing to say.
        for i in [1, 0] {
            if !procs[i].poll().is_some_and(|s| s.success()) {
                return Err(describe_exit(&mut procs[i]));
            }
        }
        Ok(procs.iter_mut().map(Child::stdout).collect())
    }
}

/// The values of `keys` in `tool`'s output `text` (read as
/// [`output::value`] does), once it reports `given`: the message size and
/// counts the run asked for.
pub fn read<const N: usize>(
    tool: &str,
    text: &str,
    given: &[(&str, u64)],
    keys: [&str; N],
) -> Result<[f64; N], RunError> {
    let get = |key: &str| {
        output::value(text, key).ok_or_else(|| {
            RunError::Failed(format!("no `{key}` in {tool}'s output: {}", text.trim()))
        })
    };
    for &(key, want) in given {
        let got = get(key)?;
        if got != want as f64 {
            let why = format!("{tool} reported {key} {got}, expected {want}");
            return Err(RunError::Failed(why));
        }
    }
    let mut out = [0.0; N];
    for (value, key) in out.iter_mut().zip(keys) {
        *value = get(key)?;
    }
    Ok(out)
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
        let out = "message size: 64 [B]\nmean throughput: 12 [msg/s]\n";
        let read = |size| {
            read(
                "t",
                out,
                &[("message size", size)],
                ["mean throughput [msg/s]"],
            )
        };
        assert_eq!(read(64).unwrap_or_else(|e| panic!("{e}")), [12.0]);
        assert!(read(65).is_err());
    }
}
