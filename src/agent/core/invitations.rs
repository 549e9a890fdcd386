//! Invitations, names and contacts, and the inviter's side of relationship formation.
//!
//! The device's own context holds what it decided (invitations made, revoked, expired,
//! redeemed, answered; its name; nicknames), reduced into a [`Profile`] kept here and
//! updated as each of those facts is stored. An inbound handshake is answered step by step:
//! the ask against the invitation's terms, the proof against the recorded public key; an
//! `--approve` invitation waits for the user's answer (the invitee asks again); an accepted
//! one is recorded (the pair's secret row, then the facts) before the verdict is sent.

use std::collections::HashMap;

use libp2p::Multiaddr;
use rand_core::Rng;

use super::writes::Followup;
use super::{Core, Effect, Millis, Reply, RequestId, StreamToken};
use crate::invite::book::{InvitationState, Profile};
use crate::invite::code::{InvitationCode, InvitationSecret, InvitationTarget, SECRET_BYTES};
use crate::invite::facts::{InvitationKey, InviteFact, Target, Terms};
use crate::invite::handshake::{self, Ephemeral};
use crate::invite::messages::{Ask, Challenge, Proceed, Proof, Refusal, Verdict};
use crate::invite::names::{self, check_own_name};
use crate::invite::views::CreatedView;
use crate::node::{InviteOptions, NodeError, NodeEvent};
use crate::state::fact::{ContextId, DeviceKey};
use crate::state::store::ContactRow;

/// Most uses one invitation may have.
pub const MAX_INVITATION_USES: u32 = 1_000;
/// Most acceptances held for the user's answer at once; more are refused until answered.
pub const MAX_WAITING_ANSWERS: usize = 64;

/// What a front end asks about invitations, names and contacts. Peers are already resolved
/// to device keys by the shell, which can read their names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteCommand {
    SetName(String),
    Create {
        options: InviteOptions,
        /// The addresses the code gives, best first.
        addrs: Vec<Multiaddr>,
    },
    Accept(InvitationCode),
    Revoke(String),
    Answer {
        id: String,
        approve: bool,
    },
    Rename {
        peer: DeviceKey,
        nickname: String,
    },
    Remove(DeviceKey),
    SetTrust {
        peer: DeviceKey,
        level: crate::state::trust_level::TrustLevel,
    },
    Share {
        peer: DeviceKey,
        on: bool,
    },
}

/// What an invitation command gets back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum InviteAnswer {
    Created(CreatedView),
    Acceptance(crate::invite::views::AcceptanceView),
    /// Done; the text says what happened.
    Done(String),
}

/// An inbound handshake between its ask and its proof.
#[derive(Debug)]
struct InviterRun {
    invitee: DeviceKey,
    ask: Ask,
    /// The challenge sent: fresh values, or a refusal the verdict repeats.
    answered: Result<(Ephemeral, Proceed), Refusal>,
}

/// An acceptance of an `--approve` invitation waiting for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingAnswer {
    pub invitation: InvitationKey,
    pub invitee: DeviceKey,
    pub name: String,
}

/// The inviter's state: the profile, the pairwise contexts, and the handshakes in flight.
#[derive(Debug)]
pub(super) struct Invitations {
    pub own_context: ContextId,
    pub profile: Profile,
    /// Each contact's pairwise context, as the contacts table holds it.
    pub contacts: HashMap<DeviceKey, ContextId>,
    runs: HashMap<StreamToken, InviterRun>,
    pub waiting: Vec<WaitingAnswer>,
}

impl Invitations {
    pub fn new(
        own_context: ContextId,
        profile: Profile,
        contacts: HashMap<DeviceKey, ContextId>,
    ) -> Self {
        Self {
            own_context,
            profile,
            contacts,
            runs: HashMap::new(),
            waiting: Vec::new(),
        }
    }

    /// When the next open invitation expires, for the timer that records it.
    pub fn next_expiry(&self) -> Option<Millis> {
        self.profile
            .invitations
            .values()
            .filter(|i| !i.expiry_recorded && i.revoked_ms.is_none() && i.uses_left() > 0)
            .filter_map(|i| i.terms.expires_at_ms)
            .min()
    }
}

fn refused(text: impl Into<String>) -> NodeError {
    NodeError::Refused(text.into())
}

impl Core {
    pub(super) fn invite_command(
        &mut self,
        request: RequestId,
        command: InviteCommand,
        now: Millis,
        rng: &mut impl Rng,
    ) {
        let result = match command {
            InviteCommand::SetName(name) => self.set_name(request, &name, now),
            InviteCommand::Create { options, addrs } => {
                self.create_invitation(request, options, addrs, now, rng)
            }
            InviteCommand::Accept(code) => self.accept(request, code, now),
            InviteCommand::Revoke(id) => self.revoke(request, &id, now),
            InviteCommand::Answer { id, approve } => self.answer(request, &id, approve, now),
            InviteCommand::Rename { peer, nickname } => self.rename(request, peer, &nickname, now),
            InviteCommand::Remove(peer) => self.remove_contact(request, peer, now),
            InviteCommand::SetTrust { peer, level } => self.set_trust(request, peer, level, now),
            InviteCommand::Share { peer, on } => self.set_sharing(request, peer, on, now),
        };
        if let Err(err) = result {
            self.effects.push_back(Effect::Reply {
                request,
                reply: Reply::Invite(Err(err)),
            });
        }
    }

    fn own(&self, fact: InviteFact) -> (ContextId, InviteFact) {
        (self.invitations.own_context, fact)
    }

    fn set_name(&mut self, request: RequestId, name: &str, now: Millis) -> Result<(), NodeError> {
        let name = check_own_name(name).map_err(|err| refused(err.to_string()))?;
        // The name goes to every contact too, in the pair's context, where they read it.
        let mut facts = vec![self.own(InviteFact::ProfileName(name.clone()))];
        facts.extend(
            self.invitations
                .contacts
                .values()
                .map(|context| (*context, InviteFact::ProfileName(name.clone()))),
        );
        self.write_facts(
            facts,
            Followup::Reply(
                request,
                InviteAnswer::Done(format!("your name is now {name}")),
            ),
            now,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn create_invitation(
        &mut self,
        request: RequestId,
        options: InviteOptions,
        addrs: Vec<Multiaddr>,
        now: Millis,
        rng: &mut impl Rng,
    ) -> Result<(), NodeError> {
        let InviteOptions {
            valid_for_ms,
            uses,
            note,
            approve,
            trust,
            group,
        } = options;
        let group = group.map(ContextId);
        if let Some(group) = group {
            self.check_group_code(group)?;
        }
        if uses == 0 || uses > MAX_INVITATION_USES {
            return Err(refused(format!(
                "an invitation has 1 to {MAX_INVITATION_USES} uses, not {uses}"
            )));
        }
        if addrs.is_empty() {
            return Err(refused(
                "the node has no address another device could dial yet: check `aura status`",
            ));
        }
        let mut secret_bytes = zeroize::Zeroizing::new([0; SECRET_BYTES]);
        rng.fill_bytes(secret_bytes.as_mut_slice());
        let secret = InvitationSecret::from_bytes(*secret_bytes);
        // Whole seconds in the code; the recorded expiry is the same instant.
        let expires_at_secs = valid_for_ms.map(|ms| now.saturating_add(ms).div_ceil(1000));
        let code = InvitationCode {
            target: if group.is_some() {
                InvitationTarget::Group
            } else {
                InvitationTarget::Contact
            },
            inviter: self.device.0,
            secret,
            expires_at_secs,
            addrs: addrs.clone(),
            note: note.clone(),
        };
        let text = code.encode().map_err(|err| refused(err.to_string()))?;
        let key = handshake::invitation_key(&code.secret, &self.device);
        let terms = Terms {
            target: group.map_or(Target::Contact, Target::Group),
            expires_at_ms: expires_at_secs.map(|secs| secs.saturating_mul(1000)),
            uses,
            approve,
            note,
            trust,
        };
        let view = CreatedView {
            id: key.short_id(),
            code: text,
            expires_at_ms: terms.expires_at_ms,
            uses,
            approve,
            addrs: addrs.iter().map(ToString::to_string).collect(),
        };
        let fact = self.own(InviteFact::Created { key, terms });
        self.write_facts(
            vec![fact],
            Followup::Reply(request, InviteAnswer::Created(view)),
            now,
        )
    }

    fn find_invitation(&self, id: &str) -> Result<InvitationKey, NodeError> {
        match self.invitations.profile.find(id) {
            Ok(Some(invitation)) => Ok(invitation.key),
            Ok(None) => Err(refused(format!(
                "no invitation of yours has the id `{}` (see `aura invite list`)",
                names::sanitize_peer_name(id)
            ))),
            Err(count) => Err(refused(format!(
                "`{}` matches {count} invitations: give more of the id",
                names::sanitize_peer_name(id)
            ))),
        }
    }

    fn revoke(&mut self, request: RequestId, id: &str, now: Millis) -> Result<(), NodeError> {
        let key = self.find_invitation(id)?;
        let Some(invitation) = self.invitations.profile.invitations.get(&key) else {
            return Err(refused("the invitation is gone"));
        };
        match invitation.state(now) {
            InvitationState::Revoked => {
                return Err(refused(format!(
                    "invitation {} is already revoked",
                    key.short_id()
                )));
            }
            InvitationState::UsedUp => {
                return Err(refused(format!(
                    "invitation {} is used up already; nobody else can accept it",
                    key.short_id()
                )));
            }
            InvitationState::Open | InvitationState::Expired => {}
        }
        self.invitations.waiting.retain(|w| w.invitation != key);
        let fact = self.own(InviteFact::Revoked(key));
        let done = format!(
            "invitation {} revoked: nobody can accept it any more",
            key.short_id()
        );
        self.write_facts(
            vec![fact],
            Followup::Reply(request, InviteAnswer::Done(done)),
            now,
        )
    }

    fn answer(
        &mut self,
        request: RequestId,
        id: &str,
        approve: bool,
        now: Millis,
    ) -> Result<(), NodeError> {
        let key = self.find_invitation(id)?;
        let Some(at) = self
            .invitations
            .waiting
            .iter()
            .position(|w| w.invitation == key)
        else {
            return Err(refused(format!(
                "nobody is waiting for an answer about invitation {}",
                key.short_id()
            )));
        };
        let waiting = self.invitations.waiting.remove(at);
        let fact = self.own(InviteFact::Answered {
            key,
            invitee: waiting.invitee,
            approved: approve,
        });
        let done = if approve {
            format!(
                "approved {}: the relationship forms when their device asks again, within seconds",
                waiting.name
            )
        } else {
            format!("declined {}", waiting.name)
        };
        self.write_facts(
            vec![fact],
            Followup::Reply(request, InviteAnswer::Done(done)),
            now,
        )
    }

    fn rename(
        &mut self,
        request: RequestId,
        peer: DeviceKey,
        nickname: &str,
        now: Millis,
    ) -> Result<(), NodeError> {
        let nickname = if nickname.trim().is_empty() {
            String::new()
        } else {
            check_own_name(nickname).map_err(|err| refused(err.to_string()))?
        };
        let done = if nickname.is_empty() {
            "nickname cleared".to_owned()
        } else {
            format!("nickname set to {nickname}")
        };
        let fact = self.own(InviteFact::Nickname { peer, nickname });
        self.write_facts(
            vec![fact],
            Followup::Reply(request, InviteAnswer::Done(done)),
            now,
        )
    }

    fn remove_contact(
        &mut self,
        request: RequestId,
        peer: DeviceKey,
        now: Millis,
    ) -> Result<(), NodeError> {
        let Some(context) = self.invitations.contacts.get(&peer).copied() else {
            return Err(refused("not a contact"));
        };
        let done = "the relationship has ended on this side; the contact is told".to_owned();
        let mut writes = vec![super::trust::invite_write(
            context,
            &InviteFact::RelationshipEnded,
        )];
        // Whoever was told of this contact is told it no longer counts.
        writes.extend(self.attest_to_shared(peer, None));
        self.write_own(
            writes,
            Followup::Reply(request, InviteAnswer::Done(done)),
            now,
        )?;
        self.invitations.contacts.remove(&peer);
        Ok(())
    }

    /// Records the expiry of invitations that passed it with uses left.
    pub(super) fn record_expiries(&mut self, now: Millis) {
        let expired: Vec<InvitationKey> = self
            .invitations
            .profile
            .invitations
            .values_mut()
            .filter(|i| !i.expiry_recorded && i.state(now) == InvitationState::Expired)
            .map(|i| {
                // Once: the fact is on its way.
                i.expiry_recorded = true;
                i.key
            })
            .collect();
        if expired.is_empty() {
            return;
        }
        let facts = expired
            .into_iter()
            .map(|key| self.own(InviteFact::Expired(key)))
            .collect();
        if let Err(err) = self.write_facts(facts, Followup::Nothing, now) {
            tracing::warn!(%err, "recording expired invitations");
        }
    }

    /// An invitee asked: the challenge is fresh values if the invitation admits it now.
    pub(super) fn handshake_asked(
        &mut self,
        token: StreamToken,
        invitee: DeviceKey,
        ask: Ask,
        now: Millis,
        rng: &mut impl Rng,
    ) {
        let admitted = match self.invitations.profile.invitations.get(&ask.invitation) {
            None => Err(Refusal::Unknown),
            Some(invitation) => invitation.admits(&invitee, now),
        };
        let (challenge, answered) = match admitted {
            Ok(()) => {
                let mut seed = zeroize::Zeroizing::new([0; 32]);
                rng.fill_bytes(seed.as_mut_slice());
                let ephemeral = Ephemeral::from_random(*seed);
                let mut nonce = [0; 32];
                rng.fill_bytes(&mut nonce);
                let proceed = Proceed {
                    ephemeral: ephemeral.public(),
                    nonce,
                    name: self.invitations.profile.name().to_owned(),
                };
                (
                    Challenge::Proceed(proceed.clone()),
                    Ok((ephemeral, proceed)),
                )
            }
            Err(refusal) => {
                tracing::info!(%refusal, "an invitation handshake refused at its ask");
                (Challenge::Refused(refusal), Err(refusal))
            }
        };
        self.invitations.runs.insert(
            token,
            InviterRun {
                invitee,
                ask,
                answered,
            },
        );
        self.effects
            .push_back(Effect::Challenge { token, challenge });
    }

    /// The invitee proved (or withdrew): verify, then wait for the user, refuse, or record.
    pub(super) fn handshake_proved(&mut self, token: StreamToken, proof: Proof, now: Millis) {
        let Some(run) = self.invitations.runs.remove(&token) else {
            self.effects.push_back(Effect::Verdict {
                token,
                verdict: Verdict::Refused(Refusal::Failed),
            });
            return;
        };
        let verdict = match self.judge(&run, proof, now) {
            Ok(Some(record)) => return self.record_inviter_side(token, run, record, now),
            Ok(None) => Verdict::AwaitingApproval,
            Err(refusal) => Verdict::Refused(refusal),
        };
        self.effects.push_back(Effect::Verdict { token, verdict });
    }

    /// What the proof earns: the transcript and pairwise keys to record, `None` to wait for
    /// the user, or the refusal.
    fn judge(
        &mut self,
        run: &InviterRun,
        proof: Proof,
        now: Millis,
    ) -> Result<Option<([u8; 32], handshake::Pairwise)>, Refusal> {
        let (ephemeral, proceed) = run.answered.as_ref().map_err(|refusal| *refusal)?;
        let Proof::Signed(signatures) = proof else {
            return Err(Refusal::BadProof);
        };
        let transcript = handshake::transcript(&self.device, &run.invitee, &run.ask, proceed);
        handshake::verify_proof(&run.ask.invitation, &run.invitee, &transcript, &signatures)
            .map_err(|err| {
                tracing::info!(%err, "an invitation proof refused");
                Refusal::BadProof
            })?;
        // Checked again: the user may have revoked it, or another device used it, meanwhile.
        let invitation = self
            .invitations
            .profile
            .invitations
            .get(&run.ask.invitation)
            .ok_or(Refusal::Unknown)?;
        invitation.admits(&run.invitee, now)?;
        if invitation.awaits_answer(&run.invitee) {
            let name = names::sanitize_peer_name(&run.ask.name);
            let known = self
                .invitations
                .waiting
                .iter()
                .any(|w| w.invitation == run.ask.invitation && w.invitee == run.invitee);
            if !known {
                if self.invitations.waiting.len() >= MAX_WAITING_ANSWERS {
                    return Err(Refusal::Failed);
                }
                self.invitations.waiting.push(WaitingAnswer {
                    invitation: run.ask.invitation,
                    invitee: run.invitee,
                    name: name.clone(),
                });
                self.effects
                    .push_back(Effect::Notify(NodeEvent::ApprovalRequested {
                        id: run.ask.invitation.short_id(),
                        name,
                    }));
            }
            return Ok(None);
        }
        let pairwise = ephemeral
            .pairwise(&run.ask.ephemeral, &self.device, &run.invitee, &transcript)
            .map_err(|_| Refusal::BadProof)?;
        Ok(Some((transcript, pairwise)))
    }

    fn record_inviter_side(
        &mut self,
        token: StreamToken,
        run: InviterRun,
        (transcript, pairwise): ([u8; 32], handshake::Pairwise),
        now: Millis,
    ) {
        let name = names::sanitize_peer_name(&run.ask.name);
        let invitation = run.ask.invitation;
        let mut facts = Vec::new();
        let redeemed_before = self
            .invitations
            .profile
            .invitations
            .get(&invitation)
            .is_some_and(|i| i.redeemed_by(&run.invitee));
        if !redeemed_before {
            facts.push(self.own(InviteFact::Redeemed {
                key: invitation,
                by: run.invitee,
                name: name.clone(),
            }));
        }
        facts.extend(self.relationship_facts(
            pairwise.context,
            self.device,
            run.invitee,
            invitation,
            transcript,
            &name,
        ));
        self.effects.push_back(Effect::StoreContact(ContactRow {
            peer: run.invitee,
            context: pairwise.context,
            secret: pairwise.secret.clone(),
            since_ms: now,
        }));
        let starting = self
            .invitations
            .profile
            .invitations
            .get(&invitation)
            .map_or(crate::trust::book::RELATIONSHIP_TRUST, |i| i.terms.trust);
        let trust_writes = self.initial_trust(run.invitee, starting);
        let fresh = !self.serves(&run.invitee);
        self.invitations
            .contacts
            .insert(run.invitee, pairwise.context);
        if let Some(Target::Group(group)) = self
            .invitations
            .profile
            .invitations
            .get(&invitation)
            .map(|i| i.terms.target)
        {
            self.add_when_offered(run.invitee, group);
        }
        if fresh {
            self.newly_served(&[run.invitee]);
        }
        let signature = handshake::accept(&self.signing_key, &transcript);
        let followup = Followup::Verdict {
            token,
            signature,
            id: invitation.short_id(),
            by: name,
        };
        let mut writes: Vec<super::trust::OwnWrite> = facts
            .iter()
            .map(|(context, fact)| super::trust::invite_write(*context, fact))
            .collect();
        writes.extend(trust_writes);
        if let Err(err) = self.write_own(writes, followup, now) {
            tracing::error!(%err, "recording a relationship");
            self.effects.push_back(Effect::Verdict {
                token,
                verdict: Verdict::Refused(Refusal::Failed),
            });
        }
    }

    /// The facts both sides record in the pair's context: the relationship, and the
    /// author's name so that the other side reads it there from the start.
    pub(super) fn relationship_facts(
        &self,
        context: ContextId,
        inviter: DeviceKey,
        invitee: DeviceKey,
        invitation: InvitationKey,
        transcript: [u8; 32],
        peer_name: &str,
    ) -> Vec<(ContextId, InviteFact)> {
        let mut facts = vec![(
            context,
            InviteFact::Relationship {
                inviter,
                invitee,
                invitation,
                transcript,
                peer_name: peer_name.to_owned(),
            },
        )];
        let name = self.invitations.profile.name();
        if !name.is_empty() {
            facts.push((context, InviteFact::ProfileName(name.to_owned())));
        }
        facts
    }

    pub(super) fn handshake_ended(&mut self, token: StreamToken) {
        self.invitations.runs.remove(&token);
    }
}
