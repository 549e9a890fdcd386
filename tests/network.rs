//! Nodes in one process over real loopback sockets (TCP and QUIC), with mDNS off: gossip along
//! a chain, catch-up by anti-entropy after a restart on the same store, and small groups.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aura::node::{Node as RunningNode, NodeHandle, NodeOptions};
use aura::state::fact::ContextId;
use aura::state::kinds;
use libp2p::Multiaddr;
use support::friends::{befriend, befriend_chain};
use support::poll::eventually;

/// Periodic anti-entropy is kept out of the way, so that what a test sees arrived by gossip
/// or by the sync that starts when peers meet.
const QUIET_SYNC_INTERVAL: Duration = Duration::from_secs(3600);
const CONTEXT: ContextId = ContextId([7; 32]);

#[derive(Clone, Copy, Debug)]
enum Transport {
    Tcp,
    Quic,
}

impl Transport {
    fn listen(self) -> Multiaddr {
        match self {
            Self::Tcp => "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            Self::Quic => "/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap(),
        }
    }
}

struct Node {
    agent: NodeHandle,
    /// A dialable address, ending in /p2p/PEER_ID.
    addr: Multiaddr,
    store_path: PathBuf,
}

async fn start(store_path: &Path, transport: Transport, dial: Vec<Multiaddr>) -> Node {
    start_with(store_path, transport, dial, QUIET_SYNC_INTERVAL).await
}

async fn start_with(
    store_path: &Path,
    transport: Transport,
    dial: Vec<Multiaddr>,
    sync_interval: Duration,
) -> Node {
    let mut options = NodeOptions::loopback(store_path).unwrap();
    options.listen = vec![transport.listen()];
    options.dial = dial;
    options.sync_interval = sync_interval;
    let agent = RunningNode::start(options).await.unwrap();
    agent.join_context(CONTEXT).await.unwrap();
    let addr = agent.dialable_addr().await.unwrap();
    Node {
        agent,
        addr,
        store_path: store_path.to_owned(),
    }
}

impl Node {
    async fn stop(self) -> PathBuf {
        drop(self.agent.stop().await.unwrap());
        self.store_path
    }

    async fn facts(&self) -> usize {
        self.agent.fact_count(CONTEXT).await.unwrap()
    }

    async fn write(&self, text: &str) {
        self.agent
            .write(CONTEXT, kinds::MESSAGE, text.as_bytes().to_vec())
            .await
            .unwrap();
    }
}

async fn all_have(nodes: &[&Node], count: usize) -> bool {
    for node in nodes {
        if node.facts().await < count {
            return false;
        }
    }
    true
}

/// Waits until each node's gossip mesh holds all of its neighbours.
async fn meshed(nodes: &[&Node], neighbours: &[usize]) {
    eventually("gossip meshes", || async {
        for (node, want) in nodes.iter().zip(neighbours) {
            if node.agent.mesh_peers(CONTEXT).await.unwrap() < *want {
                return false;
            }
        }
        true
    })
    .await;
}

async fn chain_of_five(transport: Transport) {
    let dir = tempfile::tempdir().unwrap();
    // Started from the far end so that each node can dial the next one.
    let mut nodes: Vec<Node> = Vec::new();
    for index in (0..5).rev() {
        let dial = nodes
            .last()
            .map(|next| vec![next.addr.clone()])
            .unwrap_or_default();
        let path = dir.path().join(format!("node{index}.redb"));
        nodes.push(start(&path, transport, dial).await);
    }
    nodes.reverse();
    let refs: Vec<&Node> = nodes.iter().collect();
    // Neighbours are contacts; the ends know each other only through the chain.
    befriend_chain(&refs.iter().map(|node| &node.agent).collect::<Vec<_>>()).await;
    meshed(&refs, &[1, 2, 2, 2, 1]).await;

    nodes[0].write("from the first").await;
    nodes[4].write("from the last").await;
    eventually("both ends' facts everywhere by gossip", || {
        all_have(&refs, 2)
    })
    .await;

    let mut nodes = nodes.into_iter();
    let first = nodes.next().unwrap();
    let rest: Vec<Node> = nodes.collect();
    let first_path = first.stop().await;
    for n in 0..3 {
        rest[3]
            .write(&format!("while the first was away {n}"))
            .await;
    }
    let rest_refs: Vec<&Node> = rest.iter().collect();
    eventually("facts along the rest of the chain", || {
        all_have(&rest_refs, 5)
    })
    .await;

    let restarted = start(&first_path, transport, vec![rest[0].addr.clone()]).await;
    eventually("the restarted node to catch up", || async {
        restarted.facts().await >= 5
    })
    .await;
    restarted.stop().await;
    for node in rest {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_in_a_chain_over_tcp_gossip_and_catch_up_after_restart() {
    chain_of_five(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_in_a_chain_over_quic_gossip_and_catch_up_after_restart() {
    chain_of_five(Transport::Quic).await;
}

/// Every node of a small group receives every fact by gossip: no node has as many peers as
/// the mesh would like, which must not stop publishing.
async fn small_group(size: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes: Vec<Node> = Vec::new();
    for index in 0..size {
        let dial = nodes.iter().map(|node| node.addr.clone()).collect();
        let path = dir.path().join(format!("node{index}.redb"));
        nodes.push(start(&path, Transport::Tcp, dial).await);
    }
    for (index, inviter) in nodes.iter().enumerate() {
        for invitee in &nodes[index + 1..] {
            befriend(&inviter.agent, &invitee.agent).await;
        }
    }
    let refs: Vec<&Node> = nodes.iter().collect();
    meshed(&refs, &vec![size - 1; size]).await;
    const PER_NODE: usize = 10;
    for (index, node) in nodes.iter().enumerate() {
        for n in 0..PER_NODE {
            node.write(&format!("{index}:{n}")).await;
        }
    }
    eventually("every fact on every node", || {
        all_have(&refs, size * PER_NODE)
    })
    .await;
    for node in &nodes {
        let status = node.agent.status().await.unwrap();
        assert_eq!(status.net.connected.len(), size - 1);
    }
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_of_two_loses_no_gossip() {
    small_group(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_of_three_loses_no_gossip() {
    small_group(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_joins_a_context_late_catches_up_by_anti_entropy() {
    const LATE: ContextId = ContextId([8; 32]);
    let dir = tempfile::tempdir().unwrap();
    let interval = Duration::from_millis(300);
    let a = start_with(
        &dir.path().join("a.redb"),
        Transport::Tcp,
        Vec::new(),
        interval,
    )
    .await;
    let b = start_with(
        &dir.path().join("b.redb"),
        Transport::Tcp,
        vec![a.addr.clone()],
        interval,
    )
    .await;
    befriend(&a.agent, &b.agent).await;
    meshed(&[&a, &b], &[1, 1]).await;
    a.agent.join_context(LATE).await.unwrap();
    for n in 0..3 {
        // b is not subscribed to LATE: gossip cannot reach it.
        a.agent
            .write(LATE, kinds::MESSAGE, format!("early {n}").into_bytes())
            .await
            .unwrap();
    }
    b.agent.join_context(LATE).await.unwrap();
    eventually("b to catch up on the late context", || async {
        b.agent.fact_count(LATE).await.unwrap() >= 3
    })
    .await;
    assert_eq!(b.agent.status().await.unwrap().net.violations_total(), 0);
    assert_eq!(a.agent.status().await.unwrap().net.violations_total(), 0);
    a.stop().await;
    b.stop().await;
}
