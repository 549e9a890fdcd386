//! A set of capabilities, narrowed by intersection.
//!
//! When several sources each grant some capabilities, an operation is allowed only if every
//! source allows it: the meet keeps what all inputs agree on, so combining grants can never
//! widen authority.

use std::collections::BTreeSet;

use super::semilattice::Meet;

/// One named permission, such as `send_message` or `invite`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capability(pub String);

/// Lets a set be searched by name without allocating a `Capability`; the derived order of the
/// newtype is the order of its string, as `Borrow` requires.
impl std::borrow::Borrow<str> for Capability {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Capability {
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapabilitySet {
    capabilities: BTreeSet<Capability>,
}

impl CapabilitySet {
    pub fn new(capabilities: impl IntoIterator<Item = Capability>) -> Self {
        Self {
            capabilities: capabilities.into_iter().collect(),
        }
    }

    pub fn allows(&self, capability: &Capability) -> bool {
        self.capabilities.contains(capability)
    }

    pub fn allows_name(&self, capability: &str) -> bool {
        self.capabilities.contains(capability)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Capability> {
        self.capabilities.iter()
    }

    pub fn len(&self) -> usize {
        self.capabilities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.capabilities.is_empty()
    }
}

impl Meet for CapabilitySet {
    fn meet(&self, other: &Self) -> Self {
        Self {
            capabilities: self
                .capabilities
                .intersection(&other.capabilities)
                .cloned()
                .collect(),
        }
    }
}
