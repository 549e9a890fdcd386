//! The MLS (RFC 9420) cryptographic core of Aura.
//!
//! Aura's groups run on cipher suite 3,
//! `MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519`: groups and key
//! packages are only ever created on it. Suite 1 (the same but for its AEAD,
//! AES-128-GCM) is implemented too, so that a member can follow a group of
//! another MLS implementation, but it is joined only when the caller opts in
//! (`JoinOptions::allow_interop_suites`); a plain join refuses it, as the
//! group refuses every suite it does not implement (see [`cipher_suite`]).
//! Decoders record the suite a message names, so that any suite's messages
//! round-trip. Everything here is pure computation:
//! no I/O, no clocks, no global randomness. Functions that need randomness
//! take a `&mut impl rand_core::CryptoRng` so that callers (and tests) decide
//! where it comes from.
//!
//! Layout, bottom-up:
//! - [`error`]: typed errors; nothing in this module panics on peer input.
//! - [`secret`]: a byte-string wrapper that zeroizes and redacts itself.
//! - [`codec`]: the TLS presentation-language codec with hard size caps.
//! - [`cipher_suite`], [`keys`], [`aead`], [`primitives`]: the suites (their
//!   AEAD and HPKE), key types, the AEADs, and the labelled primitives of §5.
//! - [`tree_math`]: array-tree index arithmetic (Appendix C).
//! - [`group_context`], [`key_schedule`], [`psk`], [`transcript`]: epoch
//!   secrets, PSKs and transcript hashes (§8).
//! - [`secret_tree`], [`sender_data`]: per-sender message keys (§9, §6.3.2).
//! - [`framing`], [`public_message`], [`private_message`]: message
//!   authentication and protection (§6).
//! - [`leaf_node`], [`ratchet_tree`], [`tree_kem`]: the ratchet tree, its
//!   hashes and UpdatePaths (§4, §7).
//! - [`key_package`], [`welcome`]: joining a group (§10, §12.4.3).
//! - [`proposal`], [`commit`]: the seven proposal types and commits
//!   (§12.1, §12.4), and [`commit::HandshakeBodies`], the body decoder that
//!   framing uses for them.
//! - [`group`]: the group state machine on top of all of the above: create
//!   a group, add / remove members and update keys by commit (with Welcome),
//!   process a peer's commit, join from a Welcome, derive the epoch's group
//!   key, protect / unprotect application messages, export / import the
//!   whole state. Commits cost O(log n) hashing and HPKE: the tree caches
//!   subtree hashes and stages commits in place with an undo journal.
//!
//! Primitives (HPKE, AEAD, signatures, HKDF, HMAC, SHA-256) come from the
//! RustCrypto / dalek / `hpke` crates; this module only composes them.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod aead;
pub mod cipher_suite;
pub mod codec;
pub mod commit;
pub mod error;
pub mod framing;
pub mod group;
pub mod group_context;
pub mod key_package;
pub mod key_schedule;
pub mod keys;
pub mod leaf_node;
pub mod primitives;
pub mod private_message;
pub mod proposal;
pub mod psk;
pub mod public_message;
pub mod ratchet_tree;
pub mod secret;
pub mod secret_tree;
pub mod sender_data;
pub mod transcript;
pub mod tree_kem;
pub mod tree_math;
pub mod welcome;

pub use error::{CryptoError, DecodeError, EncodeError};
pub use secret::Secret;
