//! The few libzmq C functions the CURVE tools call, from a libzmq loaded at
//! run time with `libloading`, behind safe wrappers: [`Context`], [`Socket`]
//! and [`Msg`]. This is the only module of the crate with `unsafe` FFI
//! calls; each says why it holds.
//!
//! The library is found ([`lib`]) once per process and never unloaded: the
//! tools are short-lived, and every wrapper borrows the `'static` [`Lib`].

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libloading::Library;

use crate::Result;

/// `ZMQ_REQ`.
pub const REQ: c_int = 3;
/// `ZMQ_REP`.
pub const REP: c_int = 4;
/// `ZMQ_PULL`.
pub const PULL: c_int = 7;
/// `ZMQ_PUSH`.
pub const PUSH: c_int = 8;
/// `ZMQ_CURVE_SERVER`.
pub const CURVE_SERVER: c_int = 47;
/// `ZMQ_CURVE_PUBLICKEY`.
pub const CURVE_PUBLICKEY: c_int = 48;
/// `ZMQ_CURVE_SECRETKEY`.
pub const CURVE_SECRETKEY: c_int = 49;
/// `ZMQ_CURVE_SERVERKEY`.
pub const CURVE_SERVERKEY: c_int = 50;
/// `EINTR`: a blocking call was interrupted by a signal, and is retried.
const EINTR: c_int = 4;

/// `zmq_msg_t`: 64 opaque bytes, pointer-aligned (libzmq's `zmq.h`).
#[repr(C, align(8))]
struct RawMsg([u8; 64]);

/// The functions used, as looked up in the library.
struct Fns {
    ctx_new: unsafe extern "C" fn() -> *mut c_void,
    ctx_term: unsafe extern "C" fn(*mut c_void) -> c_int,
    socket: unsafe extern "C" fn(*mut c_void, c_int) -> *mut c_void,
    close: unsafe extern "C" fn(*mut c_void) -> c_int,
    setsockopt: unsafe extern "C" fn(*mut c_void, c_int, *const c_void, usize) -> c_int,
    bind: unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int,
    connect: unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int,
    msg_init: unsafe extern "C" fn(*mut RawMsg) -> c_int,
    msg_init_size: unsafe extern "C" fn(*mut RawMsg, usize) -> c_int,
    msg_send: unsafe extern "C" fn(*mut RawMsg, *mut c_void, c_int) -> c_int,
    msg_recv: unsafe extern "C" fn(*mut RawMsg, *mut c_void, c_int) -> c_int,
    msg_size: unsafe extern "C" fn(*const RawMsg) -> usize,
    msg_close: unsafe extern "C" fn(*mut RawMsg) -> c_int,
    errno: unsafe extern "C" fn() -> c_int,
    strerror: unsafe extern "C" fn(c_int) -> *const c_char,
    has: unsafe extern "C" fn(*const c_char) -> c_int,
    version: unsafe extern "C" fn(*mut c_int, *mut c_int, *mut c_int),
}

/// A loaded libzmq with CURVE.
pub struct Lib {
    fns: Fns,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// Its version, `major.minor.patch`.
    pub version: String,
    /// Kept loaded for as long as `fns` are used (the whole process).
    _library: Library,
}

/// What happened to one candidate library.
enum Loaded {
    /// Loaded, and it has CURVE.
    Curve(Lib),
    /// Loaded, without CURVE (or not a libzmq, or not loadable): why.
    Refused(String),
}

impl Lib {
    /// Loads `path` (a file, or a name the dynamic loader searches for) and
    /// looks every function up.
    fn load(path: &Path) -> Loaded {
        // SAFETY: loading runs the library's initialisers. The candidates
        // are libzmq builds (pyzmq's, the system's, or one the user named),
        // whose initialisers only set up libzmq's and libsodium's own state.
        let library = match unsafe { Library::new(path) } {
            Ok(l) => l,
            // The loader's message names the file already.
            Err(e) => return Loaded::Refused(e.to_string()),
        };
        macro_rules! get {
            ($name:literal) => {
                match symbol(&library, $name) {
                    Ok(f) => f,
                    Err(e) => return Loaded::Refused(format!("{}: {e}", path.display())),
                }
            };
        }
        let fns = Fns {
            ctx_new: get!("zmq_ctx_new"),
            ctx_term: get!("zmq_ctx_term"),
            socket: get!("zmq_socket"),
            close: get!("zmq_close"),
            setsockopt: get!("zmq_setsockopt"),
            bind: get!("zmq_bind"),
            connect: get!("zmq_connect"),
            msg_init: get!("zmq_msg_init"),
            msg_init_size: get!("zmq_msg_init_size"),
            msg_send: get!("zmq_msg_send"),
            msg_recv: get!("zmq_msg_recv"),
            msg_size: get!("zmq_msg_size"),
            msg_close: get!("zmq_msg_close"),
            errno: get!("zmq_errno"),
            strerror: get!("zmq_strerror"),
            has: get!("zmq_has"),
            version: get!("zmq_version"),
        };
        let (mut major, mut minor, mut patch) = (0, 0, 0);
        // SAFETY: zmq_version writes three ints through valid pointers.
        unsafe { (fns.version)(&mut major, &mut minor, &mut patch) };
        // SAFETY: zmq_has reads a NUL-terminated string.
        let curve = unsafe { (fns.has)(c"curve".as_ptr()) } == 1;
        let version = format!("{major}.{minor}.{patch}");
        if !curve {
            return Loaded::Refused(format!(
                "{}: libzmq {version} without CURVE (built without libsodium)",
                path.display()
            ));
        }
        Loaded::Curve(Lib {
            fns,
            path: path.to_owned(),
            version,
            _library: library,
        })
    }

    /// The last error of this thread, as libzmq describes it.
    fn error(&self, what: &str) -> crate::BoxError {
        // SAFETY: zmq_errno takes nothing; zmq_strerror returns a static
        // NUL-terminated string for any number.
        let text = unsafe {
            let errno = (self.fns.errno)();
            CStr::from_ptr((self.fns.strerror)(errno)).to_string_lossy()
        };
        format!("{what}: {text}").into()
    }

    /// Whether the last error of this thread is EINTR.
    fn interrupted(&self) -> bool {
        // SAFETY: zmq_errno takes nothing.
        unsafe { (self.fns.errno)() == EINTR }
    }
}

/// The function `name` of `library`, as a `T` (a function pointer type).
///
/// Only called with libzmq's function names and their C signatures
/// (zmq.h, stable since libzmq 4.0) as `T`.
fn symbol<T: Copy>(library: &Library, name: &str) -> Result<T, libloading::Error> {
    let name = format!("{name}\0");
    // SAFETY: `T` is the C signature of libzmq's function `name` (see
    // above); the pointer stays valid while `library` is loaded, which
    // `Lib` keeps for the rest of the process.
    unsafe { library.get::<T>(name.as_bytes()).map(|s| *s) }
}

/// The libzmq with CURVE for this process, loaded at the first call:
/// the first of [`candidates`] that loads and has CURVE; the error lists
/// why each was refused.
pub fn lib() -> Result<&'static Lib, String> {
    static LIB: OnceLock<Result<Lib, String>> = OnceLock::new();
    LIB.get_or_init(|| {
        let mut refused = Vec::new();
        for path in super::candidates() {
            match Lib::load(&path) {
                Loaded::Curve(lib) => return Ok(lib),
                Loaded::Refused(why) => refused.push(why),
            }
        }
        Err(if refused.is_empty() {
            "no libzmq found".to_owned()
        } else {
            refused.join("; ")
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// A libzmq context (`zmq_ctx_new`); terminated (`zmq_ctx_term`, which waits
/// for every socket's linger) when dropped.
pub struct Context {
    lib: &'static Lib,
    ptr: *mut c_void,
}

// SAFETY: a libzmq context is thread-safe: sockets may be made on it from
// any thread (zmq_ctx_new(3)).
unsafe impl Send for Context {}
// SAFETY: as above; `&Context` only makes sockets.
unsafe impl Sync for Context {}

impl Context {
    /// A new context with libzmq's defaults (one I/O thread).
    pub fn new(lib: &'static Lib) -> Result<Context> {
        // SAFETY: zmq_ctx_new takes nothing; null means failure.
        let ptr = unsafe { (lib.fns.ctx_new)() };
        if ptr.is_null() {
            return Err(lib.error("zmq_ctx_new"));
        }
        Ok(Context { lib, ptr })
    }

    /// A new socket of `kind` (`ZMQ_PUSH`, ...).
    pub fn socket(&self, kind: c_int) -> Result<Socket<'_>> {
        // SAFETY: `self.ptr` is a live context (terminated only on drop,
        // which the borrow of the socket holds off).
        let ptr = unsafe { (self.lib.fns.socket)(self.ptr, kind) };
        if ptr.is_null() {
            return Err(self.lib.error("zmq_socket"));
        }
        Ok(Socket { ctx: self, ptr })
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: every socket borrowed this context and is closed by now;
        // zmq_ctx_term is retried while interrupted, as zmq_ctx_term(3) says.
        unsafe { while (self.lib.fns.ctx_term)(self.ptr) != 0 && self.lib.interrupted() {} }
    }
}

/// A libzmq socket, used by one thread; closed (`zmq_close`) when dropped.
pub struct Socket<'ctx> {
    ctx: &'ctx Context,
    ptr: *mut c_void,
}

impl Socket<'_> {
    fn lib(&self) -> &'static Lib {
        self.ctx.lib
    }

    /// Fails with libzmq's error unless `rc` is 0 or more.
    fn check(&self, rc: c_int, what: &str) -> Result<c_int> {
        if rc < 0 {
            return Err(self.lib().error(what));
        }
        Ok(rc)
    }

    /// `zmq_setsockopt` with a binary or text value.
    pub fn set_bytes(&self, option: c_int, value: &[u8]) -> Result<()> {
        // SAFETY: the socket is live; libzmq copies `value.len()` bytes
        // from a valid slice.
        let rc = unsafe {
            (self.lib().fns.setsockopt)(self.ptr, option, value.as_ptr().cast(), value.len())
        };
        self.check(rc, "zmq_setsockopt").map(drop)
    }

    /// `zmq_setsockopt` with an int value.
    pub fn set_int(&self, option: c_int, value: c_int) -> Result<()> {
        self.set_bytes(option, &value.to_ne_bytes())
    }

    /// `zmq_bind`.
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        let endpoint = CString::new(endpoint)?;
        // SAFETY: the socket is live, the endpoint NUL-terminated.
        let rc = unsafe { (self.lib().fns.bind)(self.ptr, endpoint.as_ptr()) };
        self.check(rc, "zmq_bind").map(drop)
    }

    /// `zmq_connect`.
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        let endpoint = CString::new(endpoint)?;
        // SAFETY: the socket is live, the endpoint NUL-terminated.
        let rc = unsafe { (self.lib().fns.connect)(self.ptr, endpoint.as_ptr()) };
        self.check(rc, "zmq_connect").map(drop)
    }

    /// Sends `msg` (`zmq_msg_send`, blocking), which libzmq then owns.
    pub fn send(&self, mut msg: Msg) -> Result<()> {
        loop {
            // SAFETY: the socket is live and `msg` an initialised message;
            // on success libzmq leaves it empty (closing it is then a no-op
            // that Msg's drop still makes, as zmq_msg_send(3) allows).
            let rc = unsafe { (self.lib().fns.msg_send)(&mut msg.raw, self.ptr, 0) };
            if rc >= 0 {
                return Ok(());
            }
            if !self.lib().interrupted() {
                return Err(self.lib().error("zmq_msg_send"));
            }
        }
    }

    /// Receives the next message into `msg` (`zmq_msg_recv`, blocking);
    /// returns its size.
    pub fn recv(&self, msg: &mut Msg) -> Result<usize> {
        loop {
            // SAFETY: the socket is live and `msg` an initialised message,
            // whose old content libzmq releases.
            let rc = unsafe { (self.lib().fns.msg_recv)(&mut msg.raw, self.ptr, 0) };
            if rc >= 0 {
                return Ok(msg.len());
            }
            if !self.lib().interrupted() {
                return Err(self.lib().error("zmq_msg_recv"));
            }
        }
    }
}

impl Drop for Socket<'_> {
    fn drop(&mut self) {
        // SAFETY: the socket is live and used by no one else; it is not
        // used after this.
        unsafe { (self.lib().fns.close)(self.ptr) };
    }
}

/// A `zmq_msg_t`, closed (`zmq_msg_close`) when dropped.
pub struct Msg {
    lib: &'static Lib,
    raw: RawMsg,
}

impl Msg {
    /// An empty message (`zmq_msg_init`), to receive into.
    pub fn new(lib: &'static Lib) -> Msg {
        let mut raw = RawMsg([0; 64]);
        // SAFETY: `raw` is a writable zmq_msg_t; zmq_msg_init cannot fail.
        unsafe { (lib.fns.msg_init)(&mut raw) };
        Msg { lib, raw }
    }

    /// A message of `size` bytes allocated by libzmq and never written
    /// (`zmq_msg_init_size`), as libzmq's `remote_thr` sends.
    pub fn with_size(lib: &'static Lib, size: usize) -> Result<Msg> {
        let mut raw = RawMsg([0; 64]);
        // SAFETY: `raw` is a writable zmq_msg_t.
        if unsafe { (lib.fns.msg_init_size)(&mut raw, size) } != 0 {
            return Err(lib.error("zmq_msg_init_size"));
        }
        Ok(Msg { lib, raw })
    }

    /// The size of its content.
    pub fn len(&self) -> usize {
        // SAFETY: `raw` is an initialised message.
        unsafe { (self.lib.fns.msg_size)(&self.raw) }
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        // SAFETY: `raw` is an initialised message, not used after this.
        unsafe { (self.lib.fns.msg_close)(&mut self.raw) };
    }
}
