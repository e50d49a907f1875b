//! libzmq with CURVE, loaded at run time: what `--impl libzmq` runs with
//! `--curve` and in the handshake tools.
//!
//! The `zmq` crate's vendored libzmq is built without libsodium, so it has
//! no CURVE. This implementation loads another libzmq with `libloading`
//! (its `ffi` module), the first of [`candidates`] that has CURVE
//! (`zmq_has("curve")`):
//!
//! 1. `$MONOCOQUE_BENCH_LIBZMQ` ([`LIBZMQ_ENV`]), a path, when set (then
//!    only that one);
//! 2. the libzmq that pyzmq bundles (`pyzmq.libs/libzmq*.so*` beside the
//!    `zmq` package, with its libsodium), asking `$PYTHON` (default
//!    `python3`) only where that package is;
//! 3. the system's `libzmq.so.5`.
//!
//! Without one, every tool fails with [`Unavailable`] (exit code 2), and
//! `compare` reports the libzmq rows as missing.
//!
//! The tools mirror [`Libzmq`](super::libzmq::Libzmq)'s and libzmq's own:
//! one I/O thread, a fresh `zmq_msg_init_size` message per sent message,
//! one reused `zmq_msg_t` on the receiving side.

mod ffi;

use std::ffi::c_int;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use self::ffi::{Context, Msg, Socket};
use super::{Implementation, Job, Unavailable};
use crate::Result;
use crate::curve::{CurveKeys, Handshakes};
use crate::output::Throughput;
use crate::watchdog::Progress;

/// The environment variable naming the libzmq to load.
pub const LIBZMQ_ENV: &str = "MONOCOQUE_BENCH_LIBZMQ";

/// What Python prints: the bundled libzmq files of the installed pyzmq,
/// one a line.
const FIND_PYZMQ_LIBZMQ: &str = "\
import glob, os, zmq
d = os.path.dirname(os.path.abspath(zmq.__file__))
for pattern in ('../pyzmq.libs/libzmq*.so*', '.libs/libzmq*.so*', 'libzmq*.so*'):
    for path in sorted(glob.glob(os.path.join(d, pattern))):
        print(os.path.normpath(path))
";

/// The libzmq files to try, in order (see the module documentation).
pub fn candidates() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os(LIBZMQ_ENV).filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(path)];
    }
    let python = std::env::var("PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into());
    let found = Command::new(python)
        .args(["-c", FIND_PYZMQ_LIBZMQ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let mut out: Vec<PathBuf> = match found {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(PathBuf::from)
            .collect(),
        _ => Vec::new(),
    };
    out.push(PathBuf::from("libzmq.so.5"));
    out
}

/// The libzmq this process would run with, `4.3.5 (<path>)`, or why
/// there is none.
pub fn describe() -> std::result::Result<String, String> {
    ffi::lib().map(|lib| format!("{} ({})", lib.version, lib.path.display()))
}

/// libzmq with CURVE, loaded at run time.
#[derive(Debug, Clone, Copy, Default)]
pub struct LibzmqCurve;

/// The loaded library, or [`Unavailable`] saying why there is none.
fn lib() -> Result<&'static ffi::Lib> {
    ffi::lib().map_err(|why| {
        Unavailable(format!(
            "no libzmq with CURVE (set {LIBZMQ_ENV}, or install pyzmq): {why}"
        ))
        .into()
    })
}

/// The keys of a CURVE job.
fn keys<'a>(job: &Job<'a>) -> Result<&'a CurveKeys> {
    job.curve
        .ok_or_else(|| Unavailable("libzmq-curve runs CURVE jobs only (--curve)".into()).into())
}

/// A socket of `kind` set up as the CURVE server of `keys`.
fn server<'c>(ctx: &'c Context, kind: c_int, keys: &CurveKeys) -> Result<Socket<'c>> {
    let socket = ctx.socket(kind)?;
    socket.set_int(ffi::CURVE_SERVER, 1)?;
    socket.set_bytes(ffi::CURVE_SECRETKEY, keys.server_secret.as_bytes())?;
    Ok(socket)
}

/// A socket of `kind` set up as the CURVE client of `keys`.
fn client<'c>(ctx: &'c Context, kind: c_int, keys: &CurveKeys) -> Result<Socket<'c>> {
    let socket = ctx.socket(kind)?;
    socket.set_bytes(ffi::CURVE_SERVERKEY, keys.server_public.as_bytes())?;
    socket.set_bytes(ffi::CURVE_PUBLICKEY, keys.client_public.as_bytes())?;
    socket.set_bytes(ffi::CURVE_SECRETKEY, keys.client_secret.as_bytes())?;
    Ok(socket)
}

impl Implementation for LibzmqCurve {
    fn local_thr(&self, job: Job<'_>) -> Result<Throughput> {
        let (lib, keys) = (lib()?, keys(&job)?);
        let ctx = Context::new(lib)?;
        let pull = server(&ctx, ffi::PULL, keys)?;
        pull.bind(job.endpoint)?;
        let mut msg = Msg::new(lib);
        crate::check_size(pull.recv(&mut msg)?, job.size)?;
        let start = Instant::now();
        for _ in 1..job.count {
            crate::check_size(pull.recv(&mut msg)?, job.size)?;
        }
        let elapsed = start.elapsed();
        drop(msg);
        drop(pull);
        drop(ctx);
        Ok(Throughput::new(job, elapsed))
    }

    fn remote_thr(&self, job: Job<'_>) -> Result<()> {
        let (lib, keys) = (lib()?, keys(&job)?);
        let ctx = Context::new(lib)?;
        let push = client(&ctx, ffi::PUSH, keys)?;
        push.connect(job.endpoint)?;
        for _ in 0..job.count {
            push.send(Msg::with_size(lib, job.size)?)?;
        }
        // Closing, then terminating the context, blocks until every queued
        // message is written (linger -1).
        drop(push);
        drop(ctx);
        Ok(())
    }

    fn handshake_server(&self, job: Job<'_>, progress: Progress) -> Result<()> {
        let (lib, keys) = (lib()?, keys(&job)?);
        let ctx = Context::new(lib)?;
        let rep = server(&ctx, ffi::REP, keys)?;
        rep.bind(job.endpoint)?;
        progress.phase("answering each handshake's request");
        for _ in 0..job.count * job.peers as u64 {
            let mut msg = Msg::new(lib);
            crate::check_size(rep.recv(&mut msg)?, job.size)?;
            rep.send(msg)?;
            progress.tick();
        }
        progress.phase("closing the REP socket (delivering the last reply)");
        drop(rep);
        drop(ctx);
        Ok(())
    }

    fn handshakes(&self, job: Job<'_>, progress: Progress) -> Result<Handshakes> {
        let (lib, keys) = (lib()?, keys(&job)?);
        let ctx = Context::new(lib)?;
        progress.phase("making handshakes");
        let one_client = || -> Result<()> {
            for _ in 0..job.count {
                let req = client(&ctx, ffi::REQ, keys)?;
                req.connect(job.endpoint)?;
                req.send(Msg::with_size(lib, job.size)?)?;
                let mut reply = Msg::new(lib);
                crate::check_size(req.recv(&mut reply)?, job.size)?;
                drop(req);
                progress.tick();
            }
            Ok(())
        };
        let start = Instant::now();
        std::thread::scope(|s| {
            let clients: Vec<_> = (0..job.peers).map(|_| s.spawn(one_client)).collect();
            for c in clients {
                c.join().map_err(|_| "a client thread panicked")??;
            }
            Ok::<(), crate::BoxError>(())
        })?;
        let elapsed = start.elapsed();
        drop(ctx);
        Ok(Handshakes::new(job.size, job.count, job.peers, elapsed))
    }
}
