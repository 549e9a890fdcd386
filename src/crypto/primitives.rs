//! The labelled primitives of RFC 9420 §5: every MLS use of the KDF, the
//! signature scheme and HPKE goes through a label so that a value produced
//! for one purpose can never be replayed as another.

use ed25519_dalek::{Signature, Signer as _};
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroize as _;

use super::cipher_suite::{CipherSuite, HASH_LENGTH, MAC_LENGTH, SIGNATURE_LENGTH};
use super::codec::{Decode, Encode, Reader, Writer};
use super::error::{CryptoError, DecodeError, EncodeError};
use super::keys::{HpkePrivateKey, HpkePublicKey, SignaturePrivateKey, SignaturePublicKey};
use super::secret::Secret;

/// Prefix RFC 9420 puts in front of every label.
pub const LABEL_PREFIX: &[u8] = b"MLS 1.0 ";

/// HKDF-Expand cannot produce more than 255 hash blocks.
pub const MAX_EXPAND_LENGTH: usize = 255 * HASH_LENGTH;

type HmacSha256 = Hmac<Sha256>;

/// A hash value of the suite (SHA-256).
pub type HashValue = [u8; HASH_LENGTH];

/// `Hash(data)`.
#[must_use]
pub fn hash(data: &[u8]) -> HashValue {
    Sha256::digest(data).into()
}

/// `KDF.Extract(salt, ikm)`.
#[must_use]
pub fn extract(salt: &[u8], ikm: &[u8]) -> Secret {
    let (mut prk, _) = Hkdf::<Sha256>::extract(Some(salt), ikm);
    let secret = Secret::from_slice(&prk);
    prk.as_mut_slice().zeroize();
    secret
}

/// `KDF.Expand(prk, info, length)`.
pub fn expand(prk: &[u8], info: &[u8], length: usize) -> Result<Secret, CryptoError> {
    if length > MAX_EXPAND_LENGTH {
        return Err(CryptoError::KdfOutputLength(length));
    }
    let kdf = Hkdf::<Sha256>::from_prk(prk).map_err(|_| CryptoError::InvalidLength {
        what: "HKDF pseudorandom key",
        expected: HASH_LENGTH,
        actual: prk.len(),
    })?;
    let mut okm = Secret::zero(length);
    kdf.expand(info, okm.as_mut_bytes())
        .map_err(|_| CryptoError::KdfOutputLength(length))?;
    Ok(okm)
}

/// `MAC(key, data)` (HMAC-SHA256).
pub fn mac(key: &[u8], data: &[u8]) -> Result<[u8; MAC_LENGTH], CryptoError> {
    let mut hmac = new_hmac(key)?;
    hmac.update(data);
    Ok(hmac.finalize().into_bytes().into())
}

/// Checks `tag == MAC(key, data)` in constant time.
pub fn verify_mac(key: &[u8], data: &[u8], tag: &[u8]) -> Result<(), CryptoError> {
    let mut hmac = new_hmac(key)?;
    hmac.update(data);
    hmac.verify_slice(tag).map_err(|_| CryptoError::MacInvalid)
}

fn new_hmac(key: &[u8]) -> Result<HmacSha256, CryptoError> {
    // HMAC takes keys of any length; the error arm exists only because the
    // trait is shared with fixed-key MACs.
    HmacSha256::new_from_slice(key).map_err(|_| CryptoError::InvalidLength {
        what: "MAC key",
        expected: HASH_LENGTH,
        actual: key.len(),
    })
}

/// `ExpandWithLabel(secret, label, context, length)`:
/// `KDF.Expand(secret, KDFLabel, length)` with
/// `KDFLabel = { uint16 length; opaque label<V> = "MLS 1.0 " + label; opaque context<V>; }`.
pub fn expand_with_label(
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    length: usize,
) -> Result<Secret, CryptoError> {
    let length_field = u16::try_from(length).map_err(|_| CryptoError::KdfOutputLength(length))?;
    let mut info = Writer::new();
    info.write_u16(length_field);
    write_prefixed_label(&mut info, label)?;
    info.write_opaque(context)?;
    expand(secret, info.as_bytes(), length)
}

/// `DeriveSecret(secret, label) = ExpandWithLabel(secret, label, "", KDF.Nh)`.
pub fn derive_secret(secret: &[u8], label: &[u8]) -> Result<Secret, CryptoError> {
    expand_with_label(secret, label, &[], HASH_LENGTH)
}

/// `DeriveTreeSecret(secret, label, generation, length)`: the secret-tree
/// ratchet step, with the generation as a big-endian `uint32` context.
pub fn derive_tree_secret(
    secret: &[u8],
    label: &[u8],
    generation: u32,
    length: usize,
) -> Result<Secret, CryptoError> {
    expand_with_label(secret, label, &generation.to_be_bytes(), length)
}

/// `RefHash(label, value) = Hash(RefHashInput)` with
/// `RefHashInput = { opaque label<V>; opaque value<V>; }`: the label is used
/// as given (callers pass e.g. `"MLS 1.0 KeyPackage Reference"`).
pub fn ref_hash(label: &[u8], value: &[u8]) -> Result<HashValue, CryptoError> {
    let mut input = Writer::new();
    input.write_opaque(label)?;
    input.write_opaque(value)?;
    Ok(hash(input.as_bytes()))
}

fn write_prefixed_label(writer: &mut Writer, label: &[u8]) -> Result<(), EncodeError> {
    writer.write_vector(|inner| {
        inner.write_fixed(LABEL_PREFIX);
        inner.write_fixed(label);
        Ok(())
    })
}

/// `SignContent = { opaque label<V> = "MLS 1.0 " + label; opaque content<V>; }`.
fn sign_content(label: &[u8], content: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer::new();
    write_prefixed_label(&mut writer, label)?;
    writer.write_opaque(content)?;
    Ok(writer.into_bytes())
}

/// `SignWithLabel(key, label, content)`.
pub fn sign_with_label(
    key: &SignaturePrivateKey,
    label: &[u8],
    content: &[u8],
) -> Result<[u8; SIGNATURE_LENGTH], CryptoError> {
    let message = sign_content(label, content)?;
    Ok(key.as_dalek().sign(&message).to_bytes())
}

/// `VerifyWithLabel(key, label, content, signature)`.
///
/// Uses strict Ed25519 verification, which rejects non-canonical encodings
/// and small-order keys, so a signature has a single valid byte form.
pub fn verify_with_label(
    key: &SignaturePublicKey,
    label: &[u8],
    content: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let signature = Signature::from_slice(signature).map_err(|_| CryptoError::InvalidLength {
        what: "signature",
        expected: SIGNATURE_LENGTH,
        actual: signature.len(),
    })?;
    let message = sign_content(label, content)?;
    key.as_dalek()
        .verify_strict(&message, &signature)
        .map_err(|_| CryptoError::SignatureInvalid)
}

/// `HPKECiphertext = { opaque kem_output<V>; opaque ciphertext<V>; }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HpkeCiphertext {
    /// The encapsulated key.
    pub kem_output: Vec<u8>,
    /// The sealed plaintext.
    pub ciphertext: Vec<u8>,
}

/// Cap on an HPKE ciphertext (path secrets and group secrets are small).
pub const MAX_HPKE_CIPHERTEXT_BYTES: usize = 64 * 1024;

/// Cap on an HPKE `kem_output` (32 bytes for X25519; slack for other KEMs).
pub const MAX_KEM_OUTPUT_BYTES: usize = 1024;

impl Encode for HpkeCiphertext {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_opaque(&self.kem_output)?;
        writer.write_opaque(&self.ciphertext)
    }
}

impl Decode for HpkeCiphertext {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            kem_output: reader.read_opaque_capped(MAX_KEM_OUTPUT_BYTES)?.to_vec(),
            ciphertext: reader
                .read_opaque_capped(MAX_HPKE_CIPHERTEXT_BYTES)?
                .to_vec(),
        })
    }
}

/// `EncryptContext = { opaque label<V> = "MLS 1.0 " + label; opaque context<V>; }`.
fn encrypt_context(label: &[u8], context: &[u8]) -> Result<Vec<u8>, EncodeError> {
    // Same wire shape as SignContent; kept separate because they are
    // different structures in the RFC.
    let mut writer = Writer::new();
    write_prefixed_label(&mut writer, label)?;
    writer.write_opaque(context)?;
    Ok(writer.into_bytes())
}

/// `EncryptWithLabel(public_key, label, context, plaintext)`: HPKE base-mode
/// `SealBase` of `suite` with the labelled context as `info` and empty AAD.
pub fn encrypt_with_label(
    suite: CipherSuite,
    public_key: &HpkePublicKey,
    label: &[u8],
    context: &[u8],
    plaintext: &[u8],
    rng: &mut impl rand_core::CryptoRng,
) -> Result<HpkeCiphertext, CryptoError> {
    let info = encrypt_context(label, context)?;
    let (kem_output, ciphertext) = suite.hpke_seal(public_key, &info, plaintext, rng)?;
    Ok(HpkeCiphertext {
        kem_output,
        ciphertext,
    })
}

/// `DecryptWithLabel(private_key, label, context, kem_output, ciphertext)`
/// with the HPKE of `suite`. The plaintext is returned as a [`Secret`]
/// because MLS only ever HPKE-encrypts secrets (path secrets, group secrets).
pub fn decrypt_with_label(
    suite: CipherSuite,
    private_key: &HpkePrivateKey,
    label: &[u8],
    context: &[u8],
    kem_output: &[u8],
    ciphertext: &[u8],
) -> Result<Secret, CryptoError> {
    let info = encrypt_context(label, context)?;
    suite
        .hpke_open(private_key, kem_output, &info, ciphertext)
        .map(Secret::new)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::keys::HpkeKeyPair;

    /// Deterministic stand-in for a CSPRNG, good enough for round-trip tests.
    struct CountingRng(u8);

    impl rand_core::TryRng for CountingRng {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            let mut bytes = [0u8; 4];
            self.try_fill_bytes(&mut bytes)?;
            Ok(u32::from_le_bytes(bytes))
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            let mut bytes = [0u8; 8];
            self.try_fill_bytes(&mut bytes)?;
            Ok(u64::from_le_bytes(bytes))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for byte in dst {
                self.0 = self.0.wrapping_add(1);
                *byte = self.0;
            }
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for CountingRng {}

    #[test]
    fn encrypt_then_decrypt_with_label_round_trips_in_each_suite() {
        let recipient = HpkeKeyPair::derive(b"recipient");
        let suites = [
            CipherSuite::X25519Aes128GcmSha256Ed25519,
            CipherSuite::X25519ChaCha20Poly1305Sha256Ed25519,
        ];
        for (suite, other_suite) in suites.into_iter().zip(suites.into_iter().rev()) {
            let mut rng = CountingRng(7);
            let sealed = encrypt_with_label(
                suite,
                &recipient.public_key,
                b"Welcome",
                b"ctx",
                b"hello",
                &mut rng,
            )
            .unwrap();
            let open = |suite, label: &[u8]| {
                decrypt_with_label(
                    suite,
                    &recipient.private_key,
                    label,
                    b"ctx",
                    &sealed.kem_output,
                    &sealed.ciphertext,
                )
                .map(|secret| secret.as_bytes().to_vec())
            };
            assert_eq!(open(suite, b"Welcome").unwrap(), b"hello");
            // A different label must not open: labels separate purposes.
            assert_eq!(open(suite, b"UpdatePathNode"), Err(CryptoError::Hpke));
            // Nor does the other suite's AEAD.
            assert_eq!(open(other_suite, b"Welcome"), Err(CryptoError::Hpke));
        }
    }

    #[test]
    fn signatures_are_bound_to_their_label() {
        let key = SignaturePrivateKey::from_seed(&[3u8; 32]).unwrap();
        let signature = sign_with_label(&key, b"LeafNodeTBS", b"content").unwrap();
        let public = key.public_key();
        assert!(verify_with_label(&public, b"LeafNodeTBS", b"content", &signature).is_ok());
        assert_eq!(
            verify_with_label(&public, b"GroupInfoTBS", b"content", &signature),
            Err(CryptoError::SignatureInvalid)
        );
        assert!(matches!(
            verify_with_label(&public, b"LeafNodeTBS", b"content", &signature[..10]),
            Err(CryptoError::InvalidLength { .. })
        ));
    }

    #[test]
    fn expand_rejects_lengths_hkdf_cannot_produce() {
        let prk = [0u8; HASH_LENGTH];
        assert_eq!(
            expand_with_label(&prk, b"x", b"", MAX_EXPAND_LENGTH + 1).map(|s| s.len()),
            Err(CryptoError::KdfOutputLength(MAX_EXPAND_LENGTH + 1))
        );
        assert_eq!(
            expand_with_label(&prk, b"x", b"", 42).map(|s| s.len()),
            Ok(42)
        );
    }

    #[test]
    fn mac_verification_is_strict() {
        let tag = mac(b"key", b"data").unwrap();
        assert!(verify_mac(b"key", b"data", &tag).is_ok());
        assert_eq!(
            verify_mac(b"key", b"datA", &tag),
            Err(CryptoError::MacInvalid)
        );
    }
}
