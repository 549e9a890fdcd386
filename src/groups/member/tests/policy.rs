//! The group's policy in the engine: every member judges a commit by the policy of its
//! parent epoch, so a commit its author may not make is rejected by every other member
//! (here made by hand, past the author's own check); the author's own check drops such an
//! intent; leaving needs no capability.

use super::*;
use crate::groups::leave::LeaveRequest;
use crate::groups::policy::{GroupPolicy, POLICY, PolicyChange, REMOVE, RENAME, parse_list};

fn policy_of(devices: &mut Devices, index: usize) -> GroupPolicy {
    let group = devices.member(index).group().unwrap();
    GroupPolicy::of(&group.group_context().extensions).unwrap()
}

fn leaf_of(devices: &mut Devices, index: usize, device: DeviceKey) -> LeafIndex {
    let group = devices.member(index).group().unwrap();
    group
        .members()
        .find(|(leaf, _)| device_of(group, *leaf) == Some(device))
        .map(|(leaf, _)| leaf)
        .unwrap()
}

/// A commit of `proposals` member `index` makes on its state by hand, past its own check,
/// given to every other member.
fn forced(devices: &mut Devices, index: usize, proposals: Vec<Proposal>, data: Vec<u8>) {
    let state = devices.member(index).convergence.current_state().unwrap();
    let (commit, _, _) = state
        .commit_with_data(proposals, data, &mut UnwrapErr(SysRng))
        .unwrap();
    let fact = GroupFact::Commit {
        parent: commit.parent,
        parent_epoch: commit.parent_epoch,
        epoch: commit.child,
        sealed: commit.bytes,
    };
    let author = devices.device(index);
    let now = devices.now;
    for to in 0..devices.members.len() {
        if to == index {
            continue;
        }
        if let Some(member) = devices.members[to].as_mut() {
            member.receive(author, fact.clone(), now);
        }
    }
    devices.settle();
}

fn dropped_for(devices: &Devices, index: usize, intent: &Intent) -> Option<String> {
    devices.dropped[index]
        .iter()
        .find(|(dropped, _)| dropped == intent)
        .map(|(_, reason)| reason.clone())
}

#[test]
fn a_commit_from_a_member_the_policy_does_not_let_remove_is_rejected_by_every_other_member() {
    let mut devices = Devices::new(3);
    group_of_three(&mut devices, ContextId([3; 32]));
    let (one, two) = (devices.device(1), devices.device(2));
    devices
        .member(0)
        .ask(Intent::SetPolicy(PolicyChange::Grant {
            device: one,
            capabilities: parse_list("rename").unwrap(),
        }));
    devices.settle();
    let policy = policy_of(&mut devices, 0);
    for index in 1..=2 {
        assert_eq!(policy_of(&mut devices, index), policy, "member {index}");
        assert_eq!(devices.agreed(index), devices.agreed(0));
        // The policy's commit kept the name.
        assert_eq!(devices.member(index).name().as_deref(), Some("three"));
    }
    assert!(!policy.allows(&one, REMOVE) && policy.allows(&one, RENAME));
    assert!(policy.allows(&two, REMOVE));

    // Member 1's own check drops a removal it may not make, with the reason.
    let agreed = devices.agreed(0);
    devices.member(1).ask(Intent::Remove(two));
    devices.settle();
    let reason = dropped_for(&devices, 1, &Intent::Remove(two)).expect("dropped");
    assert!(reason.contains("`remove`"), "{reason}");
    assert_eq!(devices.agreed(0), agreed);

    // Made by hand all the same, it is rejected by every other member: member 2 stays.
    let leaf = leaf_of(&mut devices, 1, two);
    forced(&mut devices, 1, vec![Proposal::Remove(leaf)], Vec::new());
    assert!(!devices.removed[2]);
    assert_eq!(devices.agreed(0), agreed);
    assert_eq!(devices.agreed(2), agreed);
    assert!(devices.agreed(0).1.contains(&two));

    // Nor may it change the policy: it would give itself back `remove`.
    let widened = devices
        .member(1)
        .convergence
        .current_state()
        .unwrap()
        .with_policy(&PolicyChange::Reset(one))
        .unwrap();
    forced(
        &mut devices,
        1,
        vec![Proposal::GroupContextExtensions(widened)],
        Vec::new(),
    );
    assert_eq!(devices.agreed(0), agreed);
    assert_eq!(policy_of(&mut devices, 0), policy);

    // What it may do, it does; a rename keeps the policy.
    devices.member(1).ask(Intent::Rename("by one".into()));
    devices.settle();
    for index in 0..=2 {
        assert_eq!(devices.member(index).name().as_deref(), Some("by one"));
        assert_eq!(policy_of(&mut devices, index), policy);
    }
    // Member 0 takes the grant away: member 1 may remove again.
    devices
        .member(0)
        .ask(Intent::SetPolicy(PolicyChange::Reset(one)));
    devices.member(1).ask(Intent::Update);
    devices.settle();
    assert!(policy_of(&mut devices, 2).allows(&one, POLICY));
    devices.member(1).ask(Intent::Remove(two));
    devices.settle();
    assert!(devices.removed[2]);
}

#[test]
fn a_member_leaves_a_group_where_nobody_may_remove() {
    let mut devices = Devices::new(3);
    let context = ContextId([2; 32]);
    group_of_three(&mut devices, context);
    let (one, two) = (devices.device(1), devices.device(2));
    devices
        .member(0)
        .ask(Intent::SetPolicy(PolicyChange::Default(
            parse_list("add,rename,policy").unwrap(),
        )));
    devices.settle();
    assert!(!policy_of(&mut devices, 1).allows(&one, REMOVE));
    devices.member(0).ask(Intent::Remove(one));
    devices.settle();
    assert!(dropped_for(&devices, 0, &Intent::Remove(one)).is_some());

    // Member 1 cannot pass off member 2's request for another group, nor a removal with a
    // request of its own.
    let epoch = devices.agreed(2).0.unwrap().1;
    let key = signing_key(&devices.seeds[2]).unwrap();
    let elsewhere = LeaveRequest::sign(ContextId([1; 32]), epoch, &key).unwrap();
    let intent = Intent::RemoveLeaving(Box::new(elsewhere));
    devices.member(1).ask(intent.clone());
    devices.settle();
    assert!(dropped_for(&devices, 1, &intent).is_some());
    let own = LeaveRequest::sign(context, epoch, &signing_key(&devices.seeds[1]).unwrap()).unwrap();
    let leaf = leaf_of(&mut devices, 1, two);
    let agreed = devices.agreed(0);
    forced(&mut devices, 1, vec![Proposal::Remove(leaf)], own.encode());
    assert_eq!(devices.agreed(0), agreed);
    assert!(!devices.removed[2]);

    // Its own request lets any member remove it.
    let request = LeaveRequest::sign(context, epoch, &key).unwrap();
    devices
        .member(1)
        .ask(Intent::RemoveLeaving(Box::new(request)));
    devices.settle();
    assert!(devices.removed[2]);
    assert_eq!(devices.agreed(0), devices.agreed(1));
    assert!(!devices.agreed(0).1.contains(&two));
}

#[test]
fn policy_intents_are_kept_in_a_snapshot() {
    let mut devices = Devices::new(3);
    let context = ContextId([1; 32]);
    group_of_three(&mut devices, context);
    let key = signing_key(&devices.seeds[1]).unwrap();
    let asked = vec![
        Intent::SetPolicy(PolicyChange::Grant {
            device: devices.device(1),
            capabilities: parse_list("add").unwrap(),
        }),
        Intent::RemoveLeaving(Box::new(LeaveRequest::sign(context, 3, &key).unwrap())),
    ];
    for intent in &asked {
        devices.member(2).ask(intent.clone());
    }
    let seed = devices.seeds[2];
    let snapshot = devices.member(2).snapshot().unwrap();
    let mut restored = GroupMember::restore(snapshot.as_bytes(), &seed).unwrap();
    assert_eq!(restored.take_unmade(), asked);
}
