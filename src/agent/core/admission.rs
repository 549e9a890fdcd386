//! Caps on what peers can make this node run: inbound session streams in all, per peer and
//! per budget epoch, and responders per context.

use std::collections::HashMap;

use libp2p::PeerId;

use crate::state::fact::ContextId;
use crate::state::flow_budget::Epoch;

/// Inbound anti-entropy sessions kept at once, in all and per peer.
pub const MAX_INBOUND_SESSIONS: usize = 64;
pub const MAX_INBOUND_SESSIONS_PER_PEER: usize = 4;
/// Sessions one peer may open per budget epoch: an honest peer opens one when it connects
/// and one per sync period, and each session this device answers spends its budget toward
/// that peer, which a peer opening sessions at will could otherwise drain.
pub const MAX_SESSIONS_PER_PEER_PER_EPOCH: u32 = 16;
/// Responders running at once for one context: each holds a copy of the context's facts, so
/// this bounds what a large context costs in memory whoever asks. Twice the per-peer cap, so
/// that one peer alone cannot take every place.
pub const MAX_RESPONDERS_PER_CONTEXT: usize = 2 * MAX_INBOUND_SESSIONS_PER_PEER;
/// A peer in none of this device's contexts has nothing to sync yet: one place at most.
pub const MAX_INBOUND_SESSIONS_PER_STRANGER: usize = 1;

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Full,
    PeerFull,
    TooManyThisEpoch,
    OverBudget,
}

#[derive(Debug, Default)]
pub struct Admission {
    /// Inbound streams running, per peer.
    inbound: HashMap<PeerId, usize>,
    /// Responders running, per context.
    responders: HashMap<ContextId, usize>,
    /// Streams each peer opened in the current budget epoch.
    opens: HashMap<PeerId, (Epoch, u32)>,
}

impl Admission {
    /// Whether `peer` may open one more stream now; `member` when it takes part in a context
    /// this node joined.
    pub fn admit_stream(&self, peer: PeerId, member: bool, epoch: Epoch) -> Result<(), Refusal> {
        let running: usize = self.inbound.values().sum();
        let of_peer = self.inbound.get(&peer).copied().unwrap_or(0);
        let per_peer = if member {
            MAX_INBOUND_SESSIONS_PER_PEER
        } else {
            MAX_INBOUND_SESSIONS_PER_STRANGER
        };
        let opened = match self.opens.get(&peer) {
            Some((at, count)) if *at == epoch => *count,
            _ => 0,
        };
        if running >= MAX_INBOUND_SESSIONS {
            Err(Refusal::Full)
        } else if of_peer >= per_peer {
            Err(Refusal::PeerFull)
        } else if opened >= MAX_SESSIONS_PER_PEER_PER_EPOCH {
            Err(Refusal::TooManyThisEpoch)
        } else {
            Ok(())
        }
    }

    /// Counts an admitted stream, in budget epoch `epoch`.
    pub fn stream_opened(&mut self, peer: PeerId, epoch: Epoch) {
        let opens = self.opens.entry(peer).or_insert((epoch, 0));
        if opens.0 != epoch {
            *opens = (epoch, 0);
        }
        opens.1 += 1;
        *self.inbound.entry(peer).or_default() += 1;
    }

    pub fn inbound_ended(&mut self, peer: &PeerId) {
        if let Some(count) = self.inbound.get_mut(peer) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.inbound.remove(peer);
            }
        }
    }

    /// Takes a responder place for `context`; `false` when it has none left.
    pub fn admit_responder(&mut self, context: ContextId) -> bool {
        let count = self.responders.entry(context).or_default();
        if *count >= MAX_RESPONDERS_PER_CONTEXT {
            return false;
        }
        *count += 1;
        true
    }

    pub fn responder_ended(&mut self, context: ContextId) {
        if let Some(count) = self.responders.get_mut(&context) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.responders.remove(&context);
            }
        }
    }

    /// A new budget epoch: every peer may open its sessions again.
    pub fn new_epoch(&mut self) {
        self.opens.clear();
    }
}
