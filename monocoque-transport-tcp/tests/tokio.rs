//! The TCP transport checks on tokio.
#![cfg(feature = "tokio")]

#[macro_use]
mod common;

use monocoque_transport_tcp::tokio::TcpTransport;

tcp_suite!(async #[tokio::test(flavor = "multi_thread")] TcpTransport);
