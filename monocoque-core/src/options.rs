//! Socket options, named and defaulted as libzmq's `zmq_setsockopt` documents them.

use crate::error::{Error, Result};
use crate::security::{CurvePublicKey, CurveSecretKey, Password, Security};
use crate::socket_type::SocketType;
use bytes::Bytes;
use std::time::Duration;

/// The largest HEARTBEAT_TTL: 65535 tenths of a second on the wire (libzmq takes milliseconds
/// and rounds them down to tenths).
const MAX_HEARTBEAT_TTL: Duration = Duration::from_millis(6_553_599);

/// The options of one socket. Options set before `bind`/`connect` apply to the connections made
/// afterwards, as in libzmq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOptions {
    /// ZMQ_SNDHWM: messages queued per peer on the way out; 0 means no limit. Default 1000.
    pub sndhwm: usize,
    /// ZMQ_RCVHWM: messages queued on the way in; 0 means no limit. Default 1000.
    pub rcvhwm: usize,
    /// ZMQ_LINGER: how long pending outgoing messages are kept after close.
    /// `None` waits for them forever (libzmq's -1, the default); `Some(ZERO)` drops them.
    pub linger: Option<Duration>,
    /// ZMQ_ROUTING_ID: the identity announced to ROUTER peers (1 to 255 bytes). Default none.
    pub routing_id: Option<Bytes>,
    /// ZMQ_RECONNECT_IVL: wait before reconnecting; `None` disables reconnection (libzmq's -1).
    /// Default 100 ms.
    pub reconnect_ivl: Option<Duration>,
    /// ZMQ_RECONNECT_IVL_MAX: the back-off ceiling; zero means no back-off (always
    /// `reconnect_ivl`). Default zero.
    pub reconnect_ivl_max: Duration,
    /// ZMQ_RECONNECT_STOP: when a connecting endpoint stops reconnecting for good, a mask of
    /// [`reconnect_stop`] flags. Default 0 (never).
    pub reconnect_stop: u32,
    /// ZMQ_MAXMSGSIZE: largest inbound message in bytes; `None` is no limit (libzmq's -1, the
    /// default). A peer sending more is disconnected before the frame is allocated.
    pub maxmsgsize: Option<u64>,
    /// ZMQ_SNDTIMEO: how long `send` waits; `None` waits forever (default).
    pub sndtimeo: Option<Duration>,
    /// ZMQ_RCVTIMEO: how long `recv` waits; `None` waits forever (default).
    pub rcvtimeo: Option<Duration>,
    /// ZMQ_CONNECT_TIMEOUT: TCP connect timeout; `None` leaves it to the OS (default).
    pub connect_timeout: Option<Duration>,
    /// ZMQ_HANDSHAKE_IVL: the greeting and security handshake must finish within this;
    /// `None` disables the limit. Default 30 s.
    pub handshake_ivl: Option<Duration>,
    /// ZMQ_TCP_KEEPALIVE, _IDLE, _CNT, _INTVL (default: the OS's).
    pub tcp_keepalive: crate::transport::TcpKeepalive,
    /// ZMQ_BACKLOG: connections the kernel holds for a bound tcp endpoint until they are
    /// accepted (the `listen` backlog; the kernel caps it at `net.core.somaxconn`). Default
    /// 100, as libzmq's. A burst of connects past it waits for the SYN's retry (a second).
    pub backlog: u32,
    /// ZMQ_HEARTBEAT_IVL: send a PING this often on every connection; `None` (default): never.
    pub heartbeat_ivl: Option<Duration>,
    /// ZMQ_HEARTBEAT_TTL: how long the peer may wait for traffic after our PING before it
    /// closes the connection (sent in the PING, in tenths of a second); `None` (default): no
    /// limit asked for.
    pub heartbeat_ttl: Option<Duration>,
    /// ZMQ_HEARTBEAT_TIMEOUT: close a connection when nothing arrived this long after a PING;
    /// `None` (default): HEARTBEAT_IVL.
    pub heartbeat_timeout: Option<Duration>,
    /// ZMQ_REQ_RELAXED: a REQ may send a new request before the reply to the last one came; the
    /// old reply is then discarded. Default off.
    pub req_relaxed: bool,
    /// ZMQ_REQ_CORRELATE: a REQ prefixes each request with a request id and accepts only the
    /// reply carrying the latest one. Default off.
    pub req_correlate: bool,
    /// ZMQ_ROUTER_MANDATORY: a ROUTER reports an unknown routing id as
    /// [`Error::HostUnreachable`] and waits (instead of dropping) when the peer is at SNDHWM.
    /// Default off.
    pub router_mandatory: bool,
    /// ZMQ_ROUTER_HANDOVER: a new peer announcing a routing id already in use takes it over and
    /// the old connection is closed. Default off: the new peer is refused.
    pub router_handover: bool,
    /// ZMQ_PROBE_ROUTER: a ROUTER or DEALER sends an empty message to each new peer, so a ROUTER
    /// on the other side learns its routing id at once. Default off.
    pub probe_router: bool,
    /// ZMQ_XPUB_VERBOSE: an XPUB passes every subscribe message to the application, not only the
    /// first one for each topic. Default off.
    pub xpub_verbose: bool,
    /// ZMQ_XPUB_WELCOME_MSG: sent by an XPUB to each new subscriber. Default none.
    pub xpub_welcome_msg: Option<Bytes>,
    /// ZMQ_INVERT_MATCHING: a PUB/XPUB sends each message to the subscribers that do *not*
    /// match it, and a SUB receives the messages that match none of its subscriptions.
    /// Default off.
    pub invert_matching: bool,
    /// ZMQ_IMMEDIATE: queue messages only to peers whose connection is complete, instead of also
    /// to connecting endpoints that are not up yet. Default off.
    pub immediate: bool,
    /// ZMQ_CONFLATE: keep only the newest message in the inbound queue and in each peer's
    /// outbound queue (older ones not yet received or sent are replaced); the HWMs are then
    /// ignored. For last-value feeds. Default off.
    pub conflate: bool,
    /// ZMQ_XPUB_MANUAL: an XPUB passes every (un)subscription to the application and applies
    /// none itself; the application decides with `XPubSocket::subscribe`/`unsubscribe`, which
    /// act for the peer that sent the last one. Default off.
    pub xpub_manual: bool,
    /// The security mechanism, role and credentials (the PLAIN_*, CURVE_* and ZAP_DOMAIN
    /// options). Default NULL.
    pub security: Security,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            sndhwm: 1000,
            rcvhwm: 1000,
            linger: None,
            routing_id: None,
            reconnect_ivl: Some(Duration::from_millis(100)),
            reconnect_ivl_max: Duration::ZERO,
            reconnect_stop: 0,
            maxmsgsize: None,
            sndtimeo: None,
            rcvtimeo: None,
            connect_timeout: None,
            handshake_ivl: Some(Duration::from_secs(30)),
            tcp_keepalive: crate::transport::TcpKeepalive::default(),
            backlog: 100,
            heartbeat_ivl: None,
            heartbeat_ttl: None,
            heartbeat_timeout: None,
            req_relaxed: false,
            req_correlate: false,
            router_mandatory: false,
            router_handover: false,
            probe_router: false,
            xpub_verbose: false,
            xpub_welcome_msg: None,
            invert_matching: false,
            immediate: false,
            conflate: false,
            xpub_manual: false,
            security: Security::default(),
        }
    }
}

/// One option and its value, for [`SocketOptions::set`]. Names follow `zmq_setsockopt`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketOption {
    /// ZMQ_SNDHWM (0 = no limit).
    SndHwm(usize),
    /// ZMQ_RCVHWM (0 = no limit).
    RcvHwm(usize),
    /// ZMQ_LINGER (`None` = forever).
    Linger(Option<Duration>),
    /// ZMQ_ROUTING_ID (1 to 255 bytes).
    RoutingId(Bytes),
    /// ZMQ_RECONNECT_IVL (`None` = never reconnect).
    ReconnectIvl(Option<Duration>),
    /// ZMQ_RECONNECT_IVL_MAX (zero = no back-off).
    ReconnectIvlMax(Duration),
    /// ZMQ_RECONNECT_STOP: a mask of [`reconnect_stop`] flags saying when a connecting
    /// endpoint gives up reconnecting (libzmq's draft option, same values).
    ReconnectStop(u32),
    /// ZMQ_MAXMSGSIZE (`None` = no limit).
    MaxMsgSize(Option<u64>),
    /// ZMQ_SNDTIMEO (`None` = forever).
    SndTimeo(Option<Duration>),
    /// ZMQ_RCVTIMEO (`None` = forever).
    RcvTimeo(Option<Duration>),
    /// ZMQ_CONNECT_TIMEOUT (`None` = OS default).
    ConnectTimeout(Option<Duration>),
    /// ZMQ_BACKLOG (default 100), for endpoints bound after it is set.
    Backlog(u32),
    /// ZMQ_HANDSHAKE_IVL (`None` = no limit).
    HandshakeIvl(Option<Duration>),
    /// ZMQ_TCP_KEEPALIVE: `Some(true)` on, `Some(false)` off, `None` the OS default (libzmq's
    /// 1, 0 and -1).
    TcpKeepalive(Option<bool>),
    /// ZMQ_TCP_KEEPALIVE_IDLE (`None` = the OS default).
    TcpKeepaliveIdle(Option<Duration>),
    /// ZMQ_TCP_KEEPALIVE_CNT (`None` = the OS default).
    TcpKeepaliveCnt(Option<u32>),
    /// ZMQ_TCP_KEEPALIVE_INTVL (`None` = the OS default).
    TcpKeepaliveIntvl(Option<Duration>),
    /// ZMQ_HEARTBEAT_IVL (`None` or zero = no PINGs).
    HeartbeatIvl(Option<Duration>),
    /// ZMQ_HEARTBEAT_TTL (`None` or zero = none; at most 6553.5 s, counted in tenths of a
    /// second as on the wire).
    HeartbeatTtl(Option<Duration>),
    /// ZMQ_HEARTBEAT_TIMEOUT (`None` = HEARTBEAT_IVL).
    HeartbeatTimeout(Option<Duration>),
    /// ZMQ_REQ_RELAXED.
    ReqRelaxed(bool),
    /// ZMQ_REQ_CORRELATE.
    ReqCorrelate(bool),
    /// ZMQ_ROUTER_MANDATORY.
    RouterMandatory(bool),
    /// ZMQ_ROUTER_HANDOVER.
    RouterHandover(bool),
    /// ZMQ_PROBE_ROUTER.
    ProbeRouter(bool),
    /// ZMQ_XPUB_VERBOSE.
    XpubVerbose(bool),
    /// ZMQ_XPUB_WELCOME_MSG (`None` = no welcome message).
    XpubWelcomeMsg(Option<Bytes>),
    /// ZMQ_INVERT_MATCHING.
    InvertMatching(bool),
    /// ZMQ_IMMEDIATE.
    Immediate(bool),
    /// ZMQ_CONFLATE.
    Conflate(bool),
    /// ZMQ_XPUB_MANUAL.
    XpubManual(bool),
    /// ZMQ_PLAIN_SERVER: be a PLAIN server (`false`: back to NULL).
    PlainServer(bool),
    /// ZMQ_PLAIN_USERNAME: be a PLAIN client with this user name (empty: back to NULL).
    PlainUsername(Bytes),
    /// ZMQ_PLAIN_PASSWORD: be a PLAIN client with this password (empty: back to NULL).
    PlainPassword(Password),
    /// ZMQ_CURVE_SERVER: be a CURVE server (`false`: back to NULL). Set CURVE_SECRETKEY first.
    CurveServer(bool),
    /// ZMQ_CURVE_PUBLICKEY: our long-term public key; chooses CURVE.
    CurvePublicKey(CurvePublicKey),
    /// ZMQ_CURVE_SECRETKEY: our long-term secret key; chooses CURVE.
    CurveSecretKey(CurveSecretKey),
    /// ZMQ_CURVE_SERVERKEY: the server's public key; makes this socket a CURVE client.
    CurveServerKey(CurvePublicKey),
    /// ZMQ_ZAP_DOMAIN: the authentication domain passed to the ZAP handler.
    ZapDomain(Bytes),
    /// ZMQ_ZAP_ENFORCE_DOMAIN: without a ZAP handler, refuse clients instead of letting CURVE
    /// (and NULL with a ZAP_DOMAIN) through unauthenticated (default `false`, as in libzmq 4.3).
    ZapEnforceDomain(bool),
}

/// The flags of [`SocketOption::ReconnectStop`] (libzmq's `ZMQ_RECONNECT_STOP_*`, same values).
/// When one applies, the connecting endpoint stops for good: the monitor reports
/// `Closed` for it instead of `ConnectRetried`, and the messages queued for it are dropped with
/// it, as libzmq terminates the pipe.
pub mod reconnect_stop {
    /// Stop when a connect attempt is refused (ECONNREFUSED: nothing listens there).
    pub const CONN_REFUSED: u32 = 0x1;
    /// Stop when a handshake fails (the connection was made, the ZMTP handshake was not).
    pub const HANDSHAKE_FAILED: u32 = 0x2;
    /// Stop reconnecting once `disconnect` was called: always so here (`disconnect` ends the
    /// endpoint at once); accepted for code ported from libzmq.
    pub const AFTER_DISCONNECT: u32 = 0x4;
    /// Every flag.
    pub const ALL: u32 = CONN_REFUSED | HANDSHAKE_FAILED | AFTER_DISCONNECT;
}

impl SocketOption {
    /// Checks that `socket_type` has this option, as libzmq does: the options of one pattern
    /// (ZMQ_REQ_*, ZMQ_ROUTER_*, ZMQ_PROBE_ROUTER, ZMQ_XPUB_*) are refused with
    /// [`Error::InvalidOption`] (libzmq: EINVAL) on every other socket type; all the others
    /// apply to every type. As in libzmq, PUB takes XPUB's options and REQ DEALER's
    /// ZMQ_PROBE_ROUTER (the one is built on the other).
    pub fn check_applies_to(&self, socket_type: SocketType) -> Result<()> {
        use SocketType::{Dealer, Pub, Req, Router, XPub};
        let (option, types): (&'static str, &[SocketType]) = match self {
            SocketOption::ReqRelaxed(_) => ("ZMQ_REQ_RELAXED", &[Req]),
            SocketOption::ReqCorrelate(_) => ("ZMQ_REQ_CORRELATE", &[Req]),
            SocketOption::RouterMandatory(_) => ("ZMQ_ROUTER_MANDATORY", &[Router]),
            SocketOption::RouterHandover(_) => ("ZMQ_ROUTER_HANDOVER", &[Router]),
            SocketOption::ProbeRouter(_) => ("ZMQ_PROBE_ROUTER", &[Router, Dealer, Req]),
            SocketOption::XpubVerbose(_) => ("ZMQ_XPUB_VERBOSE", &[XPub, Pub]),
            SocketOption::XpubWelcomeMsg(_) => ("ZMQ_XPUB_WELCOME_MSG", &[XPub, Pub]),
            SocketOption::XpubManual(_) => ("ZMQ_XPUB_MANUAL", &[XPub, Pub]),
            _ => return Ok(()),
        };
        if types.contains(&socket_type) {
            Ok(())
        } else {
            Err(Error::InvalidOption {
                option,
                reason: "not an option of this socket type",
            })
        }
    }
}

impl SocketOptions {
    /// Applies one option, checking its value the way libzmq does.
    pub fn set(&mut self, option: SocketOption) -> Result<()> {
        match option {
            SocketOption::SndHwm(v) => self.sndhwm = v,
            SocketOption::RcvHwm(v) => self.rcvhwm = v,
            SocketOption::Linger(v) => self.linger = v,
            SocketOption::RoutingId(id) => {
                if id.is_empty() || id.len() > 255 {
                    return Err(Error::InvalidOption {
                        option: "ZMQ_ROUTING_ID",
                        reason: "a routing id is 1 to 255 bytes",
                    });
                }
                self.routing_id = Some(id);
            }
            SocketOption::ReconnectIvl(v) => self.reconnect_ivl = v,
            SocketOption::ReconnectIvlMax(v) => self.reconnect_ivl_max = v,
            SocketOption::ReconnectStop(mask) => {
                if mask & !reconnect_stop::ALL != 0 {
                    return Err(Error::InvalidOption {
                        option: "ZMQ_RECONNECT_STOP",
                        reason: "a mask of CONN_REFUSED (1), HANDSHAKE_FAILED (2) and AFTER_DISCONNECT (4)",
                    });
                }
                self.reconnect_stop = mask;
            }
            SocketOption::MaxMsgSize(v) => self.maxmsgsize = v,
            SocketOption::SndTimeo(v) => self.sndtimeo = v,
            SocketOption::RcvTimeo(v) => self.rcvtimeo = v,
            SocketOption::ConnectTimeout(v) => self.connect_timeout = v,
            SocketOption::Backlog(v) => self.backlog = v,
            SocketOption::HandshakeIvl(v) => self.handshake_ivl = v,
            SocketOption::TcpKeepalive(v) => self.tcp_keepalive.enabled = v,
            SocketOption::TcpKeepaliveIdle(v) => self.tcp_keepalive.idle = v,
            SocketOption::TcpKeepaliveCnt(v) => self.tcp_keepalive.count = v,
            SocketOption::TcpKeepaliveIntvl(v) => self.tcp_keepalive.interval = v,
            SocketOption::HeartbeatIvl(v) => self.heartbeat_ivl = v.filter(|d| !d.is_zero()),
            SocketOption::HeartbeatTtl(v) => {
                if v.is_some_and(|d| d > MAX_HEARTBEAT_TTL) {
                    return Err(Error::InvalidOption {
                        option: "ZMQ_HEARTBEAT_TTL",
                        reason: "a heartbeat TTL is at most 6553.5 s (65535 tenths of a second)",
                    });
                }
                self.heartbeat_ttl = v.filter(|d| d.as_millis() >= 100);
            }
            SocketOption::HeartbeatTimeout(v) => self.heartbeat_timeout = v,
            SocketOption::ReqRelaxed(v) => self.req_relaxed = v,
            SocketOption::ReqCorrelate(v) => self.req_correlate = v,
            SocketOption::RouterMandatory(v) => self.router_mandatory = v,
            SocketOption::RouterHandover(v) => self.router_handover = v,
            SocketOption::ProbeRouter(v) => self.probe_router = v,
            SocketOption::XpubVerbose(v) => self.xpub_verbose = v,
            SocketOption::XpubWelcomeMsg(v) => self.xpub_welcome_msg = v,
            SocketOption::InvertMatching(v) => self.invert_matching = v,
            SocketOption::Immediate(v) => self.immediate = v,
            SocketOption::Conflate(v) => self.conflate = v,
            SocketOption::XpubManual(v) => self.xpub_manual = v,
            SocketOption::PlainServer(on) => self.security.set_plain_server(on),
            SocketOption::PlainUsername(name) => self.security.set_plain_username(name)?,
            SocketOption::PlainPassword(password) => self.security.set_plain_password(password)?,
            SocketOption::CurveServer(on) => self.security.set_curve_server(on)?,
            SocketOption::CurvePublicKey(key) => self.security.set_curve_public_key(key),
            SocketOption::CurveSecretKey(key) => self.security.set_curve_secret_key(key),
            SocketOption::CurveServerKey(key) => self.security.set_curve_server_key(key),
            SocketOption::ZapDomain(domain) => self.security.set_zap_domain(domain)?,
            SocketOption::ZapEnforceDomain(on) => self.security.zap_enforce_domain = on,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_options_apply_only_to_their_socket_types() {
        use SocketType::*;
        let all = [
            Pair, Pub, Sub, Req, Rep, Dealer, Router, Pull, Push, XPub, XSub,
        ];
        let only = |option: SocketOption, types: &[SocketType]| {
            for t in all {
                let got = option.check_applies_to(t);
                assert_eq!(
                    got.is_ok(),
                    types.contains(&t),
                    "{option:?} on {t:?}: {got:?}"
                );
            }
        };
        only(SocketOption::ReqRelaxed(true), &[Req]);
        only(SocketOption::ReqCorrelate(true), &[Req]);
        only(SocketOption::RouterMandatory(true), &[Router]);
        only(SocketOption::RouterHandover(true), &[Router]);
        only(SocketOption::ProbeRouter(true), &[Router, Dealer, Req]);
        only(SocketOption::XpubVerbose(true), &[XPub, Pub]);
        only(SocketOption::XpubManual(true), &[XPub, Pub]);
        only(SocketOption::XpubWelcomeMsg(None), &[XPub, Pub]);
        // The others are every type's, as in libzmq's options_t.
        for option in [
            SocketOption::Conflate(true),
            SocketOption::Immediate(true),
            SocketOption::InvertMatching(true),
            SocketOption::SndHwm(1),
        ] {
            only(option, &all);
        }
        let err = SocketOption::ReqRelaxed(true).check_applies_to(Dealer);
        assert!(
            matches!(
                err,
                Err(Error::InvalidOption {
                    option: "ZMQ_REQ_RELAXED",
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn defaults_match_libzmq() {
        let o = SocketOptions::default();
        assert_eq!((o.sndhwm, o.rcvhwm), (1000, 1000));
        assert_eq!(o.reconnect_ivl, Some(Duration::from_millis(100)));
        assert_eq!(o.handshake_ivl, Some(Duration::from_secs(30)));
        assert_eq!(o.linger, None);
        assert_eq!(o.maxmsgsize, None);
    }

    #[test]
    fn routing_id_length_is_checked() {
        let mut o = SocketOptions::default();
        assert!(o.set(SocketOption::RoutingId(Bytes::new())).is_err());
        assert!(
            o.set(SocketOption::RoutingId(Bytes::from(vec![1u8; 256])))
                .is_err()
        );
        o.set(SocketOption::RoutingId(Bytes::from_static(b"abc")))
            .unwrap();
        assert_eq!(o.routing_id.as_deref(), Some(&b"abc"[..]));
    }
}
