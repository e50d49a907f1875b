//! Protocol errors.
//!
//! Every [`ZmtpError`] is fatal for the connection it came from: the engine should flush whatever
//! the session queued (an ERROR command, for example) and close the connection.

use monocoque_core::SocketType;
use std::fmt;

/// What went wrong on a ZMTP connection. All of these close the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZmtpError {
    /// The peer's greeting does not start with the ZMTP signature (octet 0 must be `0xFF` and
    /// octet 9 must have its low bit set): the peer does not speak ZMTP 2.0 or later.
    BadSignature,
    /// The peer greeted with a major version below 3 (ZMTP 1.0 / 2.0 are not supported).
    UnsupportedVersion {
        /// The peer's major version (octet 10 of its greeting).
        major: u8,
        /// The peer's minor version (octet 11), or 0 if it had not arrived.
        minor: u8,
    },
    /// The peer's greeting names another security mechanism than ours.
    MechanismMismatch {
        /// Our mechanism.
        ours: String,
        /// The peer's mechanism.
        theirs: String,
    },
    /// The mechanism name in the peer's greeting is not `A-Z 0-9 - _ . +`, NUL-padded.
    BadMechanismName,
    /// A frame had one of the reserved flag bits (7 to 3) set; the value is the flags octet.
    ReservedFlags(u8),
    /// A command frame had the MORE flag set.
    CommandWithMore,
    /// A frame header announced a body larger than allowed (MAXMSGSIZE, the handshake limit, or
    /// a long size with bit 63 set, reported with `limit = i64::MAX`).
    FrameTooLarge {
        /// The announced body size.
        size: u64,
        /// The limit it exceeds.
        limit: u64,
    },
    /// The frames of one multipart message add up to more than MAXMSGSIZE.
    MessageTooLarge {
        /// The size reached so far.
        size: u64,
        /// The limit it exceeds.
        limit: u64,
    },
    /// One multipart message has more frames than the session accepts.
    TooManyFrames {
        /// The frame-count limit.
        limit: usize,
    },
    /// A command body does not follow its grammar; the text says which part.
    MalformedCommand(&'static str),
    /// The peer sent a command that is not allowed at this point (e.g. anything but READY or
    /// ERROR during the NULL handshake); the value is the command name.
    UnexpectedCommand(String),
    /// The peer sent a message frame before the handshake had finished.
    UnexpectedMessage,
    /// The peer's Socket-Type may not talk to ours.
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// The peer's Socket-Type property, as sent.
        theirs: String,
    },
    /// The peer's metadata has no Socket-Type property.
    MissingSocketType,
    /// The peer sent an ERROR command; the value is its reason (lossy UTF-8).
    PeerError(String),
    /// A security-mechanism-specific failure (PLAIN, CURVE).
    Mechanism(String),
    /// Authentication failed: our authenticator refused the client (the value is the ZAP
    /// status code and text), or, as a client, the server sent ERROR during a PLAIN or CURVE
    /// handshake (the value is its reason, libzmq sends the status code).
    Authentication(String),
    /// A CURVE box did not open (wrong key or tampered data) or its nonce was not the next
    /// one; the text says which.
    Crypto(&'static str),
    /// The greeting and security handshake did not finish within HANDSHAKE_IVL.
    HandshakeTimeout,
    /// Nothing arrived within HEARTBEAT_TIMEOUT of our PING, or within the TTL of the peer's.
    HeartbeatTimeout,
}

impl fmt::Display for ZmtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZmtpError::BadSignature => {
                f.write_str("peer is not speaking ZMTP: bad greeting signature")
            }
            ZmtpError::UnsupportedVersion { major, minor } => write!(
                f,
                "peer speaks ZMTP revision {major}.{minor}; only ZMTP 3.x is supported"
            ),
            ZmtpError::MechanismMismatch { ours, theirs } => write!(
                f,
                "security mechanism mismatch: we use {ours}, the peer uses {theirs}"
            ),
            ZmtpError::BadMechanismName => {
                f.write_str("peer greeting has an invalid security mechanism name")
            }
            ZmtpError::ReservedFlags(flags) => {
                write!(f, "frame flags {flags:#04x} have reserved bits set")
            }
            ZmtpError::CommandWithMore => f.write_str("command frame has the MORE flag set"),
            ZmtpError::FrameTooLarge { size, limit } => {
                write!(
                    f,
                    "frame of {size} bytes exceeds the limit of {limit} bytes"
                )
            }
            ZmtpError::MessageTooLarge { size, limit } => write!(
                f,
                "multipart message of at least {size} bytes exceeds the limit of {limit} bytes"
            ),
            ZmtpError::TooManyFrames { limit } => {
                write!(f, "multipart message has more than {limit} frames")
            }
            ZmtpError::MalformedCommand(what) => write!(f, "malformed command: {what}"),
            ZmtpError::UnexpectedCommand(name) => {
                write!(f, "unexpected {name} command from peer")
            }
            ZmtpError::UnexpectedMessage => {
                f.write_str("peer sent a message before the handshake finished")
            }
            ZmtpError::IncompatibleSocketType { ours, theirs } => write!(
                f,
                "peer socket type {theirs:?} is not compatible with our {ours} socket"
            ),
            ZmtpError::MissingSocketType => {
                f.write_str("peer metadata has no Socket-Type property")
            }
            ZmtpError::PeerError(reason) => write!(f, "peer sent ERROR: {reason}"),
            ZmtpError::Mechanism(what) => write!(f, "security handshake failed: {what}"),
            ZmtpError::Authentication(why) => write!(f, "authentication failed: {why}"),
            ZmtpError::Crypto(what) => write!(f, "CURVE: {what}"),
            ZmtpError::HandshakeTimeout => {
                f.write_str("the handshake did not finish within HANDSHAKE_IVL")
            }
            ZmtpError::HeartbeatTimeout => {
                f.write_str("the peer sent nothing within the heartbeat timeout")
            }
        }
    }
}

impl ZmtpError {
    /// True for authentication failures (libzmq's HANDSHAKE_FAILED_AUTH); every other error is
    /// a protocol or transport failure.
    #[must_use]
    pub fn is_authentication_failure(&self) -> bool {
        matches!(self, ZmtpError::Authentication(_))
    }

    /// The value libzmq's HANDSHAKE_FAILED_PROTOCOL event carries for this error
    /// (`ZMQ_PROTOCOL_ERROR_*`): the closest of libzmq's codes.
    #[must_use]
    pub fn libzmq_protocol_error(&self) -> u32 {
        const ZMTP_UNSPECIFIED: u32 = 0x1000_0000;
        const ZMTP_UNEXPECTED_COMMAND: u32 = 0x1000_0001;
        const ZMTP_MALFORMED_COMMAND_UNSPECIFIED: u32 = 0x1000_0011;
        const ZMTP_MALFORMED_COMMAND_ERROR: u32 = 0x1000_0015;
        const ZMTP_INVALID_METADATA: u32 = 0x1000_0018;
        const ZMTP_CRYPTOGRAPHIC: u32 = 0x1100_0001;
        const ZMTP_MECHANISM_MISMATCH: u32 = 0x1100_0002;
        const ZAP_UNSPECIFIED: u32 = 0x2000_0000;
        match self {
            ZmtpError::MechanismMismatch { .. } | ZmtpError::BadMechanismName => {
                ZMTP_MECHANISM_MISMATCH
            }
            ZmtpError::UnexpectedCommand(_) | ZmtpError::UnexpectedMessage => {
                ZMTP_UNEXPECTED_COMMAND
            }
            ZmtpError::MalformedCommand(_) | ZmtpError::CommandWithMore => {
                ZMTP_MALFORMED_COMMAND_UNSPECIFIED
            }
            ZmtpError::PeerError(_) => ZMTP_MALFORMED_COMMAND_ERROR,
            ZmtpError::IncompatibleSocketType { .. } | ZmtpError::MissingSocketType => {
                ZMTP_INVALID_METADATA
            }
            ZmtpError::Crypto(_) => ZMTP_CRYPTOGRAPHIC,
            ZmtpError::Authentication(_) => ZAP_UNSPECIFIED,
            _ => ZMTP_UNSPECIFIED,
        }
    }

    /// The ZAP status code of an authentication failure (300, 400 or 500), when it names one:
    /// our handler's verdict, or the reason of the server's ERROR (libzmq sends the code).
    #[must_use]
    pub fn zap_status_code(&self) -> Option<u16> {
        let ZmtpError::Authentication(why) = self else {
            return None;
        };
        let code = why.get(..3)?;
        let rest_ok = why.len() == 3 || why[3..].starts_with(' ');
        match code.as_bytes() {
            [b'3'..=b'5', b'0', b'0'] if rest_ok => code.parse().ok(),
            _ => None,
        }
    }
}

impl std::error::Error for ZmtpError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_says_what_happened() {
        let e = ZmtpError::FrameTooLarge { size: 10, limit: 5 };
        assert_eq!(
            e.to_string(),
            "frame of 10 bytes exceeds the limit of 5 bytes"
        );
        let e = ZmtpError::IncompatibleSocketType {
            ours: SocketType::Dealer,
            theirs: "PUB".into(),
        };
        assert!(e.to_string().contains("\"PUB\""));
        assert!(e.to_string().contains("DEALER"));
        let e = ZmtpError::UnsupportedVersion { major: 1, minor: 0 };
        assert!(e.to_string().contains("1.0"));
    }
}
