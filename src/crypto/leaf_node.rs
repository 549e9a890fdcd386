//! `LeafNode` (RFC 9420 §7.2): a member's public keys, credential and
//! capabilities, signed by the member.
//!
//! Keys are stored as their encoded bytes so that re-encoding (for tree
//! hashes and signatures) reproduces exactly what the peer sent; they are
//! parsed into key types only when used.

use super::codec::{Decode, Encode, Reader, Writer};
use super::error::{CryptoError, DecodeError, EncodeError};
use super::group_context::Extension;
use super::keys::{SignaturePrivateKey, SignaturePublicKey};
use super::primitives::{sign_with_label, verify_with_label};
use super::tree_math::LeafIndex;

/// Label of the leaf node signature.
pub const LEAF_NODE_SIGNATURE_LABEL: &[u8] = b"LeafNodeTBS";

/// Cap on an encoded public key (X25519 and Ed25519 keys are 32 bytes; the
/// slack admits other suites' keys in a tree we only hash).
pub const MAX_PUBLIC_KEY_BYTES: usize = 1024;

/// Cap on a signature.
pub const MAX_SIGNATURE_BYTES: usize = 1024;

/// Cap on a credential's identity or one certificate.
pub const MAX_CREDENTIAL_BYTES: usize = 64 * 1024;

/// Cap on a parent hash (a hash output, or empty).
pub const MAX_HASH_BYTES: usize = 64;

/// `Credential`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `basic`: an application-defined identity.
    Basic {
        /// The identity bytes.
        identity: Vec<u8>,
    },
    /// `x509`: a certificate chain, leaf first.
    X509 {
        /// DER certificates.
        certificates: Vec<Vec<u8>>,
    },
}

const CREDENTIAL_BASIC: u16 = 1;
const CREDENTIAL_X509: u16 = 2;

impl Encode for Credential {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        match self {
            Self::Basic { identity } => {
                writer.write_u16(CREDENTIAL_BASIC);
                writer.write_opaque(identity)
            }
            Self::X509 { certificates } => {
                writer.write_u16(CREDENTIAL_X509);
                writer.write_vector(|items| {
                    certificates
                        .iter()
                        .try_for_each(|certificate| items.write_opaque(certificate))
                })
            }
        }
    }
}

impl Decode for Credential {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.read_u16()? {
            CREDENTIAL_BASIC => Ok(Self::Basic {
                identity: reader.read_opaque_capped(MAX_CREDENTIAL_BYTES)?.to_vec(),
            }),
            CREDENTIAL_X509 => Ok(Self::X509 {
                certificates: reader.read_vector(|items| {
                    Ok(items.read_opaque_capped(MAX_CREDENTIAL_BYTES)?.to_vec())
                })?,
            }),
            // Other credential types have no encoding we could skip over.
            _ => Err(DecodeError::UnexpectedValue {
                field: "credential_type",
            }),
        }
    }
}

/// `Capabilities`: what the member's client supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Protocol versions.
    pub versions: Vec<u16>,
    /// Cipher suites.
    pub cipher_suites: Vec<u16>,
    /// Extension types.
    pub extensions: Vec<u16>,
    /// Proposal types.
    pub proposals: Vec<u16>,
    /// Credential types.
    pub credentials: Vec<u16>,
}

fn write_u16_list(writer: &mut Writer, values: &[u16]) -> Result<(), EncodeError> {
    writer.write_vector(|items| {
        values.iter().for_each(|&value| items.write_u16(value));
        Ok(())
    })
}

impl Encode for Capabilities {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        write_u16_list(writer, &self.versions)?;
        write_u16_list(writer, &self.cipher_suites)?;
        write_u16_list(writer, &self.extensions)?;
        write_u16_list(writer, &self.proposals)?;
        write_u16_list(writer, &self.credentials)
    }
}

impl Decode for Capabilities {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            versions: reader.read_vector(Reader::read_u16)?,
            cipher_suites: reader.read_vector(Reader::read_u16)?,
            extensions: reader.read_vector(Reader::read_u16)?,
            proposals: reader.read_vector(Reader::read_u16)?,
            credentials: reader.read_vector(Reader::read_u16)?,
        })
    }
}

/// `LeafNodeSource` with its source-specific field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafNodeSource {
    /// From a KeyPackage, valid between two Unix times (seconds).
    KeyPackage {
        /// Start of validity.
        not_before: u64,
        /// End of validity.
        not_after: u64,
    },
    /// From an Update proposal.
    Update,
    /// From a commit's UpdatePath; binds the leaf to the new parent nodes.
    Commit {
        /// Parent hash of the leaf's parent after the commit.
        parent_hash: Vec<u8>,
    },
}

impl Encode for LeafNodeSource {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        match self {
            Self::KeyPackage {
                not_before,
                not_after,
            } => {
                writer.write_u8(1);
                writer.write_u64(*not_before);
                writer.write_u64(*not_after);
                Ok(())
            }
            Self::Update => {
                writer.write_u8(2);
                Ok(())
            }
            Self::Commit { parent_hash } => {
                writer.write_u8(3);
                writer.write_opaque(parent_hash)
            }
        }
    }
}

impl Decode for LeafNodeSource {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.read_u8()? {
            1 => Ok(Self::KeyPackage {
                not_before: reader.read_u64()?,
                not_after: reader.read_u64()?,
            }),
            2 => Ok(Self::Update),
            3 => Ok(Self::Commit {
                parent_hash: reader.read_opaque_capped(MAX_HASH_BYTES)?.to_vec(),
            }),
            _ => Err(DecodeError::UnexpectedValue {
                field: "leaf_node_source",
            }),
        }
    }
}

/// `LeafNode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafNode {
    /// Encoded HPKE public key.
    pub encryption_key: Vec<u8>,
    /// Encoded signature public key.
    pub signature_key: Vec<u8>,
    /// Who the member is.
    pub credential: Credential,
    /// What the member's client supports.
    pub capabilities: Capabilities,
    /// Where the leaf came from.
    pub source: LeafNodeSource,
    /// Leaf extensions.
    pub extensions: Vec<Extension>,
    /// Signature over `LeafNodeTBS`.
    pub signature: Vec<u8>,
}

impl LeafNode {
    fn encode_content(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_opaque(&self.encryption_key)?;
        writer.write_opaque(&self.signature_key)?;
        self.credential.encode(writer)?;
        self.capabilities.encode(writer)?;
        self.source.encode(writer)?;
        writer.write_vector(|items| {
            self.extensions
                .iter()
                .try_for_each(|extension| extension.encode(items))
        })
    }

    /// `LeafNodeTBS`: the content plus, for leaves inside a group, the group
    /// id and leaf index, so a signed leaf cannot be moved to another slot.
    pub fn to_be_signed(
        &self,
        group_id: &[u8],
        leaf_index: LeafIndex,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut writer = Writer::new();
        self.encode_content(&mut writer)?;
        match self.source {
            LeafNodeSource::KeyPackage { .. } => {}
            LeafNodeSource::Update | LeafNodeSource::Commit { .. } => {
                writer.write_opaque(group_id)?;
                writer.write_u32(leaf_index.0);
            }
        }
        Ok(writer.into_bytes())
    }

    /// Signs the leaf in place.
    pub fn sign(
        &mut self,
        signing_key: &SignaturePrivateKey,
        group_id: &[u8],
        leaf_index: LeafIndex,
    ) -> Result<(), CryptoError> {
        let tbs = self.to_be_signed(group_id, leaf_index)?;
        self.signature = sign_with_label(signing_key, LEAF_NODE_SIGNATURE_LABEL, &tbs)?.to_vec();
        Ok(())
    }

    /// Verifies the leaf's signature under its own signature key.
    pub fn verify(&self, group_id: &[u8], leaf_index: LeafIndex) -> Result<(), CryptoError> {
        let key = SignaturePublicKey::from_bytes(&self.signature_key)?;
        let tbs = self.to_be_signed(group_id, leaf_index)?;
        verify_with_label(&key, LEAF_NODE_SIGNATURE_LABEL, &tbs, &self.signature)
    }

    /// The parent hash the leaf commits to, if it came from a commit.
    #[must_use]
    pub fn parent_hash(&self) -> Option<&[u8]> {
        match &self.source {
            LeafNodeSource::Commit { parent_hash } => Some(parent_hash),
            LeafNodeSource::KeyPackage { .. } | LeafNodeSource::Update => None,
        }
    }
}

impl Encode for LeafNode {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        self.encode_content(writer)?;
        writer.write_opaque(&self.signature)
    }
}

impl Decode for LeafNode {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            encryption_key: reader.read_opaque_capped(MAX_PUBLIC_KEY_BYTES)?.to_vec(),
            signature_key: reader.read_opaque_capped(MAX_PUBLIC_KEY_BYTES)?.to_vec(),
            credential: Credential::decode(reader)?,
            capabilities: Capabilities::decode(reader)?,
            source: LeafNodeSource::decode(reader)?,
            extensions: reader.read_vector(Extension::decode)?,
            signature: reader.read_opaque_capped(MAX_SIGNATURE_BYTES)?.to_vec(),
        })
    }
}
