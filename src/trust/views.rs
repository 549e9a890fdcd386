//! What front ends are shown of trust.

use serde::{Deserialize, Serialize};

/// One peer in `aura trust list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustEntryView {
    pub peer_id: String,
    pub label: String,
    pub level: String,
    /// Hops from this device: 1 for a contact.
    pub hops: usize,
    /// The contact the best path goes through, for a peer further away.
    pub via: Option<String>,
    /// For a contact: whether this device shares its trust with it.
    pub shared: Option<bool>,
    /// For a contact: the level this device trusts it at directly (a path through others
    /// may reach it higher).
    #[serde(default)]
    pub direct: Option<String>,
}

/// One edge of a path as the TUI draws it: "`from` trusts `to` at `level`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeView {
    /// "you" for this device, else the peer's label.
    pub from: String,
    pub to: String,
    pub level: String,
    /// The UTC day of the evidence (YYYY-MM-DD).
    pub date: String,
    /// Who signed the attestation; `None` for this device's own, direct trust.
    pub attested_by: Option<String>,
}

/// A best path to a peer, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathView {
    /// The level the path grants ("None" when there is no path).
    pub level: String,
    /// The explanation in words, as `aura trust path` prints it.
    pub words: String,
    /// From this device to the peer; empty when there is no path.
    pub edges: Vec<EdgeView>,
}

/// What a trust query answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrustAnswer {
    List(Vec<TrustEntryView>),
    /// Every best path (or one entry saying why there is none).
    Paths(Vec<PathView>),
    /// An explanation in words, one line per reason.
    Explained(Vec<String>),
}
