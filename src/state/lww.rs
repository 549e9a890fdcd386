//! A last-writer-wins register.
//!
//! Each write carries a stamp; the register keeps the write with the greatest stamp. Stamps
//! come from facts, `(time, fact id)`, so two distinct writes never tie; the value still takes
//! part in the comparison so that the join stays commutative even for equal stamps.

use super::semilattice::Join;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LwwRegister<S, T> {
    latest: Option<(S, T)>,
}

impl<S, T> Default for LwwRegister<S, T> {
    fn default() -> Self {
        Self { latest: None }
    }
}

impl<S: Ord + Clone, T: Ord + Clone> LwwRegister<S, T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self) -> Option<&T> {
        self.latest.as_ref().map(|(_, value)| value)
    }

    pub fn stamp(&self) -> Option<&S> {
        self.latest.as_ref().map(|(stamp, _)| stamp)
    }

    /// The delta of writing `value` at `stamp`.
    pub fn write_delta(stamp: S, value: T) -> Self {
        Self {
            latest: Some((stamp, value)),
        }
    }

    pub fn write(&mut self, stamp: S, value: T) {
        self.join_assign(&Self::write_delta(stamp, value));
    }
}

impl<S: Ord + Clone, T: Ord + Clone> Join for LwwRegister<S, T> {
    fn join(&self, other: &Self) -> Self {
        let latest = match (&self.latest, &other.latest) {
            (Some(mine), Some(theirs)) => Some(mine.max(theirs).clone()),
            (Some(only), None) | (None, Some(only)) => Some(only.clone()),
            (None, None) => None,
        };
        Self { latest }
    }

    fn join_assign(&mut self, other: &Self) {
        if let Some(theirs) = &other.latest {
            if self.latest.as_ref().is_none_or(|mine| theirs > mine) {
                self.latest = Some(theirs.clone());
            }
        }
    }
}
