//! The web of trust: levels from relationships and the user, attestations contacts share,
//! paths that explain themselves, and authorization that shows its evidence.
//!
//! - [`graph`] — the trust graph of one device and its decisions, pure: a path is as strong
//!   as its weakest edge and loses one level per extra hop, within a hop limit; the best path
//!   wins; every decision carries its path or the reason for a denial; [`explain`] says it
//!   in words.
//! - [`facts`] — the journal facts: the user's levels and sharing (own context), and the
//!   attestations shared with each contact (the pair's context); [`book`] — the graph those
//!   facts describe; [`directory`] — trust questions answered from the store; [`views`] —
//!   what front ends see.

pub mod book;
pub mod directory;
pub mod explain;
pub mod facts;
pub mod graph;
pub mod views;
