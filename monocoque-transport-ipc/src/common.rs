//! Runtime-independent pieces shared by the runtime modules.

use monocoque_core::endpoint::{Endpoint, IpcAddr};
use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The scheme every runtime's transport serves.
pub(crate) const SCHEME: &str = "ipc";

/// The IPC address of `endpoint`, or `InvalidInput` for another scheme.
pub(crate) fn ipc_addr(endpoint: &Endpoint) -> io::Result<&IpcAddr> {
    match endpoint {
        Endpoint::Ipc(addr) => Ok(addr),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the ipc transport cannot serve endpoint {other}"),
        )),
    }
}

/// The path a bind of `ipc://*` gets, as libzmq's: a socket file named `socket` in a fresh
/// directory of its own under the temp directory (`$TMPDIR`, else `/tmp`), readable by this
/// user only; the directory goes with the file when the listener closes.
pub(crate) fn wildcard_path() -> io::Result<(PathBuf, WildcardDir)> {
    use std::os::unix::fs::DirBuilderExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    // A name taken already (another process, an earlier run) fails `create`: try the next.
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!(
            "monocoque-ipc-{}-{n}-{stamp:08x}",
            std::process::id()
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok((dir.join("socket"), WildcardDir(dir))),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "ipc://*: no free directory name in the temp directory",
    ))
}

/// The directory [`wildcard_path`] made; dropping it removes it (if empty), so that a bind
/// that fails leaves nothing behind, and a closed listener's file takes it along.
#[derive(Debug)]
pub(crate) struct WildcardDir(PathBuf);

impl Drop for WildcardDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Where a bind of `path` goes: `path` itself, or for `*` a fresh path from
/// [`wildcard_path`] with its directory (to remove after the socket file).
pub(crate) fn bind_target(path: &Path) -> io::Result<(PathBuf, Option<WildcardDir>)> {
    if path.as_os_str() == "*" {
        let (path, dir) = wildcard_path()?;
        Ok((path, Some(dir)))
    } else {
        Ok((path.to_owned(), None))
    }
}

/// Makes way for a bind at `path`: nothing to do when it does not exist; a stale socket (its
/// `probe` connect is refused) is removed; a live one, or a file that is not a socket, is
/// `AddrInUse`.
///
/// `probe` connects to `path` with the runtime's non-blocking connect and drops the stream.
pub(crate) async fn clear_stale_socket<F, Fut>(path: &Path, probe: F) -> io::Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    if !metadata.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "cannot bind ipc://{}: the path exists and is not a socket",
                path.display()
            ),
        ));
    }
    let in_use = || {
        io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "cannot bind ipc://{}: another listener is bound there",
                path.display()
            ),
        )
    };
    match probe().await {
        Ok(()) => Err(in_use()),
        // A live listener with a full backlog.
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => Err(in_use()),
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {
            match std::fs::remove_file(path) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            }
        }
        // Removed in the meantime: the way is clear.
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

/// The socket file a listener created; dropping it removes the file if the path still names
/// that very file.
#[derive(Debug)]
pub(crate) struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
    /// The directory made for it (`ipc://*`), removed after it.
    dir: Option<WildcardDir>,
}

impl SocketFile {
    /// Records the identity of the socket file just bound at `path`, in `dir` if the bind
    /// made that directory for it.
    pub(crate) fn claim(path: &Path, dir: Option<WildcardDir>) -> io::Result<Self> {
        // Absolute, so a later change of working directory cannot redirect the removal.
        let path = std::path::absolute(path)?;
        let metadata = std::fs::symlink_metadata(&path)?;
        Ok(Self {
            dev: metadata.dev(),
            ino: metadata.ino(),
            path,
            dir,
        })
    }
}

impl SocketFile {
    /// Removes the file if the path still names that very file (another listener's file, bound
    /// there since, is left alone). Fails as libzmq's `unlink` does when the file is gone
    /// already (`NotFound`), or cannot be removed.
    pub(crate) fn remove(mut self) -> io::Result<()> {
        let result = self.remove_if_ours();
        // The directory goes after the file (its guard's drop).
        let dir = self.dir.take();
        std::mem::forget(self);
        drop(dir);
        result
    }

    fn remove_if_ours(&self) -> io::Result<()> {
        let metadata = std::fs::symlink_metadata(&self.path)?;
        if metadata.dev() == self.dev && metadata.ino() == self.ino {
            std::fs::remove_file(&self.path)?;
        }
        Ok(())
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        // Nothing useful to do if it fails (e.g. the directory became read-only): the next
        // bind treats the file as stale.
        // The directory's guard, a field, drops after this: file first, then directory.
        let _ = self.remove_if_ours();
    }
}

/// A non-blocking std listener bound to the abstract name `name`.
#[cfg(target_os = "linux")]
pub(crate) fn abstract_listener(name: &str) -> io::Result<UnixListener> {
    use std::os::linux::net::SocketAddrExt;
    let listener = UnixListener::bind_addr(&SocketAddr::from_abstract_name(name)?)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The abstract namespace exists only on Linux.
#[cfg(not(target_os = "linux"))]
pub(crate) fn abstract_listener(name: &str) -> io::Result<UnixListener> {
    Err(abstract_unsupported(name))
}

/// A non-blocking std stream connected to the abstract name `name`.
///
/// The connect itself blocks (std has no non-blocking connect), if only while the listener's
/// backlog is full: run it on the runtime's blocking pool.
#[cfg(target_os = "linux")]
pub(crate) fn abstract_connect(name: &str) -> io::Result<UnixStream> {
    use std::os::linux::net::SocketAddrExt;
    let stream = UnixStream::connect_addr(&SocketAddr::from_abstract_name(name)?)?;
    stream.set_nonblocking(true)?;
    Ok(stream)
}

/// The abstract namespace exists only on Linux.
#[cfg(not(target_os = "linux"))]
pub(crate) fn abstract_connect(name: &str) -> io::Result<UnixStream> {
    Err(abstract_unsupported(name))
}

#[cfg(not(target_os = "linux"))]
fn abstract_unsupported(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("ipc://@{name}: the abstract socket namespace exists only on Linux"),
    )
}

/// A socket address as `Connection::peer_addr` shows it: the path, `@name` or `unnamed`.
pub(crate) fn peer_name(addr: &SocketAddr) -> String {
    if let Some(path) = addr.as_pathname() {
        return path.display().to_string();
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::linux::net::SocketAddrExt;
        if let Some(name) = addr.as_abstract_name() {
            return format!("@{}", String::from_utf8_lossy(name));
        }
    }
    "unnamed".to_owned()
}

/// The peer name of a connection to `addr`: its path or `@name`.
pub(crate) fn endpoint_name(addr: &IpcAddr) -> String {
    match addr {
        IpcAddr::Path(path) => path.display().to_string(),
        IpcAddr::Abstract(name) => format!("@{name}"),
    }
}

/// The error of a connect that outlived its `ConnectOptions::timeout`.
pub(crate) fn timed_out(endpoint: &Endpoint, timeout: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("connecting to {endpoint} timed out after {timeout:?}"),
    )
}

/// The error of a blocking-pool task that did not finish (it panicked or was cancelled).
#[cfg(feature = "tokio")]
pub(crate) fn blocking_task_failed(err: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("the blocking connect task failed: {err}"))
}
