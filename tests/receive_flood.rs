//! A peer flooding past its budget is throttled at the receiver while honest peers get
//! through, and the flood shows in the counters (acceptance 5).

mod support;

use aura::state::flow_budget::BudgetPolicy;
use aura::state::flow_budget::ContextBudgetSettings;
use aura::state::receive_budget::{OverBudget, ReceiveLedger, Verdict};
use aura::state::trust_level::TrustLevel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use support::device;

const EPOCH_MS: u64 = 60_000;
const EPOCHS: u64 = 5;
const MESSAGE_COST: u64 = 10;

fn policy() -> BudgetPolicy {
    BudgetPolicy {
        epoch_ms: EPOCH_MS,
        limit_by_trust: [0, 100, 400, 1_600, 6_400],
    }
}

#[test]
fn a_flooding_peer_is_throttled_and_counted_while_honest_peers_get_through() {
    for policy_kind in [OverBudget::Drop, OverBudget::Delay] {
        let policy = policy();
        let mut ledger = ReceiveLedger::new(
            policy_kind,
            policy.limit(TrustLevel::None, ContextBudgetSettings::default()),
        );
        let honest = [device(2), device(3), device(4)];
        let flooder = device(9);
        for peer in honest.iter().chain([&flooder]) {
            ledger.set_limit(
                *peer,
                policy.limit(TrustLevel::Medium, ContextBudgetSettings::default()),
            );
        }
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let mut honest_sent = 0u64;
        let mut flood_sent = 0u64;
        // Events interleave in a random order within each epoch, as the network would.
        for epoch in 0..EPOCHS {
            let mut events = Vec::new();
            for peer in honest {
                // Well inside the limit: 400 / 10 = 40 messages an epoch.
                for _ in 0..rng.random_range(5..30) {
                    events.push(peer);
                }
            }
            for _ in 0..2_000 {
                events.push(flooder);
            }
            for i in (1..events.len()).rev() {
                events.swap(i, rng.random_range(0..=i));
            }
            let now = epoch * EPOCH_MS + rng.random_range(0..EPOCH_MS);
            for peer in events {
                let verdict = ledger.receive(peer, MESSAGE_COST, policy.clock_epoch(now));
                if peer == flooder {
                    flood_sent += 1;
                } else {
                    honest_sent += 1;
                    assert_eq!(verdict, Verdict::Accept, "an honest peer was throttled");
                }
            }
        }
        let flood = ledger.counters(&flooder).unwrap();
        let per_epoch = 400 / MESSAGE_COST;
        assert_eq!(flood.accepted, per_epoch * EPOCHS);
        let throttled = flood_sent - flood.accepted;
        match policy_kind {
            OverBudget::Drop => assert_eq!((flood.dropped, flood.delayed), (throttled, 0)),
            OverBudget::Delay => assert_eq!((flood.dropped, flood.delayed), (0, throttled)),
        }
        let honest_accepted: u64 = honest
            .iter()
            .map(|peer| ledger.counters(peer).unwrap().accepted)
            .sum();
        assert_eq!(honest_accepted, honest_sent);
        assert_eq!(ledger.all().count(), 4);
    }
}

#[test]
fn an_unknown_peer_gets_the_no_trust_limit_and_the_next_epoch_resets_spend() {
    let mut ledger = ReceiveLedger::new(OverBudget::Delay, 20);
    assert_eq!(ledger.receive(device(5), 20, 0), Verdict::Accept);
    assert_eq!(
        ledger.receive(device(5), 1, 0),
        Verdict::Delay { until_epoch: 1 }
    );
    assert_eq!(ledger.receive(device(5), 20, 1), Verdict::Accept);
    let counters = ledger.counters(&device(5)).unwrap();
    assert_eq!(
        (counters.epoch, counters.spent, counters.delayed),
        (1, 20, 1)
    );
}

#[test]
fn quiet_strangers_are_forgotten_while_members_and_flooders_are_kept() {
    let mut ledger = ReceiveLedger::new(OverBudget::Drop, 10);
    let (stranger, member, flooder) = (device(2), device(3), device(4));
    ledger.set_limit(member, 100);
    assert_eq!(ledger.receive(stranger, 1, 1), Verdict::Accept);
    assert_eq!(ledger.receive(member, 1, 1), Verdict::Accept);
    assert_eq!(ledger.receive(flooder, 11, 1), Verdict::Drop);
    ledger.forget_quiet(1);
    assert_eq!(ledger.all().count(), 3, "everyone sent in epoch 1");
    ledger.forget_quiet(2);
    let mut kept: Vec<_> = ledger.all().map(|(peer, _)| peer).collect();
    let mut expected = vec![member, flooder];
    kept.sort();
    expected.sort();
    assert_eq!(kept, expected);
}
