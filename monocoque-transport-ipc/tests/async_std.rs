//! The IPC transport checks on async-std.
#![cfg(all(unix, feature = "async-std"))]

#[macro_use]
mod common;

use monocoque_transport_ipc::async_std::IpcTransport;

ipc_suite!(async #[async_std::test] IpcTransport);
