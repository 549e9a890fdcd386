//! Builds a full group of `n` members directly, without `n` commits and `n`
//! Welcomes, for benchmarks and tests. Not a protocol operation: it makes
//! every member's secrets in one place.
//!
//! The tree looks as if the members had committed from the last leaf to the
//! first: every parent node was last set by the leftmost leaf below it, so
//! the tree has no blanks and passes parent-hash validation.

use std::collections::BTreeMap;

use super::{Group, GroupError, default_capabilities, tree_hash_bytes};
use crate::crypto::cipher_suite::{CipherSuite, HASH_LENGTH};
use crate::crypto::group_context::GroupContext;
use crate::crypto::key_schedule::EpochSecrets;
use crate::crypto::keys::{HpkeKeyPair, HpkePrivateKey, SignaturePrivateKey};
use crate::crypto::leaf_node::{Credential, LeafNode, LeafNodeSource};
use crate::crypto::primitives::hash;
use crate::crypto::ratchet_tree::{Node, ParentNode, RatchetTree};
use crate::crypto::secret::Secret;
use crate::crypto::transcript::interim_transcript_hash;
use crate::crypto::tree_kem::node_key_pair;
use crate::crypto::tree_math::{LeafIndex, NodeIndex, TreeSize};

/// All members' secrets of one full group at one epoch.
#[derive(Debug)]
pub struct GroupFixture {
    context: GroupContext,
    tree: RatchetTree,
    signing_keys: Vec<SignaturePrivateKey>,
    leaf_keys: Vec<HpkePrivateKey>,
    node_secrets: BTreeMap<NodeIndex, Secret>,
    epoch_secret: Secret,
    interim_transcript_hash: Vec<u8>,
}

impl GroupFixture {
    /// A group whose `members` leaves (a power of two keeps the tree free of
    /// blanks) are all occupied.
    pub fn new(
        group_id: &[u8],
        members: u32,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<Self, GroupError> {
        let size = TreeSize::covering(members)?;
        let mut signing_keys = Vec::with_capacity(members as usize);
        let mut leaf_keys = Vec::with_capacity(members as usize);
        let mut nodes = Vec::with_capacity(size.node_count() as usize);
        for index in 0..members {
            let signing_key = SignaturePrivateKey::generate(rng);
            let leaf_key = HpkeKeyPair::generate(rng);
            if index > 0 {
                nodes.push(None);
            }
            nodes.push(Some(Node::Leaf(LeafNode {
                encryption_key: leaf_key.public_key.to_bytes().to_vec(),
                signature_key: signing_key.public_key().to_bytes().to_vec(),
                credential: Credential::Basic {
                    identity: format!("member {index}").into_bytes(),
                },
                capabilities: default_capabilities(),
                source: LeafNodeSource::Update,
                extensions: Vec::new(),
                signature: Vec::new(),
            })));
            signing_keys.push(signing_key);
            leaf_keys.push(leaf_key.private_key);
        }
        let mut tree = RatchetTree::from_nodes(nodes)?;
        let mut node_secrets = BTreeMap::new();
        for index in (0..members).rev() {
            let leaf = LeafIndex(index);
            // The parents this leaf is leftmost under, lowest first, up to
            // the first with no member on its right: a commit leaves those
            // blank (their copath child has an empty resolution).
            let path: Vec<NodeIndex> = size
                .direct_path(leaf.node())?
                .into_iter()
                .take_while(|parent| {
                    leftmost_leaf(*parent) == leaf
                        && parent
                            .right()
                            .is_some_and(|right| leftmost_leaf(right).0 < members)
                })
                .collect();
            for &parent in &path {
                let mut secret = Secret::zero(HASH_LENGTH);
                rng.fill_bytes(secret.as_mut_bytes());
                let public = node_key_pair(&secret)?.public_key.to_bytes().to_vec();
                tree.set_node(
                    parent,
                    Some(Node::Parent(ParentNode {
                        encryption_key: public,
                        parent_hash: Vec::new(),
                        unmerged_leaves: Vec::new(),
                    })),
                )?;
                node_secrets.insert(parent, secret);
            }
            // Top-down: each node carries the parent hash of the one above;
            // the topmost is a right child, whose chain nobody checks.
            let mut parent_hash = Vec::new();
            for &parent in path.iter().rev() {
                let encryption_key = tree.encryption_key(parent).unwrap_or_default().to_vec();
                tree.set_node(
                    parent,
                    Some(Node::Parent(ParentNode {
                        encryption_key,
                        parent_hash,
                        unmerged_leaves: Vec::new(),
                    })),
                )?;
                let right = parent
                    .right()
                    .ok_or(crate::crypto::CryptoError::InvalidTree("fixture parent"))?;
                parent_hash = tree.parent_hash(parent, right)?.to_vec();
            }
            let mut leaf_node = tree
                .leaf(leaf)
                .cloned()
                .ok_or(GroupError::NotAMember(index))?;
            if !path.is_empty() {
                leaf_node.source = LeafNodeSource::Commit { parent_hash };
            }
            leaf_node.sign(&signing_keys[index as usize], group_id, leaf)?;
            tree.set_node(leaf.node(), Some(Node::Leaf(leaf_node)))?;
            tree.refresh_hashes()?;
        }
        let confirmed = hash(b"fixture transcript").to_vec();
        let context = GroupContext {
            cipher_suite: CipherSuite::AURA.id(),
            group_id: group_id.to_vec(),
            epoch: 1,
            tree_hash: tree_hash_bytes(&tree)?,
            confirmed_transcript_hash: confirmed.clone(),
            extensions: Vec::new(),
        };
        let mut epoch_secret = Secret::zero(HASH_LENGTH);
        rng.fill_bytes(epoch_secret.as_mut_bytes());
        let secrets = EpochSecrets::from_epoch_secret(&epoch_secret)?;
        let tag = secrets.confirmation_tag(&confirmed)?;
        let interim = interim_transcript_hash(&confirmed, &tag)?.to_vec();
        Ok(Self {
            context,
            tree,
            signing_keys,
            leaf_keys,
            node_secrets,
            epoch_secret,
            interim_transcript_hash: interim,
        })
    }

    /// The state of the member at `leaf`.
    pub fn member(&self, leaf: LeafIndex) -> Result<Group, GroupError> {
        let index = leaf.0 as usize;
        let (Some(signing_key), Some(leaf_key)) =
            (self.signing_keys.get(index), self.leaf_keys.get(index))
        else {
            return Err(GroupError::NotAMember(leaf.0));
        };
        let path_secrets = self
            .tree
            .size()
            .direct_path(leaf.node())?
            .into_iter()
            .filter_map(|node| Some((node, self.node_secrets.get(&node)?.duplicate())))
            .collect();
        Ok(Group::assemble(
            CipherSuite::AURA,
            self.context.clone(),
            self.tree.clone(),
            leaf,
            signing_key.clone(),
            leaf_key.clone(),
            path_secrets,
            EpochSecrets::from_epoch_secret(&self.epoch_secret)?,
            self.interim_transcript_hash.clone(),
        ))
    }
}

/// The leftmost leaf of the subtree under `node`.
fn leftmost_leaf(node: NodeIndex) -> LeafIndex {
    let level = node.level();
    // Clearing the level's trailing one bits walks down the left edge.
    LeafIndex((node.0 >> level << level) / 2)
}
