//! Applying a commit's proposals to a staged copy of the tree (RFC 9420
//! §12.1, §12.3): the same rules for the committer and for every receiver,
//! so that both end up with the same tree.

use std::collections::HashSet;

use super::{GroupError, MAX_GROUP_MEMBERS};
use crate::crypto::key_package::KeyPackage;
use crate::crypto::proposal::{Proposal, ProposalOrRef};
use crate::crypto::ratchet_tree::RatchetTree;
use crate::crypto::tree_math::LeafIndex;

/// What the proposals of one commit changed.
#[derive(Debug, Default)]
pub(super) struct AppliedProposals {
    /// Leaves that were emptied, in proposal order.
    pub removed: Vec<LeafIndex>,
    /// Where each added KeyPackage landed, in proposal order.
    pub added: Vec<(LeafIndex, KeyPackage)>,
}

impl AppliedProposals {
    pub fn added_leaves(&self) -> Vec<LeafIndex> {
        self.added.iter().map(|(leaf, _)| *leaf).collect()
    }
}

/// The inline proposals of a commit; references are not supported because
/// Aura never sends standalone proposals.
pub(super) fn inline_proposals(proposals: &[ProposalOrRef]) -> Result<Vec<&Proposal>, GroupError> {
    proposals
        .iter()
        .map(|proposal| match proposal {
            ProposalOrRef::Proposal(proposal) => Ok(proposal),
            ProposalOrRef::Reference(_) => {
                Err(GroupError::UnsupportedProposal("proposal by reference"))
            }
        })
        .collect()
}

/// Applies removes, then adds (the RFC's order), to `tree`. `committer`
/// may not remove itself; Update proposals cannot be committed inline.
pub(super) fn apply_proposals(
    tree: &mut RatchetTree,
    proposals: &[&Proposal],
    committer: LeafIndex,
) -> Result<AppliedProposals, GroupError> {
    let mut applied = AppliedProposals::default();
    if proposals
        .iter()
        .any(|proposal| matches!(proposal, Proposal::Update(_)))
    {
        return Err(GroupError::UnsupportedProposal("inline update"));
    }
    for proposal in proposals {
        if let Proposal::Remove(leaf) = proposal {
            if *leaf == committer {
                return Err(GroupError::InvalidProposal("committer removes itself"));
            }
            if tree.leaf(*leaf).is_none() {
                return Err(GroupError::NotAMember(leaf.0));
            }
            tree.remove_leaf(*leaf)?;
            applied.removed.push(*leaf);
        }
    }
    let adds: Vec<&KeyPackage> = proposals
        .iter()
        .filter_map(|proposal| match proposal {
            Proposal::Add(key_package) => Some(key_package),
            Proposal::Update(_) | Proposal::Remove(_) => None,
        })
        .collect();
    if adds.is_empty() {
        return Ok(applied);
    }
    let members = (0..tree.size().leaf_count())
        .filter(|&leaf| tree.leaf(LeafIndex(leaf)).is_some())
        .count();
    if members + adds.len() > MAX_GROUP_MEMBERS {
        return Err(GroupError::GroupFull {
            max: MAX_GROUP_MEMBERS,
        });
    }
    // RFC 9420 §7.3: encryption and signature keys are unique across
    // leaves, or two members could read each other's path secrets or pass
    // for each other. A set keeps a commit of many adds O(n), not O(n²).
    let mut keys_in_use: HashSet<&[u8]> = (0..tree.size().leaf_count())
        .filter_map(|leaf| tree.leaf(LeafIndex(leaf)))
        .flat_map(|leaf| {
            [
                leaf.signature_key.as_slice(),
                leaf.encryption_key.as_slice(),
            ]
        })
        .collect();
    for key_package in &adds {
        key_package.verify()?;
        let new = &key_package.leaf_node;
        if !keys_in_use.insert(&new.signature_key) || !keys_in_use.insert(&new.encryption_key) {
            return Err(GroupError::InvalidProposal("duplicate member keys"));
        }
    }
    drop(keys_in_use);
    for key_package in adds {
        let leaf = tree.add_leaf(key_package.leaf_node.clone())?;
        applied.added.push((leaf, key_package.clone()));
    }
    Ok(applied)
}
