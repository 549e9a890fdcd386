//! The network side of a node: a libp2p Swarm owned by one task ([`node`]), its behaviours
//! ([`behaviour`]: identify, ping, mDNS, Kademlia, gossipsub, session streams), the status
//! the UI shows, and [`peer_addr`], a peer's address as a user types it. Private parts: `info`
//! (what the swarm reports), `listen` (binding listeners, and failures said briefly),
//! `nat_log` (relay and hole-punching events in the log), `topic` (a context's gossip topic).

pub mod behaviour;
mod info;
mod listen;
mod nat_log;
pub mod node;
pub mod peer_addr;
mod topic;

pub use node::{GossipVerdict, NetConfig, NetError, NetEvent, NetHandle, NetInfo};

use std::fmt;

/// What the node's network is doing, as the user should see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkStatus {
    /// No network task runs: nothing is sent or received.
    #[default]
    Offline,
    /// Listening for peers, with this many connected.
    Listening { peers: usize },
}

impl fmt::Display for NetworkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Offline => f.write_str("offline"),
            Self::Listening { peers: 1 } => f.write_str("online · 1 peer"),
            Self::Listening { peers } => write!(f, "online · {peers} peers"),
        }
    }
}

/// The device key a peer id names. Aura's peer ids are made from the device's Ed25519 key,
/// which fits in the id itself (an identity multihash of the protobuf-encoded key); any
/// other peer id names no device.
pub fn device_of(peer: &libp2p::PeerId) -> Option<crate::state::fact::DeviceKey> {
    /// The multihash code of the identity hash: the digest is the input itself.
    const IDENTITY_MULTIHASH: u64 = 0;
    let multihash: &libp2p::multihash::Multihash<64> = peer.as_ref();
    if multihash.code() != IDENTITY_MULTIHASH {
        return None;
    }
    let key = libp2p::identity::PublicKey::try_decode_protobuf(multihash.digest()).ok()?;
    let key = key.try_into_ed25519().ok()?;
    Some(crate::state::fact::DeviceKey(key.to_bytes()))
}

/// The peer id of a device: the inverse of [`device_of`]; `None` for bytes that are not an
/// Ed25519 public key.
pub fn peer_of_device(device: &crate::state::fact::DeviceKey) -> Option<libp2p::PeerId> {
    let key = libp2p::identity::ed25519::PublicKey::try_from_bytes(&device.0).ok()?;
    Some(libp2p::identity::PublicKey::from(key).to_peer_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_id_names_the_device_key_it_was_made_from() {
        let keypair = libp2p::identity::Keypair::generate_ed25519();
        let Ok(ed25519) = keypair.clone().try_into_ed25519() else {
            panic!("an Ed25519 keypair");
        };
        let peer = keypair.public().to_peer_id();
        assert_eq!(
            device_of(&peer),
            Some(crate::state::fact::DeviceKey(ed25519.public().to_bytes()))
        );
        assert_eq!(device_of(&libp2p::PeerId::random()), None);
        let device = crate::state::fact::DeviceKey(ed25519.public().to_bytes());
        assert_eq!(peer_of_device(&device), Some(peer));
    }
}
