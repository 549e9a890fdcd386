//! What the network reports about itself: addresses, peers, violations, reachability.

use std::collections::BTreeMap;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, autonat};

/// What the node reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetInfo {
    pub peer_id: Option<PeerId>,
    pub listen_addrs: Vec<Multiaddr>,
    pub connected: Vec<PeerId>,
    /// Protocol violations per peer: session streams that were malformed, oversized,
    /// truncated or out of turn, and gossip messages carrying invalid facts.
    pub violations: BTreeMap<PeerId, u64>,
    /// Whether peers can dial this node directly, as AutoNAT last concluded.
    pub nat_status: NatStatus,
    /// Connections established now, relayed ones included.
    pub connections: u32,
    /// The peers in the Kademlia routing table.
    pub routing_table: Vec<PeerId>,
}

impl NetInfo {
    pub fn violations_total(&self) -> u64 {
        self.violations.values().sum()
    }

    /// The listen addresses reached through a relay (reservations held now).
    pub fn relayed_addrs(&self) -> impl Iterator<Item = &Multiaddr> {
        self.listen_addrs.iter().filter(|addr| is_relayed(addr))
    }
}

/// Whether peers can dial this node directly, as AutoNAT concludes from asking peers to dial
/// it back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NatStatus {
    /// Not probed yet, or no peer could answer.
    #[default]
    Unknown,
    /// Peers reached this node at this address.
    Public(Multiaddr),
    /// Peers could not dial back: behind NAT or a firewall, reachable only through a relay.
    Private,
}

impl From<autonat::NatStatus> for NatStatus {
    fn from(status: autonat::NatStatus) -> Self {
        match status {
            autonat::NatStatus::Public(addr) => Self::Public(addr),
            autonat::NatStatus::Private => Self::Private,
            autonat::NatStatus::Unknown => Self::Unknown,
        }
    }
}

impl std::fmt::Display for NatStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown => f.write_str("unknown"),
            Self::Public(addr) => write!(f, "public at {addr}"),
            Self::Private => f.write_str("private"),
        }
    }
}

/// Whether `addr` goes through a relay.
pub fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|protocol| protocol == Protocol::P2pCircuit)
}
