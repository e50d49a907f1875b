//! Runs `idle_conns measure 200` for each implementation (and each runtime
//! of monocoque) and checks that it reports a sensible memory figure. No
//! threshold on the figure itself: machines and allocators differ.
// The helper is unused when neither implementation is built in.
#![cfg_attr(
    not(any(feature = "libzmq", feature = "monocoque-impl")),
    allow(dead_code, unused_imports)
)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use monocoque_bench::output::value as report_value;

/// Runs `idle_conns measure 200 <args>` and returns its stdout, failing the
/// test if it fails or takes longer than two minutes.
fn measure(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idle_conns"))
        .args(["measure", "200", "--timeout", "90"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start idle_conns");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "idle_conns measure {args:?} timed out; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "idle_conns measure {args:?} failed ({}); stdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Checks the report: 200 connections and a positive, finite figure.
fn check(args: &[&str]) {
    let report = measure(args);
    assert_eq!(
        report_value(&report, "connections"),
        Some(200.0),
        "{report}"
    );
    let per_connection =
        report_value(&report, "memory per connection").expect("no memory per connection line");
    assert!(
        per_connection.is_finite() && per_connection > 0.0,
        "memory per connection {per_connection} KiB:\n{report}"
    );
    let (before, after) = (
        report_value(&report, "rss before").expect("no rss before line"),
        report_value(&report, "rss after").expect("no rss after line"),
    );
    assert!(before > 0.0 && after > before, "{report}");
}

#[cfg(feature = "monocoque-impl")]
#[test]
fn monocoque_tokio() {
    check(&["--impl", "monocoque", "--runtime", "tokio"]);
}

#[cfg(feature = "monocoque-impl")]
#[test]
fn monocoque_async_std() {
    check(&["--impl", "monocoque", "--runtime", "async-std"]);
}

#[cfg(feature = "monocoque-impl")]
#[test]
fn monocoque_smol() {
    check(&["--impl", "monocoque", "--runtime", "smol"]);
}

#[cfg(feature = "libzmq")]
#[test]
fn libzmq() {
    check(&["--impl", "libzmq"]);
}

/// An implementation missing from the build is refused with exit code 2;
/// bad arguments with exit code 1.
#[test]
fn usage_errors() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_idle_conns"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run(&["measure"]), Some(1));
    assert_eq!(run(&["measure", "0"]), Some(1));
    assert_eq!(run(&["measure", "10", "--impl", "nope"]), Some(1));
    assert_eq!(run(&["bogus"]), Some(1));
    if !monocoque_bench::imp::built_in(monocoque_bench::args::Impl::Libzmq) {
        assert_eq!(run(&["measure", "10", "--impl", "libzmq"]), Some(2));
    }
}
