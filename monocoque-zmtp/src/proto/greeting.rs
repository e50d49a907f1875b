//! The 64-octet ZMTP 3.x greeting.
//!
//! ```text
//! octet 0      0xFF                   signature
//! octets 1-8   padding                never validated (libzmq puts identity length + 1 there)
//! octet 9      0x7F                   signature (only the low bit is checked)
//! octet 10     major version          3
//! octet 11     minor version          1 (0 for ZMTP 3.0)
//! octets 12-31 mechanism              "NULL", "PLAIN", "CURVE", NUL-padded
//! octet 32     as-server              0 or 1 (libzmq always sends 0)
//! octets 33-63 filler                 zeros, ignored
//! ```

use super::error::ZmtpError;
use std::fmt;

/// Length of a ZMTP 3.x greeting.
pub const GREETING_LEN: usize = 64;
/// The major version we speak.
pub const VERSION_MAJOR: u8 = 3;
/// The minor version we speak.
pub const VERSION_MINOR: u8 = 1;
/// Length of the mechanism field.
pub const MECHANISM_LEN: usize = 20;

const OFFSET_MAJOR: usize = 10;
const OFFSET_MINOR: usize = 11;
const OFFSET_MECHANISM: usize = 12;
const OFFSET_AS_SERVER: usize = 32;

/// A security mechanism name as it travels in the greeting: 1 to 20 of `A-Z 0-9 - _ . +`,
/// NUL-padded to 20 octets.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MechanismName([u8; MECHANISM_LEN]);

const fn padded(name: &[u8]) -> [u8; MECHANISM_LEN] {
    let mut out = [0u8; MECHANISM_LEN];
    let mut i = 0;
    while i < name.len() {
        out[i] = name[i];
        i += 1;
    }
    out
}

const fn is_mechanism_char(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.' | b'+')
}

impl MechanismName {
    /// The NULL mechanism (no security).
    pub const NULL: Self = Self(padded(b"NULL"));
    /// The PLAIN mechanism (RFC 24).
    pub const PLAIN: Self = Self(padded(b"PLAIN"));
    /// The CURVE mechanism (RFC 25/26).
    pub const CURVE: Self = Self(padded(b"CURVE"));

    /// A mechanism name from text; `None` unless it is 1 to 20 of `A-Z 0-9 - _ . +`.
    #[must_use]
    pub fn new(name: &str) -> Option<Self> {
        let name = name.as_bytes();
        if name.is_empty()
            || name.len() > MECHANISM_LEN
            || !name.iter().all(|&c| is_mechanism_char(c))
        {
            return None;
        }
        Some(Self(padded(name)))
    }

    /// Validates the 20 octets of a greeting's mechanism field: at least one valid character,
    /// then only NUL padding.
    #[must_use]
    pub fn from_wire(raw: &[u8; MECHANISM_LEN]) -> Option<Self> {
        let len = raw.iter().position(|&c| c == 0).unwrap_or(MECHANISM_LEN);
        let (name, padding) = raw.split_at(len);
        if name.is_empty()
            || !name.iter().all(|&c| is_mechanism_char(c))
            || padding.iter().any(|&c| c != 0)
        {
            return None;
        }
        Some(Self(*raw))
    }

    /// The name without its NUL padding, e.g. `"NULL"`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&c| c == 0).unwrap_or(MECHANISM_LEN);
        // Only ASCII can be stored, so this cannot fail.
        std::str::from_utf8(&self.0[..len]).unwrap_or_default()
    }

    /// The 20 octets as sent in the greeting.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; MECHANISM_LEN] {
        &self.0
    }
}

impl fmt::Debug for MechanismName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MechanismName({})", self.as_str())
    }
}

impl fmt::Display for MechanismName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ZMTP 3.x greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Greeting {
    /// Major version (3).
    pub major: u8,
    /// Minor version (1 for ZMTP 3.1, 0 for 3.0).
    pub minor: u8,
    /// The security mechanism.
    pub mechanism: MechanismName,
    /// The as-server flag. Informational only: libzmq always sends 0, so roles come from the
    /// local configuration.
    pub as_server: bool,
}

impl Greeting {
    /// Our ZMTP 3.1 greeting.
    #[must_use]
    pub fn ours(mechanism: MechanismName, as_server: bool) -> Self {
        Self {
            major: VERSION_MAJOR,
            minor: VERSION_MINOR,
            mechanism,
            as_server,
        }
    }

    /// The 64 octets on the wire (padding and filler are zeros).
    #[must_use]
    pub fn encode(&self) -> [u8; GREETING_LEN] {
        let mut out = [0u8; GREETING_LEN];
        out[0] = 0xFF;
        out[9] = 0x7F;
        out[OFFSET_MAJOR] = self.major;
        out[OFFSET_MINOR] = self.minor;
        out[OFFSET_MECHANISM..OFFSET_AS_SERVER].copy_from_slice(self.mechanism.as_bytes());
        out[OFFSET_AS_SERVER] = u8::from(self.as_server);
        out
    }

    /// Validates the part of a greeting received so far, so that a non-ZMTP or too-old peer
    /// is rejected without waiting for 64 octets: octet 0 as soon as it arrives, octet 9 once
    /// ten octets are in, the major version once eleven are.
    pub fn check_prefix(partial: &[u8]) -> Result<(), ZmtpError> {
        if partial.first().is_some_and(|&b| b != 0xFF) {
            return Err(ZmtpError::BadSignature);
        }
        if partial.get(9).is_some_and(|&b| b & 1 == 0) {
            return Err(ZmtpError::BadSignature);
        }
        match partial.get(OFFSET_MAJOR) {
            Some(&major) if major < VERSION_MAJOR => Err(ZmtpError::UnsupportedVersion {
                major,
                minor: partial.get(OFFSET_MINOR).copied().unwrap_or(0),
            }),
            _ => Ok(()),
        }
    }

    /// Parses a whole greeting. Any major version from 3 on and any minor are accepted; the
    /// padding and filler are ignored; any non-zero as-server octet counts as set.
    pub fn parse(bytes: &[u8; GREETING_LEN]) -> Result<Greeting, ZmtpError> {
        Self::check_prefix(bytes)?;
        let mut raw = [0u8; MECHANISM_LEN];
        raw.copy_from_slice(&bytes[OFFSET_MECHANISM..OFFSET_AS_SERVER]);
        let mechanism = MechanismName::from_wire(&raw).ok_or(ZmtpError::BadMechanismName)?;
        Ok(Greeting {
            major: bytes[OFFSET_MAJOR],
            minor: bytes[OFFSET_MINOR],
            mechanism,
            as_server: bytes[OFFSET_AS_SERVER] != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::command::tests::hex;

    const RFC_GREETING: &str = "ff 00 00 00 00 00 00 00 00 7f 03 01 4e 55 4c 4c 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";

    fn array(v: &[u8]) -> [u8; GREETING_LEN] {
        v.try_into().expect("64 octets")
    }

    #[test]
    fn encodes_the_rfc_example() {
        let wire = hex(RFC_GREETING);
        assert_eq!(
            Greeting::ours(MechanismName::NULL, false).encode(),
            &wire[..]
        );
        assert_eq!(
            Greeting::parse(&array(&wire)),
            Ok(Greeting::ours(MechanismName::NULL, false))
        );
        let curve = Greeting::ours(MechanismName::CURVE, true).encode();
        assert_eq!(&curve[12..17], b"CURVE");
        assert_eq!(curve[32], 1);
    }

    #[test]
    fn accepts_libzmq_padding_and_other_versions() {
        // libzmq: identity "abc" -> padding 00..04; no identity -> 00..01; 3.0 (testutil) and 3.1.
        for (pad, minor) in [(4u8, 1u8), (1, 1), (1, 0)] {
            let mut g = hex(RFC_GREETING);
            g[8] = pad;
            g[11] = minor;
            let parsed = Greeting::parse(&array(&g)).unwrap();
            assert_eq!((parsed.major, parsed.minor), (3, minor));
            assert_eq!(parsed.mechanism, MechanismName::NULL);
            assert!(!parsed.as_server);
        }
        // Arbitrary padding and filler, a future 4.7.
        let mut g = [0xAAu8; GREETING_LEN];
        g[0] = 0xFF;
        g[9] = 0x7F;
        g[10] = 4;
        g[11] = 7;
        g[12..32].copy_from_slice(MechanismName::PLAIN.as_bytes());
        g[32] = 1;
        let parsed = Greeting::parse(&g).unwrap();
        assert_eq!((parsed.major, parsed.minor), (4, 7));
        assert_eq!(parsed.mechanism.as_str(), "PLAIN");
        assert!(parsed.as_server);
    }

    #[test]
    fn rejects_non_zmtp_and_old_peers_early() {
        assert_eq!(Greeting::check_prefix(b"G"), Err(ZmtpError::BadSignature));
        assert_eq!(
            Greeting::check_prefix(b"GET / HTTP/1.1\r\n"),
            Err(ZmtpError::BadSignature)
        );
        // ZMTP 1.0 long-length frame: 0xFF, 8 octets of length, flags with the low bit clear.
        assert_eq!(
            Greeting::check_prefix(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x00]),
            Err(ZmtpError::BadSignature)
        );
        // ZMTP 2.0 (revision 1) is rejected at octet 11.
        let v2 = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01];
        assert_eq!(Greeting::check_prefix(&v2[..10]), Ok(()));
        assert_eq!(
            Greeting::check_prefix(&v2),
            Err(ZmtpError::UnsupportedVersion { major: 1, minor: 0 })
        );
        // Prefixes of a good greeting are fine at every length.
        let good = hex(RFC_GREETING);
        for n in 0..=GREETING_LEN {
            assert_eq!(Greeting::check_prefix(&good[..n]), Ok(()));
        }
    }

    #[test]
    fn mechanism_names() {
        assert_eq!(MechanismName::new("NULL"), Some(MechanismName::NULL));
        assert_eq!(
            MechanismName::new("CURVE").map(|m| m.to_string()),
            Some("CURVE".into())
        );
        assert_eq!(MechanismName::new("GSSAPI").unwrap().as_str(), "GSSAPI");
        assert_eq!(
            MechanismName::new("X-1_2.3+"),
            MechanismName::new("X-1_2.3+")
        );
        for bad in ["", "null", "A B", "ABCDEFGHIJKLMNOPQRSTU", "NUL\0"] {
            assert_eq!(MechanismName::new(bad), None, "{bad:?}");
        }
        let mut g = hex(RFC_GREETING);
        g[16] = b'x';
        assert_eq!(
            Greeting::parse(&array(&g)),
            Err(ZmtpError::BadMechanismName)
        );
        let mut g = hex(RFC_GREETING);
        g[17] = b'X'; // a character after the NUL padding started
        assert_eq!(
            Greeting::parse(&array(&g)),
            Err(ZmtpError::BadMechanismName)
        );
        let mut g = hex(RFC_GREETING);
        g[12..16].fill(0);
        assert_eq!(
            Greeting::parse(&array(&g)),
            Err(ZmtpError::BadMechanismName)
        );
    }
}
