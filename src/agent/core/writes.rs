//! This device's writes, in batches: each fact is signed and its publish charged to the guard
//! chain (one flow charge per subscribed peer, leakage once) before it is stored; the admitted
//! facts of a batch are stored in one transaction and only then gossiped. A write the guard
//! refuses is neither stored nor sent, and its writer is told why.

use std::collections::HashMap;

use super::invitations::InviteAnswer;
use super::{BatchId, Core, Effect, Millis, Reply, RequestId, StreamToken};
use crate::invite::facts::{InvitationKey, InviteFact};
use crate::invite::messages::{Refusal, Verdict};
use crate::node::{NodeError, NodeEvent};
use crate::state::fact::{ContextId, DeviceKey, Fact, FactId, FactKind};
use crate::state::store::{MessageRow, OutboxRow};

/// A fact this device asks to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    pub request: RequestId,
    pub context: ContextId,
    pub kind: FactKind,
    pub body: Vec<u8>,
}

/// What follows once the core's own facts of a batch are stored (or failed to be).
#[derive(Debug)]
pub(super) enum Followup {
    Nothing,
    /// Answer an invitation command.
    Reply(RequestId, InviteAnswer),
    /// Send the inviter's verdict on a handshake.
    Verdict {
        token: StreamToken,
        signature: [u8; 64],
        id: String,
        by: String,
    },
    /// An acceptance of someone's invitation is recorded.
    Accepted {
        key: InvitationKey,
        peer_name: String,
    },
    /// Answer a group command.
    Group(RequestId, super::groups::GroupAnswer),
}

/// A signed and charged fact waiting for its store transaction; `request` is `None` for a
/// fact the core wrote itself.
#[derive(Debug)]
struct Signed {
    request: Option<RequestId>,
    context: ContextId,
    id: FactId,
    bytes: Vec<u8>,
}

/// Write batches the shell is storing.
#[derive(Debug, Default)]
pub struct PendingWrites {
    batches: HashMap<BatchId, Vec<Signed>>,
    /// Facts of the core's own and what follows once they are stored.
    followups: HashMap<BatchId, (Vec<Fact>, Followup)>,
}

impl Core {
    pub(super) fn write_batch(&mut self, writes: Vec<WriteRequest>, now: Millis) {
        let mut signed = Vec::with_capacity(writes.len());
        let mut facts = Vec::with_capacity(writes.len());
        for write in writes {
            let request = write.request;
            match self.sign_and_charge(write, now) {
                Ok((fact, bytes)) => {
                    signed.push(Signed {
                        request: Some(request),
                        context: fact.context(),
                        id: fact.id(),
                        bytes,
                    });
                    facts.push(fact);
                }
                Err(err) => {
                    tracing::info!(%err, "a write was not sent");
                    self.effects.push_back(Effect::Reply {
                        request,
                        reply: Reply::Written(Err(err)),
                    });
                }
            }
        }
        if facts.is_empty() {
            return;
        }
        let batch = self.next_batch();
        self.writes.batches.insert(batch, signed);
        self.effects.push_back(Effect::StoreWrites {
            batch,
            facts,
            sent: Vec::new(),
        });
    }

    /// Signs and charges one fact of the core's own.
    pub(super) fn sign_and_charge_own(
        &mut self,
        context: ContextId,
        kind: FactKind,
        body: Vec<u8>,
        now: Millis,
    ) -> Result<(Fact, Vec<u8>), NodeError> {
        self.sign_and_charge(
            WriteRequest {
                request: RequestId(0),
                context,
                kind,
                body,
            },
            now,
        )
    }

    fn sign_and_charge(
        &mut self,
        write: WriteRequest,
        now: Millis,
    ) -> Result<(Fact, Vec<u8>), NodeError> {
        let time = self
            .clock
            .now(now)
            .map_err(|err| NodeError::Clock(err.to_string()))?;
        let fact = Fact::sign(
            &self.signing_key,
            write.context,
            time,
            write.kind,
            write.body,
        )
        .map_err(|err| NodeError::Fact(err.to_string()))?;
        self.join(write.context, None);
        let bytes = fact.encode();
        // A group's facts are charged to its members only: anyone else on the topic is
        // refused what it sends and gets nothing it can read.
        let subscribers: Vec<DeviceKey> = self
            .peers
            .subscribers_of(write.context)
            .iter()
            .filter_map(|peer| self.peers.device(peer))
            .filter(|device| self.groups.admits(&write.context, device))
            .collect();
        self.guard
            .authorize_publish(write.context, self.device, &subscribers, bytes.len())?;
        Ok((fact, bytes))
    }

    /// The store took (or refused) a batch: stored facts are gossiped and their writers told.
    pub(super) fn writes_stored(&mut self, batch: BatchId, result: Result<(), String>) {
        let Some(signed) = self.writes.batches.remove(&batch) else {
            return;
        };
        let followup = self.writes.followups.remove(&batch);
        if let Err(message) = result {
            for request in signed.iter().filter_map(|write| write.request) {
                self.effects.push_back(Effect::Reply {
                    request,
                    reply: Reply::Written(Err(NodeError::Fact(message.clone()))),
                });
            }
            if let Some((_, followup)) = followup {
                self.follow_up(followup, Err(message));
            }
            return;
        }
        let mut stored: HashMap<ContextId, Vec<FactId>> = HashMap::new();
        for write in signed {
            self.effects.push_back(Effect::Publish {
                context: write.context,
                bytes: write.bytes,
            });
            stored.entry(write.context).or_default().push(write.id);
            if let Some(request) = write.request {
                self.effects.push_back(Effect::Reply {
                    request,
                    reply: Reply::Written(Ok(write.id)),
                });
            }
        }
        self.announce(stored);
        if let Some((facts, followup)) = followup {
            for fact in &facts {
                if fact.context() == self.invitations.own_context {
                    self.invitations.profile.apply(&self.device, fact);
                    self.trust.apply(&self.device, fact);
                }
            }
            // Group facts (KeyPackages in pairwise contexts too) change no contact.
            if facts.iter().any(|fact| {
                fact.context() != self.invitations.own_context
                    && !crate::groups::facts::KINDS.contains(&fact.kind())
            }) {
                self.effects
                    .push_back(Effect::Notify(NodeEvent::ContactsChanged));
            }
            self.follow_up(followup, Ok(()));
        }
    }

    /// [`Core::write_own`] for invitation facts.
    pub(super) fn write_facts(
        &mut self,
        facts: Vec<(ContextId, InviteFact)>,
        followup: Followup,
        now: Millis,
    ) -> Result<(), NodeError> {
        let writes = facts
            .iter()
            .map(|(context, fact)| super::trust::invite_write(*context, fact))
            .collect();
        self.write_own(writes, followup, now)
    }

    /// Signs, charges and stores facts of the core's own as one batch; `followup` runs once
    /// the batch is stored. Nothing is stored when any of them is refused.
    pub(super) fn write_own(
        &mut self,
        facts: Vec<super::trust::OwnWrite>,
        followup: Followup,
        now: Millis,
    ) -> Result<(), NodeError> {
        let mut signed = Vec::with_capacity(facts.len());
        for (context, kind, body) in facts {
            signed.push(self.sign_and_charge_own(context, kind, body, now)?);
        }
        self.store_signed(signed, Vec::new(), followup);
        Ok(())
    }

    /// Stores signed and charged facts of the core's own as one batch, with the messages
    /// they send leaving the outbox in the same transaction; `followup` runs once stored.
    pub(super) fn store_signed(
        &mut self,
        facts: Vec<(Fact, Vec<u8>)>,
        sent: Vec<(OutboxRow, MessageRow)>,
        followup: Followup,
    ) {
        let mut signed = Vec::with_capacity(facts.len());
        let mut stored = Vec::with_capacity(facts.len());
        for (fact, bytes) in facts {
            signed.push(Signed {
                request: None,
                context: fact.context(),
                id: fact.id(),
                bytes,
            });
            stored.push(fact);
        }
        let batch = self.next_batch();
        self.writes.batches.insert(batch, signed);
        self.writes
            .followups
            .insert(batch, (stored.clone(), followup));
        self.effects.push_back(Effect::StoreWrites {
            batch,
            facts: stored,
            sent,
        });
    }

    fn follow_up(&mut self, followup: Followup, result: Result<(), String>) {
        match (followup, result) {
            (Followup::Nothing, Ok(())) => {}
            (Followup::Nothing, Err(err)) => tracing::error!(%err, "storing the node's own facts"),
            (Followup::Reply(request, answer), result) => self.effects.push_back(Effect::Reply {
                request,
                reply: Reply::Invite(result.map(|()| answer).map_err(NodeError::Fact)),
            }),
            (Followup::Group(request, answer), result) => self.effects.push_back(Effect::Reply {
                request,
                reply: Reply::Group(result.map(|()| answer).map_err(NodeError::Fact)),
            }),
            (
                Followup::Verdict {
                    token,
                    signature,
                    id,
                    by,
                },
                Ok(()),
            ) => {
                self.effects.push_back(Effect::Verdict {
                    token,
                    verdict: Verdict::Accepted { signature },
                });
                self.effects
                    .push_back(Effect::Notify(NodeEvent::InvitationAccepted { id, by }));
            }
            (Followup::Verdict { token, .. }, Err(err)) => {
                tracing::error!(%err, "recording a relationship");
                self.effects.push_back(Effect::Verdict {
                    token,
                    verdict: Verdict::Refused(Refusal::Failed),
                });
            }
            (Followup::Accepted { key, peer_name }, result) => {
                let outcome = result
                    .map(|()| peer_name)
                    .map_err(|err| format!("recording the relationship failed: {err}"));
                let now = self.clock.last().physical_ms();
                self.finish_acceptance(key, outcome, now);
            }
        }
    }
}
