//! Every rule of flow budgets (acceptance 3), the receive side and leakage.

mod support;

use aura::state::fact::{ContextId, DeviceKey};
use aura::state::flow_budget::{
    BudgetError, BudgetPolicy, ContextBudgetSettings, FlowBudget, FlowBudgets, MAX_EPOCH_LEAD,
};
use aura::state::leakage::{
    LeakageCost, LeakageDenial, LeakageLedger, LeakagePolicy, MAX_PADDED_BYTES, MessageClass,
    OptionalKind, Relationship, SIZE_BUCKETS, Timing, leakage_cost, padded_size,
};
use aura::state::semilattice::Join;
use aura::state::store::Store;
use aura::state::trust_level::TrustLevel;
use support::{context, device};

const EPOCH_MS: u64 = 60_000;

fn policy() -> BudgetPolicy {
    BudgetPolicy {
        epoch_ms: EPOCH_MS,
        limit_by_trust: [0, 100, 400, 1_600, 6_400],
    }
}

fn budgets(limit: u64) -> (FlowBudgets, ContextId, DeviceKey) {
    let mut budgets = FlowBudgets::default();
    budgets.set_limit(context(1), device(2), limit);
    (budgets, context(1), device(2))
}

#[test]
fn an_exact_charge_empties_the_budget() {
    let (mut budgets, ctx, peer) = budgets(100);
    let after = budgets.charge(ctx, peer, 100).unwrap();
    assert_eq!(after.remaining(), 0);
    assert_eq!(budgets.get(ctx, peer).unwrap().spent, 100);
    assert_eq!(
        budgets.charge(ctx, peer, 1),
        Err(BudgetError::InsufficientBudget {
            required: 1,
            available: 0
        })
    );
}

#[test]
fn an_insufficient_charge_names_the_amounts_and_changes_nothing() {
    let (mut budgets, ctx, peer) = budgets(100);
    budgets.charge(ctx, peer, 70).unwrap();
    let before = budgets.clone();
    assert_eq!(
        budgets.charge(ctx, peer, 31),
        Err(BudgetError::InsufficientBudget {
            required: 31,
            available: 30
        })
    );
    assert_eq!(budgets, before);
}

#[test]
fn an_unknown_budget_is_its_own_error() {
    let (mut budgets, ctx, _) = budgets(100);
    let before = budgets.clone();
    assert_eq!(
        budgets.charge(ctx, device(9), 1),
        Err(BudgetError::UnknownBudget {
            context: ctx,
            peer: device(9)
        })
    );
    assert_eq!(budgets, before);
}

#[test]
fn an_epoch_advance_replenishes() {
    let (mut budgets, ctx, peer) = budgets(100);
    let policy = policy();
    assert!(budgets.tick(&policy, 5 * EPOCH_MS + 10));
    budgets.charge(ctx, peer, 100).unwrap();
    assert!(!budgets.tick(&policy, 6 * EPOCH_MS - 1), "same epoch");
    assert!(budgets.charge(ctx, peer, 1).is_err());
    assert!(budgets.tick(&policy, 6 * EPOCH_MS));
    assert_eq!(budgets.epoch(), 6);
    assert_eq!(budgets.get(ctx, peer).unwrap().remaining(), 100);
    assert!(
        !budgets.tick(&policy, 0),
        "the clock going back never rewinds the epoch"
    );
    assert_eq!(budgets.epoch(), 6);
}

#[test]
fn a_claimed_far_future_epoch_is_capped_and_a_lower_one_ignored() {
    let (mut budgets, ctx, peer) = budgets(100);
    let policy = policy();
    let now = 10 * EPOCH_MS;
    budgets.tick(&policy, now);
    budgets.charge(ctx, peer, 100).unwrap();
    assert_eq!(
        budgets.observe_peer_epoch(&policy, 1_000_000, now),
        10 + MAX_EPOCH_LEAD
    );
    // Repeating the claim cannot push further while the clock stands still.
    assert_eq!(
        budgets.observe_peer_epoch(&policy, 1_000_000, now),
        10 + MAX_EPOCH_LEAD
    );
    budgets.charge(ctx, peer, 100).unwrap();
    assert!(
        budgets.charge(ctx, peer, 1).is_err(),
        "one refill, not more"
    );
    assert_eq!(
        budgets.observe_peer_epoch(&policy, 3, now),
        10 + MAX_EPOCH_LEAD
    );
    // A claim one epoch ahead (clocks straddling a boundary) is adopted as is.
    let (mut other, _, _) = self::budgets(100);
    other.tick(&policy, now);
    assert_eq!(other.observe_peer_epoch(&policy, 11, now), 11);
}

#[test]
fn a_cross_epoch_merge_keeps_the_new_epochs_spend_at_zero() {
    let policy = policy();
    let (mut old, ctx, peer) = budgets(100);
    old.tick(&policy, 3 * EPOCH_MS);
    old.charge(ctx, peer, 90).unwrap();
    let (mut new, _, _) = budgets(100);
    new.tick(&policy, 4 * EPOCH_MS);
    let merged = old.join(&new);
    assert_eq!(merged.epoch(), 4);
    assert_eq!(merged.get(ctx, peer).unwrap().spent, 0);
    assert_eq!(new.join(&old), merged, "commutative");
    // A budget only the old state knows also starts the new epoch unspent.
    old.set_limit(context(7), peer, 50);
    old.charge(context(7), peer, 50).unwrap();
    let merged = new.join(&old);
    assert_eq!(merged.get(context(7), peer).unwrap().spent, 0);
}

#[test]
fn a_same_epoch_merge_keeps_the_larger_spend() {
    let (mut a, ctx, peer) = budgets(100);
    let mut b = a.clone();
    a.charge(ctx, peer, 30).unwrap();
    b.charge(ctx, peer, 60).unwrap();
    let merged = a.join(&b);
    assert_eq!(merged.get(ctx, peer).unwrap().spent, 60);
    assert_eq!(merged.join(&merged), merged, "idempotent");
    let x = FlowBudget {
        epoch: 2,
        limit: 10,
        spent: 9,
    };
    let y = FlowBudget {
        epoch: 3,
        limit: 10,
        spent: 1,
    };
    assert_eq!(x.join(&y), y);
}

#[test]
fn limits_follow_trust_and_the_context_setting() {
    let policy = policy();
    let default = ContextBudgetSettings::default();
    let limits: Vec<u64> = TrustLevel::ALL
        .iter()
        .map(|trust| policy.limit(*trust, default))
        .collect();
    assert_eq!(limits, [0, 100, 400, 1_600, 6_400]);
    assert!(TrustLevel::None < TrustLevel::Low && TrustLevel::High < TrustLevel::Complete);
    let halved = ContextBudgetSettings { limit_percent: 50 };
    assert_eq!(policy.limit(TrustLevel::Medium, halved), 200);
}

#[test]
fn budgets_survive_a_store_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let policy = policy();
    let (mut budgets, ctx, peer) = budgets(100);
    budgets.tick(&policy, 8 * EPOCH_MS);
    budgets.charge(ctx, peer, 42).unwrap();
    budgets.set_limit(context(3), device(4), 7);
    {
        let store = Store::open(&path, "test").unwrap();
        assert!(store.load_flow_budgets().unwrap().iter().next().is_none());
        store.save_flow_budgets(&budgets).unwrap();
    }
    let store = Store::open(&path, "test").unwrap();
    let loaded = store.load_flow_budgets().unwrap();
    assert_eq!(loaded, budgets.settled());
    assert_eq!(loaded.epoch(), 8);
    assert_eq!(loaded.get(ctx, peer).unwrap().spent, 42);
    // Saving again replaces rather than accumulates.
    let mut fewer = FlowBudgets::default();
    fewer.set_limit(ctx, peer, 5);
    store.save_flow_budgets(&fewer).unwrap();
    assert_eq!(store.load_flow_budgets().unwrap(), fewer);
}

fn leakage_policy() -> LeakagePolicy {
    LeakagePolicy {
        default_limit: LeakageCost {
            external: 8,
            neighbour: 8,
            group: 10,
        },
        optional_reserve_percent: 50,
    }
}

#[test]
fn messages_pad_to_size_buckets() {
    assert_eq!(padded_size(0), Some(SIZE_BUCKETS[0]));
    assert_eq!(padded_size(257), Some(1024));
    assert_eq!(padded_size(SIZE_BUCKETS[4]), Some(SIZE_BUCKETS[4]));
    // Past the largest bucket: whole largest buckets, at a cost growing with their doublings.
    let top = SIZE_BUCKETS[4];
    assert_eq!(padded_size(top + 1), Some(2 * top));
    assert_eq!(padded_size(10 * top - 5), Some(10 * top));
    assert_eq!(padded_size(MAX_PADDED_BYTES + 1), None);
    let cost = |size| {
        leakage_cost(size, Timing::Batched, Relationship::Group)
            .unwrap()
            .group
    };
    assert_eq!(cost(top + 1), cost(top) + 1);
    assert_eq!(cost(4 * top), cost(top) + 2);
    assert_eq!(cost(32 * 1024 * 1024), cost(top) + 9);
    let small = leakage_cost(10, Timing::Batched, Relationship::Group).unwrap();
    let big = leakage_cost(5_000, Timing::Immediate, Relationship::Group).unwrap();
    assert!(big.group > small.group);
    let external = leakage_cost(10, Timing::Batched, Relationship::External).unwrap();
    assert!(external.external > small.group && external.group == 0);
}

#[test]
fn optional_traffic_stops_first_then_sends_wait_for_the_next_epoch() {
    let mut ledger = LeakageLedger::new(leakage_policy());
    let ctx = context(1);
    let cost = leakage_cost(10, Timing::Batched, Relationship::Group).unwrap();
    let typing = MessageClass::Optional(OptionalKind::Typing);
    // 10 units with half reserved: optional traffic gets 5, essential the rest.
    for _ in 0..5 {
        ledger.charge(ctx, 0, &cost, typing).unwrap();
    }
    let before = ledger.clone();
    assert!(matches!(
        ledger.charge(ctx, 0, &cost, typing),
        Err(LeakageDenial::OptionalSuppressed {
            kind: OptionalKind::Typing,
            ..
        })
    ));
    assert_eq!(ledger, before);
    for _ in 0..5 {
        ledger
            .charge(ctx, 0, &cost, MessageClass::Essential)
            .unwrap();
    }
    let err = ledger
        .charge(ctx, 0, &cost, MessageClass::Essential)
        .unwrap_err();
    assert!(matches!(
        err,
        LeakageDenial::Exhausted { retry_epoch: 1, .. }
    ));
    assert!(err.to_string().contains("epoch 1"), "{err}");
    ledger.charge(ctx, 1, &cost, typing).unwrap();
    assert_eq!(ledger.get(ctx, 1).spent.group, cost.group);
}
