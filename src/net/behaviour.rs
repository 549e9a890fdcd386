//! The libp2p behaviours of a node and their settings.

use std::time::Duration;

use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{StreamProtocol, gossipsub, identify, identity::Keypair, kad, mdns, ping};
use sha2::{Digest, Sha256};

// The behaviours that let peers behind NAT reach each other, and the connection limits.
use libp2p::{autonat, connection_limits, dcutr, relay};

use crate::state::limits::MAX_FRAME_BYTES;

/// Protocol name identify announces.
const IDENTIFY_PROTOCOL: &str = "/aura/id/1";
/// Groups have 2 to 10 peers, usually fewer than a mesh wants. A node below `MESH_N_LOW`
/// grafts every subscribed peer it knows at each heartbeat, so in a small group the mesh is
/// the whole group and every node forwards to all of it; publishing also floods to every
/// subscribed peer, so a fact never waits for a mesh to form.
const MESH_N: usize = 6;
const MESH_N_LOW: usize = 4;
const MESH_N_HIGH: usize = 12;
const MESH_OUTBOUND_MIN: usize = 0;
/// A short heartbeat grafts a new neighbour into the mesh quickly after it subscribes.
const HEARTBEAT: Duration = Duration::from_millis(200);
/// The protocol of session streams: each carries one run of a session-typed choreography
/// (see [`crate::agent::session`]).
pub const SESSION_PROTOCOL: StreamProtocol = StreamProtocol::new("/aura/session/1");

/// Connections established at once, in both directions. A member of a few groups of 2–10
/// talks to tens of peers; the rest of the room is for the Kademlia and AutoNAT traffic of
/// strangers, which must not grow without end.
pub const MAX_ESTABLISHED_CONNECTIONS: u32 = 128;
/// Connections to one peer: one direct and one relayed, plus the brief overlap of a hole
/// punch or of both sides dialling at once. More is a peer wasting this node's resources.
pub const MAX_CONNECTIONS_PER_PEER: u32 = 4;
/// Incoming connections still in their handshake; bounds what a flood of dials can cost.
pub const MAX_PENDING_INCOMING: u32 = 32;

#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// First, so that a connection over the limits is refused before any other behaviour
    /// sets up a handler for it.
    pub limits: connection_limits::Behaviour,
    pub relay_client: relay::client::Behaviour,
    pub dcutr: dcutr::Behaviour,
    pub autonat: autonat::Behaviour,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub mdns: Toggle<mdns::tokio::Behaviour>,
    pub kad: kad::Behaviour<kad::store::MemoryStore>,
    pub gossipsub: gossipsub::Behaviour,
    pub sessions: libp2p_stream::Behaviour,
}

impl std::fmt::Debug for Behaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Behaviour").finish_non_exhaustive()
    }
}

/// The gossip message id is the id of the fact it carries: a fact is named by the SHA-256 of
/// its canonical encoding, and a gossip message's data is exactly that encoding, so the same
/// fact gossiped twice (by any peer, at any time) is recognised as one message.
fn fact_message_id(message: &gossipsub::Message) -> gossipsub::MessageId {
    gossipsub::MessageId::from(Sha256::digest(&message.data).to_vec())
}

fn gossipsub_config() -> Result<gossipsub::Config, gossipsub::ConfigBuilderError> {
    gossipsub::ConfigBuilder::default()
        .mesh_n(MESH_N)
        .mesh_n_low(MESH_N_LOW)
        .mesh_n_high(MESH_N_HIGH)
        .mesh_outbound_min(MESH_OUTBOUND_MIN)
        .heartbeat_interval(HEARTBEAT)
        .flood_publish(true)
        .max_transmit_size(MAX_FRAME_BYTES + 1024)
        // Facts carry their author's signature; a second signature per message would only
        // cost time, and anonymous messages carry no sequence number to leak.
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        // A message is forwarded only once the agent found its fact valid, so a forged or
        // malformed fact stops at the first honest node, and its sender is held to it.
        .validate_messages()
        .message_id_fn(fact_message_id)
        .build()
}

#[derive(Debug, thiserror::Error)]
pub enum BehaviourError {
    #[error("gossipsub settings: {0}")]
    Gossipsub(String),
    #[error("mDNS: {0}")]
    Mdns(std::io::Error),
}

fn connection_limits() -> connection_limits::Behaviour {
    connection_limits::Behaviour::new(
        connection_limits::ConnectionLimits::default()
            .with_max_established(Some(MAX_ESTABLISHED_CONNECTIONS))
            .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
            .with_max_pending_incoming(Some(MAX_PENDING_INCOMING)),
    )
}

impl Behaviour {
    /// `relay_client` is the behaviour half of the relay transport the swarm was built with.
    pub fn new(
        key: &Keypair,
        mdns: bool,
        relay_client: relay::client::Behaviour,
    ) -> Result<Self, BehaviourError> {
        let peer_id = key.public().to_peer_id();
        let gossip_config =
            gossipsub_config().map_err(|err| BehaviourError::Gossipsub(err.to_string()))?;
        let gossipsub =
            gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossip_config)
                .map_err(|err| BehaviourError::Gossipsub(err.to_owned()))?;
        let mdns = if mdns {
            Some(
                mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id)
                    .map_err(BehaviourError::Mdns)?,
            )
        } else {
            None
        };
        let mut kad = kad::Behaviour::new(peer_id, kad::store::MemoryStore::new(peer_id));
        kad.set_mode(Some(kad::Mode::Server));
        Ok(Self {
            limits: connection_limits(),
            relay_client,
            dcutr: dcutr::Behaviour::new(peer_id),
            // The defaults probe 15 s after start and every 15 minutes once sure, and, as a
            // server, dial back only clients seen at global addresses, with throttling.
            autonat: autonat::Behaviour::new(peer_id, autonat::Config::default()),
            identify: identify::Behaviour::new(identify::Config::new(
                IDENTIFY_PROTOCOL.to_owned(),
                key.public(),
            )),
            ping: ping::Behaviour::default(),
            mdns: Toggle::from(mdns),
            kad,
            gossipsub,
            sessions: libp2p_stream::Behaviour::new(),
        })
    }
}
