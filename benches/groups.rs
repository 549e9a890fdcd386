//! Group messages between two nodes on loopback TCP (mDNS off), end to end: from `send` on
//! A (the message protected for the epoch, signed, stored, gossiped) until B has opened it
//! and stored it in its view. Then sustained messages per second.
//!
//! `cargo bench --bench groups`. `AURA_BENCH_LATENCY_N` and `AURA_BENCH_THROUGHPUT_N` change
//! the sample sizes (defaults 1,000 and 5,000), `AURA_BENCH_WINDOW` the sends the throughput
//! run keeps outstanding (default 256).

// Tests and benchmarks measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use aura::agent::GuardConfig;
use aura::agent::core::GroupAnswer;
use aura::node::{GroupReply, GroupRequest, Node, NodeClient, NodeEvent, NodeHandle, NodeOptions};
use tokio::sync::broadcast;

const DEFAULT_LATENCY_N: usize = 1_000;
const DEFAULT_THROUGHPUT_N: usize = 5_000;
const DEFAULT_WINDOW: usize = 256;
const TIMEOUT: Duration = Duration::from_secs(120);
const TEXT: &str = "a short chat message of about sixty bytes, as people write";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Budgets out of the way: the benchmark measures the path of a message, not the budgets.
fn unthrottled() -> GuardConfig {
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
    GuardConfig::from_config(&budgets)
}

async fn start(path: &std::path::Path) -> NodeHandle {
    let mut options = NodeOptions::loopback(path).expect("options");
    options.sync_interval = Duration::from_secs(3600);
    options.guard = unthrottled();
    Node::start(options).await.expect("node")
}

/// Waits until B has stored `count` more messages.
async fn received(events: &mut broadcast::Receiver<NodeEvent>, count: usize) {
    let mut seen = 0;
    while seen < count {
        match tokio::time::timeout(TIMEOUT, events.recv())
            .await
            .expect("delivered")
        {
            Ok(NodeEvent::GroupMessages { messages, .. }) => seen += messages,
            Ok(_) => {}
            Err(err) => panic!("events: {err}"),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn send(node: &NodeClient, group: &str) {
    let answer = node
        .group(GroupRequest::Send {
            group: group.to_owned(),
            text: TEXT.to_owned(),
            wait: false,
        })
        .await
        .expect("send");
    assert!(matches!(answer, GroupReply::Done(GroupAnswer::Queued)));
}

/// A group of A and B, B's membership settled.
async fn group_of_two(a: &NodeHandle, b: &NodeHandle) -> String {
    let bob = b.peer_id().to_base58();
    let deadline = Instant::now() + TIMEOUT;
    let id = loop {
        match a
            .group(GroupRequest::Create {
                name: "bench".into(),
                with: vec![bob.clone()],
            })
            .await
        {
            Ok(GroupReply::Done(GroupAnswer::Created { id, .. })) => break id,
            // B's KeyPackages have not reached A yet.
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("create: {other:?}"),
        }
    };
    loop {
        if let Ok(GroupReply::List(groups)) = b.group(GroupRequest::List).await
            && groups.iter().any(|g| g.id == id && g.members == 2)
        {
            return id;
        }
        assert!(Instant::now() < deadline, "B never joined");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let latency_n = env_usize("AURA_BENCH_LATENCY_N", DEFAULT_LATENCY_N);
    let throughput_n = env_usize("AURA_BENCH_THROUGHPUT_N", DEFAULT_THROUGHPUT_N);
    let window = env_usize("AURA_BENCH_WINDOW", DEFAULT_WINDOW);
    let dir = tempfile::tempdir().expect("tempdir");
    let a = start(&dir.path().join("a.redb")).await;
    let b = start(&dir.path().join("b.redb")).await;
    support::friends::befriend(&a, &b).await;
    let group = group_of_two(&a, &b).await;

    let mut events = b.subscribe();
    // Warm-up: connections, the gossip mesh, caches and the first store pages.
    for _ in 0..100 {
        send(&a, &group).await;
        received(&mut events, 1).await;
    }
    let mut latencies = Vec::with_capacity(latency_n);
    for _ in 0..latency_n {
        let start = Instant::now();
        send(&a, &group).await;
        received(&mut events, 1).await;
        latencies.push(start.elapsed());
    }
    latencies.sort();

    let mut events = b.subscribe();
    let start = Instant::now();
    let writer = {
        let a = a.clone();
        let group = group.clone();
        tokio::spawn(async move {
            use futures::StreamExt;
            let mut pending = futures::stream::FuturesUnordered::new();
            for _ in 0..throughput_n {
                if pending.len() >= window {
                    pending.next().await;
                }
                let a = a.clone();
                let group = group.clone();
                pending.push(async move {
                    send(&a, &group).await;
                });
            }
            while pending.next().await.is_some() {}
        })
    };
    received(&mut events, throughput_n).await;
    let elapsed = start.elapsed();
    writer.await.expect("writer");

    println!("| measure | result |");
    println!("|---|---|");
    println!(
        "| message latency p50 ({latency_n} messages, one at a time) | {:.2} ms |",
        ms(percentile(&latencies, 0.50))
    );
    println!(
        "| message latency p99 | {:.2} ms |",
        ms(percentile(&latencies, 0.99))
    );
    println!(
        "| message latency max | {:.2} ms |",
        ms(latencies[latencies.len() - 1])
    );
    println!(
        "| sustained ({throughput_n} messages, {window} sends outstanding) | {:.0} messages/s ({:.2} s) |",
        throughput_n as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    drop(a.stop().await.expect("stop"));
    drop(b.stop().await.expect("stop"));
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
