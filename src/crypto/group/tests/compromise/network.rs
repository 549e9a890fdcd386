//! A group's honest members and the public record of everything they sent:
//! each commit with the GroupContexts an observer can compute from the
//! commit stream, each application message, and (as the oracle the
//! adversary is judged against) the secrets of every epoch.

use super::super::StepRng;
use crate::crypto::group::fixture::GroupFixture;
use crate::crypto::group::{CommitOutcome, Group, generate_key_package};
use crate::crypto::group_context::GroupContext;
use crate::crypto::key_schedule::EpochSecrets;
use crate::crypto::keys::SignaturePrivateKey;
use crate::crypto::proposal::Proposal;
use crate::crypto::tree_math::{LeafIndex, TreeSize};

/// Most members a property group reaches (issue 12: sizes 2–64).
pub const MAX_MEMBERS: usize = 64;

/// Most members one add commit brings in.
pub const MAX_ADDS_PER_COMMIT: usize = 6;

/// One commit as the network saw it, with the secrets it produced.
#[derive(Debug)]
pub struct CommitRecord {
    /// The `MLSMessage` holding the commit.
    pub commit: Vec<u8>,
    /// The context its path secrets were encrypted under (public: the old
    /// context with the new epoch and the new tree hash).
    pub provisional_context: Vec<u8>,
    /// The new epoch's GroupContext (public).
    pub context: GroupContext,
    /// Size of the new epoch's tree (public).
    pub tree_size: TreeSize,
    /// The new epoch's secrets, as the honest members hold them.
    pub truth: EpochSecrets,
}

/// One application message and the epoch it was sent in.
#[derive(Debug)]
pub struct SentMessage {
    pub epoch: u64,
    pub bytes: Vec<u8>,
}

/// A random step of a group's history; indices are reduced modulo the
/// current member count.
#[derive(Debug, Clone)]
pub enum Step {
    Add { count: usize, committer: usize },
    Remove { target: usize, committer: usize },
    Update { committer: usize },
    Send { sender: usize },
}

pub struct Network {
    pub rng: StepRng,
    pub members: Vec<Group>,
    pub commits: Vec<CommitRecord>,
    pub messages: Vec<SentMessage>,
    next_identity: usize,
}

/// An explicit copy of an epoch's secrets (they are deliberately not `Clone`).
pub fn copy_secrets(secrets: &EpochSecrets) -> EpochSecrets {
    EpochSecrets {
        sender_data_secret: secrets.sender_data_secret.duplicate(),
        encryption_secret: secrets.encryption_secret.duplicate(),
        exporter_secret: secrets.exporter_secret.duplicate(),
        external_secret: secrets.external_secret.duplicate(),
        confirmation_key: secrets.confirmation_key.duplicate(),
        membership_key: secrets.membership_key.duplicate(),
        resumption_psk: secrets.resumption_psk.duplicate(),
        epoch_authenticator: secrets.epoch_authenticator.duplicate(),
        init_secret: secrets.init_secret.duplicate(),
    }
}

impl Network {
    /// A full group of `size` members built directly (no commits yet).
    pub fn new(size: u32, seed: u64) -> Self {
        let mut rng = StepRng(seed);
        let fixture = GroupFixture::new(b"compromise", size, &mut rng).unwrap();
        let members = (0..size)
            .map(|leaf| fixture.member(LeafIndex(leaf)).unwrap())
            .collect();
        Self {
            rng,
            members,
            commits: Vec::new(),
            messages: Vec::new(),
            next_identity: size as usize,
        }
    }

    pub fn index_of(&self, leaf: LeafIndex) -> Option<usize> {
        self.members
            .iter()
            .position(|member| member.own_leaf() == leaf)
    }

    /// Runs `step`, never letting `protected` commit or be removed.
    pub fn apply(&mut self, step: &Step, protected: Option<LeafIndex>) {
        let count = self.members.len();
        let pick = |index: usize| {
            let mut index = index % count;
            if protected == Some(self.members[index].own_leaf()) {
                index = (index + 1) % count;
            }
            index
        };
        match *step {
            Step::Add { count, committer } => self.add(count, pick(committer)),
            Step::Remove { target, committer } => {
                let committer = pick(committer);
                let mut target = pick(target);
                if target == committer {
                    target = pick(target + 1);
                }
                if target == committer || protected == Some(self.members[target].own_leaf()) {
                    self.update(committer);
                } else {
                    self.remove(target, committer);
                }
            }
            Step::Update { committer } => self.update(pick(committer)),
            Step::Send { sender } => self.send(sender % count),
        }
    }

    pub fn update(&mut self, committer: usize) {
        self.commit(committer, Vec::new(), Vec::new());
    }

    pub fn add(&mut self, count: usize, committer: usize) {
        let count = count.min(MAX_MEMBERS - self.members.len());
        if count == 0 {
            return self.update(committer);
        }
        let mut joiners = Vec::new();
        for _ in 0..count {
            let signing_key = SignaturePrivateKey::generate(&mut self.rng);
            let identity = format!("member {}", self.next_identity).into_bytes();
            self.next_identity += 1;
            let (key_package, secrets) =
                generate_key_package(identity, &signing_key, &mut self.rng).unwrap();
            joiners.push((key_package, secrets, signing_key));
        }
        let proposals = joiners
            .iter()
            .map(|(key_package, _, _)| Proposal::Add(key_package.clone()))
            .collect();
        self.commit(committer, proposals, joiners);
    }

    /// Removes `target`; returns its final state.
    pub fn remove(&mut self, target: usize, committer: usize) -> Group {
        let leaf = self.members[target].own_leaf();
        self.commit(committer, vec![Proposal::Remove(leaf)], Vec::new());
        self.members.remove(target)
    }

    fn commit(
        &mut self,
        committer: usize,
        proposals: Vec<Proposal>,
        joiners: Vec<(
            crate::crypto::key_package::KeyPackage,
            crate::crypto::group::KeyPackageSecrets,
            SignaturePrivateKey,
        )>,
    ) {
        let old_context = self.members[committer].group_context().clone();
        let output = self.members[committer]
            .commit(proposals, &mut self.rng)
            .unwrap();
        for (index, member) in self.members.iter_mut().enumerate() {
            if index != committer {
                match member.process_commit(&output.commit).unwrap() {
                    CommitOutcome::Advanced { .. } | CommitOutcome::Removed => {}
                }
            }
        }
        if let Some(welcome) = &output.welcome {
            for (key_package, secrets, signing_key) in joiners {
                let joined =
                    Group::join_from_welcome(welcome, &key_package, secrets, signing_key).unwrap();
                self.members.push(joined);
            }
        }
        let committed = &self.members[committer];
        let context = committed.group_context().clone();
        let provisional = GroupContext {
            epoch: context.epoch,
            tree_hash: context.tree_hash.clone(),
            ..old_context
        };
        self.commits.push(CommitRecord {
            commit: output.commit,
            provisional_context: crate::crypto::codec::Encode::to_tls_bytes(&provisional).unwrap(),
            tree_size: committed.tree().size(),
            truth: copy_secrets(&committed.secrets),
            context,
        });
    }

    /// `sender` sends a message that every member in the epoch reads.
    pub fn send(&mut self, sender: usize) {
        let epoch = self.members[sender].epoch();
        let bytes = self.members[sender]
            .protect(b"property message", b"", &mut self.rng)
            .unwrap();
        self.messages.push(SentMessage { epoch, bytes });
    }

    /// Honest members agree on the epoch (the engine works at all).
    pub fn assert_agreement(&self) {
        let first = &self.members[0];
        for member in &self.members {
            assert_eq!(member.epoch(), first.epoch());
            assert_eq!(member.epoch_authenticator(), first.epoch_authenticator());
        }
    }
}
