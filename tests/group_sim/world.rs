//! The simulated world: devices with their journals and memberships, a network that loses,
//! copies, delays and reorders facts and is split now and then, restarts, and the ledger
//! of what was asked, sent and read that the checks run against.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aura::crypto::group::{KeyPackageSecrets, generate_key_package};
use aura::crypto::key_package::KeyPackage;
use aura::crypto::keys::SignaturePrivateKey;
use aura::groups::convergence::{EpochId, REWIND_BOUND, SETTLE_MAX_MS, reference};
use aura::groups::facts::GroupFact;
use aura::groups::member::{GroupMember, Intent, Output};
use aura::groups::memberships::Memberships;
use aura::state::fact::{ContextId, DeviceKey};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::rng::TestRng;

pub const DEVICES: usize = 12;
const FIRST_MEMBERS: usize = 10;
const TICK_MS: u64 = 100;
const ACTIVE_MS: u64 = 150_000;
const ANTI_ENTROPY_MS: u64 = 2_000;
pub const MAX_DELAY_MS: u64 = 1_200;
const LOSS_PERCENT: u32 = 15;
const COPY_PERCENT: u32 = 10;
/// Short partitions: each side makes at most one commit while split, so that both stay
/// within each other's rewind bound.
const PARTITION_MS: u64 = 4_000;
const PARTITION_EVERY_MS: u64 = 15_000;
const COMMITS_PER_SHORT_SIDE: usize = 1;
/// One long partition: it lasts until each side made more commits than the rewind bound
/// (or this long), so that neither side can rewind to the other's branch.
const LONG_FROM_MS: u64 = 45_000;
const LONG_MAX_MS: u64 = 50_000;
pub const LONG_SIDE_COMMITS: usize = REWIND_BOUND + 1;
/// A device restarts about once in this many ticks.
const RESTART_ONE_IN: u32 = 2_500;
/// Rounds of anti-entropy after the faults stop, at most, before the group must be quiet.
const QUIET_ROUNDS: usize = 40;

pub struct Device {
    pub seed: [u8; 32],
    pub key: DeviceKey,
    pub member: Option<Memberships>,
    /// The last snapshot of its memberships: written after every poll and every send, as
    /// the product writes it with the facts they produce.
    snapshot: Option<Vec<u8>>,
    /// Whether its memberships changed since the last snapshot.
    dirty: bool,
    /// KeyPackages offered, with their secrets. One used for a join is kept too: a commit
    /// that added this device may lose, and the winner adds it again from the same package.
    offered: Vec<(KeyPackage, KeyPackageSecrets)>,
    /// Facts of the group's context this device holds: its journal, deduplicated.
    pub journal: BTreeSet<Vec<u8>>,
    pub read: BTreeSet<(DeviceKey, Vec<u8>)>,
    /// Messages (index into `Sim::sent`) in the journal while a membership held their
    /// epoch: they are owed to this device.
    pub owed: BTreeSet<usize>,
    /// Messages in the journal not owed (yet).
    unowed: Vec<usize>,
}

/// An application message written.
pub struct Sent {
    pub author: usize,
    pub epoch: EpochId,
    pub plaintext: Vec<u8>,
}

pub struct Sim {
    schedule: ChaCha8Rng,
    pub crypto: TestRng,
    pub devices: Vec<Device>,
    /// Facts in flight: (deliver at, to, author, fact).
    flight: Vec<(u64, usize, DeviceKey, GroupFact)>,
    /// Every group fact ever written, with its author, in the order written.
    pub written: Vec<(DeviceKey, GroupFact)>,
    pub sent: Vec<Sent>,
    message_of: HashMap<Vec<u8>, usize>,
    /// Intents asked: by which device.
    pub asked: Vec<(usize, Intent)>,
    /// Intents committed (by which device) and the epoch each commit led to.
    pub committed: Vec<(usize, Intent, EpochId)>,
    pub dropped: Vec<(usize, Intent, String)>,
    commits_in_partition: [usize; 2],
    long: bool,
    /// Commits each side made during the long partition.
    pub long_commits: [usize; 2],
    pub restarts: usize,
    pub passes_checked: usize,
    pub now: u64,
}

fn trace_on() -> bool {
    std::env::var_os("AURA_MLS_SIM_TRACE").is_some()
}

fn hex4(bytes: &[u8]) -> String {
    bytes[..2].iter().map(|b| format!("{b:02x}")).collect()
}

fn intent_name(intent: &Intent) -> String {
    match intent {
        Intent::Add(package) => format!("add {}", hex4(&package.leaf_node.signature_key)),
        Intent::Remove(device) => format!("remove {}", hex4(&device.0)),
        Intent::Update => "update".into(),
        Intent::Rename(name) => format!("rename {name:?}"),
        Intent::Readd { device, .. } => format!("readd {}", hex4(&device.0)),
        other => format!("{other:?}"),
    }
}

pub fn fact_bytes(fact: &GroupFact) -> Vec<u8> {
    let (kind, mut body) = fact.encode();
    body.extend_from_slice(&kind.code.to_be_bytes());
    body
}

impl Sim {
    pub fn new(seed: u64) -> Self {
        let devices = (0..DEVICES)
            .map(|index| {
                let seed = [u8::try_from(index + 1).unwrap(); 32];
                let key = SignaturePrivateKey::from_seed(&seed).unwrap();
                Device {
                    seed,
                    key: DeviceKey(key.public_key().to_bytes()),
                    member: None,
                    snapshot: None,
                    dirty: false,
                    offered: Vec::new(),
                    journal: BTreeSet::new(),
                    read: BTreeSet::new(),
                    owed: BTreeSet::new(),
                    unowed: Vec::new(),
                }
            })
            .collect();
        Self {
            schedule: ChaCha8Rng::seed_from_u64(seed),
            crypto: TestRng::new(seed),
            devices,
            flight: Vec::new(),
            written: Vec::new(),
            sent: Vec::new(),
            message_of: HashMap::new(),
            asked: Vec::new(),
            committed: Vec::new(),
            dropped: Vec::new(),
            commits_in_partition: [0; 2],
            long: false,
            long_commits: [0; 2],
            restarts: 0,
            passes_checked: 0,
            now: 0,
        }
    }

    fn split(&self) -> bool {
        self.long || (self.now < ACTIVE_MS && self.now % PARTITION_EVERY_MS < PARTITION_MS)
    }

    fn side(index: usize) -> usize {
        usize::from(index < DEVICES / 2)
    }

    fn reachable(&self, from: usize, to: usize) -> bool {
        !self.split() || Self::side(from) == Self::side(to)
    }

    fn key_package(&mut self, index: usize) -> KeyPackage {
        let device = &mut self.devices[index];
        let signing = SignaturePrivateKey::from_seed(&device.seed).unwrap();
        let (package, secrets) =
            generate_key_package(device.key.0.to_vec(), &signing, &mut self.crypto).unwrap();
        device.offered.push((package.clone(), secrets));
        package
    }

    pub fn members(&self) -> Vec<usize> {
        (0..DEVICES)
            .filter(|i| {
                self.devices[*i]
                    .member
                    .as_ref()
                    .is_some_and(|m| !m.is_removed())
            })
            .collect()
    }

    pub fn name(&self, key: &DeviceKey) -> usize {
        self.devices.iter().position(|d| d.key == *key).unwrap()
    }

    /// Sends `fact` by gossip from `from` to every device it reaches, with faults.
    pub fn gossip(&mut self, from: usize, fact: GroupFact) {
        let author = self.devices[from].key;
        self.devices[from].journal.insert(fact_bytes(&fact));
        self.written.push((author, fact.clone()));
        for to in 0..DEVICES {
            if to == from || !self.reachable(from, to) {
                continue;
            }
            if self.schedule.random_range(0..100) < LOSS_PERCENT {
                continue;
            }
            let copies = if self.schedule.random_range(0..100) < COPY_PERCENT {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let at = self.now + self.schedule.random_range(0..=MAX_DELAY_MS);
                self.flight.push((at, to, author, fact.clone()));
            }
        }
    }

    /// A fact reaches a device's journal; new ones go to its membership.
    fn arrive(&mut self, to: usize, author: DeviceKey, fact: GroupFact) {
        let bytes = fact_bytes(&fact);
        let device = &mut self.devices[to];
        if !device.journal.insert(bytes.clone()) {
            return;
        }
        if let Some(&message) = self.message_of.get(&bytes) {
            device.unowed.push(message);
        }
        if let Some(member) = device.member.as_mut() {
            member.receive(author, fact, self.now);
            device.dirty = true;
        }
        self.settle_owed(to);
    }

    /// Messages in the journal of a device that holds their epoch are owed to it.
    fn settle_owed(&mut self, index: usize) {
        let device = &mut self.devices[index];
        let Some(member) = device.member.as_ref() else {
            return;
        };
        let sent = &self.sent;
        let (owed, unowed): (Vec<usize>, Vec<usize>) = device
            .unowed
            .drain(..)
            .partition(|m| member.holds_epoch(&sent[*m].epoch));
        device.unowed = unowed;
        device.owed.extend(owed);
    }

    pub fn deliver(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = self.flight.drain(..).partition(|(at, ..)| *at <= now);
        self.flight = later;
        for (_, to, author, fact) in due {
            self.arrive(to, author, fact);
        }
    }

    /// Each device that holds a membership syncs with one member it reaches. A device
    /// whose removal won a pass still syncs: a deeper branch that keeps it may yet win.
    pub fn anti_entropy(&mut self, everyone: bool) {
        let members = self.members();
        let holders: Vec<usize> = (0..DEVICES)
            .filter(|i| self.devices[*i].member.is_some())
            .collect();
        for &to in &holders {
            let peers: Vec<usize> = members
                .iter()
                .copied()
                .filter(|peer| *peer != to && (everyone || self.reachable(*peer, to)))
                .collect();
            if peers.is_empty() {
                continue;
            }
            let peer = peers[self.schedule.random_range(0..peers.len())];
            let offered: Vec<(DeviceKey, GroupFact)> = self
                .written
                .iter()
                .filter(|(_, fact)| self.devices[peer].journal.contains(&fact_bytes(fact)))
                .cloned()
                .collect();
            for (author, fact) in offered {
                self.arrive(to, author, fact);
            }
        }
    }

    /// `plaintext` sent by `index` on the epoch it follows.
    pub fn send(&mut self, index: usize, plaintext: Vec<u8>) {
        let Some(member) = self.devices[index].member.as_mut() else {
            return;
        };
        let Some(epoch) = member.best().and_then(GroupMember::epoch) else {
            return;
        };
        let Ok(fact) = member.send(&plaintext, &mut self.crypto) else {
            return;
        };
        self.devices[index].dirty = true;
        self.message_of.insert(fact_bytes(&fact), self.sent.len());
        self.sent.push(Sent {
            author: index,
            epoch: epoch.0,
            plaintext,
        });
        self.snapshot(index);
        self.gossip(index, fact);
    }

    fn ask(&mut self, index: usize, intent: Intent) {
        if let Some(member) = self.devices[index].member.as_mut() {
            if trace_on() {
                eprintln!("{:>7} d{index:<2} asks {}", self.now, intent_name(&intent));
            }
            member.ask(intent.clone());
            self.asked.push((index, intent));
            self.devices[index].dirty = true;
            self.snapshot(index);
        }
    }

    fn snapshot(&mut self, index: usize) {
        let device = &mut self.devices[index];
        if !std::mem::take(&mut device.dirty) {
            return;
        }
        if let Some(member) = device.member.as_ref() {
            device.snapshot = member.snapshot().ok().map(|s| s.as_bytes().to_vec());
        }
    }

    /// The device's process restarts: its memberships are dropped and restored from the
    /// last snapshot, and it is offered again the commits of its journal, the departure
    /// notices, the requests to be brought back and the messages it has not read.
    fn restart(&mut self, index: usize) {
        let device = &self.devices[index];
        let (Some(bytes), Some(_)) = (device.snapshot.as_ref(), device.member.as_ref()) else {
            return;
        };
        let mut restored = match Memberships::restore(bytes, &device.seed) {
            Ok(restored) => restored,
            Err(err) => panic!("device {index} could not restore its snapshot: {err}"),
        };
        for (author, fact) in &self.written {
            let bytes = fact_bytes(fact);
            if !device.journal.contains(&bytes) {
                continue;
            }
            let again = match fact {
                GroupFact::Commit { .. }
                | GroupFact::Departed { .. }
                | GroupFact::Rejoin { .. } => true,
                GroupFact::Message { .. } => self.message_of.get(&bytes).is_some_and(|m| {
                    let sent = &self.sent[*m];
                    let key = (self.devices[sent.author].key, sent.plaintext.clone());
                    !device.read.contains(&key)
                }),
                _ => false,
            };
            if again {
                restored.receive(*author, fact.clone(), self.now);
            }
        }
        self.devices[index].member = Some(restored);
        self.devices[index].dirty = true;
        self.restarts += 1;
        if trace_on() {
            eprintln!("{:>7} d{index:<2} restarts", self.now);
        }
    }

    /// Polls every membership and acts on what it asks.
    pub fn poll(&mut self) {
        for index in 0..DEVICES {
            let Some(member) = self.devices[index].member.as_mut() else {
                continue;
            };
            let outputs = member.poll(self.now, &mut self.crypto);
            let passes = member.take_settled();
            // A pass that settled may have moved the member, and its state with it.
            if !outputs.is_empty() || !passes.is_empty() {
                self.devices[index].dirty = true;
            }
            for pass in passes {
                let model = reference::winning_tip(pass.root, &pass.commits);
                assert_eq!(
                    model, pass.tip,
                    "device {index}: the engine and the reference model chose differently"
                );
                self.passes_checked += 1;
            }
            for output in outputs {
                self.output(index, output);
            }
            self.settle_owed(index);
            self.snapshot(index);
        }
    }

    fn output(&mut self, index: usize, output: Output) {
        if trace_on() && !matches!(output, Output::Read(_)) {
            let epoch = self.devices[index]
                .member
                .as_ref()
                .and_then(|m| m.best())
                .and_then(GroupMember::epoch)
                .map(|(id, n)| format!("{n}:{}", hex4(&id.0)));
            let what = match &output {
                Output::Write(GroupFact::Commit {
                    parent,
                    parent_epoch,
                    epoch,
                    ..
                }) => format!(
                    "commit {}:{} -> {}",
                    parent_epoch,
                    hex4(&parent.0),
                    hex4(&epoch.0)
                ),
                Output::Write(fact) => format!("write {:?}", fact.encode().0.code),
                Output::Welcome { to, .. } => format!("welcome to {}", self.name(to)),
                Output::Committed { intent, epoch } => {
                    format!("committed {} -> {}", intent_name(intent), hex4(&epoch.0))
                }
                Output::Dropped { intent, reason } => {
                    format!("dropped {}: {reason}", intent_name(intent))
                }
                other => format!("{other:?}"),
            };
            let held: Vec<String> = self.devices[index]
                .member
                .as_ref()
                .map(|m| {
                    m.held()
                        .iter()
                        .map(|h| match h.epoch() {
                            Some((id, n)) => format!(
                                "{n}:{}{}",
                                hex4(&id.0),
                                if h.is_stranded() { "s" } else { "" }
                            ),
                            None => "out".into(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            eprintln!(
                "{:>7} d{index:<2} [{}] {what}   held {held:?}",
                self.now,
                epoch.unwrap_or_default()
            );
        }
        match output {
            Output::Write(fact) => {
                if matches!(fact, GroupFact::Commit { .. }) && self.split() {
                    self.commits_in_partition[Self::side(index)] += 1;
                }
                self.gossip(index, fact);
            }
            Output::Welcome { to, welcome } => self.welcome(to, &welcome),
            Output::Read(read) => {
                self.devices[index]
                    .read
                    .insert((read.sender, read.plaintext));
            }
            Output::Refused { author, reason } => {
                panic!("device {index} refused a fact of {author:?}: {reason}")
            }
            Output::Dropped { intent, reason } => self.dropped.push((index, intent, reason)),
            Output::Committed { intent, epoch } => self.committed.push((index, intent, epoch)),
            Output::Stranded { leaves } => {
                let package = self.key_package(index);
                let key_package = aura::crypto::codec::Encode::to_tls_bytes(&package).unwrap();
                self.gossip(
                    index,
                    GroupFact::Rejoin {
                        key_package,
                        leaves,
                    },
                );
            }
            Output::Moved { .. } | Output::Removed => {}
        }
    }

    /// A Welcome reaches its device through the pair's context (reliably: anti-entropy of
    /// that context repairs loss); the device joins from it.
    fn welcome(&mut self, to: DeviceKey, welcome: &[u8]) {
        let index = self.name(&to);
        let device = &mut self.devices[index];
        let Some((package, secrets)) = device
            .offered
            .iter()
            .find(|(package, _)| GroupMember::welcome_is_for(welcome, package))
        else {
            return;
        };
        let secrets = KeyPackageSecrets {
            init_private_key: secrets.init_private_key.clone(),
            leaf_private_key: secrets.leaf_private_key.clone(),
        };
        let package = package.clone();
        let seed = device.seed;
        let joined = GroupMember::join(welcome, &package, secrets, &seed);
        if trace_on() {
            let epoch = joined
                .as_ref()
                .map(|j| j.epoch().map(|(id, n)| format!("{n}:{}", hex4(&id.0))));
            eprintln!("{:>7} d{index:<2} joins: {epoch:?}", self.now);
        }
        let Ok(mut joined) = joined else {
            return;
        };
        // The new membership reads what the device's journal already holds.
        for (author, fact) in &self.written {
            if self.devices[index].journal.contains(&fact_bytes(fact)) {
                joined.receive(*author, fact.clone(), self.now);
            }
        }
        let device = &mut self.devices[index];
        device.dirty = true;
        match device.member.as_mut() {
            Some(held) => held.add(joined),
            None => device.member = Some(Memberships::new(joined)),
        }
        self.snapshot(index);
    }

    fn act(&mut self) {
        let members = self.members();
        for &index in &members {
            // Messages are common; membership changes rare, as in a real group (each member
            // asks for one every minute or so here, far more often than people do).
            let roll = self.schedule.random_range(0..2000);
            let side = Self::side(index);
            let may_commit = !self.split()
                || self.long
                || self.commits_in_partition[side] < COMMITS_PER_SHORT_SIDE;
            if roll < 30 {
                let text = format!("{index} at {}", self.now).into_bytes();
                self.send(index, text);
            } else if roll < 31 && may_commit {
                self.ask(index, Intent::Update);
            } else if roll < 32 && may_commit && members.len() > 3 {
                let victim = members[self.schedule.random_range(0..members.len())];
                if victim != index {
                    let key = self.devices[victim].key;
                    self.ask(index, Intent::Remove(key));
                }
            } else if roll < 33 && may_commit {
                let outside: Vec<usize> = (0..DEVICES).filter(|d| !members.contains(d)).collect();
                if let Some(&newcomer) =
                    outside.get(self.schedule.random_range(0..outside.len().max(1)))
                {
                    let package = self.key_package(newcomer);
                    self.ask(index, Intent::Add(Box::new(package)));
                }
            } else if roll < 34 && may_commit {
                self.ask(index, Intent::Rename(format!("{index} at {}", self.now)));
            }
        }
    }

    /// The long partition: it opens at [`LONG_FROM_MS`]; while open, each side that has
    /// not yet made [`LONG_SIDE_COMMITS`] commits is asked for one now and then; it heals
    /// when both have (or after [`LONG_MAX_MS`]).
    fn long_partition(&mut self) {
        if self.now == LONG_FROM_MS {
            self.long = true;
            self.commits_in_partition = [0; 2];
        }
        if !self.long {
            return;
        }
        let done = self
            .commits_in_partition
            .iter()
            .all(|c| *c >= LONG_SIDE_COMMITS);
        if done || self.now >= LONG_FROM_MS + LONG_MAX_MS {
            self.long = false;
            self.long_commits = self.commits_in_partition;
            self.commits_in_partition = [0; 2];
            return;
        }
        if self.now % 1_000 != 0 {
            return;
        }
        for side in 0..2 {
            if self.commits_in_partition[side] >= LONG_SIDE_COMMITS {
                continue;
            }
            let on_side: Vec<usize> = self
                .members()
                .into_iter()
                .filter(|i| Self::side(*i) == side)
                .collect();
            if let Some(&index) = on_side.get(self.schedule.random_range(0..on_side.len().max(1))) {
                self.ask(index, Intent::Update);
            }
        }
    }

    pub fn run(&mut self) {
        if trace_on() {
            for (index, device) in self.devices.iter().enumerate() {
                eprintln!("d{index} is {}", hex4(&device.key.0));
            }
        }
        let context = ContextId([3; 32]);
        let seed = self.devices[0].seed;
        self.devices[0].member = Some(Memberships::new(
            GroupMember::create(context, "sim", &seed, &mut self.crypto).unwrap(),
        ));
        self.asked.push((0, Intent::Rename("sim".into())));
        for newcomer in 1..FIRST_MEMBERS {
            let package = self.key_package(newcomer);
            self.ask(0, Intent::Add(Box::new(package)));
        }
        while self.now < ACTIVE_MS {
            if self.now % PARTITION_EVERY_MS == 0 && !self.long {
                self.commits_in_partition = [0; 2];
            }
            self.long_partition();
            if self.now > 2 * SETTLE_MAX_MS {
                self.act();
                for index in 0..DEVICES {
                    if self.schedule.random_range(0..RESTART_ONE_IN) == 0 {
                        self.restart(index);
                    }
                }
            }
            self.deliver();
            if self.now % ANTI_ENTROPY_MS == 0 {
                self.anti_entropy(false);
            }
            self.poll();
            self.now += TICK_MS;
        }
        self.quiet();
    }

    /// The network heals and anti-entropy runs until a whole round writes nothing but
    /// messages and every member holds every commit (what members ask again, and
    /// rejoins, settle too).
    fn quiet(&mut self) {
        for _ in 0..QUIET_ROUNDS {
            let before = self.written.len();
            self.now += MAX_DELAY_MS;
            self.deliver();
            for _ in 0..3 {
                self.anti_entropy(true);
            }
            for _ in 0..(SETTLE_MAX_MS / TICK_MS) {
                self.poll();
                self.now += TICK_MS;
            }
            let messages_only = self.written[before..]
                .iter()
                .all(|(_, fact)| matches!(fact, GroupFact::Message { .. }));
            let everyone_has_every_commit = self.members().iter().all(|member| {
                self.written
                    .iter()
                    .filter(|(_, fact)| matches!(fact, GroupFact::Commit { .. }))
                    .all(|(_, fact)| self.devices[*member].journal.contains(&fact_bytes(fact)))
            });
            if messages_only && self.flight.is_empty() && everyone_has_every_commit {
                return;
            }
        }
        panic!("the group never went quiet");
    }

    /// The epochs of the branch that won, from the commits written: back from `tip` by
    /// each commit's parent.
    pub fn winning_chain(&self, tip: EpochId) -> BTreeSet<EpochId> {
        let parent_of: BTreeMap<EpochId, EpochId> = self
            .written
            .iter()
            .filter_map(|(_, fact)| match fact {
                GroupFact::Commit { parent, epoch, .. } => Some((*epoch, *parent)),
                _ => None,
            })
            .collect();
        let mut chain = BTreeSet::from([tip]);
        let mut epoch = tip;
        while let Some(parent) = parent_of.get(&epoch) {
            if !chain.insert(*parent) {
                break;
            }
            epoch = *parent;
        }
        chain
    }
}
