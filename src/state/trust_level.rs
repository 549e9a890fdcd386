//! How much a device trusts a peer, in the order the whole crate compares levels.

/// Ordered from no trust to complete trust; `Ord` follows the declaration order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum TrustLevel {
    None,
    Low,
    Medium,
    High,
    Complete,
}

impl TrustLevel {
    /// The word the user types and reads.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Complete => "complete",
        }
    }

    pub const ALL: [Self; 5] = [
        Self::None,
        Self::Low,
        Self::Medium,
        Self::High,
        Self::Complete,
    ];
}
