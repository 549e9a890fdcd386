//! The trust graph as the facts describe it, for one device: its direct edges (each live
//! relationship, at the level the user set or the level a relationship starts at) and the
//! attestations its contacts shared with it. A deterministic reduction: the same facts in
//! any order give the same graph.

use std::collections::BTreeMap;

use super::facts::TrustFact;
use super::graph::{Edge, EdgeSource, TrustGraph};
use crate::invite::book::Relationship;
use crate::state::fact::{DeviceKey, Fact, FactId};
use crate::state::hlc::Hlc;
use crate::state::trust_level::TrustLevel;

/// The level a relationship starts at, until the user sets another.
pub const RELATIONSHIP_TRUST: TrustLevel = TrustLevel::Low;

/// Most distinct peers one contact's attestations may name: beyond them, attestations about
/// further peers are ignored (the earliest subjects are kept), so that a contact writing
/// attestations without end cannot grow this device's graph without end. Generous: a
/// contact vouches at most for its own contacts.
pub const MAX_ATTESTED_PER_CONTACT: usize = 4_096;

type Stamp = (Hlc, FactId);

/// The user's trust settings, from its own context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustSettings {
    levels: BTreeMap<DeviceKey, (Stamp, TrustLevel)>,
    shares: BTreeMap<DeviceKey, (Stamp, bool)>,
}

impl TrustSettings {
    /// The settings the facts of `me`'s own context hold; facts by anyone else are ignored.
    pub fn from_facts<'a>(me: &DeviceKey, facts: impl IntoIterator<Item = &'a Fact>) -> Self {
        let mut settings = Self::default();
        for fact in facts {
            settings.apply(me, fact);
        }
        settings
    }

    /// Folds in one fact: the later write of each setting wins, whatever the arrival order.
    pub fn apply(&mut self, me: &DeviceKey, fact: &Fact) {
        if fact.author() != *me {
            return;
        }
        let stamp = fact.order_key();
        match TrustFact::parse(fact.kind(), fact.body()) {
            Ok(Some(TrustFact::Set { peer, level })) => {
                let entry = self.levels.entry(peer).or_insert((stamp, level));
                if stamp >= entry.0 {
                    *entry = (stamp, level);
                }
            }
            Ok(Some(TrustFact::Share { peer, on })) => {
                let entry = self.shares.entry(peer).or_insert((stamp, on));
                if stamp >= entry.0 {
                    *entry = (stamp, on);
                }
            }
            _ => {}
        }
    }

    /// The level the user set for `peer`, and when.
    pub fn level_set(&self, peer: &DeviceKey) -> Option<(TrustLevel, u64)> {
        self.levels
            .get(peer)
            .map(|((time, _), level)| (*level, time.physical_ms()))
    }

    /// Whether the user shares its trust with `peer` (off unless turned on).
    pub fn shares_with(&self, peer: &DeviceKey) -> bool {
        self.shares.get(peer).is_some_and(|(_, on)| *on)
    }
}

/// The root's direct level for a live relationship, and since when.
pub fn direct_level(settings: &TrustSettings, relationship: &Relationship) -> (TrustLevel, u64) {
    match settings.level_set(&relationship.peer) {
        Some((level, at)) => (level, at.max(relationship.since_ms)),
        None => (RELATIONSHIP_TRUST, relationship.since_ms),
    }
}

/// What `author` attested in one pairwise context: per subject, the latest attestation
/// (level and time) or revocation (time).
pub fn attestations<'a>(
    author: &DeviceKey,
    facts: impl IntoIterator<Item = &'a Fact>,
) -> BTreeMap<DeviceKey, (Stamp, Option<TrustLevel>)> {
    let mut latest: BTreeMap<DeviceKey, (Stamp, Option<TrustLevel>)> = BTreeMap::new();
    for fact in facts {
        if fact.author() != *author {
            continue;
        }
        let (subject, level) = match TrustFact::parse(fact.kind(), fact.body()) {
            Ok(Some(TrustFact::Attestation { subject, level })) => (subject, Some(level)),
            Ok(Some(TrustFact::AttestationRevoked { subject })) => (subject, None),
            _ => continue,
        };
        let stamp = fact.order_key();
        let entry = latest.entry(subject).or_insert((stamp, level));
        if stamp >= entry.0 {
            *entry = (stamp, level);
        }
    }
    latest
}

/// The graph of `me`: a direct edge to each live relationship's peer, and each live peer's
/// attestations read from the pair's context (`facts_of` gives a relationship's facts).
pub fn build_graph<'f>(
    me: DeviceKey,
    settings: &TrustSettings,
    relationships: &[Relationship],
    mut facts_of: impl FnMut(&Relationship) -> &'f [Fact],
) -> TrustGraph {
    let mut graph = TrustGraph::new(me);
    for relationship in relationships {
        let peer = relationship.peer;
        if let Some((ended_ms, _)) = relationship.ended {
            graph.revoke(me, peer, ended_ms);
            continue;
        }
        let (level, since_ms) = direct_level(settings, relationship);
        graph.insert(Edge {
            from: me,
            to: peer,
            level,
            since_ms,
            source: EdgeSource::Direct,
        });
        // Every attestation and revocation in time order: the graph keeps the revoked
        // edges, so that a denial can name them.
        let mut events: Vec<&Fact> = facts_of(relationship)
            .iter()
            .filter(|fact| fact.author() == peer)
            .collect();
        events.sort_by_key(|fact| fact.order_key());
        let mut subjects = std::collections::HashSet::new();
        for fact in events {
            let at_ms = fact.time().physical_ms();
            let parsed = TrustFact::parse(fact.kind(), fact.body());
            let subject = match &parsed {
                Ok(Some(
                    TrustFact::Attestation { subject, .. }
                    | TrustFact::AttestationRevoked { subject },
                )) => *subject,
                _ => continue,
            };
            if !subjects.contains(&subject) {
                if subjects.len() >= MAX_ATTESTED_PER_CONTACT {
                    tracing::debug!(?peer, "attestations past the cap of one contact ignored");
                    continue;
                }
                subjects.insert(subject);
            }
            match parsed {
                Ok(Some(TrustFact::Attestation { subject, level })) => {
                    graph.insert(Edge {
                        from: peer,
                        to: subject,
                        level,
                        since_ms: at_ms,
                        source: EdgeSource::Attested { by: peer },
                    });
                }
                Ok(Some(TrustFact::AttestationRevoked { subject })) => {
                    graph.revoke(peer, subject, at_ms);
                }
                _ => {}
            }
        }
    }
    graph
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::invite::book::Role;
    use crate::invite::facts::InvitationKey;
    use crate::state::fact::ContextId;

    #[test]
    fn one_contact_names_at_most_the_capped_number_of_peers_the_earliest_kept() {
        let my_key = SigningKey::from_bytes(&[1; 32]);
        let me = DeviceKey(my_key.verifying_key().to_bytes());
        let key = SigningKey::from_bytes(&[2; 32]);
        let bob = DeviceKey(key.verifying_key().to_bytes());
        let context = ContextId([3; 32]);
        let subject = |n: usize| {
            let mut bytes = [9; 32];
            bytes[..8].copy_from_slice(&(n as u64).to_be_bytes());
            DeviceKey(bytes)
        };
        let facts: Vec<Fact> = (0..MAX_ATTESTED_PER_CONTACT + 5)
            .map(|n| {
                let (kind, body) = TrustFact::Attestation {
                    subject: subject(n),
                    level: TrustLevel::High,
                }
                .encode();
                let at = Hlc::new(1_000_000 + n as u64, 0).unwrap();
                Fact::sign(&key, context, at, kind, body).unwrap()
            })
            .collect();
        let relationship = Relationship {
            peer: bob,
            context,
            role: Role::Inviter,
            since_ms: 1,
            peer_name: "Bob".into(),
            invitation: InvitationKey([4; 32]),
            ended: None,
        };
        // At High, Bob's attestations reach one hop further (High, less one level).
        let (kind, body) = TrustFact::Set {
            peer: bob,
            level: TrustLevel::High,
        }
        .encode();
        let at = Hlc::new(1, 0).unwrap();
        let set = Fact::sign(&my_key, ContextId([5; 32]), at, kind, body).unwrap();
        let settings = TrustSettings::from_facts(&me, [&set]);
        let graph = build_graph(me, &settings, &[relationship], |_| &facts);
        let reached = graph.reachable(2);
        assert_eq!(reached.len(), 1 + MAX_ATTESTED_PER_CONTACT);
        assert!(reached.iter().any(|(peer, _)| *peer == subject(0)));
        let last = subject(MAX_ATTESTED_PER_CONTACT);
        assert!(!reached.iter().any(|(peer, _)| *peer == last));
    }
}
