//! Opening a store file, which may come from anywhere: another Aura process may hold it, a
//! newer Aura may have written it, it may be empty or damaged, or a crash may have left it
//! needing repair. Each case is a distinct error, and a file that fails the probe is never
//! written to.
//!
//! - Only a missing file creates a store. It is made under a temporary name in the same
//!   folder, migrated, and then linked into place, so a crash never leaves a file at the
//!   store's path that is not a whole store.
//! - An existing file is first opened read-only (which never modifies it) and probed: every
//!   registered table is read in full. Only a file that passes is opened for writing.
//! - A file that needs redb's crash repair is copied aside first and restored byte for byte
//!   if the repair fails or the repaired file fails the probe.

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use redb::{Database, DatabaseError, ReadOnlyDatabase, ReadableDatabase};

use crate::paths::FILE_MODE;
use crate::state::corruption::catch_corruption;

use super::error::{Named, StoreError};
use super::schema;
use super::txn::ReadTxn;

/// Suffix of the copy kept while redb repairs a store after a crash.
const REPAIR_BACKUP_SUFFIX: &str = "pre-repair";
/// Suffix of a store being created, before it is linked into place.
const CREATING_SUFFIX: &str = "creating";

/// Opens the store for writing, creating it if no file is there, with its schema up to date.
pub(super) fn writable(named: Named<'_>) -> Result<Database, StoreError> {
    if !exists(named)? {
        return create(named);
    }
    match probed(named) {
        Ok(probe) => drop(probe),
        Err(StoreError::NeedsRepair { .. }) => return repair(named),
        Err(err) => return Err(err),
    }
    let db = guarded(named, || verified(named))?;
    upgraded(named, db)
}

/// Opens a file that passed the probe for writing, after redb verified the checksum of every
/// page it will use. The probe reads every table, but not redb's own (the pages waiting to be
/// freed), which every commit and the close then walk, nor every key inside branch pages;
/// damage there would make a write panic where nothing can catch it.
fn verified(named: Named<'_>) -> Result<Database, StoreError> {
    let mut builder = Database::builder();
    // After a clean close the newest commit is a two-phase one, so redb refuses it when it
    // fails its checksums rather than falling back to the commit before it.
    builder.set_check_integrity_on_open(true);
    builder.open(named.path).map_err(|err| named.open(err))
}

/// Opens an existing store read-only, after the same probe as [`writable`].
pub(super) fn read_only(named: Named<'_>) -> Result<ReadOnlyDatabase, StoreError> {
    if !exists(named)? {
        return Err(StoreError::Missing {
            path: named.path.to_owned(),
        });
    }
    probed(named)
}

/// Whether a store file is there; anything at the path that cannot be one is an error.
fn exists(named: Named<'_>) -> Result<bool, StoreError> {
    match fs::metadata(named.path) {
        Ok(meta) if !meta.is_file() => Err(named.corrupt("it is not a regular file")),
        Ok(meta) if meta.len() == 0 => Err(named.corrupt("the file is empty")),
        Ok(_) => Ok(true),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
        Err(err) => Err(named.storage(err)),
    }
}

/// Runs `open` on a file that may be damaged: a panic inside redb becomes an error.
fn guarded<T>(
    named: Named<'_>,
    open: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    catch_corruption(open).unwrap_or_else(|panic| {
        tracing::warn!(path = %named.path.display(), %panic, "unreadable store");
        Err(named.corrupt("an internal structure is unreadable"))
    })
}

/// Opens the file read-only and reads every registered table.
fn probed(named: Named<'_>) -> Result<ReadOnlyDatabase, StoreError> {
    guarded(named, || {
        let db = Database::builder()
            .open_read_only(named.path)
            .map_err(|err| named.open(err))?;
        check(named, &db)?;
        Ok(db)
    })
}

fn check(named: Named<'_>, db: &impl ReadableDatabase) -> Result<(), StoreError> {
    let txn = db.begin_read().map_err(|err| named.fault(err.into()))?;
    schema::probe(&ReadTxn::new(txn)).map_err(|fault| named.fault(fault))
}

fn upgraded(named: Named<'_>, db: Database) -> Result<Database, StoreError> {
    guarded(named, || {
        schema::upgrade(&db).map_err(|fault| named.fault(fault))
    })?;
    Ok(db)
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

/// Creates a store under a temporary name, migrates it and links it into place.
fn create(named: Named<'_>) -> Result<Database, StoreError> {
    // No live process shares this id, so a file of that name is left from a crash.
    let temp = sibling(
        named.path,
        &format!("{CREATING_SUFFIX}-{}", std::process::id()),
    );
    let made = create_private_file(&temp)
        .map_err(|err| named.storage(err))
        .and_then(|()| {
            let db = Database::builder()
                .create(&temp)
                .map_err(|err| named.open(err))?;
            upgraded(named, db)
        })
        .and_then(|db| match fs::hard_link(&temp, named.path) {
            Ok(()) => Ok(Some(db)),
            // Another process created the store meanwhile: open that one.
            Err(err) if err.kind() == ErrorKind::AlreadyExists => Ok(None),
            Err(err) => Err(named.storage(err)),
        });
    if let Err(err) = fs::remove_file(&temp) {
        tracing::warn!(%err, temp = %temp.display(), "cannot remove a store being created");
    }
    match made? {
        Some(db) => {
            sync_folder(named.path);
            tracing::info!(path = %named.path.display(), "store created");
            Ok(db)
        }
        None => writable(named),
    }
}

/// Makes the store's new name durable; a failure only risks what a crash risks anyway.
fn sync_folder(path: &Path) {
    let folder = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty());
    let synced = fs::File::open(folder.unwrap_or(Path::new("."))).and_then(|dir| dir.sync_all());
    if let Err(err) = synced {
        tracing::warn!(%err, "cannot sync the store's folder");
    }
}

/// Lets redb repair a store left open by a crash, keeping a copy to restore if it fails.
fn repair(named: Named<'_>) -> Result<Database, StoreError> {
    let backup = sibling(named.path, REPAIR_BACKUP_SUFFIX);
    tracing::warn!(path = %named.path.display(), "store was not closed cleanly; repairing");
    copy_private(named.path, &backup).map_err(|err| named.storage(err))?;
    let repaired = guarded(named, || {
        let db = Database::builder()
            .open(named.path)
            .map_err(|err| match err {
                DatabaseError::RepairAborted => named.corrupt("redb could not repair it"),
                other => named.open(other),
            })?;
        check(named, &db)?;
        Ok(db)
    })
    .and_then(|db| upgraded(named, db));
    match repaired {
        Ok(db) => {
            if let Err(err) = fs::remove_file(&backup) {
                tracing::warn!(%err, backup = %backup.display(), "cannot remove repair backup");
            }
            Ok(db)
        }
        Err(mut error) => {
            if let (Err(restore_err), StoreError::Corrupt { detail, .. }) =
                (fs::rename(&backup, named.path), &mut error)
            {
                detail.push_str(&format!(
                    "; the original is kept at {} ({restore_err})",
                    backup.display()
                ));
            }
            Err(error)
        }
    }
}

/// Creates an empty file only this user can read, replacing one left by a crash.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let create = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(path)
            .map(drop)
    };
    match create() {
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {
            fs::remove_file(path)?;
            create()
        }
        other => other,
    }
}

fn copy_private(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut source = fs::File::open(from)?;
    let mut target = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(to)?;
    std::io::copy(&mut source, &mut target)?;
    target.sync_all()
}
