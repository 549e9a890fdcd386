//! Processing a commit from another member (RFC 9420 §12.4.2): verify who
//! sent it, apply its proposals and path to a staged tree, decrypt the one
//! path secret meant for us, and check that the confirmation tag proves the
//! committer reached the same epoch.

use super::create_commit::NextEpoch;
use super::pending::{PendingProposals, PskStore};
use super::proposals::{apply_proposals, resolve_proposals};
use super::{Group, GroupError, private_key_for, provisional_context};
use crate::crypto::CryptoError;
use crate::crypto::cipher_suite::HASH_LENGTH;
use crate::crypto::codec::Decode;
use crate::crypto::commit::{Commit, HandshakeBodies};
use crate::crypto::framing::{ContentType, Sender};
use crate::crypto::public_message::PublicMessage;
use crate::crypto::ratchet_tree::is_in_subtree;
use crate::crypto::secret::Secret;
use crate::crypto::tree_kem::{PathReceiver, process_update_path};
use crate::crypto::tree_math::{LeafIndex, NodeIndex};

/// What a processed commit did to this member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The group moved to `epoch`.
    Advanced {
        /// The new epoch.
        epoch: u64,
        /// Leaves of the members the commit added.
        added: Vec<LeafIndex>,
        /// Leaves the commit emptied.
        removed: Vec<LeafIndex>,
    },
    /// The commit removed this member. The state stays at the old epoch:
    /// the new epoch's secrets were never encrypted to us.
    Removed,
}

/// A peer's commit, applied to the staged tree and verified.
#[derive(Debug)]
struct StagedCommit {
    sender: LeafIndex,
    /// Whether the commit replaced the committer's path.
    has_path: bool,
    next: NextEpoch,
    path_secrets: Vec<(NodeIndex, Secret)>,
    added: Vec<LeafIndex>,
    removed: Vec<LeafIndex>,
}

impl Group {
    /// Applies a commit (an `MLSMessage` holding a PublicMessage) sent by
    /// another member in the current epoch, with its proposals inline and
    /// no PSK. On error the group is unchanged.
    #[doc(alias = "apply_operation")]
    pub fn process_commit(&mut self, message: &[u8]) -> Result<CommitOutcome, GroupError> {
        self.process_commit_with(message, &PendingProposals::new(), &PskStore::new())
    }

    /// [`Self::process_commit`] for a commit that may reference proposals
    /// received earlier in this epoch ([`Self::receive_proposal`]) and use
    /// external PSKs. On error the group is unchanged.
    pub fn process_commit_with(
        &mut self,
        message: &[u8],
        pending: &PendingProposals,
        psks: &PskStore,
    ) -> Result<CommitOutcome, GroupError> {
        self.tree.begin_staging();
        let staged = match self.stage_commit(message, pending, psks) {
            Ok(Some(staged)) => staged,
            Ok(None) => {
                self.tree.rollback_staging()?;
                return Ok(CommitOutcome::Removed);
            }
            Err(error) => {
                self.tree.rollback_staging()?;
                return Err(error);
            }
        };
        self.tree.commit_staging();

        // Keep the secrets of our path nodes the commit left alone (not on
        // the committer's path, not blanked, still in the tree); the
        // committer's path above us comes fresh from the commit.
        let size = self.tree.size();
        let mut overwritten = Vec::new();
        let mut current = staged.has_path.then(|| staged.sender.node());
        while let Some(node) = current.and_then(|node| size.parent(node)) {
            overwritten.push(node);
            current = Some(node);
        }
        let own_node = self.own_leaf.node();
        let tree = &self.tree;
        self.path_secrets.retain(|node, _| {
            size.contains(*node)
                && !overwritten.contains(node)
                && tree.node(*node).is_some()
                && is_in_subtree(own_node, *node)
        });
        self.path_secrets.extend(staged.path_secrets);
        let epoch = staged.next.context.epoch;
        self.enter_epoch(staged.next);
        Ok(CommitOutcome::Advanced {
            epoch,
            added: staged.added,
            removed: staged.removed,
        })
    }

    /// Verifies a commit and applies it to the staged tree. `None` when the
    /// commit removes us.
    fn stage_commit(
        &mut self,
        message: &[u8],
        pending: &PendingProposals,
        psks: &PskStore,
    ) -> Result<Option<StagedCommit>, GroupError> {
        let message = PublicMessage::from_mls_message_bytes(message, &HandshakeBodies)?;
        let framed = &message.content;
        if framed.group_id != self.context.group_id {
            return Err(GroupError::WrongGroup);
        }
        self.check_epoch(framed.epoch)?;
        self.check_epoch_available()?;
        if framed.content_type != ContentType::Commit {
            return Err(GroupError::UnexpectedContentType);
        }
        let Sender::Member(sender) = framed.sender else {
            return Err(GroupError::UnsupportedProposal("commit from a non-member"));
        };
        if sender == self.own_leaf {
            return Err(GroupError::OwnCommit);
        }
        let (sender_leaf, signed) = self.authenticate_member(&message, sender)?;
        // RFC 9420 §12.4.2: the committer's new leaf must have a new key,
        // or the commit would not heal a compromise of the old one.
        let old_leaf_key = sender_leaf.encryption_key.clone();
        let commit = Commit::from_tls_bytes(&signed.content.body)?;
        let empty = PendingProposals::new();
        let pending = if pending.is_for(self) {
            pending
        } else {
            &empty
        };
        let proposals = resolve_proposals(&commit.proposals, sender, pending)?;
        if commit
            .path
            .as_ref()
            .is_some_and(|path| path.leaf_node.encryption_key == old_leaf_key)
        {
            return Err(GroupError::InvalidProposal(
                "update path reuses the leaf key",
            ));
        }

        let applied = apply_proposals(
            &mut self.tree,
            &self.context.group_id,
            self.context.cipher_suite,
            &proposals,
            sender,
        )?;
        if applied.removed.contains(&self.own_leaf) {
            return Ok(None);
        }
        if applied.path_required && commit.path.is_none() {
            return Err(GroupError::MissingPath);
        }
        // Checked before any decryption: a missing PSK is the receiver's
        // problem, not evidence against the commit.
        let psk_secret = psks.psk_secret(&applied.psks)?;
        let added_leaves = applied.added_leaves();
        let mut next_context = self.context.clone();
        if let Some(extensions) = &applied.extensions {
            next_context.extensions.clone_from(extensions);
        }
        let (commit_secret, path_secrets) = match &commit.path {
            Some(path) => {
                let (own_leaf, leaf_key, path_secrets) =
                    (self.own_leaf, &self.leaf_private_key, &self.path_secrets);
                let received = process_update_path(
                    &mut self.tree,
                    sender,
                    path,
                    &next_context.group_id,
                    PathReceiver {
                        leaf: own_leaf,
                        private_key_for: |node| {
                            private_key_for(own_leaf, leaf_key, path_secrets, node)
                        },
                    },
                    &added_leaves,
                    |tree| provisional_context(&next_context, tree),
                )?;
                (received.commit_secret, received.path_secrets)
            }
            None => (Secret::zero(HASH_LENGTH), Vec::new()),
        };
        self.tree.refresh_hashes()?;
        let next = self.next_epoch(
            &signed,
            &commit_secret,
            &psk_secret,
            next_context.extensions,
        )?;
        let tag = signed
            .auth
            .confirmation_tag
            .as_deref()
            .ok_or(GroupError::ConfirmationTagInvalid)?;
        next.entry
            .epoch
            .verify_confirmation_tag(&next.context.confirmed_transcript_hash, tag)
            .map_err(|error| match error {
                CryptoError::MacInvalid => GroupError::ConfirmationTagInvalid,
                other => GroupError::Crypto(other),
            })?;
        Ok(Some(StagedCommit {
            sender,
            has_path: commit.path.is_some(),
            next,
            path_secrets,
            added: added_leaves,
            removed: applied.removed,
        }))
    }
}
