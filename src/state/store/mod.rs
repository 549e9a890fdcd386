//! The profile's redb store: one file, opened once per process, read-write or read-only.
//!
//! - `open` — creating, probing, verifying and repairing the file; nothing is written to a
//!   file that fails the probe.
//! - `schema` — the migrations, and from them the registry of every table; the probe reads
//!   every registered table in full, each row checked by its table's own decoder.
//! - `txn` — the read and write transactions the table modules work in; `error` — the
//!   path-free `Fault` they return, which the [`Store`] turns into a [`StoreError`] once.
//! - The tables: `identity`, `journal`, `ledgers` (flow, leakage and receive), `net`.
//!
//! redb trusts the bytes it reads, and the probe cannot afford to visit every byte a later
//! lookup may compare (the separator keys inside branch pages), so every operation also runs
//! inside `catch_corruption`: whatever is read after open, a damaged file gives an error,
//! never a panic. Writes need more, since a panic inside a write can abort the process: a
//! read-write open first has redb verify the checksum of every page.

mod error;
mod groups;
mod identity;
mod journal;
mod ledgers;
mod net;
mod open;
mod relationships;
mod schema;
mod txn;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadOnlyDatabase, ReadableDatabase};
use zeroize::Zeroizing;

use super::corruption::catch_corruption;
use super::fact::{ContextId, DeviceKey, Fact, FactId};
use super::flow_budget::FlowBudgets;
use super::ingest::{self, IngestReport, RejectKind};
use super::journal::Journal;
use super::leakage::{LeakageLedger, LeakagePolicy};
use super::receive_budget::{OverBudget, ReceiveLedger};
use super::view::ContextView;
use error::{Fault, Named};
use txn::{ReadTxn, WriteTxn};

pub use error::StoreError;
pub use groups::{
    GroupRow, KeyPackageRow, MAX_GROUP_MEMBERS, MAX_SNAPSHOT_BYTES, MessageRow, OutboxRow,
};
pub use identity::DEVICE_KEY_LEN;
pub use net::{
    MAX_KNOWN_ADDR_BYTES, MAX_KNOWN_ADDRS_PER_PEER, MAX_KNOWN_PEERS, MAX_PEER_ID_TEXT_BYTES,
};
pub use relationships::{AcceptanceRow, ContactRow, MAX_STORED_CODE_BYTES};
pub use schema::SCHEMA_VERSION;

/// Entry counts of each table, for `aura status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStats {
    pub schema_version: u64,
    pub file_bytes: u64,
    /// `(table name, entries)`, sorted by name.
    pub tables: Vec<(String, u64)>,
}

/// An open store. Holding it holds the profile's lock: exclusive when opened for writing,
/// shared with other read-only opens otherwise.
pub struct Store {
    db: Handle,
    path: PathBuf,
    profile: String,
}

enum Handle {
    Writable(Database),
    ReadOnly(ReadOnlyDatabase),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("profile", &self.profile)
            .field("read_only", &self.is_read_only())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store of `profile` at `path` for reading and writing, and brings its schema
    /// up to date. Only a missing file creates a store (mode 0600); an empty, damaged or
    /// foreign file is an error and is left as it was.
    pub fn open(path: &Path, profile: &str) -> Result<Self, StoreError> {
        let db = open::writable(Named { path, profile })?;
        Ok(Self::with(Handle::Writable(db), path, profile))
    }

    /// Opens an existing store without ever writing to it: no migration, no view rebuild,
    /// no crash repair (a store that needs one is refused). Tables an older schema lacks
    /// read as empty; every write fails with [`StoreError::ReadOnly`]. Needs only read
    /// access to the file.
    pub fn open_read_only(path: &Path, profile: &str) -> Result<Self, StoreError> {
        let db = open::read_only(Named { path, profile })?;
        Ok(Self::with(Handle::ReadOnly(db), path, profile))
    }

    fn with(db: Handle, path: &Path, profile: &str) -> Self {
        Self {
            db,
            path: path.to_owned(),
            profile: profile.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_read_only(&self) -> bool {
        matches!(self.db, Handle::ReadOnly(_))
    }

    pub fn schema_version(&self) -> Result<u64, StoreError> {
        self.read(schema::version)
    }

    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let (schema_version, tables) =
            self.read(|txn| Ok((schema::version(txn)?, txn.table_sizes()?)))?;
        let file_bytes = fs::metadata(&self.path)
            .map_err(|err| self.named().storage(err))?
            .len();
        Ok(StoreStats {
            schema_version,
            file_bytes,
            tables,
        })
    }

    /// Returns the device's signing key, storing `candidate` as that key if the store has none
    /// yet.
    pub fn device_key_or_insert(
        &self,
        candidate: Zeroizing<[u8; DEVICE_KEY_LEN]>,
    ) -> Result<Zeroizing<[u8; DEVICE_KEY_LEN]>, StoreError> {
        self.write(|txn| identity::device_key_or_insert(txn, candidate))
    }

    /// The device's signing key, if one was created.
    pub fn device_key(&self) -> Result<Option<Zeroizing<[u8; DEVICE_KEY_LEN]>>, StoreError> {
        self.read(identity::device_key)
    }

    /// Checks and stores a batch of received facts in one write transaction; rejected facts
    /// are counted by reason and not stored.
    pub fn ingest_facts<'a>(
        &self,
        batch: impl IntoIterator<Item = (Option<FactId>, &'a [u8])>,
        now_ms: u64,
    ) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport::default();
        let mut decoded = Vec::new();
        for (claimed_id, bytes) in batch {
            match ingest::decode(bytes, claimed_id) {
                Ok(fact) => decoded.push(fact),
                Err(reason) => report.reject(&reason),
            }
        }
        self.store_checked(decoded, now_ms, report, Durability::Immediate)
    }

    /// Stores facts decoded or built locally, after the same checks as received ones.
    pub fn ingest_decoded(
        &self,
        facts: impl IntoIterator<Item = Fact>,
        now_ms: u64,
    ) -> Result<IngestReport, StoreError> {
        let facts = facts.into_iter().collect();
        self.store_checked(
            facts,
            now_ms,
            IngestReport::default(),
            Durability::Immediate,
        )
    }

    /// Stores facts received from peers without waiting for the disk: a crash loses at most
    /// what anti-entropy fetches again from the peers, while the wait would bound how fast a
    /// node takes in gossip. The next durable commit (any local write, or
    /// [`Store::persist_pending`]) makes them durable; the store stays consistent either way.
    pub fn ingest_received(
        &self,
        facts: impl IntoIterator<Item = Fact>,
        now_ms: u64,
    ) -> Result<IngestReport, StoreError> {
        let facts = facts.into_iter().collect();
        self.store_checked(facts, now_ms, IngestReport::default(), Durability::None)
    }

    /// Stores this device's own facts, and in the same transaction what sending them means
    /// for groups: the messages sent join the group's history and leave the outbox, so that
    /// a crash between the two can neither lose a message nor send it twice.
    pub fn ingest_own(
        &self,
        facts: Vec<Fact>,
        now_ms: u64,
        sent: &[(OutboxRow, MessageRow)],
    ) -> Result<IngestReport, StoreError> {
        if self.is_read_only() {
            return Err(self.named().fault(Fault::ReadOnly));
        }
        let mut report = IngestReport::default();
        let fresh = self.read(|txn| journal::without_known(txn, facts, &mut report))?;
        let accepted = journal::checked(fresh, now_ms, &mut report);
        self.write(|txn| {
            journal::write_batch(txn, &accepted, &mut report)?;
            for (outbox, message) in sent {
                groups::remove_outbox(txn, outbox)?;
                groups::put_messages(txn, std::slice::from_ref(message))?;
            }
            Ok(())
        })?;
        Ok(report)
    }

    /// Signatures are verified before the write transaction opens: it is the slow part, and
    /// the store's write lock is held only for the inserts.
    fn store_checked(
        &self,
        facts: Vec<Fact>,
        now_ms: u64,
        mut report: IngestReport,
        durability: Durability,
    ) -> Result<IngestReport, StoreError> {
        if self.is_read_only() {
            return Err(self.named().fault(Fault::ReadOnly));
        }
        let fresh = self.read(|txn| journal::without_known(txn, facts, &mut report))?;
        let accepted = journal::checked(fresh, now_ms, &mut report);
        self.write_with(durability, |txn| {
            journal::write_batch(txn, &accepted, &mut report)
        })?;
        Ok(report)
    }

    /// Makes every earlier non-durable commit ([`Store::ingest_received`]) durable.
    pub fn persist_pending(&self) -> Result<(), StoreError> {
        self.write(|_| Ok(()))
    }

    /// How many facts of each rejection reason this store has refused, ever.
    pub fn rejected_counts(&self) -> Result<BTreeMap<RejectKind, u64>, StoreError> {
        self.read(journal::rejected_counts)
    }

    pub fn journal_len(&self) -> Result<u64, StoreError> {
        self.read(journal::len)
    }

    pub fn journal_fact(&self, id: &FactId) -> Result<Option<Fact>, StoreError> {
        self.read(|txn| journal::fact(txn, id))
    }

    /// Every fact of `context`, in `(time, id)` order.
    pub fn journal_facts_of(&self, context: ContextId) -> Result<Vec<Fact>, StoreError> {
        self.read(|txn| journal::facts_of(txn, context))
    }

    /// The whole journal in memory, for anti-entropy. Stored facts passed every check when
    /// they were ingested, so they are not verified again.
    pub fn load_journal(&self) -> Result<Journal, StoreError> {
        self.read(journal::load)
    }

    /// The view of `context`: the stored view row, and the message log read from the fact
    /// table in key order.
    pub fn context_view(&self, context: ContextId) -> Result<ContextView, StoreError> {
        self.read(|txn| journal::context_view(txn, context))
    }

    /// Every context's stored view without messages: what the agent loads at start.
    pub fn journal_views(&self) -> Result<BTreeMap<ContextId, ContextView>, StoreError> {
        self.read(journal::views)
    }

    /// Reduces every stored fact again into fresh view rows, in one write transaction.
    pub fn rebuild_journal_views(&self) -> Result<(), StoreError> {
        self.write(journal::rebuild_views)
    }

    /// Replaces the stored flow budgets with `budgets`, in one write transaction.
    pub fn save_flow_budgets(&self, budgets: &FlowBudgets) -> Result<(), StoreError> {
        self.write(|txn| ledgers::write_flow(txn, budgets))
    }

    pub fn load_flow_budgets(&self) -> Result<FlowBudgets, StoreError> {
        self.read(ledgers::load_flow)
    }

    /// Replaces the stored leakage budgets with `ledger`'s, settled to the latest epoch it
    /// holds, in one write transaction.
    pub fn save_leakage(&self, ledger: &LeakageLedger) -> Result<(), StoreError> {
        self.write(|txn| ledgers::write_leakage(txn, ledger))
    }

    /// The stored leakage budgets under `policy`; an empty ledger for a store that has none.
    pub fn load_leakage(&self, policy: LeakagePolicy) -> Result<LeakageLedger, StoreError> {
        self.read(|txn| ledgers::load_leakage(txn, policy))
    }

    /// Replaces the stored receive counters with `ledger`'s, in one write transaction.
    pub fn save_receive_ledger(&self, ledger: &ReceiveLedger) -> Result<(), StoreError> {
        self.write(|txn| ledgers::write_receive(txn, ledger))
    }

    /// The stored receive counters; peers without a row get `default_limit` when first seen.
    pub fn load_receive_ledger(
        &self,
        policy: OverBudget,
        default_limit: u64,
    ) -> Result<ReceiveLedger, StoreError> {
        self.read(|txn| ledgers::load_receive(txn, policy, default_limit))
    }

    /// Replaces the stored flow budgets, leakage budgets and receive counters together, in
    /// one write transaction: one commit, and never ledgers of different moments.
    pub fn save_ledgers(
        &self,
        budgets: &FlowBudgets,
        leakage: &LeakageLedger,
        received: &ReceiveLedger,
    ) -> Result<(), StoreError> {
        self.write(|txn| {
            ledgers::write_flow(txn, budgets)?;
            ledgers::write_leakage(txn, leakage)?;
            ledgers::write_receive(txn, received)
        })
    }

    /// Remembers a peer address the user added; `false` when it was already known.
    pub fn add_peer_addr(&self, addr: &str, now_ms: u64) -> Result<bool, StoreError> {
        self.write(|txn| net::add_peer(txn, addr, now_ms))
    }

    /// Forgets a peer address the user added; `false` when it was not known.
    pub fn remove_peer_addr(&self, addr: &str) -> Result<bool, StoreError> {
        self.write(|txn| net::remove_peer(txn, addr))
    }

    /// The addresses the user added, in text order.
    pub fn peer_addrs(&self) -> Result<Vec<String>, StoreError> {
        let mut addrs: Vec<String> = self
            .read(net::peer_entries)?
            .into_iter()
            .map(|(addr, _)| addr)
            .collect();
        addrs.sort();
        Ok(addrs)
    }

    /// The addresses the user added and when (ms since the epoch), oldest first, then by
    /// address.
    pub fn peer_addr_entries(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.read(net::peer_entries)
    }

    /// Records that the node takes part in `context`; `false` when it already did.
    pub fn join_context(&self, context: ContextId, now_ms: u64) -> Result<bool, StoreError> {
        self.write(|txn| net::join_context(txn, context, now_ms))
    }

    pub fn joined_contexts(&self) -> Result<Vec<ContextId>, StoreError> {
        self.read(net::joined_contexts)
    }

    /// Replaces the addresses `peer` (its base58 id) reported about itself, seen at `now_ms`.
    /// At most [`MAX_KNOWN_ADDRS_PER_PEER`] are kept, each at most [`MAX_KNOWN_ADDR_BYTES`]
    /// long; with none left the peer is forgotten. Past [`MAX_KNOWN_PEERS`] peers, the least
    /// recently seen one is forgotten.
    pub fn record_peer_addrs(
        &self,
        peer: &str,
        addrs: &[String],
        now_ms: u64,
    ) -> Result<(), StoreError> {
        self.write(|txn| net::record_peer(txn, peer, addrs, now_ms))
    }

    /// Every peer's reported addresses, by peer id.
    pub fn known_peer_addrs(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        self.read(net::known_peers)
    }

    /// Forgets what `peer` reported about itself; `false` when nothing was kept.
    pub fn forget_peer_addrs(&self, peer: &str) -> Result<bool, StoreError> {
        self.write(|txn| net::forget_peer(txn, peer))
    }

    /// Records a contact's pairwise context and secret, replacing an earlier row of the peer.
    pub fn put_contact(&self, row: &ContactRow) -> Result<(), StoreError> {
        self.write(|txn| relationships::put_contact(txn, row))
    }

    pub fn contacts(&self) -> Result<Vec<ContactRow>, StoreError> {
        self.read(relationships::contacts)
    }

    /// Keeps an acceptance until its inviter answers, replacing one of the same invitation.
    pub fn put_acceptance(&self, row: &AcceptanceRow) -> Result<(), StoreError> {
        self.write(|txn| relationships::put_acceptance(txn, row))
    }

    /// Forgets an acceptance; `false` when none was kept.
    pub fn remove_acceptance(&self, invitation: &[u8; 32]) -> Result<bool, StoreError> {
        self.write(|txn| relationships::remove_acceptance(txn, invitation))
    }

    pub fn acceptances(&self) -> Result<Vec<AcceptanceRow>, StoreError> {
        self.read(relationships::acceptances)
    }

    /// Keeps a group's settled state, replacing the earlier row.
    pub fn put_group(&self, row: &GroupRow) -> Result<(), StoreError> {
        self.write(|txn| groups::put_group(txn, row))
    }

    pub fn groups(&self) -> Result<Vec<GroupRow>, StoreError> {
        self.read(groups::groups)
    }

    /// Keeps messages read; returns how many were not kept already.
    pub fn put_group_messages(&self, rows: &[MessageRow]) -> Result<usize, StoreError> {
        self.write(|txn| groups::put_messages(txn, rows))
    }

    /// The last `limit` messages of a group, oldest first.
    pub fn group_messages(
        &self,
        context: &ContextId,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        self.read(|txn| groups::messages(txn, context, limit))
    }

    /// Messages of a group after `after` that `own` did not write: the unread ones.
    pub fn group_messages_after(
        &self,
        context: &ContextId,
        after: Option<(u64, FactId)>,
        own: &DeviceKey,
    ) -> Result<usize, StoreError> {
        self.read(|txn| groups::count_after(txn, context, after, own))
    }

    /// Records that `reader` read these messages of a group.
    pub fn add_receipts(
        &self,
        context: &ContextId,
        reader: &DeviceKey,
        ids: &[FactId],
    ) -> Result<(), StoreError> {
        self.write(|txn| groups::add_receipts(txn, context, reader, ids))
    }

    /// Who read message `id` of a group.
    pub fn readers(&self, context: &ContextId, id: &FactId) -> Result<Vec<DeviceKey>, StoreError> {
        self.read(|txn| groups::readers(txn, context, id))
    }

    pub fn put_key_packages(&self, rows: &[KeyPackageRow]) -> Result<(), StoreError> {
        self.write(|txn| groups::put_key_packages(txn, rows))
    }

    pub fn key_packages(&self) -> Result<Vec<KeyPackageRow>, StoreError> {
        self.read(groups::key_packages)
    }

    /// Forgets a KeyPackage's private half (used, or no longer offered).
    pub fn remove_key_package(&self, reference: &[u8; 32]) -> Result<bool, StoreError> {
        self.write(|txn| groups::remove_key_package(txn, reference))
    }

    /// Keeps a message the user submitted until it is sent.
    pub fn put_outbox(&self, row: &OutboxRow) -> Result<(), StoreError> {
        self.write(|txn| groups::put_outbox(txn, row))
    }

    /// Drops a message from the outbox; `false` when it was not there.
    pub fn remove_outbox(&self, row: &OutboxRow) -> Result<bool, StoreError> {
        self.write(|txn| groups::remove_outbox(txn, row))
    }

    pub fn outbox(&self) -> Result<Vec<OutboxRow>, StoreError> {
        self.read(groups::outbox)
    }

    fn named(&self) -> Named<'_> {
        Named {
            path: &self.path,
            profile: &self.profile,
        }
    }

    /// Runs `op` in one read transaction.
    fn read<T>(&self, op: impl FnOnce(&ReadTxn) -> Result<T, Fault>) -> Result<T, StoreError> {
        self.guarded(|| {
            let txn = match &self.db {
                Handle::Writable(db) => db.begin_read()?,
                Handle::ReadOnly(db) => db.begin_read()?,
            };
            op(&ReadTxn::new(txn))
        })
    }

    /// Runs `op` in one write transaction and commits it if `op` succeeds.
    fn write<T>(&self, op: impl FnOnce(&WriteTxn) -> Result<T, Fault>) -> Result<T, StoreError> {
        self.write_with(Durability::Immediate, op)
    }

    fn write_with<T>(
        &self,
        durability: Durability,
        op: impl FnOnce(&WriteTxn) -> Result<T, Fault>,
    ) -> Result<T, StoreError> {
        let Handle::Writable(db) = &self.db else {
            return Err(self.named().fault(Fault::ReadOnly));
        };
        self.guarded(|| {
            let txn = WriteTxn::begin(db, durability)?;
            let out = op(&txn)?;
            txn.commit()?;
            Ok(out)
        })
    }

    /// Where every error of an operation gets the store's path, and where a panic of redb
    /// on damage the probe could not see becomes an error.
    fn guarded<T>(&self, op: impl FnOnce() -> Result<T, Fault>) -> Result<T, StoreError> {
        match catch_corruption(op) {
            Ok(outcome) => outcome.map_err(|fault| self.named().fault(fault)),
            Err(panic) => {
                tracing::warn!(path = %self.path.display(), %panic, "unreadable store");
                Err(self.named().corrupt("an internal structure is unreadable"))
            }
        }
    }
}
