//! The ratchet tree (RFC 9420 §4, §7): public state of every member and
//! every parent node, with the hashes that let members agree on it.
//!
//! - resolution (§4.1.1): the minimal set of non-blank nodes covering a subtree;
//! - tree hash (§7.8): a Merkle hash over the whole tree, in the GroupContext;
//! - parent hash (§7.9): chains each parent node to the leaf that set it, so
//!   a new member can check that no parent key was planted by an outsider.

use std::sync::Arc;

use super::codec::{Decode, Encode, Reader, Writer};
use super::error::{CryptoError, DecodeError, EncodeError};
use super::leaf_node::{LeafNode, MAX_HASH_BYTES, MAX_PUBLIC_KEY_BYTES};
use super::primitives::{HashValue, hash};
use super::tree_math::{LeafIndex, NodeIndex, TreeSize};

const NODE_TYPE_LEAF: u8 = 1;
const NODE_TYPE_PARENT: u8 = 2;

/// `ParentNode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentNode {
    /// Encoded HPKE public key.
    pub encryption_key: Vec<u8>,
    /// Parent hash of this node's parent, set by the committer.
    pub parent_hash: Vec<u8>,
    /// Leaves added below this node since its key was last set; they do not
    /// know its private key.
    pub unmerged_leaves: Vec<LeafIndex>,
}

impl Encode for ParentNode {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_opaque(&self.encryption_key)?;
        writer.write_opaque(&self.parent_hash)?;
        writer.write_vector(|items| {
            self.unmerged_leaves
                .iter()
                .for_each(|leaf| items.write_u32(leaf.0));
            Ok(())
        })
    }
}

impl Decode for ParentNode {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            encryption_key: reader.read_opaque_capped(MAX_PUBLIC_KEY_BYTES)?.to_vec(),
            parent_hash: reader.read_opaque_capped(MAX_HASH_BYTES)?.to_vec(),
            unmerged_leaves: reader.read_vector(|items| items.read_u32().map(LeafIndex))?,
        })
    }
}

/// `Node`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A member.
    Leaf(LeafNode),
    /// An interior node.
    Parent(ParentNode),
}

impl Encode for Node {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        match self {
            Self::Leaf(leaf) => {
                writer.write_u8(NODE_TYPE_LEAF);
                leaf.encode(writer)
            }
            Self::Parent(parent) => {
                writer.write_u8(NODE_TYPE_PARENT);
                parent.encode(writer)
            }
        }
    }
}

impl Decode for Node {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.read_u8()? {
            NODE_TYPE_LEAF => Ok(Self::Leaf(LeafNode::decode(reader)?)),
            NODE_TYPE_PARENT => Ok(Self::Parent(ParentNode::decode(reader)?)),
            _ => Err(DecodeError::UnexpectedValue { field: "node_type" }),
        }
    }
}

impl Node {
    fn parent_hash(&self) -> Option<&[u8]> {
        match self {
            Self::Leaf(leaf) => leaf.parent_hash(),
            Self::Parent(parent) => Some(&parent.parent_hash),
        }
    }
}

/// A complete ratchet tree; blank nodes are `None`.
///
/// Nodes are shared (`Arc`) so that a group can stage a commit on a copy of
/// its tree for the price of copying pointers, and keep the old tree if the
/// commit turns out to be invalid. Subtree hashes are cached per node as
/// plain values (a copy is a `memcpy`); a change clears the cache along the
/// path to the root, reads recompute only those cleared nodes, and
/// [`RatchetTree::refresh_hashes`] stores them again. So a commit rehashes
/// O(log n) nodes instead of the whole tree.
///
/// A group stages a received commit on its live tree inside
/// [`RatchetTree::begin_staging`]; every change is journalled so that
/// [`RatchetTree::rollback_staging`] restores the tree if the commit fails,
/// without the O(n) cost of copying the tree up front.
#[derive(Debug, Clone)]
pub struct RatchetTree {
    size: TreeSize,
    nodes: Vec<Option<Arc<Node>>>,
    tree_hashes: Vec<Option<HashValue>>,
    /// Undo records of the changes since `begin_staging`, if staging.
    journal: Option<Vec<Undo>>,
}

/// How to take back one change to a staged tree.
#[derive(Debug, Clone)]
enum Undo {
    /// A node's previous content.
    Node(NodeIndex, Option<Arc<Node>>),
    /// The previous size, and what shrinking cut off the end.
    Size {
        size: TreeSize,
        tail_nodes: Vec<Option<Arc<Node>>>,
        tail_hashes: Vec<Option<HashValue>>,
    },
}

impl PartialEq for RatchetTree {
    fn eq(&self, other: &Self) -> bool {
        // The hash cache is derived state: two trees with the same nodes are equal.
        self.size == other.size && self.nodes == other.nodes
    }
}

impl Eq for RatchetTree {}

impl RatchetTree {
    /// Builds a tree from nodes in array order, as carried by the
    /// `ratchet_tree` extension (trailing blanks may be omitted). Checks that
    /// leaves and parents sit at leaf and parent positions.
    pub fn from_nodes(mut nodes: Vec<Option<Node>>) -> Result<Self, CryptoError> {
        if nodes.len() % 2 == 0 {
            return Err(CryptoError::InvalidTree("even number of nodes"));
        }
        if !matches!(nodes.last(), Some(Some(_))) {
            return Err(CryptoError::InvalidTree("last node is blank"));
        }
        for (index, node) in nodes.iter().enumerate() {
            let at_leaf_position = index % 2 == 0;
            match node {
                Some(Node::Leaf(_)) if !at_leaf_position => {
                    return Err(CryptoError::InvalidTree("leaf at a parent position"));
                }
                Some(Node::Parent(_)) if at_leaf_position => {
                    return Err(CryptoError::InvalidTree("parent at a leaf position"));
                }
                _ => {}
            }
        }
        let leaf_count = u32::try_from(nodes.len().div_ceil(2))
            .map_err(|_| CryptoError::InvalidTree("too many nodes"))?;
        let size = TreeSize::covering(leaf_count)?;
        nodes.resize(size.node_count() as usize, None);
        let mut tree = Self {
            size,
            tree_hashes: vec![None; nodes.len()],
            nodes: nodes.into_iter().map(|node| node.map(Arc::new)).collect(),
            journal: None,
        };
        tree.refresh_hashes()?;
        tree.check_unmerged_leaves()?;
        Ok(tree)
    }

    /// Decodes the `ratchet_tree` extension: `optional<Node> nodes<V>`.
    pub fn from_tls_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let mut reader = Reader::new(bytes);
        let nodes = reader.read_vector(|items| items.read_optional(Node::decode))?;
        reader.finish()?;
        Self::from_nodes(nodes)
    }

    /// Encodes as the `ratchet_tree` extension, without trailing blanks.
    pub fn to_tls_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let used = self
            .nodes
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |last| last + 1);
        let mut writer = Writer::new();
        writer.write_vector(|items| {
            self.nodes[..used].iter().try_for_each(|node| {
                items.write_optional(node.as_deref(), |writer, node| node.encode(writer))
            })
        })?;
        Ok(writer.into_bytes())
    }

    /// The tree's shape.
    #[must_use]
    pub fn size(&self) -> TreeSize {
        self.size
    }

    /// The node at `index`; `None` if blank or outside the tree.
    #[must_use]
    pub fn node(&self, index: NodeIndex) -> Option<&Node> {
        self.nodes.get(index.0 as usize)?.as_deref()
    }

    /// The leaf node of `leaf`; `None` if blank or outside the tree.
    #[must_use]
    pub fn leaf(&self, leaf: LeafIndex) -> Option<&LeafNode> {
        match self.node(leaf.node())? {
            Node::Leaf(leaf) => Some(leaf),
            Node::Parent(_) => None,
        }
    }

    /// Replaces (or blanks) a node; used when applying an UpdatePath.
    pub(crate) fn set_node(
        &mut self,
        index: NodeIndex,
        node: Option<Node>,
    ) -> Result<(), CryptoError> {
        let size = self.size.node_count();
        let slot = self
            .nodes
            .get_mut(index.0 as usize)
            .ok_or(CryptoError::IndexOutOfRange {
                index: index.0,
                size,
            })?;
        let old = std::mem::replace(slot, node.map(Arc::new));
        if let Some(journal) = self.journal.as_mut() {
            journal.push(Undo::Node(index, old));
        }
        self.invalidate_hashes(index);
        Ok(())
    }

    /// Forgets the cached hashes of `index` and of every ancestor, whose
    /// hashes cover it.
    fn invalidate_hashes(&mut self, index: NodeIndex) {
        let mut current = Some(index);
        while let Some(node) = current {
            if let Some(cached) = self.tree_hashes.get_mut(node.0 as usize) {
                *cached = None;
            }
            current = self.size.parent(node);
        }
    }

    /// Grows or shrinks the tree to `size`. Hashes of the nodes kept stay
    /// valid: a subtree's hash does not depend on the tree around it.
    fn resize_to(&mut self, size: TreeSize) {
        let count = size.node_count() as usize;
        if let Some(journal) = self.journal.as_mut() {
            let kept = count.min(self.nodes.len());
            journal.push(Undo::Size {
                size: self.size,
                tail_nodes: self.nodes[kept..].to_vec(),
                tail_hashes: self.tree_hashes[kept..].to_vec(),
            });
        }
        self.size = size;
        self.nodes.resize(count, None);
        self.tree_hashes.resize(count, None);
    }

    /// Starts journalling changes so that they can be taken back.
    pub fn begin_staging(&mut self) {
        self.journal = Some(Vec::new());
    }

    /// Keeps the changes made since [`RatchetTree::begin_staging`].
    pub fn commit_staging(&mut self) {
        self.journal = None;
    }

    /// Takes back every change made since [`RatchetTree::begin_staging`].
    pub fn rollback_staging(&mut self) -> Result<(), CryptoError> {
        let Some(journal) = self.journal.take() else {
            return Ok(());
        };
        let mut touched = Vec::new();
        for undo in journal.into_iter().rev() {
            match undo {
                Undo::Node(index, old) => {
                    if let Some(slot) = self.nodes.get_mut(index.0 as usize) {
                        *slot = old;
                    }
                    touched.push(index);
                }
                Undo::Size {
                    size,
                    tail_nodes,
                    tail_hashes,
                } => {
                    let count = size.node_count() as usize;
                    self.size = size;
                    self.nodes.truncate(count);
                    self.tree_hashes.truncate(count);
                    self.nodes.extend(tail_nodes);
                    self.tree_hashes.extend(tail_hashes);
                }
            }
        }
        for index in touched {
            self.invalidate_hashes(index);
        }
        self.refresh_hashes()
    }

    /// The encoded HPKE public key of a non-blank node.
    #[must_use]
    pub fn encryption_key(&self, index: NodeIndex) -> Option<&[u8]> {
        match self.node(index)? {
            Node::Leaf(leaf) => Some(&leaf.encryption_key),
            Node::Parent(parent) => Some(&parent.encryption_key),
        }
    }

    pub(crate) fn parent_node(&self, index: NodeIndex) -> Option<&ParentNode> {
        match self.node(index)? {
            Node::Parent(parent) => Some(parent),
            Node::Leaf(_) => None,
        }
    }

    fn check_contains(&self, index: NodeIndex) -> Result<(), CryptoError> {
        if self.size.contains(index) {
            Ok(())
        } else {
            Err(CryptoError::IndexOutOfRange {
                index: index.0,
                size: self.size.node_count(),
            })
        }
    }

    /// Each unmerged leaf must be a non-blank leaf below the node listing it.
    fn check_unmerged_leaves(&self) -> Result<(), CryptoError> {
        for index in (1..self.size.node_count()).step_by(2) {
            let parent = NodeIndex(index);
            let Some(node) = self.parent_node(parent) else {
                continue;
            };
            for &leaf in &node.unmerged_leaves {
                if self.leaf(leaf).is_none() || !is_in_subtree(leaf.node(), parent) {
                    return Err(CryptoError::InvalidTree("bad unmerged leaf"));
                }
            }
        }
        Ok(())
    }

    /// The resolution of `index`: the node itself and its unmerged leaves if
    /// non-blank, nothing for a blank leaf, and the children's resolutions
    /// for a blank parent.
    pub fn resolution(&self, index: NodeIndex) -> Result<Vec<NodeIndex>, CryptoError> {
        self.check_contains(index)?;
        let mut resolution = Vec::new();
        self.collect_resolution(index, &mut resolution);
        Ok(resolution)
    }

    fn collect_resolution(&self, index: NodeIndex, out: &mut Vec<NodeIndex>) {
        match self.node(index) {
            Some(Node::Leaf(_)) => out.push(index),
            Some(Node::Parent(parent)) => {
                out.push(index);
                out.extend(parent.unmerged_leaves.iter().map(|leaf| leaf.node()));
            }
            None => {
                if let (Some(left), Some(right)) = (index.left(), index.right()) {
                    self.collect_resolution(left, out);
                    self.collect_resolution(right, out);
                }
            }
        }
    }

    /// Tree hash of the subtree rooted at `index`.
    pub fn tree_hash(&self, index: NodeIndex) -> Result<HashValue, CryptoError> {
        self.check_contains(index)?;
        self.tree_hash_excluding(index, &[])
    }

    /// Tree hash of the whole tree, as put in the GroupContext.
    pub fn root_tree_hash(&self) -> Result<HashValue, CryptoError> {
        self.tree_hash(self.size.root())
    }

    /// Tree hash computed as if the `excluded` leaves were blank and absent
    /// from every unmerged-leaves list: the "original" tree hash that a
    /// parent hash was computed over before those leaves were added.
    fn tree_hash_excluding(
        &self,
        index: NodeIndex,
        excluded: &[LeafIndex],
    ) -> Result<HashValue, CryptoError> {
        let unaffected = !excluded
            .iter()
            .any(|leaf| is_in_subtree(leaf.node(), index));
        if unaffected {
            if let Some(Some(cached)) = self.tree_hashes.get(index.0 as usize) {
                return Ok(*cached);
            }
        }
        let children = match (index.left(), index.right()) {
            (Some(left), Some(right)) => Some((
                self.tree_hash_excluding(left, excluded)?,
                self.tree_hash_excluding(right, excluded)?,
            )),
            _ => None,
        };
        self.hash_node(index, excluded, children)
    }

    /// Stores the hash of every node whose cached hash was cleared, so that
    /// later reads cost nothing. Call after a batch of changes.
    pub fn refresh_hashes(&mut self) -> Result<(), CryptoError> {
        self.fill_hash(self.size.root()).map(drop)
    }

    fn fill_hash(&mut self, index: NodeIndex) -> Result<HashValue, CryptoError> {
        if let Some(Some(cached)) = self.tree_hashes.get(index.0 as usize) {
            return Ok(*cached);
        }
        let children = match (index.left(), index.right()) {
            (Some(left), Some(right)) => Some((self.fill_hash(left)?, self.fill_hash(right)?)),
            _ => None,
        };
        let value = self.hash_node(index, &[], children)?;
        if let Some(slot) = self.tree_hashes.get_mut(index.0 as usize) {
            *slot = Some(value);
        }
        Ok(value)
    }

    /// `Hash(TreeHashInput)` of one node, given its children's tree hashes.
    fn hash_node(
        &self,
        index: NodeIndex,
        excluded: &[LeafIndex],
        children: Option<(HashValue, HashValue)>,
    ) -> Result<HashValue, CryptoError> {
        let mut input = Writer::new();
        if let Some(leaf_index) = index.leaf_index() {
            input.write_u8(NODE_TYPE_LEAF);
            input.write_u32(leaf_index.0);
            let leaf = self
                .leaf(leaf_index)
                .filter(|_| !excluded.contains(&leaf_index));
            input.write_optional(leaf, |writer, leaf| leaf.encode(writer))?;
        } else {
            let Some((left_hash, right_hash)) = children else {
                return Err(CryptoError::InvalidTree("parent without children"));
            };
            input.write_u8(NODE_TYPE_PARENT);
            match self.parent_node(index) {
                None => input.write_u8(0),
                Some(parent) => {
                    input.write_u8(1);
                    input.write_opaque(&parent.encryption_key)?;
                    input.write_opaque(&parent.parent_hash)?;
                    input.write_vector(|items| {
                        parent
                            .unmerged_leaves
                            .iter()
                            .filter(|leaf| !excluded.contains(leaf))
                            .for_each(|leaf| items.write_u32(leaf.0));
                        Ok(())
                    })?;
                }
            }
            input.write_opaque(&left_hash)?;
            input.write_opaque(&right_hash)?;
        }
        Ok(hash(input.as_bytes()))
    }

    /// The parent hash of `parent` with co-path child `sibling`:
    /// `Hash(ParentHashInput { encryption_key, parent_hash, original_sibling_tree_hash })`,
    /// the value the child on the other side stores as its `parent_hash`.
    pub fn parent_hash(
        &self,
        parent: NodeIndex,
        sibling: NodeIndex,
    ) -> Result<HashValue, CryptoError> {
        let node = self
            .parent_node(parent)
            .ok_or(CryptoError::InvalidTree("parent hash of a blank node"))?;
        let original_sibling_tree_hash =
            self.tree_hash_excluding(sibling, &node.unmerged_leaves)?;
        let mut input = Writer::new();
        input.write_opaque(&node.encryption_key)?;
        input.write_opaque(&node.parent_hash)?;
        input.write_opaque(&original_sibling_tree_hash)?;
        Ok(hash(input.as_bytes()))
    }

    /// Checks that every non-blank parent node is parent-hash valid: exactly
    /// one node below it, in its original (pre-unmerged-leaves) resolution,
    /// carries its parent hash. Required before trusting a tree from a Welcome.
    pub fn verify_parent_hashes(&self) -> Result<(), CryptoError> {
        for index in (1..self.size.node_count()).step_by(2) {
            let parent_index = NodeIndex(index);
            let Some(parent) = self.parent_node(parent_index) else {
                continue;
            };
            let (Some(left), Some(right)) = (parent_index.left(), parent_index.right()) else {
                return Err(CryptoError::InvalidTree("parent without children"));
            };
            let mut chains = 0usize;
            for (child, sibling) in [(left, right), (right, left)] {
                let expected = self.parent_hash(parent_index, sibling)?;
                for descendant in self.resolution(child)? {
                    let unmerged = descendant
                        .leaf_index()
                        .is_some_and(|leaf| parent.unmerged_leaves.contains(&leaf));
                    let matches = self
                        .node(descendant)
                        .and_then(Node::parent_hash)
                        .is_some_and(|stored| stored == expected.as_slice());
                    if matches && !unmerged {
                        chains += 1;
                    }
                }
            }
            if chains != 1 {
                return Err(CryptoError::ParentHashInvalid(index));
            }
        }
        Ok(())
    }

    /// Verifies the signature of every non-blank leaf.
    pub fn verify_leaf_signatures(&self, group_id: &[u8]) -> Result<(), CryptoError> {
        for leaf_index in 0..self.size.leaf_count() {
            let leaf_index = LeafIndex(leaf_index);
            if let Some(leaf) = self.leaf(leaf_index) {
                leaf.verify(group_id, leaf_index)?;
            }
        }
        Ok(())
    }
}

/// Membership changes (RFC 9420 §12.1): applying Add, Update and Remove
/// proposals to the tree.
impl RatchetTree {
    /// Places a new member in the leftmost blank leaf, doubling the tree if
    /// it is full, and marks it unmerged in every non-blank ancestor (it does
    /// not know their private keys yet). Returns the new member's leaf.
    pub fn add_leaf(&mut self, leaf_node: LeafNode) -> Result<LeafIndex, CryptoError> {
        let blank = (0..self.size.leaf_count())
            .map(LeafIndex)
            .find(|&leaf| self.leaf(leaf).is_none());
        let leaf = match blank {
            Some(leaf) => leaf,
            None => {
                let old_leaf_count = self.size.leaf_count();
                let doubled = old_leaf_count
                    .checked_mul(2)
                    .ok_or(CryptoError::InvalidLeafCount(old_leaf_count))?;
                self.resize_to(TreeSize::new(doubled)?);
                LeafIndex(old_leaf_count)
            }
        };
        for ancestor in self.size.direct_path(leaf.node())? {
            if let Some(Some(node)) = self.nodes.get_mut(ancestor.0 as usize) {
                if let Some(journal) = self.journal.as_mut() {
                    journal.push(Undo::Node(ancestor, Some(Arc::clone(node))));
                }
                // Copy-on-write: the journal (or another tree) may share it.
                if let Node::Parent(parent) = Arc::make_mut(node) {
                    parent.unmerged_leaves.push(leaf);
                }
            }
        }
        self.set_node(leaf.node(), Some(Node::Leaf(leaf_node)))?;
        Ok(leaf)
    }

    /// Replaces a member's leaf and blanks its direct path, whose keys the
    /// old leaf knew.
    pub fn update_leaf(&mut self, leaf: LeafIndex, leaf_node: LeafNode) -> Result<(), CryptoError> {
        if self.leaf(leaf).is_none() {
            return Err(CryptoError::InvalidTree("update of a blank leaf"));
        }
        self.blank_direct_path(leaf)?;
        self.set_node(leaf.node(), Some(Node::Leaf(leaf_node)))
    }

    /// Removes a member: blanks its leaf and direct path, then halves the
    /// tree while its right half holds no member.
    pub fn remove_leaf(&mut self, leaf: LeafIndex) -> Result<(), CryptoError> {
        if self.leaf(leaf).is_none() {
            return Err(CryptoError::InvalidTree("removal of a blank leaf"));
        }
        self.blank_direct_path(leaf)?;
        self.set_node(leaf.node(), None)?;
        while self.size.leaf_count() > 1 {
            let half = self.size.leaf_count() / 2;
            if (half..self.size.leaf_count()).any(|index| self.leaf(LeafIndex(index)).is_some()) {
                break;
            }
            self.resize_to(TreeSize::new(half)?);
        }
        Ok(())
    }

    fn blank_direct_path(&mut self, leaf: LeafIndex) -> Result<(), CryptoError> {
        for ancestor in self.size.direct_path(leaf.node())? {
            self.set_node(ancestor, None)?;
        }
        Ok(())
    }
}

/// Whether `node` lies in the subtree rooted at `root`.
pub(crate) fn is_in_subtree(node: NodeIndex, root: NodeIndex) -> bool {
    let level = root.level();
    // The subtree of a level-k node spans 2^(k+1) - 1 consecutive indices.
    let span = (1u64 << level) - 1;
    let (node, root) = (u64::from(node.0), u64::from(root.0));
    node + span >= root && node <= root + span
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn subtree_membership() {
        assert!(is_in_subtree(NodeIndex(0), NodeIndex(3)));
        assert!(is_in_subtree(NodeIndex(6), NodeIndex(3)));
        assert!(!is_in_subtree(NodeIndex(8), NodeIndex(3)));
        assert!(is_in_subtree(NodeIndex(4), NodeIndex(4)));
        assert!(!is_in_subtree(NodeIndex(2), NodeIndex(4)));
    }

    #[test]
    fn structural_errors_are_reported() {
        assert_eq!(
            RatchetTree::from_nodes(vec![]),
            Err(CryptoError::InvalidTree("even number of nodes"))
        );
        assert_eq!(
            RatchetTree::from_nodes(vec![None]),
            Err(CryptoError::InvalidTree("last node is blank"))
        );
        let parent = Node::Parent(ParentNode {
            encryption_key: vec![],
            parent_hash: vec![],
            unmerged_leaves: vec![],
        });
        assert_eq!(
            RatchetTree::from_nodes(vec![Some(parent)]),
            Err(CryptoError::InvalidTree("parent at a leaf position"))
        );
    }

    fn leaf(byte: u8) -> LeafNode {
        LeafNode {
            encryption_key: vec![byte; 32],
            signature_key: vec![byte; 32],
            credential: crate::crypto::leaf_node::Credential::Basic {
                identity: vec![byte],
            },
            capabilities: crate::crypto::leaf_node::Capabilities::default(),
            source: crate::crypto::leaf_node::LeafNodeSource::Update,
            extensions: vec![],
            signature: vec![],
        }
    }

    #[test]
    fn rollback_restores_nodes_size_and_hashes() {
        let mut tree = RatchetTree::from_nodes(vec![Some(Node::Leaf(leaf(0)))]).unwrap();
        tree.add_leaf(leaf(1)).unwrap();
        tree.set_node(
            NodeIndex(1),
            Some(Node::Parent(ParentNode {
                encryption_key: vec![9; 32],
                parent_hash: vec![],
                unmerged_leaves: vec![],
            })),
        )
        .unwrap();
        tree.refresh_hashes().unwrap();
        let original = tree.clone();
        let original_hash = tree.root_tree_hash().unwrap();

        tree.begin_staging();
        tree.add_leaf(leaf(2)).unwrap(); // grows to 4 leaves, node 1 gets an unmerged leaf
        tree.remove_leaf(LeafIndex(2)).unwrap(); // shrinks back
        tree.remove_leaf(LeafIndex(1)).unwrap(); // shrinks to 1 leaf
        assert_ne!(tree, original);
        tree.rollback_staging().unwrap();
        assert_eq!(tree, original);
        assert_eq!(tree.root_tree_hash().unwrap(), original_hash);

        // Committed changes stay, and the cache agrees with a fresh tree.
        tree.begin_staging();
        tree.add_leaf(leaf(3)).unwrap();
        tree.commit_staging();
        let rebuilt = RatchetTree::from_tls_bytes(&tree.to_tls_bytes().unwrap()).unwrap();
        assert_eq!(
            tree.root_tree_hash().unwrap(),
            rebuilt.root_tree_hash().unwrap()
        );
        assert_eq!(tree.size().leaf_count(), 4);
    }
}
