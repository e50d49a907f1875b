//! The interop matrix table that `cargo xtask test` prints: one row per cell.

use super::*;
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

/// Appends `pair<TAB>ours<TAB>role<TAB>transport<TAB>mechanism<TAB>runtime<TAB>PASS|FAIL` to this process's
/// file in [`matrix_dir`] (one file per process, so concurrent test processes never interleave).
/// A row that cannot be written is reported on stderr, never fails the test.
pub fn record_matrix_cell(
    pair: &str,
    ours: &str,
    side: Side,
    transport: Transport,
    mechanism: &str,
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
    let line = format!("{pair}\t{ours}\t{role}\t{transport}\t{mechanism}\t{runtime}\t{verdict}\n");
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
