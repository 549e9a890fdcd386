//! Applying a commit's proposals to a staged copy of the tree (RFC 9420
//! §12.1, §12.3): the same rules for the committer and for every receiver,
//! so that both end up with the same tree.

use std::collections::HashSet;
use std::ops::RangeInclusive;

use super::pending::PendingProposals;
use super::{GroupError, MAX_GROUP_MEMBERS};
use crate::crypto::group_context::Extension;
use crate::crypto::key_package::KeyPackage;
use crate::crypto::leaf_node::LeafNodeSource;
use crate::crypto::proposal::{Proposal, ProposalOrRef};
use crate::crypto::psk::PreSharedKeyId;
use crate::crypto::ratchet_tree::RatchetTree;
use crate::crypto::tree_math::LeafIndex;

/// Extension types every client supports without listing them in its
/// capabilities (RFC 9420 §7.2): application_id through external_senders.
const DEFAULT_EXTENSION_TYPES: RangeInclusive<u16> = 1..=5;

/// One proposal of a commit and the member that proposed it: the committer
/// for inline proposals, the original sender for proposals by reference.
#[derive(Debug, Clone, Copy)]
pub struct ProposalFrom<'a> {
    /// Leaf of the member that proposed it.
    pub proposer: LeafIndex,
    /// The proposal.
    pub proposal: &'a Proposal,
    /// Whether it was sent by reference; Updates may only come that way.
    pub by_reference: bool,
}

/// What the proposals of one commit changed.
#[derive(Debug, Default)]
pub struct AppliedProposals {
    /// Leaves that were emptied, in proposal order.
    pub removed: Vec<LeafIndex>,
    /// Where each added KeyPackage landed, in proposal order.
    pub added: Vec<(LeafIndex, KeyPackage)>,
    /// The group context extensions of the next epoch, when a proposal replaced them.
    pub extensions: Option<Vec<Extension>>,
    /// PSKs the key schedule must fold in, in proposal order.
    pub psks: Vec<PreSharedKeyId>,
    /// Whether RFC 9420 §12.4 requires the commit to carry an UpdatePath:
    /// for an empty commit and for any proposal but Add and PreSharedKey.
    pub path_required: bool,
}

impl AppliedProposals {
    /// The leaves the added members landed in.
    #[must_use]
    pub fn added_leaves(&self) -> Vec<LeafIndex> {
        self.added.iter().map(|(leaf, _)| *leaf).collect()
    }
}

/// The commit's proposals, the ones by reference looked up among the
/// proposals received in this epoch.
pub(super) fn resolve_proposals<'a>(
    proposals: &'a [ProposalOrRef],
    committer: LeafIndex,
    pending: &'a PendingProposals,
) -> Result<Vec<ProposalFrom<'a>>, GroupError> {
    proposals
        .iter()
        .map(|proposal| match proposal {
            ProposalOrRef::Proposal(proposal) => Ok(ProposalFrom {
                proposer: committer,
                proposal,
                by_reference: false,
            }),
            ProposalOrRef::Reference(reference) => {
                let (proposer, proposal) = pending
                    .get(reference)
                    .ok_or(GroupError::UnknownProposalRef)?;
                Ok(ProposalFrom {
                    proposer,
                    proposal,
                    by_reference: true,
                })
            }
        })
        .collect()
}

/// Applies a commit's proposals to `tree` (of the group `group_id`, on
/// `cipher_suite`) in the RFC's order: context extensions, updates, removes,
/// adds; PSKs are collected for the key schedule. Every check a receiver
/// makes on the proposals themselves is made here: KeyPackage and leaf
/// signatures, suites, unique keys, the group's size. On error `tree` may be
/// partly changed: callers apply to a staged tree.
pub fn apply_proposals(
    tree: &mut RatchetTree,
    group_id: &[u8],
    cipher_suite: u16,
    proposals: &[ProposalFrom<'_>],
    committer: LeafIndex,
) -> Result<AppliedProposals, GroupError> {
    let mut applied = AppliedProposals {
        path_required: proposals.is_empty(),
        ..AppliedProposals::default()
    };
    for entry in proposals {
        match entry.proposal {
            Proposal::Add(_) => {}
            Proposal::PreSharedKey(psk) => applied.psks.push(psk.clone()),
            Proposal::GroupContextExtensions(extensions) => {
                if applied.extensions.is_some() {
                    return Err(GroupError::InvalidProposal(
                        "two group context extensions proposals",
                    ));
                }
                applied.extensions = Some(extensions.clone());
                applied.path_required = true;
            }
            Proposal::Update(_) | Proposal::Remove(_) => applied.path_required = true,
            Proposal::ReInit(_) => return Err(GroupError::UnsupportedProposal("reinit")),
            Proposal::ExternalInit { .. } => {
                return Err(GroupError::UnsupportedProposal("external init"));
            }
        }
    }
    let updated = apply_updates(tree, group_id, proposals, committer)?;
    for entry in proposals {
        if let Proposal::Remove(leaf) = entry.proposal {
            if *leaf == committer {
                return Err(GroupError::InvalidProposal("committer removes itself"));
            }
            if updated.contains(leaf) {
                return Err(GroupError::InvalidProposal("one leaf updated and removed"));
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
        .filter_map(|entry| match entry.proposal {
            Proposal::Add(key_package) => Some(key_package),
            _ => None,
        })
        .collect();
    if let Some(extensions) = &applied.extensions {
        check_extensions_supported(tree, &adds, extensions)?;
    }
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
        if key_package.cipher_suite != cipher_suite {
            return Err(GroupError::InvalidProposal(
                "key package of another cipher suite",
            ));
        }
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

/// RFC 9420 §12.1.7: new group context extensions must be understood by
/// every member, those staying and those joining, or their views diverge.
fn check_extensions_supported(
    tree: &RatchetTree,
    adds: &[&KeyPackage],
    extensions: &[Extension],
) -> Result<(), GroupError> {
    let members = (0..tree.size().leaf_count())
        .filter_map(|leaf| tree.leaf(LeafIndex(leaf)))
        .chain(adds.iter().map(|key_package| &key_package.leaf_node));
    for leaf in members {
        let unsupported = extensions.iter().any(|extension| {
            !DEFAULT_EXTENSION_TYPES.contains(&extension.extension_type)
                && !leaf
                    .capabilities
                    .extensions
                    .contains(&extension.extension_type)
        });
        if unsupported {
            return Err(GroupError::InvalidProposal(
                "context extension not supported by every member",
            ));
        }
    }
    Ok(())
}

/// Replaces the leaves of members that proposed an Update. Only by
/// reference and never the committer's own (its path replaces its leaf);
/// each new leaf must be signed for its position and bring a new key.
/// Returns the updated leaves.
fn apply_updates(
    tree: &mut RatchetTree,
    group_id: &[u8],
    proposals: &[ProposalFrom<'_>],
    committer: LeafIndex,
) -> Result<HashSet<LeafIndex>, GroupError> {
    let mut updated = HashSet::new();
    for entry in proposals {
        let Proposal::Update(leaf_node) = entry.proposal else {
            continue;
        };
        if !entry.by_reference {
            return Err(GroupError::UnsupportedProposal("inline update"));
        }
        if entry.proposer == committer {
            return Err(GroupError::InvalidProposal("committer updates by proposal"));
        }
        if !updated.insert(entry.proposer) {
            return Err(GroupError::InvalidProposal("two updates of one leaf"));
        }
        let old = tree
            .leaf(entry.proposer)
            .ok_or(GroupError::NotAMember(entry.proposer.0))?;
        if old.encryption_key == leaf_node.encryption_key {
            return Err(GroupError::InvalidProposal("update reuses the leaf key"));
        }
        if leaf_node.source != LeafNodeSource::Update {
            return Err(GroupError::InvalidProposal(
                "update leaf of the wrong source",
            ));
        }
        leaf_node.verify(group_id, entry.proposer)?;
        tree.update_leaf(entry.proposer, leaf_node.clone())?;
    }
    Ok(updated)
}
