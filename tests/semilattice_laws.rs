//! Acceptance 1: join and meet are associative, commutative and idempotent for every
//! semilattice type, and delta-based replication reaches the same state as state-based.

mod support;

use std::sync::OnceLock;

use aura::state::capability::{Capability, CapabilitySet};
use aura::state::coordinator::CrdtCoordinator;
use aura::state::fact::{DeviceKey, Fact};
use aura::state::gcounter::GCounter;
use aura::state::journal::Journal;
use aura::state::lww::LwwRegister;
use aura::state::max_epoch::MaxEpoch;
use aura::state::orset::OrSet;
use aura::state::semilattice::{Join, Meet};
use proptest::prelude::*;
use support::{NOW_MS, context, key, message, time};

fn device_key(seed: u8) -> DeviceKey {
    DeviceKey([seed; 32])
}

fn gcounter() -> impl Strategy<Value = GCounter> {
    proptest::collection::vec((0u8..4, 0u64..1_000), 0..8).prop_map(|increments| {
        let mut counter = GCounter::new();
        for (device, by) in increments {
            counter.increment(device_key(device), by);
        }
        counter
    })
}

fn capabilities() -> impl Strategy<Value = CapabilitySet> {
    const NAMES: [&str; 6] = ["send", "invite", "remove", "rename", "read", "admin"];
    proptest::sample::subsequence(NAMES.to_vec(), 0..=NAMES.len())
        .prop_map(|names| CapabilitySet::new(names.into_iter().map(Capability::new)))
}

fn max_epoch() -> impl Strategy<Value = MaxEpoch> {
    any::<u64>().prop_map(MaxEpoch)
}

fn lww() -> impl Strategy<Value = LwwRegister<(u64, u8), u8>> {
    proptest::option::of((0u64..5, any::<u8>(), 0u8..3)).prop_map(|write| {
        let mut register = LwwRegister::new();
        if let Some((time, tiebreak, value)) = write {
            register.write((time, tiebreak), value);
        }
        register
    })
}

fn orset() -> impl Strategy<Value = OrSet<u8, u8>> {
    (
        proptest::collection::vec((0u8..5, 0u8..20), 0..10),
        proptest::collection::vec(0u8..20, 0..6),
    )
        .prop_map(|(adds, removed)| {
            let mut set = OrSet::new();
            for (value, tag) in adds {
                set.add(value, tag);
            }
            set.join(&OrSet::remove_tags_delta(removed))
        })
}

/// Forty signed facts, made once: journals are subsets of them.
fn fact_pool() -> &'static [Fact] {
    static POOL: OnceLock<Vec<Fact>> = OnceLock::new();
    POOL.get_or_init(|| {
        (0..40u64)
            .map(|index| {
                message(
                    &key(1 + (index % 3) as u8),
                    context((index % 2) as u8),
                    time(NOW_MS - 100 + index % 7, index as u16),
                    "hello",
                )
            })
            .collect()
    })
}

fn journal() -> impl Strategy<Value = Journal> {
    proptest::sample::subsequence((0..40usize).collect::<Vec<_>>(), 0..20).prop_map(|picked| {
        let mut journal = Journal::new();
        for index in picked {
            journal
                .ingest_fact(fact_pool()[index].clone(), NOW_MS)
                .unwrap();
        }
        journal
    })
}

macro_rules! join_laws {
    ($name:ident, $strategy:expr) => {
        proptest! {
            #[test]
            fn $name(a in $strategy, b in $strategy, c in $strategy) {
                prop_assert_eq!(a.join(&b).join(&c), a.join(&b.join(&c)), "associative");
                prop_assert_eq!(a.join(&b), b.join(&a), "commutative");
                prop_assert_eq!(a.join(&a), a.clone(), "idempotent");
                let mut in_place = a.clone();
                in_place.join_assign(&b);
                prop_assert_eq!(in_place, a.join(&b), "join_assign is join");
            }
        }
    };
}

join_laws!(gcounter_join_is_a_semilattice, gcounter());
join_laws!(max_epoch_join_is_a_semilattice, max_epoch());
join_laws!(lww_join_is_a_semilattice, lww());
join_laws!(orset_join_is_a_semilattice, orset());
join_laws!(journal_join_is_a_semilattice, journal());

proptest! {
    #[test]
    fn capability_meet_is_a_semilattice(a in capabilities(), b in capabilities(), c in capabilities()) {
        prop_assert_eq!(a.meet(&b).meet(&c), a.meet(&b.meet(&c)), "associative");
        prop_assert_eq!(a.meet(&b), b.meet(&a), "commutative");
        prop_assert_eq!(a.meet(&a), a.clone(), "idempotent");
        // The meet never grants what either side lacks.
        for capability in a.meet(&b).iter() {
            prop_assert!(a.allows(capability) && b.allows(capability));
        }
    }
}

/// A local operation on the replicated value, turned into a delta against the current state.
#[derive(Debug, Clone)]
enum Op {
    Increment(u8, u64),
    Add(u8),
    Remove(u8),
    Advance(u64),
    Write(u64, u8),
    /// Ship the accumulated delta group to the remote replica.
    Ship,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..4, 0u64..50).prop_map(|(device, by)| Op::Increment(device, by)),
        (0u8..5).prop_map(Op::Add),
        (0u8..5).prop_map(Op::Remove),
        (0u64..100).prop_map(Op::Advance),
        (0u64..100, 0u8..4).prop_map(|(stamp, value)| Op::Write(stamp, value)),
        Just(Op::Ship),
    ]
}

/// Every semilattice of the crate in one product state, joined component-wise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Product {
    counter: GCounter,
    set: OrSet<u8, u32>,
    epoch: MaxEpoch,
    register: LwwRegister<(u64, u32), u8>,
}

impl Join for Product {
    fn join(&self, other: &Self) -> Self {
        Self {
            counter: self.counter.join(&other.counter),
            set: self.set.join(&other.set),
            epoch: self.epoch.join(&other.epoch),
            register: self.register.join(&other.register),
        }
    }
}

impl Product {
    /// The delta of `op` against `self`; `tag` makes adds and writes unique.
    fn delta(&self, op: &Op, tag: u32) -> Product {
        let mut delta = Product::default();
        match op {
            Op::Increment(device, by) => {
                delta.counter = self.counter.increment_delta(device_key(*device), *by)
            }
            Op::Add(value) => delta.set = OrSet::add_delta(*value, tag),
            Op::Remove(value) => delta.set = self.set.remove_delta(value),
            Op::Advance(epoch) => delta.epoch = MaxEpoch::advance_delta(*epoch),
            Op::Write(stamp, value) => {
                delta.register = LwwRegister::write_delta((*stamp, tag), *value)
            }
            Op::Ship => {}
        }
        delta
    }

    /// `op` applied directly, with the state-based mutators.
    fn apply(&mut self, op: &Op, tag: u32) {
        match op {
            Op::Increment(device, by) => self.counter.increment(device_key(*device), *by),
            Op::Add(value) => self.set.add(*value, tag),
            Op::Remove(value) => self.set.remove(value),
            Op::Advance(epoch) => self.epoch = self.epoch.join(&MaxEpoch(*epoch)),
            Op::Write(stamp, value) => self.register.write((*stamp, tag), *value),
            Op::Ship => {}
        }
    }
}

proptest! {
    #[test]
    fn deltas_reach_the_same_state_as_mutations(
        ops in proptest::collection::vec(op(), 0..40),
        threshold in 1usize..6,
    ) {
        let mut direct = Product::default();
        let mut local = CrdtCoordinator::<aura::state::coordinator::DeltaHandler<Product>>::with_delta_threshold(device_key(1), threshold);
        let mut remote = CrdtCoordinator::with_cv_state(device_key(2), Product::default());
        for (tag, op) in ops.iter().enumerate() {
            let tag = tag as u32;
            direct.apply(op, tag);
            if let Op::Ship = op {
                if let Some(group) = local.delta_handler_mut().take_delta_group() {
                    remote.cv_handler_mut().merge(&group);
                }
                continue;
            }
            let delta = local.delta_handler().state().delta(op, tag);
            local.delta_handler_mut().apply_delta(delta);
            prop_assert!(local.delta_handler().buffered() < threshold, "compaction at the threshold");
        }
        prop_assert_eq!(local.delta_handler().state(), direct.clone(), "local delta state");
        if let Some(group) = local.delta_handler_mut().take_delta_group() {
            remote.cv_handler_mut().merge(&group);
        }
        // Shipping joined delta groups is as good as shipping the whole state.
        prop_assert_eq!(remote.cv_handler().get_state(), &direct, "remote state");
    }
}

#[test]
fn a_meet_based_coordinator_only_narrows() {
    let all = CapabilitySet::new(["send", "invite", "rename"].map(Capability::new));
    let mut coordinator = CrdtCoordinator::with_mv_state(device_key(1), all);
    coordinator.mv_handler_mut().refine(&CapabilitySet::new(
        ["send", "rename", "admin"].map(Capability::new),
    ));
    coordinator
        .mv_handler_mut()
        .refine(&CapabilitySet::new(["send", "invite"].map(Capability::new)));
    let held: Vec<_> = coordinator
        .mv_handler()
        .get_state()
        .iter()
        .cloned()
        .collect();
    assert_eq!(held, vec![Capability::new("send")]);
}

#[test]
fn an_observed_remove_loses_to_a_concurrent_add() {
    let mut left: OrSet<&str, u32> = OrSet::new();
    left.add("carol", 1);
    let mut right = left.clone();
    right.remove(&"carol");
    left.add("carol", 2);
    let merged = left.join(&right);
    assert!(merged.contains(&"carol"));
    assert_eq!(
        merged.live_tags(&"carol").copied().collect::<Vec<_>>(),
        vec![2]
    );
}
