//! The journal in redb: batches, views kept incrementally and loaded at start, and rejection
//! of bad facts without a trace in the stored facts or views (acceptance 5).

mod support;

use std::collections::BTreeMap;

use aura::state::Store;
use aura::state::fact::{ContextId, Fact, FactId};
use aura::state::hlc::MAX_FUTURE_SKEW_MS;
use aura::state::ingest::{RejectKind, RejectReason};
use aura::state::journal::Journal;
use aura::state::kinds::{self, KnownBody};
use aura::state::limits::MAX_FACT_BYTES;
use aura::state::view::ContextView;
use redb::{ReadableDatabase, ReadableTableMetadata, TableDefinition};
use support::{NOW_MS, context, device, key, known, messages, sign, time};

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("store.redb"), "p").unwrap()
}

/// Everything the journal tables hold, as the public API shows it.
#[derive(Debug, PartialEq)]
struct Contents {
    len: u64,
    facts: Vec<Vec<u8>>,
    views: BTreeMap<ContextId, ContextView>,
}

fn contents(store: &Store, contexts: &[ContextId]) -> Contents {
    Contents {
        len: store.journal_len().unwrap(),
        facts: contexts
            .iter()
            .flat_map(|ctx| store.journal_facts_of(*ctx).unwrap())
            .map(|fact| fact.encode())
            .collect(),
        views: store.journal_views().unwrap(),
    }
}

fn mixed_facts() -> Vec<Fact> {
    let mut facts = messages(context(1), NOW_MS - 5_000, 40);
    facts.extend(messages(context(2), NOW_MS - 5_000, 10));
    let add = known(
        &key(1),
        context(1),
        time(NOW_MS - 100, 0),
        KnownBody::MemberAdd { member: device(9) },
    );
    facts.push(known(
        &key(1),
        context(1),
        time(NOW_MS - 50, 0),
        KnownBody::GroupName("lunch".into()),
    ));
    facts.push(known(
        &key(2),
        context(2),
        time(NOW_MS - 40, 0),
        KnownBody::MemberRemove {
            member: device(9),
            tags: vec![add.id()],
        },
    ));
    facts.push(add);
    facts
}

#[test]
fn batches_persist_and_views_load_at_start_equal_to_memory() {
    let dir = tempfile::tempdir().unwrap();
    let facts = mixed_facts();
    let mut memory = Journal::new();
    for fact in &facts {
        memory.ingest_fact(fact.clone(), NOW_MS).unwrap();
    }
    {
        let store = open(&dir);
        let encoded: Vec<Vec<u8>> = facts.iter().map(Fact::encode).collect();
        let (first, second) = encoded.split_at(20);
        let report = store
            .ingest_facts(first.iter().map(|bytes| (None, bytes.as_slice())), NOW_MS)
            .unwrap();
        assert_eq!(report.accepted, 20);
        // The second batch repeats the first: duplicates are counted, not stored twice.
        let report = store
            .ingest_facts(encoded.iter().map(|bytes| (None, bytes.as_slice())), NOW_MS)
            .unwrap();
        assert_eq!(
            (report.accepted, report.duplicates),
            (second.len() as u64, 20)
        );
    }
    let store = open(&dir);
    assert_eq!(store.journal_len().unwrap(), facts.len() as u64);
    let loaded = store.journal_views().unwrap();
    let expected: BTreeMap<_, _> = memory
        .views()
        .iter()
        .map(|(ctx, view)| (*ctx, view.without_messages()))
        .collect();
    assert_eq!(loaded, expected);
    for ctx in [context(1), context(2)] {
        assert_eq!(
            &store.context_view(ctx).unwrap(),
            memory.view(&ctx).unwrap()
        );
        let ids: Vec<FactId> = store
            .journal_facts_of(ctx)
            .unwrap()
            .iter()
            .map(Fact::id)
            .collect();
        let expected: Vec<FactId> = memory.facts_of(ctx).map(Fact::id).collect();
        assert_eq!(ids, expected, "facts come back in (time, id) order");
    }
    assert_eq!(store.load_journal().unwrap(), memory);
    assert_eq!(
        store.journal_fact(&facts[3].id()).unwrap().as_ref(),
        Some(&facts[3])
    );
    // Rebuilding from the facts gives exactly the views kept batch by batch.
    store.rebuild_journal_views().unwrap();
    assert_eq!(store.journal_views().unwrap(), loaded);
}

#[test]
fn views_of_another_format_are_rebuilt_at_open() {
    const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
    const VIEWS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("journal_views");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let expected = {
        let store = open(&dir);
        store.ingest_decoded(mixed_facts(), NOW_MS).unwrap();
        store.journal_views().unwrap()
    };
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("journal_view_format", 0)
            .unwrap();
        txn.open_table(VIEWS).unwrap().retain(|_, _| false).unwrap();
        txn.commit().unwrap();
        let read = db.begin_read().unwrap();
        assert!(read.open_table(VIEWS).unwrap().is_empty().unwrap());
    }
    let store = open(&dir);
    assert_eq!(store.journal_views().unwrap(), expected);
}

#[test]
fn views_of_another_format_are_reduced_from_the_facts_when_read_only() {
    const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
    const VIEWS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("journal_views");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let (views, named) = {
        let store = open(&dir);
        store.ingest_decoded(mixed_facts(), NOW_MS).unwrap();
        (
            store.journal_views().unwrap(),
            store.context_view(context(1)).unwrap(),
        )
    };
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("journal_view_format", 0)
            .unwrap();
        txn.open_table(VIEWS).unwrap().retain(|_, _| false).unwrap();
        txn.commit().unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    {
        let store = Store::open_read_only(&path, "p").unwrap();
        assert_eq!(store.journal_views().unwrap(), views);
        assert_eq!(store.context_view(context(1)).unwrap(), named);
    }
    assert!(
        std::fs::read(&path).unwrap() == before,
        "the file was changed"
    );
}

/// A valid fact's encoding with one byte of the body flipped.
fn tampered() -> Vec<u8> {
    let fact = messages(context(1), NOW_MS - 10, 1).remove(0);
    let mut bytes = fact.encode();
    let body_at = bytes.len() - 64 - 1;
    bytes[body_at] ^= 0x01;
    bytes
}

fn unsigned() -> Vec<u8> {
    let fact = messages(context(1), NOW_MS - 20, 1).remove(0);
    let mut bytes = fact.encode();
    let len = bytes.len();
    bytes[len - 64..].fill(0);
    bytes
}

fn oversized() -> Vec<u8> {
    let mut bytes = messages(context(1), NOW_MS - 30, 1).remove(0).encode();
    bytes.resize(MAX_FACT_BYTES + 1, 0);
    bytes
}

fn far_future() -> Vec<u8> {
    let at = time(NOW_MS + MAX_FUTURE_SKEW_MS + 1_000, 0);
    sign(
        &key(1),
        context(1),
        at,
        kinds::MESSAGE,
        b"from the future".to_vec(),
    )
    .encode()
}

fn bad_body() -> Vec<u8> {
    // A member add must name exactly one 32-byte key.
    sign(
        &key(1),
        context(1),
        time(NOW_MS - 5, 0),
        kinds::MEMBER_ADD,
        vec![1, 2, 3],
    )
    .encode()
}

#[test]
fn bad_facts_are_rejected_with_their_reason_and_leave_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.ingest_decoded(mixed_facts(), NOW_MS).unwrap();
    let contexts = [context(1), context(2)];
    let before = contents(&store, &contexts);

    let good = messages(context(1), NOW_MS - 10, 1).remove(0);
    let cases: Vec<(Vec<u8>, Option<FactId>, RejectKind)> = vec![
        (tampered(), None, RejectKind::BadSignature),
        (tampered(), Some(good.id()), RejectKind::IdMismatch),
        (unsigned(), None, RejectKind::Unsigned),
        (oversized(), None, RejectKind::Oversized),
        (far_future(), None, RejectKind::FarFuture),
        (bad_body(), None, RejectKind::BadBody),
        (good.encode()[..50].to_vec(), None, RejectKind::Malformed),
    ];
    for (bytes, claimed, expected) in &cases {
        // The pure check names the reason…
        let reason = aura::state::ingest::check(bytes, *claimed, NOW_MS).unwrap_err();
        assert_eq!(reason.kind(), *expected, "{reason}");
        // …the in-memory journal refuses it…
        let mut journal = Journal::new();
        assert_eq!(
            journal
                .ingest(bytes, *claimed, NOW_MS)
                .map_err(|r| r.kind()),
            Err(*expected)
        );
        assert!(journal.is_empty());
        // …and the store counts it and stores nothing.
        let report = store
            .ingest_facts([(*claimed, bytes.as_slice())], NOW_MS)
            .unwrap();
        assert_eq!(report.accepted, 0);
        assert_eq!(report.rejected.get(expected), Some(&1), "{expected:?}");
        assert_eq!(
            contents(&store, &contexts),
            before,
            "{expected:?} changed the store"
        );
    }
    let counts = store.rejected_counts().unwrap();
    assert_eq!(counts.values().sum::<u64>(), cases.len() as u64);
    assert_eq!(counts.get(&RejectKind::BadSignature), Some(&1));
    drop(store);
    let store = open(&dir);
    assert_eq!(contents(&store, &contexts), before);
    assert_eq!(
        store.rejected_counts().unwrap(),
        counts,
        "counters survive a restart"
    );
}

#[test]
fn a_far_future_reason_names_the_skew() {
    let reason = aura::state::ingest::check(&far_future(), None, NOW_MS).unwrap_err();
    assert!(matches!(reason, RejectReason::FarFuture(_)));
    assert!(
        reason.to_string().contains("ahead of the local clock"),
        "{reason}"
    );
}

#[test]
fn a_batch_check_agrees_with_checking_one_fact_at_a_time() {
    use aura::state::ingest::{PARALLEL_CHECK_MIN, check_batch, check_decoded};
    let mut facts = messages(context(3), NOW_MS - 50_000, PARALLEL_CHECK_MIN + 44);
    for (position, bytes) in [
        (7, tampered()),
        (150, unsigned()),
        (290, far_future()),
        (3, bad_body()),
    ] {
        facts.insert(position, Fact::decode(&bytes).unwrap());
    }
    let one_by_one: Vec<_> = facts
        .iter()
        .map(|fact| check_decoded(fact, NOW_MS))
        .collect();
    assert_eq!(check_batch(&facts, NOW_MS), one_by_one);
    assert_eq!(
        one_by_one.iter().filter(|outcome| outcome.is_err()).count(),
        4
    );
}

#[test]
fn a_large_mixed_batch_stores_exactly_its_good_facts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let good = messages(context(4), NOW_MS - 90_000, 700);
    let mut batch: Vec<Vec<u8>> = good.iter().map(Fact::encode).collect();
    batch.insert(10, tampered());
    batch.insert(400, unsigned());
    batch.insert(650, good[5].encode());
    let report = store
        .ingest_facts(batch.iter().map(|bytes| (None, bytes.as_slice())), NOW_MS)
        .unwrap();
    assert_eq!(report.accepted, good.len() as u64);
    assert_eq!(report.duplicates, 1);
    assert_eq!(report.rejected_total(), 2);
    let stored: Vec<FactId> = store
        .journal_facts_of(context(4))
        .unwrap()
        .iter()
        .map(Fact::id)
        .collect();
    let mut expected: Vec<FactId> = good.iter().map(Fact::id).collect();
    expected.sort_by_key(|id| {
        (
            good.iter().find(|fact| fact.id() == *id).unwrap().time(),
            *id,
        )
    });
    assert_eq!(stored, expected);
}

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Batch by batch, in any order and with repeats, the stored views are the same.
    #[test]
    fn stored_views_do_not_depend_on_batches_or_order(
        order in Just((0..mixed_facts().len()).collect::<Vec<_>>())
            .prop_shuffle(),
        cuts in proptest::collection::vec(0usize..60, 0..4),
        repeats in proptest::collection::vec(0usize..53, 0..8),
    ) {
        let facts = mixed_facts();
        let mut sequence: Vec<Vec<u8>> = order.iter().map(|index| facts[*index].encode()).collect();
        sequence.extend(repeats.iter().map(|index| facts[index % facts.len()].encode()));
        let mut cuts: Vec<usize> = cuts.into_iter().map(|cut| cut.min(sequence.len())).collect();
        cuts.sort_unstable();
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let mut start = 0;
        for end in cuts.into_iter().chain([sequence.len()]) {
            store
                .ingest_facts(sequence[start..end].iter().map(|bytes| (None, bytes.as_slice())), NOW_MS)
                .unwrap();
            start = end;
        }
        let mut memory = Journal::new();
        for fact in &facts {
            memory.ingest_fact(fact.clone(), NOW_MS).unwrap();
        }
        for ctx in [context(1), context(2)] {
            prop_assert_eq!(&store.context_view(ctx).unwrap(), memory.view(&ctx).unwrap());
        }
    }
}
