//! What relationships keep outside the journal: each contact's pairwise context and secret
//! (the secret never goes into a fact), and the acceptances this device is waiting on (the
//! code, secret included, until the inviter answers).
//!
//! | table | key | value |
//! |---|---|---|
//! | `contacts` | peer device key (32) | pairwise context (32) · pairwise secret (32) · since, ms (8) |
//! | `acceptances` | invitation key (32) | started, ms (8) · give up at, ms (8) · code length (2) · code text |
//!
//! Numbers are big-endian.

use zeroize::Zeroizing;

use crate::state::codec::{Reader, Writer};
use crate::state::fact::{ContextId, DeviceKey};

use super::error::Fault;
use super::txn::{ReadTxn, TableSpec, WriteTxn};

/// The longest code kept: the cap every code is checked against.
pub const MAX_STORED_CODE_BYTES: usize = 4096;

pub(super) const CONTACTS: TableSpec<&[u8], &[u8]> = TableSpec::new("contacts", |key, value| {
    decode_contact(key, value).map(drop)
});
pub(super) const ACCEPTANCES: TableSpec<&[u8], &[u8]> =
    TableSpec::new("acceptances", |key, value| {
        decode_acceptance(key, value).map(drop)
    });

/// A contact's row: where the relationship's facts live and the secret the pair shares.
#[derive(Clone, PartialEq, Eq)]
pub struct ContactRow {
    pub peer: DeviceKey,
    pub context: ContextId,
    pub secret: Zeroizing<[u8; 32]>,
    pub since_ms: u64,
}

impl std::fmt::Debug for ContactRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactRow")
            .field("peer", &self.peer)
            .field("context", &self.context)
            .field("since_ms", &self.since_ms)
            .finish_non_exhaustive()
    }
}

/// An acceptance waiting on its inviter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptanceRow {
    pub invitation: [u8; 32],
    pub started_ms: u64,
    pub give_up_ms: u64,
    pub code: String,
}

fn key32(key: &[u8], what: &str) -> Result<[u8; 32], String> {
    key.try_into()
        .map_err(|_| format!("a {what} key of {} bytes", key.len()))
}

fn decode_contact(key: &[u8], value: &[u8]) -> Result<ContactRow, String> {
    let peer = DeviceKey(key32(key, "contact")?);
    let bad = |err: crate::state::codec::DecodeError| format!("a contact: {err}");
    let mut reader = Reader::new(value);
    let context = ContextId(reader.array("context").map_err(bad)?);
    let secret = Zeroizing::new(reader.array("secret").map_err(bad)?);
    let since_ms = reader.u64("since").map_err(bad)?;
    reader.finish().map_err(bad)?;
    Ok(ContactRow {
        peer,
        context,
        secret,
        since_ms,
    })
}

fn decode_acceptance(key: &[u8], value: &[u8]) -> Result<AcceptanceRow, String> {
    let invitation = key32(key, "acceptance")?;
    let bad = |err: crate::state::codec::DecodeError| format!("an acceptance: {err}");
    let mut reader = Reader::new(value);
    let started_ms = reader.u64("started").map_err(bad)?;
    let give_up_ms = reader.u64("give up").map_err(bad)?;
    let len = usize::from(reader.u16("code length").map_err(bad)?);
    if len > MAX_STORED_CODE_BYTES {
        return Err(format!("an acceptance: a code of {len} bytes"));
    }
    let code = std::str::from_utf8(reader.take(len, "code").map_err(bad)?)
        .map_err(|_| "an acceptance: a code that is not text".to_owned())?
        .to_owned();
    reader.finish().map_err(bad)?;
    Ok(AcceptanceRow {
        invitation,
        started_ms,
        give_up_ms,
        code,
    })
}

/// Records a contact, replacing an earlier row of the same peer.
pub(super) fn put_contact(txn: &WriteTxn, row: &ContactRow) -> Result<(), Fault> {
    let mut writer = Writer::with_capacity(72);
    writer
        .raw(&row.context.0)
        .raw(row.secret.as_slice())
        .u64(row.since_ms);
    let value = Zeroizing::new(writer.into_bytes());
    txn.table(&CONTACTS)?
        .insert(row.peer.0.as_slice(), value.as_slice())?;
    Ok(())
}

pub(super) fn contacts(txn: &ReadTxn) -> Result<Vec<ContactRow>, Fault> {
    let mut rows = Vec::new();
    for row in txn.table(&CONTACTS)?.iter()? {
        let (key, value) = row?;
        rows.push(decode_contact(key.value(), value.value()).map_err(Fault::Corrupt)?);
    }
    Ok(rows)
}

/// Records an acceptance; a code over the cap is refused by the caller first, so it is cut
/// here only to keep the row readable.
pub(super) fn put_acceptance(txn: &WriteTxn, row: &AcceptanceRow) -> Result<(), Fault> {
    let code = &row.code.as_bytes()[..row.code.len().min(MAX_STORED_CODE_BYTES)];
    let mut writer = Writer::with_capacity(18 + code.len());
    writer
        .u64(row.started_ms)
        .u64(row.give_up_ms)
        .u16(code.len() as u16)
        .raw(code);
    let value = Zeroizing::new(writer.into_bytes());
    txn.table(&ACCEPTANCES)?
        .insert(row.invitation.as_slice(), value.as_slice())?;
    Ok(())
}

pub(super) fn remove_acceptance(txn: &WriteTxn, invitation: &[u8; 32]) -> Result<bool, Fault> {
    Ok(txn
        .table(&ACCEPTANCES)?
        .remove(invitation.as_slice())?
        .is_some())
}

pub(super) fn acceptances(txn: &ReadTxn) -> Result<Vec<AcceptanceRow>, Fault> {
    let mut rows = Vec::new();
    for row in txn.table(&ACCEPTANCES)?.iter()? {
        let (key, value) = row?;
        rows.push(decode_acceptance(key.value(), value.value()).map_err(Fault::Corrupt)?);
    }
    Ok(rows)
}
