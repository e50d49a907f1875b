//! The IPC transport checks on smol.
#![cfg(all(unix, feature = "smol"))]

#[macro_use]
mod common;

use monocoque_transport_ipc::smol::IpcTransport;

ipc_suite!(block_on smol::block_on, IpcTransport);
