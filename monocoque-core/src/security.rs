//! The security options of a socket: which mechanism it speaks (NULL, PLAIN or CURVE), in which
//! role, with which credentials, plus the CURVE key types.
//!
//! The options follow `zmq_setsockopt` exactly, including how each one picks the mechanism:
//! PLAIN_USERNAME, PLAIN_PASSWORD and CURVE_SERVERKEY make the socket a client of their
//! mechanism; PLAIN_SERVER and CURVE_SERVER make it a server (or, set to false, return it to
//! NULL); CURVE_PUBLICKEY and CURVE_SECRETKEY choose CURVE and keep the role. Unlike libzmq, an
//! incomplete set-up is refused when it is made, not when a connection fails later:
//! CURVE_SERVER needs CURVE_SECRETKEY first, and `bind`/`connect` check the rest with
//! [`Security::check`].

use crate::error::{Error, Result};
use crate::z85::{self, Z85Error};
use bytes::Bytes;
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Octets in a CURVE key.
pub const CURVE_KEY_LEN: usize = 32;

/// Characters in the Z85 form of a CURVE key.
pub const CURVE_KEY_Z85_LEN: usize = 40;

/// Why a CURVE key could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Neither 32 raw octets nor 40 Z85 characters (libzmq also accepts 41, a trailing NUL).
    Length(usize),
    /// The text is not valid Z85.
    Z85(Z85Error),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Length(n) => write!(
                f,
                "a CURVE key is {CURVE_KEY_LEN} octets or {CURVE_KEY_Z85_LEN} Z85 characters, not {n}"
            ),
            KeyError::Z85(e) => write!(f, "CURVE key: {e}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Reads a key the way `zmq_setsockopt` does: 32 raw octets, or 40 Z85 characters (optionally
/// followed by a NUL, as C strings are passed).
fn key_octets(value: &[u8]) -> std::result::Result<[u8; CURVE_KEY_LEN], KeyError> {
    let text = match value.len() {
        CURVE_KEY_LEN => return Ok(value.try_into().expect("length checked")),
        CURVE_KEY_Z85_LEN => value,
        41 if value[40] == 0 => &value[..40],
        n => return Err(KeyError::Length(n)),
    };
    let text = std::str::from_utf8(text)
        .map_err(|e| KeyError::Z85(Z85Error::InvalidChar(e.valid_up_to())))?;
    let mut raw = z85::decode(text).map_err(KeyError::Z85)?;
    let key = raw
        .as_slice()
        .try_into()
        .expect("40 Z85 characters are 32 octets");
    raw.zeroize();
    Ok(key)
}

/// A CURVE public key (a point on Curve25519). Shown as its Z85 text by `Debug` and `Display`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurvePublicKey([u8; CURVE_KEY_LEN]);

impl CurvePublicKey {
    /// The key with these 32 octets.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; CURVE_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Reads 32 raw octets or 40 Z85 characters (as ZMQ_CURVE_PUBLICKEY accepts).
    pub fn from_slice(value: &[u8]) -> std::result::Result<Self, KeyError> {
        key_octets(value).map(Self)
    }

    /// Reads the 40-character Z85 form.
    pub fn from_z85(text: &str) -> std::result::Result<Self, KeyError> {
        if text.len() != CURVE_KEY_Z85_LEN {
            return Err(KeyError::Length(text.len()));
        }
        key_octets(text.as_bytes()).map(Self)
    }

    /// The 32 octets.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; CURVE_KEY_LEN] {
        &self.0
    }

    /// The 40-character Z85 form.
    #[must_use]
    pub fn to_z85(&self) -> String {
        z85::encode(&self.0).expect("32 is a multiple of 4")
    }
}

impl fmt::Debug for CurvePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CurvePublicKey({})", self.to_z85())
    }
}

impl fmt::Display for CurvePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z85())
    }
}

/// A CURVE secret key. Its octets are wiped when it is dropped, `Debug` never shows them, and
/// equality is checked in constant time.
#[derive(Clone)]
pub struct CurveSecretKey(Box<[u8; CURVE_KEY_LEN]>);

impl CurveSecretKey {
    /// The key with these 32 octets (the caller should wipe its own copy).
    #[must_use]
    pub fn from_bytes(bytes: [u8; CURVE_KEY_LEN]) -> Self {
        Self(Box::new(bytes))
    }

    /// Reads 32 raw octets or 40 Z85 characters (as ZMQ_CURVE_SECRETKEY accepts).
    pub fn from_slice(value: &[u8]) -> std::result::Result<Self, KeyError> {
        let mut raw = key_octets(value)?;
        let key = Self::from_bytes(raw);
        raw.zeroize();
        Ok(key)
    }

    /// Reads the 40-character Z85 form.
    pub fn from_z85(text: &str) -> std::result::Result<Self, KeyError> {
        if text.len() != CURVE_KEY_Z85_LEN {
            return Err(KeyError::Length(text.len()));
        }
        Self::from_slice(text.as_bytes())
    }

    /// The 32 octets.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; CURVE_KEY_LEN] {
        &self.0
    }

    /// The 40-character Z85 form (for writing a secret key file; wipe the string after use).
    #[must_use]
    pub fn to_z85(&self) -> String {
        z85::encode(&self.0[..]).expect("32 is a multiple of 4")
    }
}

impl Drop for CurveSecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl PartialEq for CurveSecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.0[..].ct_eq(&other.0[..]).into()
    }
}

impl Eq for CurveSecretKey {}

impl fmt::Debug for CurveSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CurveSecretKey(<redacted>)")
    }
}

/// A PLAIN password: `Debug` never shows it, and it is wiped when dropped if no other copy of
/// its bytes is alive.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(Bytes);

impl Password {
    /// A password with these octets (at most 255, as PLAIN's HELLO carries).
    #[must_use]
    pub fn new(value: impl Into<Bytes>) -> Self {
        Self(value.into())
    }

    /// The octets.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        let bytes = std::mem::take(&mut self.0);
        if let Ok(mut owned) = bytes.try_into_mut() {
            owned.zeroize();
        }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl From<&str> for Password {
    fn from(value: &str) -> Self {
        Self(Bytes::copy_from_slice(value.as_bytes()))
    }
}

/// The security mechanism of a socket (ZMQ_MECHANISM, read-only in libzmq).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MechanismKind {
    /// No security (the default).
    #[default]
    Null,
    /// User name and password in the clear (RFC 24).
    Plain,
    /// CurveZMQ encryption and authentication (RFC 25, 26).
    Curve,
}

/// A socket's security options. Set them with the PLAIN_*, CURVE_* and ZAP_DOMAIN
/// [`SocketOption`](crate::SocketOption)s; see the [module documentation](self) for how they
/// choose the mechanism.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Security {
    /// The mechanism the options chose.
    pub mechanism: MechanismKind,
    /// Whether this socket is the mechanism's server (PLAIN_SERVER / CURVE_SERVER); it has no
    /// effect with NULL. It is independent of which side binds.
    pub as_server: bool,
    /// ZMQ_PLAIN_USERNAME (a PLAIN client's user name, at most 255 octets).
    pub plain_username: Bytes,
    /// ZMQ_PLAIN_PASSWORD (a PLAIN client's password, at most 255 octets).
    pub plain_password: Password,
    /// ZMQ_CURVE_PUBLICKEY: our long-term public key.
    pub curve_public_key: Option<CurvePublicKey>,
    /// ZMQ_CURVE_SECRETKEY: our long-term secret key.
    pub curve_secret_key: Option<CurveSecretKey>,
    /// ZMQ_CURVE_SERVERKEY: a CURVE client's knowledge of the server's public key.
    pub curve_server_key: Option<CurvePublicKey>,
    /// ZMQ_ZAP_DOMAIN: the domain a server passes to its ZAP handler (empty by default).
    pub zap_domain: Bytes,
    /// ZMQ_ZAP_ENFORCE_DOMAIN: with no ZAP handler at all, refuse clients that libzmq 4.3
    /// would otherwise let through unauthenticated (CURVE, NULL with a ZAP_DOMAIN).
    pub zap_enforce_domain: bool,
}

impl Security {
    /// ZMQ_PLAIN_SERVER.
    pub fn set_plain_server(&mut self, on: bool) {
        self.as_server = on;
        self.mechanism = if on {
            MechanismKind::Plain
        } else {
            MechanismKind::Null
        };
    }

    /// ZMQ_PLAIN_USERNAME.
    pub fn set_plain_username(&mut self, name: Bytes) -> Result<()> {
        self.plain_client("ZMQ_PLAIN_USERNAME", name.len())?;
        self.plain_username = name;
        Ok(())
    }

    /// ZMQ_PLAIN_PASSWORD.
    pub fn set_plain_password(&mut self, password: Password) -> Result<()> {
        self.plain_client("ZMQ_PLAIN_PASSWORD", password.as_bytes().len())?;
        self.plain_password = password;
        Ok(())
    }

    /// A PLAIN credential of `len` octets was set: PLAIN client, or NULL when it is empty.
    fn plain_client(&mut self, option: &'static str, len: usize) -> Result<()> {
        if len > 255 {
            return Err(Error::InvalidOption {
                option,
                reason: "PLAIN credentials are at most 255 octets",
            });
        }
        self.as_server = false;
        self.mechanism = if len == 0 {
            MechanismKind::Null
        } else {
            MechanismKind::Plain
        };
        Ok(())
    }

    /// ZMQ_CURVE_SERVER: refused without a secret key (set ZMQ_CURVE_SECRETKEY first).
    pub fn set_curve_server(&mut self, on: bool) -> Result<()> {
        if on && self.curve_secret_key.is_none() {
            return Err(Error::InvalidOption {
                option: "ZMQ_CURVE_SERVER",
                reason: "set ZMQ_CURVE_SECRETKEY before making the socket a CURVE server",
            });
        }
        self.as_server = on;
        self.mechanism = if on {
            MechanismKind::Curve
        } else {
            MechanismKind::Null
        };
        Ok(())
    }

    /// ZMQ_CURVE_PUBLICKEY.
    pub fn set_curve_public_key(&mut self, key: CurvePublicKey) {
        self.curve_public_key = Some(key);
        self.mechanism = MechanismKind::Curve;
    }

    /// ZMQ_CURVE_SECRETKEY.
    pub fn set_curve_secret_key(&mut self, key: CurveSecretKey) {
        self.curve_secret_key = Some(key);
        self.mechanism = MechanismKind::Curve;
    }

    /// ZMQ_CURVE_SERVERKEY: makes this socket a CURVE client.
    pub fn set_curve_server_key(&mut self, key: CurvePublicKey) {
        self.curve_server_key = Some(key);
        self.as_server = false;
        self.mechanism = MechanismKind::Curve;
    }

    /// ZMQ_ZAP_DOMAIN (at most 255 octets).
    pub fn set_zap_domain(&mut self, domain: Bytes) -> Result<()> {
        if domain.len() > 255 {
            return Err(Error::InvalidOption {
                option: "ZMQ_ZAP_DOMAIN",
                reason: "a ZAP domain is at most 255 octets",
            });
        }
        self.zap_domain = domain;
        Ok(())
    }

    /// Checks that the chosen mechanism has what its role needs, as `bind` and `connect` do
    /// before any connection is made: a CURVE server its secret key, a CURVE client its own key
    /// pair and the server's public key.
    pub fn check(&self) -> Result<()> {
        let missing = |option, reason| Err(Error::InvalidOption { option, reason });
        match (self.mechanism, self.as_server) {
            (MechanismKind::Curve, true) if self.curve_secret_key.is_none() => {
                missing("ZMQ_CURVE_SECRETKEY", "a CURVE server needs its secret key")
            }
            (MechanismKind::Curve, false) if self.curve_server_key.is_none() => missing(
                "ZMQ_CURVE_SERVERKEY",
                "a CURVE client needs the server's public key",
            ),
            (MechanismKind::Curve, false)
                if self.curve_public_key.is_none() || self.curve_secret_key.is_none() =>
            {
                missing(
                    "ZMQ_CURVE_PUBLICKEY",
                    "a CURVE client needs its own public and secret keys",
                )
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

    #[test]
    fn keys_read_raw_z85_and_nul_terminated_z85() {
        let key = CurvePublicKey::from_z85(SERVER_PUBLIC).unwrap();
        assert_eq!(key.as_bytes()[..4], [0x54, 0xFC, 0xBA, 0x24]);
        assert_eq!(key.to_z85(), SERVER_PUBLIC);
        assert_eq!(CurvePublicKey::from_slice(key.as_bytes()), Ok(key));
        let mut c_string = SERVER_PUBLIC.as_bytes().to_vec();
        c_string.push(0);
        assert_eq!(CurvePublicKey::from_slice(&c_string), Ok(key));
        assert_eq!(
            CurvePublicKey::from_slice(&[0; 31]),
            Err(KeyError::Length(31))
        );
        assert_eq!(CurvePublicKey::from_z85("short"), Err(KeyError::Length(5)));
        let bad = SERVER_PUBLIC.replace('r', "\"\"");
        assert!(matches!(
            CurvePublicKey::from_slice(&bad.as_bytes()[..40]),
            Err(KeyError::Z85(_))
        ));
    }

    #[test]
    fn secret_keys_are_redacted_and_compare_by_value() {
        let secret = CurveSecretKey::from_z85(SERVER_SECRET).unwrap();
        assert_eq!(format!("{secret:?}"), "CurveSecretKey(<redacted>)");
        assert_eq!(secret.to_z85(), SERVER_SECRET);
        assert_eq!(secret, CurveSecretKey::from_bytes(*secret.as_bytes()));
        assert_ne!(secret, CurveSecretKey::from_bytes([0; 32]));
        let password = Password::from("hunter2");
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        let mut sec = Security::default();
        sec.set_curve_secret_key(secret);
        sec.set_plain_password(password).unwrap();
        let shown = format!("{sec:?}");
        assert!(!shown.contains("hunter2") && !shown.contains(SERVER_SECRET));
    }

    #[test]
    fn options_pick_the_mechanism_as_libzmq_does() {
        let mut sec = Security::default();
        sec.set_plain_server(true);
        assert_eq!((sec.mechanism, sec.as_server), (MechanismKind::Plain, true));
        sec.set_plain_server(false);
        assert_eq!((sec.mechanism, sec.as_server), (MechanismKind::Null, false));
        sec.set_plain_username(Bytes::from_static(b"admin"))
            .unwrap();
        assert_eq!(
            (sec.mechanism, sec.as_server),
            (MechanismKind::Plain, false)
        );
        sec.set_plain_password(Password::from("")).unwrap();
        assert_eq!(sec.mechanism, MechanismKind::Null);
        assert!(
            sec.set_plain_username(Bytes::from(vec![b'x'; 256]))
                .is_err()
        );

        let mut sec = Security::default();
        assert!(sec.set_curve_server(true).is_err(), "no secret key yet");
        sec.set_curve_secret_key(CurveSecretKey::from_z85(SERVER_SECRET).unwrap());
        sec.set_curve_server(true).unwrap();
        assert_eq!((sec.mechanism, sec.as_server), (MechanismKind::Curve, true));
        sec.check().unwrap();
        sec.set_curve_server_key(CurvePublicKey::from_z85(SERVER_PUBLIC).unwrap());
        assert_eq!(
            (sec.mechanism, sec.as_server),
            (MechanismKind::Curve, false)
        );
        assert!(
            sec.check().is_err(),
            "a client needs its own public key too"
        );
        sec.set_curve_public_key(CurvePublicKey::from_z85(SERVER_PUBLIC).unwrap());
        sec.check().unwrap();
        sec.set_curve_server(false).unwrap();
        assert_eq!(sec.mechanism, MechanismKind::Null);
        assert!(sec.set_zap_domain(Bytes::from(vec![b'd'; 256])).is_err());
    }
}
