//! The per-message annotations of a choreography, as the runtime reads them.

/// What the guard chain needs to know about one message of a choreography.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Annotation {
    pub protocol: &'static str,
    pub message: &'static str,
    /// The role that sends it.
    pub from: &'static str,
    /// The role that receives it.
    pub to: &'static str,
    /// The capability the sender must hold in the context.
    pub guard_capability: &'static str,
    /// Units charged to the flow budget toward the receiver.
    pub flow_cost: u64,
    /// Kinds of journal facts that sending it records.
    pub journal_facts: &'static [&'static str],
}

/// Bytes a payload takes on the wire; what leakage cost and padding are computed from.
pub trait WireSize {
    fn wire_size(&self) -> usize;
}

impl WireSize for Vec<u8> {
    fn wire_size(&self) -> usize {
        self.len()
    }
}

impl WireSize for String {
    fn wire_size(&self) -> usize {
        self.len()
    }
}

/// A turn of frames: the sum of the frames.
impl WireSize for Vec<Vec<u8>> {
    fn wire_size(&self) -> usize {
        self.iter().map(Vec::len).sum()
    }
}

impl WireSize for () {
    fn wire_size(&self) -> usize {
        0
    }
}
