//! Properties of the MLS group state machine over random sequences of adds,
//! removes and updates (up to 64 members), every member processing every
//! commit: agreement, replay protection and one-time keys.
//!
//! Forward secrecy and post-compromise security need an adversary that holds
//! a member's complete state and attacks with real cryptography; those
//! properties live beside the engine, in `crypto::group::tests::compromise`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/rng.rs"]
mod rng;

use proptest::prelude::*;

use aura::crypto::CryptoError;
use aura::crypto::group::{CommitOutcome, Group, GroupError, generate_key_package};
use aura::crypto::keys::SignaturePrivateKey;
use rng::TestRng;

const MAX_MEMBERS: usize = 64;

#[derive(Debug, Clone)]
enum Op {
    /// Add this many members in one commit.
    Add {
        count: usize,
        committer: usize,
    },
    Remove {
        target: usize,
        committer: usize,
    },
    Update {
        committer: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1usize..=12, any::<usize>()).prop_map(|(count, committer)| Op::Add { count, committer }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(target, committer)| Op::Remove { target, committer }),
        1 => any::<usize>().prop_map(|committer| Op::Update { committer }),
    ]
}

struct Simulation {
    rng: TestRng,
    members: Vec<Group>,
    next_identity: usize,
}

impl Simulation {
    fn new(seed: u64) -> Self {
        let mut rng = TestRng::new(seed);
        let signing_key = SignaturePrivateKey::generate(&mut rng);
        let founder = Group::create(
            b"group".to_vec(),
            b"member 0".to_vec(),
            signing_key,
            &mut rng,
        )
        .unwrap();
        Self {
            rng,
            members: vec![founder],
            next_identity: 1,
        }
    }

    /// Every member except `committer` processes `commit`; returns the
    /// members that reported being removed.
    fn distribute(&mut self, committer: usize, commit: &[u8]) -> Vec<usize> {
        let mut removed = Vec::new();
        for (index, member) in self.members.iter_mut().enumerate() {
            if index == committer {
                continue;
            }
            match member.process_commit(commit).unwrap() {
                CommitOutcome::Advanced { .. } => {}
                CommitOutcome::Removed => removed.push(index),
            }
        }
        removed
    }

    fn add(&mut self, count: usize, committer: usize) {
        let count = count.min(MAX_MEMBERS - self.members.len());
        if count == 0 {
            return self.update(committer);
        }
        let committer = committer % self.members.len();
        let mut joiners = Vec::new();
        for _ in 0..count {
            let signing_key = SignaturePrivateKey::generate(&mut self.rng);
            let identity = format!("member {}", self.next_identity).into_bytes();
            self.next_identity += 1;
            let (key_package, secrets) =
                generate_key_package(identity, &signing_key, &mut self.rng).unwrap();
            joiners.push((key_package, secrets, signing_key));
        }
        let key_packages: Vec<_> = joiners.iter().map(|(kp, _, _)| kp.clone()).collect();
        let output = self.members[committer]
            .add_members(&key_packages, &mut self.rng)
            .unwrap();
        assert!(self.distribute(committer, &output.commit).is_empty());
        let welcome = output.welcome.expect("adds produce a Welcome");
        for (key_package, secrets, signing_key) in joiners {
            let joined =
                Group::join_from_welcome(&welcome, &key_package, secrets, signing_key).unwrap();
            self.members.push(joined);
        }
    }

    fn remove(&mut self, target: usize, committer: usize) {
        if self.members.len() < 2 {
            return self.update(committer);
        }
        let committer = committer % self.members.len();
        let mut target = target % self.members.len();
        if target == committer {
            target = (target + 1) % self.members.len();
        }
        let leaf = self.members[target].own_leaf();
        let output = self.members[committer]
            .remove_member(leaf, &mut self.rng)
            .unwrap();
        assert_eq!(self.distribute(committer, &output.commit), vec![target]);
        self.members.remove(target);
    }

    /// The committer's new leaf key is in the tree, and everyone reads what
    /// it sends in the new epoch.
    fn update(&mut self, committer: usize) {
        let committer = committer % self.members.len();
        let old_key = self.members[committer]
            .tree()
            .leaf(self.members[committer].own_leaf())
            .unwrap()
            .encryption_key
            .clone();
        let output = self.members[committer].update(&mut self.rng).unwrap();
        assert!(self.distribute(committer, &output.commit).is_empty());
        let own_leaf = self.members[committer].own_leaf();
        for member in &self.members {
            assert_ne!(
                member.tree().leaf(own_leaf).unwrap().encryption_key,
                old_key
            );
        }
        let message = self.members[committer]
            .protect(b"after the update", b"", &mut self.rng)
            .unwrap();
        for (index, member) in self.members.iter_mut().enumerate() {
            if index != committer {
                member.unprotect(&message).unwrap();
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Add { count, committer } => self.add(count, committer),
            Op::Remove { target, committer } => self.remove(target, committer),
            Op::Update { committer } => self.update(committer),
        }
    }

    /// All members hold the same epoch, tree hash, authenticator and key.
    fn assert_agreement(&self) {
        let first = &self.members[0];
        let key = first.derive_group_key(first.epoch()).unwrap();
        for member in &self.members {
            assert_eq!(member.epoch(), first.epoch());
            assert_eq!(member.tree_hash(), first.tree_hash());
            assert_eq!(member.epoch_authenticator(), first.epoch_authenticator());
            assert_eq!(member.member_count(), self.members.len());
            assert_eq!(
                member.derive_group_key(member.epoch()).unwrap().as_bytes(),
                key.as_bytes()
            );
        }
    }

    /// One member sends; everyone else reads it exactly once; the used key
    /// is gone, also from a stored state.
    fn check_messages(&mut self, sender: usize) {
        let sender = sender % self.members.len();
        let text = format!("epoch {}", self.members[sender].epoch()).into_bytes();
        let message = self.members[sender]
            .protect(&text, b"ad", &mut self.rng)
            .unwrap();
        let sender_leaf = self.members[sender].own_leaf();
        for (index, member) in self.members.iter_mut().enumerate() {
            if index == sender {
                continue;
            }
            let received = member.unprotect(&message).unwrap();
            assert_eq!(received.plaintext, text);
            assert_eq!(received.sender, sender_leaf);
            assert_eq!(received.authenticated_data, b"ad");
            // Replay: the key was deleted on first use.
            assert!(matches!(
                member.unprotect(&message),
                Err(GroupError::Crypto(CryptoError::KeyUnavailable { .. }))
            ));
            let mut restored =
                Group::import_state(member.export_state().unwrap().as_bytes()).unwrap();
            assert!(matches!(
                restored.unprotect(&message),
                Err(GroupError::Crypto(CryptoError::KeyUnavailable { .. }))
            ));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn members_agree_and_message_keys_are_used_once(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..16),
        senders in prop::collection::vec(any::<usize>(), 16),
    ) {
        let mut simulation = Simulation::new(seed);
        for (op, sender) in ops.iter().zip(senders) {
            simulation.apply(op);
            simulation.assert_agreement();
            simulation.check_messages(sender);
        }
    }
}

#[test]
fn group_grows_to_the_property_limit_and_shrinks_back() {
    let mut simulation = Simulation::new(7);
    while simulation.members.len() < MAX_MEMBERS {
        simulation.apply(&Op::Add {
            count: 12,
            committer: simulation.members.len(),
        });
        simulation.assert_agreement();
    }
    simulation.check_messages(3);
    for step in 0..6 {
        simulation.apply(&Op::Remove {
            target: step * 7,
            committer: step,
        });
        simulation.apply(&Op::Update {
            committer: step * 5,
        });
        simulation.assert_agreement();
    }
    simulation.check_messages(11);
}
