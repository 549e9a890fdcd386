//! Key types of the suite: X25519 HPKE keys and Ed25519 signature keys.
//!
//! Private keys zeroize on drop (through the wrapped crates) and print as
//! redacted in `Debug`.

use core::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use hpke::{Deserializable, Kem as _, Serializable};
use zeroize::Zeroizing;

use super::cipher_suite::{HPKE_KEY_LENGTH, Kem, SIGNATURE_KEY_LENGTH};
use super::error::CryptoError;

type KemPrivateKey = <Kem as hpke::Kem>::PrivateKey;
type KemPublicKey = <Kem as hpke::Kem>::PublicKey;

fn exact_array<const N: usize>(what: &'static str, bytes: &[u8]) -> Result<[u8; N], CryptoError> {
    <[u8; N]>::try_from(bytes).map_err(|_| CryptoError::InvalidLength {
        what,
        expected: N,
        actual: bytes.len(),
    })
}

/// An X25519 public key used for HPKE (leaf and parent encryption keys,
/// init keys, the external key).
#[derive(Clone, PartialEq, Eq)]
pub struct HpkePublicKey(KemPublicKey);

impl HpkePublicKey {
    /// Parses the 32-byte encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        exact_array::<HPKE_KEY_LENGTH>("HPKE public key", bytes)?;
        KemPublicKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| CryptoError::InvalidPublicKey)
    }

    /// The 32-byte encoding.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; HPKE_KEY_LENGTH] {
        self.0.to_bytes().into()
    }

    pub(crate) fn as_kem(&self) -> &KemPublicKey {
        &self.0
    }
}

impl fmt::Debug for HpkePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HpkePublicKey(")?;
        for byte in self.to_bytes() {
            write!(f, "{byte:02x}")?;
        }
        write!(f, ")")
    }
}

/// An X25519 private key used for HPKE decryption.
#[derive(Clone)]
pub struct HpkePrivateKey(KemPrivateKey);

impl HpkePrivateKey {
    /// Parses the 32-byte encoding (RFC 9180 clamps it).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        exact_array::<HPKE_KEY_LENGTH>("HPKE private key", bytes)?;
        KemPrivateKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| CryptoError::InvalidLength {
                what: "HPKE private key",
                expected: HPKE_KEY_LENGTH,
                actual: bytes.len(),
            })
    }

    /// The clamped 32-byte encoding, wiped when dropped.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<[u8; HPKE_KEY_LENGTH]> {
        Zeroizing::new(self.0.to_bytes().into())
    }

    /// The matching public key.
    #[must_use]
    pub fn public_key(&self) -> HpkePublicKey {
        HpkePublicKey(<Kem as hpke::Kem>::sk_to_pk(&self.0))
    }

    pub(crate) fn as_kem(&self) -> &KemPrivateKey {
        &self.0
    }
}

impl fmt::Debug for HpkePrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HpkePrivateKey(<redacted>)")
    }
}

/// An HPKE key pair.
#[derive(Debug, Clone)]
pub struct HpkeKeyPair {
    /// The private half.
    pub private_key: HpkePrivateKey,
    /// The public half.
    pub public_key: HpkePublicKey,
}

impl HpkeKeyPair {
    /// RFC 9180 `DeriveKeyPair`, as used by RFC 9420 to turn path, node and
    /// external secrets into key pairs.
    #[must_use]
    pub fn derive(secret: &[u8]) -> Self {
        let (private_key, public_key) = Kem::derive_keypair(secret);
        Self {
            private_key: HpkePrivateKey(private_key),
            public_key: HpkePublicKey(public_key),
        }
    }

    /// A fresh key pair from caller-supplied randomness.
    pub fn generate(rng: &mut impl rand_core::CryptoRng) -> Self {
        let mut seed = Zeroizing::new([0u8; HPKE_KEY_LENGTH]);
        rng.fill_bytes(seed.as_mut());
        Self::derive(seed.as_ref())
    }
}

/// An Ed25519 verification key (a member's credential key).
#[derive(Clone, PartialEq, Eq)]
pub struct SignaturePublicKey(VerifyingKey);

impl SignaturePublicKey {
    /// Parses the 32-byte encoding; rejects non-points.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array = exact_array::<SIGNATURE_KEY_LENGTH>("signature public key", bytes)?;
        VerifyingKey::from_bytes(&array)
            .map(Self)
            .map_err(|_| CryptoError::InvalidPublicKey)
    }

    /// The 32-byte encoding.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; SIGNATURE_KEY_LENGTH] {
        self.0.to_bytes()
    }

    pub(crate) fn as_dalek(&self) -> &VerifyingKey {
        &self.0
    }
}

impl fmt::Debug for SignaturePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignaturePublicKey(")?;
        for byte in self.to_bytes() {
            write!(f, "{byte:02x}")?;
        }
        write!(f, ")")
    }
}

/// An Ed25519 signing key.
#[derive(Clone)]
pub struct SignaturePrivateKey(SigningKey);

impl SignaturePrivateKey {
    /// Builds the key from its 32-byte seed (the RFC 8032 private key).
    pub fn from_seed(seed: &[u8]) -> Result<Self, CryptoError> {
        let array = Zeroizing::new(exact_array::<SIGNATURE_KEY_LENGTH>(
            "signature private key",
            seed,
        )?);
        Ok(Self(SigningKey::from_bytes(&array)))
    }

    /// A fresh key from caller-supplied randomness.
    pub fn generate(rng: &mut impl rand_core::CryptoRng) -> Self {
        let mut seed = Zeroizing::new([0u8; SIGNATURE_KEY_LENGTH]);
        rng.fill_bytes(seed.as_mut());
        Self(SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed, wiped when dropped.
    #[must_use]
    pub fn to_seed(&self) -> Zeroizing<[u8; SIGNATURE_KEY_LENGTH]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching verification key.
    #[must_use]
    pub fn public_key(&self) -> SignaturePublicKey {
        SignaturePublicKey(self.0.verifying_key())
    }

    pub(crate) fn as_dalek(&self) -> &SigningKey {
        &self.0
    }
}

impl fmt::Debug for SignaturePrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignaturePrivateKey(<redacted>)")
    }
}
