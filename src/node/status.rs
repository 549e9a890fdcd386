//! What the node reports about itself and its peers.

use libp2p::PeerId;

use crate::agent::GuardCounters;
use crate::net::NetInfo;
use crate::net::peer_addr::PeerAddr;

/// What the node is doing, for `aura status` and the network screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeStatus {
    pub net: NetInfo,
    pub facts: u64,
    pub contexts: usize,
    pub guard: GuardCounters,
    /// The flow-budget epoch this device is in.
    pub budget_epoch: u64,
    pub sessions: SessionCounters,
}

/// How anti-entropy sessions ended, since the node started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionCounters {
    pub completed: u64,
    /// Ended because this side's guard chain refused a send (the peer saw an abort).
    pub denied: u64,
    /// Ended because the peer aborted, left, was too slow or broke the protocol.
    pub failed: u64,
    /// Inbound streams refused before a session ran: over the caps, over the peer's
    /// budget, a bad preamble or a context this device has not joined.
    pub refused: u64,
    /// Of those refused, the anti-entropy sessions asked by strangers: peers with no
    /// relationship and no path in the web of trust, who get the invitation handshake only.
    pub stranger_sessions: u64,
    /// Gossip messages forwarded by strangers, rejected unread.
    pub stranger_gossip: u64,
    /// A group's context asked of, gossiped by, or written in by a device outside its
    /// roster: sessions refused, and gossip rejected unread.
    pub non_member_sessions: u64,
    pub non_member_gossip: u64,
    /// Facts of a group's context that a member's session brought, authored outside the
    /// roster (or of a kind with no place in a group): not stored.
    pub non_member_facts: u64,
    /// Facts of members that did not check out (a commit or message that does not open).
    pub group_refused: u64,
}

/// What became of `aura peer add`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAdded {
    pub addr: PeerAddr,
    /// `false` when the address was saved already.
    pub fresh: bool,
    pub reach: Reach,
}

/// Whether a peer could be reached when it was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Connected now (or was already).
    Connected,
    /// Not reached yet; the node keeps trying in the background. The reason of the last try.
    NotYet(String),
    /// No node runs: the address is dialled when one starts.
    Offline,
}

/// A saved peer address, as `aura peer list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEntry {
    pub addr: String,
    /// When it was added, ms since the Unix epoch.
    pub added_ms: u64,
    /// The peer the address names, when it names one.
    pub peer: Option<PeerId>,
    /// Whether a running node is connected to that peer now; `None` when no node runs.
    pub connected: Option<bool>,
}
