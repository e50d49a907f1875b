//! The PLAIN mechanism (RFC 24): a user name and password in the clear, checked by the server's
//! authenticator.
//!
//! ```text
//! client                                  server
//! HELLO(username, password)  ──────────>  (authenticator: 200 allow / 300 / 400 / 500)
//!                            <──────────  WELCOME           (or ERROR "400"/"500"; 300: close)
//! INITIATE(metadata)         ──────────>
//!                            <──────────  READY(metadata)
//! ```
//!
//! A server without an authenticator refuses every user (without sending ERROR), as libzmq
//! 4.3.5 does when no ZAP handler is bound: PLAIN credentials are meaningless unchecked.

use super::common::{add_zap_properties, command, refused, unexpected, zap_verdict};
use super::{HandshakeContext, Mechanism, MechanismStatus, local_metadata};
use crate::proto::command::{Command, Properties};
use crate::proto::error::ZmtpError;
use crate::proto::greeting::MechanismName;
use crate::proto::zap::{Credentials, ZapReply};
use bytes::{BufMut, Bytes, BytesMut};
use monocoque_core::Password;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// What the client waits for next.
enum ClientState {
    Welcome,
    Ready,
}

/// A PLAIN client: sends its credentials, then its metadata.
#[derive(Debug)]
pub struct PlainClient {
    username: Bytes,
    password: Password,
    state: ClientState,
}

impl PlainClient {
    /// A client with these credentials (each at most 255 octets; longer ones are cut, the
    /// socket options refuse them before they get here).
    #[must_use]
    pub fn new(username: Bytes, password: Password) -> Self {
        Self {
            username,
            password,
            state: ClientState::Welcome,
        }
    }

    fn hello(&self) -> Command {
        let user = &self.username[..self.username.len().min(255)];
        let pass = self.password.as_bytes();
        let pass = &pass[..pass.len().min(255)];
        let mut data = BytesMut::with_capacity(2 + user.len() + pass.len());
        data.put_u8(user.len() as u8);
        data.put_slice(user);
        data.put_u8(pass.len() as u8);
        data.put_slice(pass);
        command(b"HELLO", data.freeze())
    }
}

impl Mechanism for PlainClient {
    fn name(&self) -> MechanismName {
        MechanismName::PLAIN
    }

    fn start(
        &mut self,
        _ctx: &HandshakeContext<'_>,
        out: &mut Vec<Command>,
    ) -> Result<(), ZmtpError> {
        out.push(self.hello());
        Ok(())
    }

    fn on_command(
        &mut self,
        ctx: &HandshakeContext<'_>,
        cmd: Command,
        out: &mut Vec<Command>,
    ) -> Result<MechanismStatus, ZmtpError> {
        match (self.state, cmd) {
            (_, Command::Error { reason }) => Err(refused(&reason)),
            (ClientState::Welcome, Command::Unknown { name, data }) if &name[..] == b"WELCOME" => {
                if !data.is_empty() {
                    return Err(ZmtpError::MalformedCommand("PLAIN WELCOME carries no data"));
                }
                let mut metadata = BytesMut::new();
                local_metadata(ctx).encode(&mut metadata);
                out.push(command(b"INITIATE", metadata.freeze()));
                self.state = ClientState::Ready;
                Ok(MechanismStatus::InProgress)
            }
            (ClientState::Ready, Command::Ready(peer_properties)) => {
                Ok(MechanismStatus::Done { peer_properties })
            }
            (_, other) => Err(unexpected(&other)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// What the server waits for next.
enum ServerState {
    Hello,
    ZapReply,
    Initiate,
}

/// A PLAIN server: hands the client's credentials to its authenticator (if it has one), then
/// trades metadata.
#[derive(Debug)]
pub struct PlainServer {
    authenticate: bool,
    state: ServerState,
    user_id: Bytes,
    zap_metadata: Properties,
}

impl PlainServer {
    /// A server; with `authenticate`, the session asks for a verdict on each client's
    /// credentials ([`MechanismStatus::Authenticate`]); without it every client is refused.
    #[must_use]
    pub fn new(authenticate: bool) -> Self {
        Self {
            authenticate,
            state: ServerState::Hello,
            user_id: Bytes::new(),
            zap_metadata: Properties::new(),
        }
    }

    /// HELLO's data: username-len username password-len password, nothing after.
    fn parse_hello(data: &Bytes) -> Result<Vec<Bytes>, ZmtpError> {
        let malformed =
            || ZmtpError::MalformedCommand("PLAIN HELLO is not two length-prefixed strings");
        let mut at = 0;
        let mut fields = Vec::with_capacity(2);
        for _ in 0..2 {
            let len = usize::from(*data.get(at).ok_or_else(malformed)?);
            let end = at + 1 + len;
            if end > data.len() {
                return Err(malformed());
            }
            fields.push(data.slice(at + 1..end));
            at = end;
        }
        if at != data.len() {
            return Err(malformed());
        }
        Ok(fields)
    }
}

impl Mechanism for PlainServer {
    fn name(&self) -> MechanismName {
        MechanismName::PLAIN
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
        match (self.state, cmd) {
            (ServerState::Hello, Command::Unknown { name, data }) if &name[..] == b"HELLO" => {
                let credentials = Self::parse_hello(&data)?;
                if self.authenticate {
                    self.state = ServerState::ZapReply;
                    return Ok(MechanismStatus::Authenticate(Credentials {
                        mechanism: MechanismName::PLAIN,
                        credentials,
                    }));
                }
                Err(ZmtpError::Authentication(
                    "a PLAIN server needs a ZAP handler to check passwords".into(),
                ))
            }
            (ServerState::Initiate, Command::Unknown { name, data })
                if &name[..] == b"INITIATE" =>
            {
                let mut peer_properties = Properties::parse_bytes(data)?;
                out.push(Command::Ready(local_metadata(ctx)));
                add_zap_properties(&mut peer_properties, &self.user_id, &self.zap_metadata);
                Ok(MechanismStatus::Done { peer_properties })
            }
            (_, Command::Error { reason }) => Err(ZmtpError::PeerError(
                String::from_utf8_lossy(&reason).into_owned(),
            )),
            (_, other) => Err(unexpected(&other)),
        }
    }

    fn on_zap_reply(
        &mut self,
        _ctx: &HandshakeContext<'_>,
        reply: ZapReply,
        out: &mut Vec<Command>,
    ) -> Result<MechanismStatus, ZmtpError> {
        if self.state == ServerState::Initiate {
            return Err(ZmtpError::Mechanism("a second authentication reply".into()));
        }
        zap_verdict(&reply, out)?;
        self.user_id = reply.user_id;
        self.zap_metadata = reply.metadata;
        out.push(command(b"WELCOME", Bytes::new()));
        self.state = ServerState::Initiate;
        Ok(MechanismStatus::InProgress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::greeting::Greeting;
    use crate::proto::zap::ZapStatus;
    use monocoque_core::SocketType;

    fn ctx(socket_type: SocketType, greeting: &Greeting) -> HandshakeContext<'_> {
        HandshakeContext {
            socket_type,
            routing_id: None,
            as_server: false,
            peer_greeting: greeting,
        }
    }

    fn reparse(cmd: &Command) -> Command {
        let mut body = BytesMut::new();
        cmd.encode_body(&mut body);
        Command::parse(body.freeze()).unwrap()
    }

    type Status = Result<MechanismStatus, ZmtpError>;

    /// Runs client and server against each other, answering the server's credentials with
    /// `verdict`; returns both results.
    fn run(verdict: Option<ZapReply>) -> (Status, Status, Vec<Vec<u8>>) {
        let g = Greeting::ours(MechanismName::PLAIN, false);
        let (cc, sc) = (ctx(SocketType::Push, &g), ctx(SocketType::Pull, &g));
        let mut client = PlainClient::new(Bytes::from_static(b"admin"), Password::from("secret"));
        let mut server = PlainServer::new(verdict.is_some());
        let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
        client.start(&cc, &mut to_server).unwrap();
        server.start(&sc, &mut to_client).unwrap();
        assert!(to_client.is_empty(), "the server speaks only after HELLO");
        let mut wire = Vec::new();
        let mut server_status = Ok(MechanismStatus::InProgress);
        let mut client_status = Ok(MechanismStatus::InProgress);
        for _ in 0..4 {
            for cmd in to_server.drain(..) {
                let mut body = BytesMut::new();
                cmd.encode_body(&mut body);
                wire.push(body.to_vec());
                server_status = server.on_command(&sc, reparse(&cmd), &mut to_client);
                if let (Ok(MechanismStatus::Authenticate(creds)), Some(v)) =
                    (&server_status, &verdict)
                {
                    assert_eq!(creds.credentials, [&b"admin"[..], b"secret"]);
                    server_status = server.on_zap_reply(&sc, v.clone(), &mut to_client);
                }
            }
            for cmd in to_client.drain(..) {
                client_status = client.on_command(&cc, reparse(&cmd), &mut to_server);
            }
            if server_status.is_err() {
                break;
            }
        }
        (client_status, server_status, wire)
    }

    #[test]
    fn hello_welcome_initiate_ready() {
        let (client, server, wire) = run(Some(ZapReply::allow("admin-user")));
        assert_eq!(wire[0], b"\x05HELLO\x05admin\x06secret");
        assert!(wire[1].starts_with(b"\x08INITIATE\x0bSocket-Type\x00\x00\x00\x04PUSH"));
        let Ok(MechanismStatus::Done { peer_properties }) = server else {
            panic!("server: {server:?}");
        };
        assert_eq!(peer_properties.get("Socket-Type").unwrap(), "PUSH");
        assert_eq!(peer_properties.get("User-Id").unwrap(), "admin-user");
        let Ok(MechanismStatus::Done { peer_properties }) = client else {
            panic!("client: {client:?}");
        };
        assert_eq!(peer_properties.get("Socket-Type").unwrap(), "PULL");
    }

    #[test]
    fn without_an_authenticator_nobody_is_welcome() {
        let (client, server, wire) = run(None);
        assert!(server.unwrap_err().is_authentication_failure());
        assert_eq!(wire.len(), 1, "only HELLO went out");
        assert!(matches!(client, Ok(MechanismStatus::InProgress)));
    }

    #[test]
    fn refusals_follow_libzmq() {
        for (status, error_sent) in [
            (ZapStatus::AuthenticationFailure, Some("400")),
            (ZapStatus::InternalError, Some("500")),
            (ZapStatus::TemporaryError, None),
        ] {
            let mut out = Vec::new();
            let mut server = PlainServer::new(true);
            let g = Greeting::ours(MechanismName::PLAIN, false);
            let c = ctx(SocketType::Pull, &g);
            let hello = command(b"HELLO", Bytes::from_static(b"\x01u\x01p"));
            assert!(matches!(
                server.on_command(&c, hello, &mut out),
                Ok(MechanismStatus::Authenticate(_))
            ));
            let err = server
                .on_zap_reply(&c, ZapReply::deny(status, "no"), &mut out)
                .unwrap_err();
            assert!(err.is_authentication_failure(), "{err}");
            let sent: Vec<_> = out
                .iter()
                .map(|c| match c {
                    Command::Error { reason } => String::from_utf8_lossy(reason).into_owned(),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(sent.first().map(String::as_str), error_sent);
        }
        // The client reports the server's ERROR as an authentication failure.
        let (client, server, _) = run(Some(ZapReply::deny(ZapStatus::AuthenticationFailure, "")));
        assert!(server.unwrap_err().is_authentication_failure());
        assert_eq!(client, Err(ZmtpError::Authentication("400".into())));
    }

    #[test]
    fn malformed_hello_is_a_protocol_error() {
        let g = Greeting::ours(MechanismName::PLAIN, false);
        let c = ctx(SocketType::Pull, &g);
        for data in [
            &b""[..],
            b"\x05ab",
            b"\x01a",
            b"\x01a\x01bEXTRA",
            b"\x01a\x05b",
        ] {
            let mut server = PlainServer::new(false);
            let hello = command(b"HELLO", Bytes::copy_from_slice(data));
            let err = server.on_command(&c, hello, &mut Vec::new()).unwrap_err();
            assert!(
                matches!(err, ZmtpError::MalformedCommand(_)),
                "{data:?}: {err}"
            );
        }
        let mut server = PlainServer::new(false);
        let err = server
            .on_command(&c, Command::Ready(Properties::new()), &mut Vec::new())
            .unwrap_err();
        assert_eq!(err, ZmtpError::UnexpectedCommand("READY".into()));
    }
}
