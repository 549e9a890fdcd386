#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;
use crate::crypto::group::GROUP_NAME_EXTENSION;

fn device(n: u8) -> DeviceKey {
    DeviceKey([n; 32])
}

fn set(names: &[&str]) -> CapabilitySet {
    parse_capabilities(names).unwrap()
}

#[test]
fn without_a_policy_every_member_may_do_everything() {
    let policy = GroupPolicy::of(&[]).unwrap();
    assert_eq!(policy, GroupPolicy::default());
    for capability in GROUP_CAPABILITIES {
        assert!(policy.allows(&device(1), capability));
    }
    // The default policy is written as no extension at all.
    assert!(policy.into_extensions(&[]).unwrap().is_empty());
}

#[test]
fn a_grant_only_narrows_the_default_by_meet() {
    let policy = GroupPolicy::default()
        .changed(&PolicyChange::Default(set(&[ADD, RENAME])), &[])
        .unwrap()
        .changed(
            &PolicyChange::Grant {
                device: device(1),
                capabilities: set(&[RENAME, REMOVE, POLICY]),
            },
            &[device(1)],
        )
        .unwrap();
    // Device 1 asked for remove and policy too, but the default holds neither.
    assert_eq!(policy.effective(&device(1)), set(&[RENAME]));
    assert_eq!(policy.effective(&device(2)), set(&[ADD, RENAME]));
    assert!(!policy.allows(&device(1), ADD));
    assert!(policy.allows(&device(2), ADD));
    // Reset: the default again.
    let reset = policy
        .changed(&PolicyChange::Reset(device(1)), &[device(1)])
        .unwrap();
    assert_eq!(reset.effective(&device(1)), set(&[ADD, RENAME]));
}

#[test]
fn a_change_drops_the_grants_of_devices_out_of_the_group() {
    let policy = GroupPolicy::default()
        .changed(
            &PolicyChange::Grant {
                device: device(1),
                capabilities: set(&[]),
            },
            &[device(1), device(2)],
        )
        .unwrap();
    assert_eq!(policy.grants().count(), 1);
    let after = policy
        .changed(&PolicyChange::Default(set(&[ADD])), &[device(2)])
        .unwrap();
    assert_eq!(after.grants().count(), 0);
}

#[test]
fn a_policy_reads_back_as_written_and_keeps_the_name_beside_it() {
    let policy = GroupPolicy::default()
        .changed(&PolicyChange::Default(set(&[ADD, REMOVE, RENAME])), &[])
        .unwrap()
        .changed(
            &PolicyChange::Grant {
                device: device(7),
                capabilities: set(&[ADD]),
            },
            &[device(7)],
        )
        .unwrap();
    let bytes = policy.encode().unwrap();
    assert_eq!(GroupPolicy::decode(&bytes).unwrap(), policy);
    let name = Extension {
        extension_type: GROUP_NAME_EXTENSION,
        extension_data: b"walkers".to_vec(),
    };
    let extensions = policy.into_extensions(std::slice::from_ref(&name)).unwrap();
    assert!(extensions.contains(&name));
    assert_eq!(GroupPolicy::of(&extensions).unwrap(), policy);
    // Set again, it replaces the one there, and back to the default it is gone.
    let again = GroupPolicy::default().into_extensions(&extensions).unwrap();
    assert_eq!(again, vec![name]);
}

#[test]
fn bad_policies_are_refused_with_their_reason() {
    let unknown = [POLICY_FORMAT, 1, 4, b'k', b'i', b'c', b'k', 0, 0];
    assert_eq!(
        GroupPolicy::decode(&unknown),
        Err(PolicyError::UnknownCapability("kick".into()))
    );
    let twice = [
        POLICY_FORMAT,
        2,
        3,
        b'a',
        b'd',
        b'd',
        3,
        b'a',
        b'd',
        b'd',
        0,
        0,
    ];
    assert_eq!(
        GroupPolicy::decode(&twice),
        Err(PolicyError::DuplicateCapability("add".into()))
    );
    let mut same_device = vec![POLICY_FORMAT, 0, 0, 2];
    for _ in 0..2 {
        same_device.extend_from_slice(&[9; 32]);
        same_device.push(0);
    }
    assert_eq!(
        GroupPolicy::decode(&same_device),
        Err(PolicyError::DuplicateGrant)
    );
    let many = (MAX_POLICY_GRANTS + 1) as u16;
    let mut too_many = vec![POLICY_FORMAT, 0];
    too_many.extend_from_slice(&many.to_be_bytes());
    assert_eq!(
        GroupPolicy::decode(&too_many),
        Err(PolicyError::TooManyGrants(MAX_POLICY_GRANTS + 1))
    );
    assert_eq!(
        GroupPolicy::decode(&vec![POLICY_FORMAT; MAX_POLICY_BYTES + 1]),
        Err(PolicyError::TooLarge(MAX_POLICY_BYTES + 1))
    );
    assert_eq!(
        GroupPolicy::decode(&[9, 0, 0, 0]),
        Err(PolicyError::Format(9))
    );
    assert!(matches!(
        GroupPolicy::decode(&[POLICY_FORMAT, 0, 0, 0, 0]),
        Err(PolicyError::Malformed(_))
    ));
    assert!(matches!(
        GroupPolicy::decode(&[]),
        Err(PolicyError::Malformed(_))
    ));
    assert_eq!(
        parse_capabilities(&["add", "ban"]),
        Err(PolicyError::UnknownCapability("ban".into()))
    );
    // A policy naming more devices than fit is refused when made, not only when read.
    let roster: Vec<DeviceKey> = (0..=MAX_POLICY_GRANTS)
        .map(|n| {
            let mut key = [1; 32];
            key[..2].copy_from_slice(&(n as u16).to_be_bytes());
            DeviceKey(key)
        })
        .collect();
    let mut policy = GroupPolicy::default();
    let mut refused = None;
    for member in &roster {
        match policy.changed(
            &PolicyChange::Grant {
                device: *member,
                capabilities: set(&[ADD]),
            },
            &roster,
        ) {
            Ok(next) => policy = next,
            Err(err) => refused = Some(err),
        }
    }
    assert_eq!(
        refused,
        Some(PolicyError::TooManyGrants(MAX_POLICY_GRANTS + 1))
    );
    assert!(policy.encode().unwrap().len() <= MAX_POLICY_BYTES);
}

#[test]
fn the_check_asks_each_change_for_its_capability_and_lets_leave_and_readd_through() {
    let author = device(1);
    let other = device(2);
    let nothing = GroupPolicy::default()
        .changed(&PolicyChange::Default(set(&[])), &[])
        .unwrap();
    let everything = GroupPolicy::default();
    let remove = Actions {
        removed: vec![Some(other)],
        ..Actions::default()
    };
    assert_eq!(
        check(&nothing, &author, &remove),
        Err(PolicyError::Denied {
            capability: REMOVE,
            action: "remove members"
        })
    );
    assert_eq!(check(&everything, &author, &remove), Ok(()));
    // Removing a device that asked to leave, or bringing one back, takes nothing.
    let leave = Actions {
        leaving: Some(other),
        ..remove.clone()
    };
    assert_eq!(check(&nothing, &author, &leave), Ok(()));
    let readd = Actions {
        added: vec![Some(other)],
        ..remove.clone()
    };
    assert_eq!(check(&nothing, &author, &readd), Ok(()));
    // A leave request covers its own device only.
    let two = Actions {
        removed: vec![Some(other), Some(device(3))],
        leaving: Some(other),
        ..Actions::default()
    };
    assert!(check(&nothing, &author, &two).is_err());
    for (actions, capability) in [
        (
            Actions {
                added: vec![Some(device(4))],
                ..Actions::default()
            },
            ADD,
        ),
        (
            Actions {
                renames: true,
                ..Actions::default()
            },
            RENAME,
        ),
        (
            Actions {
                changes_policy: true,
                ..Actions::default()
            },
            POLICY,
        ),
    ] {
        let denied = check(&nothing, &author, &actions).unwrap_err();
        assert!(
            matches!(denied, PolicyError::Denied { capability: c, .. } if c == capability),
            "{denied}"
        );
        assert_eq!(check(&everything, &author, &actions), Ok(()));
    }
    // A self-update asks for nothing; a proposal by reference is never taken.
    assert_eq!(check(&nothing, &author, &Actions::default()), Ok(()));
    let by_reference = Actions {
        by_reference: true,
        ..Actions::default()
    };
    assert_eq!(
        check(&everything, &author, &by_reference),
        Err(PolicyError::ByReference)
    );
}

#[test]
fn a_policy_change_reads_back_as_written() {
    for change in [
        PolicyChange::Default(set(&[ADD, POLICY])),
        PolicyChange::Grant {
            device: device(3),
            capabilities: set(&[]),
        },
        PolicyChange::Reset(device(4)),
    ] {
        assert_eq!(PolicyChange::decode(&change.encode()).unwrap(), change);
    }
    assert!(PolicyChange::decode(&[7]).is_err());
    assert!(PolicyChange::decode(&[2, 1]).is_err());
}

proptest! {
    #[test]
    fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(policy) = GroupPolicy::decode(&bytes) {
            // What reads is a valid policy, and writes back to one that reads the same.
            let again = GroupPolicy::decode(&policy.encode().unwrap()).unwrap();
            prop_assert_eq!(again, policy);
        }
        let _ = PolicyChange::decode(&bytes);
        let _ = crate::groups::leave::LeaveRequest::decode(&bytes);
    }

    #[test]
    fn decoding_a_mangled_policy_never_panics(
        at in 0usize..200,
        value in any::<u8>(),
        cut in 0usize..200,
    ) {
        let policy = GroupPolicy::default()
            .changed(&PolicyChange::Default(set(&[ADD, REMOVE])), &[])
            .unwrap()
            .changed(
                &PolicyChange::Grant { device: device(5), capabilities: set(&[REMOVE]) },
                &[device(5)],
            )
            .unwrap();
        let mut bytes = policy.encode().unwrap();
        if let Some(byte) = bytes.get_mut(at) {
            *byte = value;
        }
        bytes.truncate(cut.max(1));
        let _ = GroupPolicy::decode(&bytes);
    }
}
