//! A device's memberships of one group while branches are unsettled.
//!
//! A device removed on one branch may still be in on another that wins; a newcomer added by
//! a commit that loses is added again on the winner, from a second Welcome. Until the
//! branches settle the device cannot tell which membership is the one, so it keeps each
//! (a few at most), feeds every fact to all of them, and acts through the best: the one at
//! the latest epoch that still holds the group. Those that fall behind die out: a removal
//! that wins, or a branch the group left.

use super::facts::GroupFact;
use super::member::{GroupMember, Intent, Output};
use crate::crypto::group::{Group, GroupError};
use crate::state::fact::{ContextId, DeviceKey};

/// Memberships of one group kept at once.
pub const MAX_MEMBERSHIPS: usize = 3;

/// One device's memberships of one group.
#[derive(Debug)]
pub struct Memberships {
    context: ContextId,
    held: Vec<GroupMember>,
}

impl Memberships {
    pub fn new(first: GroupMember) -> Self {
        Self {
            context: first.context(),
            held: vec![first],
        }
    }

    pub fn context(&self) -> ContextId {
        self.context
    }

    /// Takes a membership from another Welcome to this group; when full, the one behind
    /// (removed, else at the earliest epoch) gives way.
    pub fn add(&mut self, joined: GroupMember) {
        if joined.context() != self.context {
            return;
        }
        if self.held.len() >= MAX_MEMBERSHIPS {
            let behind = (0..self.held.len()).min_by_key(|index| {
                let member = &self.held[*index];
                member.epoch().map_or((0, 0), |(_, epoch)| (1, epoch))
            });
            if let Some(behind) = behind {
                self.held.remove(behind);
            }
        }
        self.held.push(joined);
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

    pub fn roster(&self) -> Vec<DeviceKey> {
        self.best().map(GroupMember::roster).unwrap_or_default()
    }

    pub fn ask(&mut self, intent: Intent) {
        if let Some(best) = self.best_mut() {
            best.ask(intent);
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
        let mut outputs: Vec<Output> = Vec::new();
        for member in &mut self.held {
            member.poll(now, rng);
            while let Some(output) = member.poll_output() {
                let repeated = matches!(output, Output::Read(_) | Output::Refused { .. })
                    && outputs.contains(&output);
                if !repeated {
                    outputs.push(output);
                }
            }
        }
        outputs
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
        let mut ahead = GroupMember::create(context, &[1; 32], &mut rng).unwrap();
        ahead.ask(Intent::Update);
        ahead.poll(0, &mut rng);
        let ahead_epoch = ahead.epoch();
        let mut held = Memberships::new(GroupMember::create(context, &[1; 32], &mut rng).unwrap());
        held.add(ahead);
        assert_eq!(held.best().unwrap().epoch(), ahead_epoch);
        // Another group's membership is not taken.
        held.add(GroupMember::create(ContextId([5; 32]), &[1; 32], &mut rng).unwrap());
        for _ in 0..MAX_MEMBERSHIPS {
            held.add(GroupMember::create(context, &[1; 32], &mut rng).unwrap());
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
