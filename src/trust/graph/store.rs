//! Storage of the trust graph: one slot per `(from, to)` pair holding the winning edge and the
//! latest revocation, reverse adjacency for the backward search, and a lazily built index of
//! how well the root reaches every node in each number of hops.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::OnceLock;

use crate::state::fact::DeviceKey;
use crate::state::trust_level::TrustLevel;

use super::{Edge, EdgeSource, MAX_EXPLAINED_HOPS, level_from_rank, level_rank};

/// Dense index of a node; assigned on first sight and never reused, since edges are only ever
/// tombstoned, not removed.
pub(super) type NodeId = usize;
/// Dense index of a `(from, to)` slot.
pub(super) type SlotId = usize;

/// Hop counts the reach index covers: 0 (the root itself) through the longest explained path.
const REACH_LAYERS: usize = MAX_EXPLAINED_HOPS as usize + 1;
/// In the reach index, "no walk of this many hops reaches the node".
const UNREACHED: u8 = 0;

/// Everything known about one `(from, to)` pair. Both fields only ever grow (the edge by
/// precedence, the revocation by time), which is what makes the graph independent of the
/// order in which edges and revocations arrive.
#[derive(Debug, Clone)]
pub(super) struct EdgeSlot {
    pub(super) from: NodeId,
    pub(super) to: NodeId,
    pub(super) edge: Option<Edge>,
    pub(super) revoked_at_ms: Option<u64>,
}

impl EdgeSlot {
    /// The stored edge, if a revocation covers it.
    pub(super) fn revoked_edge(&self) -> Option<&Edge> {
        let edge = self.edge.as_ref()?;
        let revoked_at_ms = self.revoked_at_ms?;
        (edge.since_ms <= revoked_at_ms).then_some(edge)
    }

    pub(super) fn live_edge(&self) -> Option<&Edge> {
        match self.revoked_edge() {
            Some(_) => None,
            None => self.edge.as_ref(),
        }
    }

    pub(super) fn edge_in(&self, set: EdgeSet) -> Option<&Edge> {
        match set {
            EdgeSet::Live => self.live_edge(),
            EdgeSet::WithRevoked => self.edge.as_ref(),
        }
    }
}

/// Which edges a search may walk: only live ones grant trust; revoked ones explain denials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EdgeSet {
    Live,
    WithRevoked,
}

/// For each node and hop count, the strongest bottleneck over all walks of exactly that many
/// hops from the root. Removing a cycle from a walk never weakens it, so this is exact for
/// levels and an upper bound for the simple paths the search builds.
#[derive(Debug, Clone)]
pub(super) struct ReachIndex {
    /// Per node, per hop count: `UNREACHED` or the bottleneck's rank plus one.
    bottlenecks: Vec<[u8; REACH_LAYERS]>,
}

impl ReachIndex {
    fn build(graph: &TrustGraph, set: EdgeSet) -> Self {
        let mut bottlenecks = vec![[UNREACHED; REACH_LAYERS]; graph.node_keys.len()];
        if let Some(root_layers) = bottlenecks.get_mut(graph.root_id) {
            root_layers[0] = encode(TrustLevel::Complete);
        }
        // A path never comes back to the root, so walks into it only loosen the bound. The
        // edges are copied out compactly because each layer walks all of them again.
        let usable: Vec<(NodeId, NodeId, u8)> = graph
            .slots
            .iter()
            .filter(|slot| slot.to != graph.root_id)
            .filter_map(|slot| Some((slot.from, slot.to, encode(slot.edge_in(set)?.level))))
            .collect();
        for hops in 1..REACH_LAYERS {
            for &(from, to, level) in &usable {
                let before = bottlenecks[from][hops - 1];
                if before == UNREACHED {
                    continue;
                }
                let layer = &mut bottlenecks[to][hops];
                *layer = (*layer).max(before.min(level));
            }
        }
        Self { bottlenecks }
    }

    /// The strongest bottleneck of a walk of exactly `hops` hops from the root to `node`.
    pub(super) fn bottleneck(&self, node: NodeId, hops: usize) -> Option<TrustLevel> {
        let encoded = *self.bottlenecks.get(node)?.get(hops)?;
        (encoded != UNREACHED).then(|| level_from_rank(usize::from(encoded) - 1))
    }
}

fn encode(level: TrustLevel) -> u8 {
    // Five levels: the rank always fits.
    u8::try_from(level_rank(level) + 1).unwrap_or(u8::MAX)
}

/// Which of two edges for the same pair wins: newer evidence, then the higher level, then the
/// source, so that every arrival order keeps the same one.
fn precedence(edge: &Edge) -> (u64, TrustLevel, bool, DeviceKey) {
    match edge.source {
        EdgeSource::Direct => (edge.since_ms, edge.level, true, edge.from),
        EdgeSource::Attested { by } => (edge.since_ms, edge.level, false, by),
    }
}

/// The root device's web of trust.
#[derive(Debug, Clone)]
pub struct TrustGraph {
    root: DeviceKey,
    pub(super) root_id: NodeId,
    node_ids: HashMap<DeviceKey, NodeId>,
    pub(super) node_keys: Vec<DeviceKey>,
    pub(super) slots: Vec<EdgeSlot>,
    slot_ids: HashMap<(NodeId, NodeId), SlotId>,
    /// Per node, the slots of the edges that point at it.
    pub(super) incoming: Vec<Vec<SlotId>>,
    live_edge_count: usize,
    // Built on the first query after a change; every mutation that could change it resets it.
    live_reach: OnceLock<ReachIndex>,
    any_reach: OnceLock<ReachIndex>,
}

impl TrustGraph {
    pub fn new(root: DeviceKey) -> Self {
        Self {
            root,
            root_id: 0,
            node_ids: HashMap::from([(root, 0)]),
            node_keys: vec![root],
            slots: Vec::new(),
            slot_ids: HashMap::new(),
            incoming: vec![Vec::new()],
            live_edge_count: 0,
            live_reach: OnceLock::new(),
            any_reach: OnceLock::new(),
        }
    }

    pub fn root(&self) -> DeviceKey {
        self.root
    }

    /// Adds an edge, or replaces the one for the same pair if it takes precedence. Refused
    /// (returning false): self-loops, direct edges not from the root, and attestations not
    /// made by their `from`. Returns whether the live graph changed: an edge that arrives
    /// already covered by a revocation is kept only as evidence.
    pub fn insert(&mut self, edge: Edge) -> bool {
        if !self.admits(&edge) {
            return false;
        }
        let slot_id = self.slot_for(edge.from, edge.to);
        let slot = &mut self.slots[slot_id];
        if slot
            .edge
            .as_ref()
            .is_some_and(|current| precedence(current) >= precedence(&edge))
        {
            return false;
        }
        let was_live = slot.live_edge().is_some();
        slot.edge = Some(edge);
        let is_live = slot.live_edge().is_some();
        self.any_reach.take();
        // A stored edge only gives way to a newer one, so a live edge cannot become revoked here.
        if is_live && !was_live {
            self.live_edge_count += 1;
        }
        if is_live || was_live {
            self.live_reach.take();
        }
        is_live || was_live
    }

    /// Revokes the edge `from → to` if it was made at or before `at_ms`, now or when it
    /// arrives. Returns whether a live edge was revoked.
    pub fn revoke(&mut self, from: DeviceKey, to: DeviceKey, at_ms: u64) -> bool {
        if from == to {
            return false;
        }
        let slot_id = self.slot_for(from, to);
        let slot = &mut self.slots[slot_id];
        if slot.revoked_at_ms.is_some_and(|latest| latest >= at_ms) {
            return false;
        }
        let was_live = slot.live_edge().is_some();
        slot.revoked_at_ms = Some(at_ms);
        let revoked_now = was_live && slot.live_edge().is_none();
        if revoked_now {
            self.live_edge_count -= 1;
            self.live_reach.take();
        }
        revoked_now
    }

    /// The number of live (unrevoked) edges.
    pub fn edge_count(&self) -> usize {
        self.live_edge_count
    }

    /// Every live edge, in no particular order.
    pub fn live_edges(&self) -> impl Iterator<Item = &Edge> {
        self.slots.iter().filter_map(EdgeSlot::live_edge)
    }

    /// The live edge `from → to`, if any.
    pub fn edge(&self, from: DeviceKey, to: DeviceKey) -> Option<&Edge> {
        self.slot(from, to).and_then(EdgeSlot::live_edge)
    }

    /// The stored edge `from → to` and when it was revoked, if a revocation covers it.
    pub fn revoked_edge(&self, from: DeviceKey, to: DeviceKey) -> Option<(&Edge, u64)> {
        let slot = self.slot(from, to)?;
        let edge = slot.revoked_edge()?;
        Some((edge, slot.revoked_at_ms?))
    }

    fn slot(&self, from: DeviceKey, to: DeviceKey) -> Option<&EdgeSlot> {
        let key = (self.node_id(from)?, self.node_id(to)?);
        self.slot_ids.get(&key).map(|&slot_id| &self.slots[slot_id])
    }

    fn admits(&self, edge: &Edge) -> bool {
        if edge.from == edge.to {
            return false;
        }
        match edge.source {
            EdgeSource::Direct => edge.from == self.root,
            EdgeSource::Attested { by } => by == edge.from,
        }
    }

    pub(super) fn node_id(&self, key: DeviceKey) -> Option<NodeId> {
        self.node_ids.get(&key).copied()
    }

    fn node_for(&mut self, key: DeviceKey) -> NodeId {
        let next_id = self.node_keys.len();
        match self.node_ids.entry(key) {
            Entry::Occupied(entry) => *entry.get(),
            Entry::Vacant(entry) => {
                entry.insert(next_id);
                self.node_keys.push(key);
                self.incoming.push(Vec::new());
                next_id
            }
        }
    }

    fn slot_for(&mut self, from: DeviceKey, to: DeviceKey) -> SlotId {
        let from = self.node_for(from);
        let to = self.node_for(to);
        let next_id = self.slots.len();
        match self.slot_ids.entry((from, to)) {
            Entry::Occupied(entry) => *entry.get(),
            Entry::Vacant(entry) => {
                entry.insert(next_id);
                self.slots.push(EdgeSlot {
                    from,
                    to,
                    edge: None,
                    revoked_at_ms: None,
                });
                self.incoming[to].push(next_id);
                next_id
            }
        }
    }

    pub(super) fn reach(&self, set: EdgeSet) -> &ReachIndex {
        let cell = match set {
            EdgeSet::Live => &self.live_reach,
            EdgeSet::WithRevoked => &self.any_reach,
        };
        cell.get_or_init(|| ReachIndex::build(self, set))
    }
}
