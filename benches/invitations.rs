//! Relationship formation between two nodes on loopback TCP (mDNS off), end to end: from the
//! invitee's accept request to both sides having recorded the relationship (the invitee's
//! acceptance done, the inviter's "accepted" event), each run with a fresh invitation.
//!
//! Each run has a fresh invitee, so each includes dialling the inviter and the Noise
//! handshake, as a real acceptance does. `cargo bench --bench invitations`;
//! `AURA_BENCH_FORMATIONS` sets the number of runs (default 200); the first, which warms up
//! both processes' code paths, is reported apart.

// Tests and benchmarks measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

// The tests' helpers: the invitation every run accepts.
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use aura::invite::views::AcceptanceStage;
use aura::node::{InviteRequest, Node, NodeEvent, NodeHandle, NodeOptions};

const DEFAULT_FORMATIONS: usize = 200;
const TIMEOUT: Duration = Duration::from_secs(30);

async fn start(path: &std::path::Path) -> NodeHandle {
    let mut options = NodeOptions::loopback(path).expect("options");
    options.sync_interval = Duration::from_secs(3600);
    Node::start(options).await.expect("node")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs = std::env::var("AURA_BENCH_FORMATIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_FORMATIONS);
    let dir = tempfile::tempdir().expect("tempdir");
    let alice = start(&dir.path().join("alice.redb")).await;
    let alice_client = alice.client();
    let mut alice_events = alice_client.subscribe();
    let mut latencies = Vec::with_capacity(runs);
    let mut first = None;
    for run in 0..=runs {
        // A fresh invitee each run: a relationship forms once per pair.
        let bob = start(&dir.path().join(format!("bob{run}.redb"))).await;
        let bob_client = bob.client();
        let mut bob_events = bob_client.subscribe();
        let code = support::friends::invitation_code(&alice_client).await;
        let started = Instant::now();
        bob_client
            .invite(InviteRequest::Accept(code))
            .await
            .expect("accept");
        let both = async {
            let mut invitee_done = false;
            let mut inviter_done = false;
            while !(invitee_done && inviter_done) {
                tokio::select! {
                    event = bob_events.recv() => {
                        if let NodeEvent::Acceptance(view) = event.expect("events") {
                            match view.stage {
                                AcceptanceStage::Done { .. } => invitee_done = true,
                                AcceptanceStage::Failed { reason } => panic!("{reason}"),
                                _ => {}
                            }
                        }
                    }
                    event = alice_events.recv() => {
                        if let NodeEvent::InvitationAccepted { .. } = event.expect("events") {
                            inviter_done = true;
                        }
                    }
                }
            }
        };
        tokio::time::timeout(TIMEOUT, both)
            .await
            .expect("formed in time");
        let took = started.elapsed();
        if run == 0 {
            first = Some(took);
        } else {
            latencies.push(took);
        }
        bob.stop().await.expect("stop");
    }
    latencies.sort();
    println!(
        "relationship formation, loopback, {} runs: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (first, a cold connection: {:.1} ms)",
        latencies.len(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        first.unwrap_or_default().as_secs_f64() * 1e3,
    );
    alice.stop().await.expect("stop");
}
