//! The journal's tables.
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
//! Every view is a semilattice of fact contributions (see [`crate::state::view`]), so folding
//! a batch into the stored view gives the same result as reducing every fact again. Each batch
//! is one write transaction that stores the new facts *and* folds them into the views of their
//! contexts, so the stored views always reflect exactly the stored facts: there is no
//! watermark to keep consistent and nothing to replay at start, which only reads the view
//! rows. A checkpoint-and-replay design would need a watermark over `(time, id)`, but late
//! facts with old times arrive all the time during anti-entropy, so "everything after the
//! watermark" is not a range. The views are rebuilt from the facts only when the stored
//! [`VIEW_FORMAT`] differs from this build's; a store opened read-only, which is never
//! rebuilt, reduces them from the facts in memory instead.
//!
//! Facts are checked before the write transaction opens (signature verification is the slow
//! part), so a batch holds the store's write lock only for the inserts.

use std::collections::{BTreeMap, HashMap};

use redb::ReadableTable;

use crate::state::fact::{ContextId, Fact, FactId};
use crate::state::hlc::Hlc;
use crate::state::ingest::{self, IngestReport, RejectKind};
use crate::state::journal::Journal;
use crate::state::kinds;
use crate::state::view::{ContextView, VIEW_FORMAT};

use super::error::Fault;
use super::txn::{ReadTxn, TableSpec, WriteTxn};

pub(super) const FACTS: TableSpec<&[u8], &[u8]> =
    TableSpec::<&[u8], &[u8]>::new("journal_facts", check_fact);
pub(super) const IDS: TableSpec<&[u8], &[u8]> =
    TableSpec::<&[u8], &[u8]>::new("journal_ids", check_id);
pub(super) const VIEWS: TableSpec<&[u8], &[u8]> =
    TableSpec::<&[u8], &[u8]>::new("journal_views", check_view);

const VIEW_FORMAT_KEY: &str = "journal_view_format";
const REJECTED_PREFIX: &str = "journal_rejected.";
const CONTEXT_BYTES: usize = 32;
const TIME_BYTES: usize = 8;
/// Where a fact sits: its context and time, the prefix of its key.
const PLACE_BYTES: usize = CONTEXT_BYTES + TIME_BYTES;
const FACT_KEY_BYTES: usize = PLACE_BYTES + 32;

/// Structure only: re-hashing every fact to compare its id would make each open cost as much
/// as receiving the whole journal again.
fn check_fact(key: &[u8], value: &[u8]) -> Result<(), String> {
    if key.len() != FACT_KEY_BYTES {
        return Err(format!("a fact key has {} bytes", key.len()));
    }
    let (context, time) = Fact::check_encoding(value).map_err(|err| format!("fact: {err}"))?;
    if key[..PLACE_BYTES] != place(context, time) {
        return Err("a fact is stored under another context or time".to_owned());
    }
    Ok(())
}

fn check_id(key: &[u8], value: &[u8]) -> Result<(), String> {
    if key.len() != 32 || value.len() != PLACE_BYTES {
        return Err("a fact id row has the wrong length".to_owned());
    }
    Ok(())
}

fn check_view(key: &[u8], value: &[u8]) -> Result<(), String> {
    decode_view_row(key, value).map(drop)
}

fn decode_view_row(key: &[u8], value: &[u8]) -> Result<(ContextId, ContextView), String> {
    let context = ContextId(
        key.try_into()
            .map_err(|_| "a view key is not a context id".to_owned())?,
    );
    let view =
        ContextView::decode_summary(value).map_err(|err| format!("view of {context:?}: {err}"))?;
    Ok((context, view))
}

/// Migration 2: the view format the empty tables start at.
pub(super) fn start_view_format(txn: &WriteTxn) -> Result<(), Fault> {
    txn.set_meta(VIEW_FORMAT_KEY, VIEW_FORMAT)
}

fn place(context: ContextId, time: Hlc) -> [u8; PLACE_BYTES] {
    let mut place = [0u8; PLACE_BYTES];
    place[..CONTEXT_BYTES].copy_from_slice(&context.0);
    place[CONTEXT_BYTES..].copy_from_slice(&time.to_u64().to_be_bytes());
    place
}

fn fact_key(fact: &Fact) -> [u8; FACT_KEY_BYTES] {
    let mut key = [0u8; FACT_KEY_BYTES];
    key[..PLACE_BYTES].copy_from_slice(&place(fact.context(), fact.time()));
    key[PLACE_BYTES..].copy_from_slice(&fact.id().0);
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

fn decode_stored(bytes: &[u8]) -> Result<Fact, Fault> {
    Fact::decode(bytes).map_err(|err| Fault::Corrupt(format!("stored fact: {err}")))
}

/// Drops facts the store already holds, counting them as duplicates, so that they are not
/// verified again.
pub(super) fn without_known(
    txn: &ReadTxn,
    facts: Vec<Fact>,
    report: &mut IngestReport,
) -> Result<Vec<Fact>, Fault> {
    let ids = txn.table(&IDS)?;
    let mut fresh = Vec::with_capacity(facts.len());
    for fact in facts {
        if ids.get(fact.id().0.as_slice())?.is_some() {
            report.duplicates += 1;
        } else {
            fresh.push(fact);
        }
    }
    Ok(fresh)
}

/// The facts that pass the checks before storing; the others are counted in `report`.
pub(super) fn checked(facts: Vec<Fact>, now_ms: u64, report: &mut IngestReport) -> Vec<Fact> {
    let outcomes = ingest::check_batch(&facts, now_ms);
    let mut accepted = Vec::with_capacity(facts.len());
    for (fact, outcome) in facts.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => accepted.push(fact),
            Err(reason) => report.reject_fact(fact.id(), &reason),
        }
    }
    accepted
}

/// Stores checked facts, folds them into their contexts' views and counts the rejections.
pub(super) fn write_batch(
    txn: &WriteTxn,
    facts: &[Fact],
    report: &mut IngestReport,
) -> Result<(), Fault> {
    let mut fact_table = txn.table(&FACTS)?;
    let mut id_table = txn.table(&IDS)?;
    let mut view_table = txn.table(&VIEWS)?;
    let mut views: HashMap<ContextId, ContextView> = HashMap::new();
    for fact in facts {
        // The same fact twice in one batch: the first copy is already in the table.
        if id_table.get(fact.id().0.as_slice())?.is_some() {
            report.duplicates += 1;
            continue;
        }
        let key = fact_key(fact);
        fact_table.insert(key.as_slice(), fact.encode().as_slice())?;
        id_table.insert(fact.id().0.as_slice(), &key[..PLACE_BYTES])?;
        let view = match views.entry(fact.context()) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let stored = view_table.get(fact.context().0.as_slice())?;
                let view = match stored {
                    Some(bytes) => ContextView::decode_summary(bytes.value())
                        .map_err(|err| Fault::Corrupt(err.to_string()))?,
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
    for (kind, count) in &report.rejected {
        let key = format!("{REJECTED_PREFIX}{}", kind.name());
        let before = txn.meta(&key)?.unwrap_or(0);
        txn.set_meta(&key, before.saturating_add(*count))?;
    }
    Ok(())
}

pub(super) fn rejected_counts(txn: &ReadTxn) -> Result<BTreeMap<RejectKind, u64>, Fault> {
    let mut counts = BTreeMap::new();
    for kind in RejectKind::ALL {
        if let Some(count) = txn.meta(&format!("{REJECTED_PREFIX}{}", kind.name()))? {
            counts.insert(kind, count);
        }
    }
    Ok(counts)
}

pub(super) fn len(txn: &ReadTxn) -> Result<u64, Fault> {
    txn.table(&FACTS)?.len()
}

pub(super) fn fact(txn: &ReadTxn, id: &FactId) -> Result<Option<Fact>, Fault> {
    let ids = txn.table(&IDS)?;
    let Some(place) = ids.get(id.0.as_slice())? else {
        return Ok(None);
    };
    let mut key = place.value().to_vec();
    key.extend_from_slice(&id.0);
    let facts = txn.table(&FACTS)?;
    let bytes = facts
        .get(key.as_slice())?
        .ok_or_else(|| Fault::Corrupt("a fact id points at no fact".to_owned()))?;
    decode_stored(bytes.value()).map(Some)
}

/// Every fact of `context`, in `(time, id)` order.
pub(super) fn facts_of(txn: &ReadTxn, context: ContextId) -> Result<Vec<Fact>, Fault> {
    let mut out = Vec::new();
    scan(txn, Some(context), |fact| out.push(fact))?;
    Ok(out)
}

/// Stored facts passed every check when they were ingested, so they are not verified again.
pub(super) fn load(txn: &ReadTxn) -> Result<Journal, Fault> {
    let mut journal = Journal::new();
    scan(txn, None, |fact| {
        journal.insert_checked(fact);
    })?;
    Ok(journal)
}

/// The view of `context`: its stored view row, and the message log read from the fact table
/// in key order.
pub(super) fn context_view(txn: &ReadTxn, context: ContextId) -> Result<ContextView, Fault> {
    if views_stale(txn)? {
        let mut view = ContextView::default();
        scan(txn, Some(context), |fact| view.reduce(&fact))?;
        return Ok(view);
    }
    let mut view = match txn.table(&VIEWS)?.get(context.0.as_slice())? {
        Some(row) => {
            decode_view_row(&context.0, row.value())
                .map_err(Fault::Corrupt)?
                .1
        }
        None => ContextView::default(),
    };
    scan(txn, Some(context), |fact| {
        if fact.kind() == kinds::MESSAGE {
            view.reduce(&fact);
        }
    })?;
    Ok(view)
}

/// Every context's view without messages: what the agent loads at start.
pub(super) fn views(txn: &ReadTxn) -> Result<BTreeMap<ContextId, ContextView>, Fault> {
    if views_stale(txn)? {
        let mut views: BTreeMap<ContextId, ContextView> = BTreeMap::new();
        scan(txn, None, |fact| {
            views
                .entry(fact.context())
                .or_default()
                .reduce_summary(&fact);
        })?;
        return Ok(views);
    }
    let table = txn.table(&VIEWS)?;
    let mut views = BTreeMap::new();
    for row in table.iter()? {
        let (key, value) = row?;
        let (context, view) =
            decode_view_row(key.value(), value.value()).map_err(Fault::Corrupt)?;
        views.insert(context, view);
    }
    Ok(views)
}

/// Whether the stored views were written in another format than this build's.
pub(super) fn views_stale(txn: &ReadTxn) -> Result<bool, Fault> {
    Ok(txn.meta(VIEW_FORMAT_KEY)? != Some(VIEW_FORMAT))
}

/// Reduces every stored fact again into fresh view rows, within one write transaction.
pub(super) fn rebuild_views(txn: &WriteTxn) -> Result<(), Fault> {
    let mut views: BTreeMap<ContextId, ContextView> = BTreeMap::new();
    for row in txn.table(&FACTS)?.iter()? {
        let (_, value) = row?;
        let fact = decode_stored(value.value())?;
        views
            .entry(fact.context())
            .or_default()
            .reduce_summary(&fact);
    }
    let mut table = txn.emptied(&VIEWS)?;
    for (context, view) in &views {
        table.insert(context.0.as_slice(), view.encode_summary().as_slice())?;
    }
    txn.set_meta(VIEW_FORMAT_KEY, VIEW_FORMAT)
}

/// Calls `visit` with each stored fact of `context` (or of every context), in key order.
fn scan(
    txn: &ReadTxn,
    context: Option<ContextId>,
    mut visit: impl FnMut(Fact),
) -> Result<(), Fault> {
    let table = txn.table(&FACTS)?;
    let rows = match context.map(context_range) {
        None => table.iter()?,
        Some((start, Some(end))) => table.range(start.as_slice()..end.as_slice())?,
        Some((start, None)) => table.range(start.as_slice()..)?,
    };
    for row in rows {
        let (_, value) = row?;
        visit(decode_stored(value.value())?);
    }
    Ok(())
}
