//! A child process as `compare` and `idle_conns measure` run their tools:
//! stdin piped (closing it asks `idle_conns` to exit), stdout read line by
//! line as it comes, stderr read to its end, both on threads of their own
//! so that a full pipe never blocks the child; killed if still running when
//! dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use crate::Result;

/// A running (or finished) child process.
pub struct Child {
    /// What it is, for messages (`server`, `local_thr`).
    pub name: String,
    child: std::process::Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    status: Option<ExitStatus>,
}

impl Child {
    /// Starts `command`, called `name` in messages.
    pub fn spawn(name: &str, command: &mut Command) -> Result<Child> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", command.get_program()))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
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
        Ok(Child {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines,
            stderr: Some(stderr),
            status: None,
        })
    }

    /// The next stdout line, waiting until `deadline`; `Ok(None)` at its end.
    pub fn next_line(&mut self, deadline: Instant) -> Result<Option<String>> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Ok(Some(line)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Ok(None),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(format!("timed out waiting for the {}", self.name).into())
            }
        }
    }

    /// The exit status, once it has exited.
    pub fn poll(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Whether it has exited with an error.
    pub fn failed(&mut self) -> bool {
        self.poll().is_some_and(|st| !st.success())
    }

    /// Kills it, unless it has exited, and waits for it.
    pub fn kill(&mut self) {
        if self.poll().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    /// Closes its stdin.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// The rest of its stdout (call once it has exited).
    pub fn stdout(&mut self) -> String {
        self.lines.iter().map(|line| line + "\n").collect()
    }

    /// Its whole stderr (waits for it to end: call once it has exited).
    pub fn stderr(&mut self) -> String {
        (self.stderr.take())
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}
