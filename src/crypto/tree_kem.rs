//! TreeKEM (RFC 9420 §7.4–7.6): how a committer refreshes the keys on its
//! path to the root and shares the new secrets, encrypted to exactly the
//! subtrees that need them, and how each receiver recovers them.
//!
//! ```text
//! path_secret[0]   random                      (first node above the leaf)
//! path_secret[i]   DeriveSecret(path_secret[i-1], "path")
//! commit_secret    DeriveSecret(path_secret[n-1], "path")
//! node key pair    DeriveKeyPair(DeriveSecret(path_secret[i], "node"))
//! ```

use zeroize::Zeroizing;

use super::cipher_suite::{CipherSuite, HASH_LENGTH};
use super::codec::{Decode, Encode, Reader, Writer};
use super::error::{CryptoError, DecodeError, EncodeError};
use super::group_context::GroupContext;
use super::keys::{HpkeKeyPair, HpkePrivateKey, HpkePublicKey, SignaturePrivateKey};
use super::leaf_node::{LeafNode, LeafNodeSource, MAX_PUBLIC_KEY_BYTES};
use super::primitives::{HpkeCiphertext, decrypt_with_label, derive_secret, encrypt_with_label};
use super::ratchet_tree::{Node, ParentNode, RatchetTree, is_in_subtree};
use super::secret::Secret;
use super::tree_math::{LeafIndex, NodeIndex};

/// Label of the HPKE encryption of path secrets.
pub const UPDATE_PATH_NODE_LABEL: &[u8] = b"UpdatePathNode";

/// `UpdatePathNode = { HPKEPublicKey encryption_key; HPKECiphertext encrypted_path_secret<V>; }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatePathNode {
    /// New public key of the node.
    pub encryption_key: Vec<u8>,
    /// The node's path secret, once per node of the copath child's resolution.
    pub encrypted_path_secret: Vec<HpkeCiphertext>,
}

impl Encode for UpdatePathNode {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_opaque(&self.encryption_key)?;
        writer.write_vector(|items| {
            self.encrypted_path_secret
                .iter()
                .try_for_each(|ciphertext| ciphertext.encode(items))
        })
    }
}

impl Decode for UpdatePathNode {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            encryption_key: reader.read_opaque_capped(MAX_PUBLIC_KEY_BYTES)?.to_vec(),
            encrypted_path_secret: reader.read_vector(HpkeCiphertext::decode)?,
        })
    }
}

/// `UpdatePath = { LeafNode leaf_node; UpdatePathNode nodes<V>; }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatePath {
    /// The committer's new leaf.
    pub leaf_node: LeafNode,
    /// One entry per node of the committer's filtered direct path.
    pub nodes: Vec<UpdatePathNode>,
}

impl Encode for UpdatePath {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        self.leaf_node.encode(writer)?;
        writer.write_vector(|items| self.nodes.iter().try_for_each(|node| node.encode(items)))
    }
}

impl Decode for UpdatePath {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            leaf_node: LeafNode::decode(reader)?,
            nodes: reader.read_vector(UpdatePathNode::decode)?,
        })
    }
}

/// One node of a filtered direct path, with its child on the copath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathStep {
    /// The direct-path node.
    pub node: NodeIndex,
    /// Its child that is not an ancestor of the leaf.
    pub copath_child: NodeIndex,
}

/// The leaf's direct path without the nodes whose copath child has an empty
/// resolution: nobody would be there to receive their secret.
pub fn filtered_direct_path(
    tree: &RatchetTree,
    leaf: LeafIndex,
) -> Result<Vec<PathStep>, CryptoError> {
    let size = tree.size();
    let mut child = leaf.node();
    let mut steps = Vec::new();
    for node in size.direct_path(child)? {
        let copath_child = size
            .sibling(child)
            .ok_or(CryptoError::InvalidTree("direct path without sibling"))?;
        if !tree.resolution(copath_child)?.is_empty() {
            steps.push(PathStep { node, copath_child });
        }
        child = node;
    }
    Ok(steps)
}

/// `DeriveKeyPair(DeriveSecret(path_secret, "node"))`.
pub fn node_key_pair(path_secret: &Secret) -> Result<HpkeKeyPair, CryptoError> {
    let node_secret = derive_secret(path_secret.as_bytes(), b"node")?;
    Ok(HpkeKeyPair::derive(node_secret.as_bytes()))
}

/// `DeriveSecret(path_secret, "path")`: the next path secret up (or the
/// commit secret, after the root).
pub fn next_path_secret(path_secret: &Secret) -> Result<Secret, CryptoError> {
    derive_secret(path_secret.as_bytes(), b"path")
}

/// Writes the new parent keys of `steps` into the tree, blanks the rest of
/// the direct path, and fills in parent hashes top-down. Returns the parent
/// hash the committer's leaf must carry.
fn apply_path_keys(
    tree: &mut RatchetTree,
    sender: LeafIndex,
    steps: &[PathStep],
    keys: &[Vec<u8>],
) -> Result<Vec<u8>, CryptoError> {
    if steps.len() != keys.len() {
        return Err(CryptoError::InvalidTree("update path length"));
    }
    for node in tree.size().direct_path(sender.node())? {
        tree.set_node(node, None)?;
    }
    for (step, key) in steps.iter().zip(keys) {
        tree.set_node(
            step.node,
            Some(Node::Parent(ParentNode {
                encryption_key: key.clone(),
                parent_hash: Vec::new(),
                unmerged_leaves: Vec::new(),
            })),
        )?;
    }
    // The topmost node carries an empty parent hash; each node below carries
    // the parent hash of the one above it.
    let mut parent_hash = Vec::new();
    for step in steps.iter().rev() {
        tree.set_node(
            step.node,
            Some(Node::Parent(ParentNode {
                encryption_key: tree.encryption_key(step.node).unwrap_or_default().to_vec(),
                parent_hash,
                unmerged_leaves: Vec::new(),
            })),
        )?;
        parent_hash = tree.parent_hash(step.node, step.copath_child)?.to_vec();
    }
    Ok(parent_hash)
}

/// Nodes of the copath child's resolution that receive a path secret:
/// members added by the same commit get theirs from the Welcome instead.
fn recipients(
    tree: &RatchetTree,
    step: &PathStep,
    excluded: &[LeafIndex],
) -> Result<Vec<NodeIndex>, CryptoError> {
    Ok(tree
        .resolution(step.copath_child)?
        .into_iter()
        .filter(|node| {
            !node
                .leaf_index()
                .is_some_and(|leaf| excluded.contains(&leaf))
        })
        .collect())
}

/// What a committer keeps after creating an UpdatePath.
#[derive(Debug)]
pub struct CreatedPath {
    /// The path to put in the Commit.
    pub update_path: UpdatePath,
    /// Private key of the committer's new leaf.
    pub leaf_private_key: HpkePrivateKey,
    /// Path secret of each filtered direct-path node, bottom-up.
    pub path_secrets: Vec<(NodeIndex, Secret)>,
    /// Input to the next epoch's key schedule.
    pub commit_secret: Secret,
}

/// The member creating an UpdatePath.
#[derive(Debug)]
pub struct Committer<'a> {
    /// Its leaf.
    pub leaf: LeafIndex,
    /// Credential, capabilities and extensions of its new leaf; keys,
    /// source and signature are replaced.
    pub leaf_template: LeafNode,
    /// Key that signs the new leaf.
    pub signing_key: &'a SignaturePrivateKey,
}

/// A member receiving an UpdatePath.
#[derive(Debug, Clone, Copy)]
pub struct PathReceiver<F> {
    /// Its leaf.
    pub leaf: LeafIndex,
    /// Its private key for a node of the tree, if it has one.
    pub private_key_for: F,
}

/// Creates an UpdatePath for the committer and applies it to `tree`.
///
/// `provisional_context` builds the GroupContext of the new epoch from the
/// updated tree (its tree hash); path secrets are encrypted under it.
/// `excluded` lists leaves added by the same commit.
pub fn create_update_path(
    tree: &mut RatchetTree,
    committer: Committer<'_>,
    group_id: &[u8],
    excluded: &[LeafIndex],
    provisional_context: impl FnOnce(&RatchetTree) -> Result<GroupContext, CryptoError>,
    rng: &mut impl rand_core::CryptoRng,
) -> Result<CreatedPath, CryptoError> {
    let Committer {
        leaf: sender,
        leaf_template,
        signing_key,
    } = committer;
    if tree.leaf(sender).is_none() {
        return Err(CryptoError::InvalidTree("committer leaf is blank"));
    }
    let steps = filtered_direct_path(tree, sender)?;
    let leaf_key_pair = HpkeKeyPair::generate(rng);

    let mut seed = Zeroizing::new([0u8; HASH_LENGTH]);
    rng.fill_bytes(seed.as_mut());
    let mut path_secret = Secret::from_slice(seed.as_ref());
    let mut path_secrets = Vec::with_capacity(steps.len());
    let mut public_keys = Vec::with_capacity(steps.len());
    for (position, step) in steps.iter().enumerate() {
        if position > 0 {
            path_secret = next_path_secret(&path_secret)?;
        }
        public_keys.push(node_key_pair(&path_secret)?.public_key.to_bytes().to_vec());
        path_secrets.push((step.node, path_secret.duplicate()));
    }
    let commit_secret = next_path_secret(&path_secret)?;

    let leaf_parent_hash = apply_path_keys(tree, sender, &steps, &public_keys)?;
    let mut leaf_node = LeafNode {
        encryption_key: leaf_key_pair.public_key.to_bytes().to_vec(),
        source: LeafNodeSource::Commit {
            parent_hash: leaf_parent_hash,
        },
        ..leaf_template
    };
    leaf_node.sign(signing_key, group_id, sender)?;
    tree.set_node(sender.node(), Some(Node::Leaf(leaf_node.clone())))?;

    let context = provisional_context(tree)?;
    // The group's suite, which a commit never changes, picks the HPKE AEAD.
    let suite = CipherSuite::try_from(context.cipher_suite)?;
    let context = context.to_tls_bytes()?;
    let mut nodes = Vec::with_capacity(steps.len());
    for ((step, (_, secret)), public_key) in steps.iter().zip(&path_secrets).zip(public_keys) {
        let mut encrypted_path_secret = Vec::new();
        for recipient in recipients(tree, step, excluded)? {
            let key = tree
                .encryption_key(recipient)
                .ok_or(CryptoError::InvalidTree("blank node in resolution"))?;
            encrypted_path_secret.push(encrypt_with_label(
                suite,
                &HpkePublicKey::from_bytes(key)?,
                UPDATE_PATH_NODE_LABEL,
                &context,
                secret.as_bytes(),
                rng,
            )?);
        }
        nodes.push(UpdatePathNode {
            encryption_key: public_key,
            encrypted_path_secret,
        });
    }
    Ok(CreatedPath {
        update_path: UpdatePath { leaf_node, nodes },
        leaf_private_key: leaf_key_pair.private_key,
        path_secrets,
        commit_secret,
    })
}

/// Applies another member's UpdatePath to `tree` without decrypting it:
/// checks the path's shape, its parent-hash chain and the leaf signature.
pub fn merge_update_path(
    tree: &mut RatchetTree,
    sender: LeafIndex,
    path: &UpdatePath,
    group_id: &[u8],
) -> Result<Vec<PathStep>, CryptoError> {
    let steps = filtered_direct_path(tree, sender)?;
    let keys: Vec<Vec<u8>> = path
        .nodes
        .iter()
        .map(|node| node.encryption_key.clone())
        .collect();
    let expected_parent_hash = apply_path_keys(tree, sender, &steps, &keys)?;
    if path.leaf_node.parent_hash() != Some(expected_parent_hash.as_slice()) {
        return Err(CryptoError::ParentHashInvalid(sender.node().0));
    }
    path.leaf_node.verify(group_id, sender)?;
    tree.set_node(sender.node(), Some(Node::Leaf(path.leaf_node.clone())))?;
    Ok(steps)
}

/// What a receiver learns from an UpdatePath.
#[derive(Debug)]
pub struct ReceivedPath {
    /// The path secret it decrypted, at the lowest common ancestor.
    pub decrypted_path_secret: Secret,
    /// Path secrets of that node and every filtered node above it.
    pub path_secrets: Vec<(NodeIndex, Secret)>,
    /// Input to the next epoch's key schedule.
    pub commit_secret: Secret,
}

/// Merges `path` into `tree` (see [`merge_update_path`]) and decrypts the
/// path secret meant for `receiver`. Checks that the derived public keys
/// match the path.
pub fn process_update_path(
    tree: &mut RatchetTree,
    sender: LeafIndex,
    path: &UpdatePath,
    group_id: &[u8],
    receiver: PathReceiver<impl Fn(NodeIndex) -> Option<HpkePrivateKey>>,
    excluded: &[LeafIndex],
    provisional_context: impl FnOnce(&RatchetTree) -> Result<GroupContext, CryptoError>,
) -> Result<ReceivedPath, CryptoError> {
    let PathReceiver {
        leaf: receiver,
        private_key_for,
    } = receiver;
    if receiver == sender || excluded.contains(&receiver) {
        return Err(CryptoError::InvalidTree(
            "receiver cannot decrypt this path",
        ));
    }
    let steps = merge_update_path(tree, sender, path, group_id)?;
    let context = provisional_context(tree)?;
    let suite = CipherSuite::try_from(context.cipher_suite)?;
    let context = context.to_tls_bytes()?;

    let position = steps
        .iter()
        .position(|step| is_in_subtree(receiver.node(), step.copath_child))
        .ok_or(CryptoError::InvalidTree(
            "receiver not below the update path",
        ))?;
    let step = &steps[position];
    let update_node = &path.nodes[position];
    let recipients = recipients(tree, step, excluded)?;
    if recipients.len() != update_node.encrypted_path_secret.len() {
        return Err(CryptoError::InvalidTree(
            "ciphertext count differs from resolution",
        ));
    }
    let (private_key, ciphertext) = recipients
        .iter()
        .zip(&update_node.encrypted_path_secret)
        .find_map(|(node, ciphertext)| private_key_for(*node).map(|key| (key, ciphertext)))
        .ok_or(CryptoError::InvalidTree("no private key for this path"))?;
    let decrypted_path_secret = decrypt_with_label(
        suite,
        &private_key,
        UPDATE_PATH_NODE_LABEL,
        &context,
        &ciphertext.kem_output,
        &ciphertext.ciphertext,
    )?;

    let mut path_secret = decrypted_path_secret.duplicate();
    let mut path_secrets = Vec::new();
    for (offset, (step, node)) in steps[position..]
        .iter()
        .zip(&path.nodes[position..])
        .enumerate()
    {
        if offset > 0 {
            path_secret = next_path_secret(&path_secret)?;
        }
        // A committer that sent a secret not matching its public keys would
        // split the group's view of the tree.
        let derived = node_key_pair(&path_secret)?.public_key.to_bytes();
        if derived.as_slice() != node.encryption_key.as_slice() {
            return Err(CryptoError::InvalidTree(
                "path secret does not match public key",
            ));
        }
        path_secrets.push((step.node, path_secret.duplicate()));
    }
    let commit_secret = next_path_secret(&path_secret)?;
    Ok(ReceivedPath {
        decrypted_path_secret,
        path_secrets,
        commit_secret,
    })
}
