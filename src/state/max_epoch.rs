//! The highest epoch any replica has reported.
//!
//! Budgets and groups advance in epochs; replicas converge on the largest one seen. Capping
//! what a peer may report against the local clock is the caller's job (see DESIGN.md, Flow
//! budgets): the lattice itself only takes maxima.

use super::semilattice::Join;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct MaxEpoch(pub u64);

impl MaxEpoch {
    pub fn get(self) -> u64 {
        self.0
    }

    /// The delta of moving to `epoch`; joining it is a no-op if the state is already past it.
    pub fn advance_delta(epoch: u64) -> Self {
        Self(epoch)
    }
}

impl Join for MaxEpoch {
    fn join(&self, other: &Self) -> Self {
        Self(self.0.max(other.0))
    }
}
