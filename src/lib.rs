//! Aura: a peer-to-peer, end-to-end encrypted group messenger for the terminal.
//!
//! The crate is a library with a thin binary (`src/main.rs`) on top. Its modules:
//!
//! - [`cli`] — the command line (clap) and the edge where errors become messages.
//! - [`paths`] — where a profile's config, store and logs live.
//! - [`config`] — embedded defaults merged with the user's file, checked key by key.
//! - [`logging`] — `tracing` to a rolling file, never to the terminal.
//! - [`crypto`] — RFC 9420 (MLS) suite 3: codec, labelled primitives, ratchet tree, TreeKEM,
//!   key schedule, secret tree, message protection, Welcome. Pure.
//! - [`groups`] — MLS groups over the journal: convergence of concurrent commits without an
//!   orderer (branch choice, rewind bound, settling), pure.
//! - [`identity`] — the device's Ed25519 key and the libp2p PeerId derived from it.
//! - [`invite`] — invitations and relationships: codes, the handshake's cryptography, the
//!   facts of invitations, names and contacts, and what they say.
//! - [`state`] — the domain state, pure, and its persistence in redb ([`state::store`]:
//!   one file, its table registry, read-write and read-only opens): semilattices and the CRDT
//!   coordinator, the journal of signed facts and its views ([`state::journal`]),
//!   anti-entropy ([`state::sync`]), and flow budgets, receive accounting and leakage
//!   ([`state::flow_budget`], [`state::receive_budget`], [`state::leakage`]).
//! - [`protocol`] — protocols as choreographies projected to session types, and the guard
//!   chain (capability, flow budget, journal, leakage) every send passes.
//! - [`net`] — the network node: a libp2p Swarm owned by one task, its handle and events.
//! - [`agent`] — the task that owns the store between the UI or CLI and the network; session
//!   tasks running choreographies over libp2p streams; the guard state every send is charged
//!   to.
//! - [`control`] — the typed protocol the CLI asks a running node through, answered the
//!   same way from the store when no node runs.
//! - [`node`] — the composition root: `Node::start` builds a running node for every front
//!   end; its client handle, its one event type and what it reports.
//! - [`ui`] — the ratatui interface: view model, pure `update` and `render`, keymap, shell.
//!
//! See `ARCHITECTURE.md` for how the pieces talk to each other.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_debug_implementations)]

pub mod agent;
pub mod cli;
pub mod config;
pub mod control;
pub mod crypto;
pub mod groups;
pub mod identity;
pub mod invite;
pub mod logging;
pub mod net;
pub mod node;
pub mod paths;
pub mod protocol;
pub mod state;
pub mod trust;
pub mod ui;
