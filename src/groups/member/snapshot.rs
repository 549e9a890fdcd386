//! A membership written down, to resume after the process restarts.
//!
//! A snapshot holds the MLS state of the epoch the member follows (secrets included: the
//! store seals it) and what the member was asked for and has not made final. After
//! [`GroupMember::restore`] the shell offers the membership every commit of its journal
//! again, and the messages it had not read: the member starts from the epoch it followed,
//! final for it, and converges from there like any member (stranded, and brought back, if
//! the group went on on a branch it can no longer reach). Epochs before it are gone, with
//! their keys: messages sent in them that were not read before the snapshot stay unread.
//!
//! The state moves on with every message this member sends or reads, and a state restored
//! from before a send would send again under the same key and nonce: the shell writes a
//! snapshot with every fact the member writes, and after every read, in the same
//! transaction.
//!
//! Layout (big-endian): version; context id; device key; the epoch number the membership
//! joined at; the epoch number it resumes at; departed (0 or 1); the exported state
//! (length, bytes); intents of this member's commits not known to have won (count, then
//! each with the epoch number its commit led to); intents not made yet (count, each); digests
//! of the leaves the membership held (count, 32 bytes each; absent from older snapshots).
//! An intent is a tag and its body. Decoding bytes from a damaged store
//! is an error, never a panic, and every length is capped before anything is allocated.

use super::{GroupMember, Intent, MAX_GROUP_NAME_BYTES, signing_key};
use crate::crypto::codec::{Decode, Encode};
use crate::crypto::group::{Group, GroupError};
use crate::crypto::key_package::KeyPackage;
use crate::crypto::secret::Secret;
use crate::groups::facts::MAX_REJOIN_LEAVES;
use crate::groups::leave::{LEAVE_REQUEST_BYTES, LeaveRequest};
use crate::groups::policy::PolicyChange;
use crate::state::codec::{DecodeError, Reader, Writer};
use crate::state::fact::{ContextId, DeviceKey};

/// Format of [`GroupMember::snapshot`].
pub const SNAPSHOT_VERSION: u8 = 1;
/// Largest snapshot restored: a group of the largest size's state, and its intents.
pub const MAX_SNAPSHOT_BYTES: usize = 16 << 20;
/// Most intents a snapshot carries, of each of its two lists.
pub const MAX_SNAPSHOT_INTENTS: usize = 1_024;
/// Largest KeyPackage an intent carries.
const MAX_KEY_PACKAGE_BYTES: usize = 64 << 10;

const ADD: u8 = 0;
const REMOVE: u8 = 1;
const UPDATE: u8 = 2;
const RENAME: u8 = 3;
const READD: u8 = 4;
const SET_POLICY: u8 = 5;
const REMOVE_LEAVING: u8 = 6;
/// Largest policy change an intent carries.
const MAX_POLICY_CHANGE_BYTES: usize = 1_024;

/// Why a snapshot could not be written or restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the membership holds no state to resume: the device is out of the group")]
    Removed,
    #[error("a damaged snapshot: {0}")]
    Damaged(#[from] DecodeError),
    #[error("a snapshot of {0} bytes, over the cap")]
    TooLarge(usize),
    #[error("a snapshot of another device's membership")]
    WrongDevice,
    #[error(transparent)]
    Group(#[from] GroupError),
}

fn damaged(field: &'static str, detail: impl Into<String>) -> SnapshotError {
    SnapshotError::Damaged(DecodeError::Invalid {
        field,
        detail: detail.into(),
    })
}

fn write_bytes(writer: &mut Writer, bytes: &[u8]) -> Result<(), SnapshotError> {
    let len = u32::try_from(bytes.len()).map_err(|_| SnapshotError::TooLarge(bytes.len()))?;
    writer.u32(len).raw(bytes);
    Ok(())
}

fn read_bytes<'a>(
    reader: &mut Reader<'a>,
    field: &'static str,
    cap: usize,
) -> Result<&'a [u8], SnapshotError> {
    let len = reader.u32(field)? as usize;
    if len > cap {
        return Err(damaged(
            field,
            format!("{len} bytes, over the cap of {cap}"),
        ));
    }
    Ok(reader.take(len, field)?)
}

fn write_intent(writer: &mut Writer, intent: &Intent) -> Result<(), SnapshotError> {
    let package = |package: &KeyPackage| {
        package
            .to_tls_bytes()
            .map_err(|err| SnapshotError::Group(GroupError::Crypto(err.into())))
    };
    match intent {
        Intent::Add(key_package) => {
            writer.u8(ADD);
            write_bytes(writer, &package(key_package)?)?;
        }
        Intent::Remove(device) => {
            writer.u8(REMOVE).raw(&device.0);
        }
        Intent::Update => {
            writer.u8(UPDATE);
        }
        Intent::Rename(name) => {
            writer.u8(RENAME);
            write_bytes(writer, name.as_bytes())?;
        }
        Intent::Readd {
            device,
            key_package,
        } => {
            writer.u8(READD).raw(&device.0);
            write_bytes(writer, &package(key_package)?)?;
        }
        Intent::SetPolicy(change) => {
            writer.u8(SET_POLICY);
            write_bytes(writer, &change.encode())?;
        }
        Intent::RemoveLeaving(request) => {
            writer.u8(REMOVE_LEAVING);
            write_bytes(writer, &request.encode())?;
        }
    }
    Ok(())
}

fn read_intent(reader: &mut Reader<'_>) -> Result<Intent, SnapshotError> {
    let package = |reader: &mut Reader<'_>| -> Result<Box<KeyPackage>, SnapshotError> {
        let bytes = read_bytes(reader, "key package", MAX_KEY_PACKAGE_BYTES)?;
        KeyPackage::from_tls_bytes(bytes)
            .map(Box::new)
            .map_err(|err| damaged("key package", err.to_string()))
    };
    Ok(match reader.u8("intent")? {
        ADD => Intent::Add(package(reader)?),
        REMOVE => Intent::Remove(DeviceKey(reader.array("removed device")?)),
        UPDATE => Intent::Update,
        RENAME => {
            let name = read_bytes(reader, "name", MAX_GROUP_NAME_BYTES)?;
            Intent::Rename(
                String::from_utf8(name.to_vec()).map_err(|_| damaged("name", "not UTF-8"))?,
            )
        }
        READD => Intent::Readd {
            device: DeviceKey(reader.array("re-added device")?),
            key_package: package(reader)?,
        },
        SET_POLICY => {
            let change = read_bytes(reader, "policy change", MAX_POLICY_CHANGE_BYTES)?;
            Intent::SetPolicy(
                PolicyChange::decode(change)
                    .map_err(|err| damaged("policy change", err.to_string()))?,
            )
        }
        REMOVE_LEAVING => {
            let request = read_bytes(reader, "leave request", LEAVE_REQUEST_BYTES)?;
            Intent::RemoveLeaving(Box::new(
                LeaveRequest::decode(request)
                    .map_err(|err| damaged("leave request", err.to_string()))?,
            ))
        }
        other => return Err(damaged("intent", format!("unknown tag {other}"))),
    })
}

fn write_intents<'a>(
    writer: &mut Writer,
    intents: impl ExactSizeIterator<Item = &'a Intent>,
) -> Result<(), SnapshotError> {
    // More than the cap are not written: the oldest are kept, the rest would not be
    // restored anyway.
    let count = intents.len().min(MAX_SNAPSHOT_INTENTS);
    writer.u32(u32::try_from(count).unwrap_or(u32::MAX));
    for intent in intents.take(count) {
        write_intent(writer, intent)?;
    }
    Ok(())
}

fn read_intents(reader: &mut Reader<'_>) -> Result<Vec<Intent>, SnapshotError> {
    let count = reader.u32("intent count")? as usize;
    if count > MAX_SNAPSHOT_INTENTS {
        return Err(damaged("intent count", format!("{count}")));
    }
    (0..count).map(|_| read_intent(reader)).collect()
}

impl GroupMember {
    /// What this membership needs to resume after a restart (see the module's notes);
    /// secret: the store seals it.
    pub fn snapshot(&self) -> Result<Secret, SnapshotError> {
        if self.is_removed() {
            return Err(SnapshotError::Removed);
        }
        let (state, epoch) = match (self.convergence.current_state(), self.epoch()) {
            (Some(state), Some((_, epoch))) => (state.group().export_state()?, epoch),
            _ => return Err(SnapshotError::Removed),
        };
        let mut writer = Writer::with_capacity(state.len().saturating_add(4_096));
        writer
            .u8(SNAPSHOT_VERSION)
            .raw(&self.context.0)
            .raw(&self.device.0)
            .u64(self.joined_epoch)
            .u64(epoch)
            .u8(u8::from(self.departed));
        write_bytes(&mut writer, state.as_bytes())?;
        // Commits that may still lose and those final for this member alike, with the epoch
        // number each led to: after the restart its window is gone, so all are final.
        let own: Vec<(u64, &Intent)> = self
            .settled_own
            .iter()
            .map(|(epoch, intent)| (*epoch, intent))
            .chain(self.pending.iter().map(|(commit, intent)| {
                let epoch = self.pending_epochs.get(commit).copied().unwrap_or(epoch);
                (epoch, intent)
            }))
            .collect();
        let count = own.len().min(MAX_SNAPSHOT_INTENTS);
        writer.u32(u32::try_from(count).unwrap_or(u32::MAX));
        for (at, intent) in own.into_iter().take(count) {
            writer.u64(at);
            write_intent(&mut writer, intent)?;
        }
        write_intents(&mut writer, self.intents.iter())?;
        let leaves = self.own_leaves.len().min(MAX_REJOIN_LEAVES);
        writer.u8(u8::try_from(leaves).unwrap_or(u8::MAX));
        for leaf in self.own_leaves.iter().skip(self.own_leaves.len() - leaves) {
            writer.raw(leaf);
        }
        Ok(Secret::new(writer.into_bytes()))
    }

    /// A membership from [`Self::snapshot`] of this device (`device_seed`). The shell then
    /// offers it the commits of its journal and the messages it had not read.
    pub fn restore(bytes: &[u8], device_seed: &[u8; 32]) -> Result<Self, SnapshotError> {
        if bytes.len() > MAX_SNAPSHOT_BYTES {
            return Err(SnapshotError::TooLarge(bytes.len()));
        }
        let mut reader = Reader::new(bytes);
        let version = reader.u8("version")?;
        if version != SNAPSHOT_VERSION {
            return Err(DecodeError::UnknownVersion(version).into());
        }
        let context = ContextId(reader.array("context")?);
        let device = DeviceKey(reader.array("device")?);
        let joined_epoch = reader.u64("joined epoch")?;
        let resumed_epoch = reader.u64("resumed epoch")?;
        let departed = match reader.u8("departed")? {
            0 => false,
            1 => true,
            other => return Err(damaged("departed", format!("{other}"))),
        };
        let state = read_bytes(&mut reader, "state", MAX_SNAPSHOT_BYTES)?;
        let count = reader.u32("own intent count")? as usize;
        if count > MAX_SNAPSHOT_INTENTS {
            return Err(damaged("own intent count", format!("{count}")));
        }
        let own = (0..count)
            .map(|_| Ok((reader.u64("own intent epoch")?, read_intent(&mut reader)?)))
            .collect::<Result<std::collections::VecDeque<_>, SnapshotError>>()?;
        let intents = read_intents(&mut reader)?;
        // Snapshots written before the leaves were kept end here.
        let mut leaves = std::collections::VecDeque::new();
        if reader.remaining() > 0 {
            let count = usize::from(reader.u8("own leaf count")?);
            if count > MAX_REJOIN_LEAVES {
                return Err(damaged("own leaf count", format!("{count}")));
            }
            for _ in 0..count {
                leaves.push_back(reader.array("own leaf")?);
            }
        }
        reader.finish()?;

        let key = signing_key(device_seed)?;
        if DeviceKey(key.public_key().to_bytes()) != device {
            return Err(SnapshotError::WrongDevice);
        }
        let group = Group::import_state(state)?;
        if group.group_id() != context.0.as_slice() || group.epoch() != resumed_epoch {
            return Err(damaged(
                "state",
                "another group or epoch than the snapshot names",
            ));
        }
        if group
            .members()
            .all(|(_, leaf)| leaf.signature_key != device.0)
        {
            return Err(SnapshotError::WrongDevice);
        }
        let mut member = Self::with(context, device, group)?;
        member.joined_epoch = joined_epoch.min(resumed_epoch);
        member.departed = departed;
        member.settled_own = own;
        member.resumed_epoch = resumed_epoch;
        member.intents = intents.into();
        // The leaf of the state restored was noted by `with`; it is the latest.
        let current = member.own_leaves.pop_back();
        member.own_leaves = leaves;
        if let Some(current) = current {
            member.own_leaves.retain(|leaf| *leaf != current);
            member.own_leaves.push_back(current);
        }
        while member.own_leaves.len() > MAX_REJOIN_LEAVES {
            member.own_leaves.pop_front();
        }
        Ok(member)
    }
}
