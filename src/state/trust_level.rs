//! How much a device trusts a peer, in the order the whole crate compares levels.

/// Ordered from no trust to complete trust; `Ord` follows the declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrustLevel {
    None,
    Low,
    Medium,
    High,
    Complete,
}

impl TrustLevel {
    pub const ALL: [Self; 5] = [
        Self::None,
        Self::Low,
        Self::Medium,
        Self::High,
        Self::Complete,
    ];
}
