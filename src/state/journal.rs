//! The journal in memory: a grow-only set of checked facts, and the views reduced from them.
//!
//! Join is set union, so two replicas that have seen the same facts hold the same journal,
//! whatever the order. Views are kept up to date fact by fact as facts arrive: each new fact is
//! reduced once, and a duplicate is never reduced again.

use std::collections::{BTreeMap, HashMap};

use super::fact::{ContextId, Fact, FactId};
use super::hlc::Hlc;
use super::ingest::{self, IngestReport, RejectReason};
use super::semilattice::Join;
use super::view::ContextView;

/// Where a fact sits in the journal's order.
pub type FactKey = (ContextId, Hlc, FactId);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Journal {
    facts: BTreeMap<FactKey, Fact>,
    by_id: HashMap<FactId, FactKey>,
    views: BTreeMap<ContextId, ContextView>,
}

impl Journal {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks and stores the encoded fact `bytes`; `Ok(false)` if it was already held.
    pub fn ingest(
        &mut self,
        bytes: &[u8],
        claimed_id: Option<FactId>,
        now_ms: u64,
    ) -> Result<bool, RejectReason> {
        let fact = ingest::decode(bytes, claimed_id)?;
        if self.by_id.contains_key(&fact.id()) {
            return Ok(false);
        }
        ingest::check_decoded(&fact, now_ms)?;
        Ok(self.insert_checked(fact))
    }

    /// Checks and stores a decoded fact, such as one this device just signed.
    pub fn ingest_fact(&mut self, fact: Fact, now_ms: u64) -> Result<bool, RejectReason> {
        if self.by_id.contains_key(&fact.id()) {
            return Ok(false);
        }
        ingest::check_decoded(&fact, now_ms)?;
        Ok(self.insert_checked(fact))
    }

    /// Ingests many encoded facts, counting what happened to each.
    pub fn ingest_batch<'a>(
        &mut self,
        batch: impl IntoIterator<Item = (Option<FactId>, &'a [u8])>,
        now_ms: u64,
    ) -> IngestReport {
        let mut report = IngestReport::default();
        for (claimed_id, bytes) in batch {
            match self.ingest(bytes, claimed_id, now_ms) {
                Ok(true) => report.accepted += 1,
                Ok(false) => report.duplicates += 1,
                Err(reason) => report.reject(&reason),
            }
        }
        report
    }

    pub fn contains(&self, id: &FactId) -> bool {
        self.by_id.contains_key(id)
    }

    pub fn get(&self, id: &FactId) -> Option<&Fact> {
        self.by_id.get(id).and_then(|key| self.facts.get(key))
    }

    pub fn len(&self) -> usize {
        self.facts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// Every fact, in `(context, time, id)` order.
    pub fn iter(&self) -> impl Iterator<Item = &Fact> {
        self.facts.values()
    }

    /// The facts of `context`, in `(time, id)` order.
    pub fn facts_of(&self, context: ContextId) -> impl Iterator<Item = &Fact> {
        let start = (context, Hlc::ZERO, FactId([0; 32]));
        self.facts
            .range(start..)
            .take_while(move |(key, _)| key.0 == context)
            .map(|(_, fact)| fact)
    }

    pub fn contexts(&self) -> impl Iterator<Item = &ContextId> {
        self.views.keys()
    }

    pub fn view(&self, context: &ContextId) -> Option<&ContextView> {
        self.views.get(context)
    }

    pub fn views(&self) -> &BTreeMap<ContextId, ContextView> {
        &self.views
    }

    /// The greatest time held, to resume a clock after it.
    pub fn latest_time(&self) -> Hlc {
        self.facts
            .keys()
            .map(|key| key.1)
            .max()
            .unwrap_or(Hlc::ZERO)
    }

    /// Reduces every fact again from nothing: what the incrementally kept views must equal.
    pub fn rebuild_views(&self) -> BTreeMap<ContextId, ContextView> {
        let mut views: BTreeMap<ContextId, ContextView> = BTreeMap::new();
        for fact in self.facts.values() {
            views.entry(fact.context()).or_default().reduce(fact);
        }
        views
    }

    /// Stores a fact that passed [`ingest`]'s checks; `false` if it was already held.
    pub(crate) fn insert_checked(&mut self, fact: Fact) -> bool {
        let key = (fact.context(), fact.time(), fact.id());
        if self.by_id.contains_key(&key.2) {
            return false;
        }
        self.views.entry(key.0).or_default().reduce(&fact);
        self.by_id.insert(key.2, key);
        self.facts.insert(key, fact);
        true
    }
}

impl Join for Journal {
    fn join(&self, other: &Self) -> Self {
        let mut merged = self.clone();
        merged.join_assign(other);
        merged
    }

    /// Both journals hold only checked facts, so the union needs no checks again.
    fn join_assign(&mut self, other: &Self) {
        for fact in other.facts.values() {
            if !self.contains(&fact.id()) {
                self.insert_checked(fact.clone());
            }
        }
    }
}
