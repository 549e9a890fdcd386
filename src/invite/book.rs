//! What the facts say: a device's invitations, name and nicknames (its own context), and
//! each relationship (its pairwise context). Deterministic reductions: the same facts in any
//! order give the same book.

use std::collections::BTreeMap;

use super::facts::{InvitationKey, InviteFact, Terms};
use super::messages::Refusal;
use crate::state::fact::{ContextId, DeviceKey, Fact, FactId};
use crate::state::hlc::Hlc;

/// Orders concurrent writes of one register: the later time wins, then the larger fact id.
type Stamp = (Hlc, FactId);

fn stamp(fact: &Fact) -> Stamp {
    fact.order_key()
}

/// Someone who accepted an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    pub by: DeviceKey,
    pub name: String,
    pub at_ms: u64,
}

/// One invitation this device made, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub key: InvitationKey,
    pub created_ms: u64,
    pub terms: Terms,
    pub revoked_ms: Option<u64>,
    /// Whether the expiry was recorded as a fact yet.
    pub expiry_recorded: bool,
    pub redeemed: Vec<Redemption>,
    /// The user's answers to acceptances of an `--approve` invitation.
    pub answers: BTreeMap<DeviceKey, bool>,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Open,
    UsedUp,
    Revoked,
    Expired,
}

impl Invitation {
    pub fn uses_left(&self) -> u32 {
        self.terms
            .uses
            .saturating_sub(u32::try_from(self.redeemed.len()).unwrap_or(u32::MAX))
    }

    pub fn state(&self, now_ms: u64) -> InvitationState {
        if self.revoked_ms.is_some() {
            InvitationState::Revoked
        } else if self.uses_left() == 0 {
            InvitationState::UsedUp
        } else if self.terms.expires_at_ms.is_some_and(|at| now_ms >= at) {
            InvitationState::Expired
        } else {
            InvitationState::Open
        }
    }

    pub fn redeemed_by(&self, device: &DeviceKey) -> bool {
        self.redeemed.iter().any(|r| r.by == *device)
    }

    /// Whether `invitee` may go on with it now. One who redeemed it already may run the
    /// handshake again (its acceptance may not have reached it), whatever the uses left.
    pub fn admits(&self, invitee: &DeviceKey, now_ms: u64) -> Result<(), Refusal> {
        if self.revoked_ms.is_some() {
            return Err(Refusal::Revoked);
        }
        if self.redeemed_by(invitee) {
            return Ok(());
        }
        if self.answers.get(invitee) == Some(&false) {
            return Err(Refusal::Declined);
        }
        match self.state(now_ms) {
            InvitationState::Open => Ok(()),
            InvitationState::UsedUp => Err(Refusal::UsedUp),
            InvitationState::Expired => Err(Refusal::Expired {
                at_ms: self.terms.expires_at_ms.unwrap_or(0),
            }),
            InvitationState::Revoked => Err(Refusal::Revoked),
        }
    }

    /// Whether the user still has to answer `invitee`'s acceptance.
    pub fn awaits_answer(&self, invitee: &DeviceKey) -> bool {
        self.terms.approve && !self.redeemed_by(invitee) && !self.answers.contains_key(invitee)
    }
}

/// What a device's own context says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    name: Option<(Stamp, String)>,
    nicknames: BTreeMap<DeviceKey, (Stamp, String)>,
    pub invitations: BTreeMap<InvitationKey, Invitation>,
}

impl Profile {
    /// The profile the facts of `me`'s own context describe; facts by anyone else are
    /// ignored.
    pub fn from_facts<'a>(me: &DeviceKey, facts: impl IntoIterator<Item = &'a Fact>) -> Self {
        let mut profile = Self::default();
        let mut facts: Vec<&Fact> = facts.into_iter().collect();
        // Creation before what happened to an invitation, whatever order facts arrived in.
        facts.sort_by_key(|fact| fact.order_key());
        for fact in facts {
            profile.apply(me, fact);
        }
        profile
    }

    /// Folds in one fact; one about an invitation never created is ignored.
    pub fn apply(&mut self, me: &DeviceKey, fact: &Fact) {
        if fact.author() != *me {
            return;
        }
        let Ok(Some(body)) = InviteFact::parse(fact.kind(), fact.body()) else {
            return;
        };
        let at_ms = fact.time().physical_ms();
        match body {
            InviteFact::Created { key, terms } => {
                self.invitations.entry(key).or_insert(Invitation {
                    key,
                    created_ms: at_ms,
                    terms,
                    revoked_ms: None,
                    expiry_recorded: false,
                    redeemed: Vec::new(),
                    answers: BTreeMap::new(),
                });
            }
            InviteFact::Revoked(key) => {
                if let Some(invitation) = self.invitations.get_mut(&key) {
                    invitation.revoked_ms.get_or_insert(at_ms);
                }
            }
            InviteFact::Expired(key) => {
                if let Some(invitation) = self.invitations.get_mut(&key) {
                    invitation.expiry_recorded = true;
                }
            }
            InviteFact::Redeemed { key, by, name } => {
                if let Some(invitation) = self.invitations.get_mut(&key)
                    && !invitation.redeemed_by(&by)
                {
                    invitation.redeemed.push(Redemption { by, name, at_ms });
                }
            }
            InviteFact::Answered {
                key,
                invitee,
                approved,
            } => {
                if let Some(invitation) = self.invitations.get_mut(&key) {
                    invitation.answers.insert(invitee, approved);
                }
            }
            InviteFact::ProfileName(name) => set_latest(&mut self.name, stamp(fact), name),
            InviteFact::Nickname { peer, nickname } => {
                let entry = self
                    .nicknames
                    .entry(peer)
                    .or_insert((stamp(fact), nickname.clone()));
                if stamp(fact) >= entry.0 {
                    *entry = (stamp(fact), nickname);
                }
            }
            InviteFact::Relationship { .. } | InviteFact::RelationshipEnded => {}
        }
    }

    /// The display name, or empty when none was set.
    pub fn name(&self) -> &str {
        self.name.as_ref().map_or("", |(_, name)| name)
    }

    /// The nickname given to `peer`, if any.
    pub fn nickname(&self, peer: &DeviceKey) -> Option<&str> {
        self.nicknames
            .get(peer)
            .map(|(_, nickname)| nickname.as_str())
            .filter(|nickname| !nickname.is_empty())
    }

    /// The invitation whose short id or full hex id is `id`; `Err` with the matches when
    /// ambiguous.
    pub fn find(&self, id: &str) -> Result<Option<&Invitation>, usize> {
        let id = id.trim().to_lowercase();
        if id.is_empty() {
            return Ok(None);
        }
        let matches: Vec<&Invitation> = self
            .invitations
            .values()
            .filter(|invitation| hex(&invitation.key.0).starts_with(&id))
            .collect();
        match matches.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            many => Err(many.len()),
        }
    }
}

fn set_latest(register: &mut Option<(Stamp, String)>, at: Stamp, value: String) {
    if register.as_ref().is_none_or(|(current, _)| at >= *current) {
        *register = Some((at, value));
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Which side of the invitation this device was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Inviter,
    Invitee,
}

/// A relationship, as its pairwise context says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    pub peer: DeviceKey,
    pub context: ContextId,
    pub role: Role,
    pub since_ms: u64,
    /// The name the peer gave, latest first: at formation, then what it sent since.
    pub peer_name: String,
    pub invitation: InvitationKey,
    /// When it ended and whether this device ended it.
    pub ended: Option<(u64, bool)>,
}

/// The relationship `me` recorded in `context`, if it did.
pub fn relationship<'a>(
    me: &DeviceKey,
    context: ContextId,
    facts: impl IntoIterator<Item = &'a Fact>,
) -> Option<Relationship> {
    let mut facts: Vec<&Fact> = facts
        .into_iter()
        .filter(|fact| fact.context() == context)
        .collect();
    facts.sort_by_key(|fact| fact.order_key());
    let mut found: Option<Relationship> = None;
    let mut name: Option<(Stamp, String)> = None;
    for fact in &facts {
        if let Ok(Some(InviteFact::Relationship {
            inviter,
            invitee,
            invitation,
            peer_name,
            ..
        })) = InviteFact::parse(fact.kind(), fact.body())
            && fact.author() == *me
            && found.is_none()
        {
            let (peer, role) = if inviter == *me {
                (invitee, Role::Inviter)
            } else {
                (inviter, Role::Invitee)
            };
            set_latest(
                &mut name,
                stamp(fact),
                super::names::sanitize_peer_name(&peer_name),
            );
            found = Some(Relationship {
                peer,
                context,
                role,
                since_ms: fact.time().physical_ms(),
                peer_name: String::new(),
                invitation,
                ended: None,
            });
        }
    }
    let mut relationship = found?;
    for fact in &facts {
        let author = fact.author();
        if author != *me && author != relationship.peer {
            continue;
        }
        match InviteFact::parse(fact.kind(), fact.body()) {
            Ok(Some(InviteFact::ProfileName(sent))) if author == relationship.peer => {
                set_latest(
                    &mut name,
                    stamp(fact),
                    super::names::sanitize_peer_name(&sent),
                );
            }
            Ok(Some(InviteFact::RelationshipEnded)) if relationship.ended.is_none() => {
                relationship.ended = Some((fact.time().physical_ms(), author == *me));
            }
            _ => {}
        }
    }
    relationship.peer_name = name.map(|(_, name)| name).unwrap_or_default();
    Some(relationship)
}
