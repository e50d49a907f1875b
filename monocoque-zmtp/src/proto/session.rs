//! One connection's protocol state, without I/O.
//!
//! A [`Session`] is fed the bytes read from the connection through
//! [`poll_event`](Session::poll_event) and returns what they mean ([`Event`]s); everything it
//! wants to send (greeting, handshake commands, PONGs, messages) is queued in its
//! [`WriteQueue`], which the engine drains with vectored writes. The session never blocks and
//! never allocates per frame beyond the received message's frame list.
//!
//! Time is passed in, never read, as in quinn-proto: the session is created at `now`, says when
//! it next needs attention ([`poll_timeout`](Session::poll_timeout)), and is told when that time
//! has come ([`handle_timeout`](Session::handle_timeout)). The handshake deadline
//! (HANDSHAKE_IVL) works that way, so it is tested on simulated time, with no clock and no
//! runtime.
//!
//! ```text
//! new() ── greeting queued ──> [Greeting] ── peer's 64 octets ──> [Handshake] ── mechanism done,
//!        Socket-Type ok ──> [Active] (Event::Ready, then messages and subscriptions)
//! any error ──> [Failed] (every later poll_event returns the same error)
//! ```

use super::command::{
    Command, IDENTITY, MAX_PING_CONTEXT, Properties, encode_command_body_parts,
    encode_command_parts,
};
use super::error::ZmtpError;
use super::frame::{FrameDecoder, encode_frame_header, header_len};
use super::greeting::{GREETING_LEN, Greeting, MechanismName};
use super::mechanism::{
    FrameCodec, HandshakeContext, Mechanism, MechanismStatus, NullMechanism, check_peer_socket_type,
};
use super::write_queue::WriteQueue;
use super::zap::{Credentials, ZapReply};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use monocoque_core::{Message, SocketType};
use std::time::{Duration, Instant};

/// Largest frame accepted before the handshake has finished, so that an unauthenticated peer
/// cannot make us buffer more than this. MAXMSGSIZE applies from the end of the handshake on
/// (it limits messages; a small MAXMSGSIZE must not break the READY exchange).
pub const HANDSHAKE_FRAME_LIMIT: u64 = 1 << 20;

/// Default for [`Session::set_max_frames_per_message`]: a peer sending endless empty frames
/// with MORE set would otherwise grow the frame list without bound.
pub const DEFAULT_MAX_FRAMES_PER_MESSAGE: usize = 1 << 16;

/// A PONG is queued only while less than this is waiting to be written: a peer that floods
/// PINGs and never reads gets one pending PONG (answering its latest PING), as in libzmq,
/// instead of a backlog of replies growing without bound.
pub const PONG_BACKLOG_LIMIT: usize = 512 * 1024;

/// The ERROR reason we send when the peer's Socket-Type is missing or not compatible.
const SOCKET_TYPE_ERROR: &[u8] = b"Invalid or incompatible Socket-Type";

/// How to run a connection.
#[derive(Debug)]
pub struct SessionConfig {
    /// Our socket type (sent as `Socket-Type`, checked against the peer's).
    pub socket_type: SocketType,
    /// Our routing identity (ZMQ_ROUTING_ID), if set.
    pub routing_id: Option<Bytes>,
    /// Our security role (the side that bound, by convention). With NULL the greeting's
    /// as-server octet is always 0.
    pub as_server: bool,
    /// ZMQ_MAXMSGSIZE: largest inbound message (and frame), `None` for no limit.
    pub max_msg_size: Option<u64>,
    /// The security mechanism.
    pub mechanism: Box<dyn Mechanism>,
    /// ZMQ_HANDSHAKE_IVL: the greeting and the security handshake must be complete this long
    /// after the session was created, or it fails with [`ZmtpError::HandshakeTimeout`]. `None`:
    /// no limit.
    pub handshake_timeout: Option<Duration>,
    /// ZMTP 3.1 heartbeats (RFC 37): when to PING, and when a silent peer is given up on.
    pub heartbeat: HeartbeatConfig,
}

/// Heartbeat settings of a session (libzmq's HEARTBEAT_IVL, _TTL and _TIMEOUT).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// Send a PING this often once the handshake is done; `None`: never.
    pub interval: Option<Duration>,
    /// The TTL our PINGs carry (rounded down to tenths of a second, at most 6553.5 s): how long
    /// the peer should wait for traffic from us before closing.
    pub ttl: Option<Duration>,
    /// Fail when nothing arrived this long after a PING we sent; `None`: `interval`.
    pub timeout: Option<Duration>,
}

impl SessionConfig {
    /// A NULL-mechanism configuration with no routing id and no size limit.
    #[must_use]
    pub fn null(socket_type: SocketType, as_server: bool) -> Self {
        Self {
            socket_type,
            routing_id: None,
            as_server,
            max_msg_size: None,
            mechanism: Box::new(NullMechanism),
            handshake_timeout: None,
            heartbeat: HeartbeatConfig::default(),
        }
    }
}

/// What the handshake told us about the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's socket type (already checked to be compatible with ours).
    pub socket_type: SocketType,
    /// The peer's `Identity` property; `None` if absent or empty.
    pub routing_id: Option<Bytes>,
    /// The peer's major ZMTP version (3 or later).
    pub major: u8,
    /// The peer's minor ZMTP version (0 for 3.0: subscriptions go as messages).
    pub minor: u8,
    /// All of the peer's metadata.
    pub properties: Properties,
}

/// What the received bytes meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake is complete; messages may now flow both ways.
    Ready(PeerInfo),
    /// A whole multipart message.
    Message(Message),
    /// The peer subscribed to a topic: a SUBSCRIBE command, or (on a PUB or XPUB session) a
    /// single-frame ZMTP 3.0 subscription message `0x01` + topic.
    Subscribe(Bytes),
    /// The peer cancelled a subscription: a CANCEL command, or (on a PUB or XPUB session) a
    /// single-frame ZMTP 3.0 message `0x00` + topic.
    Cancel(Bytes),
    /// A server mechanism wants its authenticator's verdict on these credentials: answer with
    /// [`Session::authenticated`]. Until then the session reads nothing more.
    Authenticate(Credentials),
}

#[derive(Debug)]
enum State {
    /// Reading the peer's greeting.
    Greeting {
        buf: [u8; GREETING_LEN],
        have: usize,
    },
    /// Running the security handshake (`authenticating`: waiting for the authenticator).
    Handshake {
        peer: Greeting,
        authenticating: bool,
    },
    /// Exchanging messages.
    Active,
    /// A protocol error happened; the connection must be closed.
    Failed(ZmtpError),
}

/// One ZMTP connection's protocol state machine (sans-I/O).
#[derive(Debug)]
pub struct Session {
    socket_type: SocketType,
    routing_id: Option<Bytes>,
    as_server: bool,
    max_msg_size: Option<u64>,
    mechanism: Box<dyn Mechanism>,
    state: State,
    decoder: FrameDecoder,
    out: WriteQueue,
    peer: Option<PeerInfo>,
    /// The peer understands SUBSCRIBE / CANCEL commands (it greeted with 3.1 or later).
    peer_has_sub_commands: bool,
    codec: Option<Box<dyn FrameCodec>>,
    /// The message being assembled and the sum of its frame sizes.
    partial: Message,
    partial_size: u64,
    max_frames: usize,
    /// Reused scratch space for the mechanism's outgoing commands.
    commands: Vec<Command>,
    /// When the handshake must be complete (HANDSHAKE_IVL after creation).
    handshake_deadline: Option<Instant>,
    heartbeat: HeartbeatConfig,
    /// The latest time we were told of ([`Session::received_at`], `handle_timeout`).
    clock: Instant,
    /// When our next PING is due.
    next_ping: Option<Instant>,
    /// HEARTBEAT_TIMEOUT after a PING of ours, until anything arrives.
    heartbeat_deadline: Option<Instant>,
    /// The TTL of the peer's PINGs: it is given up on when nothing arrived for that long.
    peer_ttl: Option<Duration>,
    /// When input last arrived ([`Session::received_at`]).
    last_input: Instant,
    /// The owner is not reading: see [`Session::set_reading_paused`].
    reading_paused: bool,
    /// The context of the latest PING not answered yet (see [`PONG_BACKLOG_LIMIT`]).
    pending_pong: Option<Bytes>,
}

impl Session {
    /// A session for a connection made at `now`. Our full 64-octet greeting is queued in
    /// [`output`](Self::output) at once.
    #[must_use]
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        let SessionConfig {
            socket_type,
            routing_id,
            as_server,
            max_msg_size,
            mechanism,
            handshake_timeout,
            heartbeat,
        } = config;
        let name = mechanism.name();
        // NULL always sends as-server 0 (RFC 23); other mechanisms announce the role.
        let greeting = Greeting::ours(name, as_server && name != MechanismName::NULL);
        let mut out = WriteQueue::new();
        out.put_bytes(&greeting.encode());
        Self {
            socket_type,
            routing_id,
            as_server,
            max_msg_size,
            mechanism,
            state: State::Greeting {
                buf: [0; GREETING_LEN],
                have: 0,
            },
            decoder: FrameDecoder::new(Some(HANDSHAKE_FRAME_LIMIT)),
            out,
            peer: None,
            peer_has_sub_commands: true,
            codec: None,
            partial: Message::new(),
            partial_size: 0,
            max_frames: DEFAULT_MAX_FRAMES_PER_MESSAGE,
            commands: Vec::new(),
            handshake_deadline: handshake_timeout.map(|limit| now + limit),
            heartbeat,
            clock: now,
            next_ping: None,
            heartbeat_deadline: None,
            peer_ttl: None,
            last_input: now,
            reading_paused: false,
            pending_pong: None,
        }
    }

    /// When the session next needs [`handle_timeout`](Self::handle_timeout): the handshake
    /// deadline while the handshake runs; `None` when nothing is due (handshake done, no limit
    /// set, or the session failed).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Greeting { .. } | State::Handshake { .. } => self.handshake_deadline,
            State::Active => [self.next_ping, self.heartbeat_deadline, self.ttl_deadline()]
                .into_iter()
                .flatten()
                .min(),
            State::Failed(_) => None,
        }
    }

    /// When the peer's TTL runs out: that long after the latest input (not while the owner is
    /// not reading).
    fn ttl_deadline(&self) -> Option<Instant> {
        match self.reading_paused {
            true => None,
            false => self.peer_ttl.map(|ttl| self.last_input + ttl),
        }
    }

    /// Tells the session whether its owner has stopped reading (the socket's receive queue is
    /// full). While it has, the peer's silence means nothing: no heartbeat timeout runs (PINGs
    /// go on); the first PING after reading resumes starts a new one.
    pub fn set_reading_paused(&mut self, paused: bool) {
        if paused {
            self.heartbeat_deadline = None;
        }
        self.reading_paused = paused;
    }

    /// Tells the session that the input about to be decoded arrived at `now` (the engine
    /// calls it after each read): a peer's PING starts its TTL from then.
    pub fn received_at(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
        self.last_input = self.clock;
    }

    /// Tells the session that time has reached `now`. A handshake still running at its
    /// deadline fails with [`ZmtpError::HandshakeTimeout`], which the next
    /// [`poll_event`](Self::poll_event) returns. Calling it early, or more than once, is
    /// harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
        let passed = |deadline: Option<Instant>| deadline.is_some_and(|at| at <= now);
        match self.state {
            State::Greeting { .. } | State::Handshake { .. } => {
                if passed(self.handshake_deadline) {
                    self.state = State::Failed(ZmtpError::HandshakeTimeout);
                }
            }
            State::Active => {
                if passed(self.heartbeat_deadline) || passed(self.ttl_deadline()) {
                    self.state = State::Failed(ZmtpError::HeartbeatTimeout);
                } else if passed(self.next_ping) {
                    self.ping(now);
                }
            }
            State::Failed(_) => {}
        }
    }

    /// Sends our heartbeat PING (with our TTL, no context, as libzmq does) and arms the next
    /// one, and HEARTBEAT_TIMEOUT unless it runs already.
    fn ping(&mut self, now: Instant) {
        let Some(interval) = self.heartbeat.interval else {
            return;
        };
        let ttl = self.heartbeat.ttl.map_or(0, |ttl| {
            u16::try_from(ttl.as_millis() / 100).unwrap_or(u16::MAX)
        });
        self.send_ping(ttl, b"");
        self.next_ping = Some(now + interval);
        let timeout = self.heartbeat.timeout.unwrap_or(interval);
        if !self.reading_paused {
            self.heartbeat_deadline.get_or_insert(now + timeout);
        }
    }

    /// True once the handshake is complete (and no error happened since).
    #[must_use]
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Active)
    }

    /// The peer, once the handshake is complete.
    #[must_use]
    pub fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_ref()
    }

    /// Our socket type.
    #[must_use]
    pub fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    /// The error that stopped the session, if any.
    #[must_use]
    pub fn error(&self) -> Option<&ZmtpError> {
        match &self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Limits how many frames one received message may have
    /// ([`DEFAULT_MAX_FRAMES_PER_MESSAGE`] by default).
    pub fn set_max_frames_per_message(&mut self, max_frames: usize) {
        self.max_frames = max_frames.max(1);
    }

    /// The bytes waiting to be written to the connection. A PONG owed to the peer is added
    /// first, unless [`PONG_BACKLOG_LIMIT`] octets are waiting already.
    pub fn output(&mut self) -> &mut WriteQueue {
        if self.pending_pong.is_some() && self.out.len() < PONG_BACKLOG_LIMIT {
            let context = self.pending_pong.take().expect("checked");
            self.send_command_parts(b"PONG", &[&context]);
        }
        &mut self.out
    }

    /// The size of a frame body whose header has arrived but whose body has not completely: an
    /// engine may reserve that much receive space at once.
    #[must_use]
    pub fn pending_frame_len(&self) -> Option<usize> {
        self.decoder.pending_body_len()
    }

    /// The largest frame body announced since the last call (0: none): an engine may size its
    /// next receive buffer for one more like it.
    pub fn take_largest_frame_len(&mut self) -> usize {
        self.decoder.take_largest_body()
    }

    /// Consumes bytes from `input` and returns the next event, `Ok(None)` when more input is
    /// needed (everything in `input` has then been consumed, except the start of an incomplete
    /// frame).
    ///
    /// Handled internally: the greeting (rejected as soon as the received prefix is invalid),
    /// the mechanism handshake, the Socket-Type check (an ERROR is queued before the error is
    /// returned), PING (a PONG with the same context is queued), PONG and unknown commands
    /// (ignored), ERROR (returned as [`ZmtpError::PeerError`]). Message frames are assembled
    /// into whole messages, with MAXMSGSIZE checked per frame from its header (before its
    /// body is buffered) and for the whole message.
    ///
    /// After an error, every call returns the same error: close the connection (after writing
    /// out whatever [`output`](Self::output) still holds, if you like).
    pub fn poll_event(&mut self, input: &mut BytesMut) -> Result<Option<Event>, ZmtpError> {
        let result = match self.state {
            State::Active => self.poll_active(input),
            State::Failed(ref e) => return Err(e.clone()),
            _ => self.poll_setup(input),
        };
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    /// Greeting and handshake; continues into the active state in the same call.
    fn poll_setup(&mut self, input: &mut BytesMut) -> Result<Option<Event>, ZmtpError> {
        if matches!(self.state, State::Greeting { .. }) && !self.read_greeting(input)? {
            return Ok(None);
        }
        loop {
            let State::Handshake {
                peer,
                authenticating,
            } = self.state
            else {
                return self.poll_active(input);
            };
            if authenticating {
                return Ok(None);
            }
            let Some(frame) = self.decoder.decode(input)? else {
                return Ok(None);
            };
            if !frame.command {
                return Err(ZmtpError::UnexpectedMessage);
            }
            let cmd = self.mechanism.parse_command(frame.body)?;
            let ctx = HandshakeContext {
                socket_type: self.socket_type,
                routing_id: self.routing_id.as_ref(),
                as_server: self.as_server,
                peer_greeting: &peer,
            };
            let status = self.mechanism.on_command(&ctx, cmd, &mut self.commands);
            self.flush_mechanism_commands();
            if let Some(event) = self.on_mechanism_status(&peer, status?)? {
                return Ok(Some(event));
            }
        }
    }

    fn on_mechanism_status(
        &mut self,
        peer: &Greeting,
        status: MechanismStatus,
    ) -> Result<Option<Event>, ZmtpError> {
        match status {
            MechanismStatus::InProgress => Ok(None),
            MechanismStatus::Authenticate(credentials) => {
                self.state = State::Handshake {
                    peer: *peer,
                    authenticating: true,
                };
                Ok(Some(Event::Authenticate(credentials)))
            }
            MechanismStatus::Done { peer_properties } => {
                self.finish_handshake(peer, peer_properties).map(Some)
            }
        }
    }

    /// Gives the authenticator's verdict asked for by [`Event::Authenticate`]. The mechanism
    /// queues its answer (WELCOME, READY, or ERROR); a refusal fails the session with
    /// [`ZmtpError::Authentication`], which this and every later call return. Then call
    /// [`poll_event`](Self::poll_event) again: the peer's next commands may already be in.
    pub fn authenticated(&mut self, reply: ZapReply) -> Result<Option<Event>, ZmtpError> {
        let State::Handshake {
            peer,
            authenticating: true,
        } = self.state
        else {
            if let State::Failed(e) = &self.state {
                return Err(e.clone());
            }
            return Err(ZmtpError::Mechanism(
                "an authentication reply came, but none was asked for".into(),
            ));
        };
        self.state = State::Handshake {
            peer,
            authenticating: false,
        };
        let ctx = HandshakeContext {
            socket_type: self.socket_type,
            routing_id: self.routing_id.as_ref(),
            as_server: self.as_server,
            peer_greeting: &peer,
        };
        let status = self.mechanism.on_zap_reply(&ctx, reply, &mut self.commands);
        self.flush_mechanism_commands();
        let result = status.and_then(|status| self.on_mechanism_status(&peer, status));
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    /// Reads greeting octets; true once the whole greeting is in and the handshake started.
    fn read_greeting(&mut self, input: &mut BytesMut) -> Result<bool, ZmtpError> {
        let State::Greeting { buf, have } = &mut self.state else {
            return Ok(true);
        };
        let take = (GREETING_LEN - *have).min(input.len());
        buf[*have..*have + take].copy_from_slice(&input[..take]);
        input.advance(take);
        *have += take;
        Greeting::check_prefix(&buf[..*have])?;
        if *have < GREETING_LEN {
            return Ok(false);
        }
        let peer = Greeting::parse(buf)?;
        let ours = self.mechanism.name();
        if peer.mechanism != ours {
            return Err(ZmtpError::MechanismMismatch {
                ours: ours.as_str().to_owned(),
                theirs: peer.mechanism.as_str().to_owned(),
            });
        }
        self.peer_has_sub_commands = (peer.major, peer.minor) >= (3, 1);
        self.state = State::Handshake {
            peer,
            authenticating: false,
        };
        let ctx = HandshakeContext {
            socket_type: self.socket_type,
            routing_id: self.routing_id.as_ref(),
            as_server: self.as_server,
            peer_greeting: &peer,
        };
        let started = self.mechanism.start(&ctx, &mut self.commands);
        self.flush_mechanism_commands();
        started.map(|()| true)
    }

    /// Queues the mechanism's handshake commands (always in the clear).
    fn flush_mechanism_commands(&mut self) {
        for cmd in self.commands.drain(..) {
            cmd.encode(&mut self.out);
        }
    }

    fn finish_handshake(
        &mut self,
        peer: &Greeting,
        properties: Properties,
    ) -> Result<Event, ZmtpError> {
        let socket_type = match check_peer_socket_type(self.socket_type, &properties) {
            Ok(t) => t,
            Err(e) => {
                Command::Error {
                    reason: Bytes::from_static(SOCKET_TYPE_ERROR),
                }
                .encode(&mut self.out);
                return Err(e);
            }
        };
        let routing_id = properties
            .get(IDENTITY)
            .filter(|id| !id.is_empty())
            .cloned();
        let info = PeerInfo {
            socket_type,
            routing_id,
            major: peer.major,
            minor: peer.minor,
            properties,
        };
        self.codec = self.mechanism.take_codec();
        let overhead = self.codec.as_ref().map_or(0, |c| c.wire_overhead());
        self.decoder
            .set_max_frame_size(self.max_msg_size.map(|m| m.saturating_add(overhead)));
        self.state = State::Active;
        self.next_ping = self
            .heartbeat
            .interval
            .map(|interval| self.clock + interval);
        self.peer = Some(info.clone());
        Ok(Event::Ready(info))
    }

    /// The data path: frames to messages, commands handled inline.
    fn poll_active(&mut self, input: &mut BytesMut) -> Result<Option<Event>, ZmtpError> {
        loop {
            let Some(mut frame) = self.decoder.decode(input)? else {
                return Ok(None);
            };
            // Anything from the peer shows it is alive (as in libzmq, any frame, not only a
            // PONG, ends the wait for an answer to our PING).
            self.heartbeat_deadline = None;
            if let Some(codec) = &mut self.codec {
                frame = codec.decode(frame)?;
                if let Some(limit) = self.max_msg_size {
                    let size = frame.body.len() as u64;
                    if size > limit {
                        return Err(ZmtpError::FrameTooLarge { size, limit });
                    }
                }
            }
            if frame.command {
                if frame.more {
                    return Err(ZmtpError::CommandWithMore);
                }
                match self.on_command(frame.body)? {
                    Some(event) => return Ok(Some(event)),
                    None => continue,
                }
            }
            if let Some(event) = self.legacy_subscription(frame.more, &frame.body) {
                return Ok(Some(event));
            }
            if let Some(limit) = self.max_msg_size {
                let size = self.partial_size + frame.body.len() as u64;
                if size > limit {
                    return Err(ZmtpError::MessageTooLarge { size, limit });
                }
                self.partial_size = size;
            }
            if self.partial.len() >= self.max_frames {
                return Err(ZmtpError::TooManyFrames {
                    limit: self.max_frames,
                });
            }
            self.partial.push_back(frame.body);
            if !frame.more {
                self.partial_size = 0;
                return Ok(Some(Event::Message(std::mem::take(&mut self.partial))));
            }
        }
    }

    /// A single-frame ZMTP 3.0 subscription message, on the sockets that receive subscriptions.
    #[inline]
    fn legacy_subscription(&self, more: bool, body: &Bytes) -> Option<Event> {
        if more
            || !self.partial.is_empty()
            || !matches!(self.socket_type, SocketType::Pub | SocketType::XPub)
        {
            return None;
        }
        match body.first() {
            Some(1) => Some(Event::Subscribe(body.slice(1..))),
            Some(0) => Some(Event::Cancel(body.slice(1..))),
            _ => None,
        }
    }

    fn on_command(&mut self, body: Bytes) -> Result<Option<Event>, ZmtpError> {
        match Command::parse(body)? {
            Command::Ping {
                ttl_deciseconds,
                context,
            } => {
                // Answered when the output is next looked at; a later PING replaces it.
                self.pending_pong = Some(context);
                // RFC 37: the peer asks to be given up on if nothing more arrives from it
                // within its TTL. libzmq counts from each PING; we count from the latest
                // traffic, so a peer that dies right after a message is caught too.
                if ttl_deciseconds > 0 {
                    let ttl = Duration::from_millis(u64::from(ttl_deciseconds) * 100);
                    self.peer_ttl = Some(ttl);
                }
                Ok(None)
            }
            Command::Subscribe(topic) => Ok(Some(Event::Subscribe(topic))),
            Command::Cancel(topic) => Ok(Some(Event::Cancel(topic))),
            Command::Error { reason } => Err(ZmtpError::PeerError(
                String::from_utf8_lossy(&reason).into_owned(),
            )),
            Command::Pong { .. } | Command::Ready(_) | Command::Unknown { .. } => Ok(None),
        }
    }

    /// Queues a message: every frame but the last with MORE. The handshake must be complete
    /// (checked in debug builds); an empty message sends nothing.
    pub fn send_message(&mut self, msg: &Message) {
        debug_assert!(
            self.is_ready(),
            "send_message before the handshake finished"
        );
        debug_assert!(!msg.is_empty(), "send_message with no frames");
        let frames = msg.frames();
        let last = frames.len().saturating_sub(1);
        match &mut self.codec {
            None => {
                for (i, frame) in frames.iter().enumerate() {
                    self.out.put_frame(i < last, false, frame);
                }
            }
            Some(codec) => {
                for (i, frame) in frames.iter().enumerate() {
                    codec.encode(i < last, false, frame, &mut self.out);
                }
            }
        }
    }

    /// Queues a subscription (`subscribe`) or its cancellation: a SUBSCRIBE / CANCEL command
    /// when the peer greeted with ZMTP 3.1 or later, else (ZMTP 3.0) a message of `0x01` /
    /// `0x00` followed by the topic.
    pub fn send_subscribe(&mut self, topic: &[u8], subscribe: bool) {
        debug_assert!(
            self.is_ready(),
            "send_subscribe before the handshake finished"
        );
        if self.peer_has_sub_commands {
            let name: &[u8] = if subscribe { b"SUBSCRIBE" } else { b"CANCEL" };
            self.send_command_parts(name, &[topic]);
            return;
        }
        let flag = u8::from(subscribe);
        match &mut self.codec {
            None => self.out.put_with(|buf| {
                let len = 1 + topic.len();
                buf.reserve(header_len(len) + len);
                encode_frame_header(false, false, len, buf);
                buf.put_u8(flag);
                buf.put_slice(topic);
            }),
            Some(codec) => {
                let mut body = Vec::with_capacity(1 + topic.len());
                body.push(flag);
                body.extend_from_slice(topic);
                codec.encode(false, false, &body, &mut self.out);
            }
        }
    }

    /// Queues a PING (ZMTP 3.1 heartbeat). The context is cut to 16 octets.
    pub fn send_ping(&mut self, ttl_deciseconds: u16, context: &[u8]) {
        debug_assert!(self.is_ready(), "send_ping before the handshake finished");
        let context = &context[..context.len().min(MAX_PING_CONTEXT)];
        self.send_command_parts(b"PING", &[&ttl_deciseconds.to_be_bytes(), context]);
    }

    /// Queues any command after the handshake (through the mechanism's frame codec, if any).
    pub fn send_command(&mut self, cmd: &Command) {
        debug_assert!(
            self.is_ready(),
            "send_command before the handshake finished"
        );
        match &mut self.codec {
            None => cmd.encode(&mut self.out),
            Some(codec) => {
                let mut body = BytesMut::with_capacity(cmd.body_len());
                cmd.encode_body(&mut body);
                codec.encode(false, true, &body, &mut self.out);
            }
        }
    }

    fn send_command_parts(&mut self, name: &[u8], parts: &[&[u8]]) {
        match &mut self.codec {
            None => self
                .out
                .put_with(|buf| encode_command_parts(name, parts, buf)),
            Some(codec) => {
                let mut body = BytesMut::new();
                encode_command_body_parts(name, parts, &mut body);
                codec.encode(false, true, &body, &mut self.out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::command::split_command;
    use crate::proto::command::tests::{hex, queued};
    use crate::proto::frame::{Frame, encode_frame};
    use crate::proto::mechanism::local_metadata;
    use proptest::prelude::*;

    fn take_output(s: &mut Session) -> Vec<u8> {
        let bytes = queued(s.output());
        s.output().advance(bytes.len());
        assert!(s.output().is_empty());
        bytes
    }

    fn config(socket_type: SocketType, id: Option<&'static [u8]>, server: bool) -> SessionConfig {
        SessionConfig {
            routing_id: id.map(Bytes::from_static),
            ..SessionConfig::null(socket_type, server)
        }
    }

    fn session(socket_type: SocketType) -> Session {
        Session::new(SessionConfig::null(socket_type, false), Instant::now())
    }

    /// Feeds `bytes` in chunks of `chunk`, collecting events until the first error.
    fn feed(s: &mut Session, bytes: &[u8], chunk: usize) -> (Vec<Event>, Option<ZmtpError>) {
        let mut input = BytesMut::new();
        let mut events = Vec::new();
        for piece in bytes.chunks(chunk.max(1)) {
            input.extend_from_slice(piece);
            loop {
                match s.poll_event(&mut input) {
                    Ok(Some(e)) => events.push(e),
                    Ok(None) => break,
                    Err(e) => return (events, Some(e)),
                }
            }
        }
        (events, None)
    }

    #[derive(Default)]
    struct Side {
        input: BytesMut,
        events: Vec<Event>,
        error: Option<ZmtpError>,
    }

    fn poll_all(s: &mut Session, side: &mut Side) {
        while side.error.is_none() {
            match s.poll_event(&mut side.input) {
                Ok(Some(e)) => side.events.push(e),
                Ok(None) => break,
                Err(e) => side.error = Some(e),
            }
        }
    }

    /// Moves each session's output to the other, `chunk` octets at a time, until both are quiet.
    fn pump(a: &mut Session, b: &mut Session, chunk: usize) -> (Side, Side) {
        let (mut sa, mut sb) = (Side::default(), Side::default());
        loop {
            let (ao, bo) = (take_output(a), take_output(b));
            if ao.is_empty() && bo.is_empty() {
                return (sa, sb);
            }
            let (mut ai, mut bi) = (bo.chunks(chunk), ao.chunks(chunk));
            loop {
                let (x, y) = (ai.next(), bi.next());
                if x.is_none() && y.is_none() {
                    break;
                }
                sa.input.extend_from_slice(x.unwrap_or_default());
                sb.input.extend_from_slice(y.unwrap_or_default());
                poll_all(a, &mut sa);
                poll_all(b, &mut sb);
            }
        }
    }

    fn handshake(a: &mut Session, b: &mut Session) {
        let (sa, sb) = pump(a, b, usize::MAX);
        assert_eq!((sa.error, sb.error), (None, None));
        assert!(a.is_ready() && b.is_ready());
    }

    fn ready_of(events: &[Event]) -> &PeerInfo {
        match events.first() {
            Some(Event::Ready(info)) => info,
            other => panic!("expected Ready, got {other:?}"),
        }
    }

    /// A libzmq 4.3.5 greeting: padding = identity length + 1, version 3.`minor`.
    fn libzmq_greeting(identity_len: u8, minor: u8) -> Vec<u8> {
        let mut g = Greeting::ours(MechanismName::NULL, false).encode().to_vec();
        g[8] = identity_len + 1;
        g[11] = minor;
        g
    }

    fn ready_frame(props: &[(&str, &[u8])]) -> Vec<u8> {
        let mut p = Properties::new();
        for (n, v) in props {
            p.insert(n, Bytes::copy_from_slice(v));
        }
        let mut q = WriteQueue::new();
        Command::Ready(p).encode(&mut q);
        queued(&q)
    }

    /// A session of type `t` that completed its handshake with a peer of type `peer_type`
    /// (greeted with 3.`minor`); the output is drained.
    fn ready_session(t: SocketType, peer_type: &str, minor: u8) -> Session {
        let mut s = session(t);
        let mut wire = libzmq_greeting(0, minor);
        wire.extend(ready_frame(&[("Socket-Type", peer_type.as_bytes())]));
        let (events, err) = feed(&mut s, &wire, usize::MAX);
        assert_eq!(err, None);
        assert_eq!(events.len(), 1);
        take_output(&mut s);
        s
    }

    fn msg(frames: &[&'static [u8]]) -> Message {
        Message::from_frames(frames.iter().copied())
    }

    #[test]
    fn greeting_is_queued_at_once() {
        let mut s = session(SocketType::Push);
        assert_eq!(
            take_output(&mut s),
            Greeting::ours(MechanismName::NULL, false).encode()
        );
        // NULL never claims as-server, even as the server.
        let mut s = Session::new(SessionConfig::null(SocketType::Pull, true), Instant::now());
        assert_eq!(take_output(&mut s)[32], 0);
        assert!(!s.is_ready() && s.peer().is_none());
    }

    #[test]
    fn dealer_router_handshake_and_messages() {
        let mut dealer = Session::new(
            config(SocketType::Dealer, Some(b"abc"), false),
            Instant::now(),
        );
        let mut router = Session::new(config(SocketType::Router, None, true), Instant::now());
        // libzmq's capture (READY DEALER with Identity "abc"), after our 64-octet greeting.
        let mut want = vec![0x04, 0x2c, 0x05];
        want.extend_from_slice(b"READY\x0bSocket-Type\x00\x00\x00\x06DEALER");
        want.extend_from_slice(b"\x08Identity\x00\x00\x00\x03abc");
        let mut probe = Session::new(
            config(SocketType::Dealer, Some(b"abc"), false),
            Instant::now(),
        );
        feed(&mut probe, &libzmq_greeting(0, 1), usize::MAX);
        assert_eq!(&take_output(&mut probe)[GREETING_LEN..], &want[..]);
        let (sd, sr) = pump(&mut dealer, &mut router, usize::MAX);
        assert_eq!((&sd.error, &sr.error), (&None, &None));
        let seen_by_dealer = ready_of(&sd.events);
        assert_eq!(seen_by_dealer.socket_type, SocketType::Router);
        assert_eq!(seen_by_dealer.routing_id, None);
        assert_eq!((seen_by_dealer.major, seen_by_dealer.minor), (3, 1));
        let seen_by_router = ready_of(&sr.events);
        assert_eq!(seen_by_router.socket_type, SocketType::Dealer);
        assert_eq!(seen_by_router.routing_id.as_deref(), Some(&b"abc"[..]));
        assert_eq!(router.peer(), Some(seen_by_router));

        dealer.send_message(&msg(&[b"", b"hello"]));
        router.send_message(&msg(&[b"world"]));
        let (sd, sr) = pump(&mut dealer, &mut router, usize::MAX);
        assert_eq!(sr.events, [Event::Message(msg(&[b"", b"hello"]))]);
        assert_eq!(sd.events, [Event::Message(msg(&[b"world"]))]);
    }

    #[test]
    fn empty_identity_is_no_routing_id() {
        let mut dealer = session(SocketType::Dealer);
        let mut router = session(SocketType::Router);
        let (_, sr) = pump(&mut dealer, &mut router, usize::MAX);
        let info = ready_of(&sr.events);
        assert_eq!(info.routing_id, None);
        assert_eq!(info.properties.get("identity").map(Bytes::len), Some(0));
    }

    #[test]
    fn push_pull_with_libzmq_long_frame() {
        let mut push = session(SocketType::Push);
        let mut pull = session(SocketType::Pull);
        handshake(&mut push, &mut pull);
        let big = Bytes::from(vec![b'x'; 300]);
        push.send_message(&Message::from_frames([
            Bytes::from_static(b"k"),
            big.clone(),
        ]));
        let wire = queued(push.output());
        let mut want = vec![0x01, 0x01, 0x6b, 0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x2c];
        want.extend_from_slice(&big);
        assert_eq!(wire, want);
        let (_, sp) = pump(&mut push, &mut pull, 7);
        assert_eq!(
            sp.events,
            [Event::Message(Message::from_frames([
                Bytes::from_static(b"k"),
                big
            ]))]
        );
    }

    #[test]
    fn incompatible_socket_types_fail_on_both_sides_with_error() {
        let mut publ = session(SocketType::Pub);
        let mut dealer = session(SocketType::Dealer);
        // Greetings first, then the READY commands.
        let (pg, dg) = (take_output(&mut publ), take_output(&mut dealer));
        assert_eq!(feed(&mut publ, &dg, usize::MAX), (vec![], None));
        assert_eq!(feed(&mut dealer, &pg, usize::MAX), (vec![], None));
        let (pr, dr) = (take_output(&mut publ), take_output(&mut dealer));
        let (pe, perr) = feed(&mut publ, &dr, usize::MAX);
        let (de, derr) = feed(&mut dealer, &pr, usize::MAX);
        assert!(pe.is_empty() && de.is_empty());
        assert_eq!(
            perr,
            Some(ZmtpError::IncompatibleSocketType {
                ours: SocketType::Pub,
                theirs: "DEALER".into()
            })
        );
        assert_eq!(
            derr,
            Some(ZmtpError::IncompatibleSocketType {
                ours: SocketType::Dealer,
                theirs: "PUB".into()
            })
        );
        for s in [&mut publ, &mut dealer] {
            let out = take_output(s);
            let mut buf = BytesMut::from(&out[..]);
            let frame = FrameDecoder::new(None).decode(&mut buf).unwrap().unwrap();
            assert!(frame.command && buf.is_empty());
            assert!(matches!(
                Command::parse(frame.body),
                Ok(Command::Error { .. })
            ));
            assert!(!s.is_ready());
            assert!(s.error().is_some());
        }
        // Through pump as well: both sides end with the error.
        let (mut a, mut b) = (session(SocketType::Pub), session(SocketType::Dealer));
        let (sa, sb) = pump(&mut a, &mut b, 5);
        assert!(matches!(
            sa.error,
            Some(ZmtpError::IncompatibleSocketType { .. })
        ));
        assert!(matches!(
            sb.error,
            Some(ZmtpError::IncompatibleSocketType { .. })
        ));
    }

    #[test]
    fn libzmq_captured_stream_into_router() {
        let mut wire = libzmq_greeting(3, 1);
        assert_eq!(&wire[..10], &hex("ff 00 00 00 00 00 00 00 04 7f")[..]);
        let mut ready = vec![0x04, 0x2c, 0x05];
        ready.extend_from_slice(b"READY\x0bSocket-Type\x00\x00\x00\x06DEALER");
        ready.extend_from_slice(b"\x08Identity\x00\x00\x00\x03abc");
        wire.extend_from_slice(&ready);
        wire.extend_from_slice(&hex("01 00 00 05 68 65 6c 6c 6f")); // ["", "hello"]
        wire.extend_from_slice(&hex("04 07 04 50 49 4e 47 00 14")); // PING ttl 2 s
        wire.extend_from_slice(&hex("00 01 21")); // ["!"]

        let mut reference = None;
        for chunk in [usize::MAX, 1, 2, 3, 63, 64, 65] {
            let mut router = session(SocketType::Router);
            let (events, err) = feed(&mut router, &wire, chunk);
            assert_eq!(err, None);
            let info = ready_of(&events);
            assert_eq!(info.socket_type, SocketType::Dealer);
            assert_eq!(info.routing_id.as_deref(), Some(&b"abc"[..]));
            assert_eq!(
                &events[1..],
                [
                    Event::Message(msg(&[b"", b"hello"])),
                    Event::Message(msg(&[b"!"])),
                ]
            );
            // Our greeting, READY ROUTER (RFC vector), then the PONG with the empty context.
            let mut want = Greeting::ours(MechanismName::NULL, false).encode().to_vec();
            want.extend(hex(
                "04 1c 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 06 52 4f 55 54 45 52",
            ));
            want.extend(hex("04 05 04 50 4f 4e 47"));
            assert_eq!(take_output(&mut router), want);
            match &reference {
                None => reference = Some(events),
                Some(r) => assert_eq!(r, &events, "chunk {chunk}"),
            }
        }
    }

    #[test]
    fn ready_vectors_as_sent() {
        let cases: [(SocketType, Option<&'static [u8]>, &str); 4] = [
            (SocketType::Router, None, "04 1c 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 06 52 4f 55 54 45 52"),
            (SocketType::XPub, Some(b"ignored"), "04 1a 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 04 58 50 55 42"),
            (SocketType::Sub, None, "04 19 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 03 53 55 42"),
            (SocketType::Dealer, None, "04 29 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 06 44 45 41 4c 45 52
                08 49 64 65 6e 74 69 74 79 00 00 00 00"),
        ];
        for (t, id, ready) in cases {
            let mut s = Session::new(config(t, id, false), Instant::now());
            let (_, err) = feed(&mut s, &libzmq_greeting(0, 1), usize::MAX);
            assert_eq!(err, None);
            assert_eq!(&take_output(&mut s)[GREETING_LEN..], &hex(ready)[..], "{t}");
        }
        let mut req = session(SocketType::Req);
        feed(&mut req, &libzmq_greeting(0, 1), usize::MAX);
        let mut want = vec![0x04, 0x26, 0x05];
        want.extend_from_slice(
            b"READY\x0bSocket-Type\x00\x00\x00\x03REQ\x08Identity\x00\x00\x00\x00",
        );
        assert_eq!(&take_output(&mut req)[GREETING_LEN..], &want[..]);
    }

    #[test]
    fn req_delimiter_frames() {
        let mut req = ready_session(SocketType::Req, "REP", 1);
        req.send_message(&msg(&[b"", b"hello"]));
        assert_eq!(take_output(&mut req), hex("01 00 00 05 68 65 6c 6c 6f"));
        let mut rep = ready_session(SocketType::Rep, "REQ", 1);
        let (events, err) = feed(&mut rep, &hex("01 00 00 05 68 65 6c 6c 6f"), 1);
        assert_eq!(err, None);
        assert_eq!(events, [Event::Message(msg(&[b"", b"hello"]))]);
    }

    #[test]
    fn subscriptions_by_peer_version() {
        let mut sub = ready_session(SocketType::Sub, "PUB", 1);
        sub.send_subscribe(b"A", true);
        sub.send_subscribe(b"A", false);
        let mut want = hex("04 0b 09 53 55 42 53 43 52 49 42 45 41");
        want.extend(hex("04 08 06 43 41 4e 43 45 4c 41"));
        assert_eq!(take_output(&mut sub), want);

        let mut sub = ready_session(SocketType::Sub, "XPUB", 0);
        assert_eq!(sub.peer().map(|p| p.minor), Some(0));
        sub.send_subscribe(b"A", true);
        sub.send_subscribe(b"A", false);
        assert_eq!(take_output(&mut sub), hex("00 02 01 41 00 02 00 41"));

        // A publisher accepts both forms on any 3.x connection.
        for t in [SocketType::Pub, SocketType::XPub] {
            let mut publ = ready_session(t, "SUB", 0);
            let mut wire = want.clone();
            wire.extend(hex("00 02 01 41 00 02 00 41"));
            wire.extend(hex("00 01 01")); // subscribe to everything, 3.0 form
            let (events, err) = feed(&mut publ, &wire, 1);
            assert_eq!(err, None);
            let a = Bytes::from_static(b"A");
            assert_eq!(
                events,
                [
                    Event::Subscribe(a.clone()),
                    Event::Cancel(a.clone()),
                    Event::Subscribe(a.clone()),
                    Event::Cancel(a),
                    Event::Subscribe(Bytes::new()),
                ]
            );
        }
        // Subscriptions do not count towards the next message's size.
        let mut publ = Session::new(
            SessionConfig {
                max_msg_size: Some(4),
                ..SessionConfig::null(SocketType::Pub, true)
            },
            Instant::now(),
        );
        let mut wire = libzmq_greeting(0, 0);
        wire.extend(ready_frame(&[("Socket-Type", b"SUB")]));
        wire.extend(hex("00 02 01 41 00 02 01 41 00 02 01 41 00 04 61 62 63 64"));
        let (events, err) = feed(&mut publ, &wire, usize::MAX);
        assert_eq!((events.len(), err), (5, None));
        // Other sockets see 3.0 subscription-like messages as plain messages.
        let mut pull = ready_session(SocketType::Pull, "PUSH", 0);
        let (events, _) = feed(&mut pull, &hex("00 02 01 41"), usize::MAX);
        assert_eq!(events, [Event::Message(msg(&[b"\x01A"]))]);
    }

    #[test]
    fn ping_pong_and_ignored_commands() {
        let mut s = ready_session(SocketType::Dealer, "ROUTER", 1);
        s.send_ping(20, b"");
        assert_eq!(take_output(&mut s), hex("04 07 04 50 49 4e 47 00 14"));
        s.send_ping(0, &[9u8; 40]);
        assert_eq!(take_output(&mut s).len(), 2 + 5 + 2 + 16);

        let mut wire = hex("04 0a 04 50 49 4e 47 00 00 78 79 7a"); // PING ttl 0 "xyz"
        wire.extend(hex("04 08 04 50 4f 4e 47 78 79 7a")); // PONG: ignored
        wire.extend(hex("04 08 04 4a 4f 49 4e 67 72 70")); // JOIN: ignored
        wire.extend(ready_frame(&[("Socket-Type", b"ROUTER")])); // late READY: ignored
        wire.extend(hex("00 01 7a"));
        let (events, err) = feed(&mut s, &wire, 1);
        assert_eq!(err, None);
        assert_eq!(events, [Event::Message(msg(&[b"z"]))]);
        assert_eq!(take_output(&mut s), hex("04 08 04 50 4f 4e 47 78 79 7a"));

        let (_, err) = feed(&mut s, b"\x04\x0a\x05ERROR\x03bye", usize::MAX);
        assert_eq!(err, Some(ZmtpError::PeerError("bye".into())));
        // Errors are sticky.
        let mut more = BytesMut::from(&b"\x00\x00"[..]);
        assert_eq!(
            s.poll_event(&mut more),
            Err(ZmtpError::PeerError("bye".into()))
        );
        assert!(!s.is_ready());
    }

    #[test]
    fn error_during_handshake() {
        let mut s = session(SocketType::Dealer);
        let mut wire = libzmq_greeting(0, 1);
        wire.extend_from_slice(b"\x04\x0f\x05ERROR\x08no entry");
        let (_, err) = feed(&mut s, &wire, usize::MAX);
        assert_eq!(err, Some(ZmtpError::PeerError("no entry".into())));
    }

    #[test]
    fn frame_flag_violations() {
        let mut s = ready_session(SocketType::Pull, "PUSH", 1);
        let (_, err) = feed(&mut s, &[0x08, 0x00], usize::MAX);
        assert_eq!(err, Some(ZmtpError::ReservedFlags(0x08)));
        let mut s = ready_session(SocketType::Pull, "PUSH", 1);
        let (_, err) = feed(&mut s, &[0x81], usize::MAX);
        assert_eq!(err, Some(ZmtpError::ReservedFlags(0x81)));
        let mut s = ready_session(SocketType::Pull, "PUSH", 1);
        let (_, err) = feed(&mut s, &[0x05, 0x00], usize::MAX);
        assert_eq!(err, Some(ZmtpError::CommandWithMore));
        // During the handshake too.
        let mut s = session(SocketType::Pull);
        let mut wire = libzmq_greeting(0, 1);
        wire.push(0x40);
        let (_, err) = feed(&mut s, &wire, usize::MAX);
        assert_eq!(err, Some(ZmtpError::ReservedFlags(0x40)));
    }

    #[test]
    fn oversized_frames_rejected_before_the_body() {
        let mut s = Session::new(
            SessionConfig {
                max_msg_size: Some(1000),
                ..SessionConfig::null(SocketType::Pull, true)
            },
            Instant::now(),
        );
        let mut wire = libzmq_greeting(0, 1);
        wire.extend(ready_frame(&[("Socket-Type", b"PUSH")]));
        feed(&mut s, &wire, usize::MAX);
        assert!(s.is_ready());
        // Only the 9-octet header of a 4096-octet frame.
        let (_, err) = feed(&mut s, &hex("02 00 00 00 00 00 00 10 00"), usize::MAX);
        assert_eq!(
            err,
            Some(ZmtpError::FrameTooLarge {
                size: 4096,
                limit: 1000
            })
        );

        // Before the handshake, the handshake limit applies even without MAXMSGSIZE.
        let mut s = session(SocketType::Pull);
        let mut wire = libzmq_greeting(0, 1);
        wire.extend(hex("06 00 00 00 00 00 20 00 00"));
        let (_, err) = feed(&mut s, &wire, usize::MAX);
        assert_eq!(
            err,
            Some(ZmtpError::FrameTooLarge {
                size: 0x20_0000,
                limit: HANDSHAKE_FRAME_LIMIT
            })
        );
        // A size with bit 63 set.
        let mut s = ready_session(SocketType::Pull, "PUSH", 1);
        let (_, err) = feed(&mut s, &hex("02 ff ff ff ff ff ff ff ff"), usize::MAX);
        assert!(
            matches!(err, Some(ZmtpError::FrameTooLarge { limit, .. }) if limit == i64::MAX as u64)
        );
    }

    #[test]
    fn whole_message_size_and_frame_count_limits() {
        let mut s = Session::new(
            SessionConfig {
                max_msg_size: Some(10),
                ..SessionConfig::null(SocketType::Pull, true)
            },
            Instant::now(),
        );
        let mut wire = libzmq_greeting(0, 1);
        wire.extend(ready_frame(&[("Socket-Type", b"PUSH")]));
        let mut frames = BytesMut::new();
        encode_frame(true, false, b"123456", &mut frames);
        encode_frame(false, false, b"1234", &mut frames); // exactly 10: fine
        encode_frame(true, false, b"123456", &mut frames);
        encode_frame(false, false, b"12345", &mut frames); // 11: too large
        wire.extend_from_slice(&frames);
        let (events, err) = feed(&mut s, &wire, usize::MAX);
        assert_eq!(events.len(), 2);
        assert_eq!(
            err,
            Some(ZmtpError::MessageTooLarge {
                size: 11,
                limit: 10
            })
        );

        let mut s = ready_session(SocketType::Pull, "PUSH", 1);
        s.set_max_frames_per_message(3);
        let (events, err) = feed(
            &mut s,
            &hex("01 00 01 00 00 00 01 00 01 00 01 00 01 00"),
            usize::MAX,
        );
        assert_eq!(events, [Event::Message(msg(&[b"", b"", b""]))]);
        assert_eq!(err, Some(ZmtpError::TooManyFrames { limit: 3 }));
    }

    #[test]
    fn handshake_violations() {
        // A message frame before READY.
        let mut s = session(SocketType::Pull);
        let mut wire = libzmq_greeting(0, 1);
        wire.extend(hex("00 01 41"));
        assert_eq!(
            feed(&mut s, &wire, usize::MAX).1,
            Some(ZmtpError::UnexpectedMessage)
        );
        // A PING before READY.
        let mut s = session(SocketType::Pull);
        let mut wire = libzmq_greeting(0, 1);
        wire.extend(hex("04 07 04 50 49 4e 47 00 14"));
        assert_eq!(
            feed(&mut s, &wire, usize::MAX).1,
            Some(ZmtpError::UnexpectedCommand("PING".into()))
        );
        // READY without Socket-Type: an ERROR is queued.
        let mut s = session(SocketType::Pull);
        take_output(&mut s);
        let mut wire = libzmq_greeting(0, 1);
        wire.extend(ready_frame(&[("Identity", b"x")]));
        assert_eq!(
            feed(&mut s, &wire, usize::MAX).1,
            Some(ZmtpError::MissingSocketType)
        );
        assert!(take_output(&mut s).windows(5).any(|w| w == b"ERROR"));
        // Another mechanism.
        let mut s = session(SocketType::Pull);
        let mut g = libzmq_greeting(0, 1);
        g[12..32].copy_from_slice(MechanismName::PLAIN.as_bytes());
        assert_eq!(
            feed(&mut s, &g, usize::MAX).1,
            Some(ZmtpError::MechanismMismatch {
                ours: "NULL".into(),
                theirs: "PLAIN".into()
            })
        );
    }

    #[test]
    fn old_and_foreign_peers_rejected_early() {
        let mut s = session(SocketType::Pull);
        let (_, err) = feed(&mut s, b"GET / HTTP/1.1\r\n", 1);
        assert_eq!(err, Some(ZmtpError::BadSignature));
        let mut s = session(SocketType::Pull);
        let mut input = BytesMut::from(&b"G"[..]);
        assert_eq!(s.poll_event(&mut input), Err(ZmtpError::BadSignature));
        // Our greeting is still there to be written.
        assert_eq!(s.output().len(), GREETING_LEN);

        // ZMTP 2.0 peer: signature, revision 1, socket type; then it waits for us.
        let mut s = session(SocketType::Pull);
        let v2 = hex("ff 00 00 00 00 00 00 00 01 7f 01 08");
        let mut input = BytesMut::from(&v2[..10]);
        assert_eq!(s.poll_event(&mut input), Ok(None));
        input.extend_from_slice(&v2[10..11]);
        assert_eq!(
            s.poll_event(&mut input),
            Err(ZmtpError::UnsupportedVersion { major: 1, minor: 0 })
        );
        // ZMTP 1.0 peer (short identity frame).
        let mut s = session(SocketType::Pull);
        assert_eq!(
            feed(&mut s, &[0x01, 0x00], usize::MAX).1,
            Some(ZmtpError::BadSignature)
        );
    }

    #[test]
    fn byte_at_a_time_handshake_between_sessions() {
        let run = |chunk: usize| {
            let mut a = Session::new(config(SocketType::Req, Some(b"me"), false), Instant::now());
            let mut b = Session::new(config(SocketType::Router, None, true), Instant::now());
            let (sa, sb) = pump(&mut a, &mut b, chunk);
            a.send_message(&msg(&[b"", b"q"]));
            let (_, sb2) = pump(&mut a, &mut b, chunk);
            (sa.events, sb.events, sb2.events, sa.error.or(sb.error))
        };
        let whole = run(usize::MAX);
        assert_eq!(whole.3, None);
        assert_eq!(whole.2, [Event::Message(msg(&[b"", b"q"]))]);
        for chunk in [1, 2, 9, 64] {
            assert_eq!(run(chunk), whole, "chunk {chunk}");
        }
    }

    /// A toy mechanism exercising the extension points CURVE will use: a custom handshake
    /// command parser and a frame codec that wraps every frame in a `MSG` command.
    #[derive(Debug, Default)]
    struct WrapMechanism;

    #[derive(Debug)]
    struct WrapCodec;

    impl FrameCodec for WrapCodec {
        fn encode(&mut self, more: bool, command: bool, body: &[u8], out: &mut WriteQueue) {
            let flags = u8::from(more) | (u8::from(command) << 1);
            out.put_with(|buf| encode_command_parts(b"MSG", &[&[flags], body], buf));
        }
        fn decode(&mut self, wire: Frame) -> Result<Frame, ZmtpError> {
            if !wire.command {
                return Err(ZmtpError::Mechanism("clear frame".into()));
            }
            let (name, data) = split_command(&wire.body)?;
            match (&name[..], data.first()) {
                (b"MSG", Some(&flags)) => Ok(Frame {
                    more: flags & 1 != 0,
                    command: flags & 2 != 0,
                    body: data.slice(1..),
                }),
                _ => Err(ZmtpError::Mechanism("not a MSG".into())),
            }
        }
        fn wire_overhead(&self) -> u64 {
            5
        }
    }

    impl Mechanism for WrapMechanism {
        fn name(&self) -> MechanismName {
            MechanismName::new("X-WRAP").unwrap_or(MechanismName::NULL)
        }
        fn start(
            &mut self,
            ctx: &HandshakeContext<'_>,
            out: &mut Vec<Command>,
        ) -> Result<(), ZmtpError> {
            let mut data = BytesMut::new();
            local_metadata(ctx).encode(&mut data);
            out.push(Command::Unknown {
                name: Bytes::from_static(b"HELLO"),
                data: data.freeze(),
            });
            Ok(())
        }
        fn on_command(
            &mut self,
            _ctx: &HandshakeContext<'_>,
            cmd: Command,
            _out: &mut Vec<Command>,
        ) -> Result<MechanismStatus, ZmtpError> {
            match cmd {
                Command::Unknown { name, data } if &name[..] == b"HELLO" => {
                    let mut peer_properties = Properties::parse_bytes(data)?;
                    peer_properties.insert("User-Id", "tester");
                    Ok(MechanismStatus::Done { peer_properties })
                }
                other => Err(ZmtpError::UnexpectedCommand(
                    String::from_utf8_lossy(other.name()).into_owned(),
                )),
            }
        }
        fn parse_command(&self, body: Bytes) -> Result<Command, ZmtpError> {
            let (name, data) = split_command(&body)?;
            Ok(Command::Unknown { name, data })
        }
        fn take_codec(&mut self) -> Option<Box<dyn FrameCodec>> {
            Some(Box::new(WrapCodec))
        }
    }

    #[test]
    fn custom_mechanism_with_frame_codec() {
        let wrap = |t, server| {
            Session::new(
                SessionConfig {
                    max_msg_size: Some(100),
                    mechanism: Box::new(WrapMechanism),
                    ..SessionConfig::null(t, server)
                },
                Instant::now(),
            )
        };
        let (mut sub, mut publ) = (wrap(SocketType::Sub, false), wrap(SocketType::XPub, true));
        assert_eq!(
            queued(publ.output())[32],
            1,
            "non-NULL server announces as-server"
        );
        let (ss, sp) = pump(&mut sub, &mut publ, 3);
        assert_eq!((&ss.error, &sp.error), (&None, &None));
        assert_eq!(
            ready_of(&sp.events)
                .properties
                .get("user-id")
                .map(|v| &v[..]),
            Some(&b"tester"[..])
        );

        sub.send_subscribe(b"news", true);
        sub.send_ping(10, b"ctx");
        publ.send_message(&msg(&[b"news", b"body"]));
        publ.send_command(&Command::Unknown {
            name: Bytes::from_static(b"JOIN"),
            data: Bytes::new(),
        });
        let wire = queued(publ.output());
        assert!(wire.starts_with(b"\x04\x09\x03MSG\x01news"), "{wire:?}");
        let (ss, sp) = pump(&mut sub, &mut publ, 4);
        assert_eq!(sp.events, [Event::Subscribe(Bytes::from_static(b"news"))]);
        assert_eq!(ss.events, [Event::Message(msg(&[b"news", b"body"]))]);
        assert_eq!((&ss.error, &sp.error), (&None, &None));

        // MAXMSGSIZE is about the plaintext: the wire limit is raised by the codec overhead.
        publ.send_message(&Message::single(vec![0u8; 100]));
        let (ss, _) = pump(&mut sub, &mut publ, usize::MAX);
        assert_eq!((ss.events.len(), ss.error), (1, None));
        publ.send_message(&Message::single(vec![0u8; 101]));
        let (ss, _) = pump(&mut sub, &mut publ, usize::MAX);
        assert_eq!(
            ss.error,
            Some(ZmtpError::FrameTooLarge {
                size: 106,
                limit: 105
            })
        );
    }

    fn timed(socket_type: SocketType, limit: Duration, now: Instant) -> Session {
        let config = SessionConfig {
            handshake_timeout: Some(limit),
            ..SessionConfig::null(socket_type, true)
        };
        Session::new(config, now)
    }

    #[test]
    fn handshake_deadline_on_simulated_time() {
        let t0 = Instant::now();
        let limit = Duration::from_secs(30);
        let mut s = timed(SocketType::Pull, limit, t0);
        assert_eq!(s.poll_timeout(), Some(t0 + limit));
        // Half a greeting arrives, then nothing: the deadline does not move.
        let greeting = libzmq_greeting(0, 1);
        let mut input = BytesMut::from(&greeting[..20]);
        assert_eq!(s.poll_event(&mut input), Ok(None));
        assert_eq!(s.poll_timeout(), Some(t0 + limit));
        // Woken early (another timer, a spurious wake-up): nothing happens.
        s.handle_timeout(t0 + limit - Duration::from_millis(1));
        assert_eq!(s.poll_event(&mut input), Ok(None));
        assert_eq!(s.error(), None);
        // At the deadline the handshake fails, for good.
        s.handle_timeout(t0 + limit);
        input.extend_from_slice(&greeting[20..]);
        assert_eq!(s.poll_event(&mut input), Err(ZmtpError::HandshakeTimeout));
        assert_eq!(s.poll_event(&mut input), Err(ZmtpError::HandshakeTimeout));
        assert_eq!(s.poll_timeout(), None);
        assert!(!s.is_ready());
    }

    #[test]
    fn deadline_covers_the_mechanism_handshake_too() {
        // The greeting is complete but READY never comes.
        let t0 = Instant::now();
        let mut s = timed(SocketType::Pull, Duration::from_millis(100), t0);
        let (events, err) = feed(&mut s, &libzmq_greeting(0, 1), usize::MAX);
        assert_eq!((events.len(), err), (0, None));
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_millis(100)));
        s.handle_timeout(t0 + Duration::from_secs(5));
        assert_eq!(s.error(), Some(&ZmtpError::HandshakeTimeout));
    }

    #[test]
    fn finished_handshake_has_no_deadline() {
        let t0 = Instant::now();
        let limit = Duration::from_secs(1);
        let mut a = timed(SocketType::Dealer, limit, t0);
        let mut b = timed(SocketType::Dealer, limit, t0);
        handshake(&mut a, &mut b);
        assert_eq!((a.poll_timeout(), b.poll_timeout()), (None, None));
        // Long after the deadline the connection still works.
        a.handle_timeout(t0 + Duration::from_secs(3600));
        a.send_message(&msg(&[b"late"]));
        let (_, sb) = pump(&mut a, &mut b, usize::MAX);
        assert_eq!(sb.events, [Event::Message(msg(&[b"late"]))]);
        assert!(a.is_ready());
        // Without HANDSHAKE_IVL there is never a deadline.
        let s = Session::new(SessionConfig::null(SocketType::Pull, true), t0);
        assert_eq!(s.poll_timeout(), None);
    }

    fn heartbeating(interval: u64, ttl: Option<u64>, timeout: Option<u64>, t0: Instant) -> Session {
        let ms = Duration::from_millis;
        let config = SessionConfig {
            heartbeat: HeartbeatConfig {
                interval: Some(ms(interval)),
                ttl: ttl.map(ms),
                timeout: timeout.map(ms),
            },
            ..SessionConfig::null(SocketType::Dealer, false)
        };
        Session::new(config, t0)
    }

    /// The PING commands in `wire`, as (ttl in tenths of a second, context).
    fn pings(wire: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let mut d = FrameDecoder::new(None);
        let mut input = BytesMut::from(wire);
        let mut found = Vec::new();
        while let Ok(Some(frame)) = d.decode(&mut input) {
            if let Ok(Command::Ping {
                ttl_deciseconds,
                context,
            }) = Command::parse(frame.body)
            {
                found.push((ttl_deciseconds, context.to_vec()));
            }
        }
        found
    }

    #[test]
    fn heartbeats_ping_every_interval_and_give_up_on_a_silent_peer() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut a = heartbeating(100, Some(2500), Some(300), t0);
        let mut b = Session::new(SessionConfig::null(SocketType::Dealer, false), t0);
        handshake(&mut a, &mut b);
        // The first PING is one interval after the handshake.
        assert_eq!(a.poll_timeout(), Some(t0 + ms(100)));
        a.handle_timeout(t0 + ms(100));
        assert_eq!(pings(&take_output(&mut a)), [(25, vec![])]);
        // The next PING and HEARTBEAT_TIMEOUT now both run.
        assert_eq!(a.poll_timeout(), Some(t0 + ms(200)));
        a.handle_timeout(t0 + ms(200));
        a.handle_timeout(t0 + ms(300));
        assert_eq!(pings(&take_output(&mut a)).len(), 2);
        // A timeout is not restarted by later PINGs: 300 ms after the first, the peer is gone.
        assert_eq!(a.poll_timeout(), Some(t0 + ms(400)));
        a.handle_timeout(t0 + ms(399));
        assert_eq!(a.error(), None);
        a.handle_timeout(t0 + ms(400));
        assert_eq!(a.error(), Some(&ZmtpError::HeartbeatTimeout));
        assert_eq!(a.poll_timeout(), None);
    }

    #[test]
    fn any_frame_from_the_peer_ends_the_heartbeat_timeout() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut a = heartbeating(100, None, None, t0);
        let mut b = Session::new(SessionConfig::null(SocketType::Dealer, false), t0);
        handshake(&mut a, &mut b);
        a.handle_timeout(t0 + ms(100));
        // b answers (PONG): a's timeout is over, only the next PING is due.
        let (sa, _) = pump(&mut a, &mut b, usize::MAX);
        assert_eq!(sa.error, None);
        assert_eq!(a.poll_timeout(), Some(t0 + ms(200)));
        // A message counts as much as a PONG.
        a.handle_timeout(t0 + ms(200));
        take_output(&mut a);
        b.send_message(&msg(&[b"alive"]));
        let (sa, _) = pump(&mut a, &mut b, usize::MAX);
        assert_eq!(sa.events, [Event::Message(msg(&[b"alive"]))]);
        a.handle_timeout(t0 + ms(300));
        take_output(&mut a);
        a.handle_timeout(t0 + ms(350));
        assert_eq!(a.error(), None);
    }

    #[test]
    fn the_peers_ttl_is_honoured_from_its_ping() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        // We send no PINGs ourselves; the peer's PING asks for 2 s.
        let mut s = ready_session(SocketType::Dealer, "DEALER", 1);
        s.received_at(t0 + ms(500));
        let mut input = BytesMut::from(&hex("04 07 04 50 49 4e 47 00 14")[..]); // PING ttl 20
        assert_eq!(s.poll_event(&mut input), Ok(None));
        assert_eq!(s.poll_timeout(), Some(t0 + ms(2500)));
        s.handle_timeout(t0 + ms(2499));
        assert_eq!(s.error(), None);
        s.handle_timeout(t0 + ms(2500));
        assert_eq!(s.error(), Some(&ZmtpError::HeartbeatTimeout));
        // Any traffic after the PING moves the deadline: TTL after the latest input.
        let mut s = ready_session(SocketType::Dealer, "DEALER", 1);
        s.received_at(t0 + ms(500));
        let mut input = BytesMut::from(&hex("04 07 04 50 49 4e 47 00 14")[..]);
        assert_eq!(s.poll_event(&mut input), Ok(None));
        s.received_at(t0 + ms(1500));
        input.extend_from_slice(&hex("00 01 61"));
        assert!(matches!(
            s.poll_event(&mut input),
            Ok(Some(Event::Message(_)))
        ));
        assert_eq!(s.poll_timeout(), Some(t0 + ms(3500)));
        s.handle_timeout(t0 + ms(2500));
        assert_eq!(s.error(), None);
        // Not while the owner is not reading.
        s.set_reading_paused(true);
        assert_eq!(s.poll_timeout(), None);
        s.handle_timeout(t0 + ms(9000));
        assert_eq!(s.error(), None);
    }

    #[test]
    fn no_heartbeat_timeout_while_the_owner_is_not_reading() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut a = heartbeating(100, None, None, t0);
        let mut b = Session::new(SessionConfig::null(SocketType::Dealer, false), t0);
        handshake(&mut a, &mut b);
        a.handle_timeout(t0 + ms(100));
        a.set_reading_paused(true);
        // PINGs go on; the silence (unread input) does not end the connection.
        for t in [200, 300, 400, 500] {
            a.handle_timeout(t0 + ms(t));
        }
        assert_eq!(a.error(), None);
        assert_eq!(pings(&take_output(&mut a)).len(), 5);
        // Reading again: the next PING starts a timeout, which a silent peer lets pass.
        a.set_reading_paused(false);
        a.handle_timeout(t0 + ms(600));
        a.handle_timeout(t0 + ms(700));
        assert_eq!(a.error(), Some(&ZmtpError::HeartbeatTimeout));
    }

    #[test]
    fn pongs_do_not_pile_up_behind_unwritten_output() {
        let mut s = ready_session(SocketType::Dealer, "DEALER", 1);
        take_output(&mut s);
        // More than the limit waits to be written (the peer does not read).
        s.send_message(&Message::single(vec![7u8; PONG_BACKLOG_LIMIT + 1]));
        let waiting = s.output().len();
        let mut input = BytesMut::new();
        for i in 0..1000u16 {
            let ctx = i.to_be_bytes();
            input.extend_from_slice(&[0x04, 9, 4, b'P', b'I', b'N', b'G', 0, 0, ctx[0], ctx[1]]);
        }
        assert_eq!(s.poll_event(&mut input), Ok(None));
        assert_eq!(
            s.output().len(),
            waiting,
            "no PONG queued behind the backlog"
        );
        // Once it is written, one PONG answers the latest PING.
        s.output().advance(waiting);
        let pong = take_output(&mut s);
        assert_eq!(pong, hex("04 07 04 50 4f 4e 47 03 e7"));
        assert!(take_output(&mut s).is_empty());
    }

    #[test]
    fn session_is_send() {
        fn is_send<T: Send>() {}
        is_send::<Session>();
        is_send::<Event>();
    }

    fn arb_message() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let frame = prop_oneof![
            Just(0usize),
            Just(255usize),
            Just(256usize),
            0usize..300,
            8000usize..9000,
        ]
        .prop_flat_map(|len| prop::collection::vec(any::<u8>(), len));
        prop::collection::vec(frame, 1..5)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn multipart_messages_round_trip(
            messages in prop::collection::vec(arb_message(), 1..5),
            chunk in prop_oneof![Just(1usize), 2usize..100, Just(usize::MAX)],
        ) {
            let mut a = session(SocketType::Dealer);
            let mut b = session(SocketType::Dealer);
            handshake(&mut a, &mut b);
            let want: Vec<Event> = messages
                .iter()
                .map(|m| Event::Message(Message::from_frames(m.iter().cloned())))
                .collect();
            for m in &messages {
                a.send_message(&Message::from_frames(m.iter().cloned()));
            }
            let (_, sb) = pump(&mut a, &mut b, chunk);
            prop_assert_eq!(sb.error, None);
            prop_assert_eq!(sb.events, want);
        }

        #[test]
        fn random_input_never_panics(
            prefix in 0usize..3,
            noise in prop::collection::vec(any::<u8>(), 0..400),
            chunk in 1usize..80,
        ) {
            let mut wire = match prefix {
                0 => Vec::new(),
                1 => libzmq_greeting(0, 1),
                _ => {
                    let mut w = libzmq_greeting(0, 1);
                    w.extend(ready_frame(&[("Socket-Type", b"DEALER")]));
                    w
                }
            };
            wire.extend_from_slice(&noise);
            let mut s = Session::new(SessionConfig {
                max_msg_size: Some(1 << 16),
                ..SessionConfig::null(SocketType::Router, true)
            }, Instant::now());
            let _ = feed(&mut s, &wire, chunk);
            let mut s = session(SocketType::Pub);
            let _ = feed(&mut s, &wire, chunk);
        }

        #[test]
        fn random_frames_after_handshake_never_panic(
            frames in prop::collection::vec((0u8..8, prop::collection::vec(any::<u8>(), 0..40)), 0..20),
        ) {
            let mut wire = Vec::new();
            for (flags, body) in &frames {
                wire.push(*flags);
                wire.push(body.len() as u8);
                wire.extend_from_slice(body);
            }
            let mut s = ready_session(SocketType::XPub, "XSUB", 1);
            let _ = feed(&mut s, &wire, 3);
        }
    }
}
