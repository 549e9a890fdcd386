//! Index arithmetic for complete left-balanced binary trees laid out in an
//! array (RFC 9420 §4.2 and Appendix C).
//!
//! Leaves sit at even indices, parents at odd ones; a node's level is the
//! number of trailing one bits of its index. Aura keeps trees complete (the
//! leaf count is a power of two, blank leaves pad the rest), which is what
//! RFC 9420 mandates for the ratchet tree and the secret tree.

use super::error::CryptoError;

/// Largest number of leaves a tree may have. Far above any realistic group,
/// and low enough that `2 * leaves` can never overflow a `u32` node index.
pub const MAX_LEAF_COUNT: u32 = 1 << 20;

/// Position of a node in the array representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeIndex(pub u32);

/// Position of a leaf among the leaves (leaf `i` is node `2 * i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeafIndex(pub u32);

impl LeafIndex {
    /// The node holding this leaf.
    #[must_use]
    pub fn node(self) -> NodeIndex {
        // Leaf indices handled by a TreeSize are below MAX_LEAF_COUNT, so this
        // does not wrap; saturating keeps a stray huge index out of any tree.
        NodeIndex(self.0.saturating_mul(2))
    }
}

impl NodeIndex {
    /// Height above the leaves: 0 for leaves, `k` for a parent whose index
    /// ends in `k` one bits.
    #[must_use]
    pub fn level(self) -> u32 {
        self.0.trailing_ones()
    }

    /// Whether the node is a leaf.
    #[must_use]
    pub fn is_leaf(self) -> bool {
        self.0 % 2 == 0
    }

    /// The leaf this node holds, if it is a leaf.
    #[must_use]
    pub fn leaf_index(self) -> Option<LeafIndex> {
        self.is_leaf().then_some(LeafIndex(self.0 / 2))
    }

    /// Left child; `None` for leaves.
    #[must_use]
    pub fn left(self) -> Option<NodeIndex> {
        let level = self.level();
        (level > 0).then(|| NodeIndex(self.0 ^ (1 << (level - 1))))
    }

    /// Right child; `None` for leaves.
    #[must_use]
    pub fn right(self) -> Option<NodeIndex> {
        let level = self.level();
        (level > 0).then(|| NodeIndex(self.0 ^ (3 << (level - 1))))
    }
}

/// The shape of a complete tree: its number of leaves, a power of two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeSize {
    leaf_count: u32,
}

impl TreeSize {
    /// A tree with exactly `leaf_count` leaves, which must be a power of two
    /// no larger than [`MAX_LEAF_COUNT`].
    pub fn new(leaf_count: u32) -> Result<Self, CryptoError> {
        if leaf_count.is_power_of_two() && leaf_count <= MAX_LEAF_COUNT {
            Ok(Self { leaf_count })
        } else {
            Err(CryptoError::InvalidLeafCount(leaf_count))
        }
    }

    /// The smallest complete tree with room for `members` leaves.
    pub fn covering(members: u32) -> Result<Self, CryptoError> {
        let leaf_count = members
            .max(1)
            .checked_next_power_of_two()
            .ok_or(CryptoError::InvalidLeafCount(members))?;
        Self::new(leaf_count)
    }

    /// Number of leaves.
    #[must_use]
    pub fn leaf_count(self) -> u32 {
        self.leaf_count
    }

    /// Number of nodes, `2 * leaves - 1`.
    #[must_use]
    pub fn node_count(self) -> u32 {
        2 * self.leaf_count - 1
    }

    /// The root node.
    #[must_use]
    pub fn root(self) -> NodeIndex {
        // For a complete tree the root is the middle of the array.
        NodeIndex(self.leaf_count - 1)
    }

    /// Whether `node` lies in this tree.
    #[must_use]
    pub fn contains(self, node: NodeIndex) -> bool {
        node.0 < self.node_count()
    }

    /// Whether `leaf` lies in this tree.
    #[must_use]
    pub fn contains_leaf(self, leaf: LeafIndex) -> bool {
        leaf.0 < self.leaf_count
    }

    fn check(self, node: NodeIndex) -> Result<(), CryptoError> {
        if self.contains(node) {
            Ok(())
        } else {
            Err(CryptoError::IndexOutOfRange {
                index: node.0,
                size: self.node_count(),
            })
        }
    }

    /// Parent of `node`; `None` for the root and for nodes outside the tree.
    #[must_use]
    pub fn parent(self, node: NodeIndex) -> Option<NodeIndex> {
        if !self.contains(node) || node == self.root() {
            return None;
        }
        let level = node.level();
        let is_right_child = (node.0 >> (level + 1)) & 1;
        Some(NodeIndex(
            (node.0 | (1 << level)) ^ (is_right_child << (level + 1)),
        ))
    }

    /// The other child of `node`'s parent; `None` for the root and for nodes
    /// outside the tree.
    #[must_use]
    pub fn sibling(self, node: NodeIndex) -> Option<NodeIndex> {
        let parent = self.parent(node)?;
        if node < parent {
            parent.right()
        } else {
            parent.left()
        }
    }

    /// Ancestors of `node` from its parent up to and including the root.
    pub fn direct_path(self, node: NodeIndex) -> Result<Vec<NodeIndex>, CryptoError> {
        self.check(node)?;
        let mut path = Vec::new();
        let mut current = node;
        while let Some(parent) = self.parent(current) {
            path.push(parent);
            current = parent;
        }
        Ok(path)
    }

    /// Siblings of `node` and of each of its ancestors below the root: the
    /// nodes whose subtrees a path update must be encrypted to.
    pub fn copath(self, node: NodeIndex) -> Result<Vec<NodeIndex>, CryptoError> {
        self.check(node)?;
        let mut copath = Vec::new();
        let mut current = node;
        while let Some(sibling) = self.sibling(current) {
            copath.push(sibling);
            current = self.parent(current).unwrap_or(current);
        }
        Ok(copath)
    }

    /// Nodes on the path from the root down to `node`, root first, `node` last.
    pub fn path_from_root(self, node: NodeIndex) -> Result<Vec<NodeIndex>, CryptoError> {
        let mut path = self.direct_path(node)?;
        path.reverse();
        path.push(node);
        Ok(path)
    }

    /// Lowest common ancestor of two nodes of the tree.
    pub fn common_ancestor(self, a: NodeIndex, b: NodeIndex) -> Result<NodeIndex, CryptoError> {
        self.check(a)?;
        self.check(b)?;
        Ok(common_ancestor(a, b))
    }
}

/// Lowest common ancestor in the array layout (Appendix C, "direct" form):
/// strip the bits where the two indices differ and set the level bit.
#[must_use]
fn common_ancestor(a: NodeIndex, b: NodeIndex) -> NodeIndex {
    let (level_a, level_b) = (a.level(), b.level());
    if level_a <= level_b && (a.0 >> (level_b + 1)) == (b.0 >> (level_b + 1)) {
        return b;
    }
    if level_b <= level_a && (a.0 >> (level_a + 1)) == (b.0 >> (level_a + 1)) {
        return a;
    }
    let (mut x, mut y) = (a.0, b.0);
    let mut k = 0;
    while x != y {
        x >>= 1;
        y >>= 1;
        k += 1;
    }
    NodeIndex((x << k) + (1 << (k - 1)) - 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn leaf_count_must_be_a_bounded_power_of_two() {
        assert!(TreeSize::new(0).is_err());
        assert!(TreeSize::new(3).is_err());
        assert!(TreeSize::new(MAX_LEAF_COUNT * 2).is_err());
        assert_eq!(TreeSize::covering(5).unwrap().leaf_count(), 8);
        assert_eq!(TreeSize::covering(0).unwrap().leaf_count(), 1);
    }

    #[test]
    fn eight_leaf_tree_matches_rfc_figure() {
        // RFC 9420 §4.2 example: 8 leaves, root 7.
        let tree = TreeSize::new(8).unwrap();
        assert_eq!(tree.root(), NodeIndex(7));
        assert_eq!(
            tree.direct_path(NodeIndex(4)).unwrap(),
            vec![NodeIndex(5), NodeIndex(3), NodeIndex(7)]
        );
        assert_eq!(
            tree.copath(NodeIndex(4)).unwrap(),
            vec![NodeIndex(6), NodeIndex(1), NodeIndex(11)]
        );
        assert_eq!(
            tree.common_ancestor(NodeIndex(2), NodeIndex(8)).unwrap(),
            NodeIndex(7)
        );
        assert_eq!(
            tree.common_ancestor(NodeIndex(0), NodeIndex(2)).unwrap(),
            NodeIndex(1)
        );
        assert_eq!(
            tree.common_ancestor(NodeIndex(4), NodeIndex(3)).unwrap(),
            NodeIndex(3)
        );
        assert!(tree.direct_path(NodeIndex(15)).is_err());
        assert_eq!(tree.parent(NodeIndex(15)), None);
    }

    #[test]
    fn one_leaf_tree_has_no_relatives() {
        let tree = TreeSize::new(1).unwrap();
        assert_eq!(tree.root(), NodeIndex(0));
        assert_eq!(tree.parent(NodeIndex(0)), None);
        assert_eq!(tree.sibling(NodeIndex(0)), None);
        assert!(tree.direct_path(NodeIndex(0)).unwrap().is_empty());
        assert!(tree.copath(NodeIndex(0)).unwrap().is_empty());
    }
}
