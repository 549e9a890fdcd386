//! The outbox. A message the user submits is stored before the command returns; it is sent
//! (protected for the epoch the device follows, signed, charged to the budgets) as soon as
//! it can be, and the transaction that stores its fact also takes it out of the outbox and
//! into the group's history, so that neither a crash nor a retry sends it twice. One that
//! cannot go yet (over budget) stays, with its reason, and is tried again.

use std::collections::VecDeque;

use rand_core::CryptoRng;

use super::super::writes::Followup;
use super::super::{BUDGET_TICK_MS, Core, Effect, Millis, Reply, RequestId};
use super::{GroupAnswer, refused};
use crate::groups::facts::GroupFact;
use crate::groups::member::GroupMember;
use crate::groups::payload::{Payload, check_text};
use crate::node::NodeError;
use crate::state::fact::ContextId;
use crate::state::store::{MessageRow, OutboxRow};

/// Messages waiting in the outbox at most; more are refused until some are sent.
pub const MAX_OUTBOX: usize = 10_000;

/// A message waiting to be sent.
#[derive(Debug)]
struct Waiting {
    row: OutboxRow,
    /// The request to answer once it is sent (`aura send` without `--no-wait`).
    request: Option<RequestId>,
    /// Why it is not sent yet.
    reason: Option<String>,
}

/// Messages submitted and not sent yet, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    waiting: VecDeque<Waiting>,
    next_sequence: u64,
    retry_at: Option<Millis>,
}

impl Outbox {
    /// The outbox as the store kept it: what was pending at a crash is sent after restart.
    pub fn new(mut rows: Vec<OutboxRow>) -> Self {
        rows.sort_by_key(|row| (row.submitted_ms, row.sequence));
        let next_sequence = rows.iter().map(|row| row.sequence + 1).max().unwrap_or(0);
        // What was pending at a restart is tried at once.
        let retry_at = (!rows.is_empty()).then_some(0);
        Self {
            waiting: rows
                .into_iter()
                .map(|row| Waiting {
                    row,
                    request: None,
                    reason: None,
                })
                .collect(),
            next_sequence,
            retry_at,
        }
    }

    /// Why each message of `context` still waits, oldest first (`None`: it is being sent).
    pub fn reasons(&self, context: &ContextId) -> Vec<Option<String>> {
        self.waiting
            .iter()
            .filter(|w| w.row.context == *context)
            .map(|w| w.reason.clone())
            .collect()
    }

    pub fn next_at(&self) -> Option<Millis> {
        if self.waiting.is_empty() {
            None
        } else {
            self.retry_at
        }
    }
}

impl Core {
    /// `aura send`: into the outbox (stored before the answer), then sent when it can be.
    pub(super) fn submit(
        &mut self,
        request: RequestId,
        group: ContextId,
        text: String,
        wait: bool,
        now: Millis,
        rng: &mut impl CryptoRng,
    ) {
        let checked = check_text(&text)
            .map_err(refused)
            .and_then(|()| self.held_mut(group).map(drop))
            .and_then(|()| {
                if self.groups.outbox.waiting.len() >= MAX_OUTBOX {
                    Err(refused(format!(
                        "{MAX_OUTBOX} messages wait to be sent already"
                    )))
                } else {
                    Ok(())
                }
            });
        if let Err(err) = checked {
            self.effects.push_back(Effect::Reply {
                request,
                reply: Reply::Group(Err(err)),
            });
            return;
        }
        let outbox = &mut self.groups.outbox;
        let row = OutboxRow {
            context: group,
            submitted_ms: now,
            sequence: outbox.next_sequence,
            payload: Payload::Text(text).encode(),
        };
        outbox.next_sequence += 1;
        self.effects.push_back(Effect::StoreOutbox {
            row: row.clone(),
            request: (!wait).then_some(request),
        });
        outbox.waiting.push_back(Waiting {
            row,
            request: wait.then_some(request),
            reason: None,
        });
        self.send_outbox(now, rng);
    }

    /// Sends what waits in the outbox, in order, as far as it can go.
    pub(super) fn send_outbox(&mut self, now: Millis, rng: &mut impl CryptoRng) {
        let mut kept = VecDeque::new();
        let waiting = std::mem::take(&mut self.groups.outbox.waiting);
        let mut blocked = false;
        for mut message in waiting {
            if blocked {
                kept.push_back(message);
                continue;
            }
            let context = message.row.context;
            let removed = self
                .groups
                .held
                .get(&context)
                .is_none_or(|held| held.members.is_removed());
            if removed {
                // A message for a group the device is no longer in can never go: it stays
                // in the store, shown as failed, and leaves the queue.
                tracing::info!("a pending message failed: no longer in its group");
                if let Some(request) = message.request {
                    self.effects.push_back(Effect::Reply {
                        request,
                        reply: Reply::Group(Err(refused("you are no longer in this group"))),
                    });
                }
                continue;
            }
            match self.send_payload(
                context,
                &message.row.payload,
                Some(message.row.clone()),
                message.request,
                now,
                rng,
            ) {
                Ok(()) => {}
                Err(err) => {
                    // Budgets refill with the next budget epoch: the whole outbox waits,
                    // so that messages keep their order.
                    let policy = self.guard.policy();
                    let epoch_ms = policy.epoch_ms.max(crate::state::flow_budget::MIN_EPOCH_MS);
                    let refill = policy
                        .clock_epoch(now)
                        .saturating_add(1)
                        .saturating_mul(epoch_ms);
                    message.reason = Some(match err {
                        NodeError::Denied(_) => format!(
                            "waiting for budget until {} UTC ({err})",
                            crate::control::render::utc_second(refill)
                        ),
                        other => other.to_string(),
                    });
                    blocked = true;
                    kept.push_back(message);
                }
            }
        }
        self.groups.outbox.waiting = kept;
        self.groups.outbox.retry_at = blocked.then(|| now.saturating_add(BUDGET_TICK_MS));
    }

    /// Sends a payload that needs no outbox (receipts, a request to leave).
    pub(super) fn send_now(
        &mut self,
        context: ContextId,
        payload: &Payload,
        now: Millis,
        rng: &mut impl CryptoRng,
    ) -> Result<(), NodeError> {
        self.send_payload(context, &payload.encode(), None, None, now, rng)
    }

    /// Protects, signs, charges and stores one message; `outbox` leaves the outbox in the
    /// same transaction, and `request` is answered once it is stored.
    fn send_payload(
        &mut self,
        context: ContextId,
        payload: &[u8],
        outbox: Option<OutboxRow>,
        request: Option<RequestId>,
        now: Millis,
        rng: &mut impl CryptoRng,
    ) -> Result<(), NodeError> {
        let held = self
            .groups
            .held
            .get_mut(&context)
            .ok_or_else(|| refused("no such group"))?;
        let current = held.members.best().and_then(GroupMember::epoch);
        if current.is_none_or(|(epoch, _)| held.spent_epochs.contains(&epoch)) {
            return Err(refused(
                "waiting for the group's next epoch after a restart",
            ));
        }
        held.row.sent_since_update += 1;
        let epoch = held.row.epoch;
        let fact = held
            .members
            .send(payload, rng)
            .map_err(|err| NodeError::Fact(err.to_string()))?;
        let GroupFact::Message { .. } = &fact else {
            return Err(NodeError::Fact("not a message".into()));
        };
        let (kind, body) = fact.encode();
        let (signed, bytes) = self.sign_and_charge_own(context, kind, body, now)?;
        let sent = outbox.map(|row| {
            (
                row,
                MessageRow {
                    context,
                    time: signed.time().to_u64(),
                    id: signed.id(),
                    author: self.device,
                    epoch,
                    payload: payload.to_vec(),
                },
            )
        });
        let followup = match request {
            Some(request) => Followup::Group(
                request,
                GroupAnswer::Sent {
                    id: crate::invite::book::hex(&signed.id().0),
                },
            ),
            None => Followup::Nothing,
        };
        self.store_signed(vec![(signed, bytes)], sent.into_iter().collect(), followup);
        Ok(())
    }
}
