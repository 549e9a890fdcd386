//! Damaged store files (acceptance 4 of issue 11): each table's rows damaged in turn, and a
//! realistic store damaged at random offsets. Every open, read-only and read-write, is a
//! one-line error naming the file, or a success; never a panic. A failed open, and any
//! read-only open, leaves the file byte for byte as it was.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use aura::state::Store;
use aura::state::StoreError;
use aura::state::fact::FactId;
use aura::state::flow_budget::FlowBudgets;
use aura::state::kinds::KnownBody;
use aura::state::leakage::{
    LeakageCost, LeakageLedger, LeakagePolicy, MessageClass, Relationship, Timing, leakage_cost,
};
use aura::state::receive_budget::{OverBudget, ReceiveLedger};
use aura::state::store::{
    AcceptanceRow, ContactRow, GroupRow, KeyPackageRow, MessageRow, OutboxRow,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use support::{NOW_MS, context, device, key, known, message, messages, time};
use zeroize::Zeroizing;

/// Random offsets damaged by default; `AURA_STORE_FLIPS` sets another count.
const DEFAULT_FLIPS: usize = 1_000;
const PAGE: usize = 4096;

const DEVICE_SECRET: [u8; 32] = [0xA7; 32];
const CHAT: u8 = 0xC1;
const OTHER_CHAT: u8 = 0xC2;
const LEAKY_CHAT: u8 = 0x4C;
const JOINED_CHAT: u8 = 0x7C;
const BUDGET_PEER: u8 = 0x31;
const SENDING_PEER: u8 = 0x32;
const MESSAGE_TEXT: &str = "a recognisable message text";
const GROUP_NAME: &str = "a recognisable group name";
const PEER_ADDR: &str = "/ip4/10.11.12.13/tcp/4242";
const KNOWN_PEER: &str = "12D3KooWDamagedStoreTestPeerAbCdEfGhJkLmNoPqRsTuVwXyZ";
const KNOWN_ADDR: &str = "/dns4/known.example/tcp/7777";
const CONTACT_PEER: u8 = 0x3C;
const PAIR_CONTEXT: u8 = 0x9A;
const ACCEPTANCE_CODE: &str = "aura1recognisablependingacceptancecode";
const GROUP_CHAT: u8 = 0x6C;
const GROUP_TITLE: &str = "a recognisable group title";
const CHAT_LINE: &str = "a recognisable line of a group chat";
const READER: u8 = 0x7D;
const KEY_PACKAGE: [u8; 40] = [0x6B; 40];
const UNSENT: &str = "a recognisable message not sent yet";

/// A folder in memory where there is one: the damaged copies are written and opened
/// thousands of times, and every read-write open commits, which on a disk waits for a flush.
fn scratch_dir() -> tempfile::TempDir {
    let memory = Path::new("/dev/shm");
    if memory.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(memory) {
            return dir;
        }
    }
    tempfile::tempdir().unwrap()
}

fn policy() -> LeakagePolicy {
    LeakagePolicy {
        default_limit: LeakageCost {
            external: 100,
            neighbour: 100,
            group: 100,
        },
        optional_reserve_percent: 0,
    }
}

/// A store with a row in every table, each recognisable by some of its bytes; returns the id
/// of the recognisable message.
fn build(path: &Path) -> FactId {
    let store = Store::open(path, "p").unwrap();
    store
        .device_key_or_insert(Zeroizing::new(DEVICE_SECRET))
        .unwrap();
    let mut facts = messages(context(CHAT), NOW_MS - 10_000, 30);
    facts.extend(messages(context(OTHER_CHAT), NOW_MS - 10_000, 10));
    let marked = message(&key(1), context(CHAT), time(NOW_MS - 100, 0), MESSAGE_TEXT);
    let marked_id = marked.id();
    facts.push(marked);
    facts.push(known(
        &key(1),
        context(CHAT),
        time(NOW_MS - 50, 0),
        KnownBody::GroupName(GROUP_NAME.into()),
    ));
    store.ingest_decoded(facts, NOW_MS).unwrap();
    let mut budgets = FlowBudgets::default();
    budgets.set_limit(context(CHAT), device(BUDGET_PEER), 1_000);
    budgets
        .charge(context(CHAT), device(BUDGET_PEER), 77)
        .unwrap();
    let mut leakage = LeakageLedger::new(policy());
    let cost = leakage_cost(10, Timing::Batched, Relationship::Group).unwrap();
    leakage
        .charge(context(LEAKY_CHAT), 0, &cost, MessageClass::Essential)
        .unwrap();
    let mut received = ReceiveLedger::new(OverBudget::Drop, 100);
    received.receive(device(SENDING_PEER), 5, 0);
    store.save_ledgers(&budgets, &leakage, &received).unwrap();
    store.add_peer_addr(PEER_ADDR, NOW_MS).unwrap();
    store.join_context(context(JOINED_CHAT), NOW_MS).unwrap();
    store
        .record_peer_addrs(KNOWN_PEER, &[KNOWN_ADDR.to_owned()], NOW_MS)
        .unwrap();
    store
        .put_contact(&ContactRow {
            peer: device(CONTACT_PEER),
            context: context(PAIR_CONTEXT),
            secret: Zeroizing::new([0x5E; 32]),
            since_ms: NOW_MS,
        })
        .unwrap();
    store
        .put_acceptance(&AcceptanceRow {
            invitation: [0xAC; 32],
            started_ms: NOW_MS,
            give_up_ms: NOW_MS + 1,
            code: ACCEPTANCE_CODE.to_owned(),
        })
        .unwrap();
    let text = |text: &str| aura::groups::payload::Payload::Text(text.into()).encode();
    store
        .put_group(&GroupRow {
            context: context(GROUP_CHAT),
            joined_ms: NOW_MS,
            updated_ms: NOW_MS,
            sent_since_update: 1,
            epoch: 4,
            authenticator: vec![0x44; 32],
            removed: false,
            name: GROUP_TITLE.into(),
            roster: vec![device(READER)],
            read_up_to: None,
            snapshot: Zeroizing::new(vec![0x55; 64]),
        })
        .unwrap();
    store
        .put_group_messages(&[MessageRow {
            context: context(GROUP_CHAT),
            time: time(NOW_MS - 20, 0).to_u64(),
            id: FactId([0x4D; 32]),
            author: device(READER),
            epoch: 4,
            payload: text(CHAT_LINE),
        }])
        .unwrap();
    store
        .add_receipts(&context(GROUP_CHAT), &device(READER), &[FactId([0x4D; 32])])
        .unwrap();
    store
        .put_key_packages(&[KeyPackageRow {
            reference: [0x52; 32],
            context: context(PAIR_CONTEXT),
            last_resort: false,
            made_ms: NOW_MS,
            key_package: KEY_PACKAGE.to_vec(),
            init_key: Zeroizing::new([0x49; 32]),
            leaf_key: Zeroizing::new([0x4C; 32]),
        }])
        .unwrap();
    store
        .put_outbox(&OutboxRow {
            context: context(GROUP_CHAT),
            submitted_ms: NOW_MS,
            sequence: 3,
            payload: text(UNSENT),
        })
        .unwrap();
    marked_id
}

/// Every read the store offers but lookups by fact id, stopping at the first error. Each
/// decodes rows the probe decoded, so none may fail after the probe let the file through.
fn read_everything(store: &Store) -> Result<(), StoreError> {
    store.stats()?;
    store.schema_version()?;
    store.device_key()?;
    store.journal_len()?;
    store.load_journal()?;
    store.journal_views()?;
    for chat in [CHAT, OTHER_CHAT] {
        store.context_view(context(chat))?;
        store.journal_facts_of(context(chat))?;
    }
    store.rejected_counts()?;
    store.load_flow_budgets()?;
    store.load_leakage(policy())?;
    store.load_receive_ledger(OverBudget::Drop, 100)?;
    store.peer_addrs()?;
    store.peer_addr_entries()?;
    store.joined_contexts()?;
    store.known_peer_addrs()?;
    store.contacts()?;
    store.acceptances()?;
    store.groups()?;
    store.group_messages(&context(GROUP_CHAT), 100)?;
    store.group_messages_after(&context(GROUP_CHAT), None, &device(READER))?;
    store.readers(&context(GROUP_CHAT), &FactId([0x4D; 32]))?;
    store.key_packages()?;
    store.outbox()?;
    Ok(())
}

fn assert_one_line(err: &StoreError, path: &Path) {
    let text = err.to_string();
    assert!(!text.contains('\n'), "not one line: {text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
}

/// What the opens of one damaged file did.
#[derive(Debug, Default, Clone, Copy)]
struct Outcome {
    refused_read_only: bool,
    refused_read_write: bool,
    /// An open succeeded but a later read (lookups by id aside) failed.
    read_failed: bool,
}

/// Opens the damaged file `damaged` read-only, then read-write, each on a fresh copy at
/// `path`, and reads everything from whatever opens.
fn open_both_ways(path: &Path, damaged: &[u8], marked: &FactId, what: &str) -> Outcome {
    let mut outcome = Outcome::default();
    for read_only in [true, false] {
        std::fs::write(path, damaged).unwrap();
        let opened = if read_only {
            Store::open_read_only(path, "p")
        } else {
            Store::open(path, "p")
        };
        match opened {
            Ok(store) => {
                if let Err(err) = read_everything(&store) {
                    assert_one_line(&err, path);
                    outcome.read_failed = true;
                }
                // A lookup by id trusts that the id table agrees with the fact table, which
                // the probe does not check (it would cost a lookup per fact): damage there
                // may be an error, but only a clean one.
                if let Err(err) = store.journal_fact(marked) {
                    assert_one_line(&err, path);
                }
                drop(store);
                if read_only {
                    assert!(std::fs::read(path).unwrap() == damaged, "{what}: changed");
                }
            }
            Err(err) => {
                assert_one_line(&err, path);
                if read_only {
                    outcome.refused_read_only = true;
                } else {
                    outcome.refused_read_write = true;
                }
                let after = std::fs::read(path).unwrap();
                assert!(after == damaged, "{what} (read-only {read_only}): changed");
            }
        }
    }
    outcome
}

/// Every offset at which `pattern` occurs in `bytes`.
fn occurrences(bytes: &[u8], pattern: &[u8]) -> Vec<usize> {
    bytes
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, window)| *window == pattern)
        .map(|(at, _)| at)
        .collect()
}

/// A table's recognisable row: bytes of it, and the bytes around them to damage, relative to
/// where the pattern starts.
struct Row {
    table: &'static str,
    pattern: Vec<u8>,
    /// A field whose damage its table's decoder refuses (a length, or text made invalid).
    field: std::ops::Range<isize>,
}

fn rows(marked: &FactId) -> Vec<Row> {
    let text = |text: &str| text.as_bytes().to_vec();
    vec![
        Row {
            table: "meta",
            pattern: text("flow_budget_epoch"),
            field: 0..1,
        },
        Row {
            table: "identity",
            pattern: text("device_signing_key"),
            field: 0..1,
        },
        Row {
            table: "journal_facts",
            pattern: text(MESSAGE_TEXT),
            field: -4..0,
        },
        Row {
            table: "journal_ids",
            pattern: marked.0.to_vec(),
            field: 0..1,
        },
        Row {
            table: "journal_views",
            pattern: text(GROUP_NAME),
            field: -4..0,
        },
        Row {
            table: "flow_budgets",
            pattern: device(BUDGET_PEER).0.to_vec(),
            field: 0..1,
        },
        Row {
            table: "leakage_budgets",
            pattern: context(LEAKY_CHAT).0.to_vec(),
            field: 0..1,
        },
        Row {
            table: "receive_counters",
            pattern: device(SENDING_PEER).0.to_vec(),
            field: 0..1,
        },
        Row {
            table: "net_peers",
            pattern: text(PEER_ADDR),
            field: 0..1,
        },
        Row {
            table: "net_contexts",
            pattern: context(JOINED_CHAT).0.to_vec(),
            field: 0..1,
        },
        Row {
            table: "net_known_addrs",
            pattern: text(KNOWN_ADDR),
            field: -2..0,
        },
        Row {
            table: "contacts",
            pattern: context(PAIR_CONTEXT).0.to_vec(),
            field: 0..1,
        },
        Row {
            table: "acceptances",
            pattern: text(ACCEPTANCE_CODE),
            field: -2..0,
        },
        Row {
            table: "groups",
            pattern: text(GROUP_TITLE),
            field: -2..0,
        },
        Row {
            table: "group_messages",
            pattern: text(CHAT_LINE),
            field: 0..1,
        },
        Row {
            table: "receipts",
            pattern: device(READER).0.to_vec(),
            field: 0..1,
        },
        Row {
            table: "key_packages",
            pattern: KEY_PACKAGE.to_vec(),
            field: -4..0,
        },
        Row {
            table: "outbox",
            pattern: text(UNSENT),
            field: 0..1,
        },
    ]
}

fn flipped(pristine: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
    let mut damaged = pristine.to_vec();
    for byte in &mut damaged[range] {
        *byte ^= 0xff;
    }
    damaged
}

#[test]
fn damage_to_each_tables_rows_and_pages_is_refused_or_harmless() {
    let dir = scratch_dir();
    let path = dir.path().join("store.redb");
    let marked = build(&path);
    let tables: BTreeSet<String> = Store::open_read_only(&path, "p")
        .unwrap()
        .stats()
        .unwrap()
        .tables
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let rows = rows(&marked);
    let planted: BTreeSet<String> = rows.iter().map(|row| row.table.to_owned()).collect();
    assert_eq!(planted, tables, "every table needs a recognisable row here");
    let pristine = std::fs::read(&path).unwrap();
    for row in &rows {
        let found = occurrences(&pristine, &row.pattern);
        assert!(!found.is_empty(), "{}: pattern not in the file", row.table);
        let mut refused = 0;
        for at in found {
            let field =
                (at as isize + row.field.start) as usize..(at as isize + row.field.end) as usize;
            let page = at / PAGE * PAGE;
            let damages = [
                ("field", field),
                ("row", at..at + row.pattern.len()),
                ("page header", page..page + 8),
                ("page body", page + 8..page + 64),
            ];
            for (kind, range) in damages {
                let what = format!("{} {kind} at {at}", row.table);
                let outcome = open_both_ways(&path, &flipped(&pristine, range), &marked, &what);
                // What the probe let through, every read must get through too.
                assert!(!outcome.read_failed, "{what}: opened, but a read failed");
                refused += usize::from(outcome.refused_read_only);
            }
        }
        // A read-only open has no checksums to go by: only the probe reading the table
        // notices damage to it.
        assert!(refused > 0, "{}: no damage was noticed", row.table);
    }
}

#[test]
fn a_realistic_store_damaged_at_random_offsets_never_panics() {
    let flips = std::env::var("AURA_STORE_FLIPS")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(DEFAULT_FLIPS);
    let dir = scratch_dir();
    let path = dir.path().join("store.redb");
    let marked = build(&path);
    let pristine = std::fs::read(&path).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut refused_read_only, mut refused_read_write, mut read_failed) = (0, 0, 0);
    for _ in 0..flips {
        let at = rng.random_range(0..pristine.len());
        let mut damaged = pristine.clone();
        damaged[at] ^= rng.random_range(1..=u8::MAX);
        let outcome = open_both_ways(&path, &damaged, &marked, &format!("flip at {at}"));
        refused_read_only += usize::from(outcome.refused_read_only);
        refused_read_write += usize::from(outcome.refused_read_write);
        read_failed += usize::from(outcome.read_failed);
    }
    eprintln!(
        "{flips} flips in {} bytes: refused by {refused_read_only} read-only and \
         {refused_read_write} read-write opens; {read_failed} failed a later read",
        pristine.len()
    );
    assert!(flips == 0 || refused_read_write > 0, "no flip was noticed");
}

#[test]
fn the_realistic_store_reads_back_as_built() {
    let dir = scratch_dir();
    let path = dir.path().join("store.redb");
    let marked = build(&path);
    let store = Store::open_read_only(&path, "p").unwrap();
    read_everything(&store).unwrap();
    assert_eq!(*store.device_key().unwrap().unwrap(), DEVICE_SECRET);
    assert!(store.journal_fact(&marked).unwrap().is_some());
    assert_eq!(store.peer_addrs().unwrap(), [PEER_ADDR]);
    assert_eq!(
        store.known_peer_addrs().unwrap(),
        [(KNOWN_PEER.to_owned(), vec![KNOWN_ADDR.to_owned()])]
    );
    assert_eq!(store.joined_contexts().unwrap(), [context(JOINED_CHAT)]);
    let budgets = store.load_flow_budgets().unwrap();
    assert_eq!(
        budgets
            .get(context(CHAT), device(BUDGET_PEER))
            .unwrap()
            .spent,
        77
    );
}

#[test]
fn a_damaged_newest_commit_is_refused_rather_than_rolled_back() {
    let dir = scratch_dir();
    let path = dir.path().join("store.redb");
    let marked = build(&path);
    let before = std::fs::read(&path).unwrap();
    // Each clean close commits redb's own bookkeeping; the pages that commit wrote belong to
    // the newest commit alone, and the one before it is intact.
    drop(Store::open(&path, "p").unwrap());
    let pristine = std::fs::read(&path).unwrap();
    let written: Vec<usize> = (1..pristine.len() / PAGE)
        .filter(|page| {
            let range = page * PAGE..(page + 1) * PAGE;
            before.get(range.clone()) != pristine.get(range)
        })
        .collect();
    assert!(!written.is_empty());
    let mut refused = 0;
    for page in written {
        let damaged = flipped(&pristine, page * PAGE + 16..page * PAGE + 48);
        let outcome = open_both_ways(&path, &damaged, &marked, &format!("page {page}"));
        // Past the probe, only the checksums show the damage.
        refused += usize::from(outcome.refused_read_write && !outcome.refused_read_only);
    }
    // redb could fall back to the commit before; the store refuses the file instead.
    assert!(refused > 0, "no damage only the checksums show was refused");
}
