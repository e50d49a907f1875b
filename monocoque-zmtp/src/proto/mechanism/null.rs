//! The NULL mechanism (RFC 23): no security, READY both ways.

use super::{HandshakeContext, Mechanism, MechanismStatus, local_metadata};
use crate::proto::command::Command;
use crate::proto::error::ZmtpError;
use crate::proto::greeting::MechanismName;

/// The NULL mechanism (no security): send READY with our metadata, wait for the peer's READY.
/// An ERROR from the peer fails with [`ZmtpError::PeerError`]; any other command with
/// [`ZmtpError::UnexpectedCommand`].
#[derive(Debug, Default, Clone)]
pub struct NullMechanism;

impl NullMechanism {
    /// The NULL mechanism.
    #[must_use]
    pub fn new() -> Self {
        Self
    }
}

impl Mechanism for NullMechanism {
    fn name(&self) -> MechanismName {
        MechanismName::NULL
    }

    fn start(
        &mut self,
        ctx: &HandshakeContext<'_>,
        out: &mut Vec<Command>,
    ) -> Result<(), ZmtpError> {
        out.push(Command::Ready(local_metadata(ctx)));
        Ok(())
    }

    fn on_command(
        &mut self,
        _ctx: &HandshakeContext<'_>,
        cmd: Command,
        _out: &mut Vec<Command>,
    ) -> Result<MechanismStatus, ZmtpError> {
        match cmd {
            Command::Ready(peer_properties) => Ok(MechanismStatus::Done { peer_properties }),
            Command::Error { reason } => Err(ZmtpError::PeerError(
                String::from_utf8_lossy(&reason).into_owned(),
            )),
            other => Err(ZmtpError::UnexpectedCommand(
                String::from_utf8_lossy(other.name()).into_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::command::Properties;
    use crate::proto::greeting::Greeting;
    use bytes::Bytes;
    use monocoque_core::SocketType;

    fn ctx(greeting: &Greeting) -> HandshakeContext<'_> {
        HandshakeContext {
            socket_type: SocketType::Push,
            routing_id: None,
            as_server: false,
            peer_greeting: greeting,
        }
    }

    #[test]
    fn null_mechanism_flow() {
        let g = Greeting::ours(MechanismName::NULL, false);
        let c = ctx(&g);
        let mut m = NullMechanism::new();
        let mut out = Vec::new();
        m.start(&c, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name(), b"READY");
        assert!(m.take_codec().is_none());

        let mut props = Properties::new();
        props.insert("Socket-Type", "PULL");
        assert_eq!(
            m.on_command(&c, Command::Ready(props.clone()), &mut out),
            Ok(MechanismStatus::Done {
                peer_properties: props
            })
        );
        assert_eq!(
            m.on_command(
                &c,
                Command::Error {
                    reason: Bytes::from_static(b"go away")
                },
                &mut out
            ),
            Err(ZmtpError::PeerError("go away".into()))
        );
        assert_eq!(
            m.on_command(&c, Command::Subscribe(Bytes::new()), &mut out),
            Err(ZmtpError::UnexpectedCommand("SUBSCRIBE".into()))
        );
    }
}
