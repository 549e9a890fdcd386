//! Finding best paths and deciding requests.
//!
//! The search runs backwards from the target over incoming edges, depth-first with an
//! explicit stack bounded by the hop limit. A partial path (a suffix ending at the target) is
//! dropped as soon as the best path it could still become — its bottleneck against the
//! strongest walk from the root to its first node, attenuated by the hops that walk adds —
//! ranks below the best path already found. The reach index makes that bound exact for walks,
//! so on large graphs only the few suffixes that can still win are extended.

use std::cmp::Reverse;

use crate::state::fact::DeviceKey;
use crate::state::trust_level::TrustLevel;

use super::store::{EdgeSet, NodeId, ReachIndex, SlotId, TrustGraph};
use super::{
    AuthRequest, Decision, DenyReason, MAX_EXPLAINED_HOPS, MAX_PATHS_SHOWN, TrustPath, attenuate,
    effective_hop_limit,
};

/// How a complete path ranks: larger is better. Field order is the tie-breaking order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct PathRank {
    level: TrustLevel,
    fewer_hops: Reverse<usize>,
    /// The oldest evidence on the path: the path whose oldest edge is newest wins.
    oldest_since_ms: u64,
}

impl PathRank {
    fn new(bottleneck: TrustLevel, hops: usize, oldest_since_ms: u64) -> Self {
        Self {
            level: attenuate(bottleneck, hops),
            fewer_hops: Reverse(hops),
            oldest_since_ms,
        }
    }

    /// Ranks just below every path at `level` within `max_hops`, to prune what cannot reach it.
    fn floor(level: TrustLevel, max_hops: usize) -> Self {
        Self {
            level,
            fewer_hops: Reverse(max_hops + 1),
            oldest_since_ms: 0,
        }
    }
}

/// A complete path as slots from the root, with the node keys that order equal-ranked paths.
#[derive(Debug, Clone)]
struct FoundPath {
    slots: Vec<SlotId>,
    node_keys: Vec<DeviceKey>,
}

/// The best paths seen so far: all that share the best rank, the smallest node sequences kept.
#[derive(Debug)]
struct BestPaths {
    rank: Option<PathRank>,
    floor: Option<PathRank>,
    paths: Vec<FoundPath>,
}

impl BestPaths {
    fn new(floor: Option<PathRank>) -> Self {
        Self {
            rank: None,
            floor,
            paths: Vec::new(),
        }
    }

    /// What a candidate must at least equal to matter.
    fn bar(&self) -> Option<PathRank> {
        self.rank.or(self.floor)
    }

    fn offer(&mut self, rank: PathRank, build: impl FnOnce() -> FoundPath) {
        if self.bar().is_some_and(|bar| rank < bar) {
            return;
        }
        if self.rank != Some(rank) {
            self.rank = Some(rank);
            self.paths.clear();
        }
        let path = build();
        let position = self
            .paths
            .binary_search_by(|kept| kept.node_keys.cmp(&path.node_keys))
            .unwrap_or_else(|position| position);
        if position < MAX_PATHS_SHOWN {
            self.paths.insert(position, path);
            self.paths.truncate(MAX_PATHS_SHOWN);
        }
    }
}

/// One node of the partial path being extended, with the suffix's state from it to the target.
#[derive(Debug)]
struct Frame {
    node: NodeId,
    next_incoming: usize,
    bottleneck: TrustLevel,
    oldest_since_ms: u64,
}

/// The best rank a suffix starting at `node` can still reach within `max_hops`, if any.
fn completion_bound(
    reach: &ReachIndex,
    node: NodeId,
    bottleneck: TrustLevel,
    suffix_hops: usize,
    oldest_since_ms: u64,
    max_hops: usize,
) -> Option<PathRank> {
    (1..=max_hops.saturating_sub(suffix_hops))
        .filter_map(|prefix_hops| {
            let prefix = reach.bottleneck(node, prefix_hops)?;
            let hops = suffix_hops + prefix_hops;
            Some(PathRank::new(bottleneck.min(prefix), hops, oldest_since_ms))
        })
        .max()
}

impl TrustGraph {
    fn search(
        &self,
        target: NodeId,
        max_hops: usize,
        set: EdgeSet,
        floor: Option<PathRank>,
    ) -> BestPaths {
        let mut best = BestPaths::new(floor);
        let reach = self.reach(set);
        let start_bound =
            completion_bound(reach, target, TrustLevel::Complete, 0, u64::MAX, max_hops);
        if start_bound.is_none_or(|bound| best.bar().is_some_and(|bar| bound < bar)) {
            return best;
        }
        let mut frames = vec![Frame {
            node: target,
            next_incoming: 0,
            bottleneck: TrustLevel::Complete,
            oldest_since_ms: u64::MAX,
        }];
        // suffix[i] is the slot entering frames[i].node.
        let mut suffix: Vec<SlotId> = Vec::new();
        while let Some(frame) = frames.last_mut() {
            let Some(&slot_id) = self.incoming[frame.node].get(frame.next_incoming) else {
                frames.pop();
                suffix.pop();
                continue;
            };
            frame.next_incoming += 1;
            let (bottleneck, oldest_since_ms) = (frame.bottleneck, frame.oldest_since_ms);
            let slot = &self.slots[slot_id];
            let Some(edge) = slot.edge_in(set) else {
                continue;
            };
            // Never revisit a node within a path: this also makes cycles terminate.
            if frames.iter().any(|on_path| on_path.node == slot.from) {
                continue;
            }
            let hops = frames.len();
            let bottleneck = bottleneck.min(edge.level);
            let oldest_since_ms = oldest_since_ms.min(edge.since_ms);
            if slot.from == self.root_id {
                let rank = PathRank::new(bottleneck, hops, oldest_since_ms);
                best.offer(rank, || self.found_path(slot_id, &suffix));
                continue;
            }
            if hops >= max_hops {
                continue;
            }
            let bound = completion_bound(
                reach,
                slot.from,
                bottleneck,
                hops,
                oldest_since_ms,
                max_hops,
            );
            if bound.is_none_or(|bound| best.bar().is_some_and(|bar| bound < bar)) {
                continue;
            }
            suffix.push(slot_id);
            frames.push(Frame {
                node: slot.from,
                next_incoming: 0,
                bottleneck,
                oldest_since_ms,
            });
        }
        best
    }

    /// The path whose first slot leaves the root, followed by the suffix back to the target.
    fn found_path(&self, first: SlotId, suffix: &[SlotId]) -> FoundPath {
        let slots: Vec<SlotId> = std::iter::once(first)
            .chain(suffix.iter().rev().copied())
            .collect();
        let node_keys = std::iter::once(self.root())
            .chain(
                slots
                    .iter()
                    .map(|&slot_id| self.node_keys[self.slots[slot_id].to]),
            )
            .collect();
        FoundPath { slots, node_keys }
    }

    fn trust_path(&self, found: &FoundPath) -> TrustPath {
        let edges = found
            .slots
            .iter()
            .filter_map(|&slot_id| self.slots[slot_id].edge.clone())
            .collect();
        TrustPath::from_edges(edges)
    }

    fn first_path(&self, best: &BestPaths) -> Option<TrustPath> {
        best.paths.first().map(|found| self.trust_path(found))
    }

    /// Every best path to `target` within the hop limit (all that tie on level, hops and
    /// evidence, in node-key order), at most [`MAX_PATHS_SHOWN`]. Paths at level `None` are
    /// included: they grant nothing but are evidence.
    pub fn best_paths(&self, target: DeviceKey, hop_limit: u8) -> Vec<TrustPath> {
        if target == self.root() {
            return vec![TrustPath::to_root()];
        }
        let Some(target) = self.node_id(target) else {
            return Vec::new();
        };
        let max_hops = usize::from(effective_hop_limit(hop_limit));
        let best = self.search(target, max_hops, EdgeSet::Live, None);
        best.paths
            .iter()
            .map(|found| self.trust_path(found))
            .collect()
    }

    /// The level the best path within the hop limit grants (`None` without a path).
    pub fn level_of(&self, target: DeviceKey, hop_limit: u8) -> TrustLevel {
        if target == self.root() {
            return TrustLevel::Complete;
        }
        let Some(target) = self.node_id(target) else {
            return TrustLevel::None;
        };
        self.reach_level(target, usize::from(effective_hop_limit(hop_limit)))
    }

    /// The exact level within `max_hops`, read off the reach index without searching.
    fn reach_level(&self, node: NodeId, max_hops: usize) -> TrustLevel {
        let reach = self.reach(EdgeSet::Live);
        (1..=max_hops)
            .filter_map(|hops| Some(attenuate(reach.bottleneck(node, hops)?, hops)))
            .max()
            .unwrap_or(TrustLevel::None)
    }

    /// Everyone but the root reachable at a level above `None`, with their best path, best
    /// first (ties in key order).
    pub fn reachable(&self, hop_limit: u8) -> Vec<(DeviceKey, TrustPath)> {
        let max_hops = usize::from(effective_hop_limit(hop_limit));
        let mut found: Vec<(PathRank, DeviceKey, TrustPath)> = (0..self.node_keys.len())
            .filter(|&node| node != self.root_id)
            .filter_map(|node| {
                let level = self.reach_level(node, max_hops);
                if level == TrustLevel::None {
                    return None;
                }
                // Knowing the level lets the search drop every weaker suffix at once.
                let floor = PathRank::floor(level, max_hops);
                let best = self.search(node, max_hops, EdgeSet::Live, Some(floor));
                let rank = best.rank?;
                Some((rank, self.node_keys[node], self.first_path(&best)?))
            })
            .collect();
        found.sort_by(|(rank_a, key_a, _), (rank_b, key_b, _)| {
            rank_b.cmp(rank_a).then_with(|| key_a.cmp(key_b))
        });
        found
            .into_iter()
            .map(|(_, key, path)| (key, path))
            .collect()
    }

    /// Allows the subject if its best path within the hop limit reaches `required` (and is
    /// above `None`); otherwise denies it, naming what stopped it, most specific first: a
    /// revoked edge on an otherwise good enough path, a good enough path beyond the limit,
    /// the weak best path, any path beyond the limit, any path through a revoked edge.
    pub fn evaluate(&self, request: &AuthRequest, required: TrustLevel) -> Decision {
        if request.subject == self.root() {
            return Decision::Allow {
                level: TrustLevel::Complete,
                path: TrustPath::to_root(),
            };
        }
        let no_path = Decision::Deny {
            level: TrustLevel::None,
            reason: DenyReason::NoPath,
        };
        let Some(target) = self.node_id(request.subject) else {
            return no_path;
        };
        let max_hops = usize::from(effective_hop_limit(request.hop_limit));
        let sufficient = required.max(TrustLevel::Low);
        let live = self.search(target, max_hops, EdgeSet::Live, None);
        let level = live.rank.map_or(TrustLevel::None, |rank| rank.level);
        let live_path = self.first_path(&live);
        if let Some(path) = &live_path
            && level >= sufficient
        {
            return Decision::Allow {
                level,
                path: path.clone(),
            };
        }
        let deny = |reason| Decision::Deny { level, reason };

        let floor = PathRank::floor(sufficient, max_hops);
        let with_revoked = self.search(target, max_hops, EdgeSet::WithRevoked, Some(floor));
        if let Some(reason) = self.revoked_reason(&with_revoked) {
            return deny(reason);
        }
        if let Some(reason) = self.beyond_limit_reason(target, max_hops, sufficient) {
            return deny(reason);
        }
        if let Some(path) = live_path {
            return deny(DenyReason::BelowRequired { path });
        }
        if let Some(reason) = self.beyond_limit_reason(target, max_hops, TrustLevel::None) {
            return deny(reason);
        }
        let anywhere = usize::from(MAX_EXPLAINED_HOPS);
        let with_revoked = self.search(target, anywhere, EdgeSet::WithRevoked, None);
        self.revoked_reason(&with_revoked).map_or(no_path, deny)
    }

    /// The first revoked edge from the root's side on the best path found, if any.
    fn revoked_reason(&self, best: &BestPaths) -> Option<DenyReason> {
        let found = best.paths.first()?;
        let slot = found
            .slots
            .iter()
            .map(|&slot_id| &self.slots[slot_id])
            .find(|slot| slot.revoked_edge().is_some())?;
        Some(DenyReason::Revoked {
            edge: slot.revoked_edge()?.clone(),
            revoked_at_ms: slot.revoked_at_ms?,
            path: self.trust_path(found),
        })
    }

    /// The shortest live path beyond `max_hops` (up to [`MAX_EXPLAINED_HOPS`]) reaching
    /// `at_least`. Limits grow one hop at a time, so the first one that finds a path gives the
    /// fewest hops needed, and that path is the best among the shortest.
    fn beyond_limit_reason(
        &self,
        target: NodeId,
        max_hops: usize,
        at_least: TrustLevel,
    ) -> Option<DenyReason> {
        (max_hops + 1..=usize::from(MAX_EXPLAINED_HOPS)).find_map(|limit| {
            let floor = PathRank::floor(at_least, limit);
            let best = self.search(target, limit, EdgeSet::Live, Some(floor));
            let path = self.first_path(&best)?;
            Some(DenyReason::HopLimit {
                hops_needed: path.hops(),
                path,
            })
        })
    }
}
