//! Proposals (RFC 9420 §12.1): the membership changes a commit can carry.
//!
//! All seven proposal types of the RFC decode and encode; which of them a
//! group can apply is the group's decision (see [`super::group`]), so that a
//! proposal it cannot act on is refused with a clear error, not a parse error.

use super::codec::{Decode, Encode, Reader, Writer};
use super::error::{DecodeError, EncodeError};
use super::group_context::{Extension, MAX_GROUP_ID_BYTES};
use super::key_package::KeyPackage;
use super::leaf_node::{LeafNode, MAX_HASH_BYTES, MAX_PUBLIC_KEY_BYTES};
use super::psk::PreSharedKeyId;
use super::tree_math::LeafIndex;

const PROPOSAL_TYPE_ADD: u16 = 1;
const PROPOSAL_TYPE_UPDATE: u16 = 2;
const PROPOSAL_TYPE_REMOVE: u16 = 3;
const PROPOSAL_TYPE_PSK: u16 = 4;
const PROPOSAL_TYPE_REINIT: u16 = 5;
const PROPOSAL_TYPE_EXTERNAL_INIT: u16 = 6;
const PROPOSAL_TYPE_GROUP_CONTEXT_EXTENSIONS: u16 = 7;

/// Most extensions one ReInit or GroupContextExtensions proposal may carry:
/// far more than the RFC's registry defines, far fewer than the codec's cap.
pub const MAX_PROPOSAL_EXTENSIONS: usize = 256;

const PROPOSAL_OR_REF_PROPOSAL: u8 = 1;
const PROPOSAL_OR_REF_REFERENCE: u8 = 2;

/// `Proposal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal {
    /// `Add { KeyPackage key_package; }`.
    Add(KeyPackage),
    /// `Update { LeafNode leaf_node; }`.
    Update(LeafNode),
    /// `Remove { uint32 removed; }`.
    Remove(LeafIndex),
    /// `PreSharedKey { PreSharedKeyID psk; }`.
    PreSharedKey(PreSharedKeyId),
    /// `ReInit`: restart the group with new parameters.
    ReInit(ReInit),
    /// `ExternalInit { opaque kem_output<V>; }`, only in external commits.
    ExternalInit {
        /// HPKE encapsulation to the group's external public key.
        kem_output: Vec<u8>,
    },
    /// `GroupContextExtensions { Extension extensions<V>; }`: replaces the
    /// group context's extensions.
    GroupContextExtensions(Vec<Extension>),
}

/// `ReInit { opaque group_id<V>; ProtocolVersion version; CipherSuite
/// cipher_suite; Extension extensions<V>; }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReInit {
    /// Id of the group to create.
    pub group_id: Vec<u8>,
    /// Its protocol version.
    pub version: u16,
    /// Its cipher suite (any suite may be named, even one Aura lacks).
    pub cipher_suite: u16,
    /// Its group context extensions.
    pub extensions: Vec<Extension>,
}

fn write_extensions(writer: &mut Writer, extensions: &[Extension]) -> Result<(), EncodeError> {
    if extensions.len() > MAX_PROPOSAL_EXTENSIONS {
        return Err(EncodeError::VectorTooLong {
            length: extensions.len(),
            cap: MAX_PROPOSAL_EXTENSIONS,
        });
    }
    writer.write_vector(|items| {
        extensions
            .iter()
            .try_for_each(|extension| extension.encode(items))
    })
}

fn read_extensions(reader: &mut Reader<'_>) -> Result<Vec<Extension>, DecodeError> {
    let mut count = 0usize;
    reader.read_vector(|items| {
        count += 1;
        if count > MAX_PROPOSAL_EXTENSIONS {
            return Err(DecodeError::TooManyItems {
                cap: MAX_PROPOSAL_EXTENSIONS,
            });
        }
        Extension::decode(items)
    })
}

impl Encode for Proposal {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        match self {
            Self::Add(key_package) => {
                writer.write_u16(PROPOSAL_TYPE_ADD);
                key_package.encode(writer)
            }
            Self::Update(leaf_node) => {
                writer.write_u16(PROPOSAL_TYPE_UPDATE);
                leaf_node.encode(writer)
            }
            Self::Remove(removed) => {
                writer.write_u16(PROPOSAL_TYPE_REMOVE);
                writer.write_u32(removed.0);
                Ok(())
            }
            Self::PreSharedKey(psk) => {
                writer.write_u16(PROPOSAL_TYPE_PSK);
                psk.encode(writer)
            }
            Self::ReInit(reinit) => {
                writer.write_u16(PROPOSAL_TYPE_REINIT);
                writer.write_opaque(&reinit.group_id)?;
                writer.write_u16(reinit.version);
                writer.write_u16(reinit.cipher_suite);
                write_extensions(writer, &reinit.extensions)
            }
            Self::ExternalInit { kem_output } => {
                writer.write_u16(PROPOSAL_TYPE_EXTERNAL_INIT);
                writer.write_opaque(kem_output)
            }
            Self::GroupContextExtensions(extensions) => {
                writer.write_u16(PROPOSAL_TYPE_GROUP_CONTEXT_EXTENSIONS);
                write_extensions(writer, extensions)
            }
        }
    }
}

impl Decode for Proposal {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.read_u16()? {
            PROPOSAL_TYPE_ADD => Ok(Self::Add(KeyPackage::decode(reader)?)),
            PROPOSAL_TYPE_UPDATE => Ok(Self::Update(LeafNode::decode(reader)?)),
            PROPOSAL_TYPE_REMOVE => Ok(Self::Remove(LeafIndex(reader.read_u32()?))),
            PROPOSAL_TYPE_PSK => Ok(Self::PreSharedKey(PreSharedKeyId::decode(reader)?)),
            PROPOSAL_TYPE_REINIT => Ok(Self::ReInit(ReInit {
                group_id: reader.read_opaque_capped(MAX_GROUP_ID_BYTES)?.to_vec(),
                version: reader.read_u16()?,
                cipher_suite: reader.read_u16()?,
                extensions: read_extensions(reader)?,
            })),
            PROPOSAL_TYPE_EXTERNAL_INIT => Ok(Self::ExternalInit {
                kem_output: reader.read_opaque_capped(MAX_PUBLIC_KEY_BYTES)?.to_vec(),
            }),
            PROPOSAL_TYPE_GROUP_CONTEXT_EXTENSIONS => {
                Ok(Self::GroupContextExtensions(read_extensions(reader)?))
            }
            _ => Err(DecodeError::UnexpectedValue {
                field: "proposal_type",
            }),
        }
    }
}

/// `ProposalOrRef`: a proposal inline, or the `ProposalRef` hash of one sent earlier.
#[allow(clippy::large_enum_variant)] // Few and short-lived; boxing would buy nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposalOrRef {
    /// The proposal itself.
    Proposal(Proposal),
    /// `RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent)`.
    Reference(Vec<u8>),
}

impl Encode for ProposalOrRef {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        match self {
            Self::Proposal(proposal) => {
                writer.write_u8(PROPOSAL_OR_REF_PROPOSAL);
                proposal.encode(writer)
            }
            Self::Reference(reference) => {
                writer.write_u8(PROPOSAL_OR_REF_REFERENCE);
                writer.write_opaque(reference)
            }
        }
    }
}

impl Decode for ProposalOrRef {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.read_u8()? {
            PROPOSAL_OR_REF_PROPOSAL => Ok(Self::Proposal(Proposal::decode(reader)?)),
            PROPOSAL_OR_REF_REFERENCE => Ok(Self::Reference(
                reader.read_opaque_capped(MAX_HASH_BYTES)?.to_vec(),
            )),
            _ => Err(DecodeError::UnexpectedValue {
                field: "proposal_or_ref_type",
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn remove_round_trips_and_unknown_types_are_rejected() {
        let proposal = ProposalOrRef::Proposal(Proposal::Remove(LeafIndex(7)));
        let bytes = proposal.to_tls_bytes().unwrap();
        assert_eq!(bytes, [1, 0, 3, 0, 0, 0, 7]);
        assert_eq!(ProposalOrRef::from_tls_bytes(&bytes), Ok(proposal));
        // Type 8 is not an RFC 9420 proposal.
        assert_eq!(
            Proposal::from_tls_bytes(&[0, 8, 0]),
            Err(DecodeError::UnexpectedValue {
                field: "proposal_type"
            })
        );
        assert!(matches!(
            ProposalOrRef::from_tls_bytes(&[1, 0, 3, 0, 0]),
            Err(DecodeError::Truncated { .. })
        ));
        assert_eq!(
            ProposalOrRef::from_tls_bytes(&[3]),
            Err(DecodeError::UnexpectedValue {
                field: "proposal_or_ref_type"
            })
        );
    }

    #[test]
    fn every_proposal_type_round_trips() {
        let extension = Extension {
            extension_type: 0xff00,
            extension_data: vec![1, 2],
        };
        let proposals = [
            Proposal::PreSharedKey(PreSharedKeyId {
                kind: crate::crypto::psk::PskKind::External {
                    psk_id: b"id".to_vec(),
                },
                psk_nonce: vec![9; 32],
            }),
            Proposal::ReInit(ReInit {
                group_id: b"next".to_vec(),
                version: 1,
                cipher_suite: 1,
                extensions: vec![extension.clone()],
            }),
            Proposal::ExternalInit {
                kem_output: vec![4; 32],
            },
            Proposal::GroupContextExtensions(vec![extension]),
        ];
        for proposal in proposals {
            let bytes = proposal.to_tls_bytes().unwrap();
            assert_eq!(Proposal::from_tls_bytes(&bytes), Ok(proposal));
        }
    }

    #[test]
    fn extension_lists_are_capped_both_ways() {
        let extensions = vec![
            Extension {
                extension_type: 1,
                extension_data: Vec::new(),
            };
            MAX_PROPOSAL_EXTENSIONS + 1
        ];
        assert!(matches!(
            Proposal::GroupContextExtensions(extensions.clone()).to_tls_bytes(),
            Err(EncodeError::VectorTooLong { .. })
        ));
        // The same list, encoded by hand past the encoder's cap.
        let mut writer = Writer::new();
        writer.write_u16(PROPOSAL_TYPE_GROUP_CONTEXT_EXTENSIONS);
        writer
            .write_vector(|items| extensions.iter().try_for_each(|e| e.encode(items)))
            .unwrap();
        assert_eq!(
            Proposal::from_tls_bytes(writer.as_bytes()),
            Err(DecodeError::TooManyItems {
                cap: MAX_PROPOSAL_EXTENSIONS
            })
        );
    }
}
