//! The user's trust settings, and the attestations they imply.
//!
//! What this device attests to a contact it shares with follows from the settings: every
//! other live contact at its direct level. So each change (a level set, sharing turned on or
//! off, a relationship formed or ended) writes what the change implies, in the pair's
//! context of each contact concerned: a new attestation replaces the older one (it is later),
//! a revocation withdraws it, and both reach exactly those the attestation reached.

use std::collections::HashMap;

use super::invitations::InviteAnswer;
use super::writes::Followup;
use super::{Core, Millis, RequestId};
use crate::invite::facts::InviteFact;
use crate::node::NodeError;
use crate::state::fact::{ContextId, DeviceKey, FactKind};
use crate::state::trust_level::TrustLevel;
use crate::trust::book::RELATIONSHIP_TRUST;
use crate::trust::facts::TrustFact;

/// A fact of the core's own to write: its context, kind and body.
pub(super) type OwnWrite = (ContextId, FactKind, Vec<u8>);

fn trust_write(context: ContextId, fact: &TrustFact) -> OwnWrite {
    let (kind, body) = fact.encode();
    (context, kind, body)
}

pub(super) fn invite_write(context: ContextId, fact: &InviteFact) -> OwnWrite {
    let (kind, body) = fact.encode();
    (context, kind, body)
}

impl Core {
    /// Whether `peer` is served more than the invitation handshake: a contact, or a peer the
    /// web of trust reaches. A contact whose relationship ended stays served while the pair's
    /// context still has that end to carry.
    pub(super) fn serves(&self, peer: &DeviceKey) -> bool {
        self.invitations.contacts.contains_key(peer)
            || self.guard.reaches(peer)
            || self.groups.co_member(peer)
    }

    /// Takes the web of trust's levels; a peer it reaches for the first time is served from
    /// now on, in the contexts it already shares.
    pub(super) fn trust_levels(&mut self, levels: HashMap<DeviceKey, TrustLevel>) {
        let fresh: Vec<DeviceKey> = levels
            .keys()
            .filter(|peer| !self.serves(peer))
            .copied()
            .collect();
        self.guard.set_trust_levels(levels);
        self.newly_served(&fresh);
    }

    /// Peers served now that were not: they get their budgets in each joined context they
    /// take part in, and a session there from the side with the smaller id, as when a peer
    /// subscribes (their subscriptions, reported while they were strangers, were ignored).
    pub(super) fn newly_served(&mut self, devices: &[DeviceKey]) {
        if devices.is_empty() {
            return;
        }
        let mut contexts: Vec<ContextId> = self.joined.iter().copied().collect();
        contexts.sort();
        for context in contexts {
            for peer in self.peers.subscribers_of(context) {
                let Some(device) = self.peers.device(&peer) else {
                    continue;
                };
                if devices.contains(&device) && self.groups.admits(&context, &device) {
                    self.guard.admit_member(context, device);
                    if self.local_peer < peer {
                        self.start_sync(peer, context);
                    }
                }
            }
        }
    }

    /// What a new relationship with `peer` at the invitation's `level` writes: the level,
    /// unless it is where the peer stands already, and the attestations it implies.
    pub(super) fn initial_trust(&self, peer: DeviceKey, level: TrustLevel) -> Vec<OwnWrite> {
        let mut writes = Vec::new();
        if level != self.direct_level(&peer) {
            writes.push(trust_write(
                self.invitations.own_context,
                &TrustFact::Set { peer, level },
            ));
        }
        writes.extend(self.attest_to_shared(peer, Some(level)));
        writes
    }

    /// The direct level of a contact: what the user set, or where a relationship starts.
    pub(super) fn direct_level(&self, peer: &DeviceKey) -> TrustLevel {
        self.trust
            .level_set(peer)
            .map_or(RELATIONSHIP_TRUST, |(level, _)| level)
    }

    /// Contacts the user shares its trust with, but `except`.
    fn shared_contacts(&self, except: &DeviceKey) -> Vec<(DeviceKey, ContextId)> {
        let mut shared: Vec<(DeviceKey, ContextId)> = self
            .invitations
            .contacts
            .iter()
            .filter(|(peer, _)| *peer != except && self.trust.shares_with(peer))
            .map(|(peer, context)| (*peer, *context))
            .collect();
        shared.sort();
        shared
    }

    /// Attestations about `subject` at `level` (`None`: revoked) for each contact shared with.
    pub(super) fn attest_to_shared(
        &self,
        subject: DeviceKey,
        level: Option<TrustLevel>,
    ) -> Vec<OwnWrite> {
        self.shared_contacts(&subject)
            .into_iter()
            .map(|(_, context)| {
                let fact = match level {
                    Some(level) => TrustFact::Attestation { subject, level },
                    None => TrustFact::AttestationRevoked { subject },
                };
                trust_write(context, &fact)
            })
            .collect()
    }

    pub(super) fn set_trust(
        &mut self,
        request: RequestId,
        peer: DeviceKey,
        level: TrustLevel,
        now: Millis,
    ) -> Result<(), NodeError> {
        if peer == self.device {
            return Err(NodeError::Refused(
                "your own device is trusted completely".into(),
            ));
        }
        let own = self.invitations.own_context;
        let mut writes = vec![trust_write(own, &TrustFact::Set { peer, level })];
        if self.invitations.contacts.contains_key(&peer) {
            writes.extend(self.attest_to_shared(peer, Some(level)));
        }
        let shared = writes.len() - 1;
        let done = if shared == 0 {
            format!("trust set to {}", level.name())
        } else {
            format!(
                "trust set to {}; told the {shared} contact{} you share your trust with",
                level.name(),
                if shared == 1 { "" } else { "s" }
            )
        };
        self.write_own(
            writes,
            Followup::Reply(request, InviteAnswer::Done(done)),
            now,
        )
    }

    pub(super) fn set_sharing(
        &mut self,
        request: RequestId,
        peer: DeviceKey,
        on: bool,
        now: Millis,
    ) -> Result<(), NodeError> {
        let Some(context) = self.invitations.contacts.get(&peer).copied() else {
            return Err(NodeError::Refused(
                "only a contact can be told whom you trust".into(),
            ));
        };
        let own = self.invitations.own_context;
        let mut writes = vec![trust_write(own, &TrustFact::Share { peer, on })];
        let mut others: Vec<DeviceKey> = self
            .invitations
            .contacts
            .keys()
            .filter(|other| **other != peer)
            .copied()
            .collect();
        others.sort();
        for subject in &others {
            let fact = if on {
                TrustFact::Attestation {
                    subject: *subject,
                    level: self.direct_level(subject),
                }
            } else {
                TrustFact::AttestationRevoked { subject: *subject }
            };
            writes.push(trust_write(context, &fact));
        }
        let done = if on {
            format!(
                "sharing your trust with this contact: {} attestation{} sent",
                others.len(),
                if others.len() == 1 { "" } else { "s" }
            )
        } else {
            "no longer sharing your trust with this contact: what it was told is revoked".into()
        };
        self.write_own(
            writes,
            Followup::Reply(request, InviteAnswer::Done(done)),
            now,
        )
    }
}
