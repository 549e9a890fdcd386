//! Groups: MLS groups carried by the journal, with no server to order their commits.
//!
//! - [`convergence`] — the pinned policy that makes every member settle on the same epoch
//!   whatever order concurrent commits arrive in: branch choice, the rewind bound, settling.
//!   Pure and generic over the epoch state, so that it is simulated with a test double and
//!   run with the MLS group state of [`crate::crypto::group`].
//! - [`mls_epoch`] — that MLS state as convergence sees it: epochs named by a hash of their
//!   group context, commits applied to a copy.

pub mod convergence;
pub mod mls_epoch;
