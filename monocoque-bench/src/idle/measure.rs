//! The `measure` driver: runs `idle_conns server` and `idle_conns clients`
//! as child processes over `tcp://127.0.0.1` (the server binds an ephemeral
//! port and prints it), collects the server's report, then closes both
//! children's stdin so they exit. Everything is bounded by a deadline; a
//! child still running at the end is killed.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::client::Traffic;
use crate::Result;
use crate::args::{Impl, Runtime};

/// What to measure.
#[derive(Debug, Clone)]
pub struct MeasureConfig {
    /// How many idle connections.
    pub connections: usize,
    /// The server's implementation.
    pub imp: Impl,
    /// The server's runtime (monocoque only).
    pub runtime: Runtime,
    /// What each client sends before going idle.
    pub traffic: Traffic,
    /// Whether the server reports which allocations are resident.
    pub residency: bool,
    /// Client threads (handshakes in flight at once).
    pub threads: usize,
    /// Deadline for the whole run.
    pub timeout: Duration,
}

impl MeasureConfig {
    /// The default deadline for `connections` connections: a minute, plus
    /// a second per 200 connections.
    pub fn default_timeout(connections: usize) -> Duration {
        Duration::from_secs(60 + (connections / 200) as u64)
    }
}

/// A running child process: its stdin (closing it asks the child to exit),
/// its stdout lines as they come, and its whole stderr at the end. Killed if
/// still running when dropped.
struct Running {
    what: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    fn spawn(what: &'static str, exe: &Path, args: &[String]) -> Result<Running> {
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {what} ({}): {e}", exe.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Ok(Running {
            what,
            child,
            stdin,
            lines,
            stderr: Some(stderr),
        })
    }

    /// The next stdout line, waiting until `deadline`; `Ok(None)` at EOF.
    fn next_line(&mut self, deadline: Instant) -> Result<Option<String>> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Ok(Some(line)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Ok(None),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(format!("timed out waiting for the {}", self.what).into())
            }
        }
    }

    /// Fails if the child has already exited with an error.
    fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            Some(status) if !status.success() => {
                Err(self.failure(&format!("exited with {status}")))
            }
            _ => Ok(()),
        }
    }

    /// An error naming this child, with its stderr (once it has exited).
    fn failure(&mut self, why: &str) -> crate::BoxError {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = (self.stderr.take())
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        format!("{} {why}; its stderr:\n{}", self.what, stderr.trim_end()).into()
    }

    /// Closes stdin (the child's signal to exit) and waits until `deadline`
    /// for it to do so, killing it after that.
    fn finish(&mut self, deadline: Instant) -> Result<()> {
        drop(self.stdin.take());
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(self.failure(&format!("exited with {status}")))
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(self.failure("did not exit when its stdin closed"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs one measurement with `exe` (this tool's binary) as server and
/// clients; returns the server's report, as it printed it.
pub fn measure(exe: &Path, config: &MeasureConfig) -> Result<String> {
    let deadline = Instant::now() + config.timeout;
    let n = config.connections.to_string();
    let messages = config.traffic.messages.to_string();
    let mut server_args = vec![
        "server".to_string(),
        "tcp://127.0.0.1:*".to_string(),
        n.clone(),
        "--impl".to_string(),
        config.imp.name().to_string(),
        "--runtime".to_string(),
        config.runtime.name().to_string(),
        "--messages".to_string(),
        messages.clone(),
    ];
    if config.residency {
        server_args.push("--residency".to_string());
    }
    let mut server = Running::spawn("server", exe, &server_args)?;
    let mut endpoint = None;
    loop {
        match server.next_line(deadline)? {
            Some(line) if line == "ready" => break,
            Some(line) => {
                if let Some(ep) = line.strip_prefix("endpoint: ") {
                    endpoint = Some(ep.to_string());
                }
            }
            None => return Err(server.failure("exited before it was ready")),
        }
    }
    let endpoint = endpoint.ok_or("the server printed no endpoint")?;
    let client_args = vec![
        "clients".to_string(),
        endpoint,
        n,
        "--threads".to_string(),
        config.threads.to_string(),
        "--messages".to_string(),
        messages,
        "--size".to_string(),
        config.traffic.size.to_string(),
    ];
    let mut clients = Running::spawn("clients", exe, &client_args)?;
    let mut report = String::new();
    loop {
        clients.check_alive()?;
        let step = (Instant::now() + Duration::from_millis(100)).min(deadline);
        match server.next_line(step) {
            Ok(Some(line)) => {
                let last = line.starts_with("memory per connection:");
                report.push_str(&line);
                report.push('\n');
                if last {
                    break;
                }
            }
            Ok(None) => return Err(server.failure("exited before reporting")),
            Err(e) if Instant::now() >= deadline => {
                return Err(format!("{e} (its report so far: {report:?})").into());
            }
            Err(_) => {}
        }
    }
    // The rest of the report (heap lines) comes before the server exits.
    let exit_deadline = (Instant::now() + Duration::from_secs(30)).min(deadline);
    let server_result = server.finish(exit_deadline);
    while let Ok(Some(line)) = server.next_line(exit_deadline) {
        report.push_str(&line);
        report.push('\n');
    }
    let clients_result = clients.finish(exit_deadline);
    server_result?;
    clients_result?;
    Ok(report)
}
