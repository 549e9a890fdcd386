//! The profile store on a real redb file: persistence, and a clear error for each way a file
//! can be unusable, leaving the file exactly as it was.

use std::path::{Path, PathBuf};

use aura::identity::DeviceIdentity;
use aura::state::store::{SCHEMA_VERSION, Store, StoreError};
use redb::{ReadableDatabase, TableDefinition};
use zeroize::Zeroizing;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

fn store_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("store.redb")
}

fn key(byte: u8) -> Zeroizing<[u8; 32]> {
    Zeroizing::new([byte; 32])
}

fn assert_untouched(path: &Path, before: &[u8]) {
    let after = std::fs::read(path).unwrap();
    assert!(
        after == before,
        "the file at {} was modified",
        path.display()
    );
}

#[test]
fn a_new_store_is_private_and_at_the_current_schema() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let store = Store::open(&path, "p").unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn reopening_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    {
        let store = Store::open(&path, "p").unwrap();
        assert!(store.device_key().unwrap().is_none());
        assert_eq!(*store.device_key_or_insert(key(1)).unwrap(), [1; 32]);
        // A second candidate does not replace the stored key.
        assert_eq!(*store.device_key_or_insert(key(2)).unwrap(), [1; 32]);
    }
    let store = Store::open(&path, "p").unwrap();
    assert_eq!(*store.device_key().unwrap().unwrap(), [1; 32]);
    let stats = store.stats().unwrap();
    assert_eq!(stats.schema_version, SCHEMA_VERSION);
    assert!(stats.tables.contains(&("identity".to_owned(), 1)));
}

#[test]
fn a_second_open_is_refused_with_the_profile_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let _held = Store::open(&path, "alice").unwrap();
    let err = Store::open(&path, "alice").unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("'alice'"), "{err}");
}

#[test]
fn a_store_from_a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    drop(Store::open(&path, "p").unwrap());
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("schema_version", SCHEMA_VERSION + 1)
            .unwrap();
        txn.commit().unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open_read_only(&path, "p").unwrap_err();
    assert!(matches!(err, StoreError::NewerSchema { .. }), "{err}");
    let err = Store::open(&path, "p").unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
        "{err}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
    assert_untouched(&path, &before);
    // The version is still readable, so nothing was rewritten.
    let db = redb::Database::open(&path).unwrap();
    let version = db
        .begin_read()
        .unwrap()
        .open_table(META)
        .unwrap()
        .get("schema_version")
        .unwrap()
        .unwrap()
        .value();
    assert_eq!(version, SCHEMA_VERSION + 1);
}

#[test]
fn a_file_that_is_not_a_store_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let garbage: Vec<u8> = (0..50_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path, "p").unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("left untouched"), "{err}");
    assert_untouched(&path, &garbage);
}

#[test]
fn a_truncated_store_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    {
        let store = Store::open(&path, "p").unwrap();
        store.device_key_or_insert(key(3)).unwrap();
    }
    let full = std::fs::read(&path).unwrap();
    for cut in [full.len() / 2, 4096, 100, 1] {
        let truncated = &full[..cut];
        std::fs::write(&path, truncated).unwrap();
        let err = Store::open(&path, "p").unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt { .. }),
            "cut at {cut}: {err}"
        );
        assert_untouched(&path, truncated);
    }
}

#[test]
fn a_store_with_a_damaged_header_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    drop(Store::open(&path, "p").unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    for byte in &mut bytes[..64] {
        *byte ^= 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(&path, "p").unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert_untouched(&path, &bytes);
}

#[test]
fn damage_to_any_page_is_either_harmless_or_refused_without_a_write() {
    const PAGE: usize = 4096;
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    {
        let store = Store::open(&path, "p").unwrap();
        store.device_key_or_insert(key(3)).unwrap();
    }
    let pristine = std::fs::read(&path).unwrap();
    let mut refused = 0;
    for page in 0..pristine.len() / PAGE {
        let mut damaged = pristine.clone();
        for byte in &mut damaged[page * PAGE + 100..page * PAGE + 200] {
            *byte ^= 0xff;
        }
        std::fs::write(&path, &damaged).unwrap();
        match Store::open(&path, "p") {
            // Damage to a free page does not matter; the data must still be intact.
            Ok(store) => assert_eq!(*store.device_key().unwrap().unwrap(), [3; 32]),
            Err(StoreError::Corrupt { .. }) => {
                refused += 1;
                assert_untouched(&path, &damaged);
            }
            Err(other) => panic!("page {page}: unexpected error {other}"),
        }
    }
    assert!(refused > 0, "no damaged page was detected");
}

/// The error of an open that must fail, checked to be one line naming the file.
fn refused(result: Result<Store, StoreError>, path: &Path) -> StoreError {
    let err = result.expect_err("the open must fail");
    let text = err.to_string();
    assert!(!text.contains('\n'), "not one line: {text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    err
}

#[test]
fn an_empty_file_is_refused_by_both_opens_and_stays_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    std::fs::write(&path, b"").unwrap();
    for err in [
        refused(Store::open(&path, "p"), &path),
        refused(Store::open_read_only(&path, "p"), &path),
    ] {
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("empty"), "{err}");
    }
    assert_untouched(&path, b"");
}

#[test]
fn a_file_that_is_not_a_store_is_refused_by_a_read_only_open_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    for content in [b"not a store\n".to_vec(), vec![0; 8192]] {
        std::fs::write(&path, &content).unwrap();
        let err = refused(Store::open_read_only(&path, "p"), &path);
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let err = refused(Store::open(&path, "p"), &path);
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert_untouched(&path, &content);
    }
}

#[test]
fn a_read_only_open_never_creates_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let err = refused(Store::open_read_only(&path, "p"), &path);
    assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    assert!(!path.exists());
}

#[test]
fn a_new_store_is_made_whole_before_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    // What a creation interrupted by a crash leaves behind, under this process's id.
    let leftover = dir
        .path()
        .join(format!("store.redb.creating-{}", std::process::id()));
    std::fs::write(&leftover, b"half").unwrap();
    drop(Store::open(&path, "p").unwrap());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["store.redb"]);
    let store = Store::open_read_only(&path, "p").unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

/// The access mode of every descriptor this process holds on `path`.
fn access_modes(path: &Path) -> Vec<u32> {
    let target = std::fs::canonicalize(path).unwrap();
    let mut modes = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let entry = entry.unwrap();
        if std::fs::read_link(entry.path()).ok() != Some(target.clone()) {
            continue;
        }
        let info = std::fs::read_to_string(format!(
            "/proc/self/fdinfo/{}",
            entry.file_name().to_string_lossy()
        ))
        .unwrap();
        let flags = info
            .lines()
            .find_map(|line| line.strip_prefix("flags:"))
            .unwrap();
        modes.push(u32::from_str_radix(flags.trim(), 8).unwrap() & 0o3);
    }
    modes
}

#[test]
fn a_read_only_open_reads_a_file_made_read_only_and_changes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    {
        let store = Store::open(&path, "p").unwrap();
        store.device_key_or_insert(key(4)).unwrap();
        store.add_peer_addr("/ip4/10.0.0.1/tcp/1", 5).unwrap();
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    let before = std::fs::read(&path).unwrap();
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    for _ in 0..2 {
        let store = Store::open_read_only(&path, "p").unwrap();
        assert!(store.is_read_only());
        let identity = DeviceIdentity::load(&store).unwrap().unwrap();
        let expected = DeviceIdentity::from_secret(&[4; 32]).unwrap();
        assert_eq!(identity.peer_id(), expected.peer_id());
        assert_eq!(store.peer_addrs().unwrap(), ["/ip4/10.0.0.1/tcp/1"]);
        assert!(
            store
                .stats()
                .unwrap()
                .tables
                .contains(&("identity".to_owned(), 1))
        );
        // Only read access is asked for (root could write the file whatever its mode).
        let modes = access_modes(&path);
        assert!(
            !modes.is_empty() && modes.iter().all(|mode| *mode == 0),
            "{modes:?}"
        );
    }
    if !rustix::process::geteuid().is_root() {
        refused(Store::open(&path, "p"), &path);
    }
    assert_untouched(&path, &before);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
}

#[test]
fn every_write_to_a_read_only_store_fails_and_changes_nothing() {
    use aura::state::flow_budget::FlowBudgets;
    use aura::state::leakage::{LeakageCost, LeakageLedger, LeakagePolicy};
    use aura::state::receive_budget::{OverBudget, ReceiveLedger};
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    drop(Store::open(&path, "p").unwrap());
    let before = std::fs::read(&path).unwrap();
    let store = Store::open_read_only(&path, "p").unwrap();
    let leakage = LeakageLedger::new(LeakagePolicy {
        default_limit: LeakageCost::default(),
        optional_reserve_percent: 0,
    });
    let received = ReceiveLedger::new(OverBudget::Drop, 1);
    let context = aura::state::fact::ContextId([1; 32]);
    let errors = [
        store.device_key_or_insert(key(1)).map(drop),
        store.ingest_decoded([], 0).map(drop),
        store.ingest_received([], 0).map(drop),
        store.ingest_facts([], 0).map(drop),
        store.persist_pending(),
        store.rebuild_journal_views(),
        store.save_flow_budgets(&FlowBudgets::default()),
        store.save_leakage(&leakage),
        store.save_receive_ledger(&received),
        store.save_ledgers(&FlowBudgets::default(), &leakage, &received),
        store.add_peer_addr("/ip4/10.0.0.1/tcp/1", 0).map(drop),
        store.remove_peer_addr("/ip4/10.0.0.1/tcp/1").map(drop),
        store.join_context(context, 0).map(drop),
        store.record_peer_addrs("12D3KooWpeer", &["/ip4/10.0.0.1/tcp/2".to_owned()], 0),
        store.forget_peer_addrs("12D3KooWpeer").map(drop),
    ];
    for (at, result) in errors.into_iter().enumerate() {
        let err = result.expect_err("a write on a read-only store");
        assert!(
            matches!(err, StoreError::ReadOnly { .. }),
            "write {at}: {err}"
        );
        assert!(err.to_string().contains("read-only"), "{err}");
    }
    assert!(DeviceIdentity::load(&store).unwrap().is_none());
    drop(store);
    assert_untouched(&path, &before);
}

#[test]
fn read_only_opens_share_the_file_and_exclude_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    {
        let _writer = Store::open(&path, "bob").unwrap();
        let err = refused(Store::open_read_only(&path, "bob"), &path);
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    }
    let first = Store::open_read_only(&path, "bob").unwrap();
    let second = Store::open_read_only(&path, "bob").unwrap();
    assert_eq!(
        first.schema_version().unwrap(),
        second.schema_version().unwrap()
    );
    let err = refused(Store::open(&path, "bob"), &path);
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
}

#[test]
fn a_store_left_open_by_a_crash_is_refused_read_only_and_repaired_read_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let crashed = {
        let store = Store::open(&path, "p").unwrap();
        store.device_key_or_insert(key(6)).unwrap();
        // The file as a crash would leave it: written, never closed.
        std::fs::read(&path).unwrap()
    };
    std::fs::write(&path, &crashed).unwrap();
    let err = refused(Store::open_read_only(&path, "p"), &path);
    assert!(matches!(err, StoreError::NeedsRepair { .. }), "{err}");
    assert_untouched(&path, &crashed);
    let store = Store::open(&path, "p").unwrap();
    assert_eq!(*store.device_key().unwrap().unwrap(), [6; 32]);
    drop(store);
    let store = Store::open_read_only(&path, "p").unwrap();
    assert_eq!(*store.device_key().unwrap().unwrap(), [6; 32]);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "the repair backup is removed");
}
