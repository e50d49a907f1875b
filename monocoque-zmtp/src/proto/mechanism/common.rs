//! What the mechanisms share: building and refusing handshake commands, and applying an
//! authenticator's verdict the way libzmq does.

use super::USER_ID;
use crate::proto::command::{Command, Properties};
use crate::proto::error::ZmtpError;
use crate::proto::zap::{ZapReply, ZapStatus};
use bytes::Bytes;

/// A mechanism command (HELLO, WELCOME, ...) with this name and data.
pub(super) fn command(name: &'static [u8], data: Bytes) -> Command {
    Command::Unknown {
        name: Bytes::from_static(name),
        data,
    }
}

/// The error for a command not allowed at this point.
pub(super) fn unexpected(cmd: &Command) -> ZmtpError {
    ZmtpError::UnexpectedCommand(String::from_utf8_lossy(cmd.name()).into_owned())
}

/// An ERROR from the server during the handshake: libzmq sends the ZAP status code as reason.
pub(super) fn refused(reason: &Bytes) -> ZmtpError {
    ZmtpError::Authentication(String::from_utf8_lossy(reason).into_owned())
}

/// Applies a ZAP verdict as libzmq does: 200 goes on; 300 closes without ERROR; 400 and 500
/// send ERROR with the status code as reason. Either refusal is an authentication failure.
pub(super) fn zap_verdict(reply: &ZapReply, out: &mut Vec<Command>) -> Result<(), ZmtpError> {
    if reply.status == ZapStatus::Success {
        return Ok(());
    }
    if reply.status != ZapStatus::TemporaryError {
        out.push(Command::Error {
            reason: Bytes::from_static(reply.status.code().as_bytes()),
        });
    }
    Err(ZmtpError::Authentication(format!(
        "{} {}",
        reply.status.code(),
        String::from_utf8_lossy(&reply.status_text)
    )))
}

/// The authenticator's user id (as `User-Id`, when not empty) and metadata, added to the
/// peer's properties; they override what the peer sent under the same names.
pub(super) fn add_zap_properties(props: &mut Properties, user_id: &Bytes, metadata: &Properties) {
    for (name, value) in metadata.iter() {
        props.insert(name, value.clone());
    }
    if !user_id.is_empty() {
        props.insert(USER_ID, user_id.clone());
    }
}
