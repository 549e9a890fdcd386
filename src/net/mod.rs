//! The network side of a node: a libp2p Swarm owned by one task ([`node`]), its behaviours
//! ([`behaviour`]: identify, ping, mDNS, Kademlia, gossipsub, anti-entropy request-response),
//! the capped anti-entropy codec ([`codec`]), and the status the UI shows.

pub mod behaviour;
pub mod codec;
pub mod node;

pub use node::{NetConfig, NetError, NetEvent, NetHandle, NetInfo};

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
