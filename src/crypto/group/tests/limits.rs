//! The edges of a group's identity and epoch counter.

use super::*;

#[test]
fn every_member_names_the_group_by_the_id_it_was_created_with() {
    let rng = &mut StepRng(70);
    let members = three_members(rng);
    for member in &members {
        assert_eq!(member.group_id(), b"g");
    }
}

#[test]
fn a_group_at_the_last_epoch_number_refuses_to_commit_and_is_left_as_it_was() {
    let rng = &mut StepRng(71);
    let mut members = three_members(rng);
    // A peer chose the number: a Welcome or a stored state can carry any epoch.
    members[0].context.epoch = u64::MAX;
    let before = members[0].export_state().unwrap();
    assert!(matches!(
        members[0].update(rng),
        Err(GroupError::EpochExhausted)
    ));
    assert_eq!(
        members[0].export_state().unwrap().as_bytes(),
        before.as_bytes()
    );
    // One number before the last still moves on, to the last.
    members[1].context.epoch = u64::MAX - 1;
    members[1].update(rng).unwrap();
    assert_eq!(members[1].epoch(), u64::MAX);
}

/// Every path secret a member keeps is the secret of its node's current public key: a
/// secret of a node the commit overwrote or blanked would be a key to an epoch it no longer
/// protects, kept for nothing but a thief.
fn assert_path_secrets_match_the_tree(member: &Group) {
    for (node, secret) in &member.path_secrets {
        let derived = crate::crypto::tree_kem::node_key_pair(secret)
            .unwrap()
            .public_key
            .to_bytes();
        assert_eq!(
            member.tree.encryption_key(*node),
            Some(derived.as_slice()),
            "member {:?} keeps a stale secret for node {node:?}",
            member.own_leaf
        );
    }
}

#[test]
fn members_keep_only_the_path_secrets_of_keys_still_in_the_tree() {
    let rng = &mut StepRng(72);
    let mut members = three_members(rng);
    // A fourth member, so that a removal can blank a node above a member that the
    // committer's path does not cover: leaves 0 and 1 share node 1, leaves 2 and 3 node 5.
    let key = SignaturePrivateKey::generate(rng);
    let (package, secrets) = generate_key_package(b"d".to_vec(), &key, rng).unwrap();
    let output = members[0].add_member(&package, rng).unwrap();
    for member in &mut members[1..] {
        member.process_commit(&output.commit).unwrap();
    }
    members
        .push(Group::join_from_welcome(&output.welcome.unwrap(), &package, secrets, key).unwrap());
    // Leaf 0 updates (its path: nodes 1 and 3), then leaf 2 removes leaf 1: node 1 is
    // blanked, and leaf 2's path covers only nodes 5 and 3.
    for (committer, removes) in [(0, None), (1, None), (2, Some(LeafIndex(1))), (2, None)] {
        let output = match removes {
            Some(leaf) => members[committer].remove_member(leaf, rng).unwrap(),
            None => members[committer].update(rng).unwrap(),
        };
        for (index, member) in members.iter_mut().enumerate() {
            if index != committer {
                let _ = member.process_commit(&output.commit).unwrap();
            }
        }
        if let Some(leaf) = removes {
            members.remove(leaf.0 as usize);
        }
        for member in &members {
            assert_path_secrets_match_the_tree(member);
        }
        if members.len() == 3 {
            // Leaf 0 kept no secret for the blanked node 1.
            assert!(!members[0].path_secrets.keys().any(|node| node.0 == 1));
        }
    }
}

#[test]
fn a_context_extension_of_a_default_type_needs_no_capability_and_another_does() {
    use crate::crypto::group_context::Extension;
    use crate::crypto::proposal::Proposal;
    let rng = &mut StepRng(73);
    let mut members = three_members(rng);
    // RFC 9420 §7.2: the default extension types (1 to 5) are supported by every member
    // without being listed; application_id is one.
    let default_type = Extension {
        extension_type: 1,
        extension_data: b"aura".to_vec(),
    };
    for member in &members {
        let leaf = member.own_leaf_node().unwrap();
        assert!(
            !leaf
                .capabilities
                .extensions
                .contains(&default_type.extension_type)
        );
    }
    let output = members[0]
        .commit(
            vec![Proposal::GroupContextExtensions(vec![default_type])],
            rng,
        )
        .unwrap();
    for member in &mut members[1..] {
        member.process_commit(&output.commit).unwrap();
    }
    assert_eq!(
        members[1].epoch_authenticator(),
        members[0].epoch_authenticator()
    );
    // A type nobody lists is refused, and the committer is left as it was.
    let unknown = Extension {
        extension_type: 0xff0a,
        extension_data: Vec::new(),
    };
    let before = members[0].export_state().unwrap();
    assert!(matches!(
        members[0].commit(vec![Proposal::GroupContextExtensions(vec![unknown])], rng),
        Err(GroupError::InvalidProposal(_))
    ));
    assert_eq!(
        members[0].export_state().unwrap().as_bytes(),
        before.as_bytes()
    );
}
