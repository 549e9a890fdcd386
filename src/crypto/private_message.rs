//! PrivateMessage protection (RFC 9420 §6.3): content encrypted under the
//! sender's secret-tree key, sender identity encrypted under a key derived
//! from the ciphertext itself.

use zeroize::Zeroizing;

use super::cipher_suite::AEAD_TAG_LENGTH;
use super::codec::{Decode, Encode, Reader, Writer, decode_mls_message, encode_mls_message};
use super::error::{CryptoError, DecodeError, EncodeError};
use super::framing::MAX_AUTHENTICATED_DATA_BYTES;
use super::framing::{
    AuthenticatedContent, BodySkipper, ContentType, FramedContent, FramedContentAuthData, Sender,
    WireFormat, read_body,
};
use super::group_context::MAX_GROUP_ID_BYTES;
use super::secret::Secret;
use super::secret_tree::{RatchetKind, SecretTree, StagedKey};
use super::sender_data::sender_data_key;
use super::tree_math::LeafIndex;

/// Length of the per-message reuse guard XORed into the content nonce.
pub const REUSE_GUARD_LENGTH: usize = 4;

/// Encoded `SenderData`: leaf index, generation, reuse guard.
const SENDER_DATA_LENGTH: usize = 4 + 4 + REUSE_GUARD_LENGTH;

/// Smallest padded plaintext size; sizes double from here.
pub const MIN_PADDED_LENGTH: usize = 64;

/// Above this size, plaintexts are padded to a multiple of it instead of the
/// next power of two, capping the padding overhead of large messages.
pub const LINEAR_PADDING_STEP: usize = 4096;

/// Length a `PrivateMessageContent` of `length` bytes is padded to, so that
/// ciphertext sizes reveal only a coarse bucket of the message size.
#[must_use]
pub fn padded_length(length: usize) -> usize {
    if length <= MIN_PADDED_LENGTH {
        MIN_PADDED_LENGTH
    } else if length <= LINEAR_PADDING_STEP {
        length.next_power_of_two()
    } else {
        length
            .div_ceil(LINEAR_PADDING_STEP)
            .saturating_mul(LINEAR_PADDING_STEP)
    }
}

/// `PrivateMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateMessage {
    /// Group the message belongs to.
    pub group_id: Vec<u8>,
    /// Epoch it was sent in.
    pub epoch: u64,
    /// Type of the encrypted content.
    pub content_type: ContentType,
    /// Authenticated, unencrypted application data.
    pub authenticated_data: Vec<u8>,
    /// Encrypted `SenderData`.
    pub encrypted_sender_data: Vec<u8>,
    /// Encrypted `PrivateMessageContent`.
    pub ciphertext: Vec<u8>,
}

impl Encode for PrivateMessage {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_opaque(&self.group_id)?;
        writer.write_u64(self.epoch);
        writer.write_u8(self.content_type.code());
        writer.write_opaque(&self.authenticated_data)?;
        writer.write_opaque(&self.encrypted_sender_data)?;
        writer.write_opaque(&self.ciphertext)
    }
}

impl Decode for PrivateMessage {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            group_id: reader.read_opaque_capped(MAX_GROUP_ID_BYTES)?.to_vec(),
            epoch: reader.read_u64()?,
            content_type: ContentType::from_code(reader.read_u8()?)?,
            authenticated_data: reader
                .read_opaque_capped(MAX_AUTHENTICATED_DATA_BYTES)?
                .to_vec(),
            encrypted_sender_data: reader
                .read_opaque_capped(SENDER_DATA_LENGTH + AEAD_TAG_LENGTH)?
                .to_vec(),
            ciphertext: reader.read_opaque()?.to_vec(),
        })
    }
}

impl PrivateMessage {
    /// Encodes as an `MLSMessage` (`version || wire_format || message`).
    pub fn to_mls_message_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        encode_mls_message(WireFormat::PrivateMessage.code(), |writer| {
            self.encode(writer)
        })
    }

    /// Decodes an `MLSMessage` that must hold a PrivateMessage and nothing else.
    pub fn from_mls_message_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_mls_message(bytes, WireFormat::PrivateMessage.code(), |reader| {
            Self::decode(reader)
        })
    }
}

fn ratchet_kind(content_type: ContentType) -> RatchetKind {
    match content_type {
        ContentType::Application => RatchetKind::Application,
        ContentType::Proposal | ContentType::Commit => RatchetKind::Handshake,
    }
}

/// `SenderDataAAD = { opaque group_id<V>; uint64 epoch; ContentType content_type; }`.
fn sender_data_aad(
    group_id: &[u8],
    epoch: u64,
    content_type: ContentType,
) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer::new();
    writer.write_opaque(group_id)?;
    writer.write_u64(epoch);
    writer.write_u8(content_type.code());
    Ok(writer.into_bytes())
}

/// `PrivateContentAAD`: the sender-data AAD plus the authenticated data.
fn private_content_aad(
    group_id: &[u8],
    epoch: u64,
    content_type: ContentType,
    authenticated_data: &[u8],
) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer::new();
    writer.write_fixed(&sender_data_aad(group_id, epoch, content_type)?);
    writer.write_opaque(authenticated_data)?;
    Ok(writer.into_bytes())
}

/// The content nonce with the reuse guard XORed into its first bytes, so two
/// members that (wrongly) share a ratchet state still use distinct nonces.
fn guarded_nonce(nonce: &[u8], reuse_guard: &[u8; REUSE_GUARD_LENGTH]) -> Zeroizing<Vec<u8>> {
    let mut guarded = Zeroizing::new(nonce.to_vec());
    for (byte, guard) in guarded.iter_mut().zip(reuse_guard) {
        *byte ^= guard;
    }
    guarded
}

/// Encrypts signed content from a member as a PrivateMessage, using (and
/// consuming) the sender's next key. `reuse_guard` must be fresh random bytes.
pub fn protect(
    content: &AuthenticatedContent,
    secret_tree: &mut SecretTree,
    sender_data_secret: &Secret,
    reuse_guard: [u8; REUSE_GUARD_LENGTH],
) -> Result<PrivateMessage, CryptoError> {
    let framed = &content.content;
    let Sender::Member(leaf) = framed.sender else {
        return Err(DecodeError::UnexpectedValue { field: "sender" }.into());
    };
    if content.wire_format != WireFormat::PrivateMessage {
        return Err(DecodeError::UnexpectedValue {
            field: "wire_format",
        }
        .into());
    }
    let key = secret_tree.next_sending_key(leaf, ratchet_kind(framed.content_type))?;

    // Padded inside the writer, which wipes what its growth leaves behind.
    let mut plaintext = Writer::for_secrets();
    plaintext.write_fixed(&framed.body);
    content.auth.encode(&mut plaintext)?;
    let unpadded = plaintext.as_bytes().len();
    plaintext.write_zeros(padded_length(unpadded).saturating_sub(unpadded));
    let plaintext = Zeroizing::new(plaintext.into_bytes());

    let aad = private_content_aad(
        &framed.group_id,
        framed.epoch,
        framed.content_type,
        &framed.authenticated_data,
    )?;
    let suite = secret_tree.cipher_suite();
    let ciphertext = suite.seal(
        key.key(),
        &guarded_nonce(key.nonce(), &reuse_guard),
        &aad,
        &plaintext,
    )?;

    let mut sender_data = Writer::new();
    sender_data.write_u32(leaf.0);
    sender_data.write_u32(key.generation());
    sender_data.write_fixed(&reuse_guard);
    let sender_key = sender_data_key(suite, sender_data_secret, &ciphertext)?;
    let encrypted_sender_data = suite.seal(
        sender_key.key.as_bytes(),
        sender_key.nonce.as_bytes(),
        &sender_data_aad(&framed.group_id, framed.epoch, framed.content_type)?,
        sender_data.as_bytes(),
    )?;
    Ok(PrivateMessage {
        group_id: framed.group_id.clone(),
        epoch: framed.epoch,
        content_type: framed.content_type,
        authenticated_data: framed.authenticated_data.clone(),
        encrypted_sender_data,
        ciphertext,
    })
}

/// Decrypts a PrivateMessage and runs `verify` on its content (the caller
/// checks the signature with the sender's key, and whatever else makes the
/// message acceptable). The message key is consumed, and keys skipped on the
/// way stored, only if decryption and `verify` both succeed: a failed
/// message, even one a member encrypted correctly under another member's
/// key, leaves the secret tree as it was.
///
/// The caller must still check group and epoch against its state.
pub fn unprotect_verified<E: From<CryptoError>>(
    message: &PrivateMessage,
    secret_tree: &mut SecretTree,
    sender_data_secret: &Secret,
    skipper: &impl BodySkipper,
    verify: impl FnOnce(&AuthenticatedContent) -> Result<(), E>,
) -> Result<AuthenticatedContent, E> {
    let (content, staged_key) = open(message, secret_tree, sender_data_secret, skipper)?;
    verify(&content)?;
    secret_tree.consume(staged_key)?;
    Ok(content)
}

/// Decrypts a PrivateMessage and consumes its key without any further check:
/// for known-answer tests only. A member receiving from the group uses
/// [`unprotect_verified`], so that a forged signature cannot burn a key.
pub fn unprotect_unchecked(
    message: &PrivateMessage,
    secret_tree: &mut SecretTree,
    sender_data_secret: &Secret,
    skipper: &impl BodySkipper,
) -> Result<AuthenticatedContent, CryptoError> {
    unprotect_verified(message, secret_tree, sender_data_secret, skipper, |_| {
        Ok::<(), CryptoError>(())
    })
}

/// Decrypts a PrivateMessage with a staged key, changing nothing.
fn open(
    message: &PrivateMessage,
    secret_tree: &SecretTree,
    sender_data_secret: &Secret,
    skipper: &impl BodySkipper,
) -> Result<(AuthenticatedContent, StagedKey), CryptoError> {
    let suite = secret_tree.cipher_suite();
    let sender_key = sender_data_key(suite, sender_data_secret, &message.ciphertext)?;
    let sender_data = Zeroizing::new(suite.open(
        sender_key.key.as_bytes(),
        sender_key.nonce.as_bytes(),
        &sender_data_aad(&message.group_id, message.epoch, message.content_type)?,
        &message.encrypted_sender_data,
    )?);
    let mut reader = Reader::new(&sender_data);
    let leaf = LeafIndex(reader.read_u32()?);
    let generation = reader.read_u32()?;
    let reuse_guard: [u8; REUSE_GUARD_LENGTH] = reader.read_array()?;
    reader.finish()?;

    let staged_key = secret_tree.stage_key(leaf, ratchet_kind(message.content_type), generation)?;
    let key = staged_key.key();
    let aad = private_content_aad(
        &message.group_id,
        message.epoch,
        message.content_type,
        &message.authenticated_data,
    )?;
    let plaintext = Zeroizing::new(suite.open(
        key.key(),
        &guarded_nonce(key.nonce(), &reuse_guard),
        &aad,
        &message.ciphertext,
    )?);

    let mut reader = Reader::new(&plaintext);
    let body = read_body(&mut reader, message.content_type, skipper)?;
    let auth = FramedContentAuthData::decode(&mut reader, message.content_type)?;
    // Padding must be zeros: anything else is a covert channel or garbage.
    if reader
        .read_fixed(reader.remaining_len())?
        .iter()
        .any(|&byte| byte != 0)
    {
        return Err(DecodeError::UnexpectedValue { field: "padding" }.into());
    }
    let content = AuthenticatedContent {
        wire_format: WireFormat::PrivateMessage,
        content: FramedContent {
            group_id: message.group_id.clone(),
            epoch: message.epoch,
            sender: Sender::Member(leaf),
            authenticated_data: message.authenticated_data.clone(),
            content_type: message.content_type,
            body,
        },
        auth,
    };
    Ok((content, staged_key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::cipher_suite::CipherSuite;
    use crate::crypto::group_context::GroupContext;
    use crate::crypto::keys::SignaturePrivateKey;
    use crate::crypto::tree_math::TreeSize;

    fn no_handshake_bodies(_: ContentType, _: &mut Reader<'_>) -> Result<(), DecodeError> {
        Err(DecodeError::UnexpectedValue { field: "body" })
    }

    fn setup() -> (AuthenticatedContent, Secret, Secret) {
        let group_context = GroupContext {
            cipher_suite: crate::crypto::cipher_suite::CIPHER_SUITE_ID,
            group_id: b"g".to_vec(),
            epoch: 3,
            tree_hash: vec![],
            confirmed_transcript_hash: vec![],
            extensions: vec![],
        };
        let content = FramedContent::application(
            b"g".to_vec(),
            3,
            Sender::Member(LeafIndex(1)),
            b"aad".to_vec(),
            b"hello",
        )
        .unwrap();
        let key = SignaturePrivateKey::from_seed(&[5; 32]).unwrap();
        let signed = AuthenticatedContent::sign(
            WireFormat::PrivateMessage,
            content,
            &group_context,
            &key,
            None,
        )
        .unwrap();
        (signed, Secret::zero(32), Secret::from_slice(&[1; 32]))
    }

    fn tree(encryption_secret: &Secret) -> SecretTree {
        SecretTree::new(
            CipherSuite::AURA,
            encryption_secret,
            TreeSize::new(2).unwrap(),
        )
    }

    #[test]
    fn replayed_message_is_rejected() {
        let (signed, sender_data_secret, encryption_secret) = setup();
        let message = protect(
            &signed,
            &mut tree(&encryption_secret),
            &sender_data_secret,
            [1, 2, 3, 4],
        )
        .unwrap();
        // 6 bytes of body and 66 of signature, padded to the 128-byte bucket.
        assert_eq!(message.ciphertext.len(), 128 + AEAD_TAG_LENGTH);
        let mut receiver = tree(&encryption_secret);
        let opened = unprotect_unchecked(
            &message,
            &mut receiver,
            &sender_data_secret,
            &no_handshake_bodies,
        )
        .unwrap();
        assert_eq!(opened, signed);
        assert_eq!(
            unprotect_unchecked(
                &message,
                &mut receiver,
                &sender_data_secret,
                &no_handshake_bodies
            ),
            Err(CryptoError::KeyUnavailable { generation: 0 })
        );
    }

    #[test]
    fn each_suite_opens_only_messages_sealed_with_its_own_aead() {
        let (signed, sender_data_secret, encryption_secret) = setup();
        let suites = [
            CipherSuite::X25519Aes128GcmSha256Ed25519,
            CipherSuite::X25519ChaCha20Poly1305Sha256Ed25519,
        ];
        for (suite, other_suite) in suites.into_iter().zip(suites.into_iter().rev()) {
            let size = TreeSize::new(2).unwrap();
            let mut sender = SecretTree::new(suite, &encryption_secret, size);
            let key = sender
                .next_sending_key(LeafIndex(0), RatchetKind::Application)
                .unwrap();
            assert_eq!(key.key().len(), suite.aead_key_length());
            let message = protect(&signed, &mut sender, &sender_data_secret, [1, 2, 3, 4]).unwrap();
            let open_with = |suite| {
                unprotect_unchecked(
                    &message,
                    &mut SecretTree::new(suite, &encryption_secret, size),
                    &sender_data_secret,
                    &no_handshake_bodies,
                )
            };
            assert_eq!(open_with(suite).unwrap(), signed);
            assert_eq!(open_with(other_suite), Err(CryptoError::AeadOpen));
        }
    }

    #[test]
    fn tampering_is_detected() {
        let (signed, sender_data_secret, encryption_secret) = setup();
        let message = protect(
            &signed,
            &mut tree(&encryption_secret),
            &sender_data_secret,
            [0; 4],
        )
        .unwrap();
        let mut receiver = tree(&encryption_secret);
        let mut altered = message.clone();
        altered.authenticated_data = b"other".to_vec();
        assert_eq!(
            unprotect_unchecked(
                &altered,
                &mut receiver,
                &sender_data_secret,
                &no_handshake_bodies
            ),
            Err(CryptoError::AeadOpen)
        );
        // The forgery did not use up the key of the genuine message.
        assert!(
            unprotect_unchecked(
                &message,
                &mut receiver,
                &sender_data_secret,
                &no_handshake_bodies
            )
            .is_ok()
        );
        let mut altered = message;
        altered.epoch = 4;
        assert_eq!(
            unprotect_unchecked(
                &altered,
                &mut tree(&encryption_secret),
                &sender_data_secret,
                &no_handshake_bodies
            ),
            Err(CryptoError::AeadOpen)
        );
    }

    #[test]
    fn padding_uses_coarse_buckets() {
        assert_eq!(padded_length(0), 64);
        assert_eq!(padded_length(64), 64);
        assert_eq!(padded_length(65), 128);
        assert_eq!(padded_length(4096), 4096);
        assert_eq!(padded_length(4097), 8192);
        assert_eq!(padded_length(9000), 12288);
    }
}
