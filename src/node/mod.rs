//! The composition root: [`Node::start`] builds a running node (store, identity, network,
//! agent, control socket) from [`NodeOptions`], for the TUI, `aura daemon`, the tests and the
//! benchmarks alike, and [`NodeHandle::stop`] takes it down cleanly.
//!
//! - [`client`] — [`NodeClient`], the cloneable handle front ends ask the node through.
//! - [`event`] — [`NodeEvent`], the one event type the node publishes.
//! - [`status`] — what the node reports: status, sessions, saved peers, a peer added.
//! - [`saved_peers`] — the peers a profile keeps in touch with, read and changed in one place.
//! - [`error`] — [`NodeError`].

pub mod client;
pub mod error;
pub mod event;
pub mod saved_peers;
pub mod status;

use std::path::{Path, PathBuf};
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::broadcast;

pub use client::{
    GroupReply, GroupRequest, InviteOptions, InviteRequest, NodeClient, PolicyEdit, TrustQuery,
};
pub use error::NodeError;
pub use event::NodeEvent;
pub use status::{NodeStatus, PeerAdded, PeerEntry, Reach, SessionCounters};

use crate::agent::{self, AgentConfig, GuardConfig};
use crate::config::Config;
use crate::control::{self, ControlServer, NodeIdentity};
use crate::identity::DeviceIdentity;
use crate::net::NetConfig;
use crate::state::Store;

/// Everything a node is built from.
#[derive(Debug)]
pub struct NodeOptions {
    /// The profile's name, as the control socket reports it.
    pub profile: String,
    pub store: Store,
    pub identity: DeviceIdentity,
    /// Addresses to listen on (relay circuits included).
    pub listen: Vec<Multiaddr>,
    pub mdns: bool,
    /// Kademlia bootstrap peers, each ending in `/p2p/PEER_ID`.
    pub bootstrap: Vec<Multiaddr>,
    /// Addresses dialled at start, besides the peers saved in the store.
    pub dial: Vec<Multiaddr>,
    /// The period of anti-entropy with a random peer of each context.
    pub sync_interval: Duration,
    pub guard: GuardConfig,
    /// Where to serve the control socket; `None` for nodes no CLI talks to.
    pub control_socket: Option<PathBuf>,
}

impl NodeOptions {
    /// A node as the configuration describes it.
    pub fn from_config(
        profile: &str,
        store: Store,
        identity: DeviceIdentity,
        config: &Config,
    ) -> Self {
        let network = &config.network;
        Self {
            profile: profile.to_owned(),
            store,
            identity,
            // A relay is listened through: the relay transport dials it and asks for a
            // reservation.
            listen: network
                .listen_addrs()
                .into_iter()
                .chain(network.relay_listen_addrs())
                .collect(),
            mdns: network.mdns,
            bootstrap: network.bootstrap_addrs(),
            dial: Vec::new(),
            sync_interval: Duration::from_secs(network.sync_interval_secs),
            guard: GuardConfig {
                trust_hop_limit: config.trust.hop_limit,
                ..GuardConfig::from_config(&config.budgets)
            },
            control_socket: None,
        }
    }

    /// A node on the store at `store_path` (created if missing) that listens on loopback TCP
    /// (a port the system picks) with mDNS off and the default configuration otherwise: what
    /// tests, benchmarks and local demo peers run.
    pub fn loopback(store_path: &Path) -> Result<Self, NodeError> {
        let store = Store::open(store_path, "local")?;
        let identity = DeviceIdentity::load_or_create(&store)?;
        let config = crate::config::defaults()?.config;
        let mut options = Self::from_config("local", store, identity, &config);
        options.listen =
            vec![Multiaddr::from(std::net::Ipv4Addr::LOCALHOST).with(Protocol::Tcp(0))];
        options.mdns = false;
        Ok(options)
    }
}

/// The composition root.
#[derive(Debug)]
pub struct Node;

impl Node {
    /// Starts the network, the agent and (if asked) the control socket on the current tokio
    /// runtime.
    pub async fn start(options: NodeOptions) -> Result<NodeHandle, NodeError> {
        let identity = options.identity;
        let config = AgentConfig {
            net: NetConfig {
                keypair: identity.keypair().clone(),
                listen: options.listen,
                mdns: options.mdns,
                bootstrap: options.bootstrap,
                dial: options.dial,
            },
            sync_interval: options.sync_interval,
            guard: options.guard,
        };
        let (profile, store, control_socket) =
            (options.profile, options.store, options.control_socket);
        let (client, first_events, task) =
            agent::spawn(store, identity.signing_key().clone(), config).await?;
        let first_events = Some(first_events);
        let control = match control_socket {
            Some(path) => Some(
                control::serve(
                    &path,
                    client.clone(),
                    NodeIdentity {
                        profile,
                        peer_id: identity.peer_id().to_base58(),
                        fingerprint: identity.fingerprint().to_string(),
                    },
                )
                .map_err(|err| NodeError::Control(err.to_string()))?,
            ),
            None => None,
        };
        Ok(NodeHandle {
            client,
            peer_id: identity.peer_id(),
            task,
            first_events,
            _control: control,
        })
    }
}

/// A running node. Dereferences to its [`NodeClient`].
#[derive(Debug)]
pub struct NodeHandle {
    client: NodeClient,
    peer_id: PeerId,
    task: tokio::task::JoinHandle<Store>,
    first_events: Option<broadcast::Receiver<NodeEvent>>,
    _control: Option<ControlServer>,
}

impl std::ops::Deref for NodeHandle {
    type Target = NodeClient;

    fn deref(&self) -> &NodeClient {
        &self.client
    }
}

impl NodeHandle {
    pub fn client(&self) -> NodeClient {
        self.client.clone()
    }

    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The node's events: from its start for the first caller, from now on for later ones.
    pub fn events(&mut self) -> broadcast::Receiver<NodeEvent> {
        self.first_events
            .take()
            .unwrap_or_else(|| self.client.subscribe())
    }

    /// A listen address with this node's `/p2p/` id appended: what another node dials.
    pub async fn dialable_addr(&self) -> Result<Multiaddr, NodeError> {
        let status = self.client.status().await?;
        let addr = status
            .net
            .listen_addrs
            .first()
            .cloned()
            .ok_or(NodeError::NotListening)?;
        Ok(addr.with(Protocol::P2p(self.peer_id)))
    }

    /// Stops the agent, the network and the control socket, and hands the store back (its
    /// lock is released when it is dropped).
    pub async fn stop(self) -> Result<Store, NodeError> {
        self.client.shutdown().await;
        let store = self.task.await.map_err(|_| NodeError::Stopped)?;
        drop(self._control);
        Ok(store)
    }
}
