//! Authentication of PLAIN and CURVE clients (ZAP, RFC 27).
//!
//! A server socket's mechanism hands each client's credentials to the [`ZapHandler`] of the
//! socket's [`Context`](crate::Context) ([`Context::with_zap_handler`](crate::Context::with_zap_handler))
//! and goes on only on a 200 reply. The handler's user id and metadata become properties of the
//! connection, carried by every message received on it ([`Message::property`]:
//! `User-Id`, ...).
//!
//! [`Message::property`]: monocoque_core::Message::property
//!
//! [`Authenticator`] is a ready-made handler (allow/deny lists of addresses, a PLAIN password
//! table, a set of allowed CURVE client keys), the job czmq's `zauth` and pyzmq's `zmq.auth` do.
//! Any `Fn(&ZapRequest) -> ZapReply` is a handler too.
//!
//! Without a handler installed, the context does what libzmq does: if one of its sockets (a REP,
//! code ported from libzmq) is bound at [`ZAP_ENDPOINT`] (`inproc://zeromq.zap.01`), each
//! request goes to it as RFC 27's multipart message and its reply decides; if none is bound,
//! servers behave as libzmq 4.3.5 does without a ZAP handler: a CURVE server accepts every
//! client that proves its key, and a PLAIN server refuses every client (closing without ERROR;
//! reported as an authentication failure). ZAP_ENFORCE_DOMAIN
//! ([`SocketOption::ZapEnforceDomain`](monocoque_core::SocketOption::ZapEnforceDomain)) makes
//! CURVE, and NULL with a ZAP_DOMAIN, refuse every client then as well.

pub use crate::proto::greeting::MechanismName;
pub use crate::proto::zap::{ZapReply, ZapStatus};
use async_trait::async_trait;
use bytes::Bytes;
use hashbrown::{HashMap, HashSet};
use monocoque_core::CurvePublicKey;
use std::fmt;
use subtle::ConstantTimeEq;

/// What a ZAP handler is asked (RFC 27's request, less its version and request id).
#[derive(Clone)]
pub struct ZapRequest {
    /// ZMQ_ZAP_DOMAIN of the server socket.
    pub domain: Bytes,
    /// The client's address: for tcp its IP address without the port (`127.0.0.1`, `::1`), as
    /// libzmq sends it; for ipc the peer's name.
    pub address: String,
    /// The server socket's own routing id (ZMQ_ROUTING_ID), as libzmq sends it; empty if none.
    pub routing_id: Bytes,
    /// The mechanism.
    pub mechanism: MechanismName,
    /// PLAIN: user name and password; CURVE: the client's 32-octet public key.
    pub credentials: Vec<Bytes>,
}

impl fmt::Debug for ZapRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZapRequest")
            .field("domain", &self.domain)
            .field("address", &self.address)
            .field("mechanism", &self.mechanism)
            .field(
                "credentials",
                &format_args!("<{} frames>", self.credentials.len()),
            )
            .finish_non_exhaustive()
    }
}

/// Decides whether a client may connect.
#[async_trait]
pub trait ZapHandler: Send + Sync + 'static {
    /// The verdict on one client.
    async fn authenticate(&self, request: ZapRequest) -> ZapReply;
}

impl fmt::Debug for dyn ZapHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ZapHandler")
    }
}

#[async_trait]
impl<F> ZapHandler for F
where
    F: Fn(&ZapRequest) -> ZapReply + Send + Sync + 'static,
{
    async fn authenticate(&self, request: ZapRequest) -> ZapReply {
        self(&request)
    }
}

/// A ready-made [`ZapHandler`]: address lists, PLAIN passwords, CURVE client keys.
///
/// Addresses are checked first: a denied address is refused; with an allow list, only listed
/// addresses pass (and, as in `zmq.auth`, an allowed address skips the mechanism's own check
/// for NULL). Then PLAIN checks the password table and CURVE the allowed keys (or any key with
/// [`allow_any_curve`](Self::allow_any_curve)). Refusals are status 400. The user id is the
/// PLAIN user name, or the Z85 form of the CURVE key.
#[derive(Debug, Default, Clone)]
pub struct Authenticator {
    allow_addresses: HashSet<String>,
    deny_addresses: HashSet<String>,
    passwords: HashMap<Bytes, Bytes>,
    curve_keys: HashSet<CurvePublicKey>,
    any_curve: bool,
}

impl Authenticator {
    /// Refuses every PLAIN and CURVE client until told otherwise; NULL clients (ZAP_DOMAIN set)
    /// pass unless an address list refuses them.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts clients only from these IP addresses (host part of the peer address).
    #[must_use]
    pub fn allow(mut self, addresses: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allow_addresses
            .extend(addresses.into_iter().map(Into::into));
        self
    }

    /// Refuses clients from these IP addresses.
    #[must_use]
    pub fn deny(mut self, addresses: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.deny_addresses
            .extend(addresses.into_iter().map(Into::into));
        self
    }

    /// A PLAIN user and its password.
    #[must_use]
    pub fn plain_user(mut self, user: impl Into<Bytes>, password: impl Into<Bytes>) -> Self {
        self.passwords.insert(user.into(), password.into());
        self
    }

    /// Accepts CURVE clients with this public key.
    #[must_use]
    pub fn curve_key(mut self, key: CurvePublicKey) -> Self {
        self.curve_keys.insert(key);
        self
    }

    /// Accepts CURVE clients whose public certificate (`*.key`) is in `dir`, as
    /// `zmq.auth`'s `configure_curve(location=dir)` does. The directory is read now.
    pub fn curve_keys_from_dir(
        mut self,
        dir: &std::path::Path,
    ) -> Result<Self, crate::keys::CertificateError> {
        self.curve_keys.extend(crate::keys::read_public_keys(dir)?);
        Ok(self)
    }

    /// Accepts every CURVE client that proves its key (`CURVE_ALLOW_ANY`).
    #[must_use]
    pub fn allow_any_curve(mut self) -> Self {
        self.any_curve = true;
        self
    }

    /// The verdict, synchronously.
    #[must_use]
    pub fn check(&self, request: &ZapRequest) -> ZapReply {
        let deny = |why: &'static str| ZapReply::deny(ZapStatus::AuthenticationFailure, why);
        let host = host_of(&request.address);
        if self.deny_addresses.contains(host) {
            return deny("address denied");
        }
        if !self.allow_addresses.is_empty() && !self.allow_addresses.contains(host) {
            return deny("address not allowed");
        }
        match (request.mechanism, request.credentials.as_slice()) {
            (MechanismName::PLAIN, [user, password]) => match self.passwords.get(user) {
                Some(known) if bool::from(known.ct_eq(password)) => ZapReply::allow(user.clone()),
                _ => deny("invalid user name or password"),
            },
            (MechanismName::CURVE, [key]) => {
                let Ok(key) = CurvePublicKey::from_slice(key) else {
                    return deny("invalid key");
                };
                if self.any_curve || self.curve_keys.contains(&key) {
                    ZapReply::allow(key.to_z85())
                } else {
                    deny("unknown client key")
                }
            }
            (MechanismName::NULL, []) => ZapReply::allow(Bytes::new()),
            _ => deny("unsupported mechanism"),
        }
    }
}

#[async_trait]
impl ZapHandler for Authenticator {
    async fn authenticate(&self, request: ZapRequest) -> ZapReply {
        self.check(&request)
    }
}

/// The host of an IP address, `host:port` or `[v6]:port`; an ipc path as it is.
fn host_of(address: &str) -> &str {
    if address.parse::<std::net::IpAddr>().is_ok() {
        return address;
    }
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match address.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => address,
    }
}

/// Where libzmq's ZAP handler binds (RFC 27), in the server's context.
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// The handler of a context that has none installed: the inproc ZAP socket, if bound, else
/// libzmq's behaviour without a handler.
pub(crate) struct LibzmqZap {
    pub ctx: crate::Context,
    /// ZAP_ENFORCE_DOMAIN: with nothing bound at [`ZAP_ENDPOINT`], refuse every client.
    pub enforce_domain: bool,
}

#[async_trait]
impl ZapHandler for LibzmqZap {
    async fn authenticate(&self, request: ZapRequest) -> ZapReply {
        let name = ZAP_ENDPOINT.trim_start_matches("inproc://");
        if !self.ctx.inproc().is_bound(name) {
            return match request.mechanism {
                MechanismName::PLAIN => {
                    ZapReply::deny(ZapStatus::TemporaryError, "no ZAP handler: PLAIN needs one")
                }
                _ if self.enforce_domain => ZapReply::deny(
                    ZapStatus::InternalError,
                    "no ZAP handler and ZAP_ENFORCE_DOMAIN is set",
                ),
                _ => ZapReply::allow(Bytes::new()),
            };
        }
        match ask_inproc(&self.ctx, request).await {
            Ok(reply) => reply,
            Err(why) => ZapReply::deny(ZapStatus::InternalError, why),
        }
    }
}

/// One RFC 27 exchange with the socket bound at [`ZAP_ENDPOINT`], through a DEALER.
async fn ask_inproc(ctx: &crate::Context, request: ZapRequest) -> Result<ZapReply, String> {
    use crate::socket::DealerSocket;
    use monocoque_core::Message;
    use std::sync::atomic::{AtomicU64, Ordering};
    static REQUEST_ID: AtomicU64 = AtomicU64::new(1);
    let id = Bytes::from(REQUEST_ID.fetch_add(1, Ordering::Relaxed).to_string());
    let mut frames = vec![
        Bytes::new(),
        Bytes::from_static(b"1.0"),
        id.clone(),
        request.domain,
        Bytes::from(request.address),
        request.routing_id,
        Bytes::copy_from_slice(request.mechanism.as_str().as_bytes()),
    ];
    frames.extend(request.credentials);
    let mut dealer = DealerSocket::new(ctx);
    let exchange = async {
        dealer
            .connect(ZAP_ENDPOINT)
            .await
            .map_err(|e| e.to_string())?;
        dealer
            .send(Message::from_frames(frames))
            .await
            .map_err(|e| e.to_string())?;
        dealer.recv().await.map_err(|e| e.to_string())
    };
    let reply = exchange.await;
    dealer.close().await;
    let reply = reply?;
    let f = reply.frames();
    if f.len() < 7 || !f[0].is_empty() || &f[1][..] != b"1.0" || f[2] != id {
        return Err("malformed ZAP reply".into());
    }
    let status = ZapStatus::from_code(&f[3]).ok_or("ZAP reply with an unknown status code")?;
    let metadata = crate::proto::Properties::parse(&f[6]).map_err(|e| e.to_string())?;
    Ok(ZapReply {
        status,
        status_text: f[4].clone(),
        user_id: f[5].clone(),
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(address: &str, user: &'static [u8], password: &'static [u8]) -> ZapRequest {
        ZapRequest {
            domain: Bytes::new(),
            address: address.into(),
            routing_id: Bytes::new(),
            mechanism: MechanismName::PLAIN,
            credentials: vec![Bytes::from_static(user), Bytes::from_static(password)],
        }
    }

    #[test]
    fn passwords_and_addresses() {
        let auth = Authenticator::new()
            .plain_user("admin", "secret")
            .deny(["10.0.0.9"]);
        let ok = auth.check(&plain("127.0.0.1:4000", b"admin", b"secret"));
        assert_eq!(
            (ok.status, &ok.user_id[..]),
            (ZapStatus::Success, &b"admin"[..])
        );
        let wrong = auth.check(&plain("127.0.0.1:4000", b"admin", b"Secret"));
        assert_eq!(wrong.status, ZapStatus::AuthenticationFailure);
        let denied = auth.check(&plain("10.0.0.9:4000", b"admin", b"secret"));
        assert_eq!(denied.status, ZapStatus::AuthenticationFailure);
        let only = auth
            .clone()
            .allow(["[::1]"].map(|a| a.trim_matches(['[', ']'])));
        assert_eq!(
            only.check(&plain("[::1]:9", b"admin", b"secret")).status,
            ZapStatus::Success
        );
        assert_ne!(
            only.check(&plain("127.0.0.1:9", b"admin", b"secret"))
                .status,
            ZapStatus::Success
        );
    }

    #[test]
    fn curve_keys() {
        let key = CurvePublicKey::from_bytes([7; 32]);
        let request = |k: &CurvePublicKey| ZapRequest {
            mechanism: MechanismName::CURVE,
            credentials: vec![Bytes::copy_from_slice(k.as_bytes())],
            ..plain("127.0.0.1:1", b"", b"")
        };
        let auth = Authenticator::new().curve_key(key);
        let ok = auth.check(&request(&key));
        assert_eq!(ok.status, ZapStatus::Success);
        assert_eq!(ok.user_id, key.to_z85());
        let other = CurvePublicKey::from_bytes([8; 32]);
        assert_ne!(auth.check(&request(&other)).status, ZapStatus::Success);
        let any = Authenticator::new().allow_any_curve();
        assert_eq!(any.check(&request(&other)).status, ZapStatus::Success);
    }
}
