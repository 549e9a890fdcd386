//! Journal benchmarks: batched ingest into redb, rebuilding views, and set reconciliation.
//!
//! `cargo bench --bench journal -- --quick`. The reconciliation set size defaults to one
//! million facts; `AURA_BENCH_RECONCILE_N` lowers it (building the sets dominates setup time).

// Tests and benchmarks measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aura::state::Store;
use aura::state::coordinator::CrdtCoordinator;
use aura::state::fact::{ContextId, DeviceKey, Fact};
use aura::state::hlc::Hlc;
use aura::state::journal::Journal;
use aura::state::kinds;
use aura::state::sync::reconcile_locally;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;

/// The wall clock the benchmarks pretend it is: 2026-01-01, in ms.
const NOW_MS: u64 = 1_767_225_600_000;
const INGEST_FACTS: usize = 20_000;
const INGEST_BATCHES: [usize; 2] = [1_000, 10_000];
const REBUILD_FACTS: usize = 100_000;
const RECONCILE_DIFFERENCES: usize = 1_000;
const DEFAULT_RECONCILE_N: usize = 1_000_000;

fn context() -> ContextId {
    ContextId([1; 32])
}

/// `count` message facts, one per millisecond, by four authors, with short bodies.
fn facts(count: usize, first_ms: u64) -> Vec<Fact> {
    let keys: Vec<SigningKey> = (1..=4u8)
        .map(|seed| SigningKey::from_bytes(&[seed; 32]))
        .collect();
    (0..count)
        .map(|index| {
            let at = Hlc::new(first_ms + index as u64, 0).expect("bench times fit");
            Fact::sign(
                &keys[index % keys.len()],
                context(),
                at,
                kinds::MESSAGE,
                format!("message number {index}").into_bytes(),
            )
            .expect("bench facts are small")
        })
        .collect()
}

fn ingest(c: &mut Criterion) {
    let encoded: Vec<Vec<u8>> = facts(INGEST_FACTS, NOW_MS - 10_000_000)
        .iter()
        .map(Fact::encode)
        .collect();
    let mut group = c.benchmark_group("journal_ingest");
    group.throughput(Throughput::Elements(INGEST_FACTS as u64));
    group.sample_size(10);
    // Each batch is one durable commit, so the batch size sets how far an fsync is amortized.
    for batch_size in INGEST_BATCHES {
        group.bench_function(format!("redb_batches_of_{batch_size}_verified"), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let store = Store::open(&dir.path().join("s.redb"), "bench").expect("store");
                    (dir, store)
                },
                |(dir, store)| {
                    for batch in encoded.chunks(batch_size) {
                        let report = store
                            .ingest_facts(
                                batch.iter().map(|bytes| (None, bytes.as_slice())),
                                NOW_MS,
                            )
                            .expect("ingest");
                        assert_eq!(report.accepted, batch.len() as u64);
                    }
                    (dir, store)
                },
                BatchSize::PerIteration,
            );
        });
    }
    // The same facts through the checks alone, to show what storing adds to verifying.
    let decoded: Vec<Fact> = encoded
        .iter()
        .map(|bytes| Fact::decode(bytes).expect("valid"))
        .collect();
    group.bench_function("checks_only_no_store", |b| {
        b.iter(|| black_box(aura::state::ingest::check_batch(&decoded, NOW_MS)));
    });
    group.finish();
}

fn rebuild(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("s.redb");
    let store = Store::open(&path, "bench").expect("store");
    let all = facts(REBUILD_FACTS, NOW_MS - 10_000_000);
    for batch in all.chunks(10_000) {
        store
            .ingest_decoded(batch.iter().cloned(), NOW_MS)
            .expect("ingest");
    }
    let journal = store.load_journal().expect("load");
    let mut group = c.benchmark_group("journal_views_100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(REBUILD_FACTS as u64));
    group.bench_function("store_rebuild_from_facts", |b| {
        b.iter(|| store.rebuild_journal_views().expect("rebuild"));
    });
    group.bench_function("store_load_at_start", |b| {
        b.iter(|| black_box(store.journal_views().expect("views")));
    });
    group.bench_function("store_message_log", |b| {
        b.iter(|| black_box(store.context_view(context()).expect("view")));
    });
    group.bench_function("memory_rebuild", |b| {
        b.iter(|| black_box(journal.rebuild_views()));
    });
    // What every start pays: the read-only probe of the whole file (every row decoded), redb's
    // checksum verification of every page, the lock and the schema check.
    drop(store);
    group.bench_function("store_open", |b| {
        b.iter(|| drop(Store::open(&path, "bench").expect("open")));
    });
    // What a command that only reads pays: the probe alone.
    group.bench_function("store_open_read_only", |b| {
        b.iter(|| drop(Store::open_read_only(&path, "bench").expect("open")));
    });
    group.finish();
}

fn reconcile(c: &mut Criterion) {
    let n: usize = std::env::var("AURA_BENCH_RECONCILE_N")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_RECONCILE_N);
    let started = Instant::now();
    let all = facts(n, NOW_MS - 100_000_000);
    let mut shared = Journal::new();
    for (index, fact) in all.iter().enumerate() {
        // Every (n / d)-th fact differs, alternating sides: differences spread over the range.
        if index % (n / RECONCILE_DIFFERENCES) != 0 {
            shared.ingest_fact(fact.clone(), NOW_MS).expect("valid");
        }
    }
    let mut left = shared.clone();
    let mut right = shared;
    for (turn, fact) in all.iter().step_by(n / RECONCILE_DIFFERENCES).enumerate() {
        let side = if turn % 2 == 0 { &mut left } else { &mut right };
        side.ingest_fact(fact.clone(), NOW_MS).expect("valid");
    }
    drop(all);
    eprintln!("reconcile setup: {n} facts in {:.1?}", started.elapsed());
    let device = DeviceKey([9; 32]);
    let pair = || {
        (
            CrdtCoordinator::with_cv_state(device, left.clone()),
            CrdtCoordinator::with_cv_state(device, right.clone()),
        )
    };
    let (a, b) = pair();
    let (_, _, report) = reconcile_locally(a, b, context(), NOW_MS).expect("reconcile");
    eprintln!(
        "reconcile n={n} d={RECONCILE_DIFFERENCES}: {} round trips, {} bytes sent + {} received \
         ({} frames); {} facts sent, {} received",
        report.round_trips,
        report.bytes_sent,
        report.bytes_received,
        report.frames_sent + report.frames_received,
        report.facts_sent,
        report.received.accepted
    );
    let mut group = c.benchmark_group("journal_reconcile");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function(format!("n{n}_d{RECONCILE_DIFFERENCES}"), |bench| {
        bench.iter_batched(
            pair,
            |(a, b)| reconcile_locally(a, b, context(), NOW_MS).expect("reconcile"),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, ingest, rebuild, reconcile);
criterion_main!(benches);
