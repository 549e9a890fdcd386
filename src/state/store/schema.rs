//! The schema: which tables each version added, and so the registry of every table the store
//! has. A table exists only by being listed in a step, and the probe at open reads every
//! listed table, so a new table is probed by construction.

use redb::{Durability, ReadableDatabase};

use crate::state::corruption::catch_corruption;

use super::error::Fault;
use super::txn::{META, ReadTxn, Registered, WriteTxn};
use super::{groups, identity, journal, ledgers, net, relationships};

/// A change of a migration step beyond creating its tables.
type Change = fn(&WriteTxn) -> Result<(), Fault>;

/// One version of the schema: the tables it adds, then anything else it changes.
pub(super) struct Step {
    pub tables: &'static [&'static dyn Registered],
    pub then: Option<Change>,
}

/// The schema's history, oldest first: step `i` takes a store from version `i` to `i + 1`. A
/// new store runs every step, so the path that creates a store is the one that upgrades one.
pub(super) const STEPS: &[Step] = &[
    Step {
        tables: &[&META, &identity::IDENTITY],
        then: None,
    },
    Step {
        tables: &[&journal::FACTS, &journal::IDS, &journal::VIEWS],
        then: Some(journal::start_view_format),
    },
    Step {
        tables: &[&ledgers::FLOW],
        then: None,
    },
    Step {
        tables: &[&net::PEERS, &net::CONTEXTS],
        then: None,
    },
    Step {
        tables: &[&ledgers::LEAKAGE, &ledgers::RECEIVE],
        then: None,
    },
    Step {
        tables: &[&net::KNOWN_ADDRS],
        then: None,
    },
    Step {
        tables: &[&relationships::CONTACTS, &relationships::ACCEPTANCES],
        then: None,
    },
    Step {
        tables: &[
            &groups::GROUPS,
            &groups::GROUP_MESSAGES,
            &groups::RECEIPTS,
            &groups::KEY_PACKAGES,
            &groups::OUTBOX,
        ],
        then: None,
    },
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u64 = STEPS.len() as u64;

const SCHEMA_VERSION_KEY: &str = "schema_version";

/// Every table, and the schema version that added it.
pub(super) fn registry() -> impl Iterator<Item = (u64, &'static dyn Registered)> {
    (1..)
        .zip(STEPS)
        .flat_map(|(version, step)| step.tables.iter().map(move |table| (version, *table)))
}

/// The schema version recorded in the store; 0 for a store that has none yet.
pub(super) fn version(txn: &ReadTxn) -> Result<u64, Fault> {
    Ok(txn.meta(SCHEMA_VERSION_KEY)?.unwrap_or(0))
}

/// Brings the store's schema up to date, one transaction per step (a crash between steps leaves
/// a consistent older version), and rebuilds the journal's views if their format is not this
/// build's.
pub(super) fn upgrade(db: &redb::Database) -> Result<(), Fault> {
    let mut version = version(&ReadTxn::new(db.begin_read()?))?;
    if version > SCHEMA_VERSION {
        return Err(Fault::NewerSchema(version));
    }
    while let Some(step) = usize::try_from(version).ok().and_then(|at| STEPS.get(at)) {
        let txn = WriteTxn::begin(db, Durability::Immediate)?;
        for table in step.tables {
            table.create(&txn)?;
        }
        if let Some(then) = step.then {
            then(&txn)?;
        }
        version += 1;
        txn.set_meta(SCHEMA_VERSION_KEY, version)?;
        txn.commit()?;
        tracing::info!(version, "store schema migrated");
    }
    if journal::views_stale(&ReadTxn::new(db.begin_read()?))? {
        tracing::info!("rebuilding journal views");
        let txn = WriteTxn::begin(db, Durability::Immediate)?;
        journal::rebuild_views(&txn)?;
        txn.commit()?;
    }
    Ok(())
}

/// Reads every registered table in full, checking each row with its table's decoder, so
/// that damage shows up now rather than in the middle of a later read or after a write.
pub(super) fn probe(txn: &ReadTxn) -> Result<(), Fault> {
    let version = version(txn)?;
    if version > SCHEMA_VERSION {
        return Err(Fault::NewerSchema(version));
    }
    txn.table_sizes()?;
    for (since, table) in registry() {
        let found = catch_corruption(|| table.probe(txn)).map_err(|panic| {
            tracing::warn!(table = table.name(), %panic, "unreadable table");
            Fault::Corrupt(format!("table {} is unreadable", table.name()))
        })??;
        if found.is_none() && since <= version {
            return Err(Fault::Corrupt(format!(
                "table {} of schema v{since} is missing",
                table.name()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use ed25519_dalek::SigningKey;
    use zeroize::Zeroizing;

    use super::*;
    use crate::state::fact::{ContextId, DeviceKey, Fact, FactId};
    use crate::state::flow_budget::FlowBudgets;
    use crate::state::hlc::Hlc;
    use crate::state::kinds;
    use crate::state::leakage::{LeakageCost, LeakageLedger, LeakagePolicy};
    use crate::state::receive_budget::{OverBudget, ReceiveLedger};
    use crate::state::store::Store;

    const NOW_MS: u64 = 1_767_225_600_000;

    /// Writes through every write method, so that a table a method opens without it being
    /// registered would show up in the file.
    fn fill(store: &Store) {
        let key = SigningKey::from_bytes(&[1; 32]);
        let context = ContextId([2; 32]);
        let peer = DeviceKey::of(&key);
        store.device_key_or_insert(Zeroizing::new([3; 32])).unwrap();
        let at = Hlc::new(NOW_MS - 10, 0).unwrap();
        let fact = Fact::sign(&key, context, at, kinds::MESSAGE, b"hi".to_vec()).unwrap();
        store.ingest_decoded([fact], NOW_MS).unwrap();
        store.rebuild_journal_views().unwrap();
        let mut budgets = FlowBudgets::default();
        budgets.set_limit(context, peer, 10);
        let policy = LeakagePolicy {
            default_limit: LeakageCost {
                external: 1,
                neighbour: 1,
                group: 1,
            },
            optional_reserve_percent: 0,
        };
        let mut leakage = LeakageLedger::new(policy);
        leakage.set_limit(context, 0, LeakageCost::default());
        let mut received = ReceiveLedger::new(OverBudget::Drop, 3);
        received.receive(peer, 1, 0);
        store.save_ledgers(&budgets, &leakage, &received).unwrap();
        store.add_peer_addr("/ip4/127.0.0.1/tcp/1", NOW_MS).unwrap();
        store.join_context(context, NOW_MS).unwrap();
        store
            .record_peer_addrs("12D3KooWpeer", &["/ip4/127.0.0.1/tcp/2".to_owned()], NOW_MS)
            .unwrap();
        store
            .put_contact(&super::super::ContactRow {
                peer,
                context,
                secret: Zeroizing::new([4; 32]),
                since_ms: NOW_MS,
            })
            .unwrap();
        store
            .put_acceptance(&super::super::AcceptanceRow {
                invitation: [5; 32],
                started_ms: NOW_MS,
                give_up_ms: NOW_MS,
                code: "aura1".to_owned(),
            })
            .unwrap();
        store
            .put_group(&super::super::GroupRow {
                context,
                joined_ms: NOW_MS,
                updated_ms: NOW_MS,
                sent_since_update: 2,
                epoch: 3,
                authenticator: vec![12; 32],
                removed: false,
                name: "friends".into(),
                roster: vec![peer],
                read_up_to: None,
                snapshot: Zeroizing::new(vec![6; 10]),
            })
            .unwrap();
        let message = super::super::MessageRow {
            context,
            time: at.to_u64(),
            id: FactId([7; 32]),
            author: peer,
            epoch: 3,
            payload: b"\x01hi".to_vec(),
        };
        store.put_group_messages(&[message]).unwrap();
        store
            .add_receipts(&context, &peer, &[FactId([7; 32])])
            .unwrap();
        store
            .put_key_packages(&[super::super::KeyPackageRow {
                reference: [8; 32],
                context,
                last_resort: true,
                made_ms: NOW_MS,
                key_package: vec![9; 40],
                init_key: Zeroizing::new([10; 32]),
                leaf_key: Zeroizing::new([11; 32]),
            }])
            .unwrap();
        store
            .put_outbox(&super::super::OutboxRow {
                context,
                submitted_ms: NOW_MS,
                sequence: 1,
                payload: b"\x01later".to_vec(),
            })
            .unwrap();
        store.persist_pending().unwrap();
    }

    #[test]
    fn every_table_of_a_store_is_registered_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store.redb"), "p").unwrap();
        fill(&store);
        let names: Vec<&str> = registry().map(|(_, table)| table.name()).collect();
        let registered: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(registered.len(), names.len(), "registered twice: {names:?}");
        let stats = store.stats().unwrap();
        let in_file: BTreeSet<&str> = stats.tables.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(in_file, registered);
        assert!(stats.tables.iter().all(|(_, rows)| *rows > 0), "{stats:?}");
    }
}
