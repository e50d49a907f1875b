//! CURVE key pairs: generate one, or derive the public key from a secret key
//! (`zmq_curve_keypair` and `zmq_curve_public`), and read or write them as zcert certificate
//! files ([`write_certificate`], [`read_certificate`], [`read_public_keys`]).
//!
//! ```
//! use monocoque_zmtp::keys::KeyPair;
//! let server = KeyPair::generate();
//! let again = KeyPair::from_secret(server.secret.clone());
//! assert_eq!(again.public, server.public);
//! println!("server public key: {}", server.public); // Z85, 40 characters
//! ```

mod zcert;

pub use zcert::{
    Certificate, CertificateError, read_certificate, read_public_keys, write_certificate,
};

use crypto_box::SecretKey;
use crypto_box::aead::OsRng;
use monocoque_core::{CurvePublicKey, CurveSecretKey};
use zeroize::Zeroize;

/// A long-term CURVE key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// The public key, given to peers (a client's CURVE_SERVERKEY is the server's).
    pub public: CurvePublicKey,
    /// The secret key (wiped when dropped, never shown by `Debug`).
    pub secret: CurveSecretKey,
}

impl KeyPair {
    /// A new key pair from the operating system's random source.
    #[must_use]
    pub fn generate() -> Self {
        Self::from_crypto(&SecretKey::generate(&mut OsRng))
    }

    /// The key pair of this secret key.
    #[must_use]
    pub fn from_secret(secret: CurveSecretKey) -> Self {
        let public = public_key(&secret);
        Self { public, secret }
    }

    fn from_crypto(secret: &SecretKey) -> Self {
        let mut raw = secret.to_bytes();
        let pair = Self {
            public: CurvePublicKey::from_bytes(*secret.public_key().as_bytes()),
            secret: CurveSecretKey::from_bytes(raw),
        };
        raw.zeroize();
        pair
    }
}

/// The public key of a secret key (X25519 with the base point).
#[must_use]
pub fn public_key(secret: &CurveSecretKey) -> CurvePublicKey {
    let secret = SecretKey::from_bytes(*secret.as_bytes());
    CurvePublicKey::from_bytes(*secret.public_key().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libzmq_test_pairs() {
        for (public, secret) in [
            (
                "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
                "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs",
            ),
            (
                "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
                "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6",
            ),
        ] {
            let pair = KeyPair::from_secret(CurveSecretKey::from_z85(secret).unwrap());
            assert_eq!(pair.public.to_z85(), public);
        }
    }

    #[test]
    fn generated_pairs_differ_and_hold_together() {
        let (a, b) = (KeyPair::generate(), KeyPair::generate());
        assert_ne!(a.public, b.public);
        assert_eq!(public_key(&a.secret), a.public);
        assert!(!format!("{a:?}").contains(&a.secret.to_z85()));
    }
}
