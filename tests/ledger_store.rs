//! The leakage and receive ledgers on a real redb file: what a restart must not refill or
//! forget, wrong rows refused as damage, and a store of schema v4 migrated.

mod support;

use std::path::{Path, PathBuf};

use aura::state::flow_budget::FlowBudgets;
use aura::state::leakage::{
    LeakageCost, LeakageDenial, LeakageLedger, LeakagePolicy, MessageClass, Relationship, Timing,
    leakage_cost,
};
use aura::state::receive_budget::{OverBudget, PeerCounters, ReceiveLedger, Verdict};
use aura::state::store::{SCHEMA_VERSION, Store, StoreError};
use redb::{ReadableDatabase, TableDefinition, TableHandle};
use support::{context, device};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const LEAKAGE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("leakage_budgets");
const RECEIVE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("receive_counters");
const KNOWN_ADDRS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("net_known_addrs");

fn store_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("store.redb")
}

fn policy() -> LeakagePolicy {
    LeakagePolicy {
        default_limit: LeakageCost {
            external: 8,
            neighbour: 8,
            group: 10,
        },
        optional_reserve_percent: 50,
    }
}

fn group_message() -> LeakageCost {
    leakage_cost(10, Timing::Batched, Relationship::Group).unwrap()
}

#[test]
fn an_empty_store_loads_empty_ledgers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&store_path(&dir), "p").unwrap();
    assert_eq!(
        store.load_leakage(policy()).unwrap(),
        LeakageLedger::new(policy())
    );
    assert_eq!(
        store.load_receive_ledger(OverBudget::Drop, 3).unwrap(),
        ReceiveLedger::new(OverBudget::Drop, 3)
    );
}

#[test]
fn a_leakage_spend_within_the_epoch_is_still_spent_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let cost = group_message();
    let mut ledger = LeakageLedger::new(policy());
    for _ in 0..7 {
        ledger
            .charge(context(1), 4, &cost, MessageClass::Essential)
            .unwrap();
    }
    ledger
        .charge(
            context(2),
            4,
            &leakage_cost(10, Timing::Immediate, Relationship::External).unwrap(),
            MessageClass::Essential,
        )
        .unwrap();
    {
        let store = Store::open(&path, "p").unwrap();
        store.save_leakage(&ledger).unwrap();
    }
    let store = Store::open(&path, "p").unwrap();
    let mut loaded = store.load_leakage(policy()).unwrap();
    assert_eq!(loaded, ledger);
    assert_eq!(loaded.get(context(1), 4).spent.group, 7);
    assert_eq!(loaded.get(context(2), 4).spent.external, 4);
    // The restart did not refill the budget: three units are left, not ten.
    for _ in 0..3 {
        loaded
            .charge(context(1), 4, &cost, MessageClass::Essential)
            .unwrap();
    }
    assert!(matches!(
        loaded.charge(context(1), 4, &cost, MessageClass::Essential),
        Err(LeakageDenial::Exhausted { retry_epoch: 5, .. })
    ));
    // The next epoch refills it as usual.
    loaded
        .charge(context(1), 5, &cost, MessageClass::Essential)
        .unwrap();
}

#[test]
fn only_the_latest_epochs_leakage_spend_is_kept_and_limits_survive() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let cost = group_message();
    let tight = LeakageCost {
        external: 1,
        neighbour: 1,
        group: 4,
    };
    let mut ledger = LeakageLedger::new(policy());
    ledger.set_limit(context(1), 2, tight);
    ledger
        .charge(context(1), 2, &cost, MessageClass::Essential)
        .unwrap();
    ledger
        .charge(context(2), 6, &cost, MessageClass::Essential)
        .unwrap();
    {
        let store = Store::open(&path, "p").unwrap();
        store.save_leakage(&ledger).unwrap();
    }
    // On disk, the older context's row is moved to epoch 6 with nothing spent.
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(LEAKAGE).unwrap();
        let row = table.get(context(1).0.as_slice()).unwrap().unwrap();
        let words: Vec<u64> = row
            .value()
            .chunks(8)
            .map(|word| u64::from_be_bytes(word.try_into().unwrap()))
            .collect();
        assert_eq!(words, [6, 1, 1, 4, 0, 0, 0]);
    }
    let store = Store::open(&path, "p").unwrap();
    let loaded = store.load_leakage(policy()).unwrap();
    // Epoch 2's spend is history; the context's own limit is not.
    let old = loaded.get(context(1), 6);
    assert_eq!(old, ledger.get(context(1), 6));
    assert_eq!(
        (old.epoch, old.limit, old.spent),
        (6, tight, LeakageCost::default())
    );
    assert_eq!(loaded.get(context(2), 6), ledger.get(context(2), 6));
    assert_eq!(loaded.get(context(2), 6).spent.group, 1);
    // A context never charged still gets the policy's default.
    assert_eq!(loaded.get(context(3), 6).limit, policy().default_limit);
}

#[test]
fn receive_counters_survive_a_reopen_and_a_flooder_stays_over_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let (flooder, quiet) = (device(1), device(2));
    let mut ledger = ReceiveLedger::new(OverBudget::Drop, 3);
    ledger.set_limit(flooder, 5);
    for _ in 0..8 {
        ledger.receive(flooder, 1, 7);
    }
    ledger.receive(quiet, 2, 6);
    {
        let store = Store::open(&path, "p").unwrap();
        store.save_receive_ledger(&ledger).unwrap();
    }
    let store = Store::open(&path, "p").unwrap();
    let mut loaded = store.load_receive_ledger(OverBudget::Drop, 3).unwrap();
    assert_eq!(loaded, ledger);
    assert_eq!(
        loaded.counters(&flooder),
        Some(PeerCounters {
            epoch: 7,
            limit: 5,
            spent: 5,
            accepted: 5,
            dropped: 3,
            delayed: 0,
        })
    );
    // Still over budget within the epoch, and the totals keep counting.
    assert_eq!(loaded.receive(flooder, 1, 7), Verdict::Drop);
    assert_eq!(loaded.counters(&flooder).unwrap().dropped, 4);
    assert_eq!(loaded.receive(flooder, 1, 8), Verdict::Accept);
    assert_eq!(loaded.counters(&quiet).unwrap().spent, 2);
    // A peer first seen after the restart gets the default limit passed at load.
    let mut other = store.load_receive_ledger(OverBudget::Delay, 1).unwrap();
    assert_eq!(
        other.receive(device(3), 2, 7),
        Verdict::Delay { until_epoch: 8 }
    );
}

#[test]
fn saving_replaces_rather_than_accumulates() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&store_path(&dir), "p").unwrap();
    let cost = group_message();
    let mut leakage = LeakageLedger::new(policy());
    leakage
        .charge(context(1), 1, &cost, MessageClass::Essential)
        .unwrap();
    leakage
        .charge(context(2), 1, &cost, MessageClass::Essential)
        .unwrap();
    store.save_leakage(&leakage).unwrap();
    let mut fewer = LeakageLedger::new(policy());
    fewer
        .charge(context(2), 1, &cost, MessageClass::Essential)
        .unwrap();
    store.save_leakage(&fewer).unwrap();
    assert_eq!(store.load_leakage(policy()).unwrap(), fewer);

    let mut receive = ReceiveLedger::new(OverBudget::Drop, 3);
    receive.receive(device(1), 1, 0);
    receive.receive(device(2), 1, 0);
    store.save_receive_ledger(&receive).unwrap();
    let empty = ReceiveLedger::new(OverBudget::Drop, 3);
    store.save_receive_ledger(&empty).unwrap();
    assert_eq!(
        store.load_receive_ledger(OverBudget::Drop, 3).unwrap(),
        empty
    );
}

/// Writes `value` under a 32-byte key of `table` with redb itself, bypassing the store.
fn write_raw(path: &Path, table: TableDefinition<&[u8], &[u8]>, value: &[u8]) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(table)
        .unwrap()
        .insert([9u8; 32].as_slice(), value)
        .unwrap();
    txn.commit().unwrap();
}

#[test]
fn a_row_of_the_wrong_length_is_refused_at_open_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    for (table, value, name) in [
        (LEAKAGE, [0; 55].as_slice(), "leakage_budgets"),
        (RECEIVE, [0; 49].as_slice(), "receive_counters"),
    ] {
        drop(Store::open(&path, "p").unwrap());
        write_raw(&path, table, value);
        // The row is sound to redb; the probe decodes it as the ledger would, and refuses it.
        let before = std::fs::read(&path).unwrap();
        for opened in [Store::open(&path, "p"), Store::open_read_only(&path, "p")] {
            let err = opened.unwrap_err();
            assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
            assert!(err.to_string().contains(name), "{err}");
        }
        assert!(
            std::fs::read(&path).unwrap() == before,
            "the file was changed"
        );
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn a_store_of_schema_v4_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let mut budgets = FlowBudgets::default();
    budgets.set_limit(context(1), device(2), 50);
    budgets.charge(context(1), device(2), 20).unwrap();
    {
        let store = Store::open(&path, "p").unwrap();
        store.save_flow_budgets(&budgets).unwrap();
    }
    // Take the file back to schema v4: without the tables of v5 (the ledgers) and later.
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        assert!(txn.delete_table(LEAKAGE).unwrap());
        assert!(txn.delete_table(RECEIVE).unwrap());
        assert!(txn.delete_table(KNOWN_ADDRS).unwrap());
        txn.open_table(META)
            .unwrap()
            .insert("schema_version", 4)
            .unwrap();
        txn.commit().unwrap();
        let names: Vec<String> = db
            .begin_read()
            .unwrap()
            .list_tables()
            .unwrap()
            .map(|handle| handle.name().to_owned())
            .collect();
        assert!(!names.iter().any(|name| name == "leakage_budgets"));
    }
    // Read-only, the old store is read as it is: the tables it lacks read as empty.
    let before = std::fs::read(&path).unwrap();
    {
        let store = Store::open_read_only(&path, "p").unwrap();
        assert_eq!(store.schema_version().unwrap(), 4);
        assert_eq!(store.load_flow_budgets().unwrap(), budgets.settled());
        assert_eq!(
            store.load_leakage(policy()).unwrap(),
            LeakageLedger::new(policy())
        );
        assert!(store.known_peer_addrs().unwrap().is_empty());
    }
    assert!(
        std::fs::read(&path).unwrap() == before,
        "the file was changed"
    );
    let store = Store::open(&path, "p").unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let stats = store.stats().unwrap();
    assert!(stats.tables.contains(&("leakage_budgets".to_owned(), 0)));
    assert!(stats.tables.contains(&("receive_counters".to_owned(), 0)));
    assert!(stats.tables.contains(&("net_known_addrs".to_owned(), 0)));
    assert_eq!(store.load_flow_budgets().unwrap(), budgets.settled());
    assert_eq!(
        store.load_leakage(policy()).unwrap(),
        LeakageLedger::new(policy())
    );
    let mut receive = ReceiveLedger::new(OverBudget::Drop, 3);
    receive.receive(device(4), 1, 0);
    store.save_receive_ledger(&receive).unwrap();
    assert_eq!(
        store.load_receive_ledger(OverBudget::Drop, 3).unwrap(),
        receive
    );
}

#[test]
fn limits_follow_the_configuration_of_the_next_start_and_spends_stay() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let mut leakage = LeakageLedger::new(policy());
    leakage
        .charge(context(1), 0, &group_message(), MessageClass::Essential)
        .unwrap();
    let mut received = ReceiveLedger::new(OverBudget::Drop, 3);
    received.set_limit(device(2), 50);
    assert_eq!(received.receive(device(2), 5, 0), Verdict::Accept);
    {
        let store = Store::open(&path, "p").unwrap();
        store.save_leakage(&leakage).unwrap();
        store.save_receive_ledger(&received).unwrap();
    }
    let store = Store::open(&path, "p").unwrap();
    let lower = LeakagePolicy {
        default_limit: LeakageCost {
            external: 1,
            neighbour: 1,
            group: 2,
        },
        ..policy()
    };
    let mut leakage = store.load_leakage(lower.clone()).unwrap();
    leakage.apply_policy_limits();
    let budget = leakage.get(context(1), 0);
    assert_eq!(budget.limit, lower.default_limit);
    assert_eq!(budget.spent, group_message());
    let mut received = store.load_receive_ledger(OverBudget::Drop, 3).unwrap();
    received.reset_limits();
    let counters = received.counters(&device(2)).unwrap();
    assert_eq!((counters.limit, counters.spent), (3, 5));
}

#[test]
fn the_three_ledgers_are_saved_together_and_load_as_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let mut budgets = FlowBudgets::default();
    budgets.set_limit(context(1), device(2), 40);
    budgets.charge(context(1), device(2), 15).unwrap();
    let mut leakage = LeakageLedger::new(policy());
    leakage
        .charge(context(1), 0, &group_message(), MessageClass::Essential)
        .unwrap();
    let mut received = ReceiveLedger::new(OverBudget::Drop, 3);
    assert_eq!(received.receive(device(2), 5, 0), Verdict::Drop);
    {
        let store = Store::open(&path, "p").unwrap();
        store.save_ledgers(&budgets, &leakage, &received).unwrap();
    }
    let store = Store::open(&path, "p").unwrap();
    assert_eq!(
        store
            .load_flow_budgets()
            .unwrap()
            .get(context(1), device(2))
            .unwrap()
            .spent,
        15
    );
    assert_eq!(store.load_leakage(policy()).unwrap(), leakage);
    assert_eq!(
        store.load_receive_ledger(OverBudget::Drop, 3).unwrap(),
        received
    );
}
