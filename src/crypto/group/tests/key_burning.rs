//! A member knows every epoch secret, so it can encrypt messages that pass
//! the AEAD check under any other member's keys. Such forgeries must fail
//! without using up the genuine sender's keys or filling the receiver's
//! skipped-key store.

use super::*;
use crate::crypto::codec::{Reader, Writer};
use crate::crypto::framing::{FramedContent, Sender, WireFormat};
use crate::crypto::private_message::{self, REUSE_GUARD_LENGTH};
use crate::crypto::secret_tree::{RatchetKind, SecretTree};

/// Forgeries the attacker sends before each genuine message.
const FORGERIES_PER_MESSAGE: u32 = 10;

/// Genuine messages in the burning test: with the forgeries before each,
/// 10,000 forgeries in all.
const GENUINE_MESSAGES: u32 = 1_000;

const ALICE: LeafIndex = LeafIndex(0);

/// The secret tree's complete state, to compare before and after.
fn ratchet_state(group: &Group) -> Vec<u8> {
    let mut writer = Writer::new();
    group.secret_tree.encode_state(&mut writer).unwrap();
    writer.into_bytes()
}

/// A copy of a secret tree, so a forger can derive ahead without losing its place.
fn copy_tree(tree: &SecretTree) -> SecretTree {
    let mut writer = Writer::new();
    tree.encode_state(&mut writer).unwrap();
    SecretTree::decode_state(&mut Reader::new(writer.as_bytes()), tree.cipher_suite()).unwrap()
}

/// Application content claiming to come from `claimed_sender`, signed with
/// the forger's own key: the signature cannot verify.
fn forged_content(forger: &Group, claimed_sender: LeafIndex) -> AuthenticatedContent {
    let content = FramedContent::application(
        forger.context.group_id.clone(),
        forger.context.epoch,
        Sender::Member(claimed_sender),
        Vec::new(),
        b"forged",
    )
    .unwrap();
    AuthenticatedContent::sign(
        WireFormat::PrivateMessage,
        content,
        &forger.context,
        &forger.signing_key,
        None,
    )
    .unwrap()
}

/// Encrypts `content` under the next key of `forging_tree`, as the claimed
/// sender would: the receiver's AEAD check passes.
fn encrypt_forgery(
    forger: &Group,
    forging_tree: &mut SecretTree,
    content: &AuthenticatedContent,
) -> Vec<u8> {
    private_message::protect(
        content,
        forging_tree,
        &forger.secrets.sender_data_secret,
        [0xf0; REUSE_GUARD_LENGTH],
    )
    .unwrap()
    .to_mls_message_bytes()
    .unwrap()
}

/// The forger's own copy of the epoch's secret tree: every member can derive
/// every other member's keys from it.
fn forging_tree(forger: &Group) -> SecretTree {
    copy_tree(&forger.secret_tree)
}

#[test]
fn forged_messages_leave_the_ratchets_unchanged() {
    let rng = &mut StepRng(40);
    let mut members = three_members(rng);
    // Alice's earlier messages give her ratchet a state worth comparing.
    for _ in 0..3 {
        let message = members[0].protect(b"hi", b"", rng).unwrap();
        members[1].unprotect(&message).unwrap();
    }
    let mut alice_keys = forging_tree(&members[2]);
    for _ in 0..3 {
        alice_keys
            .next_sending_key(ALICE, RatchetKind::Application)
            .unwrap();
    }
    let content = forged_content(&members[2], ALICE);
    let before = ratchet_state(&members[1]);
    // The next generation, one ahead and one further ahead.
    for _ in 0..3 {
        let forgery = encrypt_forgery(&members[2], &mut alice_keys, &content);
        assert_eq!(
            members[1].unprotect(&forgery),
            Err(GroupError::Crypto(CryptoError::SignatureInvalid))
        );
        assert_eq!(ratchet_state(&members[1]), before);
    }

    // A blank leaf: Bob is removed, Carol forges in his place for Alice.
    let removal = members[0].remove_member(LeafIndex(1), rng).unwrap();
    members[2].process_commit(&removal.commit).unwrap();
    assert!(members[0].tree.leaf(LeafIndex(1)).is_none());
    let content = forged_content(&members[2], LeafIndex(1));
    let mut blank_keys = forging_tree(&members[2]);
    let before = ratchet_state(&members[0]);
    for _ in 0..3 {
        let forgery = encrypt_forgery(&members[2], &mut blank_keys, &content);
        assert_eq!(
            members[0].unprotect(&forgery),
            Err(GroupError::UnknownSender(1))
        );
        assert_eq!(ratchet_state(&members[0]), before);
    }
}

#[test]
fn forgeries_do_not_burn_a_genuine_senders_keys() {
    let rng = &mut StepRng(41);
    let mut members = three_members(rng);
    let (alice, rest) = members.split_at_mut(1);
    let (bob, mallory) = rest.split_at_mut(1);
    let (alice, bob, mallory) = (&mut alice[0], &mut bob[0], &mallory[0]);

    let content = forged_content(mallory, ALICE);
    // Mallory's copy of Alice's ratchet, at the generation Alice sends next.
    let mut alice_keys = forging_tree(mallory);
    let mut forgeries = 0;
    for generation in 0..GENUINE_MESSAGES {
        let before = ratchet_state(bob);
        // The generation Alice is about to use and the ones after it.
        let mut ahead = copy_tree(&alice_keys);
        for _ in 0..FORGERIES_PER_MESSAGE {
            let forgery = encrypt_forgery(mallory, &mut ahead, &content);
            assert_eq!(
                bob.unprotect(&forgery),
                Err(GroupError::Crypto(CryptoError::SignatureInvalid))
            );
            forgeries += 1;
        }
        assert_eq!(ratchet_state(bob), before);

        let plaintext = generation.to_be_bytes();
        let genuine = alice.protect(&plaintext, b"", rng).unwrap();
        let received = bob.unprotect(&genuine).unwrap();
        assert_eq!(
            (received.sender, received.plaintext),
            (ALICE, plaintext.to_vec())
        );
        // Read once: the key is gone.
        assert!(bob.unprotect(&genuine).is_err());
        alice_keys
            .next_sending_key(ALICE, RatchetKind::Application)
            .unwrap();
    }
    assert_eq!(forgeries, 10_000);
}
