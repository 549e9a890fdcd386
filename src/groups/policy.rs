//! A group's capability policy: who may add, remove, rename and change the policy itself.
//!
//! The policy lives in the group context, in the [`GROUP_POLICY_EXTENSION`] extension, so
//! it is sealed with every commit like the name, and every member reads the same one at the
//! same epoch. It is a default grant, which every member holds, and optional grants of single
//! devices; a device's effective set is the meet (intersection) of the default grant and its
//! own grant, so a grant can only narrow what the default allows, never widen it. A group
//! whose context carries no policy lets every member do everything.
//!
//! [`check`] is what every member runs on a commit before taking it (convergence rejects a
//! commit that fails, the same way at every member); the committing member runs the same
//! check before it commits, and drops an intent the policy refuses.
//!
//! Encoding (big-endian): format (1); the default grant as a capability list; a grant count
//! (2) and that many grants, each a device key (32) and a capability list. A capability
//! list is a count (1) and that many names, each a length (1) and ASCII. Lists are written
//! in order; a list read in any order is taken, but an unknown name, a name or a device
//! given twice, more than [`MAX_POLICY_GRANTS`] grants, trailing bytes or more than
//! [`MAX_POLICY_BYTES`] make the policy invalid, and so the commit that sets it.

use std::collections::BTreeMap;

pub use crate::crypto::group::GROUP_POLICY_EXTENSION;
use crate::crypto::group_context::Extension;
use crate::state::capability::{Capability, CapabilitySet};
use crate::state::codec::{DecodeError, Reader, Writer};
use crate::state::fact::DeviceKey;
use crate::state::semilattice::Meet;

/// To add members.
pub const ADD: &str = "add";
/// To remove other members (leaving, and bringing back a stranded member, need nothing).
pub const REMOVE: &str = "remove";
/// To rename the group.
pub const RENAME: &str = "rename";
/// To change the policy itself (and any other part of the group context but the name).
pub const POLICY: &str = "policy";
/// Every group capability, in the order they are shown.
pub const GROUP_CAPABILITIES: [&str; 4] = [ADD, REMOVE, RENAME, POLICY];
/// The encoding's format.
pub const POLICY_FORMAT: u8 = 1;
/// Most devices a policy names: with the rest of a commit, a policy fits a fact.
pub const MAX_POLICY_GRANTS: usize = 256;
/// Largest encoded policy: a full one takes under 16 KiB.
pub const MAX_POLICY_BYTES: usize = 16 * 1024;

/// Why a policy was refused, or why it refuses a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("a group policy of {0} bytes; at most {MAX_POLICY_BYTES}")]
    TooLarge(usize),
    #[error("a group policy of format {0}; this build reads format {POLICY_FORMAT}")]
    Format(u8),
    #[error("`{0}` is not a group capability (they are add, remove, rename, policy)")]
    UnknownCapability(String),
    #[error("the capability `{0}` is given twice")]
    DuplicateCapability(String),
    #[error("a policy grants one member twice")]
    DuplicateGrant,
    #[error("a policy of {0} member grants; at most {MAX_POLICY_GRANTS}")]
    TooManyGrants(usize),
    #[error("a malformed group policy: {0}")]
    Malformed(#[from] DecodeError),
    /// The author of a change lacks the capability it needs.
    #[error("its author may not {action}: the group's policy does not grant it `{capability}`")]
    Denied {
        capability: &'static str,
        action: &'static str,
    },
    #[error("a proposal by reference, which the group's policy cannot check")]
    ByReference,
    #[error("a commit whose author or proposals cannot be read against its epoch")]
    Unreadable,
}

/// What a device may do in a group, as the policy says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPolicy {
    default: CapabilitySet,
    grants: BTreeMap<DeviceKey, CapabilitySet>,
}

/// One change of a policy, applied to the policy of the epoch it is committed on (so that
/// two changes made one after the other both hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyChange {
    /// Sets the grant every member holds.
    Default(CapabilitySet),
    /// Sets one member's own grant (narrowing the default).
    Grant {
        device: DeviceKey,
        capabilities: CapabilitySet,
    },
    /// Takes one member's own grant away: it holds the default again.
    Reset(DeviceKey),
}

/// Every group capability.
pub fn all_capabilities() -> CapabilitySet {
    CapabilitySet::new(GROUP_CAPABILITIES.map(Capability::new))
}

/// The set `names` spell: each a group capability, none twice.
pub fn parse_capabilities<S: AsRef<str>>(names: &[S]) -> Result<CapabilitySet, PolicyError> {
    let mut set = std::collections::BTreeSet::new();
    for name in names {
        let name = name.as_ref().trim();
        let Some(known) = GROUP_CAPABILITIES.iter().find(|known| **known == name) else {
            return Err(PolicyError::UnknownCapability(name.to_owned()));
        };
        if !set.insert(*known) {
            return Err(PolicyError::DuplicateCapability(name.to_owned()));
        }
    }
    Ok(CapabilitySet::new(set.into_iter().map(Capability::new)))
}

/// The set a list as the user types it spells: names separated by commas, or `none`.
pub fn parse_list(list: &str) -> Result<CapabilitySet, PolicyError> {
    let list = list.trim();
    if list.is_empty() || list.eq_ignore_ascii_case("none") {
        return Ok(CapabilitySet::default());
    }
    let names: Vec<&str> = list.split(',').map(str::trim).collect();
    parse_capabilities(&names)
}

/// The names of `set`, in the order [`GROUP_CAPABILITIES`] lists them.
pub fn names(set: &CapabilitySet) -> Vec<&'static str> {
    GROUP_CAPABILITIES
        .into_iter()
        .filter(|name| set.allows_name(name))
        .collect()
}

impl Default for GroupPolicy {
    /// No policy: every member may do everything.
    fn default() -> Self {
        Self {
            default: all_capabilities(),
            grants: BTreeMap::new(),
        }
    }
}

impl GroupPolicy {
    /// A policy that lets nobody do anything: what a policy that does not read stands for.
    pub fn nobody() -> Self {
        Self {
            default: CapabilitySet::default(),
            grants: BTreeMap::new(),
        }
    }

    /// The policy of a group context with `extensions`: the default one without a policy
    /// extension, an error for one that does not decode.
    pub fn of(extensions: &[Extension]) -> Result<Self, PolicyError> {
        match extensions
            .iter()
            .find(|extension| extension.extension_type == GROUP_POLICY_EXTENSION)
        {
            Some(extension) => Self::decode(&extension.extension_data),
            None => Ok(Self::default()),
        }
    }

    /// `extensions` with this policy in place of theirs, the others kept: what a
    /// GroupContextExtensions proposal carries (it replaces them all). The default policy
    /// is written as no extension at all.
    pub fn into_extensions(&self, extensions: &[Extension]) -> Result<Vec<Extension>, PolicyError> {
        let mut kept: Vec<Extension> = extensions
            .iter()
            .filter(|extension| extension.extension_type != GROUP_POLICY_EXTENSION)
            .cloned()
            .collect();
        if *self != Self::default() {
            kept.push(Extension {
                extension_type: GROUP_POLICY_EXTENSION,
                extension_data: self.encode()?,
            });
        }
        Ok(kept)
    }

    /// The grant every member holds.
    pub fn default_grant(&self) -> &CapabilitySet {
        &self.default
    }

    /// Members' own grants.
    pub fn grants(&self) -> impl Iterator<Item = (&DeviceKey, &CapabilitySet)> {
        self.grants.iter()
    }

    /// What `device` may do: the meet of the default grant and its own.
    pub fn effective(&self, device: &DeviceKey) -> CapabilitySet {
        match self.grants.get(device) {
            Some(grant) => self.default.meet(grant),
            None => self.default.clone(),
        }
    }

    pub fn allows(&self, device: &DeviceKey, capability: &str) -> bool {
        self.effective(device).allows_name(capability)
    }

    /// This policy with `change` made, and the grants of devices not in `roster` dropped.
    pub fn changed(
        &self,
        change: &PolicyChange,
        roster: &[DeviceKey],
    ) -> Result<Self, PolicyError> {
        let mut next = self.clone();
        next.grants.retain(|device, _| roster.contains(device));
        match change {
            PolicyChange::Default(capabilities) => next.default = capabilities.clone(),
            PolicyChange::Grant {
                device,
                capabilities,
            } => {
                next.grants.insert(*device, capabilities.clone());
            }
            PolicyChange::Reset(device) => {
                next.grants.remove(device);
            }
        }
        next.check_all()?;
        Ok(next)
    }

    /// The policy's own rules: known capabilities (ensured by construction) and a bounded
    /// number of grants.
    fn check_all(&self) -> Result<(), PolicyError> {
        if self.grants.len() > MAX_POLICY_GRANTS {
            return Err(PolicyError::TooManyGrants(self.grants.len()));
        }
        for name in self
            .default
            .iter()
            .chain(self.grants.values().flat_map(CapabilitySet::iter))
        {
            if !GROUP_CAPABILITIES.contains(&name.0.as_str()) {
                return Err(PolicyError::UnknownCapability(name.0.clone()));
            }
        }
        Ok(())
    }

    pub fn encode(&self) -> Result<Vec<u8>, PolicyError> {
        self.check_all()?;
        let mut writer = Writer::default();
        writer.u8(POLICY_FORMAT);
        write_set(&mut writer, &self.default);
        // At most MAX_POLICY_GRANTS, checked above.
        writer.u16(u16::try_from(self.grants.len()).unwrap_or(u16::MAX));
        for (device, grant) in &self.grants {
            writer.raw(&device.0);
            write_set(&mut writer, grant);
        }
        let bytes = writer.into_bytes();
        if bytes.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge(bytes.len()));
        }
        Ok(bytes)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, PolicyError> {
        if bytes.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge(bytes.len()));
        }
        let mut reader = Reader::new(bytes);
        let format = reader.u8("policy format")?;
        if format != POLICY_FORMAT {
            return Err(PolicyError::Format(format));
        }
        let default = read_set(&mut reader)?;
        let count = usize::from(reader.u16("grant count")?);
        if count > MAX_POLICY_GRANTS {
            return Err(PolicyError::TooManyGrants(count));
        }
        let mut grants = BTreeMap::new();
        for _ in 0..count {
            let device = DeviceKey(reader.array("granted device")?);
            let grant = read_set(&mut reader)?;
            if grants.insert(device, grant).is_some() {
                return Err(PolicyError::DuplicateGrant);
            }
        }
        reader.finish()?;
        Ok(Self { default, grants })
    }
}

const CHANGE_DEFAULT: u8 = 0;
const CHANGE_GRANT: u8 = 1;
const CHANGE_RESET: u8 = 2;

impl PolicyChange {
    /// A tag, then the default grant; a device key and its grant; or a device key.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::default();
        match self {
            Self::Default(capabilities) => {
                writer.u8(CHANGE_DEFAULT);
                write_set(&mut writer, capabilities);
            }
            Self::Grant {
                device,
                capabilities,
            } => {
                writer.u8(CHANGE_GRANT).raw(&device.0);
                write_set(&mut writer, capabilities);
            }
            Self::Reset(device) => {
                writer.u8(CHANGE_RESET).raw(&device.0);
            }
        }
        writer.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, PolicyError> {
        let mut reader = Reader::new(bytes);
        let change = match reader.u8("policy change")? {
            CHANGE_DEFAULT => Self::Default(read_set(&mut reader)?),
            CHANGE_GRANT => Self::Grant {
                device: DeviceKey(reader.array("granted device")?),
                capabilities: read_set(&mut reader)?,
            },
            CHANGE_RESET => Self::Reset(DeviceKey(reader.array("reset device")?)),
            other => {
                return Err(PolicyError::Malformed(DecodeError::Invalid {
                    field: "policy change",
                    detail: format!("unknown tag {other}"),
                }));
            }
        };
        reader.finish()?;
        Ok(change)
    }
}

fn write_set(writer: &mut Writer, set: &CapabilitySet) {
    let names = names(set);
    // At most the four group capabilities, each a short ASCII name.
    writer.u8(u8::try_from(names.len()).unwrap_or(u8::MAX));
    for name in names {
        writer
            .u8(u8::try_from(name.len()).unwrap_or(u8::MAX))
            .raw(name.as_bytes());
    }
}

fn read_set(reader: &mut Reader<'_>) -> Result<CapabilitySet, PolicyError> {
    let count = usize::from(reader.u8("capability count")?);
    if count > GROUP_CAPABILITIES.len() {
        // More names than there are capabilities: one is unknown or given twice.
        return Err(PolicyError::Malformed(DecodeError::Invalid {
            field: "capability count",
            detail: format!(
                "{count}, more than the {} capabilities",
                GROUP_CAPABILITIES.len()
            ),
        }));
    }
    let mut names = Vec::with_capacity(count);
    for _ in 0..count {
        let len = usize::from(reader.u8("capability length")?);
        let name = reader.take(len, "capability")?;
        names.push(String::from_utf8_lossy(name).into_owned());
    }
    parse_capabilities(&names)
}

/// What a commit does, as far as the policy is concerned, read against its parent epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actions {
    /// Devices it adds (a KeyPackage whose key is not a device key counts too, as `None`).
    pub added: Vec<Option<DeviceKey>>,
    /// Devices it removes (a leaf that is no member counts too, as `None`).
    pub removed: Vec<Option<DeviceKey>>,
    /// The device whose signed request to leave the commit carries, checked.
    pub leaving: Option<DeviceKey>,
    pub renames: bool,
    /// It changes the policy, or any other context extension but the name.
    pub changes_policy: bool,
    /// It has a proposal by reference, which cannot be judged here.
    pub by_reference: bool,
}

/// Whether the policy of the parent epoch lets `author` make a commit that does `actions`.
/// Removing a device that asked to leave, and removing a device and adding it again in one
/// commit (bringing back a stranded member), need no capability; a self-update needs none.
pub fn check(
    policy: &GroupPolicy,
    author: &DeviceKey,
    actions: &Actions,
) -> Result<(), PolicyError> {
    if actions.by_reference {
        return Err(PolicyError::ByReference);
    }
    let readded = |device: &Option<DeviceKey>| {
        device.is_some() && actions.removed.contains(device) && actions.added.contains(device)
    };
    let needs = |capability: &'static str, action: &'static str| {
        if policy.allows(author, capability) {
            Ok(())
        } else {
            Err(PolicyError::Denied { capability, action })
        }
    };
    if actions.added.iter().any(|device| !readded(device)) {
        needs(ADD, "add members")?;
    }
    let expelled = actions
        .removed
        .iter()
        .any(|device| !readded(device) && (device.is_none() || *device != actions.leaving));
    if expelled {
        needs(REMOVE, "remove members")?;
    }
    if actions.renames {
        needs(RENAME, "rename the group")?;
    }
    if actions.changes_policy {
        needs(POLICY, "change the group's policy")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
