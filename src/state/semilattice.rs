//! The two lattice operations every replicated value in the journal is built from.
//!
//! Replicas converge without coordination only if merging is associative, commutative and
//! idempotent: then the order and repetition of deliveries cannot change the result. Each
//! type states which of the two operations it supports; `tests/semilattice_laws.rs` checks the
//! laws for every implementation.

/// A join-semilattice: knowledge only grows, and `join` is the least upper bound.
pub trait Join: Sized {
    fn join(&self, other: &Self) -> Self;

    /// Joins `other` into `self`; types override it when merging in place is cheaper.
    fn join_assign(&mut self, other: &Self) {
        *self = self.join(other);
    }
}

/// A meet-semilattice: authority only shrinks, and `meet` is the greatest lower bound.
pub trait Meet: Sized {
    fn meet(&self, other: &Self) -> Self;

    fn meet_assign(&mut self, other: &Self) {
        *self = self.meet(other);
    }
}
