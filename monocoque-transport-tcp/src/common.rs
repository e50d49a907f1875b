//! Runtime-independent pieces shared by the runtime modules.

use monocoque_core::endpoint::{Endpoint, Host, TcpAddr};
use monocoque_core::transport::TcpKeepalive;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Applies libzmq's TCP keepalive options to a connection (nothing when `enabled` is `None`).
pub(crate) fn apply_keepalive<S>(stream: &S, keepalive: &TcpKeepalive) -> io::Result<()>
where
    for<'s> socket2::SockRef<'s>: From<&'s S>,
{
    let socket = socket2::SockRef::from(stream);
    match keepalive.enabled {
        None => Ok(()),
        Some(false) => socket.set_keepalive(false),
        Some(true) => {
            let mut params = socket2::TcpKeepalive::new();
            if let Some(idle) = keepalive.idle {
                params = params.with_time(idle);
            }
            if let Some(interval) = keepalive.interval {
                params = params.with_interval(interval);
            }
            #[cfg(unix)]
            if let Some(count) = keepalive.count {
                params = params.with_retries(count);
            }
            socket.set_tcp_keepalive(&params)
        }
    }
}

/// The scheme every runtime's transport serves.
pub(crate) const SCHEME: &str = "tcp";

/// The TCP address of `endpoint`, or `InvalidInput` for another scheme.
pub(crate) fn tcp_addr(endpoint: &Endpoint) -> io::Result<&TcpAddr> {
    match endpoint {
        Endpoint::Tcp(addr) => Ok(addr),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the tcp transport cannot serve endpoint {other}"),
        )),
    }
}

/// Where to bind or connect, before name resolution.
#[derive(Debug)]
pub(crate) enum Target<'a> {
    /// A literal address: nothing to resolve.
    Addr(SocketAddr),
    /// A host name and port, for the runtime's resolver.
    Name(&'a str, u16),
}

/// What `bind` has to resolve: `*` is the IPv4 wildcard, as in libzmq without `ZMQ_IPV6`.
pub(crate) fn bind_target(addr: &TcpAddr) -> Target<'_> {
    match &addr.host {
        Host::Any => Target::Addr(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            addr.port,
        )),
        Host::Ip(ip) => Target::Addr(SocketAddr::new(*ip, addr.port)),
        Host::Name(name) => Target::Name(name, addr.port),
    }
}

/// A non-blocking std listener bound to `addr` with `backlog` (`None`: 1,024) and
/// SO_REUSEADDR (as the runtimes' own binds set it on Unix), for a runtime to adopt.
pub(crate) fn std_listener(
    addr: SocketAddr,
    backlog: Option<u32>,
) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    let backlog = backlog.unwrap_or(1024).min(i32::MAX as u32) as i32;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// What `connect` has to resolve; `*` and port 0 name no peer.
pub(crate) fn connect_target(addr: &TcpAddr) -> io::Result<Target<'_>> {
    if addr.port == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot connect to tcp port 0 (* and 0 only pick a port when binding)",
        ));
    }
    match &addr.host {
        Host::Any => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot connect to host * (it only means every interface when binding)",
        )),
        Host::Ip(ip) => Ok(Target::Addr(SocketAddr::new(*ip, addr.port))),
        Host::Name(name) => Ok(Target::Name(name, addr.port)),
    }
}

/// The endpoint a listener actually bound.
pub(crate) fn bound_endpoint(local: SocketAddr) -> Endpoint {
    Endpoint::Tcp(TcpAddr {
        host: Host::Ip(local.ip()),
        port: local.port(),
    })
}

/// Runs `attempt` on each address in turn and returns the first success, or the last error.
pub(crate) async fn first_ok<T, F, Fut>(addrs: Vec<SocketAddr>, mut attempt: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last_err = None;
    for addr in addrs {
        match attempt(addr).await {
            Ok(value) => return Ok(value),
            Err(err) => last_err = Some(err),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the host name resolved to no address",
        )
    }))
}

/// The error of a connect that outlived its `ConnectOptions::timeout`.
pub(crate) fn timed_out(endpoint: &Endpoint, timeout: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("connecting to {endpoint} timed out after {timeout:?}"),
    )
}
