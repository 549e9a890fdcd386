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
}

/// What a trust query answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrustAnswer {
    List(Vec<TrustEntryView>),
    /// An explanation in words, one line per path or reason.
    Explained(Vec<String>),
}
