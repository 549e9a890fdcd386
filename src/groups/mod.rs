//! Groups: MLS groups carried by the journal, with no server to order their commits.
//!
//! - [`convergence`] — the pinned policy that makes every member settle on the same epoch
//!   whatever order concurrent commits arrive in: branch choice, the rewind bound, settling.
//!   Pure and generic over the epoch state, so that it is simulated with a test double and
//!   run with the MLS group state of [`crate::crypto::group`].
//! - [`mls_epoch`] — that MLS state as convergence sees it: epochs named by a hash of their
//!   group context, commits opened and applied to a copy.
//! - [`policy`] — who may add, remove, rename and change the policy: a default grant and
//!   members' own grants in the group context, combined by meet, checked on every commit;
//!   [`leave`] — a member's signed request to leave, which lets any member remove it.
//! - [`member`] — one device's membership of one group, sans-IO: facts in, facts to write,
//!   Welcomes to deliver and messages read out; membership changes asked for as intents,
//!   made on a settled state and asked again when their commit lost.
//! - [`memberships`] — a device's memberships of one group while branches are unsettled
//!   (removed on one branch, added again on another), acted through the best.
//! - [`seal`] — commits encrypted to the members of the epoch they extend.
//! - [`facts`] — the journal facts of groups: sealed commits and messages in the group's
//!   context; KeyPackages and Welcomes in the pairwise context of two contacts.
//! - [`payload`] — what a message's plaintext says: text, receipts, and tags of newer builds.
//! - [`directory`], [`views`] — groups as the store describes them (which group a name
//!   means, the list, members, the log with delivery states), for every front end.

pub mod convergence;
pub mod directory;
pub mod facts;
pub mod leave;
pub mod member;
pub mod memberships;
pub mod mls_epoch;
pub mod payload;
pub mod policy;
pub mod seal;
pub mod views;
