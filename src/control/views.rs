//! The node's and the store's own types turned into the protocol's views.

use libp2p::PeerId;

use super::protocol::{
    BudgetView, FlowLine, IdentityView, LeakageLine, NetworkView, PeerAddedView, PeerView,
    ReachView, ReceiveLine,
};
use crate::agent::BudgetReport;
use crate::identity::{DeviceIdentity, short_peer_id};
use crate::net::peer_of_device;
use crate::node::saved_peers::peer_of;
use crate::node::{NodeStatus, PeerAdded, PeerEntry, Reach};
use crate::state::fact::{ContextId, DeviceKey};

/// Bytes of a context id shown: enough to tell a user's contexts apart.
const CONTEXT_LABEL_BYTES: usize = 6;

impl From<&DeviceIdentity> for IdentityView {
    fn from(identity: &DeviceIdentity) -> Self {
        Self {
            peer_id: identity.peer_id().to_base58(),
            fingerprint: identity.fingerprint().to_string(),
        }
    }
}

impl NetworkView {
    /// What `status` reports of the node whose peer id is `own`.
    pub fn new(status: &NodeStatus, own: &PeerId) -> Self {
        let net = &status.net;
        Self {
            // With the peer id appended, an address is what `aura peer add` takes elsewhere.
            listen_addrs: net
                .listen_addrs
                .iter()
                .map(|addr| format!("{addr}/p2p/{own}"))
                .collect(),
            connected: net.connected.iter().map(|peer| peer.to_base58()).collect(),
            names: Default::default(),
            nat: net.nat_status.to_string(),
            routing_table: net.routing_table.len() as u64,
            facts: status.facts,
            contexts: status.contexts as u64,
            sessions_completed: status.sessions.completed,
            sessions_denied: status.sessions.denied,
            sessions_failed: status.sessions.failed,
            sessions_refused: status.sessions.refused,
            stranger_sessions: status.sessions.stranger_sessions,
            stranger_gossip: status.sessions.stranger_gossip,
            non_member_sessions: status.sessions.non_member_sessions,
            non_member_gossip: status.sessions.non_member_gossip,
            non_member_facts: status.sessions.non_member_facts,
            denied_publishes: status.guard.denied_publishes,
            dropped_inbound: status.guard.dropped_inbound,
            violations: net.violations_total(),
        }
    }
}

impl From<PeerAdded> for PeerAddedView {
    fn from(added: PeerAdded) -> Self {
        Self {
            addr: added.addr.to_string(),
            fresh: added.fresh,
            reach: match added.reach {
                Reach::Connected => ReachView::Connected,
                Reach::NotYet(reason) => ReachView::NotYet(reason),
                Reach::Offline => ReachView::Offline,
            },
        }
    }
}

impl From<PeerEntry> for PeerView {
    fn from(entry: PeerEntry) -> Self {
        Self {
            peer: entry
                .peer
                .or_else(|| peer_of(&entry.addr))
                .map(|peer| peer.to_base58()),
            addr: entry.addr,
            added_ms: entry.added_ms,
            connected: entry.connected,
            name: None,
        }
    }
}

impl PeerView {
    /// A saved address as the store keeps it, with no node to say whether it is connected.
    pub fn saved(addr: String, added_ms: u64) -> Self {
        Self {
            peer: peer_of(&addr).map(|peer| peer.to_base58()),
            addr,
            added_ms,
            connected: None,
            name: None,
        }
    }
}

fn context_label(context: &ContextId) -> String {
    context.0[..CONTEXT_LABEL_BYTES]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn peer_label(device: &DeviceKey) -> String {
    match peer_of_device(device) {
        Some(peer) => short_peer_id(&peer),
        None => format!("{device:?}"),
    }
}

impl From<&BudgetReport> for BudgetView {
    fn from(report: &BudgetReport) -> Self {
        let epoch = report.ledgers.budgets.epoch();
        let epoch_ms = report.policy.epoch_ms.max(1);
        let next = epoch.saturating_add(1).saturating_mul(epoch_ms);
        let sending = report
            .ledgers
            .budgets
            .iter()
            .map(|((context, peer), budget)| {
                let budget = budget.at(epoch);
                FlowLine {
                    context: context_label(&context),
                    peer: peer_label(&peer),
                    left: budget.remaining(),
                    limit: budget.limit,
                }
            })
            .collect();
        let leakage = report
            .ledgers
            .leakage
            .settled()
            .map(|(context, budget)| {
                let left = budget.at(epoch).remaining();
                LeakageLine {
                    context: context_label(&context),
                    external: left.external,
                    neighbour: left.neighbour,
                    group: left.group,
                }
            })
            .collect();
        let receiving = report
            .ledgers
            .received
            .all()
            .map(|(peer, counters)| ReceiveLine {
                peer: peer_label(&peer),
                // Counters of an earlier epoch are spent in that one, not this one.
                spent: if counters.epoch == epoch {
                    counters.spent
                } else {
                    0
                },
                limit: counters.limit,
                dropped: counters.dropped.saturating_add(counters.delayed),
            })
            .collect();
        Self {
            epoch,
            epoch_secs: epoch_ms / 1000,
            refill_secs: next.saturating_sub(report.now_ms).div_ceil(1000),
            sending,
            leakage,
            receiving,
        }
    }
}
