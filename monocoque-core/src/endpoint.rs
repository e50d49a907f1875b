//! Endpoint strings: `tcp://host:port`, `ipc:///path`, `ipc://@abstract`, `inproc://name`.
//!
//! Parsing is purely syntactic; name resolution happens in the transport. A TCP port of `*` or `0`
//! means "pick a free port"; the transport reports the endpoint it actually bound.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `tcp://host:port`
    Tcp(TcpAddr),
    /// `ipc://path` or `ipc://@name`
    Ipc(IpcAddr),
    /// `inproc://name`
    Inproc(String),
}

/// The host part of a TCP endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// `*`: every local interface (bind only).
    Any,
    /// A literal IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A DNS name (resolved by the transport).
    Name(String),
}

/// A TCP endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TcpAddr {
    /// Host or interface.
    pub host: Host,
    /// Port; 0 means "pick one" (written `*` or `0`).
    pub port: u16,
}

/// An IPC (Unix domain socket) endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IpcAddr {
    /// A filesystem path.
    Path(PathBuf),
    /// A Linux abstract-namespace name (written `ipc://@name`), without the `@`.
    Abstract(String),
}

/// Why an endpoint string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointError {
    /// No `scheme://` prefix.
    MissingScheme(String),
    /// A scheme monocoque does not know.
    UnknownScheme(String),
    /// `tcp://` without `:port`.
    MissingPort(String),
    /// The port is not `*` or a number in 0..=65535.
    InvalidPort(String),
    /// The host is empty.
    EmptyHost(String),
    /// An IPv6 literal in brackets that does not parse.
    InvalidIpv6(String),
    /// `ipc://` or `inproc://` with nothing after it.
    EmptyAddress(String),
    /// A connect to `tcp://*:port`: `*` (every interface) is for bind only (libzmq: EINVAL).
    ConnectToAnyHost(String),
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::MissingScheme(s) => write!(
                f,
                "endpoint {s:?} has no scheme: write tcp://host:port, ipc:///path or inproc://name"
            ),
            EndpointError::UnknownScheme(s) => write!(
                f,
                "endpoint scheme {s:?} is not supported: use tcp, ipc or inproc"
            ),
            EndpointError::MissingPort(s) => write!(
                f,
                "tcp endpoint {s:?} has no port: write tcp://host:port (port * or 0 picks one)"
            ),
            EndpointError::InvalidPort(s) => write!(
                f,
                "tcp endpoint {s:?} has an invalid port: use * or a number from 0 to 65535"
            ),
            EndpointError::EmptyHost(s) => write!(
                f,
                "tcp endpoint {s:?} has no host: use * (all interfaces), an address or a name"
            ),
            EndpointError::InvalidIpv6(s) => write!(
                f,
                "tcp endpoint {s:?} has an invalid IPv6 address in brackets"
            ),
            EndpointError::EmptyAddress(s) => write!(f, "endpoint {s:?} has an empty address"),
            EndpointError::ConnectToAnyHost(s) => write!(
                f,
                "cannot connect to {s:?}: * (every interface) is for bind; connect needs an address or a name"
            ),
        }
    }
}

impl std::error::Error for EndpointError {}

impl Endpoint {
    /// The scheme, as used to find a transport: `"tcp"`, `"ipc"` or `"inproc"`.
    #[must_use]
    pub fn scheme(&self) -> &'static str {
        match self {
            Endpoint::Tcp(_) => "tcp",
            Endpoint::Ipc(_) => "ipc",
            Endpoint::Inproc(_) => "inproc",
        }
    }

    /// Checks that the endpoint names a peer to connect to: not `tcp://*:port`, which only
    /// bind takes (libzmq refuses it with EINVAL).
    pub fn check_connectable(&self) -> Result<(), EndpointError> {
        match self {
            Endpoint::Tcp(TcpAddr {
                host: Host::Any, ..
            }) => Err(EndpointError::ConnectToAnyHost(self.to_string())),
            _ => Ok(()),
        }
    }

    /// True when the endpoint asks the transport to choose (a TCP port of 0).
    #[must_use]
    pub fn is_wildcard(&self) -> bool {
        matches!(self, Endpoint::Tcp(TcpAddr { port: 0, .. }))
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| EndpointError::MissingScheme(s.to_owned()))?;
        match scheme {
            "tcp" => parse_tcp(s, rest).map(Endpoint::Tcp),
            "ipc" => {
                if rest.is_empty() || rest == "@" {
                    return Err(EndpointError::EmptyAddress(s.to_owned()));
                }
                Ok(Endpoint::Ipc(match rest.strip_prefix('@') {
                    Some(name) => IpcAddr::Abstract(name.to_owned()),
                    None => IpcAddr::Path(PathBuf::from(rest)),
                }))
            }
            "inproc" => {
                if rest.is_empty() {
                    return Err(EndpointError::EmptyAddress(s.to_owned()));
                }
                Ok(Endpoint::Inproc(rest.to_owned()))
            }
            other => Err(EndpointError::UnknownScheme(other.to_owned())),
        }
    }
}

fn parse_tcp(whole: &str, rest: &str) -> Result<TcpAddr, EndpointError> {
    let (host_part, port_part) = rest
        .rsplit_once(':')
        .ok_or_else(|| EndpointError::MissingPort(whole.to_owned()))?;
    // A colon inside an unbracketed IPv6 literal is not a port separator we can trust.
    if host_part.contains(':') && !host_part.starts_with('[') {
        return Err(EndpointError::InvalidIpv6(whole.to_owned()));
    }
    let port = match port_part {
        "*" => 0,
        p => p
            .parse::<u16>()
            .map_err(|_| EndpointError::InvalidPort(whole.to_owned()))?,
    };
    let host = if host_part.is_empty() {
        return Err(EndpointError::EmptyHost(whole.to_owned()));
    } else if host_part == "*" {
        Host::Any
    } else if let Some(inner) = host_part.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| EndpointError::InvalidIpv6(whole.to_owned()))?;
        if inner == "*" {
            Host::Any
        } else {
            let ip: std::net::Ipv6Addr = inner
                .parse()
                .map_err(|_| EndpointError::InvalidIpv6(whole.to_owned()))?;
            Host::Ip(IpAddr::V6(ip))
        }
    } else if let Ok(ip) = host_part.parse::<IpAddr>() {
        Host::Ip(ip)
    } else {
        Host::Name(host_part.to_owned())
    };
    Ok(TcpAddr { host, port })
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(TcpAddr { host, port }) => {
                f.write_str("tcp://")?;
                match host {
                    Host::Any => f.write_str("*")?,
                    Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}")?,
                    Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
                    Host::Name(n) => f.write_str(n)?,
                }
                write!(f, ":{port}")
            }
            Endpoint::Ipc(IpcAddr::Path(p)) => write!(f, "ipc://{}", p.display()),
            Endpoint::Ipc(IpcAddr::Abstract(name)) => write!(f, "ipc://@{name}"),
            Endpoint::Inproc(name) => write!(f, "inproc://{name}"),
        }
    }
}

/// Anything that can be turned into an [`Endpoint`]: a string or an endpoint.
pub trait ToEndpoint {
    /// Parses or clones into an [`Endpoint`].
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError>;
}

impl ToEndpoint for Endpoint {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        Ok(self.clone())
    }
}

impl ToEndpoint for str {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        self.parse()
    }
}

impl ToEndpoint for String {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        self.parse()
    }
}

impl<T: ToEndpoint + ?Sized> ToEndpoint for &T {
    fn to_endpoint(&self) -> Result<Endpoint, EndpointError> {
        (**self).to_endpoint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn tcp_forms() {
        assert_eq!(
            ep("tcp://127.0.0.1:5555"),
            Endpoint::Tcp(TcpAddr {
                host: Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                port: 5555
            })
        );
        assert_eq!(
            ep("tcp://*:5555"),
            Endpoint::Tcp(TcpAddr {
                host: Host::Any,
                port: 5555
            })
        );
        assert!(ep("tcp://127.0.0.1:*").is_wildcard());
        assert!(ep("tcp://127.0.0.1:0").is_wildcard());
        assert_eq!(
            ep("tcp://[::1]:7"),
            Endpoint::Tcp(TcpAddr {
                host: Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                port: 7
            })
        );
        assert_eq!(
            ep("tcp://localhost:9"),
            Endpoint::Tcp(TcpAddr {
                host: Host::Name("localhost".into()),
                port: 9
            })
        );
    }

    #[test]
    fn every_interface_is_for_bind_only() {
        assert_eq!(
            ep("tcp://*:5555").check_connectable(),
            Err(EndpointError::ConnectToAnyHost("tcp://*:5555".into()))
        );
        for connectable in ["tcp://127.0.0.1:5555", "tcp://localhost:1", "ipc:///tmp/x"] {
            assert_eq!(ep(connectable).check_connectable(), Ok(()), "{connectable}");
        }
    }

    #[test]
    fn ipc_and_inproc_forms() {
        assert_eq!(
            ep("ipc:///tmp/x.sock"),
            Endpoint::Ipc(IpcAddr::Path("/tmp/x.sock".into()))
        );
        assert_eq!(
            ep("ipc://@monocoque"),
            Endpoint::Ipc(IpcAddr::Abstract("monocoque".into()))
        );
        assert_eq!(ep("inproc://a"), Endpoint::Inproc("a".into()));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "tcp://127.0.0.1:5555",
            "tcp://*:1",
            "tcp://[::1]:7",
            "tcp://example.com:80",
            "ipc:///tmp/a",
            "ipc://@abs",
            "inproc://x",
        ] {
            assert_eq!(ep(s).to_string(), s);
        }
    }

    #[test]
    fn errors_are_specific() {
        use EndpointError::*;
        let err = |s: &str| s.parse::<Endpoint>().unwrap_err();
        assert!(matches!(err("127.0.0.1:5"), MissingScheme(_)));
        assert!(matches!(err("udp://x:1"), UnknownScheme(_)));
        assert!(matches!(err("tcp://host"), MissingPort(_)));
        assert!(matches!(err("tcp://host:99999"), InvalidPort(_)));
        assert!(matches!(err("tcp://host:ab"), InvalidPort(_)));
        assert!(matches!(err("tcp://:5"), EmptyHost(_)));
        assert!(matches!(err("tcp://[::1:5"), InvalidIpv6(_)));
        assert!(matches!(err("tcp://::1:5"), InvalidIpv6(_)));
        assert!(matches!(err("ipc://"), EmptyAddress(_)));
        assert!(matches!(err("inproc://"), EmptyAddress(_)));
        assert!(err("tcp://host").to_string().contains("tcp://host:port"));
    }
}
