//! The guard chain in front of a real node's sends, and the receive budgets behind it, over
//! loopback TCP: a guard that refuses sends nothing and says why; gossip dropped over a
//! peer's budget is repaired by periodic anti-entropy alone.

mod support;

use std::path::Path;
use std::time::Duration;

use aura::agent::GuardConfig;
use aura::config::BudgetsConfig;
use aura::node::{Node as RunningNode, NodeError, NodeHandle, NodeOptions};
use aura::protocol::guard::Denial;
use aura::state::fact::ContextId;
use aura::state::flow_budget::BudgetError;
use aura::state::kinds;
use libp2p::Multiaddr;
use support::friends::befriend;
use support::poll::eventually;

const QUIET_SYNC_INTERVAL: Duration = Duration::from_secs(3600);
const CONTEXT: ContextId = ContextId([5; 32]);

fn budgets(adjust: impl FnOnce(&mut BudgetsConfig)) -> GuardConfig {
    let mut budgets = aura::config::defaults().unwrap().config.budgets;
    adjust(&mut budgets);
    GuardConfig::from_config(&budgets)
}

struct Node {
    agent: NodeHandle,
    addr: Multiaddr,
}

async fn start(
    path: &Path,
    dial: Vec<Multiaddr>,
    guard: GuardConfig,
    sync_interval: Duration,
) -> Node {
    let mut options = NodeOptions::loopback(path).unwrap();
    options.dial = dial;
    options.guard = guard;
    options.sync_interval = sync_interval;
    let agent = RunningNode::start(options).await.unwrap();
    agent.join_context(CONTEXT).await.unwrap();
    let addr = agent.dialable_addr().await.unwrap();
    Node { agent, addr }
}

impl Node {
    async fn facts(&self) -> usize {
        self.agent.fact_count(CONTEXT).await.unwrap()
    }

    async fn stop(self) {
        drop(self.agent.stop().await.unwrap());
    }
}

async fn meshed(a: &Node, b: &Node) {
    eventually("the two nodes to mesh", || async {
        a.agent.mesh_peers(CONTEXT).await.unwrap() >= 1
            && b.agent.mesh_peers(CONTEXT).await.unwrap() >= 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_that_refuses_sends_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let honest = start(
        &dir.path().join("honest.redb"),
        Vec::new(),
        budgets(|_| {}),
        QUIET_SYNC_INTERVAL,
    )
    .await;
    // Members get no budget at all from this node, either way.
    let closed = start(
        &dir.path().join("closed.redb"),
        vec![honest.addr.clone()],
        budgets(|b| {
            b.limit_none = 0;
            b.limit_low = 0;
        }),
        QUIET_SYNC_INTERVAL,
    )
    .await;
    befriend(&honest.agent, &closed.agent).await;
    meshed(&honest, &closed).await;

    let refused = closed
        .agent
        .write(CONTEXT, kinds::MESSAGE, b"not sent".to_vec())
        .await;
    match refused {
        Err(NodeError::Denied(Denial::Flow(BudgetError::InsufficientBudget {
            available: 0,
            ..
        }))) => {}
        other => panic!("the write should be refused by the flow guard, got {other:?}"),
    }
    assert!(
        refused.unwrap_err().to_string().contains("not sent"),
        "the reason is worded for the user"
    );
    assert_eq!(closed.facts().await, 0, "a refused fact is not stored");

    // The honest node's facts reach the closed one only if it accepts them: it does not.
    honest
        .agent
        .write(CONTEXT, kinds::MESSAGE, b"dropped".to_vec())
        .await
        .unwrap();
    eventually("the closed node to drop the gossip", || async {
        closed.agent.status().await.unwrap().guard.dropped_inbound >= 1
    })
    .await;
    // The honest node paid for that publish toward the closed node (and perhaps for the Hello
    // of a session the closed node refused), and says so.
    let closed_device = closed
        .addr
        .iter()
        .find_map(|protocol| match protocol {
            libp2p::multiaddr::Protocol::P2p(peer) => aura::net::device_of(&peer),
            _ => None,
        })
        .unwrap();
    let report = honest.agent.budgets().await.unwrap();
    let budget = report.ledgers.budgets.get(CONTEXT, closed_device).unwrap();
    assert!(budget.spent >= 1, "{budget:?}");
    assert!(
        report.text().contains(&format!(
            "{} / {}",
            budget.limit - budget.spent,
            budget.limit
        )),
        "{}",
        report.text()
    );
    // Anti-entropy either way: the closed node's Hello is refused by its own guard, the
    // honest node's session is refused by the closed node's receive budget.
    closed.agent.sync_now(CONTEXT).await.unwrap();
    honest.agent.sync_now(CONTEXT).await.unwrap();
    eventually("both sessions to end", || async {
        let status = closed.agent.status().await.unwrap();
        status.sessions.denied >= 1 && status.sessions.refused >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = closed.agent.status().await.unwrap();
    assert_eq!(status.guard.denied_publishes, 1);
    assert_eq!(status.sessions.completed, 0);
    assert_eq!(closed.facts().await, 0, "nothing got through");
    assert_eq!(honest.facts().await, 1, "the honest node kept its own fact");
    let dropped = status.guard.dropped_inbound;
    closed.stop().await;
    honest.stop().await;

    // The receive ledger is kept: a restart does not forget who was refused.
    let closed = start(
        &dir.path().join("closed.redb"),
        Vec::new(),
        budgets(|b| {
            b.limit_none = 0;
            b.limit_low = 0;
        }),
        QUIET_SYNC_INTERVAL,
    )
    .await;
    assert_eq!(
        closed.agent.status().await.unwrap().guard.dropped_inbound,
        dropped
    );
    closed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_dropped_over_budget_is_repaired_by_periodic_anti_entropy() {
    const FACTS: usize = 24;
    const PERIOD: Duration = Duration::from_millis(300);
    let dir = tempfile::tempdir().unwrap();
    let writer = start(
        &dir.path().join("writer.redb"),
        Vec::new(),
        budgets(|b| b.epoch_secs = 1),
        PERIOD,
    )
    .await;
    // Takes a few facts per one-second epoch from each peer.
    let reader = start(
        &dir.path().join("reader.redb"),
        vec![writer.addr.clone()],
        budgets(|b| {
            b.epoch_secs = 1;
            b.limit_none = 4;
            b.limit_low = 4;
        }),
        PERIOD,
    )
    .await;
    befriend(&writer.agent, &reader.agent).await;
    meshed(&writer, &reader).await;
    for n in 0..FACTS {
        writer
            .agent
            .write(CONTEXT, kinds::MESSAGE, format!("fact {n}").into_bytes())
            .await
            .unwrap();
    }
    eventually("the reader to catch up", || async {
        reader.facts().await == FACTS
    })
    .await;
    let status = reader.agent.status().await.unwrap();
    assert!(
        status.guard.dropped_inbound > 0,
        "some gossip was over budget and dropped: {status:?}"
    );
    assert!(
        status.sessions.completed + status.sessions.denied > 0,
        "anti-entropy repaired it: {status:?}"
    );
    reader.stop().await;
    writer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_larger_than_the_largest_size_bucket_completes() {
    // About 400 KiB of facts: anti-entropy turns far above the 64 KiB top bucket.
    const FACTS: usize = 2_000;
    let roomy = || {
        budgets(|b| {
            b.leakage_group = 1 << 30;
            b.leakage_neighbour = 1 << 30;
            b.leakage_external = 1 << 30;
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let writer = start(
        &dir.path().join("writer.redb"),
        Vec::new(),
        roomy(),
        QUIET_SYNC_INTERVAL,
    )
    .await;
    let body = vec![b'x'; 150];
    for _ in 0..FACTS {
        writer
            .agent
            .write(CONTEXT, kinds::MESSAGE, body.clone())
            .await
            .unwrap();
    }
    let reader = start(
        &dir.path().join("reader.redb"),
        vec![writer.addr.clone()],
        budgets(|_| {}),
        QUIET_SYNC_INTERVAL,
    )
    .await;
    befriend(&writer.agent, &reader.agent).await;
    eventually("the reader to catch up", || async {
        let _ = reader.agent.sync_now(CONTEXT).await;
        reader.facts().await == FACTS
    })
    .await;
    let status = reader.agent.status().await.unwrap();
    assert!(status.sessions.completed >= 1, "{status:?}");
    reader.stop().await;
    writer.stop().await;
}
