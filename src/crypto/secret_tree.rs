//! The secret tree (RFC 9420 §9): one hash ratchet per member and content
//! type, seeded from the epoch's `encryption_secret`.
//!
//! Forward secrecy rests on deleting what has been used: a tree node's secret
//! is dropped once its children are derived, a leaf's once its ratchets
//! exist, a ratchet secret once the next one is derived, and a message key
//! as soon as its message is accepted. Keys skipped by out-of-order delivery
//! are kept for at most [`OUT_OF_ORDER_WINDOW`] generations.
//!
//! A receiver first stages a key ([`SecretTree::stage_key`]), which derives
//! it without changing the tree, and consumes it
//! ([`SecretTree::consume`]) only once the whole message has verified. A
//! forged message, even one a member encrypted correctly under another
//! member's key, therefore neither burns a genuine key nor fills the
//! skipped-key store.

use std::collections::BTreeMap;

use super::cipher_suite::{CipherSuite, HASH_LENGTH};
use super::error::CryptoError;
use super::primitives::{derive_tree_secret, expand_with_label};
use super::secret::Secret;
use super::tree_math::{LeafIndex, NodeIndex, TreeSize};

/// How many generations a receiver keeps keys for, behind the newest
/// generation it has seen, and how far ahead of the next expected
/// generation a message may be. Bounds both memory and the work a forged
/// generation number can trigger.
pub const OUT_OF_ORDER_WINDOW: u32 = 1_000;

mod stored_state;

pub(crate) use stored_state::read_exact_secret;

mod label {
    pub const TREE: &[u8] = b"tree";
    pub const LEFT: &[u8] = b"left";
    pub const RIGHT: &[u8] = b"right";
    pub const HANDSHAKE: &[u8] = b"handshake";
    pub const APPLICATION: &[u8] = b"application";
    pub const KEY: &[u8] = b"key";
    pub const NONCE: &[u8] = b"nonce";
    pub const SECRET: &[u8] = b"secret";
}

/// Which of a member's two ratchets a key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatchetKind {
    /// Proposals and commits sent as PrivateMessage.
    Handshake,
    /// Application messages.
    Application,
}

/// An AEAD key and nonce for one generation of one ratchet. Not `Clone`:
/// each key is consumed exactly once (staging copies a kept key, and the
/// copy dies with the stage).
#[derive(Debug)]
pub struct MessageKey {
    generation: u32,
    key: Secret,
    nonce: Secret,
}

impl MessageKey {
    /// Generation the key belongs to.
    #[must_use]
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The `AEAD.Nk`-byte key.
    #[must_use]
    pub fn key(&self) -> &[u8] {
        self.key.as_bytes()
    }

    /// The `AEAD.Nn`-byte nonce (before XOR with the reuse guard).
    #[must_use]
    pub fn nonce(&self) -> &[u8] {
        self.nonce.as_bytes()
    }

    fn duplicate(&self) -> Self {
        Self {
            generation: self.generation,
            key: self.key.duplicate(),
            nonce: self.nonce.duplicate(),
        }
    }
}

/// A receiver's key for one message, derived without changing the tree.
/// Passing it to [`SecretTree::consume`] deletes the key (and moves the
/// ratchet past it); dropping it leaves the tree as it was.
#[derive(Debug)]
pub struct StagedKey {
    leaf: LeafIndex,
    kind: RatchetKind,
    key: MessageKey,
    change: RatchetChange,
}

impl StagedKey {
    /// The message key.
    #[must_use]
    pub fn key(&self) -> &MessageKey {
        &self.key
    }
}

/// What consuming a staged key does to its ratchet.
#[derive(Debug)]
enum RatchetChange {
    /// The key was kept from an earlier skip: delete it.
    TakeSkipped,
    /// The key lies at or ahead of the ratchet: move the ratchet past it.
    Advance(RatchetAdvance),
}

/// A ratchet's state after moving past a staged generation.
#[derive(Debug)]
struct RatchetAdvance {
    /// `next_generation` the ratchet had when the key was staged; consuming
    /// refuses a stage made stale by another consumption.
    from_generation: u32,
    /// Keys of the generations passed over that stay within the window.
    skipped: Vec<MessageKey>,
    /// Ratchet secret of the generation after the staged one.
    secret: Secret,
    /// `None` when the staged generation was the last one.
    next_generation: Option<u32>,
}

/// One hash ratchet: `secret[j+1] = DeriveTreeSecret(secret[j], "secret", j, Nh)`.
#[derive(Debug)]
struct HashRatchet {
    /// Fixes the length of the AEAD keys the ratchet gives.
    suite: CipherSuite,
    /// Ratchet secret of `next_generation`.
    secret: Secret,
    next_generation: u32,
    /// Keys of generations below `next_generation` that were skipped and not
    /// yet used; always within the window.
    skipped: BTreeMap<u32, MessageKey>,
    /// `false` once the generation counter is exhausted.
    open: bool,
}

impl HashRatchet {
    fn new(suite: CipherSuite, secret: Secret) -> Self {
        Self {
            suite,
            secret,
            next_generation: 0,
            skipped: BTreeMap::new(),
            open: true,
        }
    }

    fn current_key(&self) -> Result<MessageKey, CryptoError> {
        key_at(self.suite, &self.secret, self.next_generation)
    }

    /// Replaces the secret by the next one; the old one is wiped on drop.
    fn advance(&mut self) -> Result<(), CryptoError> {
        self.secret = next_ratchet_secret(&self.secret, self.next_generation)?;
        match self.next_generation.checked_add(1) {
            Some(next) => self.next_generation = next,
            None => self.open = false,
        }
        Ok(())
    }

    fn ensure_open(&self) -> Result<(), CryptoError> {
        if self.open {
            Ok(())
        } else {
            Err(CryptoError::GenerationExhausted)
        }
    }

    /// The key for the next generation, for a sender.
    fn next_key(&mut self) -> Result<MessageKey, CryptoError> {
        self.ensure_open()?;
        let key = self.current_key()?;
        self.advance()?;
        Ok(key)
    }

    /// The key for `generation`, for a receiver, and the change that
    /// consuming it makes; the ratchet itself is left untouched.
    fn stage(&self, generation: u32) -> Result<(MessageKey, RatchetChange), CryptoError> {
        if generation < self.next_generation || !self.open {
            let kept = self
                .skipped
                .get(&generation)
                .ok_or(CryptoError::KeyUnavailable { generation })?;
            return Ok((kept.duplicate(), RatchetChange::TakeSkipped));
        }
        if generation - self.next_generation > OUT_OF_ORDER_WINDOW {
            return Err(CryptoError::GenerationTooFarAhead {
                requested: generation,
                current: self.next_generation,
            });
        }
        let oldest_kept = oldest_kept_generation(generation);
        let mut skipped = Vec::new();
        let mut passed: Option<Secret> = None;
        for skipped_generation in self.next_generation..generation {
            let secret = passed.as_ref().unwrap_or(&self.secret);
            if skipped_generation >= oldest_kept {
                skipped.push(key_at(self.suite, secret, skipped_generation)?);
            }
            passed = Some(next_ratchet_secret(secret, skipped_generation)?);
        }
        let secret = passed.as_ref().unwrap_or(&self.secret);
        let key = key_at(self.suite, secret, generation)?;
        let advance = RatchetAdvance {
            from_generation: self.next_generation,
            skipped,
            secret: next_ratchet_secret(secret, generation)?,
            next_generation: generation.checked_add(1),
        };
        Ok((key, RatchetChange::Advance(advance)))
    }

    /// Applies a change made by [`HashRatchet::stage`] on this same state.
    fn apply(&mut self, generation: u32, change: RatchetChange) -> Result<(), CryptoError> {
        let stale = CryptoError::KeyUnavailable { generation };
        match change {
            RatchetChange::TakeSkipped => {
                self.skipped.remove(&generation).ok_or(stale)?;
            }
            RatchetChange::Advance(advance) => {
                if !self.open || self.next_generation != advance.from_generation {
                    return Err(stale);
                }
                self.skipped
                    .extend(advance.skipped.into_iter().map(|key| (key.generation, key)));
                self.secret = advance.secret;
                match advance.next_generation {
                    Some(next) => self.next_generation = next,
                    None => self.open = false,
                }
                // Forget skipped keys that fell out of the window behind `generation`.
                self.skipped = self.skipped.split_off(&oldest_kept_generation(generation));
            }
        }
        Ok(())
    }
}

/// Oldest generation whose skipped key is still kept once `newest` is used.
fn oldest_kept_generation(newest: u32) -> u32 {
    newest.saturating_sub(OUT_OF_ORDER_WINDOW - 1)
}

/// Key and nonce of `generation`, from that generation's ratchet secret.
fn key_at(suite: CipherSuite, secret: &Secret, generation: u32) -> Result<MessageKey, CryptoError> {
    let secret = secret.as_bytes();
    Ok(MessageKey {
        generation,
        key: derive_tree_secret(secret, label::KEY, generation, suite.aead_key_length())?,
        nonce: derive_tree_secret(secret, label::NONCE, generation, suite.aead_nonce_length())?,
    })
}

/// Ratchet secret of the generation after `generation`.
fn next_ratchet_secret(secret: &Secret, generation: u32) -> Result<Secret, CryptoError> {
    derive_tree_secret(secret.as_bytes(), label::SECRET, generation, HASH_LENGTH)
}

#[derive(Debug)]
struct LeafRatchets {
    handshake: HashRatchet,
    application: HashRatchet,
}

impl LeafRatchets {
    fn get(&self, kind: RatchetKind) -> &HashRatchet {
        match kind {
            RatchetKind::Handshake => &self.handshake,
            RatchetKind::Application => &self.application,
        }
    }

    fn get_mut(&mut self, kind: RatchetKind) -> &mut HashRatchet {
        match kind {
            RatchetKind::Handshake => &mut self.handshake,
            RatchetKind::Application => &mut self.application,
        }
    }
}

/// The secret tree of one epoch.
#[derive(Debug)]
pub struct SecretTree {
    suite: CipherSuite,
    size: TreeSize,
    /// Secrets of nodes whose children have not been derived yet.
    node_secrets: BTreeMap<NodeIndex, Secret>,
    /// Ratchets of leaves that have been reached.
    ratchets: BTreeMap<LeafIndex, LeafRatchets>,
}

impl SecretTree {
    /// A tree over `size` leaves rooted at `encryption_secret`, giving
    /// message keys for the AEAD of `suite`.
    #[must_use]
    pub fn new(suite: CipherSuite, encryption_secret: &Secret, size: TreeSize) -> Self {
        let mut node_secrets = BTreeMap::new();
        node_secrets.insert(size.root(), encryption_secret.duplicate());
        Self {
            suite,
            size,
            node_secrets,
            ratchets: BTreeMap::new(),
        }
    }

    /// The suite whose AEAD the message keys are for.
    #[must_use]
    pub fn cipher_suite(&self) -> CipherSuite {
        self.suite
    }

    /// The tree's size.
    #[must_use]
    pub fn size(&self) -> TreeSize {
        self.size
    }

    /// The key a member uses to send its next message of `kind`.
    pub fn next_sending_key(
        &mut self,
        leaf: LeafIndex,
        kind: RatchetKind,
    ) -> Result<MessageKey, CryptoError> {
        self.leaf_ratchets(leaf)?.get_mut(kind).next_key()
    }

    /// The key for a received message of `kind` from `leaf` at `generation`,
    /// derived without changing the tree: a message that then fails to
    /// verify costs nothing but the derivation.
    ///
    /// Fails if the key was already consumed, has left the window, or lies
    /// more than [`OUT_OF_ORDER_WINDOW`] generations ahead.
    pub fn stage_key(
        &self,
        leaf: LeafIndex,
        kind: RatchetKind,
        generation: u32,
    ) -> Result<StagedKey, CryptoError> {
        self.check_leaf(leaf)?;
        let (key, change) = match self.ratchets.get(&leaf) {
            Some(ratchets) => ratchets.get(kind).stage(generation)?,
            None => HashRatchet::new(self.suite, self.derive_ratchet_secret(leaf, kind)?)
                .stage(generation)?,
        };
        Ok(StagedKey {
            leaf,
            kind,
            key,
            change,
        })
    }

    /// Deletes a key staged from this tree once its message has verified,
    /// storing the keys it skipped over. Fails, changing nothing, if another
    /// key consumed since made the stage stale.
    pub fn consume(&mut self, staged: StagedKey) -> Result<(), CryptoError> {
        self.leaf_ratchets(staged.leaf)?
            .get_mut(staged.kind)
            .apply(staged.key.generation, staged.change)
    }

    /// Stages and at once consumes the key for a received message, for a
    /// caller that has nothing left to verify (known-answer tests).
    pub fn key_for_generation(
        &mut self,
        leaf: LeafIndex,
        kind: RatchetKind,
        generation: u32,
    ) -> Result<MessageKey, CryptoError> {
        let staged = self.stage_key(leaf, kind, generation)?;
        self.leaf_ratchets(leaf)?
            .get_mut(kind)
            .apply(generation, staged.change)?;
        Ok(staged.key)
    }

    fn check_leaf(&self, leaf: LeafIndex) -> Result<(), CryptoError> {
        if self.size.contains_leaf(leaf) {
            Ok(())
        } else {
            Err(CryptoError::IndexOutOfRange {
                index: leaf.0,
                size: self.size.leaf_count(),
            })
        }
    }

    fn leaf_ratchets(&mut self, leaf: LeafIndex) -> Result<&mut LeafRatchets, CryptoError> {
        self.check_leaf(leaf)?;
        if !self.ratchets.contains_key(&leaf) {
            let created = self.create_leaf_ratchets(leaf)?;
            self.ratchets.insert(leaf, created);
        }
        self.ratchets
            .get_mut(&leaf)
            .ok_or(CryptoError::LeafSecretUnavailable(leaf.0))
    }

    /// The first ratchet secret of `kind` for a leaf whose ratchets do not
    /// exist yet, derived from the stored ancestor without splitting it.
    fn derive_ratchet_secret(
        &self,
        leaf: LeafIndex,
        kind: RatchetKind,
    ) -> Result<Secret, CryptoError> {
        let mut derived: Option<(NodeIndex, Secret)> = None;
        for node in self.size.path_from_root(leaf.node())? {
            derived = match derived {
                None => self
                    .node_secrets
                    .get(&node)
                    .map(|secret| (node, secret.duplicate())),
                Some((parent, secret)) => {
                    let side = if parent.left() == Some(node) {
                        label::LEFT
                    } else {
                        label::RIGHT
                    };
                    Some((node, child_secret(&secret, side)?))
                }
            };
        }
        let (_, leaf_secret) = derived.ok_or(CryptoError::LeafSecretUnavailable(leaf.0))?;
        ratchet_root(&leaf_secret, kind)
    }

    /// Walks from the root to `leaf`, splitting every node secret on the way
    /// (and deleting it), then turns the leaf secret into its two ratchets.
    fn create_leaf_ratchets(&mut self, leaf: LeafIndex) -> Result<LeafRatchets, CryptoError> {
        let leaf_node = leaf.node();
        for node in self.size.path_from_root(leaf_node)? {
            if node == leaf_node {
                break;
            }
            let Some(secret) = self.node_secrets.remove(&node) else {
                // Already split for another leaf; the child we need is stored.
                continue;
            };
            let (Some(left), Some(right)) = (node.left(), node.right()) else {
                return Err(CryptoError::LeafSecretUnavailable(leaf.0));
            };
            self.node_secrets
                .insert(left, child_secret(&secret, label::LEFT)?);
            self.node_secrets
                .insert(right, child_secret(&secret, label::RIGHT)?);
        }
        let leaf_secret = self
            .node_secrets
            .remove(&leaf_node)
            .ok_or(CryptoError::LeafSecretUnavailable(leaf.0))?;
        Ok(LeafRatchets {
            handshake: HashRatchet::new(
                self.suite,
                ratchet_root(&leaf_secret, RatchetKind::Handshake)?,
            ),
            application: HashRatchet::new(
                self.suite,
                ratchet_root(&leaf_secret, RatchetKind::Application)?,
            ),
        })
    }
}

/// Secret of a node's left or right child.
fn child_secret(parent: &Secret, side: &[u8]) -> Result<Secret, CryptoError> {
    expand_with_label(parent.as_bytes(), label::TREE, side, HASH_LENGTH)
}

/// Generation-0 secret of a leaf's ratchet of `kind`.
fn ratchet_root(leaf_secret: &Secret, kind: RatchetKind) -> Result<Secret, CryptoError> {
    let kind_label = match kind {
        RatchetKind::Handshake => label::HANDSHAKE,
        RatchetKind::Application => label::APPLICATION,
    };
    expand_with_label(leaf_secret.as_bytes(), kind_label, &[], HASH_LENGTH)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::codec::Writer;

    fn tree() -> SecretTree {
        SecretTree::new(
            CipherSuite::AURA,
            &Secret::from_slice(&[7; 32]),
            TreeSize::new(4).unwrap(),
        )
    }

    const ALICE: LeafIndex = LeafIndex(0);
    const APP: RatchetKind = RatchetKind::Application;

    #[test]
    fn a_key_can_be_taken_only_once() {
        let mut tree = tree();
        assert!(tree.key_for_generation(ALICE, APP, 0).is_ok());
        assert_eq!(
            tree.key_for_generation(ALICE, APP, 0)
                .map(|k| k.generation()),
            Err(CryptoError::KeyUnavailable { generation: 0 })
        );
        // A skipped key is also single-use.
        assert!(tree.key_for_generation(ALICE, APP, 5).is_ok());
        assert!(tree.key_for_generation(ALICE, APP, 3).is_ok());
        assert_eq!(
            tree.key_for_generation(ALICE, APP, 3)
                .map(|k| k.generation()),
            Err(CryptoError::KeyUnavailable { generation: 3 })
        );
    }

    fn state_bytes(tree: &SecretTree) -> Vec<u8> {
        let mut writer = Writer::new();
        tree.encode_state(&mut writer).unwrap();
        writer.into_bytes()
    }

    #[test]
    fn a_dropped_stage_leaves_the_tree_as_it_was() {
        let mut tree = tree();
        tree.key_for_generation(ALICE, APP, 3).unwrap();
        let before = state_bytes(&tree);
        // Ahead of the ratchet, from a kept skipped key, and for a leaf
        // whose ratchets do not exist yet.
        for (leaf, generation) in [(ALICE, 40), (ALICE, 1), (LeafIndex(3), 7)] {
            let staged = tree.stage_key(leaf, APP, generation).unwrap();
            assert_eq!(staged.key().generation(), generation);
            drop(staged);
            assert_eq!(state_bytes(&tree), before);
        }
    }

    #[test]
    fn a_consumed_stage_gives_the_key_once() {
        let mut sender = tree();
        let expected: Vec<Vec<u8>> = (0..6)
            .map(|_| sender.next_sending_key(ALICE, APP).unwrap().key().to_vec())
            .collect();
        let mut receiver = tree();
        for generation in [5u32, 2] {
            let staged = receiver.stage_key(ALICE, APP, generation).unwrap();
            assert_eq!(staged.key().key(), expected[generation as usize].as_slice());
            receiver.consume(staged).unwrap();
            assert_eq!(
                receiver
                    .stage_key(ALICE, APP, generation)
                    .map(|staged| staged.key().generation()),
                Err(CryptoError::KeyUnavailable { generation })
            );
        }
    }

    #[test]
    fn a_stale_stage_is_refused() {
        let mut tree = tree();
        let first = tree.stage_key(ALICE, APP, 4).unwrap();
        let second = tree.stage_key(ALICE, APP, 4).unwrap();
        let behind = tree.stage_key(ALICE, APP, 2).unwrap();
        tree.consume(first).unwrap();
        let after_first = state_bytes(&tree);
        // Applying the second would rewind the ratchet to generation 5 again
        // and bring back key 4.
        assert_eq!(
            tree.consume(second),
            Err(CryptoError::KeyUnavailable { generation: 4 })
        );
        assert_eq!(state_bytes(&tree), after_first);
        // A stage of a then-future generation is stale once it was skipped;
        // the skipped key itself is still there, once.
        assert_eq!(
            tree.consume(behind),
            Err(CryptoError::KeyUnavailable { generation: 2 })
        );
        let skipped = tree.stage_key(ALICE, APP, 2).unwrap();
        tree.consume(skipped).unwrap();
        assert!(tree.stage_key(ALICE, APP, 2).is_err());
    }

    #[test]
    fn staged_keys_of_new_leaves_match_their_ratchets() {
        let size = TreeSize::new(8).unwrap();
        let root = Secret::from_slice(&[3; 32]);
        let mut split = SecretTree::new(CipherSuite::AURA, &root, size);
        // Splits part of the tree, so later stages start from inner nodes.
        split.key_for_generation(LeafIndex(5), APP, 0).unwrap();
        for leaf in (0..8).map(LeafIndex).filter(|leaf| *leaf != LeafIndex(5)) {
            let mut sender = SecretTree::new(CipherSuite::AURA, &root, size);
            for kind in [APP, RatchetKind::Handshake] {
                let expected = sender.next_sending_key(leaf, kind).unwrap();
                let staged = split.stage_key(leaf, kind, 0).unwrap();
                assert_eq!(staged.key().key(), expected.key());
                assert_eq!(staged.key().nonce(), expected.nonce());
            }
        }
    }

    #[test]
    fn out_of_order_keys_match_in_order_keys() {
        let mut in_order = tree();
        let expected: Vec<Vec<u8>> = (0..10)
            .map(|_| {
                in_order
                    .next_sending_key(ALICE, APP)
                    .unwrap()
                    .key()
                    .to_vec()
            })
            .collect();
        let mut receiver = tree();
        for generation in [9u32, 2, 0, 5, 1, 8, 3, 7, 4, 6] {
            let key = receiver.key_for_generation(ALICE, APP, generation).unwrap();
            assert_eq!(key.generation(), generation);
            assert_eq!(key.key(), expected[generation as usize].as_slice());
        }
    }

    #[test]
    fn generations_beyond_the_window_are_rejected() {
        let mut tree = tree();
        assert_eq!(
            tree.key_for_generation(ALICE, APP, OUT_OF_ORDER_WINDOW + 1)
                .map(|k| k.generation()),
            Err(CryptoError::GenerationTooFarAhead {
                requested: OUT_OF_ORDER_WINDOW + 1,
                current: 0,
            })
        );
        // Exactly at the edge of the window is accepted.
        assert!(
            tree.key_for_generation(ALICE, APP, OUT_OF_ORDER_WINDOW)
                .is_ok()
        );
    }

    #[test]
    fn keys_that_fall_behind_the_window_expire() {
        let mut tree = tree();
        assert!(tree.key_for_generation(ALICE, APP, 10).is_ok());
        // Generation 3 is still kept...
        assert!(tree.key_for_generation(ALICE, APP, 3).is_ok());
        // ...but after jumping a full window ahead, 4 is gone.
        let far = 10 + OUT_OF_ORDER_WINDOW;
        assert!(tree.key_for_generation(ALICE, APP, far).is_ok());
        assert_eq!(
            tree.key_for_generation(ALICE, APP, 4)
                .map(|k| k.generation()),
            Err(CryptoError::KeyUnavailable { generation: 4 })
        );
        // The newest skipped generation is still within the window.
        assert!(tree.key_for_generation(ALICE, APP, far - 1).is_ok());
        let ratchet = &tree.ratchets[&ALICE].application;
        assert!(ratchet.skipped.len() < OUT_OF_ORDER_WINDOW as usize);
    }

    #[test]
    fn the_window_keeps_exactly_the_last_generations() {
        let mut tree = tree();
        // Skips 0..=11 and keeps them.
        assert!(tree.key_for_generation(ALICE, APP, 12).is_ok());
        // With the newest at 12 + 999 the window starts at 12: all that the first jump
        // kept (0..=11) falls out of it, while 13 onwards stays.
        let newest = 12 + OUT_OF_ORDER_WINDOW - 1;
        assert!(tree.key_for_generation(ALICE, APP, newest).is_ok());
        assert_eq!(
            tree.key_for_generation(ALICE, APP, 11)
                .map(|k| k.generation()),
            Err(CryptoError::KeyUnavailable { generation: 11 })
        );
        assert!(tree.key_for_generation(ALICE, APP, 13).is_ok());
    }

    #[test]
    fn a_leaf_outside_the_tree_has_no_keys() {
        let tree = tree();
        let outside = LeafIndex(tree.size().leaf_count());
        assert!(matches!(
            tree.stage_key(outside, APP, 0),
            Err(CryptoError::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn ratchets_are_independent_per_sender_and_kind() {
        let mut tree = tree();
        let alice_app = tree.key_for_generation(ALICE, APP, 0).unwrap();
        let alice_hs = tree
            .key_for_generation(ALICE, RatchetKind::Handshake, 0)
            .unwrap();
        let bob_app = tree.key_for_generation(LeafIndex(1), APP, 0).unwrap();
        assert_ne!(alice_app.key(), alice_hs.key());
        assert_ne!(alice_app.key(), bob_app.key());
        assert!(matches!(
            tree.key_for_generation(LeafIndex(4), APP, 0),
            Err(CryptoError::IndexOutOfRange { .. })
        ));
    }
}
