//! The properties of the connection a message arrived on, as libzmq's `zmq_msg_gets` reads them.
//!
//! A connection's metadata is built once, when its handshake ends, and shared by every message
//! it delivers (one reference count per message, no copy). It holds, as libzmq's does:
//!
//! * `Peer-Address`: the peer's IP address for tcp (no port), the peer's name for ipc;
//! * `User-Id` and any metadata the ZAP handler returned, when the connection was authenticated;
//! * the peer's own handshake properties: `Socket-Type`, `Identity` (its routing id) and any
//!   application metadata it sent.
//!
//! Names are compared without regard to case, as ZMTP has it; `Identity` and `Routing-Id` name
//! the same property, as in libzmq.

use bytes::Bytes;
use std::fmt;
use std::sync::Arc;

/// `Peer-Address`: the peer's address (libzmq's `ZMQ_MSG_PROPERTY_PEER_ADDRESS`).
pub const PEER_ADDRESS: &str = "Peer-Address";
/// `User-Id`: who the ZAP handler said the peer is (libzmq's `ZMQ_MSG_PROPERTY_USER_ID`).
pub const USER_ID: &str = "User-Id";
/// `Socket-Type`: the peer's socket type (libzmq's `ZMQ_MSG_PROPERTY_SOCKET_TYPE`).
pub const SOCKET_TYPE: &str = "Socket-Type";
/// `Routing-Id`: the peer's routing id (libzmq's `ZMQ_MSG_PROPERTY_ROUTING_ID`; also read as
/// `Identity`).
pub const ROUTING_ID: &str = "Routing-Id";

/// A connection's properties, shared by the messages it delivered. Cloning is cheap.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// A thin pointer (not `Arc<[_]>`): every message carries one, so it stays one word.
    entries: Arc<Vec<(String, Bytes)>>,
}

impl Metadata {
    /// Metadata from `(name, value)` pairs; when a name comes twice (any case), the first wins,
    /// as in libzmq, where the peer address and the ZAP handler's answers come before what the
    /// peer says of itself.
    pub fn from_entries<N, V>(entries: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<String>,
        V: Into<Bytes>,
    {
        let mut kept: Vec<(String, Bytes)> = Vec::new();
        for (name, value) in entries {
            let name = name.into();
            if !kept.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                kept.push((name, value.into()));
            }
        }
        Self {
            entries: Arc::new(kept),
        }
    }

    /// The value of property `name` (any case); `Identity` also finds `Routing-Id` and the
    /// other way round.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.find(name).or_else(|| {
            let alias = if name.eq_ignore_ascii_case("Identity") {
                ROUTING_ID
            } else if name.eq_ignore_ascii_case(ROUTING_ID) {
                "Identity"
            } else {
                return None;
            };
            self.find(alias)
        })
    }

    /// The value of property `name` as text, when it is UTF-8 (as `User-Id`, `Peer-Address` and
    /// `Socket-Type` always are).
    #[must_use]
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    fn find(&self, name: &str) -> Option<&Bytes> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every property, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// How many properties there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.entries
                    .iter()
                    .map(|(n, v)| (n, String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ignore_case_and_the_first_value_wins() {
        let md = Metadata::from_entries([
            ("Peer-Address", "10.0.0.1"),
            ("User-Id", "alice"),
            ("user-id", "mallory"),
            ("Socket-Type", "PUSH"),
        ]);
        assert_eq!(md.len(), 3);
        assert_eq!(md.get_str("USER-ID"), Some("alice"));
        assert_eq!(md.get_str("socket-type"), Some("PUSH"));
        assert_eq!(md.get_str("Peer-Address"), Some("10.0.0.1"));
        assert_eq!(md.get("X-Missing"), None);
    }

    #[test]
    fn identity_and_routing_id_are_one_property() {
        let md = Metadata::from_entries([("Identity", &b"\x00peer"[..])]);
        assert_eq!(md.get("Routing-Id").map(|v| &v[..]), Some(&b"\x00peer"[..]));
        let md = Metadata::from_entries([("Routing-Id", "r1")]);
        assert_eq!(md.get_str("identity"), Some("r1"));
        assert_eq!(md.get_str("Routing-Id"), Some("r1"));
    }
}
