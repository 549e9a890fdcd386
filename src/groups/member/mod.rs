//! One device's membership of one group, sans-IO: the facts that arrive go in, `now` and the
//! RNG are arguments, and what the device must write, deliver or show is polled out.
//!
//! A device takes part under its own Ed25519 key: its MLS signature key is its device key,
//! so the roster of an epoch names devices, and a fact's author can be checked against the
//! leaf that sent what the fact carries. Membership changes are asked for as [`Intent`]s
//! and made one commit at a time, only on a settled state; an intent whose commit lost its
//! branch is asked again on the winner, and one that can no longer apply is dropped with its
//! reason, so none blocks anything.

use std::collections::{HashMap, HashSet, VecDeque};

use super::convergence::{Commit, CommitId, Convergence, EpochId, Event, SettledPass};
use super::facts::{GroupFact, MAX_REJOIN_LEAVES, leaf_digest};
use super::leave::LeaveRequest;
pub use super::mls_epoch::MAX_GROUP_NAME_BYTES;
use super::mls_epoch::{MlsEpoch, commit_id};
use super::policy::PolicyChange;
use crate::crypto::group::{Group, GroupError, KeyPackageSecrets};
use crate::crypto::key_package::KeyPackage;
use crate::crypto::keys::SignaturePrivateKey;
use crate::crypto::tree_math::LeafIndex;
use crate::state::fact::{ContextId, DeviceKey};

/// Messages kept while the epoch they were sent in is not known here yet.
pub const MAX_EARLY_MESSAGES: usize = 256;
/// Commits convergence let go of while their parent was unknown, kept to offer again when
/// the parent arrives: the journal holds every fact once, so nothing else would offer them.
pub const MAX_PARKED_COMMITS: usize = 1_024;
/// Commits handed to convergence, remembered so that one it lets go of can be parked, and
/// one that loses can be read for what it meant to do.
pub const MAX_RECENT_COMMITS: usize = 2_048;
/// Losing commits already looked at for what to ask again.
pub const MAX_LOSERS_REMEMBERED: usize = 4_096;
/// This member's commits final for it, remembered (with their epoch numbers) in case it
/// turns out stranded on their branch.
pub const MAX_SETTLED_OWN: usize = 256;
/// How long a member stays behind a branch it cannot join before it says it is stranded.
pub const STRANDED_GRACE_MS: u64 = super::convergence::SETTLE_MAX_MS;
/// Members asking to be brought back, remembered at once, and requests kept of each.
pub const MAX_REJOINING: usize = 64;
pub const MAX_REQUESTS_PER_REJOINING: usize = 4;

/// A request to be brought back: the KeyPackage to add the device from, and digests of the
/// leaves it held on the branch it is stranded on.
#[derive(Debug, Clone)]
struct Rejoining {
    key_package: Box<KeyPackage>,
    leaves: Vec<[u8; 32]>,
}
/// Epochs of branches beyond the rewind bound, remembered to judge whether this member is
/// stranded.
pub const MAX_UNJOINABLE: usize = 1_024;

/// A membership change a member asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Add the device whose KeyPackage this is.
    Add(Box<KeyPackage>),
    Remove(DeviceKey),
    /// New keys on this member's path (post-compromise security).
    Update,
    /// Name the group (at most [`MAX_GROUP_NAME_BYTES`] of UTF-8): a GroupContextExtensions
    /// proposal inside the sealed commit, so only members read it.
    Rename(String),
    /// Bring back a member stranded on a branch the group left: its old leaf out, the
    /// device in again from a fresh KeyPackage, in one commit.
    Readd {
        device: DeviceKey,
        key_package: Box<KeyPackage>,
    },
    /// Change the group's policy (a GroupContextExtensions proposal, the name kept), made
    /// on the policy of the epoch it is committed on.
    SetPolicy(PolicyChange),
    /// Remove the device that signed this request to leave: the request travels in the
    /// commit, so the removal needs no capability.
    RemoveLeaving(Box<LeaveRequest>),
}

/// An application message read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub epoch: EpochId,
    pub sender: DeviceKey,
    pub plaintext: Vec<u8>,
    /// [`message_digest`] of the protected message read: the caller finds the fact it came in.
    pub digest: [u8; 32],
}

/// The name of a protected message, as [`Read::digest`] gives it.
pub fn message_digest(message: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(message).into()
}

/// What the device must do or show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A fact to write into the group's context.
    Write(GroupFact),
    /// A Welcome for the device the KeyPackage came from, through the pair's context.
    Welcome {
        to: DeviceKey,
        welcome: Vec<u8>,
    },
    Read(Read),
    /// This member committed `intent`, leading to `epoch`. The commit may still lose; then
    /// the intent is asked again (or dropped with its reason).
    Committed {
        intent: Intent,
        epoch: EpochId,
    },
    /// The member now follows `epoch` (a pass settled elsewhere than it was).
    Moved {
        epoch: EpochId,
    },
    /// The branch that removed this device won: it is out of the group.
    Removed,
    /// An intent that can no longer apply, and why.
    Dropped {
        intent: Intent,
        reason: String,
    },
    /// A fact that did not check out, held against its author.
    Refused {
        author: DeviceKey,
        reason: String,
    },
    /// This member follows a branch the group seems to have left beyond its rewind bound:
    /// the device should ask to be added again ([`GroupFact::Rejoin`] with a fresh
    /// KeyPackage, naming `leaves`, digests of the leaves it held). Said once per epoch it is
    /// stuck at.
    Stranded {
        leaves: Vec<[u8; 32]>,
    },
}

/// One device's membership of one group.
#[derive(Debug)]
pub struct GroupMember {
    context: ContextId,
    device: DeviceKey,
    convergence: Convergence<MlsEpoch>,
    intents: VecDeque<Intent>,
    /// This member's commits that may still lose, and what each meant to do.
    pending: Vec<(CommitId, Intent)>,
    /// Epoch numbers this member's pending commits led to.
    pending_epochs: HashMap<CommitId, u64>,
    /// Messages of epochs not known yet: author, epoch, message.
    early: VecDeque<(DeviceKey, EpochId, Vec<u8>)>,
    recent: VecDeque<Commit>,
    parked: VecDeque<Commit>,
    losers: VecDeque<CommitId>,
    losers_seen: HashSet<CommitId>,
    /// The epoch this member last said it was stranded at.
    stranded_at: Option<EpochId>,
    /// Since when a branch this member cannot join reaches further than its own.
    behind_since: Option<u64>,
    /// Epochs that commits beyond the rewind bound lead to, with their number and that
    /// commit: the start of branches this member cannot join. Kept, not cleared when this
    /// member moves: the journal delivers each commit once, so the evidence never comes back.
    unjoinable: HashMap<EpochId, (u64, CommitId)>,
    /// The epoch this device entered the group at: commits before it are history it never
    /// held, neither to judge nor to park.
    joined_epoch: u64,
    /// A member said this device was removed where it could not check (see
    /// [`GroupFact::Departed`]).
    departed: bool,
    /// The epoch number the departure notice spoke of.
    departed_at: u64,
    /// Intents of this member's commits that are final for it (gone from its window, or
    /// made before it was restored), with the epoch number each led to: if it turns out
    /// stranded, those after the fork are on the dead branch and are asked again.
    settled_own: VecDeque<(u64, Intent)>,
    /// The epoch number this membership was restored at (0 if it never was).
    resumed_epoch: u64,
    /// Devices this member already told they departed.
    told_departed: HashSet<DeviceKey>,
    /// Members that asked to be brought back (a few requests each, the latest last). One
    /// asks while its leaf at the epoch this member follows is one its request names.
    rejoining: HashMap<DeviceKey, Vec<Rejoining>>,
    /// Digests of the leaves this membership held, oldest first: a request to be brought
    /// back names them.
    own_leaves: VecDeque<[u8; 32]>,
    outputs: VecDeque<Output>,
}

fn failed(err: GroupError) -> String {
    err.to_string()
}

/// The device a leaf belongs to: its MLS signature key is the device key.
fn device_of(group: &Group, leaf: LeafIndex) -> Option<DeviceKey> {
    let (_, node) = group.members().find(|(index, _)| *index == leaf)?;
    Some(DeviceKey(node.signature_key.as_slice().try_into().ok()?))
}

fn signing_key(seed: &[u8; 32]) -> Result<SignaturePrivateKey, GroupError> {
    Ok(SignaturePrivateKey::from_seed(seed)?)
}

impl GroupMember {
    /// A new group of one, whose MLS group id is its journal context id. A non-empty
    /// `name` is set by the group's first commit (MLS starts a group with an empty
    /// context); a name longer than [`MAX_GROUP_NAME_BYTES`] is refused.
    pub fn create(
        context: ContextId,
        name: &str,
        device_seed: &[u8; 32],
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<Self, GroupError> {
        if name.len() > MAX_GROUP_NAME_BYTES {
            return Err(GroupError::InvalidProposal("group name too long"));
        }
        let key = signing_key(device_seed)?;
        let device = DeviceKey(key.public_key().to_bytes());
        let group = Group::create(context.0.to_vec(), device.0.to_vec(), key, rng)?;
        let mut member = Self::with(context, device, group)?;
        if !name.is_empty() {
            member.ask(Intent::Rename(name.to_owned()));
        }
        Ok(member)
    }

    /// Enters a group from a Welcome to `key_package`, whose secrets this device kept.
    pub fn join(
        welcome: &[u8],
        key_package: &KeyPackage,
        secrets: KeyPackageSecrets,
        device_seed: &[u8; 32],
    ) -> Result<Self, GroupError> {
        let key = signing_key(device_seed)?;
        let device = DeviceKey(key.public_key().to_bytes());
        let group = Group::join_from_welcome(welcome, key_package, secrets, key)?;
        let context = ContextId(
            group
                .group_id()
                .try_into()
                .map_err(|_| GroupError::WrongGroup)?,
        );
        Self::with(context, device, group)
    }

    /// Whether `welcome` (an `MLSMessage`) brings in the owner of `key_package`: a device
    /// that offered several finds the one to join with.
    pub fn welcome_is_for(welcome: &[u8], key_package: &KeyPackage) -> bool {
        let (Ok(welcome), Ok(reference)) = (
            crate::crypto::welcome::Welcome::from_mls_message_bytes(welcome),
            key_package.reference(),
        ) else {
            return false;
        };
        welcome
            .secrets
            .iter()
            .any(|entry| entry.new_member == reference.as_slice())
    }

    fn with(context: ContextId, device: DeviceKey, group: Group) -> Result<Self, GroupError> {
        let joined_epoch = group.epoch();
        let mut member = Self {
            context,
            device,
            convergence: Convergence::new(MlsEpoch::new(group)?),
            intents: VecDeque::new(),
            pending: Vec::new(),
            pending_epochs: HashMap::new(),
            early: VecDeque::new(),
            recent: VecDeque::new(),
            parked: VecDeque::new(),
            losers: VecDeque::new(),
            losers_seen: HashSet::new(),
            stranded_at: None,
            behind_since: None,
            unjoinable: HashMap::new(),
            joined_epoch,
            departed: false,
            departed_at: 0,
            settled_own: VecDeque::new(),
            resumed_epoch: 0,
            told_departed: HashSet::new(),
            rejoining: HashMap::new(),
            own_leaves: VecDeque::new(),
            outputs: VecDeque::new(),
        };
        member.note_own_leaf();
        Ok(member)
    }

    /// Digests of the leaves this membership held (and those it took over from the
    /// device's other memberships of the group), oldest first.
    pub fn own_leaves(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.own_leaves.iter()
    }

    /// Takes over `leaves` the device held in another membership that gives way: a request
    /// to be brought back names them too, since the group may hold the device at one of
    /// them.
    pub fn inherit_leaves<'a>(&mut self, leaves: impl IntoIterator<Item = &'a [u8; 32]>) {
        let mut older: VecDeque<[u8; 32]> = leaves
            .into_iter()
            .filter(|leaf| !self.own_leaves.contains(leaf))
            .copied()
            .collect();
        older.extend(self.own_leaves.drain(..));
        while older.len() > MAX_REJOIN_LEAVES {
            older.pop_front();
        }
        self.own_leaves = older;
    }

    /// Remembers the leaf this member holds at the epoch it follows.
    fn note_own_leaf(&mut self) {
        let Some(key) = self.leaf_key(&self.device) else {
            return;
        };
        let digest = leaf_digest(&key);
        if self.own_leaves.back() == Some(&digest) {
            return;
        }
        if self.own_leaves.len() >= MAX_REJOIN_LEAVES {
            self.own_leaves.pop_front();
        }
        self.own_leaves.push_back(digest);
    }

    pub fn context(&self) -> ContextId {
        self.context
    }

    pub fn is_removed(&self) -> bool {
        self.departed || self.convergence.is_removed()
    }

    /// The epoch this member follows and its number, unless it was removed.
    pub fn epoch(&self) -> Option<(EpochId, u64)> {
        if self.departed {
            return None;
        }
        let state = self.convergence.current_state()?;
        Some((self.convergence.current(), state.group().epoch()))
    }

    /// Whether this member holds the state of `epoch` (on any branch in its window): what a
    /// message sent in it needs to be read.
    pub fn holds_epoch(&self, epoch: &EpochId) -> bool {
        self.convergence.state(epoch).is_some()
    }

    /// The commits in this member's window (commit, parent epoch, epoch it leads to), and
    /// how many it keeps parked for want of a parent.
    pub fn window(&self) -> (Vec<(CommitId, EpochId, EpochId)>, usize) {
        (self.convergence.window(), self.parked.len())
    }

    /// The last pass this member's convergence settled, since this was last called.
    pub fn take_settled(&mut self) -> Option<SettledPass> {
        self.convergence.take_settled()
    }

    /// The devices in the group at the epoch this member follows.
    pub fn roster(&self) -> Vec<DeviceKey> {
        let Some(state) = self.convergence.current_state().filter(|_| !self.departed) else {
            return Vec::new();
        };
        let group = state.group();
        let mut roster: Vec<DeviceKey> = group
            .members()
            .filter_map(|(leaf, _)| device_of(group, leaf))
            .collect();
        roster.sort();
        roster
    }

    /// The group's name at the epoch this member follows, once one was set.
    pub fn name(&self) -> Option<String> {
        if self.departed {
            return None;
        }
        self.convergence.current_state()?.name()
    }

    /// The group's state at the epoch this member follows: its tree hash, exporter, …
    pub fn group(&self) -> Option<&Group> {
        self.convergence.current_state().map(MlsEpoch::group)
    }

    /// Asks for a membership change; it is made once the group is settled.
    pub fn ask(&mut self, intent: Intent) {
        self.intents.push_back(intent);
    }

    /// `plaintext` protected for the members of the epoch this member follows.
    pub fn send(
        &mut self,
        plaintext: &[u8],
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<GroupFact, GroupError> {
        let epoch = self.convergence.current();
        let state = self
            .convergence
            .state_mut(&epoch)
            .ok_or(GroupError::NotAMember(0))?;
        let message = state.group_mut().protect(plaintext, &[], rng)?;
        Ok(GroupFact::Message { epoch, message })
    }

    /// A fact of the group's context, written by `author`, in whatever order facts arrive.
    pub fn receive(&mut self, author: DeviceKey, fact: GroupFact, now: u64) {
        match fact {
            GroupFact::Commit {
                parent,
                parent_epoch,
                epoch,
                sealed,
            } => {
                if parent_epoch < self.joined_epoch {
                    return;
                }
                if let Some(state) = self.convergence.state(&parent) {
                    let group = state.group();
                    let member = group
                        .members()
                        .any(|(leaf, _)| device_of(group, leaf) == Some(author));
                    if !member {
                        self.refuse(author, "a commit from a device not in its epoch");
                        return;
                    }
                }
                let commit = Commit {
                    id: commit_id(&sealed),
                    parent,
                    parent_epoch,
                    child: epoch,
                    bytes: sealed,
                };
                if self.recent.len() >= MAX_RECENT_COMMITS {
                    self.recent.pop_front();
                }
                self.recent.push_back(commit.clone());
                self.convergence.receive(commit, now);
                self.unpark(now);
                self.read_early();
            }
            // This device's own messages come back from the journal: it wrote them, and
            // their keys are used up.
            GroupFact::Message { .. } if author == self.device => {}
            GroupFact::Message { epoch, message } => self.read(author, epoch, message),
            GroupFact::Rejoin {
                key_package,
                leaves,
            } => self.rejoin(author, &key_package, leaves),
            GroupFact::Departed { device, epoch } => self.told_departed_by(author, device, epoch),
            GroupFact::Welcome(_) | GroupFact::KeyPackage { .. } | GroupFact::KeyPackageUsed(_) => {
                self.refuse(author, "a pairwise fact in a group's context");
            }
        }
    }

    /// Offers again every parked commit whose parent is now known, until none is.
    fn unpark(&mut self, now: u64) {
        // A parked commit whose parent is now behind the root will never be placed: it is
        // on a branch beyond the bound (it waited while the root was still below it).
        let root = self.convergence.root();
        let root_epoch = self.convergence.root_epoch();
        let (behind, parked): (Vec<Commit>, Vec<Commit>) = self
            .parked
            .drain(..)
            .partition(|commit| commit.parent_epoch <= root_epoch && commit.parent != root);
        self.parked = parked.into();
        for commit in behind {
            self.unjoinable(&commit);
        }
        loop {
            let (ready, waiting): (Vec<Commit>, Vec<Commit>) = self
                .parked
                .drain(..)
                .partition(|commit| self.convergence.state(&commit.parent).is_some());
            self.parked = waiting.into();
            if ready.is_empty() {
                return;
            }
            for commit in ready {
                self.convergence.receive(commit, now);
            }
        }
    }

    fn park(&mut self, id: CommitId) {
        let Some(at) = self.recent.iter().position(|commit| commit.id == id) else {
            return;
        };
        if let Some(commit) = self.recent.remove(at) {
            if self.parked.len() >= MAX_PARKED_COMMITS {
                self.parked.pop_front();
            }
            self.parked.push_back(commit);
        }
    }

    /// A member asks to be added again: if it is in the group at the epoch this member
    /// follows, the member with the lowest device key other than it brings it back.
    fn rejoin(&mut self, author: DeviceKey, key_package: &[u8], leaves: Vec<[u8; 32]>) {
        use crate::crypto::codec::Decode;
        let Ok(key_package) = KeyPackage::from_tls_bytes(key_package) else {
            self.refuse(author, "a rejoin request that is not a KeyPackage");
            return;
        };
        if key_package.leaf_node.signature_key != author.0 {
            self.refuse(author, "a rejoin request for another device");
            return;
        }
        let roster = self.roster();
        if !roster.contains(&author) {
            // Removed on this branch: every member tells it, once each, since the device
            // takes the word only of a member of its own (older) epoch, and members
            // added since the branches parted are not.
            if roster.contains(&self.device) && self.told_departed.insert(author) {
                let epoch = self.epoch().map_or(0, |(_, epoch)| epoch);
                self.outputs.push_back(Output::Write(GroupFact::Departed {
                    device: author,
                    epoch,
                }));
            }
            return;
        }
        if self.rejoining.len() >= MAX_REJOINING && !self.rejoining.contains_key(&author) {
            // Requests already answered (or stale) make room.
            let answered: Vec<DeviceKey> = self
                .rejoining
                .keys()
                .filter(|device| self.still_stranded(device).is_none())
                .copied()
                .collect();
            for device in answered {
                self.rejoining.remove(&device);
            }
        }
        if self.rejoining.len() >= MAX_REJOINING && !self.rejoining.contains_key(&author) {
            tracing::debug!("too many members asking to be brought back at once");
            return;
        }
        let requests = self.rejoining.entry(author).or_default();
        if requests.len() >= MAX_REQUESTS_PER_REJOINING {
            requests.remove(0);
        }
        requests.push(Rejoining {
            key_package: Box::new(key_package),
            leaves,
        });
        self.bring_back();
    }

    /// The HPKE key of `device`'s leaf at the epoch this member follows: it changes when
    /// the device commits or is added again.
    fn leaf_key(&self, device: &DeviceKey) -> Option<Vec<u8>> {
        let group = self.convergence.current_state()?.group();
        group
            .members()
            .find(|(leaf, _)| device_of(group, *leaf) == Some(*device))
            .map(|(_, node)| node.encryption_key.clone())
    }

    /// A member says this device is out at the member's epoch `epoch`. Taken from a member
    /// of the epoch this device follows, when this membership began before that epoch and
    /// has not got past it (a membership from a later Welcome is not the one meant): a device
    /// that can check its removal learns it from convergence instead.
    fn told_departed_by(&mut self, author: DeviceKey, device: DeviceKey, epoch: u64) {
        if device != self.device || self.is_removed() || self.joined_epoch >= epoch {
            return;
        }
        if self.epoch().is_some_and(|(_, mine)| mine >= epoch) {
            return;
        }
        if !self.roster().contains(&author) || author == self.device {
            // An honest member may have joined after the branches parted: not held
            // against it, and another member's notice is taken instead.
            tracing::debug!("a departure notice from a device not in this epoch");
            return;
        }
        self.departed = true;
        self.departed_at = epoch;
        self.drop_unmade("this device is out of the group");
        self.outputs.push_back(Output::Removed);
    }

    fn refuse(&mut self, author: DeviceKey, reason: &str) {
        self.outputs.push_back(Output::Refused {
            author,
            reason: reason.to_owned(),
        });
    }

    fn read(&mut self, author: DeviceKey, epoch: EpochId, message: Vec<u8>) {
        let Some(state) = self.convergence.state_mut(&epoch) else {
            if self.early.len() >= MAX_EARLY_MESSAGES {
                self.early.pop_front();
            }
            self.early.push_back((author, epoch, message));
            return;
        };
        let group = state.group_mut();
        match group.unprotect(&message) {
            Ok(received) => {
                let sender = device_of(group, received.sender);
                if sender != Some(author) {
                    self.refuse(author, "a message whose sender is another member");
                    return;
                }
                self.outputs.push_back(Output::Read(Read {
                    epoch,
                    sender: author,
                    plaintext: received.plaintext,
                    digest: message_digest(&message),
                }));
            }
            Err(err) => self.refuse(author, &failed(err)),
        }
    }

    fn read_early(&mut self) {
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .early
            .drain(..)
            .partition(|(_, epoch, _)| self.convergence.state(epoch).is_some());
        self.early = waiting.into();
        for (author, epoch, message) in ready {
            self.read(author, epoch, message);
        }
    }

    /// When [`Self::poll`] has work next.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.convergence.poll_timeout()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Settles what is due and, on a settled group, makes the next change asked for.
    pub fn poll(&mut self, now: u64, rng: &mut impl rand_core::CryptoRng) {
        let was_open = !self.convergence.is_settled();
        self.convergence.poll(now);
        while let Some(event) = self.convergence.poll_event() {
            self.on_event(event);
        }
        if was_open && self.convergence.is_settled() && !self.is_removed() {
            self.recover_losers();
        }
        self.unpark(now);
        // A notice is a member's word where this one could not check; once convergence
        // takes it as far as the notice spoke of, still in the group, it checks for itself
        // (the notice was about an older leaf of this device, or another branch).
        if self.departed
            && self
                .convergence
                .current_state()
                .is_some_and(|state| state.group().epoch() >= self.departed_at)
        {
            self.departed = false;
            self.stranded_at = None;
            self.outputs.push_back(Output::Moved {
                epoch: self.convergence.current(),
            });
        }
        self.check_stranded(now);
        self.read_early();
        let window: Vec<CommitId> = self
            .convergence
            .window()
            .iter()
            .map(|(c, _, _)| *c)
            .collect();
        // A commit gone from the window without losing is final for this member; it is
        // kept with its epoch number in case this member turns out stranded, when the
        // branch it is on is dead after all.
        let (kept, settled): (Vec<_>, Vec<_>) = self
            .pending
            .drain(..)
            .partition(|(commit, _)| window.contains(commit));
        self.pending = kept;
        for (commit, intent) in settled {
            let epoch = self.pending_epochs.remove(&commit).unwrap_or(0);
            self.settle_own(epoch, intent);
        }
        // A stranded member makes no commits: they would only lengthen a dead branch.
        if self.convergence.is_settled() && !self.is_removed() && !self.is_stranded() {
            self.bring_back();
            self.make_next(rng);
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Moved { to, rewound, .. } => {
                // What this member's losing commits meant to do is asked again, first.
                let lost: Vec<Intent> = self
                    .pending
                    .iter()
                    .filter(|(commit, _)| rewound.contains(commit))
                    .map(|(_, intent)| intent.clone())
                    .collect();
                self.pending.retain(|(commit, _)| !rewound.contains(commit));
                for intent in lost.into_iter().rev() {
                    self.intents.push_front(intent);
                }
                if self.convergence.is_removed() {
                    self.drop_unmade("this device is out of the group");
                    self.outputs.push_back(Output::Removed);
                } else {
                    self.outputs.push_back(Output::Moved { epoch: to });
                }
            }
            Event::Rejected { reason, .. } => {
                tracing::debug!(%reason, "a commit refused");
            }
            Event::BeyondBound {
                commit,
                parent_epoch,
            } => {
                tracing::info!(parent_epoch, "a commit on a branch beyond the rewind bound");
                if let Some(known) = self.recent.iter().find(|c| c.id == commit).cloned() {
                    self.unjoinable(&known);
                }
            }
            Event::Dropped { commit } => self.park(commit),
        }
    }

    /// Whether this member said it is stranded at the epoch it follows: a membership from
    /// a later Welcome takes over from it.
    pub fn is_stranded(&self) -> bool {
        self.stranded_at.is_some() && self.stranded_at == self.epoch().map(|(id, _)| id)
    }

    /// What this member was asked for and has not made final: the intents of its commits
    /// that may still lose (oldest first), then those not made yet. It keeps none of them.
    pub fn take_unmade(&mut self) -> Vec<Intent> {
        // A stranded member's own commits after the fork are on the dead branch, final
        // for it or not; the fork is at most one before the earliest epoch of a branch it
        // cannot join.
        let fork = self
            .unjoinable
            .values()
            .map(|(epoch, _)| epoch.saturating_sub(1))
            .min();
        let stranded = self.stranded_at.is_some();
        let mut unmade: Vec<Intent> = self
            .settled_own
            .drain(..)
            .filter(|(epoch, _)| stranded && fork.is_none_or(|fork| *epoch > fork))
            .map(|(_, intent)| intent)
            .collect();
        self.pending_epochs.clear();
        unmade.extend(self.pending.drain(..).map(|(_, intent)| intent));
        unmade.extend(self.intents.drain(..));
        unmade
    }

    fn drop_unmade(&mut self, reason: &str) {
        for intent in self.take_unmade() {
            self.outputs.push_back(Output::Dropped {
                intent,
                reason: reason.to_owned(),
            });
        }
    }

    /// One of this member's commits, for `intent`, is final for it at epoch `epoch`.
    fn settle_own(&mut self, epoch: u64, intent: Intent) {
        if self.settled_own.len() >= MAX_SETTLED_OWN {
            self.settled_own.pop_front();
        }
        self.settled_own.push_back((epoch, intent));
    }

    /// This member's own device key.
    pub fn device(&self) -> DeviceKey {
        self.device
    }
}

mod branches;
mod commit;
mod snapshot;
pub use snapshot::{MAX_SNAPSHOT_BYTES, SNAPSHOT_VERSION, SnapshotError};

#[cfg(test)]
mod tests;
