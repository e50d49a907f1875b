//! ZMTP commands and connection metadata.
//!
//! A command frame body is `name-len (1 octet) name data`. Parsing slices the name and data out
//! of the frame body without copying.

use super::error::ZmtpError;
use super::frame::{encode_frame_header, header_len};
use super::write_queue::WriteQueue;
use bytes::{BufMut, Bytes, BytesMut};

/// Largest PING / PONG context, in octets.
pub const MAX_PING_CONTEXT: usize = 16;
/// Largest ERROR reason, in octets.
pub const MAX_ERROR_REASON: usize = 255;
/// Largest metadata property value, in octets (2^31 - 1).
pub const MAX_PROPERTY_VALUE: usize = i32::MAX as usize;

/// The property name of the sender's socket type.
pub const SOCKET_TYPE: &str = "Socket-Type";
/// The property name of the sender's routing identity.
pub const IDENTITY: &str = "Identity";

/// A ZMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// READY: the end of the NULL (or PLAIN) handshake, with the sender's metadata.
    Ready(Properties),
    /// ERROR: a fatal handshake error, with a reason to log.
    Error {
        /// The reason (at most 255 octets on the wire).
        reason: Bytes,
    },
    /// PING: a heartbeat request (ZMTP 3.1).
    Ping {
        /// How long the peer should wait for traffic before giving up, in tenths of a second
        /// (0: no limit).
        ttl_deciseconds: u16,
        /// Up to 16 octets to echo in the PONG.
        context: Bytes,
    },
    /// PONG: the reply to a PING, echoing its context (ZMTP 3.1).
    Pong {
        /// The PING's context.
        context: Bytes,
    },
    /// SUBSCRIBE: add a subscription (ZMTP 3.1; ZMTP 3.0 uses a `0x01` message instead).
    Subscribe(Bytes),
    /// CANCEL: remove a subscription (ZMTP 3.1; ZMTP 3.0 uses a `0x00` message instead).
    Cancel(Bytes),
    /// Any other command: mechanism commands (HELLO, WELCOME, INITIATE, MESSAGE, ...) or ones
    /// this implementation ignores (JOIN, LEAVE, ...).
    Unknown {
        /// The command name.
        name: Bytes,
        /// Everything after the name.
        data: Bytes,
    },
}

/// True for the octets allowed in a command name (ALPHA).
fn is_command_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= 255 && name.iter().all(u8::is_ascii_alphabetic)
}

/// Splits a command body into its name and data, without interpreting them.
pub fn split_command(body: &Bytes) -> Result<(Bytes, Bytes), ZmtpError> {
    let Some(&name_len) = body.first() else {
        return Err(ZmtpError::MalformedCommand("empty command frame"));
    };
    let end = 1 + usize::from(name_len);
    let Some(name) = body.get(1..end) else {
        return Err(ZmtpError::MalformedCommand("command name is truncated"));
    };
    if !is_command_name(name) {
        return Err(ZmtpError::MalformedCommand(
            "command name is empty or not ALPHA",
        ));
    }
    Ok((body.slice(1..end), body.slice(end..)))
}

impl Command {
    /// Parses a command frame body: `name-len name data`. Name and data are zero-copy slices of
    /// `body`.
    pub fn parse(body: Bytes) -> Result<Command, ZmtpError> {
        let (name, data) = split_command(&body)?;
        Ok(match &name[..] {
            b"READY" => Command::Ready(Properties::parse_bytes(data)?),
            b"ERROR" => Command::Error {
                reason: parse_error_reason(&data),
            },
            b"PING" => {
                let Some(ttl) = data.get(..2) else {
                    return Err(ZmtpError::MalformedCommand("PING without a TTL"));
                };
                let ttl_deciseconds = u16::from_be_bytes([ttl[0], ttl[1]]);
                // Contexts longer than allowed are truncated (as libzmq does), not rejected.
                let end = data.len().min(2 + MAX_PING_CONTEXT);
                Command::Ping {
                    ttl_deciseconds,
                    context: data.slice(2..end),
                }
            }
            b"PONG" => Command::Pong {
                context: data.slice(..data.len().min(MAX_PING_CONTEXT)),
            },
            b"SUBSCRIBE" => Command::Subscribe(data),
            b"CANCEL" => Command::Cancel(data),
            _ => Command::Unknown { name, data },
        })
    }

    /// The command name, e.g. `b"READY"`.
    #[must_use]
    pub fn name(&self) -> &[u8] {
        match self {
            Command::Ready(_) => b"READY",
            Command::Error { .. } => b"ERROR",
            Command::Ping { .. } => b"PING",
            Command::Pong { .. } => b"PONG",
            Command::Subscribe(_) => b"SUBSCRIBE",
            Command::Cancel(_) => b"CANCEL",
            Command::Unknown { name, .. } => name,
        }
    }

    /// Length of the command body (`name-len name data`) as [`encode_body`](Self::encode_body)
    /// writes it.
    #[must_use]
    pub fn body_len(&self) -> usize {
        let name = self.name().len().min(255);
        1 + name
            + match self {
                Command::Ready(props) => props.encoded_len(),
                Command::Error { reason } => 1 + reason.len().min(MAX_ERROR_REASON),
                Command::Ping { context, .. } => 2 + context.len().min(MAX_PING_CONTEXT),
                Command::Pong { context } => context.len().min(MAX_PING_CONTEXT),
                Command::Subscribe(topic) | Command::Cancel(topic) => topic.len(),
                Command::Unknown { data, .. } => data.len(),
            }
    }

    /// Writes the command body (`name-len name data`, no frame header). An ERROR reason is cut
    /// to 255 octets and a PING/PONG context to 16.
    pub fn encode_body(&self, out: &mut BytesMut) {
        let name = self.name();
        let name = &name[..name.len().min(255)];
        out.reserve(self.body_len());
        out.put_u8(name.len() as u8);
        out.put_slice(name);
        match self {
            Command::Ready(props) => props.encode(out),
            Command::Error { reason } => {
                let reason = &reason[..reason.len().min(MAX_ERROR_REASON)];
                out.put_u8(reason.len() as u8);
                out.put_slice(reason);
            }
            Command::Ping {
                ttl_deciseconds,
                context,
            } => {
                out.put_u16(*ttl_deciseconds);
                out.put_slice(&context[..context.len().min(MAX_PING_CONTEXT)]);
            }
            Command::Pong { context } => {
                out.put_slice(&context[..context.len().min(MAX_PING_CONTEXT)]);
            }
            Command::Subscribe(topic) | Command::Cancel(topic) => out.put_slice(topic),
            Command::Unknown { data, .. } => out.put_slice(data),
        }
    }

    /// Queues the whole command frame (header and body).
    pub fn encode(&self, out: &mut WriteQueue) {
        let len = self.body_len();
        out.put_with(|buf| {
            buf.reserve(header_len(len) + len);
            encode_frame_header(false, true, len, buf);
            self.encode_body(buf);
        });
    }
}

/// Lenient ERROR reason: a declared length longer than the data is cut to what is there, since
/// the command is fatal anyway and the reason is only for logging.
fn parse_error_reason(data: &Bytes) -> Bytes {
    match data.first() {
        None => Bytes::new(),
        Some(&len) => data.slice(1..data.len().min(1 + usize::from(len))),
    }
}

/// Writes a command frame whose data is the concatenation of `parts`, without building a
/// [`Command`] first.
pub fn encode_command_parts(name: &[u8], parts: &[&[u8]], out: &mut BytesMut) {
    debug_assert!(is_command_name(name));
    let len = 1 + name.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    out.reserve(header_len(len) + len);
    encode_frame_header(false, true, len, out);
    out.put_u8(name.len() as u8);
    out.put_slice(name);
    for part in parts {
        out.put_slice(part);
    }
}

/// Writes a command body (no header) whose data is the concatenation of `parts`.
pub fn encode_command_body_parts(name: &[u8], parts: &[&[u8]], out: &mut BytesMut) {
    debug_assert!(is_command_name(name));
    out.put_u8(name.len() as u8);
    out.put_slice(name);
    for part in parts {
        out.put_slice(part);
    }
}

/// Connection metadata: an ordered list of `(name, value)` properties. Names compare without
/// regard to ASCII case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, Bytes)>,
}

/// True for a valid property name: 1 to 255 of `ALPHA DIGIT - _ . +`.
#[must_use]
pub fn is_property_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'+'))
}

impl Properties {
    /// No properties.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`, replacing the value of a property with the same name (any case),
    /// else appending. `name` must be 1 to 255 of `ALPHA DIGIT - _ . +` and `value` at most
    /// 2^31 - 1 octets (checked in debug builds).
    pub fn insert(&mut self, name: &str, value: impl Into<Bytes>) {
        debug_assert!(
            is_property_name(name.as_bytes()),
            "bad property name {name:?}"
        );
        let value = value.into();
        debug_assert!(value.len() <= MAX_PROPERTY_VALUE);
        match self
            .entries
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name.to_owned(), value)),
        }
    }

    /// The value of the first property called `name` (any case).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The properties in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Number of properties.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no properties.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Parses metadata: `name-len(1) name value-len(4, big-endian) value`, repeated. Values are
    /// copied once into a shared buffer; see [`parse_bytes`](Self::parse_bytes) for zero-copy.
    pub fn parse(data: &[u8]) -> Result<Properties, ZmtpError> {
        Self::parse_bytes(Bytes::copy_from_slice(data))
    }

    /// As [`parse`](Self::parse), with the values sliced out of `data` without a copy.
    pub fn parse_bytes(data: Bytes) -> Result<Properties, ZmtpError> {
        let mut entries = Vec::new();
        let mut pos = 0;
        while let Some(&name_len) = data.get(pos) {
            pos += 1;
            let name_end = pos + usize::from(name_len);
            let Some(name) = data.get(pos..name_end) else {
                return Err(ZmtpError::MalformedCommand("property name is truncated"));
            };
            if !is_property_name(name) {
                return Err(ZmtpError::MalformedCommand(
                    "property name is empty or has invalid characters",
                ));
            }
            let Ok(name) = std::str::from_utf8(name) else {
                return Err(ZmtpError::MalformedCommand("property name is not ASCII"));
            };
            let name = name.to_owned();
            pos = name_end;
            let Some(size) = data.get(pos..pos + 4) else {
                return Err(ZmtpError::MalformedCommand(
                    "property value size is truncated",
                ));
            };
            let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize;
            pos += 4;
            if size > MAX_PROPERTY_VALUE {
                return Err(ZmtpError::MalformedCommand(
                    "property value size is 2^31 or more",
                ));
            }
            if size > data.len() - pos {
                return Err(ZmtpError::MalformedCommand("property value is truncated"));
            }
            // A copy, not a slice: a slice would keep the whole receive buffer the command
            // arrived in alive for as long as the peer's properties are kept.
            entries.push((name, Bytes::copy_from_slice(&data[pos..pos + size])));
            pos += size;
        }
        Ok(Properties { entries })
    }

    /// Length of the encoding [`encode`](Self::encode) writes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        self.entries
            .iter()
            .map(|(n, v)| 1 + n.len().min(255) + 4 + v.len())
            .sum()
    }

    /// Writes the metadata encoding.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        for (name, value) in &self.entries {
            let name = &name.as_bytes()[..name.len().min(255)];
            out.put_u8(name.len() as u8);
            out.put_slice(name);
            out.put_u32(value.len() as u32);
            out.put_slice(value);
        }
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a str, &'a Bytes);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Bytes)>,
        fn(&'a (String, Bytes)) -> (&'a str, &'a Bytes),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(n, v)| (n.as_str(), v))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::IoSlice;

    /// Everything queued in `q`, concatenated.
    pub(crate) fn queued(q: &WriteQueue) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 256];
        let n = q.io_slices(&mut slices);
        slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn encoded(cmd: &Command) -> Vec<u8> {
        let mut q = WriteQueue::new();
        cmd.encode(&mut q);
        queued(&q)
    }

    fn ready(props: &[(&str, &[u8])]) -> Command {
        let mut p = Properties::new();
        for (n, v) in props {
            p.insert(n, Bytes::copy_from_slice(v));
        }
        Command::Ready(p)
    }

    #[test]
    fn ready_vectors_from_the_spec() {
        let cases: [(Command, &str); 4] = [
            (
                ready(&[("Socket-Type", b"DEALER"), ("Identity", b"")]),
                "04 29 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 06 44 45 41 4c 45 52
                 08 49 64 65 6e 74 69 74 79 00 00 00 00",
            ),
            (
                ready(&[("Socket-Type", b"ROUTER")]),
                "04 1c 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 06 52 4f 55 54 45 52",
            ),
            (
                ready(&[("Socket-Type", b"XPUB")]),
                "04 1a 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 04 58 50 55 42",
            ),
            (
                ready(&[("Socket-Type", b"SUB")]),
                "04 19 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 03 53 55 42",
            ),
        ];
        for (cmd, wire) in cases {
            let wire = hex(wire);
            assert_eq!(encoded(&cmd), wire);
            assert_eq!(Command::parse(Bytes::from(wire[2..].to_vec())), Ok(cmd));
        }
    }

    #[test]
    fn libzmq_captured_commands() {
        let mut dealer_abc = vec![0x04, 0x2c, 0x05];
        dealer_abc.extend_from_slice(b"READY\x0bSocket-Type\x00\x00\x00\x06DEALER");
        dealer_abc.extend_from_slice(b"\x08Identity\x00\x00\x00\x03abc");
        assert_eq!(
            encoded(&ready(&[("Socket-Type", b"DEALER"), ("Identity", b"abc")])),
            dealer_abc
        );
        let mut req = vec![0x04, 0x26, 0x05];
        req.extend_from_slice(
            b"READY\x0bSocket-Type\x00\x00\x00\x03REQ\x08Identity\x00\x00\x00\x00",
        );
        assert_eq!(
            encoded(&ready(&[("Socket-Type", b"REQ"), ("Identity", b"")])),
            req
        );

        let cases: [(Command, &str); 4] = [
            (
                Command::Subscribe(Bytes::from_static(b"A")),
                "04 0b 09 53 55 42 53 43 52 49 42 45 41",
            ),
            (
                Command::Cancel(Bytes::from_static(b"A")),
                "04 08 06 43 41 4e 43 45 4c 41",
            ),
            (
                Command::Ping {
                    ttl_deciseconds: 20,
                    context: Bytes::new(),
                },
                "04 07 04 50 49 4e 47 00 14",
            ),
            (
                Command::Pong {
                    context: Bytes::from_static(b"xyz"),
                },
                "04 08 04 50 4f 4e 47 78 79 7a",
            ),
        ];
        for (cmd, wire) in cases {
            let wire = hex(wire);
            assert_eq!(encoded(&cmd), wire);
            assert_eq!(Command::parse(Bytes::from(wire[2..].to_vec())), Ok(cmd));
        }
    }

    #[test]
    fn parse_is_zero_copy() {
        let body = Bytes::from_static(b"\x09SUBSCRIBEtopic");
        let Command::Subscribe(topic) = Command::parse(body.clone()).unwrap() else {
            panic!("not a SUBSCRIBE");
        };
        assert_eq!(topic.as_ptr(), body[10..].as_ptr());
    }

    #[test]
    fn malformed_commands() {
        for bad in [
            &b""[..],
            b"\x00",
            b"\x05REA",
            b"\x04PIN1",
            b"\x04PING\x00",
            b"\x05READY\x00",
            b"\x05READY\x03abc\x00\x00",
            b"\x05READY\x03abc\x00\x00\x00\x05abcd",
            b"\x05READY\x03a b\x00\x00\x00\x00",
            b"\x05READY\x03abc\x80\x00\x00\x00",
        ] {
            assert!(
                matches!(
                    Command::parse(Bytes::from_static(bad)),
                    Err(ZmtpError::MalformedCommand(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn lenient_forms() {
        // Unknown commands keep their name and data.
        assert_eq!(
            Command::parse(Bytes::from_static(b"\x04JOINgrp")),
            Ok(Command::Unknown {
                name: Bytes::from_static(b"JOIN"),
                data: Bytes::from_static(b"grp")
            })
        );
        // Overlong PING context is truncated to 16 octets.
        let mut body = b"\x04PING\x00\x00".to_vec();
        body.extend_from_slice(&[7u8; 20]);
        let Ok(Command::Ping { context, .. }) = Command::parse(Bytes::from(body)) else {
            panic!("not a PING");
        };
        assert_eq!(context.len(), 16);
        // ERROR with a short or missing reason.
        assert_eq!(
            Command::parse(Bytes::from_static(b"\x05ERROR\x09oops")),
            Ok(Command::Error {
                reason: Bytes::from_static(b"oops")
            })
        );
        assert_eq!(
            Command::parse(Bytes::from_static(b"\x05ERROR")),
            Ok(Command::Error {
                reason: Bytes::new()
            })
        );
    }

    #[test]
    fn properties_are_case_insensitive_and_ordered() {
        let mut p = Properties::new();
        p.insert("Socket-Type", "PUSH");
        p.insert("X-Custom", "1");
        p.insert("socket-type", "PULL");
        assert_eq!(p.len(), 2);
        assert_eq!(p.get("SOCKET-TYPE").map(|v| &v[..]), Some(&b"PULL"[..]));
        let names: Vec<&str> = p.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["Socket-Type", "X-Custom"]);
        assert_eq!(p.get("Identity"), None);
    }

    fn arb_name(alphabet: &'static [u8], max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(alphabet), 1..=max)
            .prop_map(|v| String::from_utf8(v).expect("ascii"))
    }

    const PROP_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+";

    fn arb_properties() -> impl Strategy<Value = Properties> {
        prop::collection::vec(
            (
                arb_name(PROP_CHARS, 255),
                prop::collection::vec(any::<u8>(), 0..300),
            ),
            0..6,
        )
        .prop_map(|entries| {
            let mut p = Properties::new();
            for (n, v) in entries {
                p.insert(&n, v);
            }
            p
        })
    }

    fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
        prop::collection::vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
    }

    fn arb_command() -> impl Strategy<Value = Command> {
        prop_oneof![
            arb_properties().prop_map(Command::Ready),
            arb_bytes(255).prop_map(|reason| Command::Error { reason }),
            (any::<u16>(), arb_bytes(16)).prop_map(|(ttl_deciseconds, context)| Command::Ping {
                ttl_deciseconds,
                context
            }),
            arb_bytes(16).prop_map(|context| Command::Pong { context }),
            arb_bytes(600).prop_map(Command::Subscribe),
            arb_bytes(600).prop_map(Command::Cancel),
            (
                arb_name(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 255).prop_filter(
                    "known names parse as themselves",
                    |n| !matches!(
                        n.as_str(),
                        "READY" | "ERROR" | "PING" | "PONG" | "SUBSCRIBE" | "CANCEL"
                    )
                ),
                arb_bytes(300)
            )
                .prop_map(|(name, data)| Command::Unknown {
                    name: Bytes::from(name),
                    data
                }),
        ]
    }

    proptest! {
        #[test]
        fn properties_round_trip(p in arb_properties()) {
            let mut out = BytesMut::new();
            p.encode(&mut out);
            prop_assert_eq!(out.len(), p.encoded_len());
            prop_assert_eq!(Properties::parse(&out)?, p);
        }

        #[test]
        fn command_round_trip(cmd in arb_command()) {
            let wire = encoded(&cmd);
            let mut buf = BytesMut::from(&wire[..]);
            let frame = crate::proto::FrameDecoder::new(None).decode(&mut buf)?.expect("whole frame");
            prop_assert!(frame.command && !frame.more);
            prop_assert!(buf.is_empty());
            prop_assert_eq!(frame.body.len(), cmd.body_len());
            prop_assert_eq!(Command::parse(frame.body)?, cmd);
        }

        #[test]
        fn random_command_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = Command::parse(Bytes::from(body.clone()));
            let _ = Properties::parse(&body);
        }
    }
}
