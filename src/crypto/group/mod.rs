//! The MLS group state machine (RFC 9420 §8, §12): one member's view of a
//! group, moved from epoch to epoch by commits.
//!
//! - [`Group::create`] starts a one-member group;
//! - [`Group::add_member`], [`Group::remove_member`], [`Group::update`] create
//!   a commit (always with an UpdatePath) and advance this member at once;
//! - [`Group::process_commit`] applies a commit received from another member;
//!   [`Group::receive_proposal`] keeps a member's standalone proposal in a
//!   [`PendingProposals`] until [`Group::process_commit_with`] applies a
//!   commit that references it, with the PSKs of a [`PskStore`];
//! - [`Group::join_from_welcome`] enters a group from a Welcome
//!   ([`Group::join_from_welcome_with`]: tree out of band, PSKs);
//! - [`Group::protect`] / [`Group::unprotect`] carry application messages
//!   through the epoch's secret tree;
//! - [`Group::export_state`] / [`Group::import_state`] serialize everything,
//!   secrets included, for the store.
//!
//! Every operation works on a staged copy and replaces the state only once
//! everything has verified, so a failed operation (a forged or stale commit,
//! say) leaves the group untouched. Commits are sent as PublicMessages (the
//! journal stores them readable to replicas), application data as
//! PrivateMessages. Aura's own commits carry their proposals inline; commits
//! from others may also reference proposals (Add, Update, Remove,
//! PreSharedKey, GroupContextExtensions) and fold in external or resumption
//! PSKs, as RFC 9420 allows. ReInit, external init and external joins are not
//! supported, nor are handshake messages sent as PrivateMessages.

mod application;
mod create_commit;
mod error;
#[cfg(any(test, feature = "test-support"))]
pub mod fixture;
mod join;
mod key_package;
mod pending;
mod process_commit;
mod proposals;
mod state;

use std::collections::BTreeMap;

pub use application::ReceivedMessage;
pub use create_commit::CommitOutput;
pub use error::GroupError;
pub use join::{JoinOptions, OpenedWelcome};
pub use key_package::{KeyPackageSecrets, generate_key_package};
pub use pending::{MAX_PENDING_PROPOSALS, PROPOSAL_REF_LABEL, PendingProposals, PskStore};
pub use process_commit::CommitOutcome;
pub use proposals::{AppliedProposals, ProposalFrom, apply_proposals};

use super::cipher_suite::{CIPHER_SUITE_ID, CipherSuite, HASH_LENGTH, PROTOCOL_VERSION_MLS10};
use super::framing::AuthenticatedContent;
use super::group_context::GroupContext;
use super::key_schedule::{EpochEntry, EpochSecrets};
use super::keys::{HpkeKeyPair, HpkePrivateKey, SignaturePrivateKey, SignaturePublicKey};
use super::leaf_node::{Capabilities, Credential, LeafNode, LeafNodeSource};
use super::primitives::HashValue;
use super::public_message::PublicMessage;
use super::ratchet_tree::{Node, RatchetTree};
use super::secret::Secret;
use super::secret_tree::SecretTree;
use super::transcript::interim_transcript_hash;
use super::tree_kem::node_key_pair;
use super::tree_math::{LeafIndex, NodeIndex};

/// Most members a group may have (DESIGN limits).
pub const MAX_GROUP_MEMBERS: usize = 10_000;

/// Length of the key [`Group::derive_group_key`] returns.
pub const GROUP_KEY_LENGTH: usize = 32;

/// Exporter label of [`Group::derive_group_key`].
pub const GROUP_KEY_LABEL: &[u8] = b"aura group key";

/// Extension type of `ratchet_tree` in a GroupInfo (RFC 9420 §12.4.3.3).
pub const RATCHET_TREE_EXTENSION: u16 = 2;

/// Extension type of a group's name in its group context (private use range, RFC 9420
/// §17.3): every leaf advertises it, so that a GroupContextExtensions proposal that sets
/// the name is understood by every member (§12.1.7).
pub const GROUP_NAME_EXTENSION: u16 = 0xF0A0;

/// Extension type of a group's capability policy in its group context (private use range):
/// who may add, remove, rename and change the policy. Advertised by every leaf, like the
/// name, so that a GroupContextExtensions proposal that sets it is understood by every
/// member.
pub const GROUP_POLICY_EXTENSION: u16 = 0xF0A1;

/// Capabilities Aura's leaves advertise: MLS 1.0, suite 3, basic credentials, the group
/// name and policy extensions.
#[must_use]
pub fn default_capabilities() -> Capabilities {
    Capabilities {
        versions: vec![PROTOCOL_VERSION_MLS10],
        cipher_suites: vec![CIPHER_SUITE_ID],
        extensions: vec![GROUP_NAME_EXTENSION, GROUP_POLICY_EXTENSION],
        proposals: Vec::new(),
        credentials: vec![1],
    }
}

/// One member's state of one group at one epoch.
#[derive(Debug)]
pub struct Group {
    context: GroupContext,
    tree: RatchetTree,
    own_leaf: LeafIndex,
    signing_key: SignaturePrivateKey,
    leaf_private_key: HpkePrivateKey,
    /// Path secrets of the parent nodes above our leaf whose private keys we
    /// hold; keys are derived from them only when a commit needs one.
    path_secrets: BTreeMap<NodeIndex, Secret>,
    secrets: EpochSecrets,
    interim_transcript_hash: Vec<u8>,
    secret_tree: SecretTree,
}

impl Group {
    /// Creates a group with this member alone in it, at epoch 0, on Aura's
    /// suite ([`CipherSuite::AURA`]); Aura never creates groups of another.
    pub fn create(
        group_id: Vec<u8>,
        identity: Vec<u8>,
        signing_key: SignaturePrivateKey,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<Self, GroupError> {
        let leaf_key_pair = HpkeKeyPair::generate(rng);
        let mut leaf = LeafNode {
            encryption_key: leaf_key_pair.public_key.to_bytes().to_vec(),
            signature_key: signing_key.public_key().to_bytes().to_vec(),
            credential: Credential::Basic { identity },
            capabilities: default_capabilities(),
            source: LeafNodeSource::Update,
            extensions: Vec::new(),
            signature: Vec::new(),
        };
        leaf.sign(&signing_key, &group_id, LeafIndex(0))?;
        let tree = RatchetTree::from_nodes(vec![Some(Node::Leaf(leaf))])?;
        let context = GroupContext {
            cipher_suite: CipherSuite::AURA.id(),
            group_id,
            epoch: 0,
            tree_hash: tree.root_tree_hash()?.to_vec(),
            confirmed_transcript_hash: Vec::new(),
            extensions: Vec::new(),
        };
        // RFC 9420 §11: the first epoch starts from a random init secret and
        // an all-zero commit secret.
        let mut init = Secret::zero(HASH_LENGTH);
        rng.fill_bytes(init.as_mut_bytes());
        let zero = Secret::zero(HASH_LENGTH);
        let (_, entry) = EpochEntry::from_commit(&init, &zero, &zero, &context)?;
        let tag = entry
            .epoch
            .confirmation_tag(&context.confirmed_transcript_hash)?;
        let interim = interim_transcript_hash(&context.confirmed_transcript_hash, &tag)?;
        Ok(Self::assemble(
            CipherSuite::AURA,
            context,
            tree,
            LeafIndex(0),
            signing_key,
            leaf_key_pair.private_key,
            BTreeMap::new(),
            entry.epoch,
            interim.to_vec(),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        suite: CipherSuite,
        context: GroupContext,
        tree: RatchetTree,
        own_leaf: LeafIndex,
        signing_key: SignaturePrivateKey,
        leaf_private_key: HpkePrivateKey,
        path_secrets: BTreeMap<NodeIndex, Secret>,
        mut secrets: EpochSecrets,
        interim_transcript_hash: Vec<u8>,
    ) -> Self {
        let secret_tree = seed_secret_tree(suite, &mut secrets, tree.size());
        Self {
            context,
            tree,
            own_leaf,
            signing_key,
            leaf_private_key,
            path_secrets,
            secrets,
            interim_transcript_hash,
            secret_tree,
        }
    }

    /// Replaces the epoch state; called only once everything has verified.
    /// The tree must already be the new epoch's (staged and committed).
    fn enter_epoch(&mut self, next: create_commit::NextEpoch) {
        let mut secrets = next.entry.epoch;
        self.secret_tree = seed_secret_tree(self.cipher_suite(), &mut secrets, self.tree.size());
        self.context = next.context;
        self.secrets = secrets;
        self.interim_transcript_hash = next.interim_transcript_hash;
    }

    /// The group's id.
    #[must_use]
    pub fn group_id(&self) -> &[u8] {
        &self.context.group_id
    }

    /// The suite the group runs on, which its GroupContext names.
    #[must_use]
    pub fn cipher_suite(&self) -> CipherSuite {
        self.secret_tree.cipher_suite()
    }

    /// The current epoch number.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.context.epoch
    }

    /// The tree hash of the current epoch's ratchet tree.
    #[must_use]
    pub fn tree_hash(&self) -> &[u8] {
        &self.context.tree_hash
    }

    /// The epoch authenticator: equal for all members exactly when they
    /// agree on the epoch; compare it out of band to detect a split view.
    #[must_use]
    pub fn epoch_authenticator(&self) -> &[u8] {
        self.secrets.epoch_authenticator.as_bytes()
    }

    /// The current group context.
    #[must_use]
    pub fn group_context(&self) -> &GroupContext {
        &self.context
    }

    /// The current ratchet tree.
    #[must_use]
    pub fn tree(&self) -> &RatchetTree {
        &self.tree
    }

    /// This member's leaf.
    #[must_use]
    pub fn own_leaf(&self) -> LeafIndex {
        self.own_leaf
    }

    /// Leaves that hold members, with their leaf nodes.
    pub fn members(&self) -> impl Iterator<Item = (LeafIndex, &LeafNode)> {
        (0..self.tree.size().leaf_count())
            .map(LeafIndex)
            .filter_map(|leaf| self.tree.leaf(leaf).map(|node| (leaf, node)))
    }

    /// Number of members.
    #[must_use]
    pub fn member_count(&self) -> usize {
        self.members().count()
    }

    /// `MLS-Exporter(label, context, length)` of the current epoch.
    pub fn export_secret(
        &self,
        label: &[u8],
        context: &[u8],
        length: usize,
    ) -> Result<Secret, GroupError> {
        Ok(self.secrets.export(label, context, length)?)
    }

    /// The group key of `epoch`, which must be the current one: earlier
    /// epochs' secrets are gone (forward secrecy), later ones unknown.
    pub fn derive_group_key(&self, epoch: u64) -> Result<Secret, GroupError> {
        self.check_epoch(epoch)?;
        self.export_secret(GROUP_KEY_LABEL, &epoch.to_be_bytes(), GROUP_KEY_LENGTH)
    }

    fn check_epoch(&self, epoch: u64) -> Result<(), GroupError> {
        if epoch == self.context.epoch {
            Ok(())
        } else {
            Err(GroupError::WrongEpoch {
                expected: self.context.epoch,
                received: epoch,
            })
        }
    }

    /// A group that joined at the last epoch number cannot move on; the
    /// number comes from a peer, so running out is an error, not a panic.
    fn check_epoch_available(&self) -> Result<(), GroupError> {
        self.context
            .epoch
            .checked_add(1)
            .map(drop)
            .ok_or(GroupError::EpochExhausted)
    }

    /// Checks a PublicMessage's membership tag and its signature by the
    /// member at `sender`, returning that member's leaf and the content.
    fn authenticate_member(
        &self,
        message: &PublicMessage,
        sender: LeafIndex,
    ) -> Result<(&LeafNode, AuthenticatedContent), GroupError> {
        let sender_leaf = self
            .tree
            .leaf(sender)
            .ok_or(GroupError::UnknownSender(sender.0))?;
        let signed = message.unprotect(&self.context, &self.secrets.membership_key)?;
        signed.verify(
            &self.context,
            &SignaturePublicKey::from_bytes(&sender_leaf.signature_key)?,
        )?;
        Ok((sender_leaf, signed))
    }

    fn own_leaf_node(&self) -> Result<&LeafNode, GroupError> {
        self.tree
            .leaf(self.own_leaf)
            .ok_or(GroupError::NotAMember(self.own_leaf.0))
    }
}

/// Moves the epoch's encryption secret into a new secret tree. The epoch
/// secrets keep only a zero placeholder (of the stored format's length):
/// a kept copy would let anyone holding the state re-derive every message
/// key of the epoch, the used ones included (RFC 9420 §9.2).
fn seed_secret_tree(
    suite: CipherSuite,
    secrets: &mut EpochSecrets,
    size: super::tree_math::TreeSize,
) -> SecretTree {
    let encryption_secret =
        std::mem::replace(&mut secrets.encryption_secret, Secret::zero(HASH_LENGTH));
    SecretTree::new(suite, &encryption_secret, size)
}

/// The private key of `node`, if the member at `own_leaf` holds it. A free
/// function so that it can borrow these fields while the tree is staged.
fn private_key_for(
    own_leaf: LeafIndex,
    leaf_private_key: &HpkePrivateKey,
    path_secrets: &BTreeMap<NodeIndex, Secret>,
    node: NodeIndex,
) -> Option<HpkePrivateKey> {
    if node == own_leaf.node() {
        return Some(leaf_private_key.clone());
    }
    let secret = path_secrets.get(&node)?;
    node_key_pair(secret).ok().map(|pair| pair.private_key)
}

/// The GroupContext path secrets are encrypted under: the next epoch's,
/// before the commit's transcript is known.
fn provisional_context(
    context: &GroupContext,
    tree: &RatchetTree,
) -> Result<GroupContext, super::CryptoError> {
    Ok(GroupContext {
        cipher_suite: context.cipher_suite,
        group_id: context.group_id.clone(),
        // Callers check first that the counter has room (`check_epoch_available`).
        epoch: context.epoch.saturating_add(1),
        tree_hash: tree.root_tree_hash()?.to_vec(),
        confirmed_transcript_hash: context.confirmed_transcript_hash.clone(),
        extensions: context.extensions.clone(),
    })
}

/// `tree_hash` as the `Vec` a GroupContext holds.
fn tree_hash_bytes(tree: &RatchetTree) -> Result<Vec<u8>, GroupError> {
    let hash: HashValue = tree.root_tree_hash()?;
    Ok(hash.to_vec())
}

#[cfg(test)]
mod tests;
