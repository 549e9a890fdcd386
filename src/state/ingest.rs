//! The gate every fact passes before it is stored: nothing reaches the journal, in memory or
//! on disk, without a valid size, structure, id, signature, body and time.
//!
//! Checks run cheapest first, so that junk costs little: size, structure, id, time, body, and
//! the signature last.

use std::collections::{BTreeMap, HashMap};

use ed25519_dalek::VerifyingKey;

use super::codec::DecodeError;
use super::fact::{DeviceKey, Fact, FactId};
use super::hlc::ClockError;
use super::kinds::KnownBody;
use super::limits::MAX_FACT_BYTES;

/// Why a fact was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    #[error("the fact has {len} bytes, more than the limit of {MAX_FACT_BYTES}")]
    Oversized { len: usize },
    #[error("the fact is malformed: {0}")]
    Malformed(DecodeError),
    #[error("the fact's id is not the hash of its bytes")]
    IdMismatch,
    #[error("the fact's time is too far in the future: {0}")]
    FarFuture(ClockError),
    #[error("the fact's body does not fit its kind: {0}")]
    BadBody(DecodeError),
    #[error("the fact is not signed")]
    Unsigned,
    #[error("the fact's signature does not verify")]
    BadSignature,
}

/// A reason without its details: what rejections are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectKind {
    Oversized,
    Malformed,
    IdMismatch,
    FarFuture,
    BadBody,
    Unsigned,
    BadSignature,
}

impl RejectKind {
    pub const ALL: [RejectKind; 7] = [
        Self::Oversized,
        Self::Malformed,
        Self::IdMismatch,
        Self::FarFuture,
        Self::BadBody,
        Self::Unsigned,
        Self::BadSignature,
    ];

    /// A stable name, used as the counter's key in the store.
    pub fn name(self) -> &'static str {
        match self {
            Self::Oversized => "oversized",
            Self::Malformed => "malformed",
            Self::IdMismatch => "id_mismatch",
            Self::FarFuture => "far_future",
            Self::BadBody => "bad_body",
            Self::Unsigned => "unsigned",
            Self::BadSignature => "bad_signature",
        }
    }
}

impl RejectReason {
    pub fn kind(&self) -> RejectKind {
        match self {
            Self::Oversized { .. } => RejectKind::Oversized,
            Self::Malformed(_) => RejectKind::Malformed,
            Self::IdMismatch => RejectKind::IdMismatch,
            Self::FarFuture(_) => RejectKind::FarFuture,
            Self::BadBody(_) => RejectKind::BadBody,
            Self::Unsigned => RejectKind::Unsigned,
            Self::BadSignature => RejectKind::BadSignature,
        }
    }
}

/// Checks the encoding `bytes` of a fact received from anywhere. `claimed_id` is the id the
/// sender named it by, if any; `now_ms` is the local wall clock.
pub fn check(bytes: &[u8], claimed_id: Option<FactId>, now_ms: u64) -> Result<Fact, RejectReason> {
    let fact = decode(bytes, claimed_id)?;
    check_decoded(&fact, now_ms)?;
    Ok(fact)
}

/// The structural checks alone: size, encoding and id. A fact that passes and is already held
/// is a duplicate of bytes that passed every check, so it need not be verified again.
pub fn decode(bytes: &[u8], claimed_id: Option<FactId>) -> Result<Fact, RejectReason> {
    if bytes.len() > MAX_FACT_BYTES {
        return Err(RejectReason::Oversized { len: bytes.len() });
    }
    let fact = Fact::decode(bytes).map_err(RejectReason::Malformed)?;
    if claimed_id.is_some_and(|claimed| claimed != fact.id()) {
        return Err(RejectReason::IdMismatch);
    }
    Ok(fact)
}

/// Facts a batch must hold before its signatures are verified on several threads: below it,
/// starting threads costs more than it saves.
pub const PARALLEL_CHECK_MIN: usize = 256;
/// Threads one batch check uses at most.
pub const MAX_CHECK_THREADS: usize = 4;

/// The checks that do not need the encoding: for facts built or decoded locally.
pub fn check_decoded(fact: &Fact, now_ms: u64) -> Result<(), RejectReason> {
    check_with(fact, now_ms, &mut AuthorKeys::default())
}

/// [`check_decoded`] for every fact of a batch, in order. Signature verification dominates
/// the cost of ingest, so author keys are decompressed once per batch and large batches are
/// verified on several threads; the outcome is the same as checking one fact at a time.
pub fn check_batch(facts: &[Fact], now_ms: u64) -> Vec<Result<(), RejectReason>> {
    let check_all = |part: &[Fact]| {
        let mut keys = AuthorKeys::default();
        part.iter()
            .map(|fact| check_with(fact, now_ms, &mut keys))
            .collect::<Vec<_>>()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |count| count.get())
        .min(MAX_CHECK_THREADS);
    if threads <= 1 || facts.len() < PARALLEL_CHECK_MIN {
        return check_all(facts);
    }
    let parts: Vec<&[Fact]> = facts.chunks(facts.len().div_ceil(threads)).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| (*part, scope.spawn(move || check_all(part))))
            .collect();
        handles
            .into_iter()
            // A check that panicked on another thread is run again here, where it surfaces.
            .flat_map(|(part, handle)| handle.join().unwrap_or_else(|_| check_all(part)))
            .collect()
    })
}

/// Author keys decompressed so far; `None` for bytes that are not a valid key.
#[derive(Default)]
struct AuthorKeys(HashMap<DeviceKey, Option<VerifyingKey>>);

fn check_with(fact: &Fact, now_ms: u64, keys: &mut AuthorKeys) -> Result<(), RejectReason> {
    fact.time()
        .check_skew(now_ms)
        .map_err(RejectReason::FarFuture)?;
    KnownBody::parse(fact.kind(), fact.body()).map_err(RejectReason::BadBody)?;
    if fact.is_unsigned() {
        return Err(RejectReason::Unsigned);
    }
    let key = keys
        .0
        .entry(fact.author())
        .or_insert_with(|| VerifyingKey::from_bytes(fact.author().as_bytes()).ok());
    match key {
        Some(key) if fact.verify_signature_with(key).is_ok() => Ok(()),
        _ => Err(RejectReason::BadSignature),
    }
}

/// What one batch of ingestion did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Facts new to this replica, now stored.
    pub accepted: u64,
    /// Valid facts it already held.
    pub duplicates: u64,
    pub rejected: BTreeMap<RejectKind, u64>,
    /// Each rejected fact and why, so that whoever passed it on can be held to it.
    pub rejected_facts: Vec<(FactId, RejectKind)>,
}

impl IngestReport {
    pub fn reject(&mut self, reason: &RejectReason) {
        *self.rejected.entry(reason.kind()).or_insert(0) += 1;
    }

    /// [`IngestReport::reject`] for a fact whose id is known.
    pub fn reject_fact(&mut self, id: FactId, reason: &RejectReason) {
        self.reject(reason);
        self.rejected_facts.push((id, reason.kind()));
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    pub fn merge(&mut self, other: &IngestReport) {
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        for (kind, count) in &other.rejected {
            *self.rejected.entry(*kind).or_insert(0) += count;
        }
        self.rejected_facts.extend_from_slice(&other.rejected_facts);
    }
}
