//! What a server mechanism asks its authenticator, and the answer (ZAP, RFC 27).
//!
//! A PLAIN or CURVE server that has an authenticator stops its handshake once it knows the
//! client's credentials: the [`Session`](super::Session) reports
//! [`Event::Authenticate`](super::Event::Authenticate) with [`Credentials`], the engine asks the
//! ZAP handler (adding what only it knows: domain, address, routing id), and hands the
//! [`ZapReply`] back with [`Session::authenticated`](super::Session::authenticated). The
//! protocol core never waits itself, so the whole exchange is tested without I/O.

use super::command::Properties;
use super::greeting::MechanismName;
use bytes::Bytes;
use std::fmt;

/// The client's credentials, as a server mechanism learned them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The mechanism (ZAP's "Mechanism" frame).
    pub mechanism: MechanismName,
    /// ZAP's credential frames: PLAIN's user name and password, CURVE's 32-octet client public
    /// key, none for NULL.
    pub credentials: Vec<Bytes>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A PLAIN password must not reach a log through Debug.
        let shown: Vec<_> = match self.mechanism {
            MechanismName::PLAIN => self
                .credentials
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        String::from_utf8_lossy(c).into_owned()
                    } else {
                        "<redacted>".to_owned()
                    }
                })
                .collect(),
            _ => self
                .credentials
                .iter()
                .map(|c| format!("{} octets", c.len()))
                .collect(),
        };
        f.debug_struct("Credentials")
            .field("mechanism", &self.mechanism)
            .field("credentials", &shown)
            .finish()
    }
}

/// A ZAP status code, with libzmq's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZapStatus {
    /// 200: the client is allowed.
    Success,
    /// 300: a temporary failure: the server closes the connection without sending ERROR.
    TemporaryError,
    /// 400: the client is refused: the server sends ERROR "400" and closes.
    AuthenticationFailure,
    /// 500: the handler failed: the server sends ERROR "500" and closes.
    InternalError,
}

impl ZapStatus {
    /// The three-digit code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            ZapStatus::Success => "200",
            ZapStatus::TemporaryError => "300",
            ZapStatus::AuthenticationFailure => "400",
            ZapStatus::InternalError => "500",
        }
    }

    /// Reads a status code frame; anything but the four codes is `None` (libzmq treats such a
    /// reply as a failure of the handler).
    #[must_use]
    pub fn from_code(code: &[u8]) -> Option<Self> {
        Some(match code {
            b"200" => ZapStatus::Success,
            b"300" => ZapStatus::TemporaryError,
            b"400" => ZapStatus::AuthenticationFailure,
            b"500" => ZapStatus::InternalError,
            _ => return None,
        })
    }
}

/// The authenticator's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapReply {
    /// Allowed or not, and how to refuse.
    pub status: ZapStatus,
    /// Text for logs.
    pub status_text: Bytes,
    /// The user id the connection's messages carry as their `User-Id` property.
    pub user_id: Bytes,
    /// Extra properties the connection's messages carry.
    pub metadata: Properties,
}

impl ZapReply {
    /// A 200 reply with this user id.
    #[must_use]
    pub fn allow(user_id: impl Into<Bytes>) -> Self {
        Self {
            status: ZapStatus::Success,
            status_text: Bytes::from_static(b"OK"),
            user_id: user_id.into(),
            metadata: Properties::new(),
        }
    }

    /// A refusal with this status (not [`ZapStatus::Success`]).
    #[must_use]
    pub fn deny(status: ZapStatus, text: impl Into<Bytes>) -> Self {
        Self {
            status,
            status_text: text.into(),
            user_id: Bytes::new(),
            metadata: Properties::new(),
        }
    }
}
