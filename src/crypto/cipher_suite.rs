//! The one cipher suite Aura speaks: RFC 9420 suite 3,
//! `MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519`.
//!
//! Pinning a single suite removes negotiation (and downgrade) from the
//! protocol and lets lengths be compile-time constants.

/// The RFC 9420 protocol version `mls10`.
pub const PROTOCOL_VERSION_MLS10: u16 = 1;

/// IANA code point of the suite.
pub const CIPHER_SUITE_ID: u16 = 3;

/// `KDF.Nh`, the HKDF-SHA256 output (and hash) length.
pub const HASH_LENGTH: usize = 32;

/// `AEAD.Nk`, the ChaCha20-Poly1305 key length.
pub const AEAD_KEY_LENGTH: usize = 32;

/// `AEAD.Nn`, the ChaCha20-Poly1305 nonce length.
pub const AEAD_NONCE_LENGTH: usize = 12;

/// ChaCha20-Poly1305 authentication tag length.
pub const AEAD_TAG_LENGTH: usize = 16;

/// X25519 public and private key length (`Npk`, `Nsk`).
pub const HPKE_KEY_LENGTH: usize = 32;

/// Ed25519 public key and private seed length.
pub const SIGNATURE_KEY_LENGTH: usize = 32;

/// Ed25519 signature length.
pub const SIGNATURE_LENGTH: usize = 64;

/// `MAC` output length (HMAC-SHA256).
pub const MAC_LENGTH: usize = HASH_LENGTH;

/// HPKE KEM of the suite.
pub type Kem = hpke::kem::X25519HkdfSha256;
/// HPKE KDF of the suite.
pub type Kdf = hpke::kdf::HkdfSha256;
/// HPKE AEAD of the suite.
pub type HpkeAead = hpke::aead::ChaCha20Poly1305;
