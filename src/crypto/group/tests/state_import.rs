//! A stored state that is well-formed but holds malformed secrets or indices
//! is refused with a typed error, not turned into a group that derives weak
//! keys or misbehaves later.

use super::*;
use crate::crypto::secret_tree::SecretTree;

/// Secrets this long are too short for any field of suite 3.
const SHORT_SECRET_LENGTH: usize = 16;

fn short_secret() -> Secret {
    Secret::from_slice(&[9; SHORT_SECRET_LENGTH])
}

/// Exports `group` after `damage` and imports the result.
fn reimport_after(group: &mut Group, damage: impl FnOnce(&mut Group)) -> Result<Group, GroupError> {
    damage(group);
    Group::import_state(group.export_state().unwrap().as_bytes())
}

fn unexpected(field: &'static str) -> GroupError {
    GroupError::Crypto(CryptoError::Decode(DecodeError::UnexpectedValue { field }))
}

#[test]
fn an_untouched_state_imports() {
    let rng = &mut StepRng(50);
    let mut members = three_members(rng);
    let restored = reimport_after(&mut members[1], |_| {}).unwrap();
    assert_eq!(
        restored.epoch_authenticator(),
        members[1].epoch_authenticator()
    );
}

#[test]
fn short_secrets_are_refused() {
    let rng = &mut StepRng(51);
    let members = three_members(rng);
    let state = members[1].export_state().unwrap();
    let fresh = || Group::import_state(state.as_bytes()).unwrap();

    let epoch_secret_damage: [fn(&mut Group); 3] = [
        |group| group.secrets.init_secret = short_secret(),
        |group| group.secrets.sender_data_secret = short_secret(),
        |group| group.secrets.encryption_secret = short_secret(),
    ];
    for damage in epoch_secret_damage {
        assert_eq!(
            reimport_after(&mut fresh(), damage).err(),
            Some(unexpected("epoch secret"))
        );
    }
    let root = |group: &Group| group.tree.size().root();
    assert_eq!(
        reimport_after(&mut fresh(), |group| {
            let node = root(group);
            group.path_secrets.insert(node, short_secret());
        })
        .err(),
        Some(unexpected("path secret"))
    );
    assert_eq!(
        reimport_after(&mut fresh(), |group| {
            group.secret_tree =
                SecretTree::new(group.cipher_suite(), &short_secret(), group.tree.size());
        })
        .err(),
        Some(unexpected("secret tree node secret"))
    );
    assert_eq!(
        reimport_after(&mut fresh(), |group| {
            group.interim_transcript_hash.truncate(SHORT_SECRET_LENGTH);
        })
        .err(),
        Some(unexpected("interim transcript hash"))
    );
}

#[test]
fn path_secrets_off_the_direct_path_are_refused() {
    let rng = &mut StepRng(52);
    let members = three_members(rng);
    let state = members[1].export_state().unwrap();
    let fresh = || Group::import_state(state.as_bytes()).unwrap();
    // Leaf 1's direct path in a 4-leaf tree is nodes 1 and 3; node 5 is on
    // its copath, node 2 is a leaf, node 99 is outside the tree.
    assert_eq!(
        fresh()
            .tree
            .size()
            .direct_path(LeafIndex(1).node())
            .unwrap(),
        [NodeIndex(1), NodeIndex(3)]
    );
    for node in [5, 2, 99].map(NodeIndex) {
        assert_eq!(
            reimport_after(&mut fresh(), |group| {
                group
                    .path_secrets
                    .insert(node, Secret::from_slice(&[1; 32]));
            })
            .err(),
            Some(GroupError::InconsistentState(
                "path secret for a node off the member's direct path"
            ))
        );
    }
    assert!(
        reimport_after(&mut fresh(), |group| {
            group
                .path_secrets
                .insert(NodeIndex(1), Secret::from_slice(&[1; 32]));
        })
        .is_ok()
    );
}

#[test]
fn own_leaf_must_be_in_the_tree_and_occupied() {
    let rng = &mut StepRng(53);
    let mut members = three_members(rng);
    assert_eq!(
        reimport_after(
            &mut Group::import_state(members[1].export_state().unwrap().as_bytes()).unwrap(),
            |group| {
                group.own_leaf = LeafIndex(4);
            }
        )
        .err(),
        Some(GroupError::Crypto(CryptoError::IndexOutOfRange {
            index: 4,
            size: 4
        }))
    );
    // Member 1 leaves a blank leaf between 0 and 2.
    let removal = members[0].remove_member(LeafIndex(1), rng).unwrap();
    members[2].process_commit(&removal.commit).unwrap();
    assert_eq!(members[2].tree.size().leaf_count(), 4);
    assert_eq!(
        reimport_after(&mut members[2], |group| {
            group.own_leaf = LeafIndex(1);
        })
        .err(),
        Some(GroupError::OwnLeafNotFound)
    );
}
