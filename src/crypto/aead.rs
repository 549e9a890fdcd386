//! The suite's AEAD (ChaCha20-Poly1305), with lengths checked up front so a
//! wrong-sized key or nonce is a typed error.

use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _, Nonce};

use super::cipher_suite::{AEAD_KEY_LENGTH, AEAD_NONCE_LENGTH};
use super::error::CryptoError;

fn cipher_and_nonce(key: &[u8], nonce: &[u8]) -> Result<(ChaCha20Poly1305, Nonce), CryptoError> {
    let cipher = ChaCha20Poly1305::new_from_slice(key).map_err(|_| CryptoError::InvalidLength {
        what: "AEAD key",
        expected: AEAD_KEY_LENGTH,
        actual: key.len(),
    })?;
    let nonce = Nonce::try_from(nonce).map_err(|_| CryptoError::InvalidLength {
        what: "AEAD nonce",
        expected: AEAD_NONCE_LENGTH,
        actual: nonce.len(),
    })?;
    Ok((cipher, nonce))
}

/// `AEAD.Seal(key, nonce, aad, plaintext)`: ciphertext with the tag appended.
pub fn seal(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let (cipher, nonce) = cipher_and_nonce(key, nonce)?;
    cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::AeadSeal)
}

/// `AEAD.Open(key, nonce, aad, ciphertext)`.
pub fn open(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let (cipher, nonce) = cipher_and_nonce(key, nonce)?;
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| CryptoError::AeadOpen)
}
