//! The TCP transport checks on smol.
#![cfg(feature = "smol")]

#[macro_use]
mod common;

use monocoque_transport_tcp::smol::TcpTransport;

tcp_suite!(block_on smol::block_on, TcpTransport);
