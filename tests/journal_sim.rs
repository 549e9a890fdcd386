//! Acceptance 3: twenty replicas, 10,000 facts, 30% loss, duplication, reordering and a
//! partition that heals; afterwards every replica holds the same facts and the same views.
//!
//! `AURA_SIM_SEED=N` replays one seed; `AURA_SIM_SEEDS=K` runs K seeds from 1 (CI runs more
//! than the default).

mod support;

use support::sim::{Sim, SimConfig, views};

const DEFAULT_SEEDS: u64 = 2;

fn seeds() -> Vec<u64> {
    if let Ok(seed) = std::env::var("AURA_SIM_SEED") {
        return vec![seed.parse().expect("AURA_SIM_SEED is a number")];
    }
    let count = std::env::var("AURA_SIM_SEEDS")
        .ok()
        .map_or(DEFAULT_SEEDS, |count| {
            count.parse().expect("AURA_SIM_SEEDS is a number")
        });
    (1..=count).collect()
}

fn run_seed(config: &SimConfig, seed: u64) {
    let outcome = Sim::new(config.clone(), seed).run();
    let replay = format!("replay with AURA_SIM_SEED={seed}");
    let Some(converged_at) = outcome.converged_at_ms else {
        let lens: Vec<usize> = outcome
            .journals
            .iter()
            .map(|journal| journal.len())
            .collect();
        panic!(
            "seed {seed}: no convergence by the deadline ({} sessions started, {} completed, \
             replicas hold {lens:?} facts); {replay}",
            outcome.sessions_started, outcome.sessions_completed
        );
    };
    let first = &outcome.journals[0];
    assert_eq!(first.len(), config.facts, "seed {seed}: {replay}");
    let first_ids: Vec<_> = first.iter().map(|fact| fact.id()).collect();
    let first_views = views(first);
    for (index, journal) in outcome.journals.iter().enumerate() {
        let ids: Vec<_> = journal.iter().map(|fact| fact.id()).collect();
        assert!(
            ids == first_ids,
            "seed {seed}: replica {index} holds other facts; {replay}"
        );
        assert!(
            views(journal) == first_views,
            "seed {seed}: replica {index} has other views; {replay}"
        );
        assert!(
            journal.rebuild_views() == first_views,
            "seed {seed}: replica {index}'s views differ from a rebuild; {replay}"
        );
    }
    eprintln!(
        "seed {seed}: converged at {converged_at} ms; {} sessions started, {} completed; \
         {} messages, {} lost",
        outcome.sessions_started,
        outcome.sessions_completed,
        outcome.messages_sent,
        outcome.messages_lost
    );
}

#[test]
fn twenty_replicas_converge_after_loss_and_a_healed_partition() {
    let config = SimConfig::acceptance();
    for seed in seeds() {
        run_seed(&config, seed);
    }
}
