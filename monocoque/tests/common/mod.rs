//! The one harness of monocoque's integration tests, by concern:
//!
//! * [`runner`]: [`on_all_runtimes!`] runs each async test body on tokio, async-std and smol,
//!   bounded in time (plus a watchdog, plus nextest's slow-timeout);
//! * [`time`]: runtime-independent timers: [`sleep`], [`within`] (a timeout that says what it
//!   waited for) and [`bounded`] (a test step that fails the test when it hangs);
//! * [`events`]: waiting on a socket's monitor for what happened ([`wait_handshakes`], ...);
//! * [`endpoints`]: unique ipc paths ([`TestDir`]), free TCP ports, transports and roles;
//! * [`peer`]: the libzmq peer ([`PeerSpec`] / [`PyPeer`]: pyzmq, `tests/peer/zmq_peer.py`,
//!   in a child process). Without pyzmq the peer cannot start and the test fails, saying how to
//!   install it: an interop test never passes without libzmq;
//! * [`messages`]: the canonical message stream (identical to `canonical()` in `zmq_peer.py`),
//!   request/reply and pub/sub messages, hex frames;
//! * [`matrix`]: one row of the interop matrix table that `cargo xtask test` prints;
//! * [`backlog`]: a PUSH's numbered backlog through a peer that goes away, and what was lost;
//! * [`raw`]: raw peers' hand-built greeting and READY, and the process's file limit.
//! * [`netns`]: two hosts (network namespaces joined by a veth pair) for the multi-host tests.
//!
//! Set `PYTHON` to choose the interpreter (default `python3`).

// Each test file uses its own part of the harness.
#![allow(dead_code, unused_macros, unused_imports)]

pub mod backlog;
pub mod endpoints;
pub mod events;
pub mod fault_proxy;
pub mod matrix;
pub mod messages;
pub mod netns;
pub mod peer;
pub mod raw;
pub mod runner;
pub mod time;

pub use endpoints::*;
pub use events::*;
pub use fault_proxy::FaultProxy;
pub use matrix::*;
pub use messages::*;
pub use peer::*;
pub use raw::*;
pub(crate) use runner::on_all_runtimes;
pub use runner::*;
pub use time::*;

use std::time::Duration;

/// Upper bound for one whole test body.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Upper bound for one step of a test ([`bounded`]).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a peer may take to start (python + pyzmq import) and print `READY`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default wait for one line from a peer, or one message from a socket.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(30);
/// Wait for a peer's final `OK` (it may be verifying a long stream).
pub const OK_TIMEOUT: Duration = Duration::from_secs(55);

/// What test bodies return; `?` works on monocoque errors, `String`s and `io::Error`s.
pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
