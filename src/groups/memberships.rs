//! A device's memberships of one group while branches are unsettled.
//!
//! A device removed on one branch may still be in on another that wins; a newcomer added by
//! a commit that loses is added again on the winner, from a second Welcome. Until the
//! branches settle the device cannot tell which membership is the one, so it keeps each
//! (a few at most), feeds every fact to all of them, and acts through the best: the one at
//! the latest epoch that still holds the group. Those that fall behind die out: a removal
//! that wins, or a branch the group left.

use super::facts::GroupFact;
use super::member::{GroupMember, Intent, MAX_SNAPSHOT_BYTES, Output, SnapshotError};
use crate::crypto::group::{Group, GroupError};
use crate::crypto::secret::Secret;
use crate::state::codec::{DecodeError, Reader, Writer};
use crate::state::fact::{ContextId, DeviceKey};

/// Memberships of one group kept at once.
pub const MAX_MEMBERSHIPS: usize = 3;

/// Format of [`Memberships::snapshot`].
pub const MEMBERSHIPS_SNAPSHOT_VERSION: u8 = 1;

/// One device's memberships of one group.
#[derive(Debug)]
pub struct Memberships {
    context: ContextId,
    held: Vec<GroupMember>,
    /// Intents asked of a device out of the group, dropped at the next poll.
    refused: Vec<Intent>,
    /// What memberships that gave way had not given out yet (a message read as it arrived,
    /// say), given out at the next poll.
    leftover: Vec<Output>,
}

impl Memberships {
    pub fn new(first: GroupMember) -> Self {
        Self {
            context: first.context(),
            held: vec![first],
            refused: Vec::new(),
            leftover: Vec::new(),
        }
    }

    pub fn context(&self) -> ContextId {
        self.context
    }

    /// Takes a membership from another Welcome to this group; when full, the one behind
    /// (removed, else at the earliest epoch) gives way.
    pub fn add(&mut self, mut joined: GroupMember) {
        if joined.context() != self.context {
            return;
        }
        // The newcomer may outlive every other: it names their leaves when it asks to be
        // brought back.
        let leaves: Vec<[u8; 32]> = self
            .held
            .iter()
            .flat_map(GroupMember::own_leaves)
            .copied()
            .collect();
        joined.inherit_leaves(&leaves);
        self.give_way(&mut joined);
        if self.held.len() >= MAX_MEMBERSHIPS {
            let behind = (0..self.held.len()).min_by_key(|index| {
                let member = &self.held[*index];
                member.epoch().map_or((0, 0), |(_, epoch)| (1, epoch))
            });
            if let Some(behind) = behind {
                let mut member = self.held.remove(behind);
                self.keep_leftovers(&mut member);
                for intent in member.take_unmade() {
                    joined.ask(intent);
                }
            }
        }
        self.held.push(joined);
    }

    /// A stranded membership asked to be brought back, and `joined` is its return (or the
    /// device came back some other way after it): what it was asked for and had not made
    /// final is asked again there, and it gives way, so that the device is left on no dead
    /// branch.
    fn give_way(&mut self, joined: &mut GroupMember) {
        let (stranded, kept): (Vec<GroupMember>, Vec<GroupMember>) =
            self.held.drain(..).partition(GroupMember::is_stranded);
        self.held = kept;
        for mut member in stranded {
            self.keep_leftovers(&mut member);
            for intent in member.take_unmade() {
                joined.ask(intent);
            }
        }
    }

    /// A stranded membership gives way when another of the device's came after it (it was
    /// brought back already) or is in the group on a live branch: asking to be brought
    /// back then would only make the group re-add a device that is in it. Its unmade
    /// intents go to the best membership left, or are dropped with their reason when none
    /// is in the group.
    fn retire_stranded(&mut self, outputs: &mut Vec<Output>) -> Vec<usize> {
        let live = |member: &GroupMember| !member.is_removed() && !member.is_stranded();
        let count = self.held.len();
        let retired: Vec<usize> = (0..count)
            .filter(|i| {
                self.held[*i].is_stranded()
                    && (*i + 1 < count
                        || self
                            .held
                            .iter()
                            .enumerate()
                            .any(|(j, member)| j != *i && live(member)))
            })
            .collect();
        let mut unmade = Vec::new();
        let mut leaves = Vec::new();
        for index in retired.iter().rev() {
            let mut member = self.held.remove(*index);
            self.keep_leftovers(&mut member);
            leaves.extend(member.own_leaves().copied());
            unmade.extend(member.take_unmade());
        }
        for member in &mut self.held {
            member.inherit_leaves(&leaves);
        }
        for intent in unmade {
            match self.best_mut() {
                Some(best) => best.ask(intent),
                None => outputs.push(Output::Dropped {
                    intent,
                    reason: "this device is out of the group".into(),
                }),
            }
        }
        retired
    }

    /// What a membership that gives way had not given out; its word that it is stranded is
    /// moot.
    fn keep_leftovers(&mut self, member: &mut GroupMember) {
        while let Some(output) = member.poll_output() {
            if !matches!(output, Output::Stranded { .. }) {
                self.leftover.push(output);
            }
        }
    }

    /// Every membership kept, the best among them.
    pub fn held(&self) -> &[GroupMember] {
        &self.held
    }

    /// The membership the device acts through: in the group, at the latest epoch.
    pub fn best(&self) -> Option<&GroupMember> {
        self.held
            .iter()
            .filter(|member| !member.is_removed())
            .max_by_key(|member| member.epoch().map(|(_, epoch)| epoch))
    }

    fn best_mut(&mut self) -> Option<&mut GroupMember> {
        self.held
            .iter_mut()
            .filter(|member| !member.is_removed())
            .max_by_key(|member| member.epoch().map(|(_, epoch)| epoch))
    }

    /// Whether every membership was removed: the device is out of the group.
    pub fn is_removed(&self) -> bool {
        self.best().is_none()
    }

    pub fn group(&self) -> Option<&Group> {
        self.best()?.group()
    }

    pub fn name(&self) -> Option<String> {
        self.best()?.name()
    }

    pub fn roster(&self) -> Vec<DeviceKey> {
        self.best().map(GroupMember::roster).unwrap_or_default()
    }

    /// Asks the best membership for a change; one asked of a device out of the group is
    /// dropped with its reason at the next poll, never lost.
    pub fn ask(&mut self, intent: Intent) {
        match self.best_mut() {
            Some(best) => best.ask(intent),
            None => self.refused.push(intent),
        }
    }

    pub fn send(
        &mut self,
        plaintext: &[u8],
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<GroupFact, GroupError> {
        self.best_mut()
            .ok_or(GroupError::NotAMember(0))?
            .send(plaintext, rng)
    }

    pub fn receive(&mut self, author: DeviceKey, fact: GroupFact, now: u64) {
        for member in &mut self.held {
            member.receive(author, fact.clone(), now);
        }
    }

    /// Polls every membership; their outputs, in order, a message read (or a fact refused)
    /// by two of them given once.
    pub fn poll(&mut self, now: u64, rng: &mut impl rand_core::CryptoRng) -> Vec<Output> {
        let mut outputs: Vec<Output> = std::mem::take(&mut self.leftover);
        outputs.extend(self.refused.drain(..).map(|intent| Output::Dropped {
            intent,
            reason: "this device is out of the group".into(),
        }));
        let mut stranded = Vec::new();
        let mut own_commits = Vec::new();
        for (index, member) in self.held.iter_mut().enumerate() {
            member.poll(now, rng);
            while let Some(output) = member.poll_output() {
                if let Output::Write(fact @ GroupFact::Commit { .. }) = &output {
                    own_commits.push((index, member.device(), fact.clone()));
                }
                if let Output::Stranded { leaves } = output {
                    stranded.push((index, leaves));
                    continue;
                }
                let repeated = matches!(output, Output::Read(_) | Output::Refused { .. })
                    && outputs.contains(&output);
                if !repeated {
                    outputs.push(output);
                }
            }
        }
        // The journal does not give a device its own facts back: a commit one membership
        // made is given to the others here, or one on the branch it lost to would never
        // learn that it is stranded.
        for (from, device, fact) in own_commits {
            for (index, member) in self.held.iter_mut().enumerate() {
                if index != from {
                    member.receive(device, fact.clone(), now);
                }
            }
        }
        let retired = self.retire_stranded(&mut outputs);
        // One request for the device, naming the leaves of every membership it holds (the
        // group may hold it at any of them), the latest kept when there are too many.
        if stranded.iter().any(|(index, _)| !retired.contains(index)) {
            let mut leaves: Vec<[u8; 32]> = Vec::new();
            let held = self.held.iter().flat_map(GroupMember::own_leaves);
            for leaf in stranded
                .iter()
                .flat_map(|(_, leaves)| leaves.iter())
                .chain(held)
            {
                if !leaves.contains(leaf) {
                    leaves.push(*leaf);
                }
            }
            let cap = crate::groups::facts::MAX_REJOIN_LEAVES;
            let excess = leaves.len().saturating_sub(cap);
            leaves.drain(..excess);
            outputs.push(Output::Stranded { leaves });
        }
        outputs
    }

    /// Every membership still in the group, written down to resume after a restart (see
    /// [`GroupMember::snapshot`]): version, count, then each (length, bytes).
    pub fn snapshot(&self) -> Result<Secret, SnapshotError> {
        let held: Vec<Secret> = self
            .held
            .iter()
            .filter(|member| !member.is_removed())
            .map(GroupMember::snapshot)
            .collect::<Result<_, _>>()?;
        if held.is_empty() {
            return Err(SnapshotError::Removed);
        }
        let size: usize = held.iter().map(|s| s.len().saturating_add(4)).sum();
        let mut writer = Writer::with_capacity(size.saturating_add(2));
        writer
            .u8(MEMBERSHIPS_SNAPSHOT_VERSION)
            .u8(u8::try_from(held.len()).unwrap_or(u8::MAX));
        for member in &held {
            let len = u32::try_from(member.len()).map_err(|_| SnapshotError::TooLarge(size))?;
            writer.u32(len).raw(member.as_bytes());
        }
        Ok(Secret::new(writer.into_bytes()))
    }

    /// The memberships of [`Self::snapshot`], for the device of `device_seed`.
    pub fn restore(bytes: &[u8], device_seed: &[u8; 32]) -> Result<Self, SnapshotError> {
        let cap = MAX_SNAPSHOT_BYTES.saturating_mul(MAX_MEMBERSHIPS);
        if bytes.len() > cap {
            return Err(SnapshotError::TooLarge(bytes.len()));
        }
        let mut reader = Reader::new(bytes);
        let version = reader.u8("version")?;
        if version != MEMBERSHIPS_SNAPSHOT_VERSION {
            return Err(DecodeError::UnknownVersion(version).into());
        }
        let count = usize::from(reader.u8("membership count")?);
        if count == 0 || count > MAX_MEMBERSHIPS {
            return Err(DecodeError::Invalid {
                field: "membership count",
                detail: format!("{count}"),
            }
            .into());
        }
        let mut held = Vec::with_capacity(count);
        for _ in 0..count {
            let len = reader.u32("membership length")? as usize;
            let member = GroupMember::restore(reader.take(len, "membership")?, device_seed)?;
            held.push(member);
        }
        reader.finish()?;
        let Some(context) = held.first().map(GroupMember::context) else {
            return Err(SnapshotError::Removed);
        };
        if held.iter().any(|member| member.context() != context) {
            return Err(DecodeError::Invalid {
                field: "membership",
                detail: "of another group".into(),
            }
            .into());
        }
        Ok(Self {
            context,
            held,
            refused: Vec::new(),
            leftover: Vec::new(),
        })
    }

    /// The passes settled since this was last called, one at most per membership.
    pub fn take_settled(&mut self) -> Vec<crate::groups::convergence::SettledPass> {
        self.held
            .iter_mut()
            .filter_map(GroupMember::take_settled)
            .collect()
    }

    /// Whether some membership holds the state of `epoch`: a message sent in it can be
    /// read.
    pub fn holds_epoch(&self, epoch: &crate::groups::convergence::EpochId) -> bool {
        self.held.iter().any(|member| member.holds_epoch(epoch))
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.held.iter().filter_map(GroupMember::poll_timeout).min()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use getrandom::SysRng;
    use rand_core::UnwrapErr;

    use super::*;

    #[test]
    fn the_best_membership_is_in_the_group_at_the_latest_epoch_and_the_one_behind_gives_way() {
        let mut rng = UnwrapErr(SysRng);
        let context = ContextId([4; 32]);
        let mut ahead = GroupMember::create(context, "", &[1; 32], &mut rng).unwrap();
        ahead.ask(Intent::Update);
        ahead.poll(0, &mut rng);
        let ahead_epoch = ahead.epoch();
        let mut held =
            Memberships::new(GroupMember::create(context, "", &[1; 32], &mut rng).unwrap());
        held.add(ahead);
        assert_eq!(held.best().unwrap().epoch(), ahead_epoch);
        // Another group's membership is not taken.
        held.add(GroupMember::create(ContextId([5; 32]), "", &[1; 32], &mut rng).unwrap());
        for _ in 0..MAX_MEMBERSHIPS {
            held.add(GroupMember::create(context, "", &[1; 32], &mut rng).unwrap());
        }
        assert_eq!(held.held.len(), MAX_MEMBERSHIPS);
        assert_eq!(
            held.best().unwrap().epoch().unwrap().1,
            ahead_epoch.unwrap().1,
            "the one ahead stays"
        );
        assert!(!held.is_removed());
    }
}
