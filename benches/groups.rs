//! Group messages between two nodes on loopback TCP (mDNS off), end to end: from `send` on
//! A (the message protected for the epoch, signed, stored, gossiped) until B has opened it
//! and stored it in its view. Then sustained messages per second.
//!
//! Then convergence: in a group of five, four members commit at the same moment; the time
//! until all five hold the same epoch and keys. And catch-up: C is stopped while A writes
//! 10,000 messages and makes 50 commits; the time from C's start until it holds them all.
//!
//! `cargo bench --bench groups`. `AURA_BENCH_LATENCY_N` and `AURA_BENCH_THROUGHPUT_N` change
//! the sample sizes (defaults 1,000 and 5,000), `AURA_BENCH_WINDOW` the sends the throughput
//! run keeps outstanding (default 256), `AURA_BENCH_CATCH_UP_N` and
//! `AURA_BENCH_CATCH_UP_COMMITS` the catch-up (10,000 and 50).

// Tests and benchmarks measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use aura::agent::core::GroupAnswer;
use aura::node::{GroupReply, GroupRequest, Node, NodeClient, NodeEvent, NodeHandle, NodeOptions};
use tokio::sync::broadcast;

const DEFAULT_LATENCY_N: usize = 1_000;
const DEFAULT_THROUGHPUT_N: usize = 5_000;
const DEFAULT_WINDOW: usize = 256;
const DEFAULT_CATCH_UP_N: usize = 10_000;
const DEFAULT_CATCH_UP_COMMITS: usize = 50;
const CONVERGENCE_ROUNDS: usize = 5;
const TIMEOUT: Duration = Duration::from_secs(120);
const TEXT: &str = "a short chat message of about sixty bytes, as people write";

async fn start(path: &std::path::Path) -> NodeHandle {
    start_with(path, Duration::from_secs(3600)).await
}

async fn start_with(path: &std::path::Path, sync_interval: Duration) -> NodeHandle {
    let mut options = NodeOptions::loopback(path).expect("options");
    options.sync_interval = sync_interval;
    options.guard = support::unthrottled();
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
    group_of(a, &[b]).await
}

async fn view(node: &NodeClient, id: &str) -> Option<aura::groups::views::GroupView> {
    match node.group(GroupRequest::List).await {
        Ok(GroupReply::List(groups)) => groups.into_iter().find(|g| g.id == id),
        _ => None,
    }
}

/// A group of `a` and `others` (its contacts), every membership settled.
async fn group_of(a: &NodeHandle, others: &[&NodeHandle]) -> String {
    let with: Vec<String> = others.iter().map(|n| n.peer_id().to_base58()).collect();
    let deadline = Instant::now() + TIMEOUT;
    let id = loop {
        match a
            .group(GroupRequest::Create {
                name: "bench".into(),
                with: with.clone(),
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
    for node in others {
        while view(node, &id)
            .await
            .is_none_or(|g| g.members != others.len() + 1)
        {
            assert!(Instant::now() < deadline, "a member never joined");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    id
}

/// Waits until every node holds the same epoch and keys; returns the epoch.
async fn agreed(nodes: &[&NodeHandle], id: &str, after: u64) -> u64 {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut seen = std::collections::BTreeSet::new();
        for node in nodes {
            seen.insert(view(node, id).await.map(|g| (g.epoch, g.fingerprint)));
        }
        if let [Some((epoch, _))] = seen.iter().collect::<Vec<_>>().as_slice()
            && *epoch > after
        {
            return *epoch;
        }
        assert!(Instant::now() < deadline, "no agreement: {seen:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Four members of a group of five renew their keys at the same moment, a few times; the
/// times until all five agree again.
async fn convergence(dir: &std::path::Path) -> Vec<Duration> {
    let mut nodes = Vec::new();
    for index in 0..5 {
        nodes.push(start(&dir.join(format!("converge-{index}.redb"))).await);
    }
    for other in &nodes[1..] {
        support::friends::befriend(&nodes[0], other).await;
    }
    let others: Vec<&NodeHandle> = nodes[1..].iter().collect();
    let id = group_of(&nodes[0], &others).await;
    let all: Vec<&NodeHandle> = nodes.iter().collect();
    let mut epoch = agreed(&all, &id, 0).await;
    let mut times = Vec::new();
    for _ in 0..CONVERGENCE_ROUNDS {
        let start = Instant::now();
        let asks = nodes[1..]
            .iter()
            .map(|node| node.group(GroupRequest::Update { group: id.clone() }));
        for answer in futures::future::join_all(asks).await {
            answer.expect("update");
        }
        // Four commits: the winner, then the three asked again on it.
        epoch = agreed(&all, &id, epoch + 3).await;
        times.push(start.elapsed());
    }
    for node in nodes {
        drop(node.stop().await.expect("stop"));
    }
    times
}

/// C is away while A writes `messages` and makes `commits` commits; the time from C's start
/// until it holds every message.
async fn catch_up(dir: &std::path::Path, messages: usize, commits: usize) -> Duration {
    let a = start(&dir.join("catch-a.redb")).await;
    let c_path = dir.join("catch-c.redb");
    let c = start_with(&c_path, Duration::from_secs(1)).await;
    support::friends::befriend(&a, &c).await;
    let id = group_of(&a, &[&c]).await;
    drop(c.stop().await.expect("stop"));
    let window = 256;
    {
        use futures::StreamExt;
        let mut pending = futures::stream::FuturesUnordered::new();
        for _ in 0..messages {
            if pending.len() >= window {
                pending.next().await;
            }
            let a = a.clone();
            let id = id.clone();
            pending.push(async move { send(&a, &id).await });
        }
        while pending.next().await.is_some() {}
    }
    let mut epoch = view(&a, &id).await.expect("group").epoch;
    for _ in 0..commits {
        a.group(GroupRequest::Update { group: id.clone() })
            .await
            .expect("update");
        epoch = agreed(&[&a], &id, epoch).await;
    }
    let start = Instant::now();
    let c = start_with(&c_path, Duration::from_secs(1)).await;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let held = match c
            .group(GroupRequest::Log {
                group: id.clone(),
                limit: messages + 10,
                mark_read: false,
            })
            .await
        {
            Ok(GroupReply::Log(log)) => log.messages.len(),
            _ => 0,
        };
        if held >= messages && view(&c, &id).await.is_some_and(|g| g.epoch >= epoch) {
            break;
        }
        assert!(Instant::now() < deadline, "C never caught up ({held})");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = start.elapsed();
    drop(a.stop().await.expect("stop"));
    drop(c.stop().await.expect("stop"));
    elapsed
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let latency_n = support::env_usize("AURA_BENCH_LATENCY_N", DEFAULT_LATENCY_N);
    let throughput_n = support::env_usize("AURA_BENCH_THROUGHPUT_N", DEFAULT_THROUGHPUT_N);
    let window = support::env_usize("AURA_BENCH_WINDOW", DEFAULT_WINDOW);
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

    drop(a.stop().await.expect("stop"));
    drop(b.stop().await.expect("stop"));
    let mut converged = convergence(dir.path()).await;
    converged.sort();
    let catch_up_n = support::env_usize("AURA_BENCH_CATCH_UP_N", DEFAULT_CATCH_UP_N);
    let catch_up_commits =
        support::env_usize("AURA_BENCH_CATCH_UP_COMMITS", DEFAULT_CATCH_UP_COMMITS);
    let caught_up = catch_up(dir.path(), catch_up_n, catch_up_commits).await;

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
    println!(
        "| convergence after 4 concurrent commits, group of 5 (median of {CONVERGENCE_ROUNDS}; min, max) | {:.2} s ({:.2}, {:.2}) |",
        converged[converged.len() / 2].as_secs_f64(),
        converged[0].as_secs_f64(),
        converged[converged.len() - 1].as_secs_f64()
    );
    println!(
        "| catch-up of {catch_up_n} missed messages and {catch_up_commits} commits | {:.2} s |",
        caught_up.as_secs_f64()
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
