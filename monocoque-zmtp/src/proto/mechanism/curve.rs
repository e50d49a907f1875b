//! The CURVE mechanism (RFC 25, CurveZMQ RFC 26), as libzmq 4.3 speaks it.
//!
//! ```text
//! client (C, C')                                            server (S, S', cookie key K)
//! HELLO    C', Box[64 x 0](C'->S)            ──────────>
//!                                            <──────────   WELCOME  Box[S' + cookie](S->C')
//! INITIATE cookie, Box[C + vouch + metadata](C'->S') ──>   (vouch = Box[C' + S](C->S'))
//!                                            <──────────   READY    Box[metadata](S'->C')
//! MESSAGE  Box[flags + frame](C'->S')        <─────────>   MESSAGE  Box[flags + frame](S'->C')
//! ```
//!
//! Where libzmq differs from RFC 26 (see the spec README): HELLO's padding is 72 octets; the
//! MESSAGE nonce prefixes are `CurveZMQMESSAGEC` (client to server) and `CurveZMQMESSAGES`;
//! inside a MESSAGE box, flag bit 0 is MORE and bit 1 COMMAND (PING, SUBSCRIBE, ... travel
//! boxed); the MESSAGE itself goes as a plain frame. Short nonces count from 1 on each side and
//! each received one must be larger than the last (a replay closes the connection).
//!
//! All cryptography is RustCrypto's: `crypto_box` (X25519 + XSalsa20-Poly1305, the NaCl box;
//! the shared key is computed once per key pair and kept) and `crypto_secretbox` for the cookie.
//! Transient keys and the cookie key are fresh per connection and wiped when dropped.

use super::common::{add_zap_properties, command, refused, unexpected, zap_verdict};
use super::{FrameCodec, HandshakeContext, Mechanism, MechanismStatus, local_metadata};
use crate::proto::command::{Command, Properties};
use crate::proto::error::ZmtpError;
use crate::proto::frame::{Frame, encode_frame_header, header_len};
use crate::proto::greeting::MechanismName;
use crate::proto::write_queue::WriteQueue;
use crate::proto::zap::{Credentials, ZapReply};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::rand_core::RngCore;
use crypto_box::aead::{AeadInPlace, KeyInit, OsRng};
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use crypto_secretbox::XSalsa20Poly1305;
use monocoque_core::{CurvePublicKey, CurveSecretKey};
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Octets of a box's authenticator (Poly1305 tag), which precedes the ciphertext.
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
/// HELLO's body: name, version, padding, C', short nonce, 80-octet box.
const HELLO_LEN: usize = 6 + 2 + 72 + KEY_LEN + 8 + 80;
/// WELCOME's data (after the name): long nonce and the box of S' and the cookie.
const WELCOME_DATA_LEN: usize = 16 + TAG_LEN + KEY_LEN + COOKIE_LEN;
/// The cookie: a long nonce and the secret box of C' and s'.
const COOKIE_LEN: usize = 16 + TAG_LEN + 2 * KEY_LEN;
/// The vouch: a long nonce and the box of C' and S.
const VOUCH_LEN: usize = 16 + TAG_LEN + 2 * KEY_LEN;
/// MESSAGE's body before the box: name and short nonce.
const MESSAGE_HEADER: &[u8; 8] = b"\x07MESSAGE";
/// Octets a MESSAGE adds to the frame it carries: name, short nonce, tag, flags.
const MESSAGE_OVERHEAD: usize = 8 + 8 + TAG_LEN + 1;

const FLAG_MORE: u8 = 0x01;
const FLAG_COMMAND: u8 = 0x02;

fn nonce(prefix: &[u8; 16], short: u64) -> [u8; 24] {
    let mut n = [0u8; 24];
    n[..16].copy_from_slice(prefix);
    n[16..].copy_from_slice(&short.to_be_bytes());
    n
}

fn long_nonce(prefix: &[u8; 8], random: &[u8; 16]) -> [u8; 24] {
    let mut n = [0u8; 24];
    n[..8].copy_from_slice(prefix);
    n[8..].copy_from_slice(random);
    n
}

fn random16() -> [u8; 16] {
    let mut r = [0u8; 16];
    OsRng.fill_bytes(&mut r);
    r
}

/// Appends `Box[plaintext]` (tag, then ciphertext) to `out`.
fn seal(cipher: &impl AeadInPlace, nonce: &[u8; 24], plaintext: &[u8], out: &mut BytesMut) {
    let start = out.len();
    out.put_bytes(0, TAG_LEN);
    out.put_slice(plaintext);
    let tag = cipher
        .encrypt_in_place_detached(
            GenericArray::from_slice(nonce),
            b"",
            &mut out[start + TAG_LEN..],
        )
        .expect("XSalsa20-Poly1305 seals any length");
    out[start..start + TAG_LEN].copy_from_slice(&tag);
}

/// Opens `Box[...]` (tag, then ciphertext); the plaintext, or `what` as a crypto error.
fn open(
    cipher: &impl AeadInPlace,
    nonce: &[u8; 24],
    boxed: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, ZmtpError> {
    if boxed.len() < TAG_LEN {
        return Err(ZmtpError::Crypto(what));
    }
    let (tag, ciphertext) = boxed.split_at(TAG_LEN);
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place_detached(
            GenericArray::from_slice(nonce),
            b"",
            &mut plain,
            GenericArray::from_slice(tag),
        )
        .map_err(|_| ZmtpError::Crypto(what))?;
    Ok(plain)
}

fn key_of(bytes: &[u8]) -> PublicKey {
    PublicKey::from_slice(bytes).expect("caller sliced 32 octets")
}

fn secret_key(key: &CurveSecretKey) -> SecretKey {
    SecretKey::from_bytes(*key.as_bytes())
}

/// Which way a [`CurveCodec`] faces.
#[derive(Debug, Clone, Copy)]
enum Side {
    Client,
    Server,
}

/// The MESSAGE boxes of an established CURVE connection: every frame, data or command, goes
/// inside one. The shared key (C' with S') was computed once, in the handshake.
pub struct CurveCodec {
    cipher: SalsaBox,
    send_prefix: &'static [u8; 16],
    recv_prefix: &'static [u8; 16],
    /// The short nonce of our next MESSAGE.
    next_nonce: u64,
    /// The largest short nonce received so far; the next must be larger.
    last_peer_nonce: u64,
}

impl CurveCodec {
    fn new(cipher: SalsaBox, side: Side, next_nonce: u64, last_peer_nonce: u64) -> Self {
        let (send_prefix, recv_prefix) = match side {
            Side::Client => (b"CurveZMQMESSAGEC", b"CurveZMQMESSAGES"),
            Side::Server => (b"CurveZMQMESSAGES", b"CurveZMQMESSAGEC"),
        };
        Self {
            cipher,
            send_prefix,
            recv_prefix,
            next_nonce,
            last_peer_nonce,
        }
    }
}

impl fmt::Debug for CurveCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveCodec")
            .field("next_nonce", &self.next_nonce)
            .field("last_peer_nonce", &self.last_peer_nonce)
            .finish_non_exhaustive()
    }
}

impl FrameCodec for CurveCodec {
    fn encode(&mut self, more: bool, command: bool, body: &[u8], out: &mut WriteQueue) {
        let short = self.next_nonce;
        self.next_nonce += 1;
        let n = nonce(self.send_prefix, short);
        let len = MESSAGE_OVERHEAD + body.len();
        let flags = (u8::from(more) * FLAG_MORE) | (u8::from(command) * FLAG_COMMAND);
        let cipher = &self.cipher;
        out.put_with(|buf| {
            buf.reserve(header_len(len) + len);
            // libzmq sends the MESSAGE as a plain frame (no MORE, no COMMAND flag outside).
            encode_frame_header(false, false, len, buf);
            buf.put_slice(MESSAGE_HEADER);
            buf.put_u64(short);
            let tag_at = buf.len();
            buf.put_bytes(0, TAG_LEN);
            buf.put_u8(flags);
            buf.put_slice(body);
            let tag = cipher
                .encrypt_in_place_detached(
                    GenericArray::from_slice(&n),
                    b"",
                    &mut buf[tag_at + TAG_LEN..],
                )
                .expect("XSalsa20-Poly1305 seals any length");
            buf[tag_at..tag_at + TAG_LEN].copy_from_slice(&tag);
        });
    }

    fn decode(&mut self, wire: Frame) -> Result<Frame, ZmtpError> {
        let body = wire.body;
        if body.len() < MESSAGE_OVERHEAD || !body.starts_with(MESSAGE_HEADER) {
            // libzmq: anything but a MESSAGE after the handshake is a protocol error.
            return Err(ZmtpError::MalformedCommand(
                "CURVE expects MESSAGE commands after the handshake",
            ));
        }
        let short = u64::from_be_bytes(body[8..16].try_into().expect("8 octets"));
        if short <= self.last_peer_nonce {
            return Err(ZmtpError::Crypto(
                "MESSAGE nonce is not larger than the last one",
            ));
        }
        let n = nonce(self.recv_prefix, short);
        let tag = *GenericArray::from_slice(&body[16..16 + TAG_LEN]);
        // The frame's memory is shared with the read buffer: the ciphertext is copied once,
        // into the allocation the plaintext frame keeps, and opened there.
        let mut plain = body[16 + TAG_LEN..].to_vec();
        self.cipher
            .decrypt_in_place_detached(GenericArray::from_slice(&n), b"", &mut plain, &tag)
            .map_err(|_| ZmtpError::Crypto("a MESSAGE box did not open (tampered or wrong key)"))?;
        self.last_peer_nonce = short;
        let flags = plain[0];
        let mut frame_body = Bytes::from(plain);
        // Past the flags octet: moves the start, no new allocation.
        frame_body.advance(1);
        Ok(Frame {
            more: flags & FLAG_MORE != 0,
            command: flags & FLAG_COMMAND != 0,
            body: frame_body,
        })
    }

    fn wire_overhead(&self) -> u64 {
        MESSAGE_OVERHEAD as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// What the client waits for next.
enum ClientState {
    Welcome,
    Ready,
}

/// A CURVE client: knows the server's public key, proves its own key pair.
pub struct CurveClient {
    public: PublicKey,
    secret: SecretKey,
    server: PublicKey,
    /// Our transient key pair for this connection (C', c').
    transient: SecretKey,
    /// C' with S: HELLO and WELCOME.
    hello_box: SalsaBox,
    /// C' with S', once WELCOME told us S'.
    session_box: Option<SalsaBox>,
    next_nonce: u64,
    /// The server's last short nonce (READY's).
    peer_nonce: u64,
    state: ClientState,
}

impl fmt::Debug for CurveClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveClient")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl CurveClient {
    /// A client with its long-term key pair and the server's public key; its transient key
    /// pair is generated from the OS random source.
    #[must_use]
    pub fn new(public: &CurvePublicKey, secret: &CurveSecretKey, server: &CurvePublicKey) -> Self {
        Self::with_transient(public, secret, server, SecretKey::generate(&mut OsRng))
    }

    fn with_transient(
        public: &CurvePublicKey,
        secret: &CurveSecretKey,
        server: &CurvePublicKey,
        transient: SecretKey,
    ) -> Self {
        let server = PublicKey::from(*server.as_bytes());
        Self {
            public: PublicKey::from(*public.as_bytes()),
            secret: secret_key(secret),
            hello_box: SalsaBox::new(&server, &transient),
            server,
            transient,
            session_box: None,
            next_nonce: 1,
            peer_nonce: 0,
            state: ClientState::Welcome,
        }
    }

    fn take_nonce(&mut self) -> u64 {
        let n = self.next_nonce;
        self.next_nonce += 1;
        n
    }

    fn hello(&mut self) -> Command {
        let short = self.take_nonce();
        let mut data = BytesMut::with_capacity(HELLO_LEN - 6);
        data.put_slice(&[1, 0]);
        data.put_bytes(0, 72);
        data.put_slice(self.transient.public_key().as_bytes());
        data.put_u64(short);
        seal(
            &self.hello_box,
            &nonce(b"CurveZMQHELLO---", short),
            &[0; 64],
            &mut data,
        );
        command(b"HELLO", data.freeze())
    }

    fn on_welcome(
        &mut self,
        ctx: &HandshakeContext<'_>,
        data: &[u8],
    ) -> Result<Command, ZmtpError> {
        if data.len() != WELCOME_DATA_LEN {
            return Err(ZmtpError::MalformedCommand(
                "CURVE WELCOME has the wrong size",
            ));
        }
        let random: [u8; 16] = data[..16].try_into().expect("16 octets");
        let plain = open(
            &self.hello_box,
            &long_nonce(b"WELCOME-", &random),
            &data[16..],
            "the WELCOME box did not open: is CURVE_SERVERKEY the server's key?",
        )?;
        let server_transient = key_of(&plain[..KEY_LEN]);
        let cookie = &plain[KEY_LEN..];
        let session = SalsaBox::new(&server_transient, &self.transient);

        // The vouch: our transient key and the server's key, boxed from our long-term key to
        // the server's transient key.
        let mut vouch_plain = [0u8; 2 * KEY_LEN];
        vouch_plain[..KEY_LEN].copy_from_slice(self.transient.public_key().as_bytes());
        vouch_plain[KEY_LEN..].copy_from_slice(self.server.as_bytes());
        let vouch_random = random16();
        let mut vouch = BytesMut::with_capacity(VOUCH_LEN);
        vouch.put_slice(&vouch_random);
        seal(
            &SalsaBox::new(&server_transient, &self.secret),
            &long_nonce(b"VOUCH---", &vouch_random),
            &vouch_plain,
            &mut vouch,
        );

        let mut plaintext = BytesMut::new();
        plaintext.put_slice(self.public.as_bytes());
        plaintext.put_slice(&vouch);
        local_metadata(ctx).encode(&mut plaintext);

        let short = self.take_nonce();
        let mut initiate = BytesMut::with_capacity(COOKIE_LEN + 8 + TAG_LEN + plaintext.len());
        initiate.put_slice(cookie);
        initiate.put_u64(short);
        seal(
            &session,
            &nonce(b"CurveZMQINITIATE", short),
            &plaintext,
            &mut initiate,
        );
        self.session_box = Some(session);
        Ok(command(b"INITIATE", initiate.freeze()))
    }
}

impl Mechanism for CurveClient {
    fn name(&self) -> MechanismName {
        MechanismName::CURVE
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
                out.push(self.on_welcome(ctx, &data)?);
                self.state = ClientState::Ready;
                Ok(MechanismStatus::InProgress)
            }
            (ClientState::Ready, Command::Unknown { name, data }) if &name[..] == b"READY" => {
                if data.len() < 8 + TAG_LEN {
                    return Err(ZmtpError::MalformedCommand("CURVE READY is too short"));
                }
                let short = u64::from_be_bytes(data[..8].try_into().expect("8 octets"));
                let session = self.session_box.as_ref().expect("set with INITIATE");
                let plain = open(
                    session,
                    &nonce(b"CurveZMQREADY---", short),
                    &data[8..],
                    "the READY box did not open",
                )?;
                let peer_properties = Properties::parse(&plain)?;
                self.peer_nonce = short;
                Ok(MechanismStatus::Done { peer_properties })
            }
            (_, other) => Err(unexpected(&other)),
        }
    }

    fn parse_command(&self, body: Bytes) -> Result<Command, ZmtpError> {
        parse_raw(body)
    }

    fn take_codec(&mut self) -> Option<Box<dyn FrameCodec>> {
        let cipher = self.session_box.take()?;
        Some(Box::new(CurveCodec::new(
            cipher,
            Side::Client,
            self.next_nonce,
            self.peer_nonce,
        )))
    }
}

/// CURVE's handshake commands: READY is a box, not metadata, so only ERROR is parsed; every
/// other command is handed over as its name and data.
fn parse_raw(body: Bytes) -> Result<Command, ZmtpError> {
    if body.starts_with(b"^RROR") {
        return super::parse_handshake_command(body);
    }
    let (name, data) = crate::proto::command::split_command(&body)?;
    if &name[..] == b"ERROR" {
        return Command::parse(body);
    }
    Ok(Command::Unknown { name, data })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// What the server waits for next.
enum ServerState {
    Hello,
    Initiate,
    ZapReply,
}

/// What the server learned from a valid INITIATE, kept while the authenticator decides.
struct Initiated {
    client_key: PublicKey,
    peer_properties: Properties,
}

/// A CURVE server: proves its long-term key, checks the client's vouch, and (with an
/// authenticator) asks whether the client's public key may connect.
pub struct CurveServer {
    secret: SecretKey,
    public: PublicKey,
    authenticate: bool,
    /// Our transient key pair for this connection (S', s').
    transient: SecretKey,
    /// The cookie key: fresh for every connection, never reused.
    cookie_key: Zeroizing<[u8; KEY_LEN]>,
    /// C', from HELLO.
    client_transient: Option<PublicKey>,
    /// C' with S', once HELLO told us C'.
    session_box: Option<SalsaBox>,
    peer_nonce: u64,
    initiated: Option<Initiated>,
    state: ServerState,
}

impl fmt::Debug for CurveServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveServer")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl CurveServer {
    /// A server with its long-term secret key; with `authenticate`, the session asks for a
    /// verdict on each client's public key ([`MechanismStatus::Authenticate`]), without it every
    /// client that proves its key is accepted.
    #[must_use]
    pub fn new(secret: &CurveSecretKey, authenticate: bool) -> Self {
        let mut cookie_key = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(&mut cookie_key[..]);
        let secret = secret_key(secret);
        Self {
            public: secret.public_key(),
            secret,
            authenticate,
            transient: SecretKey::generate(&mut OsRng),
            cookie_key,
            client_transient: None,
            session_box: None,
            peer_nonce: 0,
            initiated: None,
            state: ServerState::Hello,
        }
    }

    fn cookie_cipher(&self) -> XSalsa20Poly1305 {
        XSalsa20Poly1305::new(GenericArray::from_slice(&self.cookie_key[..]))
    }

    fn on_hello(&mut self, data: &[u8]) -> Result<Command, ZmtpError> {
        if data.len() != HELLO_LEN - 6 {
            return Err(ZmtpError::MalformedCommand("CURVE HELLO is not 200 octets"));
        }
        if data[..2] != [1, 0] {
            return Err(ZmtpError::MalformedCommand(
                "CURVE HELLO is not version 1.0",
            ));
        }
        let client_transient = key_of(&data[74..106]);
        let short = u64::from_be_bytes(data[106..114].try_into().expect("8 octets"));
        let hello_box = SalsaBox::new(&client_transient, &self.secret);
        open(
            &hello_box,
            &nonce(b"CurveZMQHELLO---", short),
            &data[114..],
            "the HELLO box did not open: the client has another server key",
        )?;
        self.peer_nonce = short;

        // The cookie lets a stateless server forget C' and s'; we keep them, but send and
        // check it as libzmq does.
        let mut cookie_plain = Zeroizing::new([0u8; 2 * KEY_LEN]);
        cookie_plain[..KEY_LEN].copy_from_slice(client_transient.as_bytes());
        cookie_plain[KEY_LEN..].copy_from_slice(&self.transient.to_bytes());
        let cookie_random = random16();
        let mut cookie = BytesMut::with_capacity(COOKIE_LEN);
        cookie.put_slice(&cookie_random);
        seal(
            &self.cookie_cipher(),
            &long_nonce(b"COOKIE--", &cookie_random),
            &cookie_plain[..],
            &mut cookie,
        );

        let mut welcome_plain = BytesMut::with_capacity(KEY_LEN + COOKIE_LEN);
        welcome_plain.put_slice(self.transient.public_key().as_bytes());
        welcome_plain.put_slice(&cookie);
        let welcome_random = random16();
        let mut welcome = BytesMut::with_capacity(WELCOME_DATA_LEN);
        welcome.put_slice(&welcome_random);
        seal(
            &hello_box,
            &long_nonce(b"WELCOME-", &welcome_random),
            &welcome_plain,
            &mut welcome,
        );

        self.session_box = Some(SalsaBox::new(&client_transient, &self.transient));
        self.client_transient = Some(client_transient);
        Ok(command(b"WELCOME", welcome.freeze()))
    }

    fn on_initiate(&mut self, data: &[u8]) -> Result<Initiated, ZmtpError> {
        if data.len() < COOKIE_LEN + 8 + TAG_LEN + KEY_LEN + VOUCH_LEN {
            return Err(ZmtpError::MalformedCommand("CURVE INITIATE is too short"));
        }
        let client_transient = self.client_transient.clone().expect("set with HELLO");
        // The cookie must be ours, for this client's transient key.
        let cookie_random: [u8; 16] = data[..16].try_into().expect("16 octets");
        let cookie = open(
            &self.cookie_cipher(),
            &long_nonce(b"COOKIE--", &cookie_random),
            &data[16..COOKIE_LEN],
            "the INITIATE cookie is not ours",
        )?;
        let ours_c = client_transient.as_bytes().ct_eq(&cookie[..KEY_LEN]);
        let ours_s = self.transient.to_bytes().ct_eq(&cookie[KEY_LEN..]);
        if !bool::from(ours_c & ours_s) {
            return Err(ZmtpError::Crypto(
                "the INITIATE cookie is for another connection",
            ));
        }
        let short = u64::from_be_bytes(data[COOKIE_LEN..COOKIE_LEN + 8].try_into().expect("8"));
        if short <= self.peer_nonce {
            return Err(ZmtpError::Crypto(
                "INITIATE nonce is not larger than HELLO's",
            ));
        }
        let session = self.session_box.as_ref().expect("set with HELLO");
        let plain = open(
            session,
            &nonce(b"CurveZMQINITIATE", short),
            &data[COOKIE_LEN + 8..],
            "the INITIATE box did not open",
        )?;
        self.peer_nonce = short;

        // The vouch proves that the owner of C sent C' to us (S).
        let client_key = key_of(&plain[..KEY_LEN]);
        let vouch = &plain[KEY_LEN..KEY_LEN + VOUCH_LEN];
        let vouch_random: [u8; 16] = vouch[..16].try_into().expect("16 octets");
        let vouched = open(
            &SalsaBox::new(&client_key, &self.transient),
            &long_nonce(b"VOUCH---", &vouch_random),
            &vouch[16..],
            "the vouch did not open: the client does not own its key",
        )?;
        let same_c = client_transient.as_bytes().ct_eq(&vouched[..KEY_LEN]);
        let same_s = self.public.as_bytes().ct_eq(&vouched[KEY_LEN..]);
        if !bool::from(same_c & same_s) {
            return Err(ZmtpError::Crypto(
                "the vouch is for another connection or server",
            ));
        }
        let peer_properties = Properties::parse(&plain[KEY_LEN + VOUCH_LEN..])?;
        Ok(Initiated {
            client_key,
            peer_properties,
        })
    }

    /// READY, boxed with our first short nonce (1).
    fn ready(&self, ctx: &HandshakeContext<'_>) -> Command {
        let mut metadata = BytesMut::new();
        local_metadata(ctx).encode(&mut metadata);
        let mut data = BytesMut::with_capacity(8 + TAG_LEN + metadata.len());
        data.put_u64(1);
        let session = self.session_box.as_ref().expect("set with HELLO");
        seal(
            session,
            &nonce(b"CurveZMQREADY---", 1),
            &metadata,
            &mut data,
        );
        command(b"READY", data.freeze())
    }
}

impl Mechanism for CurveServer {
    fn name(&self) -> MechanismName {
        MechanismName::CURVE
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
                out.push(self.on_hello(&data)?);
                self.state = ServerState::Initiate;
                Ok(MechanismStatus::InProgress)
            }
            (ServerState::Initiate, Command::Unknown { name, data })
                if &name[..] == b"INITIATE" =>
            {
                let initiated = self.on_initiate(&data)?;
                let credentials = vec![Bytes::copy_from_slice(initiated.client_key.as_bytes())];
                self.initiated = Some(initiated);
                self.state = ServerState::ZapReply;
                if self.authenticate {
                    return Ok(MechanismStatus::Authenticate(Credentials {
                        mechanism: MechanismName::CURVE,
                        credentials,
                    }));
                }
                self.on_zap_reply(ctx, ZapReply::allow(Bytes::new()), out)
            }
            (_, Command::Error { reason }) => Err(ZmtpError::PeerError(
                String::from_utf8_lossy(&reason).into_owned(),
            )),
            (_, other) => Err(unexpected(&other)),
        }
    }

    fn on_zap_reply(
        &mut self,
        ctx: &HandshakeContext<'_>,
        reply: ZapReply,
        out: &mut Vec<Command>,
    ) -> Result<MechanismStatus, ZmtpError> {
        let Some(initiated) = self.initiated.take() else {
            return Err(ZmtpError::Mechanism(
                "an authentication reply came too early".into(),
            ));
        };
        zap_verdict(&reply, out)?;
        let mut peer_properties = initiated.peer_properties;
        add_zap_properties(&mut peer_properties, &reply.user_id, &reply.metadata);
        out.push(self.ready(ctx));
        Ok(MechanismStatus::Done { peer_properties })
    }

    fn parse_command(&self, body: Bytes) -> Result<Command, ZmtpError> {
        parse_raw(body)
    }

    fn take_codec(&mut self) -> Option<Box<dyn FrameCodec>> {
        let cipher = self.session_box.take()?;
        // READY used our nonce 1.
        Some(Box::new(CurveCodec::new(
            cipher,
            Side::Server,
            2,
            self.peer_nonce,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::session::{Event, Session, SessionConfig};
    use crate::proto::zap::ZapStatus;
    use monocoque_core::{Message, SocketType};
    use std::time::Instant;

    // The libzmq test key pairs (spec README, from zmq_curve.adoc).
    const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
    const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn public(z85: &str) -> CurvePublicKey {
        CurvePublicKey::from_z85(z85).unwrap()
    }

    fn secret(z85: &str) -> CurveSecretKey {
        CurveSecretKey::from_z85(z85).unwrap()
    }

    fn client() -> CurveClient {
        CurveClient::new(
            &public(CLIENT_PUBLIC),
            &secret(CLIENT_SECRET),
            &public(SERVER_PUBLIC),
        )
    }

    fn body(cmd: &Command) -> Vec<u8> {
        let mut b = BytesMut::new();
        cmd.encode_body(&mut b);
        b.to_vec()
    }

    #[test]
    fn test_key_pairs_match() {
        for (p, s) in [
            (CLIENT_PUBLIC, CLIENT_SECRET),
            (SERVER_PUBLIC, SERVER_SECRET),
        ] {
            assert_eq!(
                secret_key(&secret(s)).public_key().as_bytes(),
                public(p).as_bytes()
            );
        }
    }

    #[test]
    fn hello_matches_the_libsodium_vector() {
        // The client test pair as the transient key C', the server test key as S, nonce 1.
        let mut c = CurveClient::with_transient(
            &public(CLIENT_PUBLIC),
            &secret(CLIENT_SECRET),
            &public(SERVER_PUBLIC),
            secret_key(&secret(CLIENT_SECRET)),
        );
        let hello = body(&c.hello());
        let mut want = unhex("0548454c4c4f0100");
        want.extend([0; 72]);
        want.extend(unhex(
            "bb88471d65e2659b30c55a5321cebb5aab2b70a398645c26dca2b2fcb43fc518
             0000000000000001
             3fc780d97ca169864dd85deee9599a695b6a48ab29f486181e07d0ce626ea1d2
             f7413adb9692fbe1327a7ea60c93d4d355ab4f765756b3787193af9155f64666
             68fa6cabb8f0123fb4a112499c31de7a",
        ));
        assert_eq!(hello.len(), 200);
        assert_eq!(hello, want);
    }

    #[test]
    fn message_matches_the_libsodium_vector() {
        let cipher = SalsaBox::new(
            &PublicKey::from(*public(SERVER_PUBLIC).as_bytes()),
            &secret_key(&secret(CLIENT_SECRET)),
        );
        let mut codec = CurveCodec::new(cipher, Side::Client, 3, 0);
        let mut out = WriteQueue::new();
        codec.encode(false, false, b"hello", &mut out);
        let mut wire = vec![0u8; out.len()];
        let mut at = 0;
        while !out.is_empty() {
            let front = out.front();
            wire[at..at + front.len()].copy_from_slice(front);
            at += front.len();
            let n = front.len();
            out.advance(n);
        }
        let want =
            unhex("074d4553534147450000000000000003013a355db8cd0a67ce2782cb058d0ea6a4117ce5c449");
        assert_eq!(wire[..2], [0x00, 38], "a plain short frame of 38 octets");
        assert_eq!(wire[2..], want[..]);

        // The server side opens it; the same nonce again is a replay.
        let cipher = SalsaBox::new(
            &PublicKey::from(*public(CLIENT_PUBLIC).as_bytes()),
            &secret_key(&secret(SERVER_SECRET)),
        );
        let mut server = CurveCodec::new(cipher, Side::Server, 2, 2);
        let frame = |b: &[u8]| Frame {
            more: false,
            command: false,
            body: Bytes::copy_from_slice(b),
        };
        let got = server.decode(frame(&want)).unwrap();
        assert_eq!(
            (got.more, got.command, &got.body[..]),
            (false, false, &b"hello"[..])
        );
        assert!(matches!(
            server.decode(frame(&want)),
            Err(ZmtpError::Crypto(_))
        ));
    }

    /// A client and a server session; `tamper` may change each wire chunk (client to server
    /// when its flag is true) before it is delivered.
    struct Pair {
        client: Session,
        server: Session,
        to_client: BytesMut,
        to_server: BytesMut,
        client_events: Vec<Event>,
        server_events: Vec<Event>,
    }

    impl Pair {
        fn new(client: CurveClient, server: CurveServer) -> Self {
            let config = |t, server, m: Box<dyn Mechanism>| SessionConfig {
                mechanism: m,
                ..SessionConfig::null(t, server)
            };
            Self {
                client: Session::new(
                    config(SocketType::Dealer, false, Box::new(client)),
                    Instant::now(),
                ),
                server: Session::new(
                    config(SocketType::Router, true, Box::new(server)),
                    Instant::now(),
                ),
                to_client: BytesMut::new(),
                to_server: BytesMut::new(),
                client_events: Vec::new(),
                server_events: Vec::new(),
            }
        }

        fn drain(s: &mut Session, into: &mut BytesMut) {
            while !s.output().is_empty() {
                let front = s.output().front().to_vec();
                into.extend_from_slice(&front);
                s.output().advance(front.len());
            }
        }

        /// Moves bytes until both are quiet; the first error of each side.
        fn pump(&mut self) -> (Option<ZmtpError>, Option<ZmtpError>) {
            let (mut ce, mut se) = (None, None);
            for _ in 0..10 {
                Self::drain(&mut self.client, &mut self.to_server);
                Self::drain(&mut self.server, &mut self.to_client);
                while se.is_none() {
                    match self.server.poll_event(&mut self.to_server) {
                        Ok(Some(e)) => self.server_events.push(e),
                        Ok(None) => break,
                        Err(e) => se = Some(e),
                    }
                }
                while ce.is_none() {
                    match self.client.poll_event(&mut self.to_client) {
                        Ok(Some(e)) => self.client_events.push(e),
                        Ok(None) => break,
                        Err(e) => ce = Some(e),
                    }
                }
            }
            (ce, se)
        }
    }

    #[test]
    fn handshake_then_messages_and_commands_both_ways() {
        let mut p = Pair::new(client(), CurveServer::new(&secret(SERVER_SECRET), false));
        assert_eq!(p.pump(), (None, None));
        assert!(p.client.is_ready() && p.server.is_ready());
        let Some(Event::Ready(info)) = p.server_events.first() else {
            panic!("{:?}", p.server_events);
        };
        assert_eq!(info.socket_type, SocketType::Dealer);
        p.client
            .send_message(&Message::from_frames([&b"a"[..], b"bc"]));
        p.client.send_ping(10, b"ctx");
        p.server
            .send_message(&Message::single(Bytes::from_static(b"reply")));
        assert_eq!(p.pump(), (None, None));
        assert_eq!(
            p.server_events[1],
            Event::Message(Message::from_frames([&b"a"[..], b"bc"]))
        );
        assert_eq!(
            p.client_events[1],
            Event::Message(Message::single(Bytes::from_static(b"reply")))
        );
    }

    #[test]
    fn wrong_server_key_fails_the_hello() {
        let wrong = CurveClient::new(
            &public(CLIENT_PUBLIC),
            &secret(CLIENT_SECRET),
            &public(CLIENT_PUBLIC),
        );
        let mut p = Pair::new(wrong, CurveServer::new(&secret(SERVER_SECRET), false));
        let (_, server_error) = p.pump();
        assert!(
            matches!(server_error, Some(ZmtpError::Crypto(_))),
            "{server_error:?}"
        );
    }

    #[test]
    fn a_tampered_message_closes_the_connection() {
        let mut p = Pair::new(client(), CurveServer::new(&secret(SERVER_SECRET), false));
        assert_eq!(p.pump(), (None, None));
        p.client
            .send_message(&Message::single(Bytes::from_static(b"payload")));
        Pair::drain(&mut p.client, &mut p.to_server);
        let last = p.to_server.len() - 1;
        p.to_server[last] ^= 1;
        let (_, server_error) = p.pump();
        assert!(
            matches!(server_error, Some(ZmtpError::Crypto(_))),
            "{server_error:?}"
        );
    }

    #[test]
    fn a_replayed_message_closes_the_connection() {
        let mut p = Pair::new(client(), CurveServer::new(&secret(SERVER_SECRET), false));
        assert_eq!(p.pump(), (None, None));
        p.client
            .send_message(&Message::single(Bytes::from_static(b"once")));
        Pair::drain(&mut p.client, &mut p.to_server);
        let copy = p.to_server.clone();
        p.to_server.extend_from_slice(&copy);
        let (_, server_error) = p.pump();
        assert_eq!(p.server_events.len(), 2, "the first copy is delivered");
        assert!(
            matches!(server_error, Some(ZmtpError::Crypto(_))),
            "{server_error:?}"
        );
    }

    #[test]
    fn short_or_oversized_hello_is_malformed() {
        let g = crate::proto::greeting::Greeting::ours(MechanismName::CURVE, false);
        let ctx = HandshakeContext {
            socket_type: SocketType::Pull,
            routing_id: None,
            as_server: true,
            peer_greeting: &g,
        };
        let hello = body(&client().hello());
        for len in [hello.len() - 1, hello.len() + 1, 8] {
            let mut data = hello[6..].to_vec();
            data.resize(len - 6, 0);
            let mut server = CurveServer::new(&secret(SERVER_SECRET), false);
            let err = server
                .on_command(&ctx, command(b"HELLO", data.into()), &mut Vec::new())
                .unwrap_err();
            assert!(
                matches!(err, ZmtpError::MalformedCommand(_)),
                "{len}: {err}"
            );
        }
        let mut server = CurveServer::new(&secret(SERVER_SECRET), false);
        let err = server
            .on_command(
                &ctx,
                command(b"INITIATE", Bytes::from_static(&[0; 300])),
                &mut Vec::new(),
            )
            .unwrap_err();
        assert_eq!(err, ZmtpError::UnexpectedCommand("INITIATE".into()));
    }

    #[test]
    fn the_authenticator_sees_the_client_key_and_can_refuse() {
        let mut p = Pair::new(client(), CurveServer::new(&secret(SERVER_SECRET), true));
        assert_eq!(p.pump(), (None, None));
        let Some(Event::Authenticate(creds)) = p.server_events.pop() else {
            panic!("{:?}", p.server_events);
        };
        assert_eq!(creds.mechanism, MechanismName::CURVE);
        assert_eq!(&creds.credentials[0][..], public(CLIENT_PUBLIC).as_bytes());
        let err = p
            .server
            .authenticated(ZapReply::deny(ZapStatus::AuthenticationFailure, "not you"))
            .unwrap_err();
        assert!(err.is_authentication_failure());
        let (client_error, _) = p.pump();
        assert_eq!(client_error, Some(ZmtpError::Authentication("400".into())));

        let mut p = Pair::new(client(), CurveServer::new(&secret(SERVER_SECRET), true));
        p.pump();
        let ready = p.server.authenticated(ZapReply::allow("alice"));
        let Ok(Some(Event::Ready(info))) = ready else {
            panic!("{ready:?}");
        };
        assert_eq!(info.properties.get("User-Id").unwrap(), "alice");
        assert_eq!(p.pump(), (None, None));
        assert!(p.client.is_ready());
    }
}
