//! An adversary holding the complete exported state of one member: every
//! key, every path secret, every ratchet and every epoch secret in it. It
//! attacks the group's later traffic with real cryptography only:
//!
//! - every HPKE private key it holds or can derive, against every
//!   ciphertext of every later UpdatePath;
//! - every secret it holds or learns, through the key schedule, as the
//!   commit secret on top of every init secret it holds, compared with the
//!   honest members' epoch authenticator;
//! - every secret tree it holds or can derive, against every later
//!   application message.
//!
//! It also replays the stolen member's own commit code on the stolen state,
//! so that a committer whose fresh path depended on its old state would be
//! reproduced.

use std::collections::BTreeSet;

use super::super::StepRng;
use super::network::{CommitRecord, SentMessage, copy_secrets};
use crate::crypto::cipher_suite::{CipherSuite, HASH_LENGTH};
use crate::crypto::codec::Decode;
use crate::crypto::commit::{Commit, HandshakeBodies};
use crate::crypto::group::Group;
use crate::crypto::key_schedule::{EpochEntry, EpochSecrets};
use crate::crypto::keys::HpkePrivateKey;
use crate::crypto::primitives::decrypt_with_label;
use crate::crypto::private_message::{self, PrivateMessage};
use crate::crypto::public_message::PublicMessage;
use crate::crypto::secret::Secret;
use crate::crypto::secret_tree::SecretTree;
use crate::crypto::tree_kem::{UPDATE_PATH_NODE_LABEL, next_path_secret, node_key_pair};
use crate::crypto::tree_math::TreeSize;

/// How far up the adversary follows each path secret it knows: a tree of
/// 128 leaves (64 members, grown by adds) has 7 levels above a leaf, and
/// the commit secret lies one step past the root.
const PATH_CHAIN_LENGTH: usize = 9;

/// Seed of the randomness the adversary feeds the stolen commit code.
const ADVERSARY_SEED: u64 = 0xadd5_a11e;

/// What the attack achieved.
#[derive(Debug, Default)]
pub struct Findings {
    /// Epochs whose epoch authenticator the key schedule reproduced.
    pub recovered_epochs: BTreeSet<u64>,
    /// Epochs one of whose secrets the adversary held or derived.
    pub exposed_epochs: BTreeSet<u64>,
    /// Epochs of the commits one of whose path ciphertexts it opened.
    pub opened_paths: BTreeSet<u64>,
    /// Indices (into the attacked slice) of messages it decrypted.
    pub decrypted_messages: BTreeSet<usize>,
}

pub struct Adversary {
    stolen: Secret,
    stolen_tree_size: TreeSize,
    hpke_keys: Vec<HpkePrivateKey>,
    /// Every secret held or learned, each followed up its path chain.
    secrets: Vec<Secret>,
    init_secrets: Vec<Secret>,
    /// Epoch secrets held or recovered, with their tree sizes.
    epochs: Vec<(EpochSecrets, TreeSize)>,
}

impl Adversary {
    /// Everything in `state` (an export), plus what replaying the member's
    /// own commit on it yields.
    pub fn steal(state: &Secret) -> Self {
        let victim = Group::import_state(state.as_bytes()).unwrap();
        let mut adversary = Self {
            stolen: state.duplicate(),
            stolen_tree_size: victim.tree().size(),
            hpke_keys: Vec::new(),
            secrets: Vec::new(),
            init_secrets: Vec::new(),
            epochs: Vec::new(),
        };
        adversary.learn_victim(&victim);
        let mut replay = Group::import_state(state.as_bytes()).unwrap();
        if replay.update(&mut StepRng(ADVERSARY_SEED)).is_ok() {
            adversary.learn_victim(&replay);
        }
        adversary
    }

    fn learn_victim(&mut self, victim: &Group) {
        self.hpke_keys.push(victim.leaf_private_key.clone());
        for secret in victim.path_secrets.values() {
            self.learn_path_secret(secret);
        }
        self.learn(Secret::from_slice(victim.signing_key.to_seed().as_ref()));
        self.learn_epoch(copy_secrets(&victim.secrets), victim.tree().size());
    }

    /// A path secret: the keys of its node and every node above, and the
    /// commit secret past the root.
    fn learn_path_secret(&mut self, secret: &Secret) {
        let mut current = secret.duplicate();
        for _ in 0..PATH_CHAIN_LENGTH {
            self.hpke_keys
                .push(node_key_pair(&current).unwrap().private_key);
            let next = next_path_secret(&current).unwrap();
            self.secrets.push(current);
            current = next;
        }
        self.secrets.push(current);
    }

    fn learn(&mut self, secret: Secret) {
        self.secrets.push(secret);
    }

    fn learn_epoch(&mut self, epoch: EpochSecrets, size: TreeSize) {
        for secret in epoch_fields(&epoch) {
            self.learn(secret.duplicate());
        }
        self.init_secrets.push(epoch.init_secret.duplicate());
        self.epochs.push((epoch, size));
    }

    /// Attacks `commits` in order, then `messages`.
    pub fn attack(&mut self, commits: &[CommitRecord], messages: &[SentMessage]) -> Findings {
        let mut findings = Findings::default();
        for record in commits {
            let epoch = record.context.epoch;
            if self.open_path(record) {
                findings.opened_paths.insert(epoch);
            }
            if let Some(recovered) = self.run_key_schedule(record) {
                findings.recovered_epochs.insert(epoch);
                self.learn_epoch(recovered, record.tree_size);
            }
            // Members keep no encryption secret (only its placeholder); the
            // secret tree is attacked through the messages instead.
            let kept = epoch_fields(&record.truth)
                .into_iter()
                .filter(|field| !std::ptr::eq(*field, &record.truth.encryption_secret));
            let exposed = kept.into_iter().any(|truth| {
                self.secrets
                    .iter()
                    .any(|held| held.as_bytes() == truth.as_bytes())
            });
            if exposed {
                findings.exposed_epochs.insert(epoch);
            }
        }
        for (index, message) in messages.iter().enumerate() {
            if self.decrypts(message) {
                findings.decrypted_messages.insert(index);
            }
        }
        findings
    }

    /// Tries every held key on every ciphertext of the commit's path;
    /// learns what opens.
    fn open_path(&mut self, record: &CommitRecord) -> bool {
        let message =
            PublicMessage::from_mls_message_bytes(&record.commit, &HandshakeBodies).unwrap();
        let commit = Commit::from_tls_bytes(&message.content.body).unwrap();
        let Some(path) = commit.path else {
            return false;
        };
        let mut opened = Vec::new();
        for ciphertext in path
            .nodes
            .iter()
            .flat_map(|node| &node.encrypted_path_secret)
        {
            for key in &self.hpke_keys {
                if let Ok(secret) = decrypt_with_label(
                    CipherSuite::AURA,
                    key,
                    UPDATE_PATH_NODE_LABEL,
                    &record.provisional_context,
                    &ciphertext.kem_output,
                    &ciphertext.ciphertext,
                ) {
                    opened.push(secret);
                }
            }
        }
        for secret in &opened {
            self.learn_path_secret(secret);
        }
        !opened.is_empty()
    }

    /// Every held init secret with every held secret (and the zero vector)
    /// as commit secret; the epoch whose authenticator matches the honest one.
    fn run_key_schedule(&self, record: &CommitRecord) -> Option<EpochSecrets> {
        let zero = Secret::zero(HASH_LENGTH);
        let no_psk = Secret::zero(HASH_LENGTH);
        for init in &self.init_secrets {
            for commit_secret in self.secrets.iter().chain([&zero]) {
                let (_, entry) =
                    EpochEntry::from_commit(init, commit_secret, &no_psk, &record.context).unwrap();
                if entry.epoch.epoch_authenticator.as_bytes()
                    == record.truth.epoch_authenticator.as_bytes()
                {
                    return Some(entry.epoch);
                }
            }
        }
        None
    }

    /// The stolen secret tree (used past any epoch check) and a fresh tree
    /// from every encryption secret held, each with every sender-data secret.
    fn decrypts(&self, message: &SentMessage) -> bool {
        let parsed = PrivateMessage::from_mls_message_bytes(&message.bytes).unwrap();
        let mut stolen = Group::import_state(self.stolen.as_bytes()).unwrap();
        let stolen_sender_data = stolen.secrets.sender_data_secret.duplicate();
        if private_message::unprotect_unchecked(
            &parsed,
            &mut stolen.secret_tree,
            &stolen_sender_data,
            &HandshakeBodies,
        )
        .is_ok()
        {
            return true;
        }
        self.epochs.iter().any(|(secrets, size)| {
            [*size, self.stolen_tree_size].into_iter().any(|size| {
                let mut tree = SecretTree::new(CipherSuite::AURA, &secrets.encryption_secret, size);
                private_message::unprotect_unchecked(
                    &parsed,
                    &mut tree,
                    &secrets.sender_data_secret,
                    &HandshakeBodies,
                )
                .is_ok()
            })
        })
    }
}

fn epoch_fields(secrets: &EpochSecrets) -> [&Secret; 9] {
    [
        &secrets.sender_data_secret,
        &secrets.encryption_secret,
        &secrets.exporter_secret,
        &secrets.external_secret,
        &secrets.confirmation_key,
        &secrets.membership_key,
        &secrets.resumption_psk,
        &secrets.epoch_authenticator,
        &secrets.init_secret,
    ]
}
