//! What a member learns from branches other than its own: that it is stranded on one the
//! group left beyond its rewind bound, and what the commits of others that lost meant to
//! do, to ask again on the winner.

use std::collections::{HashMap, HashSet};

use super::{DeviceKey, GroupMember, Intent, MAX_LOSERS_REMEMBERED, MAX_UNJOINABLE, Output};
use crate::groups::convergence::{Commit, CommitId, EpochId};

impl GroupMember {
    /// `commit` is beyond the bound: the epoch it leads to starts a branch this member
    /// cannot join.
    pub(super) fn unjoinable(&mut self, commit: &Commit) {
        // A commit into an epoch this member holds is its own history (a restored member
        // is offered the commits before the epoch it resumed at).
        if self.convergence.state(&commit.child).is_some() {
            return;
        }
        self.unjoinable.insert(
            commit.child,
            (commit.parent_epoch.saturating_add(1), commit.id),
        );
        while self.unjoinable.len() > MAX_UNJOINABLE {
            let lowest = self
                .unjoinable
                .iter()
                .min_by_key(|(_, (epoch, _))| *epoch)
                .map(|(id, _)| *id);
            if let Some(lowest) = lowest {
                self.unjoinable.remove(&lowest);
            }
        }
    }

    /// A branch that forked before this member's root (it began with a commit beyond the
    /// bound) reached further than this member's tip: the group is on a branch this member
    /// cannot join. At the same epoch number, the lower last commit yields, so that of two
    /// sides that cannot judge each other exactly one asks to be brought back. The branch is
    /// followed through the commits this member holds without a parent (waiting, parked).
    /// Said once per epoch it is stuck at.
    pub(super) fn check_stranded(&mut self) {
        if self.unjoinable.is_empty() {
            return;
        }
        let Some((current, epoch)) = self.epoch() else {
            return;
        };
        if self.stranded_at == Some(current) {
            return;
        }
        let Some((furthest, last)) = self.unjoinable_reach() else {
            return;
        };
        let mine = self
            .convergence
            .window()
            .into_iter()
            .find(|(_, _, child)| *child == current)
            .map(|(commit, _, _)| commit);
        let behind = furthest > epoch || (furthest == epoch && mine.is_some_and(|m| last < m));
        if behind {
            self.stranded_at = Some(current);
            self.outputs.push_back(Output::Stranded);
        }
    }

    /// The furthest epoch number a branch beyond the bound reaches, and the commit that
    /// reaches it.
    fn unjoinable_reach(&self) -> Option<(u64, CommitId)> {
        let mut by_parent: HashMap<EpochId, Vec<&Commit>> = HashMap::new();
        for commit in self.parked.iter().chain(self.convergence.waiting()) {
            by_parent.entry(commit.parent).or_default().push(commit);
        }
        let mut reached: HashSet<EpochId> = self.unjoinable.keys().copied().collect();
        let mut stack: Vec<(EpochId, (u64, CommitId))> =
            self.unjoinable.iter().map(|(id, at)| (*id, *at)).collect();
        let mut furthest: Option<(u64, CommitId)> = None;
        while let Some((epoch, (number, commit))) = stack.pop() {
            let better =
                furthest.is_none_or(|(far, id)| number > far || (number == far && commit < id));
            if better {
                furthest = Some((number, commit));
            }
            for child in by_parent.get(&epoch).into_iter().flatten() {
                if reached.insert(child.child) {
                    stack.push((
                        child.child,
                        (child.parent_epoch.saturating_add(1), child.id),
                    ));
                }
            }
        }
        furthest
    }

    /// What commits of others that lost meant to do is asked again on the winner by one
    /// member: the author if it is still in the group (it asks again through its own
    /// pending commits, so nothing here), else the member with the lowest device key, so
    /// that a change is not lost with an author who left, nor made twice.
    pub(super) fn recover_losers(&mut self) {
        let window = self.convergence.window();
        let parent_of: HashMap<EpochId, (CommitId, EpochId)> = window
            .iter()
            .map(|(commit, parent, child)| (*child, (*commit, *parent)))
            .collect();
        let mut winning = HashSet::new();
        let mut epoch = self.convergence.current();
        while let Some((commit, parent)) = parent_of.get(&epoch) {
            winning.insert(*commit);
            epoch = *parent;
        }
        let roster = self.roster();
        let Some(lowest) = roster.first().copied() else {
            return;
        };
        for (commit, parent, _) in window {
            if winning.contains(&commit) || !self.losers_seen.insert(commit) {
                continue;
            }
            self.losers.push_back(commit);
            while self.losers.len() > MAX_LOSERS_REMEMBERED {
                if let Some(old) = self.losers.pop_front() {
                    self.losers_seen.remove(&old);
                }
            }
            let Some(bytes) = self.recent.iter().find(|c| c.id == commit) else {
                continue;
            };
            let Some(changes) = self
                .convergence
                .state(&parent)
                .and_then(|state| state.changes(bytes))
            else {
                continue;
            };
            let delegate = if roster.contains(&changes.author) {
                changes.author
            } else {
                lowest
            };
            if delegate != self.device || changes.author == self.device {
                continue;
            }
            for key_package in changes.added {
                let device = key_package.leaf_node.signature_key.as_slice().try_into();
                if device.is_ok_and(|d| !roster.contains(&DeviceKey(d))) {
                    self.intents.push_back(Intent::Add(Box::new(key_package)));
                }
            }
            for device in changes.removed {
                if roster.contains(&device) {
                    self.intents.push_back(Intent::Remove(device));
                }
            }
            if let Some(name) = changes.renamed {
                self.intents.push_back(Intent::Rename(name));
            }
        }
    }
}
