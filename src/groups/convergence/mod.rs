//! Convergence without an orderer: policy v1, pinned.
//!
//! Members of a group commit concurrently and receive each other's commits in any order,
//! late, twice or never (anti-entropy repairs what gossip loses). Each commit names its
//! parent epoch by an [`EpochId`]; the commits a member has validated form a tree of epochs.
//! Every member picks the same branch of that tree from the same commits:
//!
//! - **branch choice** ([`branch`]): among branches from a common fork epoch, the deeper one
//!   (more valid commits since the fork) wins; at equal depth, the branch whose first commit
//!   after the fork has the lowest hash wins. Only authenticated bytes decide: commit ids are
//!   hashes of the commits, depths count commits that verified against their parent's state;
//! - **rewind bound**: a member rewinds at most [`REWIND_BOUND`] commits. The epoch that many
//!   commits behind its tip is final for it (its *root*): branches that fork before the root
//!   are not eligible, and their commits are reported as beyond the bound (the member, or
//!   the commit's author, is on a branch the other cannot join);
//! - **settling**: a pass opens when a commit could change the choice, and settles after
//!   [`SETTLE_QUIET_MS`] without such input or [`SETTLE_MAX_MS`] after it opened, whichever
//!   comes first. The member moves to the winning tip only when a pass settles, and makes
//!   commits of its own only on a settled state;
//! - **losing branches stay readable**: every validated epoch in the window keeps its state,
//!   so that messages sent on a branch that lost are still read against it; states behind
//!   the root are dropped (forward secrecy).
//!
//! The constants are the same at every member and never configurable: a member with other
//! constants would fork the group.

pub mod branch;
mod engine;
/// Written apart from the engine, which never calls it: the unit tests and the group
/// simulation check every pass against it.
#[doc(hidden)]
pub mod reference;
#[cfg(test)]
mod tests;

pub use engine::{Applied, ApplyError, Convergence, EpochState, Event, SettledPass};

/// Commits a member may undo to follow a winning branch.
pub const REWIND_BOUND: usize = 4;
/// Quiet after the last input that could change the choice, before a pass settles.
pub const SETTLE_QUIET_MS: u64 = 1_000;
/// Longest a pass stays open however much arrives.
pub const SETTLE_MAX_MS: u64 = 5_000;
/// Commits kept while their parent is unknown (it may arrive later), and for how long: a
/// commit on a branch this member dropped never finds its parent, and the journal keeps
/// every commit to offer again when a parent arrives after that.
pub const MAX_WAITING_COMMITS: usize = 256;
pub const WAITING_TTL_MS: u64 = 30_000;
/// Validated commits kept in the window, every branch together: a member that commits
/// without end cannot make the others keep states without end.
pub const MAX_WINDOW_COMMITS: usize = 1_024;
/// Ids of commits done with (refused, beyond the bound, gone from the window), remembered so
/// that a late copy is ignored.
pub const MAX_DONE_REMEMBERED: usize = 4_096;

/// An epoch on one branch: a hash of its state (members at the same epoch number on two
/// branches name their epochs differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EpochId(pub [u8; 32]);

/// A commit's hash: what ties between branches are broken by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(pub [u8; 32]);

/// A commit as the journal delivers it: opaque bytes the epoch state verifies, the epoch
/// they claim to extend and that epoch's number (to tell a commit whose parent may still
/// arrive from one whose parent is behind this member's root), and the epoch they claim to
/// lead to (checked by every member that can apply the commit; a member removed before it
/// can only count it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub id: CommitId,
    pub parent: EpochId,
    pub parent_epoch: u64,
    pub child: EpochId,
    pub bytes: Vec<u8>,
}
