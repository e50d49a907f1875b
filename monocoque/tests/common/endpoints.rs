//! Endpoints for tests: unique temporary directories for ipc paths, free TCP ports, the
//! transports and roles the interop tests cover.

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
