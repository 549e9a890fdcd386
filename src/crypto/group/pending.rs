//! What a member needs, besides its group state, to follow commits made by
//! others (RFC 9420 §12.1, §8.4): the standalone proposals received in the
//! current epoch, which a commit may name by `ProposalRef`, and the PSKs
//! (external, or resumption PSKs of earlier epochs) it may fold into the key
//! schedule.
//!
//! Both are held by the caller beside the [`Group`], not inside it: they are
//! inputs to the next commit, not part of the epoch's state that
//! [`Group::export_state`] persists; external PSKs come from the
//! application, out of band, and how many past epochs' resumption PSKs to
//! keep is the application's policy.

use std::collections::BTreeMap;

use super::{Group, GroupError};
use crate::crypto::cipher_suite::HASH_LENGTH;
use crate::crypto::codec::{Decode, Encode};
use crate::crypto::commit::{HandshakeBodies, MAX_COMMIT_PROPOSALS};
use crate::crypto::framing::{ContentType, Sender};
use crate::crypto::leaf_node::LeafNodeSource;
use crate::crypto::primitives::ref_hash;
use crate::crypto::proposal::Proposal;
use crate::crypto::psk::{PreSharedKeyId, PskKind, ResumptionUsage, psk_secret};
use crate::crypto::public_message::PublicMessage;
use crate::crypto::secret::Secret;
use crate::crypto::tree_math::LeafIndex;

/// Label of `ProposalRef = RefHash(label, AuthenticatedContent)`.
pub const PROPOSAL_REF_LABEL: &[u8] = b"MLS 1.0 Proposal Reference";

/// Most proposals kept for one epoch: as many as one commit may carry, so a
/// member flooding proposals cannot grow the cache without bound.
pub const MAX_PENDING_PROPOSALS: usize = MAX_COMMIT_PROPOSALS;

/// Proposals received (and verified) in one epoch of one group, by reference.
#[derive(Debug, Default)]
pub struct PendingProposals {
    epoch: Option<(Vec<u8>, u64)>,
    by_reference: BTreeMap<Vec<u8>, (LeafIndex, Proposal)>,
}

impl PendingProposals {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of proposals held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_reference.len()
    }

    /// Whether no proposal is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_reference.is_empty()
    }

    /// The proposal sent under `reference`, with its sender.
    pub(super) fn get(&self, reference: &[u8]) -> Option<(LeafIndex, &Proposal)> {
        self.by_reference
            .get(reference)
            .map(|(sender, proposal)| (*sender, proposal))
    }

    /// Whether the cache holds proposals of this group's current epoch;
    /// those of any earlier epoch are void (RFC 9420 §12.1).
    pub(super) fn is_for(&self, group: &Group) -> bool {
        self.epoch.as_ref().is_some_and(|(group_id, epoch)| {
            *group_id == group.context.group_id && *epoch == group.context.epoch
        })
    }
}

/// The pre-shared keys a member can supply: external ones, by `psk_id`,
/// and the resumption PSKs of epochs it has seen, by group and epoch.
#[derive(Debug, Default)]
pub struct PskStore {
    external: BTreeMap<Vec<u8>, Secret>,
    resumption: BTreeMap<(Vec<u8>, u64), Secret>,
}

impl PskStore {
    /// No PSK.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the external PSK `secret` available under `psk_id`.
    pub fn insert_external(&mut self, psk_id: Vec<u8>, secret: Secret) {
        self.external.insert(psk_id, secret);
    }

    /// Keeps the resumption PSK of `group`'s current epoch, so that a later
    /// commit can bind the group's history to it.
    pub fn remember_epoch(&mut self, group: &Group) {
        self.resumption.insert(
            (group.context.group_id.clone(), group.context.epoch),
            group.secrets.resumption_psk.duplicate(),
        );
    }

    /// The `psk_secret` of the key schedule for `psks`, in order: every one
    /// must be a PSK this store holds, named once, with a nonce of the hash
    /// length; of resumption PSKs only the application kind (reinit and
    /// branch belong to flows Aura does not have).
    pub(super) fn psk_secret(&self, psks: &[PreSharedKeyId]) -> Result<Secret, GroupError> {
        let mut resolved = Vec::with_capacity(psks.len());
        for (index, id) in psks.iter().enumerate() {
            if psks[..index].contains(id) {
                return Err(GroupError::InvalidProposal("one PSK named twice"));
            }
            if id.psk_nonce.len() != HASH_LENGTH {
                return Err(GroupError::InvalidProposal("PSK nonce of the wrong length"));
            }
            let secret = match &id.kind {
                PskKind::External { psk_id } => self.external.get(psk_id),
                PskKind::Resumption {
                    usage: ResumptionUsage::Application,
                    psk_group_id,
                    psk_epoch,
                } => self.resumption.get(&(psk_group_id.clone(), *psk_epoch)),
                PskKind::Resumption { .. } => {
                    return Err(GroupError::UnsupportedProposal(
                        "resumption PSK for reinit or branch",
                    ));
                }
            }
            .ok_or(GroupError::MissingPsk)?;
            resolved.push((id.clone(), secret.duplicate()));
        }
        Ok(psk_secret(&resolved)?)
    }
}

impl Group {
    /// Verifies a standalone proposal (an `MLSMessage` holding a
    /// PublicMessage) sent by a member in the current epoch and keeps it in
    /// `pending` until a commit references it. Returns its `ProposalRef`.
    /// Proposals of earlier epochs still in `pending` are dropped.
    pub fn receive_proposal(
        &self,
        message: &[u8],
        pending: &mut PendingProposals,
    ) -> Result<Vec<u8>, GroupError> {
        let message = PublicMessage::from_mls_message_bytes(message, &HandshakeBodies)?;
        let framed = &message.content;
        if framed.group_id != self.context.group_id {
            return Err(GroupError::WrongGroup);
        }
        self.check_epoch(framed.epoch)?;
        if framed.content_type != ContentType::Proposal {
            return Err(GroupError::UnexpectedContentType);
        }
        let Sender::Member(sender) = framed.sender else {
            return Err(GroupError::UnsupportedProposal(
                "proposal from a non-member",
            ));
        };
        let (_, signed) = self.authenticate_member(&message, sender)?;
        let proposal = Proposal::from_tls_bytes(&signed.content.body)?;
        match &proposal {
            Proposal::Update(leaf_node) => {
                if leaf_node.source != LeafNodeSource::Update {
                    return Err(GroupError::InvalidProposal(
                        "update leaf of the wrong source",
                    ));
                }
                leaf_node.verify(&self.context.group_id, sender)?;
            }
            Proposal::ReInit(_) => return Err(GroupError::UnsupportedProposal("reinit")),
            Proposal::ExternalInit { .. } => {
                return Err(GroupError::UnsupportedProposal("external init"));
            }
            Proposal::Add(_)
            | Proposal::Remove(_)
            | Proposal::PreSharedKey(_)
            | Proposal::GroupContextExtensions(_) => {}
        }
        let reference = ref_hash(PROPOSAL_REF_LABEL, &signed.to_tls_bytes()?)?.to_vec();
        if !pending.is_for(self) {
            *pending = PendingProposals {
                epoch: Some((self.context.group_id.clone(), self.context.epoch)),
                by_reference: BTreeMap::new(),
            };
        }
        if pending.len() >= MAX_PENDING_PROPOSALS && pending.get(&reference).is_none() {
            return Err(GroupError::TooManyPendingProposals {
                max: MAX_PENDING_PROPOSALS,
            });
        }
        pending
            .by_reference
            .insert(reference.clone(), (sender, proposal));
        Ok(reference)
    }
}
