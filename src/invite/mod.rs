//! Invitations and relationships: how two people become contacts.
//!
//! - [`code`] — the invitation code people paste: a versioned prefix, base32, a CRC-32 that
//!   catches typos; [`addrs`] — which of a node's addresses go in a code.
//! - [`handshake`] — the cryptography, pure: the invitation key pair both sides derive from
//!   the code's secret (only its public half is recorded), the transcript and its proofs, the
//!   pairwise secret and context.
//! - [`messages`] — the relationship-formation messages and their capped encodings (the
//!   choreography is [`crate::protocol::relationship`]).
//! - [`facts`] — the journal facts: invitations, names and nicknames in a device's own
//!   context; the relationship and its end in the pair's context.
//! - [`book`] — what those facts say: a profile's invitations, name and nicknames, and each
//!   relationship; [`names`] — display names checked, peer names stripped, colliding names
//!   told apart; [`directory`] — both read out of the store; [`views`] — what front ends see.

pub mod addrs;
pub mod book;
pub mod code;
pub mod directory;
pub mod facts;
pub mod handshake;
pub mod messages;
pub mod names;
pub mod views;
