//! The TCP transport checks on async-std.
#![cfg(feature = "async-std")]

#[macro_use]
mod common;

use monocoque_transport_tcp::async_std::TcpTransport;

tcp_suite!(async #[async_std::test] TcpTransport);
