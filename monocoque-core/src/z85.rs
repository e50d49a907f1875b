//! Z85, the text encoding of binary data ZeroMQ uses for CURVE keys (RFC 32).
//!
//! Every 4 octets become 5 printable characters (the value, big-endian, in base 85 over the
//! alphabet below). The RFC allows only lengths that divide evenly: binary data must be a
//! multiple of 4 octets and text a multiple of 5 characters, and anything else is an error
//! here (libzmq's `zmq_z85_encode` returns NULL for it).
//!
//! ```
//! use monocoque_core::z85;
//! let bytes = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
//! assert_eq!(z85::encode(&bytes).unwrap(), "HelloWorld");
//! assert_eq!(z85::decode("HelloWorld").unwrap(), bytes);
//! ```

use std::fmt;

/// The 85 characters, in value order.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Value of each ASCII character, 0xFF where the character is not in the alphabet.
const DECODE: [u8; 128] = {
    let mut table = [0xFF_u8; 128];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Why a Z85 conversion failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Z85Error {
    /// Binary input whose length is not a multiple of 4.
    BinaryLength(usize),
    /// Text whose length is not a multiple of 5.
    TextLength(usize),
    /// A character outside the Z85 alphabet, at this byte offset.
    InvalidChar(usize),
    /// A group of 5 characters whose value does not fit in 4 octets, at this byte offset.
    Overflow(usize),
}

impl fmt::Display for Z85Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Z85Error::BinaryLength(n) => {
                write!(f, "Z85 encodes multiples of 4 octets, not {n}")
            }
            Z85Error::TextLength(n) => {
                write!(f, "Z85 text is a multiple of 5 characters, not {n}")
            }
            Z85Error::InvalidChar(at) => write!(f, "not a Z85 character at offset {at}"),
            Z85Error::Overflow(at) => {
                write!(f, "Z85 group at offset {at} is larger than 4 octets")
            }
        }
    }
}

impl std::error::Error for Z85Error {}

/// Encodes `data` (a multiple of 4 octets) as Z85 text.
pub fn encode(data: &[u8]) -> Result<String, Z85Error> {
    if data.len() % 4 != 0 {
        return Err(Z85Error::BinaryLength(data.len()));
    }
    let mut text = String::with_capacity(data.len() / 4 * 5);
    for chunk in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mut group = [0u8; 5];
        for slot in group.iter_mut().rev() {
            *slot = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        text.extend(group.iter().map(|&c| char::from(c)));
    }
    Ok(text)
}

/// Decodes Z85 text (a multiple of 5 characters) into bytes.
pub fn decode(text: &str) -> Result<Vec<u8>, Z85Error> {
    let text = text.as_bytes();
    if text.len() % 5 != 0 {
        return Err(Z85Error::TextLength(text.len()));
    }
    let mut data = Vec::with_capacity(text.len() / 5 * 4);
    for (n, group) in text.chunks_exact(5).enumerate() {
        let start = n * 5;
        let mut value: u64 = 0;
        for (i, &c) in group.iter().enumerate() {
            let digit = DECODE.get(usize::from(c)).copied().unwrap_or(0xFF);
            if digit == 0xFF {
                return Err(Z85Error::InvalidChar(start + i));
            }
            value = value * 85 + u64::from(digit);
        }
        let value = u32::try_from(value).map_err(|_| Z85Error::Overflow(start))?;
        data.extend_from_slice(&value.to_be_bytes());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc32_vectors() {
        let hello = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&hello).unwrap(), "HelloWorld");
        assert_eq!(decode("HelloWorld").unwrap(), hello);
        let key = unhex("8E0BDD697628B91D8F245587EE95C5B04D48963F79259877B49CD9063AEAD3B7");
        let text = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
        assert_eq!(encode(&key).unwrap(), text);
        assert_eq!(decode(text).unwrap(), key);
        assert_eq!(encode(&[]).unwrap(), "");
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
        assert_eq!(encode(&[0; 4]).unwrap(), "00000");
        assert_eq!(encode(&[0xFF; 4]).unwrap(), "%nSc0");
        assert_eq!(decode("%nSc0").unwrap(), [0xFF; 4]);
    }

    #[test]
    fn bad_lengths_and_characters_are_errors() {
        assert_eq!(encode(&[1, 2, 3]), Err(Z85Error::BinaryLength(3)));
        assert_eq!(decode("abcd"), Err(Z85Error::TextLength(4)));
        assert_eq!(decode("abcd\"efgh~"), Err(Z85Error::InvalidChar(4)));
        assert_eq!(decode("0000é"), Err(Z85Error::TextLength(6)));
        assert_eq!(decode("0000\u{7f}"), Err(Z85Error::InvalidChar(4)));
        // "%nSc1" is 2^32: one more than 4 octets hold.
        assert_eq!(decode("00000%nSc1"), Err(Z85Error::Overflow(5)));
        assert_eq!(decode("#####"), Err(Z85Error::Overflow(0)));
    }

    proptest! {
        #[test]
        fn round_trip(words in proptest::collection::vec(any::<[u8; 4]>(), 0..32)) {
            let data: Vec<u8> = words.concat();
            let text = encode(&data).unwrap();
            prop_assert_eq!(text.len(), data.len() / 4 * 5);
            prop_assert_eq!(decode(&text).unwrap(), data);
        }
    }
}
