//! Reaching peers that cannot be dialled directly, finding peers through Kademlia, and the
//! connection limits: real nodes (`aura::node::Node::start`) and small test swarms, on loopback
//! only, with mDNS off.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aura::net::NetInfo;
use aura::net::behaviour::MAX_CONNECTIONS_PER_PEER;
use aura::net::node;
use aura::net::peer_addr::PeerAddr;
use aura::node::{NodeHandle, NodeOptions, Reach};
use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent, dummy};
use libp2p::{Multiaddr, PeerId, Swarm, identify, relay};
use support::poll::{TIMEOUT, eventually};

const LOOPBACK_TCP: &str = "/ip4/127.0.0.1/tcp/0";
/// Dials the connection-limit test makes to one node, twice what one peer may hold.
const DIALS: usize = 2 * MAX_CONNECTIONS_PER_PEER as usize;

fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("aura=debug")
        .with_test_writer()
        .try_init();
}

/// A real node on a store of its own.
struct Node {
    handle: NodeHandle,
    peer_id: PeerId,
    /// Its direct loopback address, ending in /p2p/PEER_ID.
    addr: Multiaddr,
    _dir: tempfile::TempDir,
}

impl Node {
    async fn start(extra_listen: Vec<Multiaddr>, bootstrap: Vec<Multiaddr>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut options = NodeOptions::loopback(&dir.path().join("store.redb")).unwrap();
        options.listen.extend(extra_listen);
        options.bootstrap = bootstrap;
        let handle = aura::node::Node::start(options).await.unwrap();
        let peer_id = handle.peer_id();
        let direct = handle
            .status()
            .await
            .unwrap()
            .net
            .listen_addrs
            .into_iter()
            .find(|a| !node::is_relayed(a))
            .unwrap();
        Self {
            handle,
            peer_id,
            addr: direct.with(Protocol::P2p(peer_id)),
            _dir: dir,
        }
    }

    async fn info(&self) -> NetInfo {
        self.handle.status().await.unwrap().net
    }

    /// Adds `addr` as a peer and expects it reached.
    async fn connect(&self, addr: &Multiaddr) {
        let addr = PeerAddr::parse(&addr.to_string(), &self.peer_id).unwrap();
        let added = self.handle.add_peer(addr).await.unwrap();
        assert_eq!(added.reach, Reach::Connected);
    }
}

#[derive(NetworkBehaviour)]
struct RelayServer {
    relay: relay::Behaviour,
    identify: identify::Behaviour,
}

/// Starts a relay on loopback and returns its address, ending in /p2p/PEER_ID.
async fn start_relay() -> Multiaddr {
    let mut swarm = support::swarm::tcp_swarm(
        |key| RelayServer {
            relay: relay::Behaviour::new(key.public().to_peer_id(), relay::Config::default()),
            identify: identify::Behaviour::new(identify::Config::new(
                "/aura-test-relay/1".to_owned(),
                key.public(),
            )),
        },
        TIMEOUT,
    );
    swarm.listen_on(LOOPBACK_TCP.parse().unwrap()).unwrap();
    let listen = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address;
        }
    };
    // A relay offers reservations only at addresses it knows to be reachable, and names them
    // in each reservation.
    swarm.add_external_address(listen.clone());
    let addr = listen.with(Protocol::P2p(*swarm.local_peer_id()));
    tokio::spawn(async move {
        loop {
            if let SwarmEvent::Behaviour(RelayServerEvent::Relay(event)) =
                swarm.select_next_some().await
            {
                tracing::debug!(?event, "test relay");
            }
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_a_relay_reservation_is_reached_through_the_relay() {
    logs();
    let relay = start_relay().await;
    let behind = Node::start(vec![relay.clone().with(Protocol::P2pCircuit)], Vec::new()).await;
    let expected = relay
        .clone()
        .with(Protocol::P2pCircuit)
        .with(Protocol::P2p(behind.peer_id));
    eventually("the relay reservation", || async {
        behind
            .info()
            .await
            .relayed_addrs()
            .any(|addr| *addr == expected)
    })
    .await;

    // The dialler knows the other node only by its relayed address; the dial resolves when
    // the connection through the relay is established (DCUtR may add a direct one after).
    let dialler = Node::start(Vec::new(), Vec::new()).await;
    dialler.connect(&expected).await;
    eventually(
        "the dialler connected to the node behind the relay",
        || async { dialler.info().await.connected.contains(&behind.peer_id) },
    )
    .await;
    eventually(
        "the node behind the relay connected to the dialler",
        || async { behind.info().await.connected.contains(&dialler.peer_id) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kademlia_bootstrap_finds_a_peer_known_only_to_the_bootstrap_node() {
    logs();
    let hub = Node::start(Vec::new(), Vec::new()).await;
    let first = Node::start(Vec::new(), vec![hub.addr.clone()]).await;
    eventually("the bootstrap node to know the first peer", || async {
        hub.info().await.routing_table.contains(&first.peer_id)
    })
    .await;

    // The last node is told only of the bootstrap node, and nothing else tells it of the
    // first: mDNS is off and identify names only the peer it runs with.
    let last = Node::start(Vec::new(), vec![hub.addr.clone()]).await;
    eventually(
        "the last node to find the first through Kademlia",
        || async {
            let info = last.info().await;
            info.routing_table.contains(&first.peer_id) && info.connected.contains(&first.peer_id)
        },
    )
    .await;
}

/// Counts what the dialling swarm sees: dials resolved either way, and connections open.
#[derive(Default)]
struct DialCounts {
    resolved: AtomicUsize,
    open: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_cannot_open_more_connections_than_the_per_peer_limit() {
    logs();
    let target = Node::start(Vec::new(), Vec::new()).await;
    // A swarm with no protocols: nothing but the dials themselves reaches the node.
    // Idle connections stay far longer than the test may run: they must not close under it.
    let mut greedy: Swarm<dummy::Behaviour> =
        support::swarm::tcp_swarm(|_| dummy::Behaviour, 10 * TIMEOUT);
    for _ in 0..DIALS {
        greedy
            .dial(
                DialOpts::peer_id(target.peer_id)
                    .addresses(vec![target.addr.clone()])
                    .condition(PeerCondition::Always)
                    .build(),
            )
            .unwrap();
    }
    let counts = Arc::new(DialCounts::default());
    let seen = counts.clone();
    let driver = tokio::spawn(async move {
        loop {
            match greedy.select_next_some().await {
                SwarmEvent::ConnectionEstablished { .. } => {
                    seen.open.fetch_add(1, Ordering::SeqCst);
                    seen.resolved.fetch_add(1, Ordering::SeqCst);
                }
                SwarmEvent::OutgoingConnectionError { .. } => {
                    seen.resolved.fetch_add(1, Ordering::SeqCst);
                }
                SwarmEvent::ConnectionClosed { .. } => {
                    seen.open.fetch_sub(1, Ordering::SeqCst);
                }
                _ => {}
            }
        }
    });
    eventually("every dial to resolve", || async {
        counts.resolved.load(Ordering::SeqCst) == DIALS
    })
    .await;
    eventually("the connections over the limit to close", || async {
        counts.open.load(Ordering::SeqCst) == MAX_CONNECTIONS_PER_PEER as usize
    })
    .await;
    let info = target.info().await;
    assert_eq!(info.connections, MAX_CONNECTIONS_PER_PEER);

    // The node is still up and still takes connections from other peers.
    let other = Node::start(Vec::new(), Vec::new()).await;
    other.connect(&target.addr).await;
    eventually("another peer to connect", || async {
        target.info().await.connected.contains(&other.peer_id)
    })
    .await;
    assert_eq!(
        counts.open.load(Ordering::SeqCst),
        MAX_CONNECTIONS_PER_PEER as usize
    );
    driver.abort();
}
