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
