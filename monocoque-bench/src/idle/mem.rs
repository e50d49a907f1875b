//! Memory readings: the process's resident set size, the Rust heap in use
//! (when [`CountingAlloc`] is the global allocator), and the open-file limit
//! (`getrlimit`, through nix).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use nix::sys::resource::{Resource, getrlimit};

use crate::Result;

/// The resident set size of this process in bytes (`VmRSS` of
/// `/proc/self/status`).
pub fn rss_bytes() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    status_field_kib(&status, "VmRSS:")
        .map(|kib| kib * 1024)
        .ok_or_else(|| "no VmRSS line in /proc/self/status".into())
}

/// The value, in KiB, of a `Name:   1234 kB` line of `/proc/<pid>/status`.
fn status_field_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// Descriptors needed beyond one per connection (stdio, epoll, eventfds,
/// listeners, the runtime's own).
const SPARE_FDS: u64 = 64;

/// Fails with an explanation when this process may not open `connections`
/// sockets (plus a few for itself) under its `RLIMIT_NOFILE` soft limit.
pub fn check_fd_limit(connections: usize) -> Result<()> {
    let needed = connections as u64 + SPARE_FDS;
    let (limit, _hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if limit >= needed {
        return Ok(());
    }
    Err(format!(
        "{connections} connections need about {needed} file descriptors, but the soft \
         limit (RLIMIT_NOFILE) is {limit}: raise it first, e.g. `ulimit -n {needed}` \
         (up to the hard limit, `ulimit -Hn`)"
    )
    .into())
}

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// A global allocator over [`System`] that keeps count of the bytes
/// allocated and not yet freed, as requested by the program (not pages
/// touched, not allocator overhead). Install it with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;` in a
/// binary; [`heap_in_use`] then reports the count.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

impl CountingAlloc {
    fn note_alloc(size: usize) {
        LIVE_BYTES.fetch_add(size, Ordering::Relaxed);
        if !INSTALLED.load(Ordering::Relaxed) {
            INSTALLED.store(true, Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counters do not
// affect the memory handed out.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees about `layout`.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::note_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees about `layout`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::note_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees about `ptr`, `layout`
        // and `new_size`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

/// Bytes of Rust heap allocated and not freed, when [`CountingAlloc`] is the
/// global allocator of this program; `None` otherwise. C code (libzmq)
/// allocates behind its back and is not counted.
pub fn heap_in_use() -> Option<u64> {
    INSTALLED
        .load(Ordering::Relaxed)
        .then(|| LIVE_BYTES.load(Ordering::Relaxed) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tx\nVmHWM:\t  9999 kB\nVmRSS:\t    4321 kB\n";
        assert_eq!(status_field_kib(status, "VmRSS:"), Some(4321));
        assert_eq!(status_field_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn reads_own_rss_and_limit() {
        assert!(rss_bytes().unwrap() > 0);
        check_fd_limit(1).unwrap();
    }
}
