//! Creating a commit (RFC 9420 §12.4.1–§12.4.3): apply the proposals, refresh
//! our path, sign, run the key schedule, and welcome the new members.

use std::collections::BTreeMap;

use super::proposals::{AppliedProposals, ProposalFrom, apply_proposals};
use super::{Group, GroupError, RATCHET_TREE_EXTENSION, provisional_context, tree_hash_bytes};
use crate::crypto::cipher_suite::{HASH_LENGTH, MAC_LENGTH};
use crate::crypto::codec::{Encode, Writer};
use crate::crypto::commit::Commit;
use crate::crypto::framing::{
    AuthenticatedContent, ContentType, FramedContent, Sender, WireFormat,
};
use crate::crypto::group_context::{Extension, GroupContext};
use crate::crypto::key_package::KeyPackage;
use crate::crypto::key_schedule::EpochEntry;
use crate::crypto::keys::HpkePrivateKey;
use crate::crypto::proposal::{Proposal, ProposalOrRef};
use crate::crypto::public_message::PublicMessage;
use crate::crypto::ratchet_tree::is_in_subtree;
use crate::crypto::secret::Secret;
use crate::crypto::transcript::{
    ConfirmedTranscriptHashInput, confirmed_transcript_hash, interim_transcript_hash,
};
use crate::crypto::tree_kem::{Committer, CreatedPath, create_update_path};
use crate::crypto::tree_math::{LeafIndex, NodeIndex};
use crate::crypto::welcome::{GroupInfo, GroupSecrets, Welcome};

/// What a commit produces for the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutput {
    /// The commit, an `MLSMessage` holding a PublicMessage, for every member.
    pub commit: Vec<u8>,
    /// An `MLSMessage` holding the Welcome, when the commit added members.
    pub welcome: Option<Vec<u8>>,
}

impl Group {
    /// Adds the owner of `key_package` and advances to the next epoch.
    pub fn add_member(
        &mut self,
        key_package: &KeyPackage,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<CommitOutput, GroupError> {
        self.add_members(std::slice::from_ref(key_package), rng)
    }

    /// Adds several members with one commit and one Welcome.
    pub fn add_members(
        &mut self,
        key_packages: &[KeyPackage],
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<CommitOutput, GroupError> {
        let proposals = key_packages.iter().cloned().map(Proposal::Add).collect();
        self.commit(proposals, rng)
    }

    /// Removes the member at `leaf` and advances to the next epoch; the new
    /// epoch's secrets are encrypted so that the removed member cannot read them.
    pub fn remove_member(
        &mut self,
        leaf: LeafIndex,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<CommitOutput, GroupError> {
        self.commit(vec![Proposal::Remove(leaf)], rng)
    }

    /// Replaces this member's leaf and path keys (post-compromise security)
    /// and advances to the next epoch.
    pub fn update(
        &mut self,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<CommitOutput, GroupError> {
        self.commit(Vec::new(), rng)
    }

    /// Commits `proposals` with a fresh UpdatePath.
    pub fn commit(
        &mut self,
        proposals: Vec<Proposal>,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<CommitOutput, GroupError> {
        self.commit_with_data(proposals, Vec::new(), rng)
    }

    /// [`Self::commit`] with `authenticated_data` in the commit's framed content: signed
    /// by this member with the commit, readable by every member that processes it.
    pub fn commit_with_data(
        &mut self,
        proposals: Vec<Proposal>,
        authenticated_data: Vec<u8>,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<CommitOutput, GroupError> {
        self.tree.begin_staging();
        let staged = match self.stage_own_commit(proposals, authenticated_data, rng) {
            Ok(staged) => staged,
            Err(error) => {
                self.tree.rollback_staging()?;
                return Err(error);
            }
        };
        self.tree.commit_staging();
        self.path_secrets = staged.path_secrets.into_iter().collect::<BTreeMap<_, _>>();
        self.leaf_private_key = staged.leaf_private_key;
        self.enter_epoch(staged.next);
        Ok(staged.output)
    }

    /// Applies our own commit to the (staged) tree and computes everything
    /// the next epoch needs, without touching the rest of the state.
    fn stage_own_commit(
        &mut self,
        proposals: Vec<Proposal>,
        authenticated_data: Vec<u8>,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<StagedOwnCommit, GroupError> {
        self.check_epoch_available()?;
        let leaf_template = self.own_leaf_node()?.clone();
        let proposal_refs: Vec<ProposalFrom<'_>> = proposals
            .iter()
            .map(|proposal| ProposalFrom {
                proposer: self.own_leaf,
                proposal,
                by_reference: false,
            })
            .collect();
        let applied = apply_proposals(
            &mut self.tree,
            &self.context.group_id,
            self.context.cipher_suite,
            &proposal_refs,
            self.own_leaf,
        )?;
        // Aura's own commits take no PSK: the committer would need the
        // caller's PSK store, and no product flow asks for one yet.
        if !applied.psks.is_empty() {
            return Err(GroupError::UnsupportedProposal(
                "pre-shared key in own commit",
            ));
        }
        let added_leaves = applied.added_leaves();
        let mut next_context = self.context.clone();
        if let Some(extensions) = &applied.extensions {
            next_context.extensions.clone_from(extensions);
        }
        let context = &next_context;
        let created = create_update_path(
            &mut self.tree,
            Committer {
                leaf: self.own_leaf,
                leaf_template,
                signing_key: &self.signing_key,
            },
            &context.group_id,
            &added_leaves,
            |tree| provisional_context(context, tree),
            rng,
        )?;
        self.tree.refresh_hashes()?;
        let commit = Commit {
            proposals: proposals.into_iter().map(ProposalOrRef::Proposal).collect(),
            path: Some(created.update_path.clone()),
        };
        let content = FramedContent {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            sender: Sender::Member(self.own_leaf),
            authenticated_data,
            content_type: ContentType::Commit,
            body: commit.to_tls_bytes()?,
        };
        // The tag depends on the signature, so sign with a placeholder first.
        let mut signed = AuthenticatedContent::sign(
            WireFormat::PublicMessage,
            content,
            &self.context,
            &self.signing_key,
            Some(vec![0; MAC_LENGTH]),
        )?;
        let next = self.next_epoch(
            &signed,
            &created.commit_secret,
            &Secret::zero(HASH_LENGTH),
            next_context.extensions,
        )?;
        signed.auth.confirmation_tag = Some(next.confirmation_tag.clone());
        let message = PublicMessage::protect(&signed, &self.context, &self.secrets.membership_key)?
            .to_mls_message_bytes()?;
        let welcome = self.welcome(&next, &created, &applied, rng)?;
        Ok(StagedOwnCommit {
            output: CommitOutput {
                commit: message,
                welcome,
            },
            next,
            leaf_private_key: created.leaf_private_key,
            path_secrets: created.path_secrets,
        })
    }

    /// Runs the transcript and key schedule for a signed commit, over the
    /// (staged) tree of the next epoch.
    pub(super) fn next_epoch(
        &self,
        signed: &AuthenticatedContent,
        commit_secret: &Secret,
        psk_secret: &Secret,
        extensions: Vec<Extension>,
    ) -> Result<NextEpoch, GroupError> {
        let epoch = self
            .context
            .epoch
            .checked_add(1)
            .ok_or(GroupError::EpochExhausted)?;
        let mut wire_format_and_content = Writer::new();
        wire_format_and_content.write_u16(signed.wire_format.code());
        signed.content.encode(&mut wire_format_and_content)?;
        let confirmed = confirmed_transcript_hash(
            &self.interim_transcript_hash,
            &ConfirmedTranscriptHashInput {
                wire_format_and_content: wire_format_and_content.as_bytes(),
                signature: &signed.auth.signature,
            },
        )?;
        let context = GroupContext {
            cipher_suite: self.context.cipher_suite,
            group_id: self.context.group_id.clone(),
            epoch,
            tree_hash: tree_hash_bytes(&self.tree)?,
            confirmed_transcript_hash: confirmed.to_vec(),
            extensions,
        };
        let (joiner_secret, entry) = EpochEntry::from_commit(
            &self.secrets.init_secret,
            commit_secret,
            psk_secret,
            &context,
        )?;
        let confirmation_tag = entry.epoch.confirmation_tag(&confirmed)?.to_vec();
        let interim = interim_transcript_hash(&confirmed, &confirmation_tag)?;
        Ok(NextEpoch {
            context,
            joiner_secret,
            entry,
            confirmation_tag,
            interim_transcript_hash: interim.to_vec(),
        })
    }

    fn welcome(
        &self,
        next: &NextEpoch,
        created: &CreatedPath,
        applied: &AppliedProposals,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<Option<Vec<u8>>, GroupError> {
        if applied.added.is_empty() {
            return Ok(None);
        }
        let mut group_info = GroupInfo {
            group_context: next.context.clone(),
            extensions: vec![Extension {
                extension_type: RATCHET_TREE_EXTENSION,
                extension_data: self.tree.to_tls_bytes()?,
            }],
            confirmation_tag: next.confirmation_tag.clone(),
            signer: self.own_leaf,
            signature: Vec::new(),
        };
        group_info.sign(&self.signing_key)?;
        let secrets: Vec<GroupSecrets> = applied
            .added
            .iter()
            .map(|(leaf, _)| GroupSecrets {
                joiner_secret: next.joiner_secret.duplicate(),
                // The lowest node of our path above the new member: it can
                // derive every path secret above from this one.
                path_secret: created
                    .path_secrets
                    .iter()
                    .find(|(node, _)| is_in_subtree(leaf.node(), *node))
                    .map(|(_, secret)| secret.duplicate()),
                psks: Vec::new(),
            })
            .collect();
        let recipients: Vec<(&KeyPackage, &GroupSecrets)> = applied
            .added
            .iter()
            .map(|(_, key_package)| key_package)
            .zip(&secrets)
            .collect();
        let welcome = Welcome::seal(&group_info, &next.entry.welcome_secret, &recipients, rng)?;
        Ok(Some(welcome.to_mls_message_bytes()?))
    }
}

/// Our own commit, staged.
#[derive(Debug)]
struct StagedOwnCommit {
    output: CommitOutput,
    next: NextEpoch,
    leaf_private_key: HpkePrivateKey,
    path_secrets: Vec<(NodeIndex, Secret)>,
}

/// Everything the next epoch needs, computed before the state is replaced.
#[derive(Debug)]
pub(super) struct NextEpoch {
    pub context: GroupContext,
    pub joiner_secret: Secret,
    pub entry: EpochEntry,
    pub confirmation_tag: Vec<u8>,
    pub interim_transcript_hash: Vec<u8>,
}
