//! The standard socket types and which of them may talk to which.

use std::fmt;
use std::str::FromStr;

/// A ZeroMQ socket type, as named in the ZMTP `Socket-Type` property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// Exclusive pair (RFC 31).
    Pair,
    /// Publisher (RFC 29).
    Pub,
    /// Subscriber (RFC 29).
    Sub,
    /// Requester (RFC 28).
    Req,
    /// Replier (RFC 28).
    Rep,
    /// Asynchronous requester / load balancer (RFC 28).
    Dealer,
    /// Identity-routing socket (RFC 28).
    Router,
    /// Pipeline sink (RFC 30).
    Pull,
    /// Pipeline source (RFC 30).
    Push,
    /// Publisher that exposes subscriptions (RFC 29).
    XPub,
    /// Subscriber that sends subscriptions as messages (RFC 29).
    XSub,
}

impl SocketType {
    /// Every socket type, in libzmq's numbering order.
    pub const ALL: [SocketType; 11] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::XPub,
        SocketType::XSub,
    ];

    /// The name sent in the ZMTP `Socket-Type` property (`"PUSH"`, `"XPUB"`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
        }
    }

    /// Parses a `Socket-Type` property value. Matching ignores ASCII case, as libzmq does.
    #[must_use]
    pub fn from_wire(name: &[u8]) -> Option<SocketType> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().as_bytes().eq_ignore_ascii_case(name))
    }

    /// True when a socket of type `self` may hold a connection with a peer of type `peer`
    /// (ZMTP 3.0 section "Socket Type Compatibility", as libzmq applies it).
    #[must_use]
    pub const fn is_compatible_with(self, peer: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Pub | XPub, Sub | XSub)
                | (Sub | XSub, Pub | XPub)
                | (Push, Pull)
                | (Pull, Push)
                | (Pair, Pair)
        )
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown socket type name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSocketType(pub String);

impl fmt::Display for UnknownSocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown socket type {:?}", self.0)
    }
}

impl std::error::Error for UnknownSocketType {}

impl FromStr for SocketType {
    type Err = UnknownSocketType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_wire(s.as_bytes()).ok_or_else(|| UnknownSocketType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_wire(t.as_str().as_bytes()), Some(t));
            assert_eq!(t.as_str().parse::<SocketType>().unwrap(), t);
        }
        assert_eq!(SocketType::from_wire(b"dealer"), Some(SocketType::Dealer));
        assert_eq!(SocketType::from_wire(b"CLIENT"), None);
    }

    #[test]
    fn matrix_is_symmetric_and_matches_the_spec_table() {
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.is_compatible_with(b), b.is_compatible_with(a), "{a} {b}");
            }
        }
        let count = SocketType::ALL
            .iter()
            .flat_map(|a| SocketType::ALL.iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.is_compatible_with(**b))
            .count();
        // REQ:2 REP:2 DEALER:3 ROUTER:3 PUB:2 XPUB:2 SUB:2 XSUB:2 PUSH:1 PULL:1 PAIR:1
        assert_eq!(count, 21);
        assert!(!SocketType::Pub.is_compatible_with(SocketType::Dealer));
        assert!(SocketType::Push.is_compatible_with(SocketType::Pull));
    }
}
