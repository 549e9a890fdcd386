//! What a member learns from branches other than its own: that it is stranded on one the
//! group left beyond its rewind bound, and what the commits of others that lost meant to
//! do, to ask again on the winner.

use std::collections::{HashMap, HashSet};

use super::{
    DeviceKey, GroupMember, Intent, MAX_LOSERS_REMEMBERED, MAX_UNJOINABLE, Output,
    STRANDED_GRACE_MS,
};
use crate::crypto::key_package::KeyPackage;
use crate::groups::convergence::{Commit, CommitId, EpochId};
use crate::groups::facts::leaf_digest;

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
    /// Said once per epoch it is stuck at, and only once it stayed behind for
    /// [`STRANDED_GRACE_MS`]: a branch that seems further for a moment may be overtaken by
    /// this member's own (a newcomer, whose window begins at its Welcome, sees a sibling
    /// branch of the commit that added it as one beyond the bound), and a member that says
    /// it is stranded is brought back at the cost of a commit.
    pub(super) fn check_stranded(&mut self, now: u64) {
        let Some((current, epoch)) = self.epoch() else {
            self.behind_since = None;
            return;
        };
        if self.stranded_at == Some(current) {
            return;
        }
        let Some((furthest, last)) = self.unjoinable_reach() else {
            self.behind_since = None;
            return;
        };
        // The commit that led here: in the window, or (for a membership restored at this
        // epoch, whose window starts here) among the commits offered again since.
        let mine = self
            .convergence
            .window()
            .into_iter()
            .find(|(_, _, child)| *child == current)
            .map(|(commit, _, _)| commit)
            .or_else(|| {
                self.recent
                    .iter()
                    .find(|commit| commit.child == current)
                    .map(|commit| commit.id)
            });
        let behind = furthest > epoch || (furthest == epoch && mine.is_some_and(|m| last < m));
        if !behind {
            self.behind_since = None;
            return;
        }
        let since = *self.behind_since.get_or_insert(now);
        if now.saturating_sub(since) >= STRANDED_GRACE_MS {
            self.behind_since = None;
            self.stranded_at = Some(current);
            self.outputs.push_back(Output::Stranded {
                leaves: self.own_leaves.iter().copied().collect(),
            });
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

    /// The KeyPackage to bring `device` back from, when it asked to be and still holds, at
    /// the epoch this member follows, a leaf its request names (the latest such request).
    pub(super) fn still_stranded(&self, device: &DeviceKey) -> Option<&KeyPackage> {
        let requests = self.rejoining.get(device)?;
        let leaf = leaf_digest(&self.leaf_key(device)?);
        requests
            .iter()
            .rev()
            .find(|request| request.leaves.contains(&leaf))
            .map(|request| &*request.key_package)
    }

    /// Members that asked to be brought back are re-added by one member: the one with the
    /// lowest device key among those not asking themselves (the lowest of all may be
    /// stranded too, and would never do it). Every member judges again as requests arrive
    /// and its epoch moves, so that when the delegate turns out to be stranded as well,
    /// the next one takes over.
    pub(super) fn bring_back(&mut self) {
        if self.rejoining.is_empty() {
            return;
        }
        let roster = self.roster();
        let asking: Vec<(DeviceKey, KeyPackage)> = roster
            .iter()
            .filter_map(|device| Some((*device, self.still_stranded(device)?.clone())))
            .collect();
        let delegate = roster
            .iter()
            .find(|device| asking.iter().all(|(asker, _)| asker != *device));
        if delegate != Some(&self.device) {
            return;
        }
        for (device, key_package) in asking {
            let queued = self
                .intents
                .iter()
                .chain(self.pending.iter().map(|(_, intent)| intent))
                .any(|intent| matches!(intent, Intent::Readd { device: d, .. } if *d == device));
            if !queued {
                self.intents.push_back(Intent::Readd {
                    device,
                    key_package: Box::new(key_package),
                });
            }
        }
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
            let added: Vec<(DeviceKey, KeyPackage)> = changes
                .added
                .into_iter()
                .filter_map(|package| {
                    let device = package.leaf_node.signature_key.as_slice().try_into().ok()?;
                    Some((DeviceKey(device), package))
                })
                .collect();
            // A device both removed and added was being brought back: its request to be
            // brought back stands on the winner, and is answered there (`bring_back`).
            let readded = |device: &DeviceKey| changes.removed.contains(device);
            for (device, key_package) in &added {
                if !roster.contains(device) && !readded(device) {
                    self.intents
                        .push_back(Intent::Add(Box::new(key_package.clone())));
                }
            }
            for device in &changes.removed {
                let brought_back = added.iter().any(|(added, _)| added == device);
                if roster.contains(device) && !brought_back {
                    self.intents.push_back(Intent::Remove(*device));
                }
            }
            if let Some(name) = changes.renamed {
                self.intents.push_back(Intent::Rename(name));
            }
        }
    }
}
