//! Verdicts on gossiped facts. The forwarding peer pays for what it sends, whoever wrote it:
//! a message over its budget is dropped without blame (anti-entropy repairs what it carried);
//! one that does not decode, names another context than its topic, or fails the store's checks
//! is rejected and counted against the peer; a fact from a clock ahead of ours is ignored,
//! since a fast clock is not proof of bad faith. Gossipsub forwards only accepted messages.

use std::collections::HashMap;

use libp2p::PeerId;
use libp2p::gossipsub::MessageId;

use super::{BatchId, Core, Effect, GossipMessage};
use crate::net::GossipVerdict;
use crate::node::NodeEvent;
use crate::state::fact::{ContextId, FactId};
use crate::state::ingest::{self, IngestReport, RejectKind};

use super::super::guard::PUBLISH_FLOW_COST;

/// A gossip message whose fact the shell is storing.
#[derive(Debug)]
struct Pending {
    id: MessageId,
    source: PeerId,
    context: ContextId,
    fact: FactId,
}

/// Gossip batches the shell is storing.
#[derive(Debug, Default)]
pub struct PendingGossip {
    batches: HashMap<BatchId, Vec<Pending>>,
}

/// The verdict on a message whose fact the store refused for `kind`.
pub fn verdict_for(rejected: Option<RejectKind>) -> GossipVerdict {
    match rejected {
        None => GossipVerdict::Accept,
        Some(RejectKind::FarFuture) => GossipVerdict::Ignore,
        Some(_) => GossipVerdict::Reject,
    }
}

impl Core {
    /// Judges what can be judged at once and has the shell store the rest in one batch.
    pub(super) fn gossip(&mut self, messages: Vec<GossipMessage>) {
        let mut facts = Vec::with_capacity(messages.len());
        let mut pending = Vec::with_capacity(messages.len());
        for GossipMessage {
            id,
            source,
            context,
            data,
        } in messages
        {
            let verdict = match self.peers.device(&source) {
                None => Some(GossipVerdict::Reject),
                Some(device) if !self.serves(&device) => {
                    tracing::debug!(%source, "gossip from a stranger rejected");
                    self.sessions.stranger_gossip += 1;
                    Some(GossipVerdict::Reject)
                }
                Some(device) if !self.guard.receive(device, PUBLISH_FLOW_COST) => {
                    tracing::debug!(%source, "gossip over the peer's budget dropped");
                    Some(GossipVerdict::Ignore)
                }
                Some(_) if !self.joined.contains(&context) => Some(GossipVerdict::Ignore),
                Some(device) if !self.groups.admits(&context, &device) => {
                    tracing::debug!(%source, "gossip of a group from a device outside it");
                    self.sessions.non_member_gossip += 1;
                    Some(GossipVerdict::Reject)
                }
                Some(_) => match ingest::decode(&data, None) {
                    Ok(fact) if !self.groups.admits_kind(&context, fact.kind()) => {
                        // A group's membership is its MLS roster alone: the journal's plain
                        // member and name facts have no place in its context.
                        tracing::debug!(%source, "a fact of another kind in a group's context");
                        Some(GossipVerdict::Reject)
                    }
                    Ok(fact) if !self.groups.admits(&context, &fact.author()) => {
                        tracing::debug!(%source, "a group fact authored outside the group");
                        self.sessions.non_member_gossip += 1;
                        Some(GossipVerdict::Reject)
                    }
                    Ok(fact) if fact.context() == context => {
                        pending.push(Pending {
                            id: id.clone(),
                            source,
                            context,
                            fact: fact.id(),
                        });
                        facts.push(fact);
                        None
                    }
                    Ok(_) => Some(GossipVerdict::Reject),
                    Err(reason) => {
                        tracing::debug!(%source, %reason, "a gossiped fact refused");
                        Some(GossipVerdict::Reject)
                    }
                },
            };
            if let Some(verdict) = verdict {
                self.effects.push_back(Effect::GossipVerdict {
                    id,
                    source,
                    verdict,
                });
            }
        }
        if facts.is_empty() {
            return;
        }
        let batch = self.next_batch();
        self.gossip.batches.insert(batch, pending);
        self.effects
            .push_back(Effect::IngestGossip { batch, facts });
    }

    /// The store judged a batch: each message gets its verdict, and what was stored is
    /// announced. A batch the store could not write is ignored, not blamed on anyone.
    pub(super) fn gossip_stored(&mut self, batch: BatchId, result: Result<IngestReport, String>) {
        let Some(pending) = self.gossip.batches.remove(&batch) else {
            return;
        };
        let report = match result {
            Ok(report) => report,
            Err(err) => {
                tracing::error!(%err, "storing gossiped facts");
                for message in pending {
                    self.effects.push_back(Effect::GossipVerdict {
                        id: message.id,
                        source: message.source,
                        verdict: GossipVerdict::Ignore,
                    });
                }
                return;
            }
        };
        let rejected: HashMap<FactId, RejectKind> = report.rejected_facts.into_iter().collect();
        let mut stored: HashMap<ContextId, Vec<FactId>> = HashMap::new();
        for message in pending {
            let verdict = verdict_for(rejected.get(&message.fact).copied());
            if verdict == GossipVerdict::Accept {
                stored
                    .entry(message.context)
                    .or_default()
                    .push(message.fact);
            } else {
                tracing::debug!(source = %message.source, ?verdict, "a gossiped fact refused");
            }
            self.effects.push_back(Effect::GossipVerdict {
                id: message.id,
                source: message.source,
                verdict,
            });
        }
        self.announce(stored);
    }

    /// Tells the front ends which facts are now in the store, one event per context.
    pub(super) fn announce(&mut self, stored: HashMap<ContextId, Vec<FactId>>) {
        let mut contexts: Vec<_> = stored.into_iter().collect();
        contexts.sort_by_key(|(context, _)| *context);
        let contacts_changed = contexts.iter().any(|(context, ids)| {
            !ids.is_empty() && self.invitations.contacts.values().any(|c| c == context)
        });
        if contacts_changed {
            self.effects
                .push_back(Effect::Notify(NodeEvent::ContactsChanged));
        }
        for (context, ids) in contexts {
            if ids.is_empty() {
                continue;
            }
            let pair = self.invitations.contacts.values().any(|c| *c == context);
            if pair || self.groups.held.contains_key(&context) {
                self.effects.push_back(Effect::LoadGroupFacts {
                    context,
                    ids: Some(ids.clone()),
                    resumed: false,
                });
            }
            self.effects
                .push_back(Effect::Notify(NodeEvent::FactsStored { context, ids }));
        }
    }
}
