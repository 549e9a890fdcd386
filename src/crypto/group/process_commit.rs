//! Processing a commit from another member (RFC 9420 §12.4.2): verify who
//! sent it, apply its proposals and path to a staged tree, decrypt the one
//! path secret meant for us, and check that the confirmation tag proves the
//! committer reached the same epoch.

use std::collections::BTreeMap;

use super::proposals::{apply_proposals, inline_proposals};
use super::{Group, GroupError};
use crate::crypto::CryptoError;
use crate::crypto::codec::Decode;
use crate::crypto::commit::{Commit, HandshakeBodies};
use crate::crypto::framing::{ContentType, Sender};
use crate::crypto::keys::SignaturePublicKey;
use crate::crypto::public_message::PublicMessage;
use crate::crypto::ratchet_tree::is_in_subtree;
use crate::crypto::tree_kem::{PathReceiver, process_update_path};
use crate::crypto::tree_math::LeafIndex;

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

impl Group {
    /// Applies a commit (an `MLSMessage` holding a PublicMessage) sent by
    /// another member in the current epoch. On error the group is unchanged.
    #[doc(alias = "apply_operation")]
    pub fn process_commit(&mut self, message: &[u8]) -> Result<CommitOutcome, GroupError> {
        let message = PublicMessage::from_mls_message_bytes(message, &HandshakeBodies)?;
        let framed = &message.content;
        if framed.group_id != self.context.group_id {
            return Err(GroupError::WrongGroup);
        }
        self.check_epoch(framed.epoch)?;
        if framed.content_type != ContentType::Commit {
            return Err(GroupError::UnexpectedContentType);
        }
        let Sender::Member(sender) = framed.sender else {
            return Err(GroupError::UnsupportedProposal("commit from a non-member"));
        };
        if sender == self.own_leaf {
            return Err(GroupError::OwnCommit);
        }
        let sender_leaf = self
            .tree
            .leaf(sender)
            .ok_or(GroupError::UnknownSender(sender.0))?;
        let signed = message.unprotect(&self.context, &self.secrets.membership_key)?;
        signed.verify(
            &self.context,
            &SignaturePublicKey::from_bytes(&sender_leaf.signature_key)?,
        )?;
        let commit = Commit::from_tls_bytes(&signed.content.body)?;
        let proposals = inline_proposals(&commit.proposals)?;

        let mut tree = self.tree.clone();
        let applied = apply_proposals(&mut tree, &proposals, sender)?;
        if applied.removed.contains(&self.own_leaf) {
            return Ok(CommitOutcome::Removed);
        }
        let path = commit.path.as_ref().ok_or(GroupError::MissingPath)?;
        let added_leaves = applied.added_leaves();
        let received = process_update_path(
            &mut tree,
            sender,
            path,
            &self.context.group_id,
            PathReceiver {
                leaf: self.own_leaf,
                private_key_for: |node| self.private_key_for(node),
            },
            &added_leaves,
            |tree| self.provisional_context(tree),
        )?;
        tree.refresh_hashes()?;
        let next = self.next_epoch(&tree, &signed, &received.commit_secret)?;
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

        // Keep the secrets of our path nodes the commit left alone (not on
        // the committer's path, not blanked, still in the tree); the
        // committer's path above us comes fresh from the commit.
        let size = tree.size();
        let overwritten = size.direct_path(sender.node())?;
        let own_node = self.own_leaf.node();
        let mut path_secrets: BTreeMap<_, _> = std::mem::take(&mut self.path_secrets)
            .into_iter()
            .filter(|(node, _)| {
                size.contains(*node)
                    && !overwritten.contains(node)
                    && tree.node(*node).is_some()
                    && is_in_subtree(own_node, *node)
            })
            .collect();
        path_secrets.extend(received.path_secrets);
        self.path_secrets = path_secrets;
        let epoch = next.context.epoch;
        self.enter_epoch(next, tree);
        Ok(CommitOutcome::Advanced {
            epoch,
            added: added_leaves,
            removed: applied.removed,
        })
    }
}
