//! The `measure` driver: runs `idle_conns server` and `idle_conns clients`
//! as child processes over `tcp://127.0.0.1` (the server binds an ephemeral
//! port and prints it), collects the server's report, then closes both
//! children's stdin so they exit. Everything is bounded by a deadline; a
//! child still running at the end is killed.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::MeasureArgs;
use crate::Result;
use crate::child::Child;

/// The default deadline for `connections` connections: a minute, plus a
/// second per 200 connections.
pub fn default_timeout(connections: usize) -> Duration {
    Duration::from_secs(60 + (connections / 200) as u64)
}

/// An error naming `child`, with its stderr, once it is killed.
fn failure(child: &mut Child, why: &str) -> crate::BoxError {
    child.kill();
    let stderr = child.stderr();
    format!("{} {why}; its stderr:\n{}", child.name, stderr.trim_end()).into()
}

/// Fails if `child` has already exited with an error.
fn check_alive(child: &mut Child) -> Result<()> {
    match child.poll() {
        Some(status) if !status.success() => Err(failure(child, &format!("exited with {status}"))),
        _ => Ok(()),
    }
}

/// Closes `child`'s stdin (its signal to exit) and waits until `deadline`
/// for it to do so, killing it after that.
fn finish(child: &mut Child, deadline: Instant) -> Result<()> {
    child.close_stdin();
    while Instant::now() < deadline {
        if child.poll().is_some() {
            return check_alive(child);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(failure(child, "did not exit when its stdin closed"))
}

/// Starts `exe` with the arguments of `command_line` (words separated by
/// spaces), called by its first word in messages.
fn spawn(exe: &Path, command_line: &str) -> Result<Child> {
    let args: Vec<&str> = command_line.split(' ').collect();
    Child::spawn(args[0], Command::new(exe).args(&args))
}

/// Runs one measurement with `exe` (this tool's binary) as server and
/// clients; returns the server's report, as it printed it.
pub fn measure(exe: &Path, config: &MeasureArgs) -> Result<String> {
    let timeout = config.timeout.map(Duration::from_secs);
    let deadline = Instant::now() + timeout.unwrap_or_else(|| default_timeout(config.connections));
    let (n, on, traffic) = (config.connections, config.side.on, config.traffic);
    let mut server = spawn(
        exe,
        &format!(
            "server tcp://127.0.0.1:* {n} --impl {} --runtime {} --messages {}",
            on.imp, on.runtime, traffic.messages
        ),
    )?;
    let mut endpoint = None;
    loop {
        match server.next_line(deadline)? {
            Some(line) if line == "ready" => break,
            Some(line) => {
                if let Some(ep) = line.strip_prefix("endpoint: ") {
                    endpoint = Some(ep.to_string());
                }
            }
            None => return Err(failure(&mut server, "exited before it was ready")),
        }
    }
    let endpoint = endpoint.ok_or("the server printed no endpoint")?;
    let mut clients = spawn(
        exe,
        &format!(
            "clients {endpoint} {n} --threads {} --messages {} --size {}",
            config.threads, traffic.messages, traffic.size
        ),
    )?;
    let mut report = String::new();
    loop {
        check_alive(&mut clients)?;
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
            Ok(None) => return Err(failure(&mut server, "exited before reporting")),
            Err(e) if Instant::now() >= deadline => {
                return Err(format!("{e} (its report so far: {report:?})").into());
            }
            Err(_) => {}
        }
    }
    // The rest of the report (heap lines) comes before the server exits.
    let exit_deadline = (Instant::now() + Duration::from_secs(30)).min(deadline);
    let server_result = finish(&mut server, exit_deadline);
    while let Ok(Some(line)) = server.next_line(exit_deadline) {
        report.push_str(&line);
        report.push('\n');
    }
    let clients_result = finish(&mut clients, exit_deadline);
    server_result?;
    clients_result?;
    Ok(report)
}
