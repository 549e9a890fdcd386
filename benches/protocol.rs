//! The guard chain's cost per message: evaluation alone, and evaluation with its effects
//! applied to budgets and leakage (the journal write itself is the agent's, not measured).
//!
//! `cargo bench --bench protocol`

use std::hint::black_box;

use aura::protocol::guard::{GuardChain, GuardState, SendRequest};
use aura::protocol::request_response::SendRequest as RequestMessage;
use aura::state::capability::{Capability, CapabilitySet};
use aura::state::fact::{ContextId, DeviceKey};
use aura::state::flow_budget::FlowBudgets;
use aura::state::leakage::{
    LeakageCost, LeakageLedger, LeakagePolicy, MessageClass, Relationship, Timing,
};
use criterion::{Criterion, criterion_group, criterion_main};

/// Contexts and peers in the state, so lookups run in maps of a realistic size.
const CONTEXTS: u8 = 64;
const PEERS: u8 = 32;
/// Large enough that the measured loop never runs out.
const HUGE_LIMIT: u64 = u64::MAX / 4;

fn state() -> GuardState {
    let mut budgets = FlowBudgets::default();
    for context in 0..CONTEXTS {
        for peer in 0..PEERS {
            budgets.set_limit(ContextId([context; 32]), DeviceKey([peer; 32]), HUGE_LIMIT);
        }
    }
    let capabilities = CapabilitySet::new(
        [
            "send_request",
            "send_response",
            "sync",
            "invite",
            "send_message",
        ]
        .into_iter()
        .map(Capability::new),
    );
    GuardState {
        capabilities,
        budgets,
        leakage: LeakageLedger::new(LeakagePolicy {
            default_limit: LeakageCost {
                external: HUGE_LIMIT,
                neighbour: HUGE_LIMIT,
                group: HUGE_LIMIT,
            },
            optional_reserve_percent: 25,
        }),
        journal: Vec::new(),
    }
}

fn request() -> SendRequest<'static> {
    let annotation = &RequestMessage::ANNOTATION;
    SendRequest {
        context: ContextId([CONTEXTS / 2; 32]),
        peer: DeviceKey([PEERS / 2; 32]),
        capability: annotation.guard_capability,
        flow_cost: annotation.flow_cost,
        size: 900,
        class: MessageClass::Essential,
        relationship: Relationship::Group,
        timing: Timing::Batched,
        journal_facts: annotation.journal_facts,
    }
}

fn guard_chain(c: &mut Criterion) {
    let mut group = c.benchmark_group("guard chain");
    let state = state();
    let request = request();
    group.bench_function("evaluate", |b| {
        b.iter(|| GuardChain::evaluate(black_box(&state.snapshot()), black_box(&request)))
    });
    let mut state = self::state();
    group.bench_function("evaluate + apply", |b| {
        b.iter(|| state.authorize(black_box(&request)))
    });
    group.finish();
}

criterion_group!(benches, guard_chain);
criterion_main!(benches);
