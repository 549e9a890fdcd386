//! The journal in the profile's redb store.
//!
//! # Tables
//!
//! | table | key | value |
//! |---|---|---|
//! | `journal_facts` | context (32) · time (8, packed HLC, big-endian) · id (32) | canonical encoding |
//! | `journal_ids` | id (32) | context (32) · time (8) |
//! | `journal_views` | context (32) | the context's view without messages ([`ContextView::encode_summary`]) |
//!
//! Keys are big-endian, so a range scan of `journal_facts` walks a context in `(time, id)`
//! order: that scan is the message log, which therefore needs no table of its own.
//!
//! # Why views are stored incrementally
//!
//! Every view is a semilattice of fact contributions (see [`super::view`]), so folding a batch
//! into the stored view gives the same result as reducing every fact again. Each batch is one
//! write transaction that stores the new facts *and* folds them into the views of their
//! contexts, so the stored views always reflect exactly the stored facts: there is no
//! watermark to keep consistent and nothing to replay at start, which only reads the view
//! rows. A checkpoint-and-replay design would need a watermark over `(time, id)`, but late
//! facts with old times arrive all the time during anti-entropy, so "everything after the
//! watermark" is not a range. The views are rebuilt from the facts only when the stored
//! [`VIEW_FORMAT`] differs from this build's.
//!
//! Facts are checked before the write transaction opens (signature verification is the slow
//! part), so a batch holds the store's write lock only for the inserts.

use std::collections::{BTreeMap, HashMap};

use redb::{Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::fact::{ContextId, Fact, FactId};
use super::hlc::Hlc;
use super::ingest::{self, IngestReport, RejectKind};
use super::journal::Journal;
use super::store::{META, Store, StoreError};
use super::view::{ContextView, VIEW_FORMAT};

pub(super) const FACTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("journal_facts");
pub(super) const IDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("journal_ids");
pub(super) const VIEWS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("journal_views");

const VIEW_FORMAT_KEY: &str = "journal_view_format";
const REJECTED_PREFIX: &str = "journal_rejected.";
const FACT_KEY_BYTES: usize = 32 + 8 + 32;

/// Migration 2: the journal's tables, and the view format they start at.
pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(FACTS)?;
    txn.open_table(IDS)?;
    txn.open_table(VIEWS)?;
    txn.open_table(META)?.insert(VIEW_FORMAT_KEY, VIEW_FORMAT)?;
    Ok(())
}

fn fact_key(context: ContextId, time: Hlc, id: FactId) -> [u8; FACT_KEY_BYTES] {
    let mut key = [0u8; FACT_KEY_BYTES];
    key[..32].copy_from_slice(&context.0);
    key[32..40].copy_from_slice(&time.to_u64().to_be_bytes());
    key[40..].copy_from_slice(&id.0);
    key
}

/// The first and one-past-last keys of a context's facts.
fn context_range(context: ContextId) -> ([u8; 32], Option<[u8; 32]>) {
    let start = context.0;
    let mut end = context.0;
    // The next context id in byte order; none after the all-ones id.
    for byte in end.iter_mut().rev() {
        if *byte == u8::MAX {
            *byte = 0;
        } else {
            *byte += 1;
            return (start, Some(end));
        }
    }
    (start, None)
}

impl Store {
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
        self.store_checked(
            facts.into_iter().collect(),
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
        self.store_checked(
            facts.into_iter().collect(),
            now_ms,
            IngestReport::default(),
            Durability::None,
        )
    }

    fn store_checked(
        &self,
        facts: Vec<Fact>,
        now_ms: u64,
        mut report: IngestReport,
        durability: Durability,
    ) -> Result<IngestReport, StoreError> {
        let fresh = self.without_known(facts, &mut report)?;
        let outcomes = ingest::check_batch(&fresh, now_ms);
        let mut accepted = Vec::with_capacity(fresh.len());
        for (fact, outcome) in fresh.into_iter().zip(outcomes) {
            match outcome {
                Ok(()) => accepted.push(fact),
                Err(reason) => report.reject_fact(fact.id(), &reason),
            }
        }
        let mut txn = self.database().begin_write().map_err(|err| self.err(err))?;
        txn.set_durability(durability)
            .map_err(|err| self.err(err))?;
        self.write_batch(&txn, &accepted, &mut report)
            .map_err(|err| self.err(err))?;
        txn.commit().map_err(|err| self.err(err))?;
        Ok(report)
    }

    /// Drops facts the store already holds, counting them as duplicates, so that they are
    /// not verified again.
    fn without_known(
        &self,
        facts: Vec<Fact>,
        report: &mut IngestReport,
    ) -> Result<Vec<Fact>, StoreError> {
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let ids = txn.open_table(IDS).map_err(|err| self.err(err))?;
        let mut fresh = Vec::with_capacity(facts.len());
        for fact in facts {
            if ids
                .get(fact.id().0.as_slice())
                .map_err(|err| self.err(err))?
                .is_some()
            {
                report.duplicates += 1;
            } else {
                fresh.push(fact);
            }
        }
        Ok(fresh)
    }

    fn write_batch(
        &self,
        txn: &WriteTransaction,
        facts: &[Fact],
        report: &mut IngestReport,
    ) -> Result<(), redb::Error> {
        let mut fact_table = txn.open_table(FACTS)?;
        let mut id_table = txn.open_table(IDS)?;
        let mut view_table = txn.open_table(VIEWS)?;
        let mut views: HashMap<ContextId, ContextView> = HashMap::new();
        for fact in facts {
            // The same fact twice in one batch: the first copy is already in the table.
            if id_table.get(fact.id().0.as_slice())?.is_some() {
                report.duplicates += 1;
                continue;
            }
            let key = fact_key(fact.context(), fact.time(), fact.id());
            fact_table.insert(key.as_slice(), fact.encode().as_slice())?;
            id_table.insert(fact.id().0.as_slice(), &key[..40])?;
            let view = match views.entry(fact.context()) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    let stored = view_table.get(fact.context().0.as_slice())?;
                    let view = match stored {
                        Some(bytes) => ContextView::decode_summary(bytes.value())
                            .map_err(|err| redb::Error::Corrupted(err.to_string()))?,
                        None => ContextView::default(),
                    };
                    entry.insert(view)
                }
            };
            view.reduce_summary(fact);
            report.accepted += 1;
        }
        for (context, view) in views {
            view_table.insert(context.0.as_slice(), view.encode_summary().as_slice())?;
        }
        let mut meta = txn.open_table(META)?;
        for (kind, count) in &report.rejected {
            let key = format!("{REJECTED_PREFIX}{}", kind.name());
            let before = meta
                .get(key.as_str())?
                .map(|guard| guard.value())
                .unwrap_or(0);
            meta.insert(key.as_str(), before.saturating_add(*count))?;
        }
        Ok(())
    }

    /// How many facts of each rejection reason this store has refused, ever.
    pub fn rejected_counts(&self) -> Result<BTreeMap<RejectKind, u64>, StoreError> {
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let meta = txn.open_table(META).map_err(|err| self.err(err))?;
        let mut counts = BTreeMap::new();
        for kind in RejectKind::ALL {
            let key = format!("{REJECTED_PREFIX}{}", kind.name());
            if let Some(count) = meta.get(key.as_str()).map_err(|err| self.err(err))? {
                counts.insert(kind, count.value());
            }
        }
        Ok(counts)
    }

    pub fn journal_len(&self) -> Result<u64, StoreError> {
        use redb::ReadableTableMetadata;
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let table = txn.open_table(FACTS).map_err(|err| self.err(err))?;
        table.len().map_err(|err| self.err(err))
    }

    pub fn journal_fact(&self, id: &FactId) -> Result<Option<Fact>, StoreError> {
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let ids = txn.open_table(IDS).map_err(|err| self.err(err))?;
        let Some(prefix) = ids.get(id.0.as_slice()).map_err(|err| self.err(err))? else {
            return Ok(None);
        };
        let mut key = prefix.value().to_vec();
        key.extend_from_slice(&id.0);
        let facts = txn.open_table(FACTS).map_err(|err| self.err(err))?;
        let bytes = facts
            .get(key.as_slice())
            .map_err(|err| self.err(err))?
            .ok_or_else(|| self.corrupt("a fact id points at no fact"))?;
        self.decode_stored(bytes.value()).map(Some)
    }

    /// Every fact of `context`, in `(time, id)` order.
    pub fn journal_facts_of(&self, context: ContextId) -> Result<Vec<Fact>, StoreError> {
        let mut out = Vec::new();
        self.scan_facts(Some(context), |fact| out.push(fact))?;
        Ok(out)
    }

    /// The whole journal in memory, for anti-entropy. Stored facts passed every check when
    /// they were ingested, so they are not verified again.
    pub fn load_journal(&self) -> Result<Journal, StoreError> {
        let mut journal = Journal::new();
        self.scan_facts(None, |fact| {
            journal.insert_checked(fact);
        })?;
        Ok(journal)
    }

    /// The view of `context`: the stored view row, and the message log read from the fact
    /// table in key order.
    pub fn context_view(&self, context: ContextId) -> Result<ContextView, StoreError> {
        let mut view = self.journal_view_row(context)?;
        self.scan_facts(Some(context), |fact| {
            if fact.kind() == super::kinds::MESSAGE {
                view.reduce(&fact);
            }
        })?;
        Ok(view)
    }

    fn journal_view_row(&self, context: ContextId) -> Result<ContextView, StoreError> {
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let table = txn.open_table(VIEWS).map_err(|err| self.err(err))?;
        let row = table
            .get(context.0.as_slice())
            .map_err(|err| self.err(err))?;
        match row {
            Some(bytes) => ContextView::decode_summary(bytes.value())
                .map_err(|err| self.corrupt(&format!("view of {context:?}: {err}"))),
            None => Ok(ContextView::default()),
        }
    }

    /// Every context's stored view without messages: what the agent loads at start.
    pub fn journal_views(&self) -> Result<BTreeMap<ContextId, ContextView>, StoreError> {
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let table = txn.open_table(VIEWS).map_err(|err| self.err(err))?;
        let mut views = BTreeMap::new();
        for entry in table.iter().map_err(|err| self.err(err))? {
            let (key, value) = entry.map_err(|err| self.err(err))?;
            let context = ContextId(
                key.value()
                    .try_into()
                    .map_err(|_| self.corrupt("a view key is not a context id"))?,
            );
            let view = ContextView::decode_summary(value.value())
                .map_err(|err| self.corrupt(&format!("view of {context:?}: {err}")))?;
            views.insert(context, view);
        }
        Ok(views)
    }

    /// Reduces every stored fact again into fresh view rows, in one write transaction.
    pub fn rebuild_journal_views(&self) -> Result<(), StoreError> {
        let mut views: BTreeMap<ContextId, ContextView> = BTreeMap::new();
        self.scan_facts(None, |fact| {
            views
                .entry(fact.context())
                .or_default()
                .reduce_summary(&fact);
        })?;
        let txn = self.database().begin_write().map_err(|err| self.err(err))?;
        {
            let mut table = txn.open_table(VIEWS).map_err(|err| self.err(err))?;
            table.retain(|_, _| false).map_err(|err| self.err(err))?;
            for (context, view) in &views {
                table
                    .insert(context.0.as_slice(), view.encode_summary().as_slice())
                    .map_err(|err| self.err(err))?;
            }
            let mut meta = txn.open_table(META).map_err(|err| self.err(err))?;
            meta.insert(VIEW_FORMAT_KEY, VIEW_FORMAT)
                .map_err(|err| self.err(err))?;
        }
        txn.commit().map_err(|err| self.err(err))
    }

    /// Rebuilds the views if they were written in another format than this build's.
    pub(super) fn ensure_journal_views(&self) -> Result<(), StoreError> {
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let meta = txn.open_table(META).map_err(|err| self.err(err))?;
        let format = meta
            .get(VIEW_FORMAT_KEY)
            .map_err(|err| self.err(err))?
            .map(|guard| guard.value());
        drop(meta);
        drop(txn);
        if format != Some(VIEW_FORMAT) {
            tracing::info!(?format, VIEW_FORMAT, "rebuilding journal views");
            self.rebuild_journal_views()?;
        }
        Ok(())
    }

    /// Calls `visit` with each stored fact of `context` (or of every context), in key order.
    fn scan_facts(
        &self,
        context: Option<ContextId>,
        mut visit: impl FnMut(Fact),
    ) -> Result<(), StoreError> {
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let table = txn.open_table(FACTS).map_err(|err| self.err(err))?;
        let range = match context.map(context_range) {
            None => table.iter(),
            Some((start, Some(end))) => table.range(start.as_slice()..end.as_slice()),
            Some((start, None)) => table.range(start.as_slice()..),
        }
        .map_err(|err| self.err(err))?;
        for entry in range {
            let (_, value) = entry.map_err(|err| self.err(err))?;
            visit(self.decode_stored(value.value())?);
        }
        Ok(())
    }

    fn decode_stored(&self, bytes: &[u8]) -> Result<Fact, StoreError> {
        Fact::decode(bytes).map_err(|err| self.corrupt(&format!("stored fact: {err}")))
    }
}
