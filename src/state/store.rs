//! The profile's redb database: schema versioning, migrations and typed tables.
//!
//! Opening is careful because the file may come from anywhere: another Aura process may hold
//! it, a newer Aura may have written it, or it may be damaged. Each case is a distinct error,
//! and a file Aura cannot read is never written to. The file is first probed read-only (which
//! never modifies it); only a file that passes is opened for writing. A file that needs
//! redb's crash repair is copied aside first and restored byte for byte if the repair fails.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use redb::{
    Database, DatabaseError, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, TableHandle, WriteTransaction,
};
use zeroize::Zeroizing;

use super::corruption;
use super::flow_budget_store;
use super::journal_store;
use super::ledger_store;
use super::net_store;
use crate::paths::FILE_MODE;

/// Singleton values that describe the store itself.
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// The device's own secrets.
const IDENTITY: TableDefinition<&str, &[u8]> = TableDefinition::new("identity");

const SCHEMA_VERSION_KEY: &str = "schema_version";
const DEVICE_KEY: &str = "device_signing_key";
/// Length of an Ed25519 secret key.
pub const DEVICE_KEY_LEN: usize = 32;
/// Suffix of the copy kept while redb repairs a store after a crash.
const REPAIR_BACKUP_SUFFIX: &str = "pre-repair";

/// One step of the schema: migration `i` takes a store from version `i` to `i + 1`.
type Migration = fn(&WriteTransaction) -> Result<(), redb::Error>;

/// The schema's history, oldest first. A new store runs every step, so the path that creates a
/// store is the same one that upgrades an old one.
const MIGRATIONS: &[Migration] = &[
    create_identity_tables,
    journal_store::create_tables,
    flow_budget_store::create_tables,
    net_store::create_tables,
    ledger_store::create_tables,
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u64 = MIGRATIONS.len() as u64;

fn create_identity_tables(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(META)?;
    txn.open_table(IDENTITY)?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("profile '{profile}' is in use by another Aura process (its store {path} is locked)")]
    Locked { profile: String, path: PathBuf },
    #[error(
        "store {path} was written by a newer Aura (schema v{found}; this build knows up to v{SCHEMA_VERSION}); upgrade Aura to open it"
    )]
    NewerSchema { path: PathBuf, found: u64 },
    #[error("store {path} is damaged or is not an Aura store ({detail}); it was left untouched")]
    Corrupt { path: PathBuf, detail: String },
    #[error("store {path}: {detail}")]
    Storage { path: PathBuf, detail: String },
}

/// Entry counts of each table, for `aura status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStats {
    pub schema_version: u64,
    pub file_bytes: u64,
    /// `(table name, entries)`, sorted by name.
    pub tables: Vec<(String, u64)>,
}

/// An open store. Holding it holds the profile's lock.
pub struct Store {
    db: Database,
    path: PathBuf,
    profile: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store of `profile` at `path`, creating it (mode 0600) if it does not exist,
    /// and brings its schema up to date.
    pub fn open(path: &Path, profile: &str) -> Result<Self, StoreError> {
        let errors = ErrorContext { path, profile };
        let is_new = match fs::metadata(path) {
            Ok(meta) => meta.len() == 0,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                create_private_file(path).map_err(|err| errors.storage(err))?;
                true
            }
            Err(err) => return Err(errors.storage(err)),
        };
        let db = if is_new {
            Database::create(path).map_err(|err| errors.open(err))?
        } else {
            open_existing(path, &errors)?
        };
        let store = Self {
            db,
            path: path.to_owned(),
            profile: profile.to_owned(),
        };
        store.migrate()?;
        store.ensure_journal_views()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(|err| self.err(err))?;
        read_schema_version(&txn).map_err(|err| self.err(err))
    }

    /// Returns the device's signing key, storing `candidate` as that key if the store has none
    /// yet.
    pub fn device_key_or_insert(
        &self,
        candidate: Zeroizing<[u8; DEVICE_KEY_LEN]>,
    ) -> Result<Zeroizing<[u8; DEVICE_KEY_LEN]>, StoreError> {
        let txn = self.db.begin_write().map_err(|err| self.err(err))?;
        let key = {
            let mut table = txn.open_table(IDENTITY).map_err(|err| self.err(err))?;
            let existing = table
                .get(DEVICE_KEY)
                .map_err(|err| self.err(err))?
                .map(|guard| self.decode_device_key(guard.value()));
            match existing {
                Some(key) => key?,
                None => {
                    table
                        .insert(DEVICE_KEY, candidate.as_slice())
                        .map_err(|err| self.err(err))?;
                    candidate
                }
            }
        };
        txn.commit().map_err(|err| self.err(err))?;
        Ok(key)
    }

    /// The device's signing key, if one was created.
    pub fn device_key(&self) -> Result<Option<Zeroizing<[u8; DEVICE_KEY_LEN]>>, StoreError> {
        let txn = self.db.begin_read().map_err(|err| self.err(err))?;
        let table = txn.open_table(IDENTITY).map_err(|err| self.err(err))?;
        let value = table.get(DEVICE_KEY).map_err(|err| self.err(err))?;
        value
            .map(|guard| self.decode_device_key(guard.value()))
            .transpose()
    }

    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let txn = self.db.begin_read().map_err(|err| self.err(err))?;
        let mut tables = Vec::new();
        for handle in txn.list_tables().map_err(|err| self.err(err))? {
            let name = handle.name().to_owned();
            let table = txn
                .open_untyped_table(handle)
                .map_err(|err| self.err(err))?;
            tables.push((name, table.len().map_err(|err| self.err(err))?));
        }
        tables.sort();
        let file_bytes = fs::metadata(&self.path).map_err(|err| self.err(err))?.len();
        Ok(StoreStats {
            schema_version: read_schema_version(&txn).map_err(|err| self.err(err))?,
            file_bytes,
            tables,
        })
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(|err| self.err(err))?;
        let mut version = read_schema_version(&txn).map_err(|err| self.err(err))?;
        drop(txn);
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found: version,
            });
        }
        while let Some(step) = MIGRATIONS.get(version as usize) {
            // One transaction per step: a crash between steps leaves a consistent older version.
            let txn = self.db.begin_write().map_err(|err| self.err(err))?;
            step(&txn).map_err(|err| self.err(err))?;
            version += 1;
            txn.open_table(META)
                .map_err(redb::Error::from)
                .and_then(|mut meta| {
                    meta.insert(SCHEMA_VERSION_KEY, version)
                        .map(drop)
                        .map_err(redb::Error::from)
                })
                .map_err(|err| self.err(err))?;
            txn.commit().map_err(|err| self.err(err))?;
            tracing::info!(version, "store schema migrated");
        }
        Ok(())
    }

    fn decode_device_key(
        &self,
        bytes: &[u8],
    ) -> Result<Zeroizing<[u8; DEVICE_KEY_LEN]>, StoreError> {
        let key: [u8; DEVICE_KEY_LEN] = bytes.try_into().map_err(|_| StoreError::Corrupt {
            path: self.path.clone(),
            detail: format!("device key has {} bytes", bytes.len()),
        })?;
        Ok(Zeroizing::new(key))
    }

    pub(super) fn database(&self) -> &Database {
        &self.db
    }

    /// A store whose content contradicts itself.
    pub(super) fn corrupt(&self, detail: &str) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            detail: detail.to_owned(),
        }
    }

    pub(super) fn err(&self, err: impl Into<redb::Error>) -> StoreError {
        ErrorContext {
            path: &self.path,
            profile: &self.profile,
        }
        .redb(err.into())
    }
}

/// The schema version recorded in the store; 0 for a store that has none yet.
fn read_schema_version(txn: &redb::ReadTransaction) -> Result<u64, redb::Error> {
    match txn.open_table(META) {
        Ok(meta) => Ok(meta
            .get(SCHEMA_VERSION_KEY)?
            .map(|guard| guard.value())
            .unwrap_or(0)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(err) => Err(err.into()),
    }
}

/// Opens a store that already has content, without ever writing to a file that is not sound.
fn open_existing(path: &Path, errors: &ErrorContext<'_>) -> Result<Database, StoreError> {
    match probe(path, errors) {
        Ok(()) => Database::builder()
            .open(path)
            .map_err(|err| errors.open(err)),
        Err(ProbeFailure::NeedsRepair) => repair(path, errors),
        Err(ProbeFailure::Refused(err)) => Err(err),
    }
}

enum ProbeFailure {
    /// The file was not closed cleanly; redb must repair it before use.
    NeedsRepair,
    Refused(StoreError),
}

/// Reads the whole store read-only (which never modifies the file): its schema version, and
/// every entry of every table, so that damage shows up here rather than after a write.
fn probe(path: &Path, errors: &ErrorContext<'_>) -> Result<(), ProbeFailure> {
    let outcome = corruption::catch_corruption(|| {
        let db = match Database::builder().open_read_only(path) {
            Ok(db) => db,
            Err(DatabaseError::RepairAborted) => return Err(ProbeFailure::NeedsRepair),
            Err(err) => return Err(ProbeFailure::Refused(errors.open(err))),
        };
        let refused = |err: redb::Error| ProbeFailure::Refused(errors.redb(err));
        let txn = db.begin_read().map_err(|err| refused(err.into()))?;
        let version = read_schema_version(&txn).map_err(refused)?;
        if version > SCHEMA_VERSION {
            return Err(ProbeFailure::Refused(StoreError::NewerSchema {
                path: path.to_owned(),
                found: version,
            }));
        }
        // Decoding every table's definition catches damage to the table directory itself,
        // which any later open of any table would otherwise trip over.
        for handle in txn.list_tables().map_err(|err| refused(err.into()))? {
            let table = txn
                .open_untyped_table(handle)
                .map_err(|err| refused(err.into()))?;
            table.len().map_err(|err| refused(err.into()))?;
        }
        scan_table(&txn, META).map_err(refused)?;
        scan_table(&txn, IDENTITY).map_err(refused)?;
        scan_table(&txn, journal_store::FACTS).map_err(refused)?;
        scan_table(&txn, journal_store::IDS).map_err(refused)?;
        scan_table(&txn, journal_store::VIEWS).map_err(refused)?;
        scan_table(&txn, ledger_store::LEAKAGE).map_err(refused)?;
        scan_table(&txn, ledger_store::RECEIVE).map_err(refused)
    });
    outcome.unwrap_or_else(|panic| Err(ProbeFailure::Refused(errors.corrupt(panic))))
}

/// Reads every entry of `table`, if it exists, so that every page of it is visited.
fn scan_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<(), redb::Error> {
    let table = match txn.open_table(table) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    for entry in table.iter()? {
        let (key, value) = entry?;
        // Decoding is where damaged bytes would surface.
        let _ = (key.value(), value.value());
    }
    Ok(())
}

/// Lets redb repair a store left open by a crash, keeping a copy to restore if it fails.
fn repair(path: &Path, errors: &ErrorContext<'_>) -> Result<Database, StoreError> {
    let backup = path.with_extension(format!("redb.{REPAIR_BACKUP_SUFFIX}"));
    tracing::warn!(path = %path.display(), "store was not closed cleanly; repairing");
    copy_private(path, &backup).map_err(|err| errors.storage(err))?;
    match Database::builder().open(path) {
        Ok(db) => {
            if let Err(err) = fs::remove_file(&backup) {
                tracing::warn!(%err, backup = %backup.display(), "cannot remove repair backup");
            }
            Ok(db)
        }
        Err(err) => {
            let restored = fs::rename(&backup, path);
            let mut error = errors.open(err);
            if let (Err(restore_err), StoreError::Corrupt { detail, .. }) = (restored, &mut error) {
                detail.push_str(&format!(
                    "; the original is kept at {} ({restore_err})",
                    backup.display()
                ));
            }
            Err(error)
        }
    }
}

fn create_private_file(path: &Path) -> std::io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
        .map(drop)
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

/// What an error needs to name the store and profile it is about.
struct ErrorContext<'a> {
    path: &'a Path,
    profile: &'a str,
}

impl ErrorContext<'_> {
    fn open(&self, err: DatabaseError) -> StoreError {
        match err {
            DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
                StoreError::Locked {
                    profile: self.profile.to_owned(),
                    path: self.path.to_owned(),
                }
            }
            DatabaseError::UpgradeRequired(format) => self.corrupt(format!(
                "redb file format {format} is older than this build reads"
            )),
            DatabaseError::RepairAborted => self.corrupt("repair failed".to_owned()),
            DatabaseError::Storage(storage) => self.redb(storage.into()),
            other => self.redb(other.into()),
        }
    }

    fn redb(&self, err: redb::Error) -> StoreError {
        match err {
            redb::Error::DatabaseAlreadyOpen => StoreError::Locked {
                profile: self.profile.to_owned(),
                path: self.path.to_owned(),
            },
            redb::Error::Corrupted(detail) => self.corrupt(detail),
            redb::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
                self.corrupt(io.to_string())
            }
            redb::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.corrupt(format!("truncated: {io}"))
            }
            redb::Error::TableTypeMismatch { table, .. } => {
                self.corrupt(format!("table {table} has an unexpected type"))
            }
            other => self.storage(other),
        }
    }

    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.to_owned(),
            detail,
        }
    }

    fn storage(&self, err: impl std::fmt::Display) -> StoreError {
        StoreError::Storage {
            path: self.path.to_owned(),
            detail: err.to_string(),
        }
    }
}
