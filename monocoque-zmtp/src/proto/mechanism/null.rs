//! The NULL mechanism (RFC 23): no security, READY both ways.

use super::common::{add_zap_properties, zap_verdict};
use super::{HandshakeContext, Mechanism, MechanismStatus, local_metadata};
use crate::proto::command::{Command, Properties};
use crate::proto::error::ZmtpError;
use crate::proto::greeting::MechanismName;
use crate::proto::zap::{Credentials, ZapReply};

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

/// NULL with authentication (ZAP_DOMAIN set, as libzmq does it): the peer's READY goes to the
/// authenticator (with no credentials: the address and domain decide), and ours follows only
/// once it allowed the peer.
#[derive(Debug, Default)]
pub struct AuthenticatedNull {
    peer_properties: Option<Properties>,
}

impl AuthenticatedNull {
    /// The mechanism for one connection.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl Mechanism for AuthenticatedNull {
    fn name(&self) -> MechanismName {
        MechanismName::NULL
    }

    fn start(
        &mut self,
        _ctx: &HandshakeContext<'_>,
        _out: &mut Vec<Command>,
    ) -> Result<(), ZmtpError> {
        Ok(())
    }

    fn on_command(
        &mut self,
        ctx: &HandshakeContext<'_>,
        cmd: Command,
        out: &mut Vec<Command>,
    ) -> Result<MechanismStatus, ZmtpError> {
        match NullMechanism.on_command(ctx, cmd, out)? {
            MechanismStatus::Done { peer_properties } if self.peer_properties.is_none() => {
                self.peer_properties = Some(peer_properties);
                Ok(MechanismStatus::Authenticate(Credentials {
                    mechanism: MechanismName::NULL,
                    credentials: Vec::new(),
                }))
            }
            _ => Err(ZmtpError::UnexpectedCommand("READY".into())),
        }
    }

    fn on_zap_reply(
        &mut self,
        ctx: &HandshakeContext<'_>,
        reply: ZapReply,
        out: &mut Vec<Command>,
    ) -> Result<MechanismStatus, ZmtpError> {
        let Some(mut peer_properties) = self.peer_properties.take() else {
            return Err(ZmtpError::Mechanism(
                "an authentication reply came too early".into(),
            ));
        };
        zap_verdict(&reply, out)?;
        add_zap_properties(&mut peer_properties, &reply.user_id, &reply.metadata);
        out.push(Command::Ready(local_metadata(ctx)));
        Ok(MechanismStatus::Done { peer_properties })
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

    #[test]
    fn authenticated_null_waits_for_the_verdict_before_ready() {
        let g = Greeting::ours(MechanismName::NULL, false);
        let c = ctx(&g);
        let mut m = AuthenticatedNull::new();
        let mut out = Vec::new();
        m.start(&c, &mut out).unwrap();
        assert!(out.is_empty(), "no READY before the verdict");
        let mut props = Properties::new();
        props.insert("Socket-Type", "PULL");
        let status = m.on_command(&c, Command::Ready(props), &mut out).unwrap();
        assert!(matches!(status, MechanismStatus::Authenticate(ref c) if c.credentials.is_empty()));
        let done = m
            .on_zap_reply(&c, crate::proto::ZapReply::allow("10.0.0.1"), &mut out)
            .unwrap();
        let MechanismStatus::Done { peer_properties } = done else {
            panic!("{done:?}");
        };
        assert_eq!(peer_properties.get("User-Id").unwrap(), "10.0.0.1");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name(), b"READY");

        let mut m = AuthenticatedNull::new();
        let mut out = Vec::new();
        m.on_command(&c, Command::Ready(Properties::new()), &mut out)
            .unwrap();
        let refused = m.on_zap_reply(
            &c,
            crate::proto::ZapReply::deny(crate::proto::ZapStatus::AuthenticationFailure, "no"),
            &mut out,
        );
        assert!(refused.unwrap_err().is_authentication_failure());
        assert_eq!(out[0].name(), b"ERROR");
        let _ = Bytes::new();
    }
}
