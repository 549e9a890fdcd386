//! Keys that protect the sender data of a PrivateMessage (RFC 9420 §6.3.2).
//!
//! The key is derived from a sample of the ciphertext it travels with, so
//! every message gets a fresh sender-data key without any counter.

use super::cipher_suite::{CipherSuite, HASH_LENGTH};
use super::error::CryptoError;
use super::primitives::expand_with_label;
use super::secret::Secret;

/// AEAD key and nonce for one message's `SenderData`.
#[derive(Debug)]
pub struct SenderDataKey {
    /// The `AEAD.Nk`-byte key.
    pub key: Secret,
    /// The `AEAD.Nn`-byte nonce.
    pub nonce: Secret,
}

/// The first `KDF.Nh` bytes of the ciphertext (all of it if shorter).
#[must_use]
pub fn ciphertext_sample(ciphertext: &[u8]) -> &[u8] {
    &ciphertext[..ciphertext.len().min(HASH_LENGTH)]
}

/// `sender_data_key/nonce = ExpandWithLabel(sender_data_secret, "key"/"nonce", ciphertext_sample, Nk/Nn)`.
pub fn sender_data_key(
    suite: CipherSuite,
    sender_data_secret: &Secret,
    ciphertext: &[u8],
) -> Result<SenderDataKey, CryptoError> {
    let sample = ciphertext_sample(ciphertext);
    let secret = sender_data_secret.as_bytes();
    Ok(SenderDataKey {
        key: expand_with_label(secret, b"key", sample, suite.aead_key_length())?,
        nonce: expand_with_label(secret, b"nonce", sample, suite.aead_nonce_length())?,
    })
}
