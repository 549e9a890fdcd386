//! The network side of a node. For now it only names the states the node can be in, which the
//! status bar shows; the libp2p swarm lands here next.

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
