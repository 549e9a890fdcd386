//! Proposals (RFC 9420 §12.1): the membership changes a commit can carry.
//!
//! Aura supports Add, Update and Remove. The other proposal types of the RFC
//! (PSK, ReInit, ExternalInit, GroupContextExtensions) are rejected at decode
//! time: accepting bytes we cannot act on would let members' views diverge.

use super::codec::{Decode, Encode, Reader, Writer};
use super::error::{DecodeError, EncodeError};
use super::key_package::KeyPackage;
use super::leaf_node::{LeafNode, MAX_HASH_BYTES};
use super::tree_math::LeafIndex;

const PROPOSAL_TYPE_ADD: u16 = 1;
const PROPOSAL_TYPE_UPDATE: u16 = 2;
const PROPOSAL_TYPE_REMOVE: u16 = 3;

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
        }
    }
}

impl Decode for Proposal {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.read_u16()? {
            PROPOSAL_TYPE_ADD => Ok(Self::Add(KeyPackage::decode(reader)?)),
            PROPOSAL_TYPE_UPDATE => Ok(Self::Update(LeafNode::decode(reader)?)),
            PROPOSAL_TYPE_REMOVE => Ok(Self::Remove(LeafIndex(reader.read_u32()?))),
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
        // PSK (type 4) is not supported.
        assert_eq!(
            Proposal::from_tls_bytes(&[0, 4, 0]),
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
}
