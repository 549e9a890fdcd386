//! The AEADs of the supported suites, generic over the RustCrypto AEAD
//! trait, with lengths checked up front so a wrong-sized key or nonce is a
//! typed error. Callers pick the algorithm through
//! [`CipherSuite`](super::cipher_suite::CipherSuite).

use aes_gcm::aead::array::Array;
use aes_gcm::aead::array::typenum::Unsigned as _;
use aes_gcm::aead::{Aead, KeyInit, Payload};

use super::error::CryptoError;

fn cipher_and_nonce<A: Aead + KeyInit>(
    key: &[u8],
    nonce: &[u8],
) -> Result<(A, aes_gcm::aead::Nonce<A>), CryptoError> {
    let cipher = A::new_from_slice(key).map_err(|_| CryptoError::InvalidLength {
        what: "AEAD key",
        expected: A::key_size(),
        actual: key.len(),
    })?;
    let nonce = Array::try_from(nonce).map_err(|_| CryptoError::InvalidLength {
        what: "AEAD nonce",
        expected: A::NonceSize::USIZE,
        actual: nonce.len(),
    })?;
    Ok((cipher, nonce))
}

/// `AEAD.Seal(key, nonce, aad, plaintext)` with `A`: ciphertext with the tag appended.
pub(crate) fn seal<A: Aead + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let (cipher, nonce) = cipher_and_nonce::<A>(key, nonce)?;
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

/// `AEAD.Open(key, nonce, aad, ciphertext)` with `A`.
pub(crate) fn open<A: Aead + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let (cipher, nonce) = cipher_and_nonce::<A>(key, nonce)?;
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
