//! What can go wrong with a store: [`StoreError`] for callers, which names the file, and
//! [`Fault`] inside this module, which does not. Table code returns `Fault` through `?`; the
//! `Store` attaches the path and profile once, where an operation leaves it.

use std::path::{Path, PathBuf};

use redb::DatabaseError;

use super::schema::SCHEMA_VERSION;

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
    #[error("store {path} does not exist")]
    Missing { path: PathBuf },
    #[error(
        "store {path} was not closed cleanly; a read-only open cannot repair it: run a command that writes (such as `aura init`) once"
    )]
    NeedsRepair { path: PathBuf },
    #[error("store {path} is open read-only; it cannot be changed")]
    ReadOnly { path: PathBuf },
    #[error("store {path}: refused to write {detail}")]
    Refused { path: PathBuf, detail: String },
    #[error("store {path}: {detail}")]
    Storage { path: PathBuf, detail: String },
}

/// A store error before it is given the store's path.
#[derive(Debug)]
pub(super) enum Fault {
    Redb(redb::Error),
    /// Content that contradicts the store's own formats.
    Corrupt(String),
    NewerSchema(u64),
    /// A write on a store opened read-only.
    ReadOnly,
    /// Input a table will not hold (over a cap).
    Refused(String),
}

macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for Fault {
            fn from(err: $error) -> Self {
                Self::Redb(err.into())
            }
        }
    )*};
}

from_redb!(
    redb::Error,
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// What an error needs to name the store and the profile it is about.
#[derive(Clone, Copy)]
pub(super) struct Named<'a> {
    pub path: &'a Path,
    pub profile: &'a str,
}

impl Named<'_> {
    pub fn fault(self, fault: Fault) -> StoreError {
        match fault {
            Fault::Redb(err) => self.redb(err),
            Fault::Corrupt(detail) => self.corrupt(detail),
            Fault::NewerSchema(found) => StoreError::NewerSchema {
                path: self.path.to_owned(),
                found,
            },
            Fault::ReadOnly => StoreError::ReadOnly {
                path: self.path.to_owned(),
            },
            Fault::Refused(detail) => StoreError::Refused {
                path: self.path.to_owned(),
                detail: one_line(&detail),
            },
        }
    }

    /// An error of opening the file.
    pub fn open(self, err: DatabaseError) -> StoreError {
        match err {
            DatabaseError::UpgradeRequired(format) => self.corrupt(format!(
                "redb file format {format} is older than this build reads"
            )),
            DatabaseError::RepairAborted => StoreError::NeedsRepair {
                path: self.path.to_owned(),
            },
            other => self.redb(other.into()),
        }
    }

    fn redb(self, err: redb::Error) -> StoreError {
        match err {
            redb::Error::DatabaseAlreadyOpen | redb::Error::LockProtocolMismatch => {
                StoreError::Locked {
                    profile: self.profile.to_owned(),
                    path: self.path.to_owned(),
                }
            }
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

    pub fn corrupt(self, detail: impl AsRef<str>) -> StoreError {
        StoreError::Corrupt {
            path: self.path.to_owned(),
            detail: one_line(detail.as_ref()),
        }
    }

    pub fn storage(self, err: impl std::fmt::Display) -> StoreError {
        StoreError::Storage {
            path: self.path.to_owned(),
            detail: one_line(&err.to_string()),
        }
    }
}

/// Every store error is printed as one line, whatever a library put in its message.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
