//! The cipher suites of RFC 9420 that Aura speaks.
//!
//! Aura's own groups run on one suite, 3,
//! `MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519` ([`CipherSuite::AURA`]):
//! pinning a single suite removes negotiation (and downgrade) from the
//! protocol. [`Group::create`](super::group::Group::create) and
//! [`generate_key_package`](super::group::generate_key_package) only ever use
//! it, and a member only ever proposes it.
//!
//! Suite 1, `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519`, differs from
//! suite 3 in the AEAD alone (AES-128-GCM, `Nk` = 16, in MLS and in HPKE). It
//! exists so that Aura can follow groups of other MLS implementations (and
//! the MLS working group's vectors, some of which are published for suite 1
//! only). Joining such a group is an explicit opt-in
//! ([`JoinOptions::interop_suites`](super::group::JoinOptions)); a plain
//! join refuses it, so a peer cannot move an Aura user onto another suite.
//! Once joined, a group runs on the suite its GroupContext names, which a
//! commit cannot change, and its stored state records it.
//!
//! Everything else (KEM, KDF, hash, signature) is shared by both suites, so
//! those lengths stay compile-time constants; only the AEAD goes through
//! [`CipherSuite`].

use aes_gcm::Aes128Gcm;
use chacha20poly1305::ChaCha20Poly1305;
use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};

use super::aead;
use super::error::CryptoError;
use super::keys::{HpkePrivateKey, HpkePublicKey};

/// The RFC 9420 protocol version `mls10`.
pub const PROTOCOL_VERSION_MLS10: u16 = 1;

/// IANA code point of the suite Aura's groups run on.
pub const CIPHER_SUITE_ID: u16 = 3;

/// `KDF.Nh`, the HKDF-SHA256 output (and hash) length.
pub const HASH_LENGTH: usize = 32;

/// `AEAD.Nk` of ChaCha20-Poly1305 (suite 3), the longest AEAD key of the
/// supported suites.
pub const AEAD_KEY_LENGTH: usize = 32;

/// `AEAD.Nk` of AES-128-GCM (suite 1).
pub const AES_128_GCM_KEY_LENGTH: usize = 16;

/// `AEAD.Nn`, the nonce length of both AEADs.
pub const AEAD_NONCE_LENGTH: usize = 12;

/// Authentication tag length of both AEADs.
pub const AEAD_TAG_LENGTH: usize = 16;

/// X25519 public and private key length (`Npk`, `Nsk`).
pub const HPKE_KEY_LENGTH: usize = 32;

/// Ed25519 public key and private seed length.
pub const SIGNATURE_KEY_LENGTH: usize = 32;

/// Ed25519 signature length.
pub const SIGNATURE_LENGTH: usize = 64;

/// `MAC` output length (HMAC-SHA256).
pub const MAC_LENGTH: usize = HASH_LENGTH;

/// HPKE KEM of both suites.
pub type Kem = hpke::kem::X25519HkdfSha256;
/// HPKE KDF of both suites.
pub type Kdf = hpke::kdf::HkdfSha256;

/// A cipher suite Aura can run a group on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// Suite 1: X25519, AES-128-GCM, SHA-256, Ed25519. Joined only on opt-in.
    X25519Aes128GcmSha256Ed25519,
    /// Suite 3: X25519, ChaCha20-Poly1305, SHA-256, Ed25519. Aura's own.
    X25519ChaCha20Poly1305Sha256Ed25519,
}

impl CipherSuite {
    /// The suite Aura creates its groups and key packages with.
    pub const AURA: Self = Self::X25519ChaCha20Poly1305Sha256Ed25519;

    /// The IANA code point.
    #[must_use]
    pub const fn id(self) -> u16 {
        match self {
            Self::X25519Aes128GcmSha256Ed25519 => 1,
            Self::X25519ChaCha20Poly1305Sha256Ed25519 => CIPHER_SUITE_ID,
        }
    }

    /// `AEAD.Nk`.
    #[must_use]
    pub const fn aead_key_length(self) -> usize {
        match self {
            Self::X25519Aes128GcmSha256Ed25519 => AES_128_GCM_KEY_LENGTH,
            Self::X25519ChaCha20Poly1305Sha256Ed25519 => AEAD_KEY_LENGTH,
        }
    }

    /// `AEAD.Nn`.
    #[must_use]
    pub const fn aead_nonce_length(self) -> usize {
        AEAD_NONCE_LENGTH
    }

    /// `AEAD.Seal(key, nonce, aad, plaintext)`: ciphertext with the tag appended.
    pub fn seal(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        match self {
            Self::X25519Aes128GcmSha256Ed25519 => {
                aead::seal::<Aes128Gcm>(key, nonce, aad, plaintext)
            }
            Self::X25519ChaCha20Poly1305Sha256Ed25519 => {
                aead::seal::<ChaCha20Poly1305>(key, nonce, aad, plaintext)
            }
        }
    }

    /// `AEAD.Open(key, nonce, aad, ciphertext)`.
    pub fn open(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        match self {
            Self::X25519Aes128GcmSha256Ed25519 => {
                aead::open::<Aes128Gcm>(key, nonce, aad, ciphertext)
            }
            Self::X25519ChaCha20Poly1305Sha256Ed25519 => {
                aead::open::<ChaCha20Poly1305>(key, nonce, aad, ciphertext)
            }
        }
    }

    /// HPKE base-mode `SealBase(public_key, info, aad = "", plaintext)`:
    /// the encapsulated key and the ciphertext.
    pub fn hpke_seal(
        self,
        public_key: &HpkePublicKey,
        info: &[u8],
        plaintext: &[u8],
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        match self {
            Self::X25519Aes128GcmSha256Ed25519 => {
                hpke_seal::<hpke::aead::AesGcm128>(public_key, info, plaintext, rng)
            }
            Self::X25519ChaCha20Poly1305Sha256Ed25519 => {
                hpke_seal::<hpke::aead::ChaCha20Poly1305>(public_key, info, plaintext, rng)
            }
        }
    }

    /// HPKE base-mode `OpenBase(kem_output, private_key, info, aad = "", ciphertext)`.
    pub fn hpke_open(
        self,
        private_key: &HpkePrivateKey,
        kem_output: &[u8],
        info: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        match self {
            Self::X25519Aes128GcmSha256Ed25519 => {
                hpke_open::<hpke::aead::AesGcm128>(private_key, kem_output, info, ciphertext)
            }
            Self::X25519ChaCha20Poly1305Sha256Ed25519 => {
                hpke_open::<hpke::aead::ChaCha20Poly1305>(private_key, kem_output, info, ciphertext)
            }
        }
    }
}

impl TryFrom<u16> for CipherSuite {
    type Error = CryptoError;

    fn try_from(id: u16) -> Result<Self, Self::Error> {
        match id {
            1 => Ok(Self::X25519Aes128GcmSha256Ed25519),
            CIPHER_SUITE_ID => Ok(Self::X25519ChaCha20Poly1305Sha256Ed25519),
            other => Err(CryptoError::UnsupportedCipherSuite(other)),
        }
    }
}

fn hpke_seal<A: hpke::aead::Aead>(
    public_key: &HpkePublicKey,
    info: &[u8],
    plaintext: &[u8],
    rng: &mut impl rand_core::CryptoRng,
) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let (encapsulated_key, ciphertext) = hpke::single_shot_seal_with_rng::<A, Kdf, Kem>(
        &OpModeS::Base,
        public_key.as_kem(),
        info,
        plaintext,
        &[],
        rng,
    )
    .map_err(|_| CryptoError::Hpke)?;
    Ok((encapsulated_key.to_bytes().to_vec(), ciphertext))
}

fn hpke_open<A: hpke::aead::Aead>(
    private_key: &HpkePrivateKey,
    kem_output: &[u8],
    info: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let encapsulated_key =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(kem_output).map_err(|_| CryptoError::Hpke)?;
    hpke::single_shot_open::<A, Kdf, Kem>(
        &OpModeR::Base,
        private_key.as_kem(),
        &encapsulated_key,
        info,
        ciphertext,
        &[],
    )
    .map_err(|_| CryptoError::Hpke)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn suites_parse_from_their_code_points_and_others_are_refused() {
        for suite in [
            CipherSuite::X25519Aes128GcmSha256Ed25519,
            CipherSuite::X25519ChaCha20Poly1305Sha256Ed25519,
        ] {
            assert_eq!(CipherSuite::try_from(suite.id()), Ok(suite));
        }
        for other in [0, 2, 4, 7, 0xffff] {
            assert_eq!(
                CipherSuite::try_from(other),
                Err(CryptoError::UnsupportedCipherSuite(other))
            );
        }
        assert_eq!(CipherSuite::AURA.id(), CIPHER_SUITE_ID);
    }

    #[test]
    fn the_two_aeads_are_not_interchangeable() {
        let aes = CipherSuite::X25519Aes128GcmSha256Ed25519;
        let chacha = CipherSuite::X25519ChaCha20Poly1305Sha256Ed25519;
        let nonce = [9; AEAD_NONCE_LENGTH];
        let sealed = aes.seal(&[1; 16], &nonce, b"ad", b"text").unwrap();
        assert_eq!(aes.open(&[1; 16], &nonce, b"ad", &sealed).unwrap(), b"text");
        // A suite-3 key is too long for AES-128 and vice versa: a typed error.
        assert!(matches!(
            aes.seal(&[1; 32], &nonce, b"", b""),
            Err(CryptoError::InvalidLength { expected: 16, .. })
        ));
        assert!(matches!(
            chacha.open(&[1; 16], &nonce, b"ad", &sealed),
            Err(CryptoError::InvalidLength { expected: 32, .. })
        ));
    }
}
