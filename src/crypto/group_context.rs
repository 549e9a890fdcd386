//! `GroupContext` (RFC 9420 §8.1): the summary of a group's state that every
//! key derivation of an epoch is bound to.

use super::cipher_suite::{HASH_LENGTH, PROTOCOL_VERSION_MLS10};
use super::codec::{Decode, Encode, Reader, Writer};
use super::error::{DecodeError, EncodeError};

/// Cap on a group identifier: long enough for any random or hashed id.
pub const MAX_GROUP_ID_BYTES: usize = 256;

/// `Extension = { ExtensionType extension_type; opaque extension_data<V>; }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// IANA extension type.
    pub extension_type: u16,
    /// Extension-specific payload.
    pub extension_data: Vec<u8>,
}

impl Encode for Extension {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_u16(self.extension_type);
        writer.write_opaque(&self.extension_data)
    }
}

impl Decode for Extension {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            extension_type: reader.read_u16()?,
            // Extensions can carry a whole ratchet tree (in GroupInfo), so
            // only the codec's global cap applies.
            extension_data: reader.read_opaque()?.to_vec(),
        })
    }
}

/// The group context of one epoch. The version is implied (`mls10`) and
/// checked when decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupContext {
    /// The group's cipher suite. Any suite decodes, so that foreign
    /// messages round-trip; a group runs only on a suite of
    /// [`super::cipher_suite::CipherSuite`] (Aura creates only suite 3).
    pub cipher_suite: u16,
    /// Application-chosen group identifier.
    pub group_id: Vec<u8>,
    /// Epoch number, starting at 0 for a new group.
    pub epoch: u64,
    /// Root of the ratchet tree's tree hash.
    pub tree_hash: Vec<u8>,
    /// Confirmed transcript hash after the commit that started the epoch.
    pub confirmed_transcript_hash: Vec<u8>,
    /// Group context extensions.
    pub extensions: Vec<Extension>,
}

impl Encode for GroupContext {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_u16(PROTOCOL_VERSION_MLS10);
        writer.write_u16(self.cipher_suite);
        writer.write_opaque(&self.group_id)?;
        writer.write_u64(self.epoch);
        writer.write_opaque(&self.tree_hash)?;
        writer.write_opaque(&self.confirmed_transcript_hash)?;
        writer.write_vector(|items| {
            self.extensions
                .iter()
                .try_for_each(|extension| extension.encode(items))
        })
    }
}

impl Decode for GroupContext {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if reader.read_u16()? != PROTOCOL_VERSION_MLS10 {
            return Err(DecodeError::UnexpectedValue { field: "version" });
        }
        Ok(Self {
            cipher_suite: reader.read_u16()?,
            group_id: reader.read_opaque_capped(MAX_GROUP_ID_BYTES)?.to_vec(),
            epoch: reader.read_u64()?,
            // Hashes may be empty (the initial confirmed transcript hash is).
            tree_hash: reader.read_opaque_capped(HASH_LENGTH)?.to_vec(),
            confirmed_transcript_hash: reader.read_opaque_capped(HASH_LENGTH)?.to_vec(),
            extensions: reader.read_vector(Extension::decode)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::cipher_suite::CIPHER_SUITE_ID;

    #[test]
    fn group_context_round_trips() {
        let context = GroupContext {
            cipher_suite: CIPHER_SUITE_ID,
            group_id: b"group".to_vec(),
            epoch: 7,
            tree_hash: vec![1; HASH_LENGTH],
            confirmed_transcript_hash: vec![],
            extensions: vec![Extension {
                extension_type: 2,
                extension_data: vec![9, 9],
            }],
        };
        let bytes = context.to_tls_bytes().unwrap();
        assert_eq!(GroupContext::from_tls_bytes(&bytes), Ok(context));
    }

    #[test]
    fn foreign_cipher_suite_is_kept_not_rewritten() {
        let context = GroupContext {
            cipher_suite: 1,
            group_id: vec![],
            epoch: 0,
            tree_hash: vec![],
            confirmed_transcript_hash: vec![],
            extensions: vec![],
        };
        let bytes = context.to_tls_bytes().unwrap();
        assert_eq!(&bytes[2..4], &[0, 1]);
        assert_eq!(GroupContext::from_tls_bytes(&bytes), Ok(context));
    }
}
