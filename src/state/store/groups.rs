//! What groups keep outside the journal: each group's state as this device last settled it
//! (name, roster, epoch, and the MLS state to resume from), the messages read (their
//! plaintext never goes into a fact), who has read this device's messages, the private
//! halves of the KeyPackages offered to contacts, and the messages the user submitted that
//! are not sent yet.
//!
//! | table | key | value |
//! |---|---|---|
//! | `groups` | context (32) | joined, ms (8) · updated, ms (8) · sent since (8) · epoch (8) · authenticator length (1) · authenticator · removed (1) · name length (2) · name · roster count (4) · device keys (32 each) · read up to: flag (1), time (8), id (32) · snapshot length (4) · snapshot |
//! | `group_messages` | context (32) · time (8) · fact id (32) | author (32) · epoch (8) · payload |
//! | `receipts` | context (32) · fact id (32) · reader (32) | nothing |
//! | `key_packages` | reference (32) | pair context (32) · last resort (1) · made, ms (8) · package length (4) · package · init key (32) · leaf key (32) |
//! | `outbox` | context (32) · submitted, ms (8) · sequence (8) | payload |
//!
//! Numbers are big-endian; times of messages are packed hybrid clock times, so that rows of
//! a group read in key order are its messages in order.

use zeroize::Zeroizing;

use crate::state::codec::{DecodeError, Reader, Writer};
use crate::state::fact::{ContextId, DeviceKey, FactId};

use super::error::Fault;
use redb::ReadableTable;

use super::txn::{ReadTxn, TableSpec, WriteTxn};

/// Most members a group has (DESIGN.md, Limits).
pub const MAX_GROUP_MEMBERS: usize = 10_000;
/// Longest group name kept, in bytes.
pub const MAX_STORED_GROUP_NAME_BYTES: usize = 256;
/// Largest MLS state kept for one group: a tree of 10,000 members and its secrets fit.
pub const MAX_SNAPSHOT_BYTES: usize = 32 << 20;
/// Largest payload of one stored message (a text is capped at 16 KiB before it is sent).
pub const MAX_STORED_PAYLOAD_BYTES: usize = 64 * 1024;
/// Longest epoch authenticator kept (a hash of the suite: 32 or 64 bytes).
pub const MAX_AUTHENTICATOR_BYTES: usize = 64;
/// Largest KeyPackage kept.
pub const MAX_STORED_KEY_PACKAGE_BYTES: usize = 16 * 1024;

pub(super) const GROUPS: TableSpec<&[u8], &[u8]> =
    TableSpec::new("groups", |key, value| decode_group(key, value).map(drop));
pub(super) const GROUP_MESSAGES: TableSpec<&[u8], &[u8]> =
    TableSpec::new("group_messages", |key, value| {
        decode_message(key, value).map(drop)
    });
pub(super) const RECEIPTS: TableSpec<&[u8], &[u8]> = TableSpec::new("receipts", |key, value| {
    if key.len() == 96 && value.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "a receipt of {} key and {} value bytes",
            key.len(),
            value.len()
        ))
    }
});
pub(super) const KEY_PACKAGES: TableSpec<&[u8], &[u8]> =
    TableSpec::new("key_packages", |key, value| {
        decode_key_package(key, value).map(drop)
    });
pub(super) const OUTBOX: TableSpec<&[u8], &[u8]> =
    TableSpec::new("outbox", |key, value| decode_outbox(key, value).map(drop));

/// A group as this device last settled it.
#[derive(Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub context: ContextId,
    pub joined_ms: u64,
    /// When this device last put new keys on its path (post-compromise security), and how
    /// many messages it sent since.
    pub updated_ms: u64,
    pub sent_since_update: u64,
    pub epoch: u64,
    /// The epoch's authenticator (RFC 9420 §8.7): members that hold the same one hold the
    /// same group state, keys included.
    pub authenticator: Vec<u8>,
    /// The branch that removed this device won.
    pub removed: bool,
    pub name: String,
    pub roster: Vec<DeviceKey>,
    /// The last message the user was shown, as (packed time, id): later ones are unread.
    pub read_up_to: Option<(u64, FactId)>,
    /// The MLS state to resume from after a restart (`GroupMember::snapshot`).
    pub snapshot: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for GroupRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupRow")
            .field("context", &self.context)
            .field("epoch", &self.epoch)
            .field("removed", &self.removed)
            .field("name", &self.name)
            .field("members", &self.roster.len())
            .finish_non_exhaustive()
    }
}

/// A message read in a group, or written by this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    pub context: ContextId,
    /// The fact's hybrid clock time, packed.
    pub time: u64,
    pub id: FactId,
    pub author: DeviceKey,
    pub epoch: u64,
    /// The encoded `groups::payload::Payload`.
    pub payload: Vec<u8>,
}

/// The private half of a KeyPackage offered to a contact.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPackageRow {
    pub reference: [u8; 32],
    /// The pair context it was offered in.
    pub context: ContextId,
    pub last_resort: bool,
    pub made_ms: u64,
    /// The KeyPackage, TLS-encoded.
    pub key_package: Vec<u8>,
    pub init_key: Zeroizing<[u8; 32]>,
    pub leaf_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for KeyPackageRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPackageRow")
            .field("context", &self.context)
            .field("last_resort", &self.last_resort)
            .finish_non_exhaustive()
    }
}

/// A message the user submitted that is not sent yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub context: ContextId,
    pub submitted_ms: u64,
    pub sequence: u64,
    pub payload: Vec<u8>,
}

fn bad(what: &'static str) -> impl Fn(DecodeError) -> String {
    move |err| format!("{what}: {err}")
}

fn context_key(key: &[u8], len: usize, what: &str) -> Result<ContextId, String> {
    if key.len() != len {
        return Err(format!("a {what} key of {} bytes", key.len()));
    }
    let mut context = [0; 32];
    context.copy_from_slice(&key[..32]);
    Ok(ContextId(context))
}

fn decode_group(key: &[u8], value: &[u8]) -> Result<GroupRow, String> {
    let context = context_key(key, 32, "group")?;
    let bad = bad("a group");
    let mut reader = Reader::new(value);
    let joined_ms = reader.u64("joined").map_err(&bad)?;
    let updated_ms = reader.u64("updated").map_err(&bad)?;
    let sent_since_update = reader.u64("sent since update").map_err(&bad)?;
    let epoch = reader.u64("epoch").map_err(&bad)?;
    let len = usize::from(reader.u8("authenticator length").map_err(&bad)?);
    if len > MAX_AUTHENTICATOR_BYTES {
        return Err(format!("a group: an authenticator of {len} bytes"));
    }
    let authenticator = reader.take(len, "authenticator").map_err(&bad)?.to_vec();
    let removed = match reader.u8("removed").map_err(&bad)? {
        0 => false,
        1 => true,
        other => return Err(format!("a group: removed flag {other}")),
    };
    let name_len = usize::from(reader.u16("name length").map_err(&bad)?);
    if name_len > MAX_STORED_GROUP_NAME_BYTES {
        return Err(format!("a group: a name of {name_len} bytes"));
    }
    let name = std::str::from_utf8(reader.take(name_len, "name").map_err(&bad)?)
        .map_err(|_| "a group: a name that is not text".to_owned())?
        .to_owned();
    let count = usize::try_from(reader.u32("roster count").map_err(&bad)?).unwrap_or(usize::MAX);
    if count > MAX_GROUP_MEMBERS {
        return Err(format!("a group: a roster of {count}"));
    }
    let roster = (0..count)
        .map(|_| reader.array("member").map(DeviceKey))
        .collect::<Result<Vec<_>, _>>()
        .map_err(&bad)?;
    let read_up_to = match reader.u8("read flag").map_err(&bad)? {
        0 => None,
        1 => Some((
            reader.u64("read time").map_err(&bad)?,
            FactId(reader.array("read id").map_err(&bad)?),
        )),
        other => return Err(format!("a group: read flag {other}")),
    };
    let len = usize::try_from(reader.u32("snapshot length").map_err(&bad)?).unwrap_or(usize::MAX);
    if len > MAX_SNAPSHOT_BYTES {
        return Err(format!("a group: a snapshot of {len} bytes"));
    }
    let snapshot = Zeroizing::new(reader.take(len, "snapshot").map_err(&bad)?.to_vec());
    reader.finish().map_err(&bad)?;
    Ok(GroupRow {
        context,
        joined_ms,
        updated_ms,
        sent_since_update,
        epoch,
        authenticator,
        removed,
        name,
        roster,
        read_up_to,
        snapshot,
    })
}

fn encode_group(row: &GroupRow) -> Zeroizing<Vec<u8>> {
    // Caps are checked by the group module; a value over them is cut here only so that the
    // row stays readable.
    let mut name_end = row.name.len().min(MAX_STORED_GROUP_NAME_BYTES);
    while !row.name.is_char_boundary(name_end) {
        name_end -= 1;
    }
    let name = &row.name.as_bytes()[..name_end];
    let roster = &row.roster[..row.roster.len().min(MAX_GROUP_MEMBERS)];
    let authenticator = &row.authenticator[..row.authenticator.len().min(MAX_AUTHENTICATOR_BYTES)];
    let snapshot = &row.snapshot[..row.snapshot.len().min(MAX_SNAPSHOT_BYTES)];
    let mut writer =
        Writer::with_capacity(64 + name.len() + 32 * roster.len() + 41 + snapshot.len());
    writer
        .u64(row.joined_ms)
        .u64(row.updated_ms)
        .u64(row.sent_since_update)
        .u64(row.epoch)
        .u8(authenticator.len() as u8)
        .raw(authenticator)
        .u8(u8::from(row.removed))
        .u16(name.len() as u16)
        .raw(name)
        .u32(roster.len() as u32);
    for member in roster {
        writer.raw(&member.0);
    }
    match row.read_up_to {
        None => {
            writer.u8(0);
        }
        Some((time, id)) => {
            writer.u8(1).u64(time).raw(&id.0);
        }
    }
    writer.u32(snapshot.len() as u32).raw(snapshot);
    Zeroizing::new(writer.into_bytes())
}

fn message_key(context: &ContextId, time: u64, id: &FactId) -> [u8; 72] {
    let mut key = [0; 72];
    key[..32].copy_from_slice(&context.0);
    key[32..40].copy_from_slice(&time.to_be_bytes());
    key[40..].copy_from_slice(&id.0);
    key
}

fn decode_message(key: &[u8], value: &[u8]) -> Result<MessageRow, String> {
    let context = context_key(key, 72, "message")?;
    let mut time = [0; 8];
    time.copy_from_slice(&key[32..40]);
    let mut id = [0; 32];
    id.copy_from_slice(&key[40..]);
    let bad = bad("a message");
    let mut reader = Reader::new(value);
    let author = DeviceKey(reader.array("author").map_err(&bad)?);
    let epoch = reader.u64("epoch").map_err(&bad)?;
    let payload = reader.rest();
    if payload.len() > MAX_STORED_PAYLOAD_BYTES {
        return Err(format!("a message: a payload of {} bytes", payload.len()));
    }
    Ok(MessageRow {
        context,
        time: u64::from_be_bytes(time),
        id: FactId(id),
        author,
        epoch,
        payload: payload.to_vec(),
    })
}

fn decode_key_package(key: &[u8], value: &[u8]) -> Result<KeyPackageRow, String> {
    let reference: [u8; 32] = key
        .try_into()
        .map_err(|_| format!("a key package key of {} bytes", key.len()))?;
    let bad = bad("a key package");
    let mut reader = Reader::new(value);
    let context = ContextId(reader.array("context").map_err(&bad)?);
    let last_resort = match reader.u8("last resort").map_err(&bad)? {
        0 => false,
        1 => true,
        other => return Err(format!("a key package: last-resort flag {other}")),
    };
    let made_ms = reader.u64("made").map_err(&bad)?;
    let len = usize::try_from(reader.u32("package length").map_err(&bad)?).unwrap_or(usize::MAX);
    if len > MAX_STORED_KEY_PACKAGE_BYTES {
        return Err(format!("a key package of {len} bytes"));
    }
    let key_package = reader.take(len, "package").map_err(&bad)?.to_vec();
    let init_key = Zeroizing::new(reader.array("init key").map_err(&bad)?);
    let leaf_key = Zeroizing::new(reader.array("leaf key").map_err(&bad)?);
    reader.finish().map_err(&bad)?;
    Ok(KeyPackageRow {
        reference,
        context,
        last_resort,
        made_ms,
        key_package,
        init_key,
        leaf_key,
    })
}

fn outbox_key(row: &OutboxRow) -> [u8; 48] {
    let mut key = [0; 48];
    key[..32].copy_from_slice(&row.context.0);
    key[32..40].copy_from_slice(&row.submitted_ms.to_be_bytes());
    key[40..].copy_from_slice(&row.sequence.to_be_bytes());
    key
}

fn decode_outbox(key: &[u8], value: &[u8]) -> Result<OutboxRow, String> {
    let context = context_key(key, 48, "outbox")?;
    let mut submitted = [0; 8];
    submitted.copy_from_slice(&key[32..40]);
    let mut sequence = [0; 8];
    sequence.copy_from_slice(&key[40..]);
    if value.len() > MAX_STORED_PAYLOAD_BYTES {
        return Err(format!("an outbox payload of {} bytes", value.len()));
    }
    Ok(OutboxRow {
        context,
        submitted_ms: u64::from_be_bytes(submitted),
        sequence: u64::from_be_bytes(sequence),
        payload: value.to_vec(),
    })
}

/// The keys of `context`'s rows in a table whose keys start with the context.
fn context_range(context: &ContextId, len: usize) -> (Vec<u8>, Vec<u8>) {
    let mut low = context.0.to_vec();
    low.resize(len, 0);
    let mut high = context.0.to_vec();
    high.resize(len, 0xff);
    (low, high)
}

pub(super) fn put_group(txn: &WriteTxn, row: &GroupRow) -> Result<(), Fault> {
    let value = encode_group(row);
    txn.table(&GROUPS)?
        .insert(row.context.0.as_slice(), value.as_slice())?;
    Ok(())
}

pub(super) fn groups(txn: &ReadTxn) -> Result<Vec<GroupRow>, Fault> {
    let mut rows = Vec::new();
    for row in txn.table(&GROUPS)?.iter()? {
        let (key, value) = row?;
        rows.push(decode_group(key.value(), value.value()).map_err(Fault::Corrupt)?);
    }
    Ok(rows)
}

/// Stores messages; one already stored is left as it was. Returns how many were new.
pub(super) fn put_messages(txn: &WriteTxn, rows: &[MessageRow]) -> Result<usize, Fault> {
    let mut table = txn.table(&GROUP_MESSAGES)?;
    let mut added = 0;
    for row in rows {
        let key = message_key(&row.context, row.time, &row.id);
        if table.get(key.as_slice())?.is_some() {
            continue;
        }
        let payload = &row.payload[..row.payload.len().min(MAX_STORED_PAYLOAD_BYTES)];
        let mut writer = Writer::with_capacity(40 + payload.len());
        writer.raw(&row.author.0).u64(row.epoch).raw(payload);
        table.insert(key.as_slice(), writer.into_bytes().as_slice())?;
        added += 1;
    }
    Ok(added)
}

/// The last `limit` messages of `context`, oldest first.
pub(super) fn messages(
    txn: &ReadTxn,
    context: &ContextId,
    limit: usize,
) -> Result<Vec<MessageRow>, Fault> {
    let (low, high) = context_range(context, 72);
    let table = txn.table(&GROUP_MESSAGES)?;
    let mut rows = Vec::new();
    for row in table.range(low.as_slice()..=high.as_slice())?.rev() {
        if rows.len() >= limit {
            break;
        }
        let (key, value) = row?;
        rows.push(decode_message(key.value(), value.value()).map_err(Fault::Corrupt)?);
    }
    rows.reverse();
    Ok(rows)
}

/// How many messages of `context` come after `after` (all of them for `None`), not
/// counting those of `own` device.
pub(super) fn count_after(
    txn: &ReadTxn,
    context: &ContextId,
    after: Option<(u64, FactId)>,
    own: &DeviceKey,
) -> Result<usize, Fault> {
    let (low, high) = context_range(context, 72);
    let low = match after {
        Some((time, id)) => {
            let mut key = message_key(context, time, &id).to_vec();
            key.push(0);
            key
        }
        None => low,
    };
    let table = txn.table(&GROUP_MESSAGES)?;
    let mut count = 0;
    for row in table.range(low.as_slice()..=high.as_slice())? {
        let (_, value) = row?;
        if value.value().get(..32) != Some(own.0.as_slice()) {
            count += 1;
        }
    }
    Ok(count)
}

pub(super) fn add_receipts(
    txn: &WriteTxn,
    context: &ContextId,
    reader: &DeviceKey,
    ids: &[FactId],
) -> Result<(), Fault> {
    let mut table = txn.table(&RECEIPTS)?;
    for id in ids {
        let mut key = [0; 96];
        key[..32].copy_from_slice(&context.0);
        key[32..64].copy_from_slice(&id.0);
        key[64..].copy_from_slice(&reader.0);
        table.insert(key.as_slice(), [].as_slice())?;
    }
    Ok(())
}

/// Who has read message `id` of `context`.
pub(super) fn readers(
    txn: &ReadTxn,
    context: &ContextId,
    id: &FactId,
) -> Result<Vec<DeviceKey>, Fault> {
    let mut low = context.0.to_vec();
    low.extend_from_slice(&id.0);
    let mut high = low.clone();
    low.resize(96, 0);
    high.resize(96, 0xff);
    let mut readers = Vec::new();
    for row in txn
        .table(&RECEIPTS)?
        .range(low.as_slice()..=high.as_slice())?
    {
        let (key, _) = row?;
        let key = key.value();
        let mut reader = [0; 32];
        reader.copy_from_slice(&key[64..]);
        readers.push(DeviceKey(reader));
    }
    Ok(readers)
}

pub(super) fn put_key_packages(txn: &WriteTxn, rows: &[KeyPackageRow]) -> Result<(), Fault> {
    let mut table = txn.table(&KEY_PACKAGES)?;
    for row in rows {
        let package = &row.key_package[..row.key_package.len().min(MAX_STORED_KEY_PACKAGE_BYTES)];
        let mut writer = Writer::with_capacity(120 + package.len());
        writer
            .raw(&row.context.0)
            .u8(u8::from(row.last_resort))
            .u64(row.made_ms)
            .u32(package.len() as u32)
            .raw(package)
            .raw(row.init_key.as_slice())
            .raw(row.leaf_key.as_slice());
        let value = Zeroizing::new(writer.into_bytes());
        table.insert(row.reference.as_slice(), value.as_slice())?;
    }
    Ok(())
}

pub(super) fn key_packages(txn: &ReadTxn) -> Result<Vec<KeyPackageRow>, Fault> {
    let mut rows = Vec::new();
    for row in txn.table(&KEY_PACKAGES)?.iter()? {
        let (key, value) = row?;
        rows.push(decode_key_package(key.value(), value.value()).map_err(Fault::Corrupt)?);
    }
    Ok(rows)
}

pub(super) fn remove_key_package(txn: &WriteTxn, reference: &[u8; 32]) -> Result<bool, Fault> {
    Ok(txn
        .table(&KEY_PACKAGES)?
        .remove(reference.as_slice())?
        .is_some())
}

pub(super) fn put_outbox(txn: &WriteTxn, row: &OutboxRow) -> Result<(), Fault> {
    let payload = &row.payload[..row.payload.len().min(MAX_STORED_PAYLOAD_BYTES)];
    txn.table(&OUTBOX)?
        .insert(outbox_key(row).as_slice(), payload)?;
    Ok(())
}

pub(super) fn remove_outbox(txn: &WriteTxn, row: &OutboxRow) -> Result<bool, Fault> {
    Ok(txn
        .table(&OUTBOX)?
        .remove(outbox_key(row).as_slice())?
        .is_some())
}

pub(super) fn outbox(txn: &ReadTxn) -> Result<Vec<OutboxRow>, Fault> {
    let mut rows = Vec::new();
    for row in txn.table(&OUTBOX)?.iter()? {
        let (key, value) = row?;
        rows.push(decode_outbox(key.value(), value.value()).map_err(Fault::Corrupt)?);
    }
    Ok(rows)
}
