//! The profile store on a real redb file: persistence, and a clear error for each way a file
//! can be unusable, leaving the file exactly as it was.

use std::path::{Path, PathBuf};

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
