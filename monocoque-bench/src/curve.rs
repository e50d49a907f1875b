//! The CURVE set-up of the CURVE scenarios: the two key pairs both tools of
//! a pair use ([`CurveKeys`]), handed from `compare` to the tool processes in
//! the environment variable [`KEYS_ENV`], and the handshake tools'
//! result ([`Handshakes`]).
//!
//! The binding tool (`local_thr --curve`, `handshake_server`) is the CURVE
//! server: it needs the server's secret key. The connecting tool
//! (`remote_thr --curve`, `handshakes`) is the CURVE client: its own key pair
//! and the server's public key. Neither side runs a ZAP handler, so the
//! server admits any client that proves its key (libzmq 4.3's behaviour
//! without ZAP, and monocoque's).
//!
//! Keys travel in the environment, not on the command line, so that the
//! secret keys do not show in `ps`. Without [`KEYS_ENV`] the tools use
//! libzmq's published test key pairs ([`CurveKeys::test_pairs`]), which is
//! what makes a pair of tools started by hand work; `compare` always hands
//! them freshly generated pairs.

use std::fmt::Write as _;
use std::time::Duration;

use monocoque::{CurvePublicKey, CurveSecretKey, KeyPair};

use crate::output::rate;

/// The environment variable with the four keys: server public, server
/// secret, client public, client secret, as Z85 text separated by spaces
/// (Z85 has no space in its alphabet).
pub const KEYS_ENV: &str = "MONOCOQUE_BENCH_CURVE_KEYS";

/// The server's and the client's key pairs, as 40-character Z85 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurveKeys {
    /// The server's public key (the client's CURVE_SERVERKEY).
    pub server_public: String,
    /// The server's secret key.
    pub server_secret: String,
    /// The client's public key.
    pub client_public: String,
    /// The client's secret key.
    pub client_secret: String,
}

impl CurveKeys {
    /// Two fresh key pairs from the operating system's random source.
    pub fn generate() -> CurveKeys {
        let (server, client) = (KeyPair::generate(), KeyPair::generate());
        CurveKeys {
            server_public: server.public.to_z85(),
            server_secret: server.secret.to_z85(),
            client_public: client.public.to_z85(),
            client_secret: client.secret.to_z85(),
        }
    }

    /// The two key pairs of libzmq's own CURVE tests (`tests/testutil_security`),
    /// public knowledge: for tools started by hand only.
    pub fn test_pairs() -> CurveKeys {
        CurveKeys {
            server_public: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7".into(),
            server_secret: "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6".into(),
            client_public: "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID".into(),
            client_secret: "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs".into(),
        }
    }

    /// The value of [`KEYS_ENV`] for these keys.
    pub fn to_env(&self) -> String {
        [
            &self.server_public,
            &self.server_secret,
            &self.client_public,
            &self.client_secret,
        ]
        .map(String::as_str)
        .join(" ")
    }

    /// Reads a value of [`KEYS_ENV`]: four Z85 keys separated by
    /// whitespace, each checked, and each public key checked against its
    /// secret key.
    pub fn parse(text: &str) -> Result<CurveKeys, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let [server_public, server_secret, client_public, client_secret] = words[..] else {
            return Err(format!(
                "{KEYS_ENV} must hold 4 Z85 keys (server public, server secret, client public, client secret), not {}",
                words.len()
            ));
        };
        for (who, public, secret) in [
            ("server", server_public, server_secret),
            ("client", client_public, client_secret),
        ] {
            let public =
                CurvePublicKey::from_z85(public).map_err(|e| format!("{who} public key: {e}"))?;
            let secret =
                CurveSecretKey::from_z85(secret).map_err(|e| format!("{who} secret key: {e}"))?;
            if KeyPair::from_secret(secret).public != public {
                return Err(format!(
                    "{KEYS_ENV}: the {who} public key is not that of its secret key"
                ));
            }
        }
        Ok(CurveKeys {
            server_public: server_public.into(),
            server_secret: server_secret.into(),
            client_public: client_public.into(),
            client_secret: client_secret.into(),
        })
    }

    /// The keys in [`KEYS_ENV`], else [`CurveKeys::test_pairs`].
    pub fn from_env() -> Result<CurveKeys, String> {
        match std::env::var(KEYS_ENV) {
            Ok(text) => CurveKeys::parse(&text),
            Err(std::env::VarError::NotPresent) => Ok(CurveKeys::test_pairs()),
            Err(e) => Err(format!("{KEYS_ENV}: {e}")),
        }
    }
}

/// What `handshakes` measured: `peers` clients, each connecting a fresh
/// CURVE socket `count` times in sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Handshakes {
    /// Size of the one request and its reply that end each handshake.
    pub size: usize,
    /// Handshakes per client.
    pub count: u64,
    /// Clients making handshakes at the same time.
    pub peers: usize,
    /// Handshakes per second, all clients together: `peers * count` over the
    /// time from the first connect to the last close.
    pub per_sec: f64,
}

impl Handshakes {
    /// `peers * count` handshakes of `size`-byte roundtrips in `elapsed`.
    pub fn new(size: usize, count: u64, peers: usize, elapsed: Duration) -> Handshakes {
        Handshakes {
            size,
            count,
            peers,
            per_sec: rate(count * peers as u64, elapsed),
        }
    }

    /// The result lines of `handshakes`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let total = self.count * self.peers as u64;
        let _ = write!(
            out,
            "message size: {} [B]\nmessage count: {}\npeers: {}\nhandshakes: {total} [handshakes]\nmean handshake rate: {} [handshakes/s]\n",
            self.size,
            self.count,
            self.peers,
            self.per_sec.floor() as u64
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::value;

    #[test]
    fn keys_round_trip_through_the_environment_text() {
        let keys = CurveKeys::generate();
        assert_eq!(CurveKeys::parse(&keys.to_env()), Ok(keys.clone()));
        let test = CurveKeys::test_pairs();
        assert_eq!(CurveKeys::parse(&test.to_env()), Ok(test.clone()));
        assert_ne!(keys, test);
        assert!(CurveKeys::parse("a b c").is_err());
        let swapped = format!(
            "{} {} {} {}",
            test.client_public, test.server_secret, test.client_public, test.client_secret
        );
        assert!(CurveKeys::parse(&swapped).unwrap_err().contains("server"));
        let short = format!(
            "x {} {} {}",
            test.server_secret, keys.client_public, keys.client_secret
        );
        assert!(CurveKeys::parse(&short).is_err());
    }

    #[test]
    fn handshake_lines() {
        let h = Handshakes::new(1, 500, 4, Duration::from_secs(2));
        let text = h.render();
        assert_eq!(
            text,
            "message size: 1 [B]\nmessage count: 500\npeers: 4\nhandshakes: 2000 [handshakes]\nmean handshake rate: 1000 [handshakes/s]\n"
        );
        assert_eq!(value(&text, "mean handshake rate"), Some(1000.0));
        assert_eq!(value(&text, "handshakes"), Some(2000.0));
    }
}
