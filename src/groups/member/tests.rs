//! One device's membership driven through real MLS: devices, Welcomes and a network that
//! delivers every fact to every member.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use getrandom::SysRng;
use rand_core::UnwrapErr;

use super::*;
use crate::crypto::codec::Encode;
use crate::crypto::group::generate_key_package;
use crate::crypto::group_context::Extension;
use crate::crypto::proposal::Proposal;
use crate::groups::convergence::SETTLE_QUIET_MS;

mod policy;

/// What members of one epoch share: the epoch, the roster, the tree hash, an exporter
/// secret.
type Agreement = (Option<(EpochId, u64)>, Vec<DeviceKey>, Vec<u8>, Vec<u8>);

/// Devices and their memberships, with a network that delivers every fact to every
/// member at once, in the order written.
struct Devices {
    seeds: Vec<[u8; 32]>,
    members: Vec<Option<GroupMember>>,
    offered: BTreeMap<DeviceKey, (KeyPackage, KeyPackageSecrets)>,
    read: Vec<Vec<Read>>,
    removed: Vec<bool>,
    dropped: Vec<Vec<(Intent, String)>>,
    now: u64,
    rng: UnwrapErr<SysRng>,
}

impl Devices {
    fn new(count: u8) -> Self {
        let seeds: Vec<[u8; 32]> = (1..=count).map(|n| [n; 32]).collect();
        Self {
            members: (0..count).map(|_| None).collect(),
            read: vec![Vec::new(); usize::from(count)],
            removed: vec![false; usize::from(count)],
            dropped: vec![Vec::new(); usize::from(count)],
            seeds,
            offered: BTreeMap::new(),
            now: 0,
            rng: UnwrapErr(SysRng),
        }
    }

    fn device(&self, index: usize) -> DeviceKey {
        let key = signing_key(&self.seeds[index]).unwrap();
        DeviceKey(key.public_key().to_bytes())
    }

    /// A fresh KeyPackage of device `index`, as it would offer a contact.
    fn key_package(&mut self, index: usize) -> KeyPackage {
        let device = self.device(index);
        let key = signing_key(&self.seeds[index]).unwrap();
        let (package, secrets) =
            generate_key_package(device.0.to_vec(), &key, &mut self.rng).unwrap();
        self.offered.insert(device, (package.clone(), secrets));
        package
    }

    fn member(&mut self, index: usize) -> &mut GroupMember {
        self.members[index].as_mut().unwrap()
    }

    /// Polls everyone and delivers what they write until nothing moves, then lets the
    /// clock run past a pass.
    fn settle(&mut self) {
        for _ in 0..3 {
            self.pump();
            self.now += SETTLE_QUIET_MS;
        }
        self.pump();
    }

    fn pump(&mut self) {
        loop {
            let mut writes = Vec::new();
            for index in 0..self.members.len() {
                let author = self.device(index);
                let Some(member) = self.members[index].as_mut() else {
                    continue;
                };
                member.poll(self.now, &mut self.rng);
                while let Some(output) = member.poll_output() {
                    match output {
                        Output::Write(fact) => writes.push((index, author, fact)),
                        Output::Welcome { to, welcome } => {
                            writes.push((index, to, GroupFact::Welcome(welcome)))
                        }
                        Output::Read(read) => self.read[index].push(read),
                        Output::Removed => self.removed[index] = true,
                        Output::Refused { reason, .. } => panic!("{index} refused: {reason}"),
                        Output::Dropped { intent, reason } => {
                            self.dropped[index].push((intent, reason));
                        }
                        Output::Moved { .. }
                        | Output::Committed { .. }
                        | Output::Stranded { .. } => {}
                    }
                }
            }
            if writes.is_empty() {
                return;
            }
            for (from, author, fact) in writes {
                if let GroupFact::Welcome(welcome) = fact {
                    // `author` is the newcomer here: it joins if it has no membership.
                    let to = (0..self.seeds.len())
                        .find(|i| self.device(*i) == author)
                        .unwrap();
                    if self.members[to].is_none() {
                        let (package, secrets) = self.offered.remove(&author).unwrap();
                        let seed = self.seeds[to];
                        self.members[to] =
                            Some(GroupMember::join(&welcome, &package, secrets, &seed).unwrap());
                    }
                    continue;
                }
                for to in 0..self.members.len() {
                    if to == from {
                        continue;
                    }
                    if let Some(member) = self.members[to].as_mut() {
                        member.receive(author, fact.clone(), self.now);
                    }
                }
            }
        }
    }

    /// What every member still in the group must agree on.
    fn agreed(&self, index: usize) -> Agreement {
        let member = self.members[index].as_ref().unwrap();
        let group = member.group().unwrap();
        (
            member.epoch(),
            member.roster(),
            group.tree_hash().to_vec(),
            group
                .export_secret(b"aura test", b"", 32)
                .unwrap()
                .as_bytes()
                .to_vec(),
        )
    }
}

/// Device 0 makes the group `context` and adds devices 1 and 2.
fn group_of_three(devices: &mut Devices, context: ContextId) {
    let seed = devices.seeds[0];
    devices.members[0] =
        Some(GroupMember::create(context, "three", &seed, &mut devices.rng).unwrap());
    for index in 1..=2 {
        let package = devices.key_package(index);
        devices.member(0).ask(Intent::Add(Box::new(package)));
    }
    devices.settle();
}

#[test]
fn members_added_by_welcome_agree_read_each_other_and_survive_concurrent_commits() {
    let mut devices = Devices::new(4);
    let context = ContextId([9; 32]);
    group_of_three(&mut devices, context);
    let expected = devices.agreed(0);
    assert_eq!(expected.1.len(), 3);
    for index in 1..=2 {
        assert_eq!(devices.agreed(index), expected, "member {index}");
        assert_eq!(devices.member(index).context(), context);
    }

    // Everyone writes; everyone else reads it, with its author.
    for index in 0..=2 {
        let text = format!("hello from {index}");
        let fact = devices
            .member(index)
            .send(text.as_bytes(), &mut UnwrapErr(SysRng))
            .unwrap();
        let author = devices.device(index);
        let now = devices.now;
        for to in 0..=2 {
            if to != index {
                devices.member(to).receive(author, fact.clone(), now);
            }
        }
    }
    devices.pump();
    for index in 0..=2 {
        let mut heard: Vec<(DeviceKey, Vec<u8>)> = devices.read[index]
            .iter()
            .map(|read| (read.sender, read.plaintext.clone()))
            .collect();
        heard.sort();
        let mut expected: Vec<(DeviceKey, Vec<u8>)> = (0..=2)
            .filter(|from| *from != index)
            .map(|from| {
                (
                    devices.device(from),
                    format!("hello from {from}").into_bytes(),
                )
            })
            .collect();
        expected.sort();
        assert_eq!(heard, expected, "member {index}");
    }

    // Two members update at the same moment: one commit loses, and its author makes
    // it again on the winner, so both updates are in.
    let start = devices.agreed(0).0.unwrap().1;
    devices.member(1).ask(Intent::Update);
    devices.member(2).ask(Intent::Update);
    devices.settle();
    let expected = devices.agreed(0);
    assert_eq!(expected.0.unwrap().1, start + 2);
    for index in 1..=2 {
        assert_eq!(devices.agreed(index), expected, "member {index}");
    }

    // Removing member 2: it learns it, and reads nothing written after.
    let gone = devices.device(2);
    devices.member(0).ask(Intent::Remove(gone));
    devices.settle();
    assert!(devices.removed[2]);
    assert!(devices.member(2).is_removed());
    assert_eq!(devices.agreed(1), devices.agreed(0));
    assert!(!devices.agreed(0).1.contains(&gone));
    let before = devices.read[2].len();
    let fact = devices
        .member(1)
        .send(b"after", &mut UnwrapErr(SysRng))
        .unwrap();
    let author = devices.device(1);
    let now = devices.now;
    devices.member(2).receive(author, fact.clone(), now);
    devices.member(0).receive(author, fact, now);
    devices.pump();
    assert_eq!(devices.read[2].len(), before);
    assert_eq!(devices.read[0].last().unwrap().plaintext, b"after");

    // Removing someone no longer there is dropped with its reason, and blocks nothing.
    devices.member(0).ask(Intent::Remove(gone));
    devices.member(0).ask(Intent::Update);
    let epoch = devices.agreed(0).0;
    devices.settle();
    assert_ne!(devices.agreed(0).0, epoch, "the update after it was made");
}

#[test]
fn a_member_that_asks_to_rejoin_is_brought_back_by_the_lowest_other_member() {
    let mut devices = Devices::new(3);
    group_of_three(&mut devices, ContextId([8; 32]));
    let before = devices.agreed(0);
    // Member 2 asks to be added again with a fresh KeyPackage (as a stranded member
    // does); its old membership is dropped for the new one it joins.
    let package = devices.key_package(2);
    let author = devices.device(2);
    let leaf = {
        let group = devices.member(2).group().unwrap();
        let (_, node) = group
            .members()
            .find(|(_, node)| node.signature_key == author.0)
            .unwrap();
        crate::groups::facts::leaf_digest(&node.encryption_key)
    };
    let request = GroupFact::Rejoin {
        key_package: package.to_tls_bytes().unwrap(),
        leaves: vec![leaf],
    };
    devices.members[2] = None;
    let now = devices.now;
    for index in 0..=1 {
        devices.member(index).receive(author, request.clone(), now);
    }
    devices.settle();
    let after = devices.agreed(0);
    assert_eq!(after.0.unwrap().1, before.0.unwrap().1 + 1, "one commit");
    assert_eq!(after.1, before.1, "the same devices");
    assert_ne!(after.2, before.2, "member 2's leaf is new");
    for index in 1..=2 {
        assert_eq!(devices.agreed(index), after, "member {index}");
    }
    // A second request that names the same leaf (made by another of its memberships, and
    // arriving late, once the return is final) names a leaf member 2 no longer holds:
    // nothing is done.
    let updates = crate::groups::convergence::REWIND_BOUND + 1;
    for _ in 0..updates {
        devices.member(0).ask(Intent::Update);
        devices.settle();
    }
    let epoch = after.0.unwrap().1;
    let after = devices.agreed(0);
    assert_eq!(
        after.0.unwrap().1,
        epoch + updates as u64,
        "the updates, no return again"
    );
    let late = GroupFact::Rejoin {
        key_package: devices.key_package(2).to_tls_bytes().unwrap(),
        leaves: vec![leaf],
    };
    let now = devices.now;
    for index in 0..=1 {
        devices.member(index).receive(author, late.clone(), now);
    }
    devices.settle();
    assert_eq!(
        devices.agreed(0),
        after,
        "a stale request brings nobody back"
    );
    // A request in another device's name is refused.
    let forged = GroupFact::Rejoin {
        key_package: devices.key_package(1).to_tls_bytes().unwrap(),
        leaves: vec![leaf],
    };
    devices.member(0).receive(author, forged, now);
    assert!(matches!(
        devices.member(0).poll_output(),
        Some(Output::Refused { .. })
    ));
}

#[test]
fn the_name_is_set_at_creation_read_by_every_member_and_changed_by_a_rename() {
    let mut devices = Devices::new(3);
    group_of_three(&mut devices, ContextId([7; 32]));
    for index in 0..=2 {
        assert_eq!(devices.member(index).name().as_deref(), Some("three"));
    }
    let epoch = devices.agreed(0).0.unwrap().1;
    devices.member(2).ask(Intent::Rename("renamed".into()));
    devices.settle();
    assert_eq!(devices.agreed(0).0.unwrap().1, epoch + 1);
    for index in 0..=2 {
        assert_eq!(devices.member(index).name().as_deref(), Some("renamed"));
        assert_eq!(devices.agreed(index), devices.agreed(0));
    }
    // A name over the cap is dropped with its reason and blocks nothing after it.
    let long = "n".repeat(MAX_GROUP_NAME_BYTES + 1);
    devices.member(1).ask(Intent::Rename(long.clone()));
    devices.member(1).ask(Intent::Update);
    devices.settle();
    assert_eq!(
        devices.agreed(0).0.unwrap().1,
        epoch + 2,
        "the update was made"
    );
    assert!(
        devices.dropped[1]
            .iter()
            .any(|(intent, _)| *intent == Intent::Rename(long.clone())),
        "{:?}",
        devices.dropped[1]
    );
    assert!(GroupMember::create(ContextId([7; 32]), &long, &[1; 32], &mut devices.rng).is_err());
}

#[test]
fn a_rename_that_loses_is_made_again_on_the_winner_and_a_name_over_the_cap_does_not_verify() {
    let mut devices = Devices::new(3);
    group_of_three(&mut devices, ContextId([6; 32]));
    let epoch = devices.agreed(0).0.unwrap().1;
    // Two renames at once: one loses, and its author makes it again on the winner.
    devices.member(1).ask(Intent::Rename("one".into()));
    devices.member(2).ask(Intent::Rename("two".into()));
    devices.settle();
    let agreed = devices.agreed(0);
    assert_eq!(agreed.0.unwrap().1, epoch + 2, "both renames were made");
    let name = devices.member(0).name().unwrap();
    assert!(name == "one" || name == "two", "{name}");
    for index in 1..=2 {
        assert_eq!(devices.agreed(index), agreed);
        assert_eq!(devices.member(index).name().unwrap(), name);
    }

    // A member that sets a name over the cap by hand: its commit does not verify.
    let long = Extension {
        extension_type: crate::crypto::group::GROUP_NAME_EXTENSION,
        extension_data: vec![b'n'; MAX_GROUP_NAME_BYTES + 1],
    };
    let state = devices.member(1).convergence.current_state().unwrap();
    let (commit, _, _) = state
        .commit(
            vec![Proposal::GroupContextExtensions(vec![long])],
            &mut UnwrapErr(SysRng),
        )
        .unwrap();
    let fact = GroupFact::Commit {
        parent: commit.parent,
        parent_epoch: commit.parent_epoch,
        epoch: commit.child,
        sealed: commit.bytes,
    };
    let author = devices.device(1);
    let now = devices.now;
    devices.member(0).receive(author, fact, now);
    devices.settle();
    assert_eq!(devices.agreed(0), agreed, "the commit was refused");
}

#[test]
fn a_member_restored_from_its_snapshot_and_fed_its_journal_again_converges_and_makes_what_it_was_asked()
 {
    let mut devices = Devices::new(3);
    group_of_three(&mut devices, ContextId([5; 32]));
    // Member 1 is asked for a rename it has not made yet, and stops.
    devices
        .member(1)
        .ask(Intent::Rename("after the restart".into()));
    let snapshot = devices.member(1).snapshot().unwrap();
    let seed = devices.seeds[1];
    devices.members[1] = None;
    // The group goes on meanwhile.
    devices.member(0).ask(Intent::Update);
    devices.settle();
    // Member 2's journal: every commit it received (member 0's update among them).
    let written: Vec<GroupFact> = {
        assert!(!devices.member(2).recent.is_empty());
        devices
            .member(2)
            .recent
            .iter()
            .map(|commit| GroupFact::Commit {
                parent: commit.parent,
                parent_epoch: commit.parent_epoch,
                epoch: commit.child,
                sealed: commit.bytes.clone(),
            })
            .collect()
    };
    let mut restored = GroupMember::restore(snapshot.as_bytes(), &seed).unwrap();
    let author = devices.device(0);
    for fact in written {
        restored.receive(author, fact, devices.now);
    }
    devices.members[1] = Some(restored);
    devices.settle();
    let agreed = devices.agreed(0);
    for index in 1..=2 {
        assert_eq!(devices.agreed(index), agreed, "member {index}");
        assert_eq!(
            devices.member(index).name().as_deref(),
            Some("after the restart")
        );
    }
    // Another device's seed does not restore it.
    let snapshot = devices.member(1).snapshot().unwrap();
    assert!(matches!(
        GroupMember::restore(snapshot.as_bytes(), &devices.seeds[2]),
        Err(SnapshotError::WrongDevice)
    ));
}

#[test]
fn a_damaged_snapshot_is_an_error_never_a_panic() {
    let mut devices = Devices::new(3);
    group_of_three(&mut devices, ContextId([4; 32]));
    let one = devices.device(1);
    devices.member(2).ask(Intent::Remove(one));
    let package = devices.key_package(1);
    devices.member(2).ask(Intent::Add(Box::new(package)));
    devices.member(2).ask(Intent::Rename("kept".into()));
    let seed = devices.seeds[2];
    let snapshot = devices.member(2).snapshot().unwrap();
    let bytes = snapshot.as_bytes();
    assert!(GroupMember::restore(bytes, &seed).is_ok());
    // Cut anywhere.
    for cut in (0..bytes.len()).step_by(7) {
        assert!(
            GroupMember::restore(&bytes[..cut], &seed).is_err(),
            "cut at {cut}"
        );
    }
    // Bytes changed anywhere: an error, or (in secret bytes no check covers) a
    // membership; never a panic.
    for at in (0..bytes.len()).step_by(5) {
        let mut changed = bytes.to_vec();
        changed[at] ^= 0x5a;
        let _ = GroupMember::restore(&changed, &seed);
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(GroupMember::restore(&longer, &seed).is_err());
    let huge = vec![0u8; MAX_SNAPSHOT_BYTES + 1];
    assert!(matches!(
        GroupMember::restore(&huge, &seed),
        Err(SnapshotError::TooLarge(_))
    ));
    // The memberships of a device, likewise.
    let held = crate::groups::memberships::Memberships::new(devices.members[2].take().unwrap());
    let all = held.snapshot().unwrap();
    let restored = crate::groups::memberships::Memberships::restore(all.as_bytes(), &seed).unwrap();
    assert_eq!(restored.roster(), held.roster());
    for cut in (0..all.as_bytes().len()).step_by(11) {
        assert!(
            crate::groups::memberships::Memberships::restore(&all.as_bytes()[..cut], &seed)
                .is_err()
        );
    }
}
