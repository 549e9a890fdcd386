//! The properties, each with a control showing that the adversary's tools
//! do work where the protocol lets them (a broken adversary would otherwise
//! pass everything).

use proptest::prelude::*;

use super::adversary::Adversary;
use super::network::{MAX_ADDS_PER_COMMIT, MAX_MEMBERS, Network, Step};
use crate::crypto::tree_math::LeafIndex;

/// Cases per property: the three properties together stay well under a
/// minute in the debug test profile.
const CASES: u32 = 12;

/// Most random steps in each phase of a history.
const MAX_STEPS: usize = 4;

/// Most messages one sender sends in the generation property.
const MAX_GENERATIONS: usize = 12;

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (1..=MAX_ADDS_PER_COMMIT, any::<usize>())
            .prop_map(|(count, committer)| Step::Add { count, committer }),
        2 => (any::<usize>(), any::<usize>())
            .prop_map(|(target, committer)| Step::Remove { target, committer }),
        2 => any::<usize>().prop_map(|committer| Step::Update { committer }),
        3 => any::<usize>().prop_map(|sender| Step::Send { sender }),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), 0..=MAX_STEPS)
}

fn group_size() -> impl Strategy<Value = u32> {
    2..=MAX_MEMBERS as u32
}

/// Runs `steps`; a removal that would leave a member alone becomes an update.
fn run(network: &mut Network, steps: &[Step], protected: Option<LeafIndex>) {
    for step in steps {
        let step = match step {
            Step::Remove { committer, .. } if network.members.len() <= 2 => Step::Update {
                committer: *committer,
            },
            other => other.clone(),
        };
        network.apply(&step, protected);
        network.assert_agreement();
    }
}

/// Epochs from `first` on, among `epochs`.
fn from_epoch(epochs: &std::collections::BTreeSet<u64>, first: u64) -> Vec<u64> {
    epochs.range(first..).copied().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    /// PCS: once the compromised member has committed an update and another
    /// member has committed after it, nothing the adversary computes yields
    /// an epoch's secrets, and it reads no message of those epochs. Before
    /// that, it follows the group (control).
    #[test]
    fn compromised_member_heals_by_its_own_update(
        size in group_size(),
        seed in any::<u64>(),
        before in steps(),
        between in steps(),
        after in steps(),
        victim in any::<usize>(),
        healer in any::<usize>(),
    ) {
        let mut network = Network::new(size, seed);
        run(&mut network, &before, None);
        let victim_index = victim % network.members.len();
        let victim = network.members[victim_index].own_leaf();
        let stolen = network.members[victim_index].export_state().unwrap();
        let (first_commit, first_message) = (network.commits.len(), network.messages.len());

        // The compromise is live: the adversary follows other members' commits.
        network.send(victim_index);
        run(&mut network, &between, Some(victim));
        network.send(0);
        let heal_epoch = network.members[0].epoch() + 1;

        let victim_index = network.index_of(victim).unwrap();
        network.update(victim_index);
        let others = network.members.len() - 1;
        let healer_index = (victim_index + 1 + healer % others) % network.members.len();
        network.update(healer_index);
        network.send(victim_index);
        network.send(healer_index);
        run(&mut network, &after, None);
        network.send(0);

        let messages = &network.messages[first_message..];
        let findings = Adversary::steal(&stolen)
            .attack(&network.commits[first_commit..], messages);

        let followed: Vec<u64> = network.commits[first_commit..]
            .iter()
            .map(|record| record.context.epoch)
            .filter(|epoch| *epoch < heal_epoch)
            .collect();
        prop_assert_eq!(
            findings.recovered_epochs.iter().copied().filter(|e| *e < heal_epoch).collect::<Vec<_>>(),
            followed,
            "control: the adversary must follow the group until the victim's update"
        );
        prop_assert!(
            messages.iter().enumerate().filter(|(_, m)| m.epoch < heal_epoch)
                .all(|(index, _)| findings.decrypted_messages.contains(&index)),
            "control: the adversary must read the messages before the update"
        );
        prop_assert_eq!(from_epoch(&findings.recovered_epochs, heal_epoch), Vec::<u64>::new());
        prop_assert_eq!(from_epoch(&findings.exposed_epochs, heal_epoch), Vec::<u64>::new());
        prop_assert_eq!(from_epoch(&findings.opened_paths, heal_epoch), Vec::<u64>::new());
        let read_after: Vec<usize> = findings.decrypted_messages.iter().copied()
            .filter(|index| messages[*index].epoch >= heal_epoch)
            .collect();
        prop_assert_eq!(read_after, Vec::<usize>::new());
    }

    /// FS of removal: the removed member's complete state opens no path
    /// ciphertext of its removal commit or any later one, reaches none of
    /// those epochs, and reads no message sent after it. It did follow the
    /// commit just before its removal (control).
    #[test]
    fn removed_member_reads_nothing_after_its_removal(
        size in group_size(),
        seed in any::<u64>(),
        before in steps(),
        after in steps(),
        target in any::<usize>(),
        committer in any::<usize>(),
    ) {
        let mut network = Network::new(size.max(3), seed);
        run(&mut network, &before, None);
        let count = network.members.len();
        let target_index = target % count;
        let target = network.members[target_index].own_leaf();
        let committer_index = (target_index + 1 + committer % (count - 1)) % count;
        let committer = network.members[committer_index].own_leaf();
        let stolen = network.members[target_index].export_state().unwrap();
        let (first_commit, first_message) = (network.commits.len(), network.messages.len());

        network.send(target_index);
        network.update(committer_index);
        network.send(committer_index);
        let removal_epoch = network.members[0].epoch() + 1;
        let target_index = network.index_of(target).unwrap();
        let committer_index = network.index_of(committer).unwrap();
        network.remove(target_index, committer_index);
        network.send(0);
        run(&mut network, &after, None);
        network.send(0);

        let messages = &network.messages[first_message..];
        let findings = Adversary::steal(&stolen)
            .attack(&network.commits[first_commit..], messages);

        prop_assert!(findings.recovered_epochs.contains(&(removal_epoch - 1)), "control: commit before the removal");
        prop_assert!(findings.opened_paths.contains(&(removal_epoch - 1)), "control: its path opens");
        prop_assert!(findings.decrypted_messages.contains(&0) && findings.decrypted_messages.contains(&1),
            "control: messages before the removal");
        prop_assert_eq!(from_epoch(&findings.recovered_epochs, removal_epoch), Vec::<u64>::new());
        prop_assert_eq!(from_epoch(&findings.exposed_epochs, removal_epoch), Vec::<u64>::new());
        prop_assert_eq!(from_epoch(&findings.opened_paths, removal_epoch), Vec::<u64>::new());
        let read_after: Vec<usize> = findings.decrypted_messages.iter().copied()
            .filter(|index| messages[*index].epoch >= removal_epoch)
            .collect();
        prop_assert_eq!(read_after, Vec::<usize>::new());
    }

    /// FS inside an epoch: once a member has read some generations of a
    /// sender (in any order), its complete state opens exactly the
    /// generations it has not read, the skipped ones (control) and none of
    /// the read ones.
    #[test]
    fn read_generations_cannot_be_read_again(
        size in 2u32..=8,
        seed in any::<u64>(),
        sent in 1..=MAX_GENERATIONS,
        read_order in Just((0..MAX_GENERATIONS).collect::<Vec<_>>()).prop_shuffle(),
        read_count in 0..=MAX_GENERATIONS,
        sender in any::<usize>(),
        reader in any::<usize>(),
    ) {
        let mut network = Network::new(size, seed);
        network.update(0);
        let count = network.members.len();
        let sender = sender % count;
        let reader = (sender + 1 + reader % (count - 1)) % count;
        let first_message = network.messages.len();
        for _ in 0..sent {
            network.send(sender);
        }
        let read: Vec<usize> = read_order.into_iter().filter(|g| *g < sent).take(read_count).collect();
        for generation in &read {
            let bytes = &network.messages[first_message + generation].bytes;
            network.members[reader].unprotect(bytes).unwrap();
        }
        let stolen = network.members[reader].export_state().unwrap();
        let findings = Adversary::steal(&stolen)
            .attack(&[], &network.messages[first_message..]);
        let unread: Vec<usize> = (0..sent).filter(|g| !read.contains(g)).collect();
        prop_assert_eq!(findings.decrypted_messages.into_iter().collect::<Vec<_>>(), unread);
    }
}
