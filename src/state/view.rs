//! Views: what a context looks like, computed from its facts by one reducer per fact kind.
//!
//! Every reducer folds a fact into a semilattice (an ordered map keyed by `(time, id)`, an
//! observed-remove set, a last-writer-wins register), so reducing is itself a join: the view of
//! a fact set is the same whatever order the facts came in and however often each came. That is
//! what lets the store update views batch by batch instead of recomputing them.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::codec::{DecodeError, Reader, Writer};
use super::fact::{DeviceKey, Fact, FactId, FactKind};
use super::hlc::Hlc;
use super::kinds::{self, KnownBody};
use super::lww::LwwRegister;
use super::orset::OrSet;
use super::semilattice::Join;

/// Format of [`ContextView::encode_summary`]; a store holding another format rebuilds its
/// views from the facts.
pub const VIEW_FORMAT: u64 = 1;

/// A message in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEntry {
    pub author: DeviceKey,
    pub body: Arc<[u8]>,
}

/// The stamp of a fact: unique per fact, totally ordered.
pub type Stamp = (Hlc, FactId);

/// Everything a context's facts say, as of the facts reduced so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextView {
    /// The message log, ordered by `(time, id)`.
    pub messages: BTreeMap<Stamp, MessageEntry>,
    /// Members, tagged by the id of the fact that added them.
    pub members: OrSet<DeviceKey, FactId>,
    pub name: LwwRegister<Stamp, String>,
}

/// Folds one fact of a known kind into a view.
type Reducer = fn(&mut ContextView, &Fact, KnownBody);

/// The reducer of each kind. A kind missing here is stored but shown nowhere.
const REDUCERS: &[(FactKind, Reducer)] = &[
    (kinds::MESSAGE, reduce_message),
    (kinds::MEMBER_ADD, reduce_membership),
    (kinds::MEMBER_REMOVE, reduce_membership),
    (kinds::GROUP_NAME, reduce_name),
];

impl ContextView {
    /// Folds `fact` in. Facts that ingest accepted always parse; anything else is ignored.
    pub fn reduce(&mut self, fact: &Fact) {
        let Some((_, reducer)) = REDUCERS.iter().find(|(kind, _)| *kind == fact.kind()) else {
            return;
        };
        if let Ok(Some(body)) = KnownBody::parse(fact.kind(), fact.body()) {
            reducer(self, fact, body);
        }
    }

    /// Folds `fact` into everything but the message log: what the store keeps in its view
    /// table, since its fact table already is the log.
    pub fn reduce_summary(&mut self, fact: &Fact) {
        if fact.kind() != kinds::MESSAGE {
            self.reduce(fact);
        }
    }

    /// Only the parts a store keeps in its view table: the message log is the fact table
    /// itself, read in key order.
    pub fn without_messages(&self) -> Self {
        Self {
            messages: BTreeMap::new(),
            members: self.members.clone(),
            name: self.name.clone(),
        }
    }

    /// Encodes members and name (not messages): see [`VIEW_FORMAT`].
    pub fn encode_summary(&self) -> Vec<u8> {
        let mut writer = Writer::default();
        let adds: Vec<_> = self.members.adds().collect();
        writer.u32(adds.len() as u32);
        for (member, tag) in adds {
            writer.raw(&member.0).raw(&tag.0);
        }
        let removed: Vec<_> = self.members.removed_tags().collect();
        writer.u32(removed.len() as u32);
        for tag in removed {
            writer.raw(&tag.0);
        }
        match (self.name.stamp(), self.name.get()) {
            (Some((time, id)), Some(name)) => {
                writer
                    .u8(1)
                    .u64(time.to_u64())
                    .raw(&id.0)
                    .u32(name.len() as u32)
                    .raw(name.as_bytes());
            }
            _ => {
                writer.u8(0);
            }
        }
        writer.into_bytes()
    }

    pub fn decode_summary(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let mut view = Self::default();
        let adds = reader.u32("member adds")?;
        for _ in 0..adds {
            let member = DeviceKey(reader.array("member")?);
            view.members
                .add(member, FactId(reader.array("member tag")?));
        }
        let removed = reader.u32("removed tags")?;
        let mut tags = Vec::new();
        for _ in 0..removed {
            tags.push(FactId(reader.array("removed tag")?));
        }
        view.members.join_assign(&OrSet::remove_tags_delta(tags));
        if reader.u8("name present")? == 1 {
            let time = Hlc::from_u64(reader.u64("name time")?);
            let id = FactId(reader.array("name id")?);
            let len = reader.u32("name length")? as usize;
            let name = std::str::from_utf8(reader.take(len, "name")?)
                .map_err(|err| DecodeError::Invalid {
                    field: "name",
                    detail: err.to_string(),
                })?
                .to_owned();
            view.name.write((time, id), name);
        }
        reader.finish()?;
        Ok(view)
    }
}

fn reduce_message(view: &mut ContextView, fact: &Fact, _: KnownBody) {
    view.messages.insert(
        fact.order_key(),
        MessageEntry {
            author: fact.author(),
            body: fact.shared_body(),
        },
    );
}

fn reduce_membership(view: &mut ContextView, fact: &Fact, body: KnownBody) {
    match body {
        KnownBody::MemberAdd { member } => view.members.add(member, fact.id()),
        KnownBody::MemberRemove { tags, .. } => {
            view.members.join_assign(&OrSet::remove_tags_delta(tags));
        }
        KnownBody::Message
        | KnownBody::GroupName(_)
        | KnownBody::Invite(_)
        | KnownBody::Trust(_)
        | KnownBody::Group(_) => {}
    }
}

fn reduce_name(view: &mut ContextView, fact: &Fact, body: KnownBody) {
    if let KnownBody::GroupName(name) = body {
        view.name.write(fact.order_key(), name);
    }
}
