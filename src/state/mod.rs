//! The domain state: pure logic and its persistence in the profile's redb store.
//!
//! Nothing here does I/O except the store; time and randomness come in as arguments.
//!
//! - Semilattices: [`semilattice`] (the `Join` and `Meet` traits), [`gcounter`],
//!   [`capability`], [`max_epoch`], [`lww`], [`orset`].
//! - [`coordinator`] — a device's replicated state: state-, delta- or meet-based.
//! - The journal: [`hlc`] (time), [`fact`] (signed facts and their canonical encoding),
//!   [`kinds`] (body layouts), [`ingest`] (the checks before storing), [`view`] (reducers),
//!   [`journal`] (the fact set in memory).
//! - Anti-entropy: [`sync_frame`] (wire frames) and [`sync`] (the Initiator and Responder).
//! - [`codec`] — the byte reader and writer of every canonical encoding; [`limits`] — the
//!   size caps shared with the wire.
//! - Flow control: [`trust_level`], [`flow_budget`] (send budgets per context, peer and
//!   epoch), [`receive_budget`] (what each peer spends toward this device) and [`leakage`]
//!   (privacy cost per context and epoch, size buckets).
//! - [`store`] — the redb file: opening (probe, repair, read-only), the schema and its
//!   registry of tables, and one module per group of tables: identity, the journal, the
//!   three ledgers, the network node's peers, contexts and known addresses.

pub mod capability;
pub mod codec;
pub mod coordinator;
mod corruption;
pub mod fact;
pub mod flow_budget;
pub mod gcounter;
pub mod hlc;
pub mod ingest;
pub mod journal;
pub mod kinds;
pub mod leakage;
pub mod limits;
pub mod lww;
pub mod max_epoch;
pub mod orset;
pub mod receive_budget;
pub mod semilattice;
pub mod store;
pub mod sync;
pub mod sync_frame;
pub mod trust_level;
pub mod view;

pub use store::{Store, StoreError, StoreStats};
