//! Malformed and forged input to the group layer: each gives a typed error,
//! never a panic, and leaves the receiving group unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::crypto::codec::{Decode, Encode};
use crate::crypto::commit::{Commit, HandshakeBodies};
use crate::crypto::framing::AuthenticatedContent;
use crate::crypto::public_message::PublicMessage;
use crate::crypto::{CryptoError, DecodeError};

mod by_reference;
mod compromise;
mod foreign_suite;
mod key_burning;
mod limits;
mod state_import;

/// Deterministic bytes; these tests are about rejection, not key quality.
struct StepRng(u64);

impl rand_core::TryRng for StepRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.try_next_u64()? as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        // SplitMix64: distinct, well-spread values from a counter.
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let value = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&value[..chunk.len()]);
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for StepRng {}

/// A group of three: 0 created it and added 1 and 2.
fn three_members(rng: &mut StepRng) -> Vec<Group> {
    let mut founder = Group::create(
        b"g".to_vec(),
        b"a".to_vec(),
        SignaturePrivateKey::generate(rng),
        rng,
    )
    .unwrap();
    let mut members = Vec::new();
    let mut joiners = Vec::new();
    for name in [b"b", b"c"] {
        let key = SignaturePrivateKey::generate(rng);
        let (package, secrets) = generate_key_package(name.to_vec(), &key, rng).unwrap();
        joiners.push((package, secrets, key));
    }
    let packages: Vec<_> = joiners.iter().map(|(p, _, _)| p.clone()).collect();
    let output = founder.add_members(&packages, rng).unwrap();
    let welcome = output.welcome.unwrap();
    members.push(founder);
    for (package, secrets, key) in joiners {
        members.push(Group::join_from_welcome(&welcome, &package, secrets, key).unwrap());
    }
    members
}

/// Re-frames a (modified) commit as `committer` would have, with a valid
/// signature and membership tag, so that deeper checks are reached.
fn reframe(committer_before: &Group, signed: &AuthenticatedContent, body: Vec<u8>) -> Vec<u8> {
    let mut content = signed.content.clone();
    content.body = body;
    let resigned = AuthenticatedContent::sign(
        signed.wire_format,
        content,
        &committer_before.context,
        &committer_before.signing_key,
        signed.auth.confirmation_tag.clone(),
    )
    .unwrap();
    PublicMessage::protect(
        &resigned,
        &committer_before.context,
        &committer_before.secrets.membership_key,
    )
    .unwrap()
    .to_mls_message_bytes()
    .unwrap()
}

fn decode_commit(bytes: &[u8], receiver: &Group) -> (AuthenticatedContent, Commit) {
    let message = PublicMessage::from_mls_message_bytes(bytes, &HandshakeBodies).unwrap();
    let signed = message
        .unprotect(&receiver.context, &receiver.secrets.membership_key)
        .unwrap();
    let commit = Commit::from_tls_bytes(&signed.content.body).unwrap();
    (signed, commit)
}

fn unchanged(group: &Group, epoch: u64, tree_hash: &[u8]) {
    assert_eq!(group.epoch(), epoch);
    assert_eq!(group.tree_hash(), tree_hash);
}

#[test]
fn truncated_commits_are_rejected() {
    let rng = &mut StepRng(1);
    let mut members = three_members(rng);
    let output = members[0].update(rng).unwrap();
    let (epoch, hash) = (members[1].epoch(), members[1].tree_hash().to_vec());
    for length in 0..output.commit.len() {
        assert!(members[1].process_commit(&output.commit[..length]).is_err());
    }
    let mut longer = output.commit.clone();
    longer.push(0);
    assert_eq!(
        members[1].process_commit(&longer),
        Err(GroupError::Crypto(CryptoError::Decode(
            DecodeError::TrailingBytes(1)
        )))
    );
    unchanged(&members[1], epoch, &hash);
    assert!(matches!(
        members[1].process_commit(&output.commit),
        Ok(CommitOutcome::Advanced { .. })
    ));
}

#[test]
fn commit_for_the_wrong_epoch_is_rejected() {
    let rng = &mut StepRng(2);
    let mut members = three_members(rng);
    let first = members[0].update(rng).unwrap();
    members[1].process_commit(&first.commit).unwrap();
    // Replayed: the UpdatePath belongs to an epoch that is over.
    assert_eq!(
        members[1].process_commit(&first.commit),
        Err(GroupError::WrongEpoch {
            expected: 2,
            received: 1
        })
    );
    // From the future: member 2 has not seen the first commit.
    let second = members[1].update(rng).unwrap();
    assert_eq!(
        members[2].process_commit(&second.commit),
        Err(GroupError::WrongEpoch {
            expected: 1,
            received: 2
        })
    );
    assert_eq!(
        members[0].process_commit(&first.commit),
        Err(GroupError::WrongEpoch {
            expected: 2,
            received: 1
        })
    );
    // A copy of the committer from before its commit cannot take it as a peer's.
    let before = members[2].export_state().unwrap();
    let own = members[2].update(rng).unwrap();
    let mut copy = Group::import_state(before.as_bytes()).unwrap();
    assert_eq!(copy.process_commit(&own.commit), Err(GroupError::OwnCommit));
}

#[test]
fn bad_signature_is_rejected() {
    let rng = &mut StepRng(3);
    let mut members = three_members(rng);
    let committer_before =
        Group::import_state(members[0].export_state().unwrap().as_bytes()).unwrap();
    let output = members[0].update(rng).unwrap();
    let (mut signed, _) = decode_commit(&output.commit, &members[1]);
    signed.auth.signature[0] ^= 1;
    let forged = PublicMessage::protect(
        &signed,
        &committer_before.context,
        &committer_before.secrets.membership_key,
    )
    .unwrap()
    .to_mls_message_bytes()
    .unwrap();
    assert_eq!(
        members[1].process_commit(&forged),
        Err(GroupError::Crypto(CryptoError::SignatureInvalid))
    );
    // Without the membership key, the tag gives the forgery away first.
    let mut tampered = output.commit.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(
        members[1].process_commit(&tampered),
        Err(GroupError::Crypto(CryptoError::MacInvalid))
    );
}

#[test]
fn wrong_parent_hash_is_rejected() {
    let rng = &mut StepRng(4);
    let mut members = three_members(rng);
    let committer_before =
        Group::import_state(members[0].export_state().unwrap().as_bytes()).unwrap();
    let output = members[0].update(rng).unwrap();
    let (signed, mut commit) = decode_commit(&output.commit, &members[1]);
    let path = commit.path.as_mut().unwrap();
    path.nodes[0].encryption_key = HpkeKeyPair::generate(rng).public_key.to_bytes().to_vec();
    let forged = reframe(&committer_before, &signed, commit.to_tls_bytes().unwrap());
    assert!(matches!(
        members[1].process_commit(&forged),
        Err(GroupError::Crypto(CryptoError::ParentHashInvalid(_)))
    ));
    assert_eq!(members[1].epoch(), 1);
}

#[test]
fn wrong_confirmation_tag_is_rejected() {
    let rng = &mut StepRng(5);
    let mut members = three_members(rng);
    let committer_before =
        Group::import_state(members[0].export_state().unwrap().as_bytes()).unwrap();
    let output = members[0].update(rng).unwrap();
    let (mut signed, commit) = decode_commit(&output.commit, &members[1]);
    if let Some(tag) = signed.auth.confirmation_tag.as_mut() {
        tag[0] ^= 1;
    }
    let forged = reframe(&committer_before, &signed, commit.to_tls_bytes().unwrap());
    assert_eq!(
        members[1].process_commit(&forged),
        Err(GroupError::ConfirmationTagInvalid)
    );
    assert!(members[1].process_commit(&output.commit).is_ok());
}

#[test]
fn commits_without_path_or_with_bad_proposals_are_rejected() {
    let rng = &mut StepRng(6);
    let mut members = three_members(rng);
    let committer_before =
        Group::import_state(members[0].export_state().unwrap().as_bytes()).unwrap();
    let output = members[0].update(rng).unwrap();
    let (signed, commit) = decode_commit(&output.commit, &members[1]);
    let no_path = Commit {
        path: None,
        ..commit.clone()
    };
    let forged = reframe(&committer_before, &signed, no_path.to_tls_bytes().unwrap());
    assert_eq!(
        members[1].process_commit(&forged),
        Err(GroupError::MissingPath)
    );
    let self_removal = Commit {
        proposals: vec![crate::crypto::proposal::ProposalOrRef::Proposal(
            crate::crypto::proposal::Proposal::Remove(LeafIndex(0)),
        )],
        ..commit.clone()
    };
    let forged = reframe(
        &committer_before,
        &signed,
        self_removal.to_tls_bytes().unwrap(),
    );
    assert_eq!(
        members[1].process_commit(&forged),
        Err(GroupError::InvalidProposal("committer removes itself"))
    );
    let mut stale_leaf = commit.clone();
    if let Some(path) = stale_leaf.path.as_mut() {
        path.leaf_node.encryption_key = committer_before
            .tree()
            .leaf(LeafIndex(0))
            .unwrap()
            .encryption_key
            .clone();
    }
    let forged = reframe(
        &committer_before,
        &signed,
        stale_leaf.to_tls_bytes().unwrap(),
    );
    assert_eq!(
        members[1].process_commit(&forged),
        Err(GroupError::InvalidProposal(
            "update path reuses the leaf key"
        ))
    );
    let by_reference = Commit {
        proposals: vec![crate::crypto::proposal::ProposalOrRef::Reference(vec![
            0;
            32
        ])],
        ..commit
    };
    let forged = reframe(
        &committer_before,
        &signed,
        by_reference.to_tls_bytes().unwrap(),
    );
    assert_eq!(
        members[1].process_commit(&forged),
        Err(GroupError::UnknownProposalRef)
    );
}

#[test]
fn welcome_checks_catch_tampering_and_misuse() {
    let rng = &mut StepRng(7);
    let mut founder = Group::create(
        b"g".to_vec(),
        b"a".to_vec(),
        SignaturePrivateKey::generate(rng),
        rng,
    )
    .unwrap();
    let key = SignaturePrivateKey::generate(rng);
    let (package, secrets) = generate_key_package(b"b".to_vec(), &key, rng).unwrap();
    let welcome = founder.add_member(&package, rng).unwrap().welcome.unwrap();
    let fresh = |rng: &mut StepRng| {
        let (_, secrets) = generate_key_package(b"b".to_vec(), &key, rng).unwrap();
        secrets
    };
    for length in [0, 3, welcome.len() / 2, welcome.len() - 1] {
        assert!(
            Group::join_from_welcome(&welcome[..length], &package, fresh(rng), key.clone())
                .is_err()
        );
    }
    // A Welcome for someone else's KeyPackage.
    let other_key = SignaturePrivateKey::generate(rng);
    let (other, other_secrets) = generate_key_package(b"x".to_vec(), &other_key, rng).unwrap();
    assert!(Group::join_from_welcome(&welcome, &other, other_secrets, other_key).is_err());
    // The wrong signing key for the package.
    assert_eq!(
        Group::join_from_welcome(
            &welcome,
            &package,
            fresh(rng),
            SignaturePrivateKey::generate(rng)
        )
        .err(),
        Some(GroupError::SigningKeyMismatch)
    );
    // The GroupInfo ciphertext is the AAD of every GroupSecrets encryption.
    let mut tampered = welcome.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(
        Group::join_from_welcome(&tampered, &package, fresh(rng), key.clone()).err(),
        Some(GroupError::Crypto(CryptoError::Hpke))
    );
    let joined = Group::join_from_welcome(&welcome, &package, secrets, key).unwrap();
    assert_eq!(joined.epoch_authenticator(), founder.epoch_authenticator());
}

#[test]
fn group_key_is_only_available_for_the_current_epoch() {
    let rng = &mut StepRng(8);
    let mut members = three_members(rng);
    let key = members[1].derive_group_key(1).unwrap();
    assert_eq!(
        members[1].derive_group_key(0).err(),
        Some(GroupError::WrongEpoch {
            expected: 1,
            received: 0
        })
    );
    let output = members[0].update(rng).unwrap();
    members[1].process_commit(&output.commit).unwrap();
    assert_ne!(
        members[1].derive_group_key(2).unwrap().as_bytes(),
        key.as_bytes()
    );
}

#[test]
fn application_messages_reject_tampering_and_other_epochs() {
    let rng = &mut StepRng(9);
    let mut members = three_members(rng);
    let message = members[0].protect(b"hi", b"", rng).unwrap();
    for length in 0..message.len() {
        assert!(members[1].unprotect(&message[..length]).is_err());
    }
    let mut flipped = message.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(members[1].unprotect(&flipped).is_err());
    assert_eq!(members[1].unprotect(&message).unwrap().plaintext, b"hi");
    let output = members[2].update(rng).unwrap();
    members[0].process_commit(&output.commit).unwrap();
    let newer = members[0].protect(b"later", b"", rng).unwrap();
    assert_eq!(
        members[1].unprotect(&newer),
        Err(GroupError::WrongEpoch {
            expected: 1,
            received: 2
        })
    );
}

#[test]
fn state_import_rejects_damage() {
    let rng = &mut StepRng(10);
    let members = three_members(rng);
    let state = members[1].export_state().unwrap();
    let bytes = state.as_bytes();
    for length in [0, 1, bytes.len() / 3, bytes.len() - 1] {
        assert!(Group::import_state(&bytes[..length]).is_err());
    }
    let mut wrong_version = bytes.to_vec();
    wrong_version[0] = 9;
    assert_eq!(
        Group::import_state(&wrong_version).err(),
        Some(GroupError::StateVersion(9))
    );
    let restored = Group::import_state(bytes).unwrap();
    assert_eq!(
        restored.epoch_authenticator(),
        members[1].epoch_authenticator()
    );
    assert_eq!(restored.tree(), members[1].tree());
}

#[test]
fn fixture_members_agree_and_process_commits() {
    let rng = &mut StepRng(11);
    // Not a power of two: the tree has blank leaves on the right.
    let fixture = fixture::GroupFixture::new(b"fixture", 13, rng).unwrap();
    fixture
        .member(LeafIndex(0))
        .unwrap()
        .tree()
        .verify_parent_hashes()
        .unwrap();
    let mut members: Vec<Group> = (0..13)
        .map(|i| fixture.member(LeafIndex(i)).unwrap())
        .collect();
    for committer in [5, 0, 12] {
        let output = members[committer].update(rng).unwrap();
        for (index, member) in members.iter_mut().enumerate() {
            if index != committer {
                member.process_commit(&output.commit).unwrap();
            }
        }
    }
    let key = SignaturePrivateKey::generate(rng);
    let (package, secrets) = generate_key_package(b"new".to_vec(), &key, rng).unwrap();
    let output = members[3].add_member(&package, rng).unwrap();
    let joined =
        Group::join_from_welcome(&output.welcome.unwrap(), &package, secrets, key).unwrap();
    assert_eq!(
        joined.epoch_authenticator(),
        members[3].epoch_authenticator()
    );
}

/// Every private key a member holds: its leaf key and its path nodes' keys.
fn held_keys(member: &Group) -> Vec<HpkePrivateKey> {
    let mut keys = vec![member.leaf_private_key.clone()];
    keys.extend(
        member
            .path_secrets
            .values()
            .map(|secret| node_key_pair(secret).unwrap().private_key),
    );
    keys
}

#[test]
fn removed_member_holds_no_key_to_the_removal_commit() {
    use crate::crypto::primitives::decrypt_with_label;
    use crate::crypto::tree_kem::UPDATE_PATH_NODE_LABEL;

    let rng = &mut StepRng(12);
    let mut members = three_members(rng);
    let removed_keys = held_keys(&members[2]);
    let remaining_keys = held_keys(&members[1]);
    assert!(removed_keys.len() > 1, "the removed member knows path keys");
    let old_context = members[2].context.clone();
    let output = members[0].remove_member(LeafIndex(2), rng).unwrap();
    // The context path secrets were encrypted under, which the removed
    // member could compute from the commit.
    let provisional = GroupContext {
        cipher_suite: crate::crypto::cipher_suite::CIPHER_SUITE_ID,
        epoch: old_context.epoch + 1,
        tree_hash: members[0].tree_hash().to_vec(),
        ..old_context
    }
    .to_tls_bytes()
    .unwrap();
    let (_, commit) = decode_commit(&output.commit, &members[1]);
    let mut opened_by_remaining = 0;
    for node in &commit.path.unwrap().nodes {
        for ciphertext in &node.encrypted_path_secret {
            let open = |key: &HpkePrivateKey| {
                decrypt_with_label(
                    CipherSuite::AURA,
                    key,
                    UPDATE_PATH_NODE_LABEL,
                    &provisional,
                    &ciphertext.kem_output,
                    &ciphertext.ciphertext,
                )
                .is_ok()
            };
            assert!(!removed_keys.iter().any(open));
            opened_by_remaining += remaining_keys.iter().filter(|key| open(key)).count();
        }
    }
    assert_eq!(opened_by_remaining, 1);
}

#[test]
fn duplicate_keys_in_adds_are_rejected() {
    let rng = &mut StepRng(13);
    let mut members = three_members(rng);
    let key = SignaturePrivateKey::generate(rng);
    let (package, _) = generate_key_package(b"d".to_vec(), &key, rng).unwrap();
    let before = members[0].tree().clone();
    assert_eq!(
        members[0]
            .add_members(&[package.clone(), package], rng)
            .err(),
        Some(GroupError::InvalidProposal("duplicate member keys"))
    );
    // The failed commit left the tree as it was.
    assert_eq!(members[0].tree(), &before);
    assert_eq!(members[0].epoch(), 1);
}

#[test]
fn exhausted_epoch_counter_is_an_error() {
    let rng = &mut StepRng(14);
    let mut members = three_members(rng);
    // As if a hostile Welcome had put the group at the last epoch number.
    members[0].context.epoch = u64::MAX;
    assert_eq!(
        members[0].update(rng).err(),
        Some(GroupError::EpochExhausted)
    );
    assert_eq!(members[0].epoch(), u64::MAX);
}

#[test]
fn group_state_can_move_between_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Group>();
}
