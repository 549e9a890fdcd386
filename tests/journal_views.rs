//! Acceptance 2: any permutation of a fact set, with duplicates, reduces to identical views.

mod support;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aura::state::fact::{ContextId, Fact};
use aura::state::journal::Journal;
use aura::state::kinds::KnownBody;
use aura::state::view::ContextView;
use proptest::prelude::*;
use support::{NOW_MS, context, device, key, known, message, time};

/// A history with every kind of fact in two contexts: concurrent renames (one tie on time),
/// members added, removed, re-added, and removed by a remove that saw only one of two adds.
fn history() -> &'static [Fact] {
    static HISTORY: OnceLock<Vec<Fact>> = OnceLock::new();
    HISTORY.get_or_init(|| {
        let (alice, bob, carol) = (key(1), key(2), key(3));
        let mut facts = Vec::new();
        for ctx in [context(1), context(2)] {
            let t = |ms: u64, logical: u16| time(NOW_MS - 1_000 + ms, logical);
            let add_bob = known(
                &alice,
                ctx,
                t(1, 0),
                KnownBody::MemberAdd { member: device(2) },
            );
            let add_bob_again = known(
                &carol,
                ctx,
                t(2, 0),
                KnownBody::MemberAdd { member: device(2) },
            );
            let add_carol = known(
                &alice,
                ctx,
                t(3, 0),
                KnownBody::MemberAdd { member: device(3) },
            );
            let remove_bob = known(
                &alice,
                ctx,
                t(4, 0),
                KnownBody::MemberRemove {
                    member: device(2),
                    tags: vec![add_bob.id()],
                },
            );
            let remove_carol = known(
                &bob,
                ctx,
                t(5, 0),
                KnownBody::MemberRemove {
                    member: device(3),
                    tags: vec![add_carol.id()],
                },
            );
            let readd_carol = known(
                &bob,
                ctx,
                t(6, 0),
                KnownBody::MemberAdd { member: device(3) },
            );
            facts.extend([
                add_bob,
                add_bob_again,
                add_carol,
                remove_bob,
                remove_carol,
                readd_carol,
            ]);
            facts.push(known(
                &alice,
                ctx,
                t(7, 0),
                KnownBody::GroupName("first".into()),
            ));
            facts.push(known(
                &bob,
                ctx,
                t(8, 1),
                KnownBody::GroupName("tie a".into()),
            ));
            facts.push(known(
                &carol,
                ctx,
                t(8, 1),
                KnownBody::GroupName("tie b".into()),
            ));
            for index in 0..12u16 {
                let author = [&alice, &bob, &carol][usize::from(index) % 3];
                facts.push(message(author, ctx, t(u64::from(index % 4), index), "hi"));
            }
        }
        facts
    })
}

fn reduce(order: &[usize]) -> BTreeMap<ContextId, ContextView> {
    let mut journal = Journal::new();
    for index in order {
        journal
            .ingest_fact(history()[*index].clone(), NOW_MS)
            .unwrap();
    }
    assert_eq!(journal.views(), &journal.rebuild_views());
    journal.views().clone()
}

fn reference() -> BTreeMap<ContextId, ContextView> {
    reduce(&(0..history().len()).collect::<Vec<_>>())
}

#[test]
fn the_reference_views_say_what_the_history_did() {
    let views = reference();
    let view = &views[&context(1)];
    // Bob's second add was not seen by the remove; Carol was re-added after her removal.
    assert_eq!(view.members.elements(), {
        let mut expected = vec![device(2), device(3)];
        expected.sort();
        expected
    });
    let name = view.name.get().unwrap();
    assert!(name == "tie a" || name == "tie b");
    assert_eq!(view.messages.len(), 12);
    let stamps: Vec<_> = view.messages.keys().collect();
    assert!(stamps.windows(2).all(|pair| pair[0] < pair[1]));
}

fn shuffled_with_duplicates() -> impl Strategy<Value = Vec<usize>> {
    let count = history().len();
    (
        Just((0..count).collect::<Vec<_>>()).prop_shuffle(),
        proptest::collection::vec((0..count, 0..count), 0..20),
    )
        .prop_map(|(mut order, duplicates)| {
            for (fact, position) in duplicates {
                order.insert(position.min(order.len()), fact);
            }
            order
        })
}

proptest! {
    #[test]
    fn any_order_with_duplicates_gives_the_same_views(order in shuffled_with_duplicates()) {
        prop_assert_eq!(reduce(&order), reference());
    }

    #[test]
    fn merging_two_halves_gives_the_same_views(order in shuffled_with_duplicates(), cut in 0usize..60) {
        use aura::state::semilattice::Join;
        let cut = cut.min(order.len());
        let mut left = Journal::new();
        let mut right = Journal::new();
        for index in &order[..cut] {
            left.ingest_fact(history()[*index].clone(), NOW_MS).unwrap();
        }
        for index in &order[cut..] {
            right.ingest_fact(history()[*index].clone(), NOW_MS).unwrap();
        }
        prop_assert_eq!(left.join(&right).views().clone(), reference());
        prop_assert_eq!(right.join(&left).views().clone(), reference());
    }
}
