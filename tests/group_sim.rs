//! Groups under faults, with real MLS: twelve devices, members adding, removing and updating
//! at random and writing messages, through loss, copies, delay, reordering and short
//! partitions, with anti-entropy between members. After a quiet spell every member holds
//! the same epoch, roster, tree hash and exporter secret; no honest fact was refused; every
//! change asked for was made or dropped with its reason; and every member reads what every
//! other writes.
//!
//! `AURA_GROUP_SIM_SEEDS=K` runs K seeds (the default is a few; CI runs more);
//! `AURA_GROUP_SIM_SEED=N` replays one.

#[path = "support/rng.rs"]
mod rng;

use std::collections::{BTreeMap, BTreeSet};

use aura::crypto::group::{KeyPackageSecrets, generate_key_package};
use aura::crypto::key_package::KeyPackage;
use aura::crypto::keys::SignaturePrivateKey;
use aura::groups::convergence::{EpochId, SETTLE_MAX_MS};
use aura::groups::facts::GroupFact;
use aura::groups::member::{GroupMember, Intent, Output};
use aura::groups::memberships::Memberships;
use aura::state::fact::{ContextId, DeviceKey};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rng::TestRng;

const DEVICES: usize = 12;
const FIRST_MEMBERS: usize = 10;
const TICK_MS: u64 = 100;
const ACTIVE_MS: u64 = 120_000;
const ANTI_ENTROPY_MS: u64 = 2_000;
const MAX_DELAY_MS: u64 = 1_200;
const LOSS_PERCENT: u32 = 15;
const COPY_PERCENT: u32 = 10;
/// Short partitions: each side makes at most this many commits while split.
const PARTITION_MS: u64 = 4_000;
const PARTITION_EVERY_MS: u64 = 15_000;
const COMMITS_PER_SIDE: usize = 1;
/// Rounds of anti-entropy after the faults stop, at most, before the group must be quiet.
const QUIET_ROUNDS: usize = 40;

struct Device {
    seed: [u8; 32],
    key: DeviceKey,
    member: Option<Memberships>,
    /// KeyPackages offered, with their secrets. One used for a join is kept too: a commit
    /// that added this device may lose, and the winner adds it again from the same package.
    offered: Vec<(KeyPackage, KeyPackageSecrets)>,
    /// Facts of the group's context this device holds: its journal, deduplicated.
    journal: BTreeSet<Vec<u8>>,
    read: BTreeSet<(DeviceKey, Vec<u8>)>,
}

struct Sim {
    schedule: ChaCha8Rng,
    crypto: TestRng,
    devices: Vec<Device>,
    /// Facts in flight: (deliver at, to, author, fact).
    flight: Vec<(u64, usize, DeviceKey, GroupFact)>,
    /// Every group fact ever written, with its author, in the order written.
    written: Vec<(DeviceKey, GroupFact)>,
    dropped: Vec<String>,
    commits_in_partition: [usize; 2],
    now: u64,
}

fn fact_bytes(fact: &GroupFact) -> Vec<u8> {
    let (kind, mut body) = fact.encode();
    body.extend_from_slice(&kind.code.to_be_bytes());
    body
}

impl Sim {
    fn new(seed: u64) -> Self {
        let devices = (0..DEVICES)
            .map(|index| {
                let seed = [u8::try_from(index + 1).unwrap(); 32];
                let key = SignaturePrivateKey::from_seed(&seed).unwrap();
                Device {
                    seed,
                    key: DeviceKey(key.public_key().to_bytes()),
                    member: None,
                    offered: Vec::new(),
                    journal: BTreeSet::new(),
                    read: BTreeSet::new(),
                }
            })
            .collect();
        Self {
            schedule: ChaCha8Rng::seed_from_u64(seed),
            crypto: TestRng::new(seed),
            devices,
            flight: Vec::new(),
            written: Vec::new(),
            dropped: Vec::new(),
            commits_in_partition: [0; 2],
            now: 0,
        }
    }

    fn split(&self) -> bool {
        self.now % PARTITION_EVERY_MS < PARTITION_MS
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

    fn members(&self) -> Vec<usize> {
        (0..DEVICES)
            .filter(|i| {
                self.devices[*i]
                    .member
                    .as_ref()
                    .is_some_and(|m| !m.is_removed())
            })
            .collect()
    }

    /// Sends `fact` by gossip from `from` to every device it reaches, with faults.
    fn gossip(&mut self, from: usize, fact: GroupFact) {
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
        let device = &mut self.devices[to];
        if !device.journal.insert(fact_bytes(&fact)) {
            return;
        }
        if let Some(member) = device.member.as_mut() {
            member.receive(author, fact, self.now);
        }
    }

    fn deliver(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = self.flight.drain(..).partition(|(at, ..)| *at <= now);
        self.flight = later;
        for (_, to, author, fact) in due {
            self.arrive(to, author, fact);
        }
    }

    /// Each member syncs with one member it reaches: it gets what the other's journal holds.
    fn anti_entropy(&mut self, everyone: bool) {
        let members = self.members();
        // A device whose removal won a pass still syncs: a deeper branch that keeps it may
        // yet win, until the removal is beyond its rewind bound.
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

    /// Polls every membership and acts on what it asks.
    fn poll(&mut self) {
        for index in 0..DEVICES {
            let Some(member) = self.devices[index].member.as_mut() else {
                continue;
            };
            let outputs = member.poll(self.now, &mut self.crypto);
            for output in outputs {
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
                    Output::Dropped { intent, reason } => {
                        self.dropped.push(format!("{intent:?}: {reason}"));
                    }
                    Output::Stranded => {
                        let package = self.key_package(index);
                        let bytes = aura::crypto::codec::Encode::to_tls_bytes(&package).unwrap();
                        self.gossip(index, GroupFact::Rejoin(bytes));
                    }
                    Output::Moved { .. } | Output::Removed | Output::Committed { .. } => {}
                }
            }
        }
    }

    /// A Welcome reaches its device through the pair's context (reliably: anti-entropy of
    /// that context repairs loss); a device outside the group joins from it.
    fn welcome(&mut self, to: DeviceKey, welcome: &[u8]) {
        let Some(index) = self.devices.iter().position(|d| d.key == to) else {
            return;
        };
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
        let Ok(mut joined) = GroupMember::join(welcome, &package, secrets, &seed) else {
            return;
        };
        // The new membership reads what the device's journal already holds; the others
        // have read it.
        for (author, fact) in &self.written {
            if self.devices[index].journal.contains(&fact_bytes(fact)) {
                joined.receive(*author, fact.clone(), self.now);
            }
        }
        let device = &mut self.devices[index];
        match device.member.as_mut() {
            Some(held) => held.add(joined),
            None => device.member = Some(Memberships::new(joined)),
        }
    }

    fn act(&mut self) {
        let members = self.members();
        for &index in &members {
            // Messages are common; membership changes rare, as in a real group (each member
            // asks for one every minute or so here, far more often than people do).
            let roll = self.schedule.random_range(0..2000);
            let side = Self::side(index);
            let may_commit = !self.split() || self.commits_in_partition[side] < COMMITS_PER_SIDE;
            if roll < 30 {
                let text = format!("{index} at {}", self.now);
                let member = self.devices[index].member.as_mut().unwrap();
                if let Ok(fact) = member.send(text.as_bytes(), &mut self.crypto) {
                    self.gossip(index, fact);
                }
            } else if roll < 31 && may_commit {
                self.devices[index]
                    .member
                    .as_mut()
                    .unwrap()
                    .ask(Intent::Update);
            } else if roll < 32 && may_commit && members.len() > 3 {
                let victim = members[self.schedule.random_range(0..members.len())];
                if victim != index {
                    let key = self.devices[victim].key;
                    self.devices[index]
                        .member
                        .as_mut()
                        .unwrap()
                        .ask(Intent::Remove(key));
                }
            } else if roll < 33 && may_commit {
                let outside: Vec<usize> = (0..DEVICES).filter(|d| !members.contains(d)).collect();
                if let Some(&newcomer) =
                    outside.get(self.schedule.random_range(0..outside.len().max(1)))
                {
                    let package = self.key_package(newcomer);
                    self.devices[index]
                        .member
                        .as_mut()
                        .unwrap()
                        .ask(Intent::Add(Box::new(package)));
                }
            }
        }
    }

    fn run(&mut self) {
        let context = ContextId([3; 32]);
        let seed = self.devices[0].seed;
        self.devices[0].member = Some(Memberships::new(
            GroupMember::create(context, "sim", &seed, &mut self.crypto).unwrap(),
        ));
        for newcomer in 1..FIRST_MEMBERS {
            let package = self.key_package(newcomer);
            self.devices[0]
                .member
                .as_mut()
                .unwrap()
                .ask(Intent::Add(Box::new(package)));
        }
        while self.now < ACTIVE_MS {
            if self.now % PARTITION_EVERY_MS == 0 {
                self.commits_in_partition = [0; 2];
            }
            if self.now > 2 * SETTLE_MAX_MS {
                self.act();
            }
            self.deliver();
            if self.now % ANTI_ENTROPY_MS == 0 {
                self.anti_entropy(false);
            }
            self.poll();
            self.now += TICK_MS;
        }
        // Quiet: the network heals and anti-entropy runs until a whole round writes nothing
        // (what members ask again, and rejoins, settle too).
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
}

type Agreement = (Option<(EpochId, u64)>, Vec<DeviceKey>, Vec<u8>, Vec<u8>);

fn agreement(member: &Memberships) -> Agreement {
    let group = member.group().unwrap();
    (
        member.best().unwrap().epoch(),
        member.roster(),
        group.tree_hash().to_vec(),
        group
            .export_secret(b"aura sim", b"", 32)
            .unwrap()
            .as_bytes()
            .to_vec(),
    )
}

fn seeds() -> Vec<u64> {
    if let Ok(seed) = std::env::var("AURA_GROUP_SIM_SEED") {
        return vec![seed.parse().expect("AURA_GROUP_SIM_SEED is a number")];
    }
    let count = std::env::var("AURA_GROUP_SIM_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    (1..=count).collect()
}

#[test]
fn members_converge_and_read_each_other_through_faults_with_real_mls() {
    for seed in seeds() {
        let mut sim = Sim::new(seed);
        sim.run();
        let replay = format!("seed {seed} (replay: AURA_GROUP_SIM_SEED={seed})");
        let members = sim.members();
        assert!(members.len() >= 3, "{replay}: only {members:?} left");
        let agreements: BTreeMap<usize, Agreement> = members
            .iter()
            .map(|i| (*i, agreement(sim.devices[*i].member.as_ref().unwrap())))
            .collect();
        let first = &agreements[&members[0]];
        for (index, agreed) in &agreements {
            assert_eq!(agreed, first, "{replay}: member {index} disagrees");
        }
        let roster: BTreeSet<DeviceKey> = first.1.iter().copied().collect();
        let holders: BTreeSet<DeviceKey> = members.iter().map(|i| sim.devices[*i].key).collect();
        let name = |key: &DeviceKey| sim.devices.iter().position(|d| d.key == *key).unwrap();
        let only_roster: Vec<usize> = roster.difference(&holders).map(name).collect();
        let only_holders: Vec<usize> = holders.difference(&roster).map(name).collect();
        assert_eq!(
            roster, holders,
            "{replay}: in the roster, holding no membership: {only_roster:?}; holding one, not in the roster: {only_holders:?}"
        );
        assert!(
            first.0.unwrap().1 > 15,
            "{replay}: too few commits were made"
        );

        // Everyone left writes once more; everyone else reads it.
        for &index in &members {
            let text = format!("last word of {index}");
            let fact = sim.devices[index]
                .member
                .as_mut()
                .unwrap()
                .send(text.as_bytes(), &mut sim.crypto)
                .unwrap();
            sim.gossip(index, fact);
        }
        sim.now += MAX_DELAY_MS;
        sim.deliver();
        for _ in 0..DEVICES {
            sim.anti_entropy(true);
            sim.poll();
        }
        for &reader in &members {
            for &writer in members.iter().filter(|w| **w != reader) {
                let text = format!("last word of {writer}").into_bytes();
                assert!(
                    sim.devices[reader]
                        .read
                        .contains(&(sim.devices[writer].key, text)),
                    "{replay}: {reader} did not read {writer}"
                );
            }
        }
    }
}
