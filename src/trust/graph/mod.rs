//! The trust graph of one device: its direct trust and the attestations it received, the
//! level that reaches any peer, and authorization decisions that carry their evidence.
//!
//! Pure: no clock, no I/O. Callers pass times in and render the evidence with
//! [`crate::trust::explain`].
//!
//! Rules, in one place so every caller and every explanation agrees:
//! - a path is as strong as its weakest edge, lowered one level per hop after the first;
//! - only paths within the hop limit count ([`DEFAULT_HOP_LIMIT`], at most [`MAX_HOP_LIMIT`]);
//! - the best path has the highest level, then the fewest hops, then the newest oldest edge,
//!   then the smallest sequence of node keys, so the answer never depends on arrival order;
//! - a path at level `None` grants nothing but is still shown as evidence.

use crate::state::fact::DeviceKey;
use crate::state::trust_level::TrustLevel;

mod search;
mod store;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use store::TrustGraph;

/// How many hops a path may have unless the user configured otherwise.
pub const DEFAULT_HOP_LIMIT: u8 = 3;
/// The largest hop limit honoured; larger requests are clamped to it.
pub const MAX_HOP_LIMIT: u8 = 5;
/// At most this many tied best paths are returned, so a dense graph cannot flood the output.
pub const MAX_PATHS_SHOWN: usize = 8;
/// A denial looks this far past the largest limit to say how far away the subject is.
pub const MAX_EXPLAINED_HOPS: u8 = MAX_HOP_LIMIT + 2;

/// The hop limit actually applied to a requested one.
pub fn effective_hop_limit(requested: u8) -> u8 {
    requested.min(MAX_HOP_LIMIT)
}

/// Where an edge's evidence comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeSource {
    /// The root's own trust: from a relationship or set by the user.
    Direct,
    /// A signed attestation that `by` (always the edge's `from`) shared with the root.
    Attested { by: DeviceKey },
}

/// "`from` trusts `to` at `level`, since `since_ms`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: DeviceKey,
    pub to: DeviceKey,
    pub level: TrustLevel,
    pub since_ms: u64,
    pub source: EdgeSource,
}

/// A chain of edges from the root to a peer, with the level it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPath {
    /// From the root to the target; empty for the root itself.
    pub edges: Vec<Edge>,
    pub level: TrustLevel,
}

impl TrustPath {
    /// The path that makes the root trust itself completely.
    pub fn to_root() -> Self {
        Self {
            edges: Vec::new(),
            level: TrustLevel::Complete,
        }
    }

    /// Builds a path from the root-first edges, computing its level.
    pub fn from_edges(edges: Vec<Edge>) -> Self {
        let level = match edges.iter().map(|edge| edge.level).min() {
            Some(bottleneck) => attenuate(bottleneck, edges.len()),
            None => TrustLevel::Complete,
        };
        Self { edges, level }
    }

    pub fn hops(&self) -> usize {
        self.edges.len()
    }

    /// When the oldest piece of evidence on the path was made; `None` for the empty path.
    pub fn oldest_since_ms(&self) -> Option<u64> {
        self.edges.iter().map(|edge| edge.since_ms).min()
    }

    /// The lowest edge level on the path, before attenuation.
    pub fn bottleneck(&self) -> Option<TrustLevel> {
        self.edges.iter().map(|edge| edge.level).min()
    }

    /// The path's target, if it has an edge.
    pub fn target(&self) -> Option<DeviceKey> {
        self.edges.last().map(|edge| edge.to)
    }
}

/// The level of a path with this weakest edge and this many hops: one level lost per hop
/// after the first, never below `None`.
pub fn attenuate(bottleneck: TrustLevel, hops: usize) -> TrustLevel {
    let extra_hops = hops.saturating_sub(1);
    let rank = level_rank(bottleneck).saturating_sub(extra_hops);
    level_from_rank(rank)
}

/// The level's position in [`TrustLevel::ALL`].
pub(crate) fn level_rank(level: TrustLevel) -> usize {
    TrustLevel::ALL
        .iter()
        .position(|candidate| *candidate == level)
        .unwrap_or(0)
}

/// The level at a position in [`TrustLevel::ALL`], saturating at `Complete`.
pub(crate) fn level_from_rank(rank: usize) -> TrustLevel {
    let last = TrustLevel::ALL.len() - 1;
    TrustLevel::ALL[rank.min(last)]
}

/// What a peer asks to be allowed, as far as trust is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub subject: DeviceKey,
    /// The requested limit; [`effective_hop_limit`] clamps it.
    pub hop_limit: u8,
    /// The action, for messages ("serve anti-entropy", "add to the group").
    pub what: Option<&'static str>,
}

impl AuthRequest {
    pub fn new(subject: DeviceKey) -> Self {
        Self {
            subject,
            hop_limit: DEFAULT_HOP_LIMIT,
            what: None,
        }
    }

    pub fn with_hop_limit(mut self, hop_limit: u8) -> Self {
        self.hop_limit = hop_limit;
        self
    }

    pub fn for_action(mut self, what: &'static str) -> Self {
        self.what = Some(what);
        self
    }
}

/// An authorization decision with the evidence that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow {
        level: TrustLevel,
        path: TrustPath,
    },
    /// `level` is the subject's level within the hop limit (`None` when no path reaches it).
    Deny {
        level: TrustLevel,
        reason: DenyReason,
    },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow { .. })
    }

    pub fn level(&self) -> TrustLevel {
        match self {
            Self::Allow { level, .. } | Self::Deny { level, .. } => *level,
        }
    }
}

/// Why a subject was denied, with the edge or rule that stopped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// Nothing reaches the subject, even beyond the hop limit and through revoked edges.
    NoPath,
    /// The best path within the limit, too weak.
    BelowRequired { path: TrustPath },
    /// A path exists only beyond the limit: the shortest one that would meet the required
    /// level or, when none would, the shortest at all (up to [`MAX_EXPLAINED_HOPS`] hops).
    HopLimit { hops_needed: usize, path: TrustPath },
    /// A path would exist but for a revoked edge (at the required level when one would
    /// reach it); `edge` is the first revoked edge from the root's side.
    Revoked {
        edge: Edge,
        revoked_at_ms: u64,
        path: TrustPath,
    },
}
