//! An observed-remove set.
//!
//! Every add carries a unique tag; a remove deletes only the tags its author had observed.
//! An add concurrent with a remove therefore survives (add wins), and re-adding after a
//! remove works, which a plain two-phase set cannot do. Both components only grow, so the
//! join is a union.

use std::collections::BTreeSet;

use super::semilattice::Join;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrSet<T, Tag> {
    adds: BTreeSet<(T, Tag)>,
    removed: BTreeSet<Tag>,
}

impl<T, Tag> Default for OrSet<T, Tag> {
    fn default() -> Self {
        Self {
            adds: BTreeSet::new(),
            removed: BTreeSet::new(),
        }
    }
}

impl<T: Ord + Clone, Tag: Ord + Clone> OrSet<T, Tag> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn contains(&self, value: &T) -> bool {
        self.live_tags(value).next().is_some()
    }

    /// The present elements, in order, each once.
    pub fn elements(&self) -> Vec<T> {
        let mut present: Vec<T> = self
            .adds
            .iter()
            .filter(|(_, tag)| !self.removed.contains(tag))
            .map(|(value, _)| value.clone())
            .collect();
        present.dedup();
        present
    }

    /// The tags under which `value` is currently present: what a remove must name.
    pub fn live_tags<'a>(&'a self, value: &'a T) -> impl Iterator<Item = &'a Tag> + 'a {
        self.adds
            .iter()
            .filter(move |(candidate, tag)| candidate == value && !self.removed.contains(tag))
            .map(|(_, tag)| tag)
    }

    pub fn add_delta(value: T, tag: Tag) -> Self {
        let mut delta = Self::new();
        delta.adds.insert((value, tag));
        delta
    }

    /// The delta of removing `value` as this replica sees it now.
    pub fn remove_delta(&self, value: &T) -> Self {
        Self::remove_tags_delta(self.live_tags(value).cloned())
    }

    /// The delta of removing exactly `tags`, as a remove fact records them.
    pub fn remove_tags_delta(tags: impl IntoIterator<Item = Tag>) -> Self {
        Self {
            adds: BTreeSet::new(),
            removed: tags.into_iter().collect(),
        }
    }

    pub fn add(&mut self, value: T, tag: Tag) {
        self.adds.insert((value, tag));
    }

    pub fn remove(&mut self, value: &T) {
        let delta = self.remove_delta(value);
        self.join_assign(&delta);
    }

    /// Every add ever seen, removed or not, with its tag.
    pub fn adds(&self) -> impl Iterator<Item = &(T, Tag)> {
        self.adds.iter()
    }

    pub fn removed_tags(&self) -> impl Iterator<Item = &Tag> {
        self.removed.iter()
    }
}

impl<T: Ord + Clone, Tag: Ord + Clone> Join for OrSet<T, Tag> {
    fn join(&self, other: &Self) -> Self {
        let mut merged = self.clone();
        merged.join_assign(other);
        merged
    }

    fn join_assign(&mut self, other: &Self) {
        self.adds.extend(other.adds.iter().cloned());
        self.removed.extend(other.removed.iter().cloned());
    }
}
