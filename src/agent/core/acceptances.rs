//! The invitee's side: acceptances of other people's invitations, from the pasted code to
//! the recorded relationship or a failure that says why.
//!
//! An acceptance is kept in the store (its code, secret included) until it ends, so that it
//! survives a restart. An inviter that cannot be reached is tried again with capped
//! exponential backoff until the acceptance gives up ([`ACCEPT_GIVE_UP_MS`] after it
//! began); an inviter whose user has not answered yet is asked again every few seconds. A
//! failure records nothing: the row is dropped and the reason kept in memory to be shown.

use std::collections::BTreeMap;

use libp2p::PeerId;
use rand_core::Rng;

use super::writes::Followup;
use super::{Core, Effect, Millis, Reply, RequestId};
use crate::agent::relationship_session::InviteeEnd;
use crate::invite::code::InvitationCode;
use crate::invite::facts::InvitationKey;
use crate::invite::handshake::{self, Ephemeral};
use crate::invite::messages::{Ask, Challenge, Proceed, Proof, Refusal, Verdict};
use crate::invite::names;
use crate::invite::views::{AcceptanceStage, AcceptanceView};
use crate::net::peer_of_device;
use crate::node::{NodeError, NodeEvent};
use crate::state::fact::DeviceKey;
use crate::state::store::{AcceptanceRow, ContactRow};

use super::invitations::InviteAnswer;

/// How long an acceptance keeps trying an inviter it cannot reach: 48 hours.
pub const ACCEPT_GIVE_UP_MS: Millis = 48 * 3_600_000;
/// The first retry after an unreachable inviter, doubled each time up to the cap.
pub const ACCEPT_RETRY_BASE_MS: Millis = 1_000;
pub const ACCEPT_RETRY_CAP_MS: Millis = 30_000;
/// How often an inviter whose user has not answered is asked again.
pub const APPROVAL_POLL_MS: Millis = 3_000;
/// Most acceptances pending at once.
pub const MAX_PENDING_ACCEPTANCES: usize = 64;
/// Finished acceptances remembered to be shown (until the node restarts).
pub const MAX_FINISHED_SHOWN: usize = 32;

/// What an acceptance's task reports.
#[derive(Debug)]
pub enum AcceptanceEvent {
    Connected,
    Challenged(Challenge),
    Ended(InviteeEnd),
}

/// One run of the handshake: the fresh values sent, and the inviter's once it answered.
#[derive(Debug)]
struct Attempt {
    ephemeral: Ephemeral,
    ask: Ask,
    proceed: Option<Proceed>,
}

#[derive(Debug)]
struct Pending {
    code: InvitationCode,
    key: InvitationKey,
    inviter: DeviceKey,
    started_ms: Millis,
    give_up_ms: Millis,
    stage: AcceptanceStage,
    /// When to try next, while waiting.
    next_at: Option<Millis>,
    failures: u32,
    attempt: Option<Attempt>,
    /// Requests to answer when the acceptance ends.
    waiters: Vec<RequestId>,
}

/// Every acceptance this device runs, and those that finished since the node started.
#[derive(Debug, Default)]
pub(super) struct Acceptances {
    pending: BTreeMap<InvitationKey, Pending>,
    finished: Vec<AcceptanceView>,
    /// Invitations this device already redeemed: by whom (the inviter) and when.
    pub redeemed: BTreeMap<InvitationKey, (DeviceKey, Millis)>,
}

impl Acceptances {
    pub fn next_at(&self) -> Option<Millis> {
        self.pending.values().filter_map(|p| p.next_at).min()
    }
}

fn view(pending: &Pending) -> AcceptanceView {
    AcceptanceView {
        id: pending.key.short_id(),
        inviter: crate::invite::directory::peer_id_text(&pending.inviter),
        note: names::sanitize_peer_name(&pending.code.note),
        started_ms: pending.started_ms,
        give_up_ms: pending.give_up_ms,
        stage: pending.stage.clone(),
    }
}

fn inviter_of(code: &InvitationCode) -> DeviceKey {
    DeviceKey(code.inviter)
}

/// The words for a refusal, with its time where it has one.
fn refusal_text(refusal: Refusal) -> String {
    match refusal {
        Refusal::Expired { at_ms } => format!("the invitation expired ({})", when(at_ms)),
        Refusal::UsedUp => "the invitation was already used".to_owned(),
        Refusal::Unknown => {
            "the inviter does not recognise this invitation (it may have been made on another device or its store was replaced)".to_owned()
        }
        other => other.to_string(),
    }
}

/// A time for messages: UTC, to the minute.
pub fn when(ms: Millis) -> String {
    format!("{} UTC", crate::control::render::utc_minute(ms))
}

impl Core {
    /// Starts accepting `code` (or reports the acceptance already under way).
    pub(super) fn accept(
        &mut self,
        request: RequestId,
        code: InvitationCode,
        now: Millis,
    ) -> Result<(), NodeError> {
        let inviter = inviter_of(&code);
        if inviter == self.device {
            return Err(NodeError::Refused(
                "this is your own invitation: give it to the person you invite".into(),
            ));
        }
        let key = handshake::invitation_key(&code.secret, &inviter);
        if let Some((_, at)) = self.acceptances.redeemed.get(&key) {
            return Err(NodeError::Refused(format!(
                "the invitation was already used: you accepted it on {}",
                when(*at)
            )));
        }
        if let Some(pending) = self.acceptances.pending.get(&key) {
            let view = view(pending);
            self.effects.push_back(Effect::Reply {
                request,
                reply: Reply::Invite(Ok(InviteAnswer::Acceptance(view))),
            });
            return Ok(());
        }
        if let Some(at_secs) = code.expires_at_secs {
            let at_ms = at_secs.saturating_mul(1000);
            if now >= at_ms {
                return Err(NodeError::Refused(format!(
                    "the invitation expired ({})",
                    when(at_ms)
                )));
            }
        }
        if self.acceptances.pending.len() >= MAX_PENDING_ACCEPTANCES {
            return Err(NodeError::Refused(format!(
                "{MAX_PENDING_ACCEPTANCES} acceptances are pending already: wait for some to finish"
            )));
        }
        let text = code
            .encode()
            .map_err(|err| NodeError::Refused(err.to_string()))?;
        let pending = Pending {
            code,
            key,
            inviter,
            started_ms: now,
            give_up_ms: now.saturating_add(ACCEPT_GIVE_UP_MS),
            stage: AcceptanceStage::Connecting,
            next_at: Some(now),
            failures: 0,
            attempt: None,
            waiters: Vec::new(),
        };
        self.effects
            .push_back(Effect::StoreAcceptance(AcceptanceRow {
                invitation: key.0,
                started_ms: pending.started_ms,
                give_up_ms: pending.give_up_ms,
                code: text,
            }));
        let answer = view(&pending);
        self.acceptances.pending.insert(key, pending);
        self.effects.push_back(Effect::Reply {
            request,
            reply: Reply::Invite(Ok(InviteAnswer::Acceptance(answer))),
        });
        Ok(())
    }

    /// Acceptances the store kept from before a restart: each tried again now.
    pub(super) fn resume_acceptance(&mut self, row: AcceptanceRow, now: Millis) {
        let Ok(code) = InvitationCode::decode(&row.code) else {
            tracing::warn!("a kept acceptance whose code no longer decodes is dropped");
            self.effects
                .push_back(Effect::ForgetAcceptance(InvitationKey(row.invitation)));
            return;
        };
        let inviter = inviter_of(&code);
        let key = handshake::invitation_key(&code.secret, &inviter);
        self.acceptances.pending.insert(
            key,
            Pending {
                code,
                key,
                inviter,
                started_ms: row.started_ms,
                give_up_ms: row.give_up_ms,
                stage: AcceptanceStage::Connecting,
                next_at: Some(now),
                failures: 0,
                attempt: None,
                waiters: Vec::new(),
            },
        );
    }

    /// The acceptance of `id` (a short or full invitation id), pending or finished.
    pub fn acceptance(&self, id: &str) -> Option<AcceptanceView> {
        self.acceptances
            .pending
            .values()
            .map(view)
            .chain(self.acceptances.finished.iter().rev().cloned())
            .find(|view| view.id.starts_with(id) || id.starts_with(&view.id))
    }

    /// Every acceptance pending, then those finished since the start, newest first.
    pub fn acceptances(&self) -> Vec<AcceptanceView> {
        let mut views: Vec<AcceptanceView> = self.acceptances.pending.values().map(view).collect();
        views.extend(self.acceptances.finished.iter().rev().cloned());
        views
    }

    /// Starts the acceptances whose time came.
    pub(super) fn acceptances_due(&mut self, now: Millis, rng: &mut impl Rng) {
        let due: Vec<InvitationKey> = self
            .acceptances
            .pending
            .values()
            .filter(|p| p.next_at.is_some_and(|at| at <= now))
            .map(|p| p.key)
            .collect();
        let name = self.invitations.profile.name().to_owned();
        for key in due {
            let Some(pending) = self.acceptances.pending.get_mut(&key) else {
                continue;
            };
            let mut seed = zeroize::Zeroizing::new([0; 32]);
            rng.fill_bytes(seed.as_mut_slice());
            let ephemeral = Ephemeral::from_random(*seed);
            let mut nonce = [0; 32];
            rng.fill_bytes(&mut nonce);
            let ask = Ask {
                invitation: key,
                ephemeral: ephemeral.public(),
                nonce,
                name: name.clone(),
            };
            pending.next_at = None;
            if !matches!(pending.stage, AcceptanceStage::AwaitingApproval { .. }) {
                pending.stage = AcceptanceStage::Connecting;
            }
            pending.attempt = Some(Attempt {
                ephemeral,
                ask: ask.clone(),
                proceed: None,
            });
            let Some(peer) = peer_of_device(&pending.inviter) else {
                self.finish_acceptance(
                    key,
                    Err("the code names an inviter key that is not a valid identity".into()),
                    now,
                );
                continue;
            };
            self.guard
                .admit_handshake(crate::state::fact::ContextId(key.0), pending.inviter);
            let effect = Effect::StartAcceptance {
                key,
                peer,
                device: pending.inviter,
                addrs: pending.code.addrs.clone(),
                ask,
            };
            let notify = view(pending);
            self.effects.push_back(effect);
            self.effects
                .push_back(Effect::Notify(NodeEvent::Acceptance(notify)));
        }
    }

    pub(super) fn acceptance_event(
        &mut self,
        key: InvitationKey,
        event: AcceptanceEvent,
        now: Millis,
    ) {
        let Some(pending) = self.acceptances.pending.get_mut(&key) else {
            // Ended meanwhile: a task waiting for its proof is answered all the same, so
            // that nothing waits on an answer that never comes.
            if matches!(event, AcceptanceEvent::Challenged(_)) {
                self.effects.push_back(Effect::AcceptanceProof {
                    key,
                    proof: Proof::Withdrawn,
                });
            }
            return;
        };
        match event {
            AcceptanceEvent::Connected => {
                pending.stage = AcceptanceStage::Connected;
                let notify = view(pending);
                self.effects
                    .push_back(Effect::Notify(NodeEvent::Acceptance(notify)));
            }
            AcceptanceEvent::Challenged(challenge) => {
                let proof = match (&challenge, pending.attempt.as_mut()) {
                    (Challenge::Proceed(proceed), Some(attempt)) => {
                        let transcript = handshake::transcript(
                            &pending.inviter,
                            &self.device,
                            &attempt.ask,
                            proceed,
                        );
                        attempt.proceed = Some(proceed.clone());
                        let invitation = handshake::invitation_signing_key(
                            &pending.code.secret,
                            &pending.inviter,
                        );
                        Proof::Signed(handshake::prove(
                            &invitation,
                            &self.signing_key,
                            &transcript,
                        ))
                    }
                    _ => Proof::Withdrawn,
                };
                if matches!(proof, Proof::Signed(_))
                    && !matches!(pending.stage, AcceptanceStage::AwaitingApproval { .. })
                {
                    pending.stage = AcceptanceStage::Proving;
                    let notify = view(pending);
                    self.effects
                        .push_back(Effect::Notify(NodeEvent::Acceptance(notify)));
                }
                self.effects
                    .push_back(Effect::AcceptanceProof { key, proof });
            }
            AcceptanceEvent::Ended(end) => self.acceptance_ended(key, end, now),
        }
    }

    fn acceptance_ended(&mut self, key: InvitationKey, end: InviteeEnd, now: Millis) {
        let Some(pending) = self.acceptances.pending.get_mut(&key) else {
            return;
        };
        match end {
            InviteeEnd::Verdict(Verdict::Accepted { signature }) => {
                self.accepted(key, signature, now)
            }
            InviteeEnd::Verdict(Verdict::AwaitingApproval) => {
                let next = now.saturating_add(APPROVAL_POLL_MS);
                pending.stage = AcceptanceStage::AwaitingApproval { next_try_ms: next };
                pending.next_at = Some(next);
                let notify = view(pending);
                self.effects
                    .push_back(Effect::Notify(NodeEvent::Acceptance(notify)));
            }
            InviteeEnd::Verdict(Verdict::Refused(refusal)) => {
                let text = refusal_text(refusal);
                self.finish_acceptance(key, Err(text), now);
            }
            InviteeEnd::Unreachable(errors) => self.retry_later(key, errors, now),
            InviteeEnd::Broken(err) => self.retry_later(key, vec![("session".into(), err)], now),
        }
    }

    fn retry_later(&mut self, key: InvitationKey, errors: Vec<(String, String)>, now: Millis) {
        let Some(pending) = self.acceptances.pending.get_mut(&key) else {
            return;
        };
        if now >= pending.give_up_ms {
            let tried = errors
                .iter()
                .map(|(addr, err)| format!("{addr}: {err}"))
                .collect::<Vec<_>>()
                .join("; ");
            let text =
                format!("the inviter was unreachable until the acceptance gave up ({tried})");
            return self.finish_acceptance(key, Err(text), now);
        }
        pending.failures = pending.failures.saturating_add(1);
        let delay = ACCEPT_RETRY_BASE_MS
            .saturating_mul(1 << pending.failures.min(16).saturating_sub(1))
            .min(ACCEPT_RETRY_CAP_MS);
        let next = now.saturating_add(delay).min(pending.give_up_ms);
        pending.next_at = Some(next);
        pending.stage = AcceptanceStage::Waiting {
            next_try_ms: next,
            errors,
        };
        let notify = view(pending);
        self.effects
            .push_back(Effect::Notify(NodeEvent::Acceptance(notify)));
    }

    /// The inviter accepted: check its signature, derive the pair's keys, record.
    fn accepted(&mut self, key: InvitationKey, signature: [u8; 64], now: Millis) {
        let Some(pending) = self.acceptances.pending.get(&key) else {
            return;
        };
        let Some(Attempt {
            ephemeral,
            ask,
            proceed: Some(proceed),
        }) = pending.attempt.as_ref()
        else {
            return self.finish_acceptance(
                key,
                Err("the inviter accepted before it was asked".into()),
                now,
            );
        };
        let transcript = handshake::transcript(&pending.inviter, &self.device, ask, proceed);
        if handshake::verify_acceptance(&pending.inviter, &transcript, &signature).is_err() {
            return self.finish_acceptance(
                key,
                Err("the inviter's acceptance signature does not verify".into()),
                now,
            );
        }
        let Ok(pairwise) = ephemeral.pairwise(
            &proceed.ephemeral,
            &pending.inviter,
            &self.device,
            &transcript,
        ) else {
            return self.finish_acceptance(
                key,
                Err("the inviter sent a key that gives no shared secret".into()),
                now,
            );
        };
        let inviter = pending.inviter;
        let peer_name = names::sanitize_peer_name(&proceed.name);
        let facts = self.relationship_facts(
            pairwise.context,
            inviter,
            self.device,
            key,
            transcript,
            &peer_name,
        );
        self.effects.push_back(Effect::StoreContact(ContactRow {
            peer: inviter,
            context: pairwise.context,
            secret: pairwise.secret.clone(),
            since_ms: now,
        }));
        let mut writes: Vec<super::trust::OwnWrite> = facts
            .iter()
            .map(|(context, fact)| super::trust::invite_write(*context, fact))
            .collect();
        writes.extend(self.attest_to_shared(inviter, Some(self.direct_level(&inviter))));
        let fresh = !self.serves(&inviter);
        self.invitations.contacts.insert(inviter, pairwise.context);
        if fresh {
            self.newly_served(&[inviter]);
        }
        if let Err(err) = self.write_own(writes, Followup::Accepted { key, peer_name }, now) {
            self.finish_acceptance(
                key,
                Err(format!("recording the relationship failed: {err}")),
                now,
            );
        }
    }

    /// Ends an acceptance: its row dropped, its waiters answered, its outcome shown.
    pub(super) fn finish_acceptance(
        &mut self,
        key: InvitationKey,
        outcome: Result<String, String>,
        now: Millis,
    ) {
        let Some(mut pending) = self.acceptances.pending.remove(&key) else {
            return;
        };
        pending.next_at = None;
        pending.stage = match &outcome {
            Ok(peer_name) => {
                self.acceptances
                    .redeemed
                    .insert(key, (pending.inviter, now));
                AcceptanceStage::Done {
                    peer_name: peer_name.clone(),
                }
            }
            Err(reason) => AcceptanceStage::Failed {
                reason: reason.clone(),
            },
        };
        self.effects.push_back(Effect::ForgetAcceptance(key));
        let finished = view(&pending);
        for request in pending.waiters.drain(..) {
            self.effects.push_back(Effect::Reply {
                request,
                reply: Reply::Invite(Ok(InviteAnswer::Acceptance(finished.clone()))),
            });
        }
        self.effects
            .push_back(Effect::Notify(NodeEvent::Acceptance(finished.clone())));
        if outcome.is_ok() {
            self.effects
                .push_back(Effect::Notify(NodeEvent::ContactsChanged));
        }
        self.acceptances.finished.push(finished);
        if self.acceptances.finished.len() > MAX_FINISHED_SHOWN {
            self.acceptances.finished.remove(0);
        }
    }

    /// Retries at once an acceptance whose inviter just connected.
    pub(super) fn inviter_connected(&mut self, peers: &[PeerId], now: Millis) {
        for pending in self.acceptances.pending.values_mut() {
            let waiting = matches!(pending.stage, AcceptanceStage::Waiting { .. });
            if waiting && peer_of_device(&pending.inviter).is_some_and(|peer| peers.contains(&peer))
            {
                pending.next_at = Some(now);
            }
        }
    }
}
