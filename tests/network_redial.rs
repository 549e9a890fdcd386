//! Peers that restart are found again without the user: real nodes on loopback (mDNS off),
//! one restarted on the same fixed port, then on a new port that only a third node learns.

// Waiting on a real network takes real time.
#![allow(clippy::disallowed_methods)]

mod support;

use std::path::Path;
use std::time::Duration;

use aura::net::peer_addr::PeerAddr;
use aura::node::{Node, NodeHandle, NodeOptions, Reach};
use libp2p::{Multiaddr, PeerId};

/// How soon a lost peer must be connected again once it is back.
const RECONNECT_WITHIN: Duration = Duration::from_secs(10);

/// Kademlia bootstraps (and so dials every peer in its table) shortly after its routing
/// table changes; the test lets that pass first, so that what reconnects a lost peer is the
/// node's own redialling.
const KADEMLIA_SETTLE: Duration = Duration::from_secs(2);

/// A loopback TCP port nothing listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn start(store: &Path, port: u16, dial: Vec<Multiaddr>) -> NodeHandle {
    let mut options = NodeOptions::loopback(store).unwrap();
    options.listen = vec![format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()];
    options.dial = dial;
    Node::start(options).await.unwrap()
}

async fn connected(node: &NodeHandle, peer: PeerId) -> bool {
    node.status().await.unwrap().net.connected.contains(&peer)
}

/// Waits up to `limit` for `node` to be connected to `peer` (or not, with `want` false).
async fn wait_connected(node: &NodeHandle, peer: PeerId, want: bool, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if connected(node, peer).await == want {
            return true;
        }
        tokio::time::sleep(support::poll::POLL).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_peer_is_connected_again_on_its_old_port_and_on_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let (a_store, b_store, c_store) = (
        dir.path().join("a.redb"),
        dir.path().join("b.redb"),
        dir.path().join("c.redb"),
    );
    let b_port = free_port();
    let a = start(&a_store, 0, Vec::new()).await;
    let c = start(&c_store, 0, Vec::new()).await;
    let b = start(&b_store, b_port, Vec::new()).await;
    let b_peer = b.peer_id();
    for other in [&b, &c] {
        let addr = PeerAddr::parse(
            &other.dialable_addr().await.unwrap().to_string(),
            &a.peer_id(),
        )
        .unwrap();
        let added = a.add_peer(addr).await.unwrap();
        assert_eq!(added.reach, Reach::Connected);
    }

    // B stops and comes back on the same port.
    tokio::time::sleep(KADEMLIA_SETTLE).await;
    drop(b.stop().await.unwrap());
    assert!(wait_connected(&a, b_peer, false, support::poll::TIMEOUT).await);
    let b = start(&b_store, b_port, Vec::new()).await;
    assert!(
        wait_connected(&a, b_peer, true, RECONNECT_WITHIN).await,
        "not reconnected on the same port"
    );

    // B stops and comes back on another port, told only of C; A finds it again.
    tokio::time::sleep(KADEMLIA_SETTLE).await;
    drop(b.stop().await.unwrap());
    assert!(wait_connected(&a, b_peer, false, support::poll::TIMEOUT).await);
    let c_addr = c.dialable_addr().await.unwrap();
    let b = start(&b_store, free_port(), vec![c_addr]).await;
    assert!(
        wait_connected(&a, b_peer, true, RECONNECT_WITHIN).await,
        "not reconnected after moving ports"
    );
    for node in [a, b, c] {
        drop(node.stop().await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_on_a_fixed_port_in_use_fails_naming_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let first = start(&dir.path().join("first.redb"), port, Vec::new()).await;
    let mut options = NodeOptions::loopback(&dir.path().join("second.redb")).unwrap();
    options.listen = vec![format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()];
    let err = Node::start(options).await.unwrap_err().to_string();
    assert!(err.contains(&format!("/ip4/127.0.0.1/tcp/{port}")), "{err}");
    assert!(err.contains("in use"), "{err}");
    // An address no interface has fails with its reason, not an empty one.
    let mut options = NodeOptions::loopback(&dir.path().join("third.redb")).unwrap();
    options.listen = vec!["/ip4/192.0.2.1/tcp/0".parse().unwrap()];
    let err = Node::start(options).await.unwrap_err().to_string();
    assert!(err.contains("/ip4/192.0.2.1/tcp/0"), "{err}");
    assert!(!err.trim_end().ends_with(':'), "{err}");
    drop(first.stop().await.unwrap());
}
