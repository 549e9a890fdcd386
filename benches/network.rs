//! Fact propagation between two nodes on loopback TCP (mDNS off): latency from `write` on one
//! node to the fact being stored on the other, and sustained facts per second.
//!
//! `cargo bench --bench network`. `AURA_BENCH_LATENCY_N` and `AURA_BENCH_THROUGHPUT_N` change
//! the sample sizes (defaults 2,000 and 20,000), `AURA_BENCH_WINDOW` the writes the throughput run
//! keeps outstanding (default 512).

// Tests and benchmarks measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

// The tests' helpers: relationships are formed through real invitations.
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aura::node::{Node, NodeEvent, NodeHandle, NodeOptions};
use aura::state::fact::{ContextId, FactId};
use aura::state::kinds;
use libp2p::Multiaddr;
use tokio::sync::broadcast;

const CONTEXT: ContextId = ContextId([3; 32]);
const DEFAULT_LATENCY_N: usize = 2_000;
const DEFAULT_THROUGHPUT_N: usize = 20_000;
/// Writes the throughput run keeps outstanding (`AURA_BENCH_WINDOW`).
const DEFAULT_WINDOW: usize = 512;
const TIMEOUT: Duration = Duration::from_secs(120);
const BODY: &[u8] = b"a short chat message of about sixty bytes, as people write";

async fn start(path: &std::path::Path, dial: Vec<Multiaddr>) -> (NodeHandle, Multiaddr) {
    let mut options = NodeOptions::loopback(path).expect("options");
    options.dial = dial;
    options.sync_interval = Duration::from_secs(3600);
    options.guard = support::unthrottled();
    let node = Node::start(options).await.expect("node");
    node.join_context(CONTEXT).await.expect("join");
    let addr = node.dialable_addr().await.expect("address");
    (node, addr)
}

/// Waits until `id` is announced as stored.
async fn stored(events: &mut broadcast::Receiver<NodeEvent>, id: FactId) {
    loop {
        match events.recv().await {
            Ok(NodeEvent::FactsStored { ids, .. }) if ids.contains(&id) => return,
            Ok(_) => {}
            Err(err) => panic!("events: {err}"),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let latency_n = support::env_usize("AURA_BENCH_LATENCY_N", DEFAULT_LATENCY_N);
    let throughput_n = support::env_usize("AURA_BENCH_THROUGHPUT_N", DEFAULT_THROUGHPUT_N);
    let window = support::env_usize("AURA_BENCH_WINDOW", DEFAULT_WINDOW);
    let dir = tempfile::tempdir().expect("tempdir");
    let (b, b_addr) = start(&dir.path().join("b.redb"), Vec::new()).await;
    let (a, _) = start(&dir.path().join("a.redb"), vec![b_addr]).await;
    // A node serves its contacts only.
    support::friends::befriend(&b, &a).await;
    let deadline = Instant::now() + TIMEOUT;
    while a.mesh_peers(CONTEXT).await.expect("mesh") < 1
        || b.mesh_peers(CONTEXT).await.expect("mesh") < 1
    {
        assert!(Instant::now() < deadline, "no gossip mesh");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut events = b.subscribe();
    // Warm-up: connections, caches and the first store pages.
    for _ in 0..100 {
        let id = a
            .write(CONTEXT, kinds::MESSAGE, BODY.to_vec())
            .await
            .expect("write");
        stored(&mut events, id).await;
    }
    let mut latencies = Vec::with_capacity(latency_n);
    for _ in 0..latency_n {
        let start = Instant::now();
        let id = a
            .write(CONTEXT, kinds::MESSAGE, BODY.to_vec())
            .await
            .expect("write");
        tokio::time::timeout(TIMEOUT, stored(&mut events, id))
            .await
            .expect("delivered");
        latencies.push(start.elapsed());
    }
    latencies.sort();

    let mut events = b.subscribe();
    let start = Instant::now();
    let writer = {
        let a = a.clone();
        tokio::spawn(async move {
            let mut ids = HashSet::with_capacity(throughput_n);
            let mut pending = futures::stream::FuturesUnordered::new();
            use futures::StreamExt;
            for _ in 0..throughput_n {
                if pending.len() >= window {
                    if let Some(id) = pending.next().await {
                        ids.insert(id);
                    }
                }
                let a = a.clone();
                pending.push(async move {
                    a.write(CONTEXT, kinds::MESSAGE, BODY.to_vec())
                        .await
                        .expect("write")
                });
            }
            while let Some(id) = pending.next().await {
                ids.insert(id);
            }
            ids
        })
    };
    let mut received = 0usize;
    while received < throughput_n {
        match tokio::time::timeout(TIMEOUT, events.recv())
            .await
            .expect("delivered")
        {
            Ok(NodeEvent::FactsStored { ids, .. }) => received += ids.len(),
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(missed)) => received += missed as usize,
            Err(err) => panic!("events: {err}"),
        }
    }
    let elapsed = start.elapsed();
    let written = writer.await.expect("writer");
    assert_eq!(written.len(), throughput_n);
    assert_eq!(
        b.fact_count(CONTEXT).await.expect("count"),
        100 + latency_n + throughput_n
    );

    println!("| measure | result |");
    println!("|---|---|");
    println!(
        "| latency p50 ({latency_n} facts, one at a time) | {:.2} ms |",
        ms(percentile(&latencies, 0.50))
    );
    println!(
        "| latency p99 | {:.2} ms |",
        ms(percentile(&latencies, 0.99))
    );
    println!(
        "| latency max | {:.2} ms |",
        ms(latencies[latencies.len() - 1])
    );
    println!(
        "| sustained ({throughput_n} facts, {window} writes outstanding) | {:.0} facts/s ({:.2} s) |",
        throughput_n as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    drop(a.stop().await.expect("stop"));
    drop(b.stop().await.expect("stop"));
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
