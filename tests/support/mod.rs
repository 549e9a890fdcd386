//! Helpers shared by the tests: deterministic keys and facts, the simulator, and polling.
#![allow(dead_code)]

pub mod cli;
pub mod friends;
pub mod poll;
pub mod sim;
pub mod swarm;
pub mod wire;

use aura::state::fact::{ContextId, DeviceKey, Fact, FactKind};
use aura::state::hlc::Hlc;
use aura::state::kinds::{self, KnownBody};
use ed25519_dalek::SigningKey;

/// The wall clock the tests pretend it is: 2026-01-01, in ms.
pub const NOW_MS: u64 = 1_767_225_600_000;

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn device(seed: u8) -> DeviceKey {
    DeviceKey::of(&key(seed))
}

pub fn context(seed: u8) -> ContextId {
    ContextId([seed; 32])
}

pub fn time(ms: u64, logical: u16) -> Hlc {
    Hlc::new(ms, logical).expect("test times fit in 48 bits")
}

pub fn sign(key: &SigningKey, context: ContextId, at: Hlc, kind: FactKind, body: Vec<u8>) -> Fact {
    Fact::sign(key, context, at, kind, body).expect("test facts are small")
}

pub fn message(key: &SigningKey, context: ContextId, at: Hlc, text: &str) -> Fact {
    sign(key, context, at, kinds::MESSAGE, text.as_bytes().to_vec())
}

pub fn known(key: &SigningKey, context: ContextId, at: Hlc, body: KnownBody) -> Fact {
    let (kind, bytes) = body.encode();
    sign(key, context, at, kind, bytes)
}

/// `count` distinct message facts in one context, by a few authors, a millisecond apart.
pub fn messages(context: ContextId, first_ms: u64, count: usize) -> Vec<Fact> {
    let keys: Vec<SigningKey> = (1..=4).map(key).collect();
    (0..count)
        .map(|index| {
            message(
                &keys[index % keys.len()],
                context,
                time(first_ms + index as u64, 0),
                &format!("message {index}"),
            )
        })
        .collect()
}

/// A number from the environment, or `default`: sample sizes of the benchmarks.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Budgets out of the way: a benchmark that measures propagation sends far beyond what any
/// default budget lets one peer send.
pub fn unthrottled() -> aura::agent::GuardConfig {
    const UNLIMITED: u64 = 1 << 40;
    let mut budgets = aura::config::defaults().expect("defaults").config.budgets;
    budgets.limit_none = UNLIMITED;
    budgets.limit_low = UNLIMITED;
    budgets.limit_medium = UNLIMITED;
    budgets.limit_high = UNLIMITED;
    budgets.limit_complete = UNLIMITED;
    budgets.leakage_external = UNLIMITED;
    budgets.leakage_neighbour = UNLIMITED;
    budgets.leakage_group = UNLIMITED;
    aura::agent::GuardConfig::from_config(&budgets)
}
