//! # monocoque-runtime
//!
//! The runtime glue of monocoque: everything that names an async runtime, kept out of the
//! I/O-free `monocoque-core`.
//!
//! * One [`Runtime`] implementation per runtime feature, each spawning tasks and making timers
//!   on its runtime: `TokioRuntime` (feature `tokio`), `AsyncStdRuntime` (`async-std`) and
//!   `SmolRuntime` (`smol`). Features are additive: one build may hold all three, and each
//!   socket uses the runtime its context names.
//! * `reactor_stream` (feature `async-io`, which the async-std and smol transports turn on):
//!   a connected socket on async-io's reactor as the engine's byte stream, shared by the `tcp://`
//!   and `ipc://` transports of both runtimes.
//!
//! The [`Runtime`] trait itself, and [`timeout`], live in `monocoque-core` and are re-exported
//! here, so that `monocoque_runtime` is the one place to look for "how a runtime plugs in".

#![forbid(unsafe_code)]

pub use monocoque_core::runtime::{Runtime, RuntimeHandle, timeout};

#[cfg(feature = "async-io")]
pub mod reactor_stream;

#[cfg(feature = "tokio")]
mod tokio;
#[cfg(feature = "tokio")]
pub use self::tokio::TokioRuntime;

#[cfg(feature = "async-std")]
mod async_std;
#[cfg(feature = "async-std")]
pub use self::async_std::AsyncStdRuntime;

#[cfg(feature = "smol")]
mod smol;
#[cfg(feature = "smol")]
pub use self::smol::SmolRuntime;
