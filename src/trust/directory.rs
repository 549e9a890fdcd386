//! Trust questions answered from the store, for the node and for the CLI when no node runs:
//! the graph is built from the facts as they are now.

use std::collections::BTreeMap;

use super::book::{TrustSettings, build_graph, direct_level};
use super::explain::{explain_decision, explain_path};
use super::explain::{level_name, utc_date};
use super::graph::{AuthRequest, EdgeSource, TrustGraph, TrustPath};
use super::views::{EdgeView, PathView, TrustAnswer, TrustEntryView};
use crate::invite::book::{Profile, Relationship};
use crate::invite::directory::{self, peer_id_text};
use crate::node::TrustQuery;
use crate::state::fact::{ContextId, DeviceKey, Fact};
use crate::state::{Store, StoreError};

/// Everything a trust answer is made from.
#[derive(Debug)]
pub struct TrustView {
    pub me: DeviceKey,
    pub graph: TrustGraph,
    pub settings: TrustSettings,
    pub relationships: Vec<Relationship>,
    pub profile: Profile,
}

impl TrustView {
    /// Reads the facts of the device's own context and of every relationship.
    pub fn load(store: &Store, me: DeviceKey, own_context: ContextId) -> Result<Self, StoreError> {
        let own = store.journal_facts_of(own_context)?;
        let settings = TrustSettings::from_facts(&me, &own);
        let profile = Profile::from_facts(&me, &own);
        let relationships = directory::relationships(store, &me)?;
        let mut facts: BTreeMap<ContextId, Vec<Fact>> = BTreeMap::new();
        for relationship in &relationships {
            facts.insert(
                relationship.context,
                store.journal_facts_of(relationship.context)?,
            );
        }
        let graph = build_graph(me, &settings, &relationships, |relationship| {
            facts
                .get(&relationship.context)
                .map_or(&[][..], Vec::as_slice)
        });
        Ok(Self {
            me,
            graph,
            settings,
            relationships,
            profile,
        })
    }

    /// A peer's name for explanations: a contact's label, else its short peer id.
    pub fn name(&self, device: &DeviceKey) -> String {
        if *device == self.me {
            return "you".to_owned();
        }
        self.relationships
            .iter()
            .find(|r| r.peer == *device && r.ended.is_none())
            .map(|r| {
                let name = self.profile.nickname(&r.peer).unwrap_or(&r.peer_name);
                if name.is_empty() {
                    crate::invite::names::short_peer(device)
                } else {
                    crate::invite::names::sanitize_peer_name(name)
                }
            })
            .unwrap_or_else(|| format!("…{}", crate::invite::names::short_peer(device)))
    }

    /// The peer `target` names: a contact by name or nickname, or any peer in the graph by
    /// its peer id or a unique prefix of one.
    pub fn resolve(&self, target: &str) -> Result<DeviceKey, String> {
        let wanted = target.trim();
        // A whole peer id names its device, reached or not: the answer then says why not.
        if let Some(device) = wanted
            .parse::<libp2p::PeerId>()
            .ok()
            .and_then(|peer| crate::net::device_of(&peer))
        {
            return Ok(device);
        }
        let folded = wanted.to_lowercase();
        let mut found: Vec<DeviceKey> = self
            .relationships
            .iter()
            .filter(|r| r.ended.is_none())
            .filter(|r| {
                r.peer_name.to_lowercase() == folded
                    || self
                        .profile
                        .nickname(&r.peer)
                        .is_some_and(|n| n.to_lowercase() == folded)
            })
            .map(|r| r.peer)
            .collect();
        if !wanted.is_empty() {
            for (device, _) in self.graph.reachable(crate::trust::graph::MAX_HOP_LIMIT) {
                if peer_id_text(&device).starts_with(wanted) && !found.contains(&device) {
                    found.push(device);
                }
            }
        }
        let shown = crate::invite::names::sanitize_peer_name(wanted);
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!(
                "no contact or peer reached by trust is `{shown}` (see `aura trust list`)"
            )),
            many => Err(format!(
                "`{shown}` names {} peers: use more of the peer id",
                many.len()
            )),
        }
    }

    /// Answers `query` with paths of at most `hop_limit` hops.
    pub fn answer(
        &self,
        query: &TrustQuery,
        hop_limit: u8,
        now_ms: u64,
    ) -> Result<TrustAnswer, String> {
        let names = |device: &DeviceKey| self.name(device);
        match query {
            TrustQuery::List => Ok(TrustAnswer::List(self.list(hop_limit))),
            TrustQuery::Path(target) => {
                let subject = self.resolve(target)?;
                let paths = self.graph.best_paths(subject, hop_limit);
                if paths.is_empty() {
                    let request = AuthRequest::new(subject).with_hop_limit(hop_limit);
                    let required = crate::state::trust_level::TrustLevel::Low;
                    let decision = self.graph.evaluate(&request, required);
                    return Ok(TrustAnswer::Paths(vec![PathView {
                        level: level_name(crate::state::trust_level::TrustLevel::None).to_owned(),
                        words: explain_decision(&request, &decision, required, &names, now_ms),
                        edges: Vec::new(),
                    }]));
                }
                Ok(TrustAnswer::Paths(
                    paths
                        .iter()
                        .map(|path| self.path_view(path, now_ms))
                        .collect(),
                ))
            }
            TrustQuery::WhyNot { target, level } => {
                let subject = self.resolve(target)?;
                let request = AuthRequest::new(subject).with_hop_limit(hop_limit);
                let decision = self.graph.evaluate(&request, *level);
                Ok(TrustAnswer::Explained(vec![explain_decision(
                    &request, &decision, *level, &names, now_ms,
                )]))
            }
        }
    }

    /// Every peer a path reaches, best first, then the contacts none does (those the user
    /// set at None), so that each contact is listed.
    fn list(&self, hop_limit: u8) -> Vec<TrustEntryView> {
        let relationship = |device: &DeviceKey| {
            self.relationships
                .iter()
                .find(|r| r.peer == *device && r.ended.is_none())
        };
        let direct = |device: &DeviceKey| {
            relationship(device).map(|r| direct_level(&self.settings, r).0.name().to_owned())
        };
        let mut entries: Vec<TrustEntryView> = self
            .graph
            .reachable(hop_limit)
            .into_iter()
            .map(|(device, path)| TrustEntryView {
                peer_id: peer_id_text(&device),
                label: self.name(&device),
                level: path.level.name().to_owned(),
                hops: path.edges.len(),
                via: (path.edges.len() > 1)
                    .then(|| path.edges.first().map(|edge| self.name(&edge.to)))
                    .flatten(),
                shared: relationship(&device).map(|_| self.settings.shares_with(&device)),
                direct: direct(&device),
            })
            .collect();
        for contact in self.relationships.iter().filter(|r| r.ended.is_none()) {
            let peer_id = peer_id_text(&contact.peer);
            if entries.iter().any(|entry| entry.peer_id == peer_id) {
                continue;
            }
            entries.push(TrustEntryView {
                peer_id,
                label: self.name(&contact.peer),
                level: crate::state::trust_level::TrustLevel::None
                    .name()
                    .to_owned(),
                hops: 1,
                via: None,
                shared: Some(self.settings.shares_with(&contact.peer)),
                direct: direct(&contact.peer),
            });
        }
        entries
    }

    /// `path` with every edge named, for a front end to draw.
    fn path_view(&self, path: &TrustPath, now_ms: u64) -> PathView {
        let name = |device: &DeviceKey| self.name(device);
        PathView {
            level: level_name(path.level).to_owned(),
            words: explain_path(path, &name, now_ms),
            edges: path
                .edges
                .iter()
                .map(|edge| EdgeView {
                    from: name(&edge.from),
                    to: name(&edge.to),
                    level: level_name(edge.level).to_owned(),
                    date: utc_date(edge.since_ms),
                    attested_by: match edge.source {
                        EdgeSource::Direct => None,
                        EdgeSource::Attested { by } => Some(name(&by)),
                    },
                })
                .collect(),
        }
    }
}
