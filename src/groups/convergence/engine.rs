//! One member's convergence state machine: sans-IO, `now` is an argument, what happened is
//! polled out as [`Event`]s.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{
    Commit, CommitId, EpochId, MAX_DONE_REMEMBERED, MAX_WAITING_COMMITS, MAX_WINDOW_COMMITS,
    REWIND_BOUND, SETTLE_MAX_MS, SETTLE_QUIET_MS, WAITING_TTL_MS, branch,
};

/// A group's state at one epoch, as far as convergence needs it.
pub trait EpochState: Sized {
    /// The hash that names this epoch on its branch.
    fn id(&self) -> EpochId;
    /// The epoch number.
    fn epoch(&self) -> u64;
    /// What `commit` leads to from this state, without changing this one; an error when
    /// the commit does not verify against this state.
    fn apply(&self, commit: &Commit) -> Result<Applied<Self>, ApplyError>;
}

/// What a valid commit leads to, for this member.
#[derive(Debug)]
pub enum Applied<S> {
    /// The next epoch's state.
    Next(S),
    /// The commit removes this member: it counts in its branch like any other, and leads to
    /// an epoch this member holds nothing of. If that branch wins, the member is out.
    Removed,
}

/// Why a commit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ApplyError(pub String);

/// What convergence did, for the member's shell to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A pass settled on a tip other than the member's: it undid `rewound` (newest first)
    /// and applied `applied` (oldest first). A commit that extends the tip moves it with
    /// nothing rewound.
    Moved {
        from: EpochId,
        to: EpochId,
        rewound: Vec<CommitId>,
        applied: Vec<CommitId>,
    },
    /// A commit did not verify against its parent's state: it is not part of any branch.
    Rejected { commit: CommitId, reason: String },
    /// A commit on a branch that forks before this member's root: this member cannot judge
    /// or join it (it, or the commit's author, is stranded on a branch of its own).
    BeyondBound { commit: CommitId, parent_epoch: u64 },
    /// A commit not kept: the window or the waiting room is full, or it waited for its
    /// parent too long. The shell offers it again when its parent arrives.
    Dropped { commit: CommitId },
}

/// What one pass settled on, with the tree it chose from: for checks against an
/// independent model of the choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledPass {
    pub root: EpochId,
    /// Every validated commit in the window: id, parent epoch, the epoch it leads to.
    pub commits: Vec<(CommitId, EpochId, EpochId)>,
    pub tip: EpochId,
}

/// One validated epoch in the window.
#[derive(Debug)]
struct Node<S> {
    /// `None` at an epoch a commit removed this member at.
    state: Option<S>,
    epoch: u64,
    /// The epoch and commit it came from; `None` for the root.
    parent: Option<(EpochId, CommitId)>,
    children: Vec<(CommitId, EpochId)>,
}

/// A pass that is open: when it opened and when input last arrived.
#[derive(Debug, Clone, Copy)]
struct Pass {
    opened_ms: u64,
    last_input_ms: u64,
}

/// One member's view of a group's branches.
#[derive(Debug)]
pub struct Convergence<S> {
    root: EpochId,
    current: EpochId,
    nodes: HashMap<EpochId, Node<S>>,
    /// Commits whose parent this member has not validated (yet), by parent, with when they
    /// arrived.
    waiting: HashMap<EpochId, Vec<(Commit, u64)>>,
    /// Commits done with: refused, beyond the bound, or gone from the window. Bounded,
    /// oldest forgotten first; a late copy of one is ignored.
    done: VecDeque<CommitId>,
    done_set: HashSet<CommitId>,
    pass: Option<Pass>,
    events: VecDeque<Event>,
    /// The last pass settled, until taken.
    settled: Option<SettledPass>,
}

impl<S: EpochState> Convergence<S> {
    /// Starts from `state`, final for this member (a group just made or joined).
    pub fn new(state: S) -> Self {
        let id = state.id();
        let mut nodes = HashMap::new();
        nodes.insert(
            id,
            Node {
                epoch: state.epoch(),
                state: Some(state),
                parent: None,
                children: Vec::new(),
            },
        );
        Self {
            root: id,
            current: id,
            nodes,
            waiting: HashMap::new(),
            done: VecDeque::new(),
            done_set: HashSet::new(),
            pass: None,
            events: VecDeque::new(),
            settled: None,
        }
    }

    /// The tip this member follows.
    pub fn current(&self) -> EpochId {
        self.current
    }

    /// The state at the tip this member follows; `None` once the branch that removed this
    /// member won.
    pub fn current_state(&self) -> Option<&S> {
        self.node(self.current).state.as_ref()
    }

    /// Whether the branch this member follows removed it.
    pub fn is_removed(&self) -> bool {
        self.current_state().is_none()
    }

    /// The oldest epoch still in the window: final for this member.
    pub fn root(&self) -> EpochId {
        self.root
    }

    /// The epoch number of the root.
    pub fn root_epoch(&self) -> u64 {
        self.node(self.root).epoch
    }

    /// The state of any validated epoch in the window, on any branch: what messages sent on
    /// it are read against.
    pub fn state(&self, epoch: &EpochId) -> Option<&S> {
        self.nodes.get(epoch).and_then(|node| node.state.as_ref())
    }

    /// The state of a validated epoch, to read a message sent in it (reading moves its
    /// message keys on). The caller must not change what names the epoch.
    pub fn state_mut(&mut self, epoch: &EpochId) -> Option<&mut S> {
        self.nodes
            .get_mut(epoch)
            .and_then(|node| node.state.as_mut())
    }

    /// Commits waiting for a parent this member has not validated (yet).
    pub fn waiting(&self) -> impl Iterator<Item = &Commit> {
        self.waiting.values().flatten().map(|(commit, _)| commit)
    }

    /// Whether no pass is open: only then may this member commit.
    pub fn is_settled(&self) -> bool {
        self.pass.is_none()
    }

    /// When the open pass settles, if one is open.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.pass.map(|pass| {
            pass.last_input_ms
                .saturating_add(SETTLE_QUIET_MS)
                .min(pass.opened_ms.saturating_add(SETTLE_MAX_MS))
        })
    }

    /// The last pass settled since this was last called.
    pub fn take_settled(&mut self) -> Option<SettledPass> {
        self.settled.take()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Every validated commit in the window: its id, its parent epoch and the epoch it leads
    /// to (for checks against an independent model of the choice).
    pub fn window(&self) -> Vec<(CommitId, EpochId, EpochId)> {
        self.nodes
            .iter()
            .flat_map(|(epoch, node)| {
                node.children
                    .iter()
                    .map(move |(commit, child)| (*commit, *epoch, *child))
            })
            .collect()
    }

    /// A commit this member made on its settled tip, with the state it leads to. It moves
    /// the tip at once, with no event: the member already holds that state.
    pub fn committed(&mut self, commit: Commit, state: S) -> Result<(), ApplyError> {
        if !self.is_settled() || commit.parent != self.current {
            return Err(ApplyError(
                "a commit of this member's own must extend its settled tip".into(),
            ));
        }
        let child = state.id();
        self.insert(commit.id, commit.parent, child, Some(state));
        self.current = child;
        self.advance_root();
        Ok(())
    }

    /// A commit from the journal, in any order, perhaps a copy of one seen before.
    pub fn receive(&mut self, commit: Commit, now: u64) {
        if self.knows(&commit.id) {
            return;
        }
        if self.nodes.contains_key(&commit.parent) {
            if self.validate(commit) {
                self.input(now);
            }
            return;
        }
        if self.is_behind_root(&commit) {
            self.beyond_bound(&commit);
            return;
        }
        let waiting: usize = self.waiting.values().map(Vec::len).sum();
        if waiting >= MAX_WAITING_COMMITS {
            self.events.push_back(Event::Dropped { commit: commit.id });
            return;
        }
        self.waiting
            .entry(commit.parent)
            .or_default()
            .push((commit, now));
    }

    /// Settles the open pass if it is due, and lets go of commits that waited too long.
    pub fn poll(&mut self, now: u64) {
        let mut expired = Vec::new();
        self.waiting.retain(|_, commits| {
            commits.retain(|(commit, at)| {
                let keep = now.saturating_sub(*at) < WAITING_TTL_MS;
                if !keep {
                    expired.push(commit.id);
                }
                keep
            });
            !commits.is_empty()
        });
        for commit in expired {
            self.events.push_back(Event::Dropped { commit });
        }
        if self.poll_timeout().is_some_and(|due| now >= due) {
            self.pass = None;
            self.settle();
        }
    }

    fn node(&self, epoch: EpochId) -> &Node<S> {
        // The root and the tip are always in the window: every path that removes nodes
        // keeps both.
        match self.nodes.get(&epoch) {
            Some(node) => node,
            None => unreachable!("the window lost an epoch it must keep"),
        }
    }

    fn knows(&self, commit: &CommitId) -> bool {
        self.done_set.contains(commit)
            || self
                .nodes
                .values()
                .any(|node| node.parent.is_some_and(|(_, id)| id == *commit))
            || self
                .waiting
                .values()
                .flatten()
                .any(|(waiting, _)| waiting.id == *commit)
    }

    /// Whether the commit's parent is an epoch this member can no longer reach: at or before
    /// the root's number, and not the root.
    fn is_behind_root(&self, commit: &Commit) -> bool {
        commit.parent_epoch <= self.node(self.root).epoch && commit.parent != self.root
    }

    fn beyond_bound(&mut self, commit: &Commit) {
        self.forget(commit.id);
        self.events.push_back(Event::BeyondBound {
            commit: commit.id,
            parent_epoch: commit.parent_epoch,
        });
    }

    /// Verifies `commit` against its parent's state and adds it with every waiting commit
    /// it unblocks; `true` when something was added.
    fn validate(&mut self, commit: Commit) -> bool {
        let mut added = false;
        let mut queue = vec![commit];
        while let Some(commit) = queue.pop() {
            let window: usize = self.nodes.values().map(|node| node.children.len()).sum();
            if window >= MAX_WINDOW_COMMITS {
                self.events.push_back(Event::Dropped { commit: commit.id });
                continue;
            }
            let Some(parent) = self.nodes.get(&commit.parent) else {
                continue;
            };
            let state = match parent.state.as_ref().map(|state| state.apply(&commit)) {
                Some(Ok(Applied::Next(state))) if state.id() != commit.child => {
                    self.reject(commit.id, "leads to another epoch than it names".into());
                    continue;
                }
                Some(Ok(Applied::Next(state))) => Some(state),
                Some(Ok(Applied::Removed)) => None,
                Some(Err(ApplyError(reason))) => {
                    self.reject(commit.id, reason);
                    continue;
                }
                // After its own removal a member holds no key to check a commit with: it
                // counts the branch's commits by the epochs they name, so that it learns the
                // branch that removed it won.
                None => None,
            };
            let child = commit.child;
            if self.nodes.contains_key(&child) {
                // Two commits cannot lead to one epoch: the id hashes the commit.
                self.reject(commit.id, "leads to an epoch already reached".into());
                continue;
            }
            self.insert(commit.id, commit.parent, child, state);
            added = true;
            let unblocked = self.waiting.remove(&child).unwrap_or_default();
            queue.extend(unblocked.into_iter().map(|(commit, _)| commit));
        }
        added
    }

    fn reject(&mut self, commit: CommitId, reason: String) {
        self.forget(commit);
        self.events.push_back(Event::Rejected { commit, reason });
    }

    fn insert(&mut self, commit: CommitId, parent: EpochId, child: EpochId, state: Option<S>) {
        let epoch = match self.nodes.get_mut(&parent) {
            Some(node) => {
                node.children.push((commit, child));
                node.epoch.saturating_add(1)
            }
            None => 0,
        };
        self.nodes.insert(
            child,
            Node {
                epoch,
                state,
                parent: Some((parent, commit)),
                children: Vec::new(),
            },
        );
    }

    fn input(&mut self, now: u64) {
        self.pass = Some(match self.pass {
            Some(pass) => Pass {
                last_input_ms: now,
                ..pass
            },
            None => Pass {
                opened_ms: now,
                last_input_ms: now,
            },
        });
    }

    fn settle(&mut self) {
        let children: HashMap<EpochId, Vec<(CommitId, EpochId)>> = self
            .nodes
            .iter()
            .map(|(epoch, node)| (*epoch, node.children.clone()))
            .collect();
        let winner = branch::winning_tip(self.root, &children);
        self.settled = Some(SettledPass {
            root: self.root,
            commits: self.window(),
            tip: winner,
        });
        if winner != self.current {
            let (rewound, applied) = self.route(self.current, winner);
            self.events.push_back(Event::Moved {
                from: self.current,
                to: winner,
                rewound,
                applied,
            });
            self.current = winner;
        }
        self.advance_root();
    }

    /// The commits from `from` back to where it meets `to` (newest first), and from there
    /// on to `to` (oldest first).
    fn route(&self, from: EpochId, to: EpochId) -> (Vec<CommitId>, Vec<CommitId>) {
        let ancestry = |mut epoch: EpochId| {
            let mut path = vec![(epoch, None)];
            while let Some((parent, commit)) = self.nodes.get(&epoch).and_then(|n| n.parent) {
                path.push((parent, Some(commit)));
                epoch = parent;
            }
            path
        };
        let up = ancestry(from);
        let down = ancestry(to);
        let down_epochs: HashSet<EpochId> = down.iter().map(|(epoch, _)| *epoch).collect();
        let meet = up
            .iter()
            .position(|(epoch, _)| down_epochs.contains(epoch))
            .unwrap_or(up.len().saturating_sub(1));
        let meet_epoch = up.get(meet).map_or(self.root, |(epoch, _)| *epoch);
        // `up[i].1` is the commit that led to `up[i - 1]`.
        let rewound: Vec<CommitId> = up[1..=meet].iter().filter_map(|(_, c)| *c).collect();
        let at = down
            .iter()
            .position(|(epoch, _)| *epoch == meet_epoch)
            .unwrap_or(0);
        let mut applied: Vec<CommitId> = down[1..=at].iter().filter_map(|(_, c)| *c).collect();
        applied.reverse();
        (rewound, applied)
    }

    /// Makes final what is more than [`REWIND_BOUND`] commits behind the tip, and drops
    /// every epoch that does not descend from the new root (its state, its secrets).
    fn advance_root(&mut self) {
        let mut chain = vec![self.current];
        let mut epoch = self.current;
        while let Some((parent, _)) = self.nodes.get(&epoch).and_then(|n| n.parent) {
            chain.push(parent);
            epoch = parent;
        }
        let Some(&root) = chain.get(REWIND_BOUND.min(chain.len() - 1)) else {
            return;
        };
        if root == self.root {
            return;
        }
        let mut keep = HashSet::new();
        let mut stack = vec![root];
        while let Some(epoch) = stack.pop() {
            if keep.insert(epoch) {
                if let Some(node) = self.nodes.get(&epoch) {
                    stack.extend(node.children.iter().map(|(_, child)| *child));
                }
            }
        }
        let dropped: Vec<EpochId> = self
            .nodes
            .keys()
            .filter(|epoch| !keep.contains(epoch))
            .copied()
            .collect();
        let ancestors: HashSet<EpochId> = chain.iter().copied().collect();
        for epoch in dropped {
            if let Some(node) = self.nodes.remove(&epoch)
                && let Some((_, commit)) = node.parent
            {
                if ancestors.contains(&epoch) {
                    self.forget(commit);
                } else {
                    // A branch that forks before the new root: it is beyond the bound now,
                    // and what extends it will never be placed.
                    self.forget(commit);
                    self.events.push_back(Event::BeyondBound {
                        commit,
                        parent_epoch: node.epoch.saturating_sub(1),
                    });
                }
            }
        }
        // The commit into the new root is final too; nothing above it may be applied.
        if let Some(node) = self.nodes.get_mut(&root) {
            if let Some((_, commit)) = node.parent.take() {
                self.forget(commit);
            }
        }
        self.root = root;
        // Waiting commits that can no longer find their parent are beyond the bound.
        let stale: Vec<Commit> = {
            let root_epoch = self.node(self.root).epoch;
            let root_id = self.root;
            let mut stale = Vec::new();
            self.waiting.retain(|parent, commits| {
                let behind = commits
                    .first()
                    .is_some_and(|(c, _)| c.parent_epoch <= root_epoch && *parent != root_id);
                if behind {
                    stale.extend(commits.drain(..).map(|(commit, _)| commit));
                }
                !behind
            });
            stale
        };
        for commit in stale {
            self.beyond_bound(&commit);
        }
    }

    fn forget(&mut self, commit: CommitId) {
        if self.done_set.insert(commit) {
            self.done.push_back(commit);
        }
        while self.done.len() > MAX_DONE_REMEMBERED {
            if let Some(old) = self.done.pop_front() {
                self.done_set.remove(&old);
            }
        }
    }
}
