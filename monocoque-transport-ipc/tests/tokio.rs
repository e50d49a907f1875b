//! The IPC transport checks on tokio.
#![cfg(all(unix, feature = "tokio"))]

#[macro_use]
mod common;

use monocoque_transport_ipc::tokio::IpcTransport;

ipc_suite!(async #[tokio::test(flavor = "multi_thread")] IpcTransport);
