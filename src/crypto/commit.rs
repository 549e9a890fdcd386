//! Commits (RFC 9420 §12.4) and the decoder that frames Proposal and Commit
//! bodies inside `FramedContent`.

use super::codec::{Decode, Encode, Reader, Writer};
use super::error::{DecodeError, EncodeError};
use super::framing::{BodySkipper, ContentType};
use super::proposal::{Proposal, ProposalOrRef};
use super::tree_kem::UpdatePath;

/// Most proposals one commit may carry: one per member of the largest
/// group (DESIGN: 10,000 members), so that removing everyone else at once
/// still fits but a hostile peer cannot make us apply millions.
pub const MAX_COMMIT_PROPOSALS: usize = 10_000;

/// `Commit = { ProposalOrRef proposals<V>; optional<UpdatePath> path; }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The proposals the commit applies, in order.
    pub proposals: Vec<ProposalOrRef>,
    /// The committer's new path keys, when present.
    pub path: Option<UpdatePath>,
}

impl Encode for Commit {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        if self.proposals.len() > MAX_COMMIT_PROPOSALS {
            return Err(EncodeError::VectorTooLong {
                length: self.proposals.len(),
                cap: MAX_COMMIT_PROPOSALS,
            });
        }
        writer.write_vector(|items| {
            self.proposals
                .iter()
                .try_for_each(|proposal| proposal.encode(items))
        })?;
        writer.write_optional(self.path.as_ref(), |writer, path| path.encode(writer))
    }
}

impl Decode for Commit {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut count = 0usize;
        let proposals = reader.read_vector(|items| {
            count += 1;
            if count > MAX_COMMIT_PROPOSALS {
                return Err(DecodeError::TooManyItems {
                    cap: MAX_COMMIT_PROPOSALS,
                });
            }
            ProposalOrRef::decode(items)
        })?;
        let path = reader.read_optional(UpdatePath::decode)?;
        Ok(Self { proposals, path })
    }
}

/// The real [`BodySkipper`]: steps over a Proposal or Commit body by
/// decoding it, so malformed handshake bodies are rejected while framing.
#[derive(Debug, Clone, Copy, Default)]
pub struct HandshakeBodies;

impl BodySkipper for HandshakeBodies {
    fn skip_body(
        &self,
        content_type: ContentType,
        reader: &mut Reader<'_>,
    ) -> Result<(), DecodeError> {
        match content_type {
            ContentType::Proposal => Proposal::decode(reader).map(drop),
            ContentType::Commit => Commit::decode(reader).map(drop),
            ContentType::Application => {
                reader.read_opaque()?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::tree_math::LeafIndex;

    #[test]
    fn commit_without_path_round_trips() {
        let commit = Commit {
            proposals: vec![ProposalOrRef::Proposal(Proposal::Remove(LeafIndex(2)))],
            path: None,
        };
        let bytes = commit.to_tls_bytes().unwrap();
        assert_eq!(Commit::from_tls_bytes(&bytes), Ok(commit));
        let mut reader = Reader::new(&bytes);
        HandshakeBodies
            .skip_body(ContentType::Commit, &mut reader)
            .unwrap();
        assert!(reader.is_empty());
    }

    #[test]
    fn malformed_commits_are_rejected() {
        // Truncated proposal list.
        assert!(matches!(
            Commit::from_tls_bytes(&[0x07, 1, 0, 3, 0]),
            Err(DecodeError::Truncated { .. })
        ));
        // Bad optional presence byte for the path.
        assert_eq!(
            Commit::from_tls_bytes(&[0x00, 0x02]),
            Err(DecodeError::InvalidOptionalPresence(2))
        );
    }
}
