//! What a running node tells its front ends: one event type, on one broadcast channel, for
//! the TUI, `aura demo`, the tests and the benchmarks alike.

use libp2p::{Multiaddr, PeerId};

use crate::state::fact::{ContextId, FactId};

/// Something that changed in the node. Each network event carries the whole new state, so a
/// subscriber that lagged and missed some catches up with the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// The node listens on these addresses now.
    ListenAddrs(Vec<Multiaddr>),
    /// These peers are connected now.
    Peers(Vec<PeerId>),
    /// These facts are now in the store (written here or received).
    FactsStored {
        context: ContextId,
        ids: Vec<FactId>,
    },
}
