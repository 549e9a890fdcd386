//! Groups in the node: each group this device is in is a journal context whose MLS roster
//! is the only truth of membership. Facts of a group's context go to the device's
//! [`Memberships`] of it as they are stored; what the memberships ask for (commits to write,
//! Welcomes to deliver, messages read, moves and removals) becomes effects. Only the roster
//! is served the context: gossip and sessions of anyone else are refused and counted, and
//! only facts authored by roster members reach the memberships.
//!
//! - [`arrivals`] — facts as they arrive: a group's journal, contacts' KeyPackages and
//!   Welcomes; groups resumed at start;
//! - [`key_packages`] — the packages this device offers each contact and those they offer it;
//! - [`outputs`] — what the memberships ask for, as effects;
//! - [`policy`] — the group's policy: each change this device asks for passes the guard
//!   chain's capability check with what the policy grants it, or is refused at once;
//! - [`sending`] — the outbox: a message submitted is kept in the store before the command
//!   returns, sent when it can be, and leaves the outbox in the transaction that stores it.

mod arrivals;
pub mod key_packages;
mod outputs;
mod policy;
mod sending;

use std::collections::{HashMap, HashSet, VecDeque};

use rand_core::CryptoRng;

use self::key_packages::KeyPackages;
use super::{Core, Effect, Millis, Reply, RequestId};
use crate::crypto::keys::SignaturePrivateKey;
use crate::groups::convergence::EpochId;
use crate::groups::member::{GroupMember, Intent};
use crate::groups::memberships::Memberships;
use crate::groups::payload::Payload;
use crate::node::NodeError;
use crate::state::fact::{ContextId, DeviceKey, FactId};
use crate::state::store::{GroupRow, KeyPackageRow, OutboxRow};
use crate::state::trust_level::TrustLevel;

pub use crate::groups::mls_epoch::MAX_GROUP_NAME_BYTES;
/// Groups one device takes part in.
pub const MAX_GROUPS: usize = 1_000;
/// Messages handed to memberships and not read yet, remembered to find their facts: a
/// member back from an absence may be handed tens of thousands at once.
pub const MAX_UNREAD_FED: usize = 65_536;
/// Facts of groups held back by the guard chain at most, waiting to be written.
pub const MAX_UNWRITTEN: usize = 1_024;
/// Receipts are sent this long after the first message they acknowledge, together.
pub const RECEIPT_BATCH_MS: Millis = 500;
/// A member puts new keys on its path (an empty commit with an UpdatePath) at least this
/// often, and after this many messages sent: keys stolen from it stop opening the group's
/// traffic from then on (post-compromise security).
pub const SELF_UPDATE_EVERY_MS: Millis = 7 * 24 * 3_600_000;
pub const SELF_UPDATE_AFTER_MESSAGES: u64 = 1_000;

/// What a front end asks about groups; groups and peers are already resolved by the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupCommand {
    Create {
        name: String,
        with: Vec<DeviceKey>,
    },
    Invite {
        group: ContextId,
        peer: DeviceKey,
    },
    Remove {
        group: ContextId,
        peer: DeviceKey,
    },
    Leave(ContextId),
    Rename {
        group: ContextId,
        name: String,
    },
    /// New keys on this member's path now.
    Update(ContextId),
    /// Change who may add, remove, rename and change the policy.
    Policy {
        group: ContextId,
        change: crate::groups::policy::PolicyChange,
    },
    Send {
        group: ContextId,
        text: String,
        /// Answer once the message is sent, not once it is in the outbox.
        wait: bool,
    },
    /// The user saw the group's messages up to this one.
    MarkRead {
        group: ContextId,
        up_to: (u64, FactId),
    },
}

/// What a group command gets back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GroupAnswer {
    Created {
        id: String,
        name: String,
    },
    /// The message is sent; its fact id.
    Sent {
        id: String,
    },
    /// The message is in the outbox and will be sent.
    Queued,
    /// Done; the text says what happened.
    Done(String),
}

/// One group this device is in (or was, until its removal won).
#[derive(Debug)]
pub(super) struct Held {
    pub members: Memberships,
    pub row: GroupRow,
    /// Messages read and not acknowledged yet, and when the receipt is due.
    pub receipts_due: Vec<FactId>,
    pub receipt_at: Option<Millis>,
    /// Resumed from a snapshot: the epochs this device may have sent in before it stopped
    /// (the snapshot's, and every one its journal leads to). Its sender ratchet there may
    /// have moved on after the snapshot was written, so nothing is sent in them again (a key
    /// and nonce used twice); sends wait for an epoch made after the restart, which the
    /// member asks for at once.
    pub spent_epochs: HashSet<EpochId>,
    /// Epochs this device's own commits made since it started: never spent.
    pub fresh_epochs: HashSet<EpochId>,
}

/// A group name as given, trimmed: refused when empty or over the cap.
fn group_name(name: &str) -> Result<String, NodeError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(refused("give the group a name"));
    }
    if name.len() > MAX_GROUP_NAME_BYTES {
        return Err(refused(format!(
            "a group name has at most {MAX_GROUP_NAME_BYTES} bytes"
        )));
    }
    Ok(name.to_owned())
}
impl Held {
    /// The epochs of the memberships' windows, and the ones they follow.
    pub fn window_epochs(&self) -> HashSet<EpochId> {
        let mut epochs = HashSet::new();
        for member in self.members.held() {
            if let Some((epoch, _)) = member.epoch() {
                epochs.insert(epoch);
            }
            let (window, _) = member.window();
            for (_, parent, child) in window {
                epochs.insert(parent);
                epochs.insert(child);
            }
        }
        epochs
    }

    fn new(members: Memberships, row: GroupRow) -> Self {
        Self {
            members,
            row,
            receipts_due: Vec::new(),
            receipt_at: None,
            spent_epochs: HashSet::new(),
            fresh_epochs: HashSet::new(),
        }
    }
}

/// The groups of a node.
#[derive(Debug, Default)]
pub(super) struct Groups {
    pub held: HashMap<ContextId, Held>,
    /// Groups stored but whose state could not be resumed: listed, not acted in.
    pub dormant: HashMap<ContextId, GroupRow>,
    pub packages: KeyPackages,
    /// Refusals of facts given again to a membership resumed from the store (messages it
    /// had read already) are not held against their authors.
    pub quiet_refusals: bool,
    /// Messages given to memberships and not read yet: their digest, fact and time.
    pub fed: HashMap<[u8; 32], (FactId, u64)>,
    fed_order: VecDeque<[u8; 32]>,
    pub outbox: sending::Outbox,
    /// Commits and Welcomes made but held back by the guard chain, written again later.
    pub unwritten: Vec<super::trust::OwnWrite>,
    /// Contacts who accepted a group code, each to add to its group once it offers a
    /// KeyPackage.
    pub to_add: Vec<(DeviceKey, ContextId)>,
}

impl Groups {
    pub fn new(rows: Vec<GroupRow>, packages: Vec<KeyPackageRow>, outbox: Vec<OutboxRow>) -> Self {
        let mut groups = Self {
            packages: KeyPackages::load(packages),
            outbox: sending::Outbox::new(outbox),
            ..Self::default()
        };
        for row in rows {
            groups.dormant.insert(row.context, row);
        }
        groups
    }

    /// Whether `device` may be served `context`: any context that is not a group's, and a
    /// group's only to its roster.
    pub fn admits(&self, context: &ContextId, device: &DeviceKey) -> bool {
        match self.held.get(context) {
            Some(held) => held.row.roster.contains(device),
            None => !self.dormant.contains_key(context),
        }
    }

    /// Whether a fact of `kind` may be in `context`: a group's context holds group facts
    /// only (membership is the MLS roster, never the journal's plain member facts).
    pub fn admits_kind(&self, context: &ContextId, kind: crate::state::fact::FactKind) -> bool {
        !(self.held.contains_key(context) || self.dormant.contains_key(context))
            || crate::groups::facts::KINDS.contains(&kind)
    }

    /// Whether `device` is in a group with this device: group members are served in the
    /// group's context even when neither trusts the other.
    pub fn co_member(&self, device: &DeviceKey) -> bool {
        self.held
            .values()
            .any(|held| !held.row.removed && held.row.roster.contains(device))
    }

    fn remember_fed(&mut self, digest: [u8; 32], id: FactId, time: u64) {
        if self.fed.insert(digest, (id, time)).is_none() {
            self.fed_order.push_back(digest);
        }
        while self.fed_order.len() > MAX_UNREAD_FED {
            if let Some(old) = self.fed_order.pop_front() {
                self.fed.remove(&old);
            }
        }
    }

    pub fn next_at(&self) -> Option<Millis> {
        self.held
            .values()
            .filter_map(|held| {
                [held.members.poll_timeout(), held.receipt_at]
                    .into_iter()
                    .flatten()
                    .min()
            })
            .chain(self.outbox.next_at())
            .min()
    }
}

fn refused(text: impl Into<String>) -> NodeError {
    NodeError::Refused(text.into())
}

/// The row of a group just created or joined.
fn fresh_row(context: ContextId, name: String, now: Millis) -> GroupRow {
    GroupRow {
        context,
        joined_ms: now,
        updated_ms: now,
        sent_since_update: 0,
        epoch: 0,
        authenticator: Vec::new(),
        removed: false,
        name,
        roster: Vec::new(),
        read_up_to: None,
        snapshot: zeroize::Zeroizing::new(Vec::new()),
    }
}

fn short(context: &ContextId) -> String {
    crate::invite::book::hex(&context.0[..6])
}

impl Core {
    fn signing(&self) -> Result<SignaturePrivateKey, NodeError> {
        SignaturePrivateKey::from_seed(&self.signing_key.to_bytes())
            .map_err(|err| NodeError::Fact(err.to_string()))
    }

    pub(super) fn group_command(
        &mut self,
        request: RequestId,
        command: GroupCommand,
        now: Millis,
        rng: &mut impl CryptoRng,
    ) {
        let answer = match command {
            GroupCommand::Create { name, with } => self.create_group(name, &with, now, rng),
            GroupCommand::Invite { group, peer } => self.invite_to_group(group, peer),
            GroupCommand::Remove { group, peer } => self.remove_from_group(group, peer),
            GroupCommand::Leave(group) => self.leave_group(group, now, rng),
            GroupCommand::Rename { group, name } => self.rename_group(group, name),
            GroupCommand::Policy { group, change } => self.set_policy(group, change),
            GroupCommand::Update(group) => self.held_mut(group).map(|held| {
                held.row.updated_ms = now;
                held.row.sent_since_update = 0;
                held.members.ask(Intent::Update);
                GroupAnswer::Done("new keys on your path with the next commit".into())
            }),
            GroupCommand::Send { group, text, wait } => {
                return self.submit(request, group, text, wait, now, rng);
            }
            GroupCommand::MarkRead { group, up_to } => self.mark_read(group, up_to),
        };
        self.effects.push_back(Effect::Reply {
            request,
            reply: Reply::Group(answer),
        });
        self.poll_groups(now, rng);
    }

    fn create_group(
        &mut self,
        name: String,
        with: &[DeviceKey],
        now: Millis,
        rng: &mut impl CryptoRng,
    ) -> Result<GroupAnswer, NodeError> {
        let name = group_name(&name)?;
        if self.groups.held.len() + self.groups.dormant.len() >= MAX_GROUPS {
            return Err(refused(format!(
                "this device is in {MAX_GROUPS} groups already"
            )));
        }
        for peer in with {
            self.check_addable(peer)?;
        }
        let mut id = [0; 32];
        rng.fill_bytes(&mut id);
        let context = ContextId(id);
        let member = GroupMember::create(context, &name, &self.signing_key.to_bytes(), rng)
            .map_err(|err| NodeError::Fact(err.to_string()))?;
        let mut row = fresh_row(context, name.clone(), now);
        row.roster = vec![self.device];
        self.groups
            .held
            .insert(context, Held::new(Memberships::new(member), row));
        self.join(context, None);
        for peer in with {
            self.invite_to_group(context, *peer)?;
        }
        self.save_group(context);
        Ok(GroupAnswer::Created {
            id: crate::invite::book::hex(&context.0),
            name,
        })
    }

    fn rename_group(&mut self, group: ContextId, name: String) -> Result<GroupAnswer, NodeError> {
        let name = group_name(&name)?;
        self.held_mut(group)?;
        self.may_change(group, crate::groups::policy::RENAME)?;
        self.held_mut(group)?.members.ask(Intent::Rename(name));
        Ok(GroupAnswer::Done(
            "renaming; every member sees the new name once the commit lands".into(),
        ))
    }

    /// A contact may be added: trusted at Low at least, and offering a KeyPackage.
    fn check_addable(&self, peer: &DeviceKey) -> Result<(), NodeError> {
        if !self.invitations.contacts.contains_key(peer) {
            return Err(refused("only a contact can be added to a group"));
        }
        if self.direct_level(peer) < TrustLevel::Low {
            return Err(refused(
                "you do not trust this contact (level none): raise it with `aura trust set` first",
            ));
        }
        if self
            .groups
            .packages
            .offered
            .get(peer)
            .is_none_or(Vec::is_empty)
        {
            return Err(refused(
                "this contact has not offered a key package yet: it must be online once after the relationship formed",
            ));
        }
        Ok(())
    }

    /// A group code may be made for a group this device is in.
    pub(super) fn check_group_code(&mut self, group: ContextId) -> Result<(), NodeError> {
        self.held_mut(group)?;
        self.may_change(group, crate::groups::policy::ADD)
    }

    /// Adds `peer` (who accepted a group code) to `group` once it offers a KeyPackage:
    /// holding the group's code stands for the trust an add otherwise asks.
    pub(super) fn add_when_offered(&mut self, peer: DeviceKey, group: ContextId) {
        if !self.groups.to_add.contains(&(peer, group)) {
            self.groups.to_add.push((peer, group));
        }
        self.add_offered();
    }

    fn add_offered(&mut self) {
        let waiting = std::mem::take(&mut self.groups.to_add);
        for (peer, group) in waiting {
            let member = self
                .groups
                .held
                .get(&group)
                .map(|held| held.row.roster.contains(&peer) || held.members.is_removed());
            match member {
                Some(true) | None => continue,
                Some(false) => {}
            }
            match self.groups.packages.take_for(&peer) {
                Some(package) => {
                    if let Some(held) = self.groups.held.get_mut(&group) {
                        held.members.ask(Intent::Add(Box::new(package)));
                    }
                }
                None => self.groups.to_add.push((peer, group)),
            }
        }
    }

    fn held_mut(&mut self, group: ContextId) -> Result<&mut Held, NodeError> {
        if self.groups.dormant.contains_key(&group) {
            return Err(refused(
                "this group's state could not be resumed on this device",
            ));
        }
        let held = self
            .groups
            .held
            .get_mut(&group)
            .ok_or_else(|| refused("no such group"))?;
        if held.members.is_removed() {
            return Err(refused("you were removed from this group"));
        }
        Ok(held)
    }

    fn invite_to_group(
        &mut self,
        group: ContextId,
        peer: DeviceKey,
    ) -> Result<GroupAnswer, NodeError> {
        self.held_mut(group)?;
        if self
            .groups
            .held
            .get(&group)
            .is_some_and(|h| h.row.roster.contains(&peer))
        {
            return Err(refused("already a member of this group"));
        }
        self.may_change(group, crate::groups::policy::ADD)?;
        self.check_addable(&peer)?;
        let package = self
            .groups
            .packages
            .take_for(&peer)
            .ok_or_else(|| refused("this contact offers no key package now"))?;
        self.held_mut(group)?
            .members
            .ask(Intent::Add(Box::new(package)));
        Ok(GroupAnswer::Done(format!(
            "adding them to group {}; they join from the Welcome once the group settles",
            short(&group)
        )))
    }

    fn remove_from_group(
        &mut self,
        group: ContextId,
        peer: DeviceKey,
    ) -> Result<GroupAnswer, NodeError> {
        let held = self.held_mut(group)?;
        if !held.row.roster.contains(&peer) {
            return Err(refused("not a member of this group"));
        }
        if peer == held.members.best().map(GroupMember::device).unwrap_or(peer) {
            return Err(refused("to leave a group, use `aura group leave`"));
        }
        self.may_change(group, crate::groups::policy::REMOVE)?;
        self.held_mut(group)?.members.ask(Intent::Remove(peer));
        Ok(GroupAnswer::Done(
            "removing them; the group's keys change with the commit".into(),
        ))
    }

    fn leave_group(
        &mut self,
        group: ContextId,
        now: Millis,
        rng: &mut impl CryptoRng,
    ) -> Result<GroupAnswer, NodeError> {
        let device = self.device;
        let held = self.held_mut(group)?;
        let others: Vec<DeviceKey> = held
            .row
            .roster
            .iter()
            .filter(|d| **d != device)
            .copied()
            .collect();
        if others.is_empty() {
            held.row.removed = true;
            let context = held.row.context;
            self.save_group(context);
            return Ok(GroupAnswer::Done(
                "you left; you were its last member".into(),
            ));
        }
        // A member cannot commit its own removal (it would hold the next epoch's keys): it
        // asks the group, in a message only members read, and the member with the lowest
        // key commits it. The request is signed, and travels in that commit: any member may
        // carry it out, whatever the group's policy lets it do.
        let context = held.row.context;
        let epoch = held.row.epoch;
        let request = crate::groups::leave::LeaveRequest::sign(context, epoch, &self.signing()?)
            .map_err(|err| NodeError::Fact(err.to_string()))?;
        self.send_now(context, &Payload::Leave(request.encode()), now, rng)?;
        Ok(GroupAnswer::Done(
            "you asked to leave; the next member online removes you".into(),
        ))
    }

    fn mark_read(
        &mut self,
        group: ContextId,
        up_to: (u64, FactId),
    ) -> Result<GroupAnswer, NodeError> {
        let held = self
            .groups
            .held
            .get_mut(&group)
            .ok_or_else(|| refused("no such group"))?;
        if held.row.read_up_to.is_none_or(|at| at < up_to) {
            held.row.read_up_to = Some(up_to);
            self.save_group(group);
        }
        Ok(GroupAnswer::Done(String::new()))
    }

    /// Takes the roster, epoch and name the best membership follows into the group's row.
    /// Returns whether anything changed.
    fn refresh_group(&mut self, context: ContextId) -> bool {
        let Some(held) = self.groups.held.get_mut(&context) else {
            return false;
        };
        let removed = held.members.is_removed();
        let roster = if removed {
            Vec::new()
        } else {
            held.members.roster()
        };
        let epoch = held
            .members
            .best()
            .and_then(GroupMember::epoch)
            .map_or(held.row.epoch, |(_, number)| number);
        let authenticator = held
            .members
            .group()
            .map(|group| group.epoch_authenticator().to_vec())
            .unwrap_or_default();
        let name = held.members.name().unwrap_or_else(|| held.row.name.clone());
        let changed = name != held.row.name
            || roster != held.row.roster
            || epoch != held.row.epoch
            || removed != held.row.removed
            || authenticator != held.row.authenticator;
        held.row.authenticator = authenticator;
        held.row.name = name;
        held.row.roster = roster;
        held.row.epoch = epoch;
        held.row.removed = removed;
        changed
    }

    /// Stores a group's row as it is now, with the state to resume from.
    pub(super) fn save_group(&mut self, context: ContextId) {
        let Some(held) = self.groups.held.get_mut(&context) else {
            return;
        };
        match held.members.snapshot() {
            Ok(snapshot) => {
                held.row.snapshot = zeroize::Zeroizing::new(snapshot.as_bytes().to_vec());
            }
            // Out of the group: nothing to resume.
            Err(_) => held.row.snapshot = zeroize::Zeroizing::new(Vec::new()),
        }
        self.effects.push_back(Effect::StoreGroup(held.row.clone()));
    }
}
