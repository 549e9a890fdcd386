//! Size limits shared by the journal, its store and the wire.
//!
//! One fact must always fit in one wire frame, so the fact cap is derived from the frame cap
//! rather than chosen separately: raising one raises the other.

/// The largest frame Aura sends or accepts on any connection (DESIGN.md, Limits).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Bytes a sync frame spends before its payload: version, kind, flags.
pub const FRAME_HEADER_BYTES: usize = 3;
/// Bytes of the entry count that starts a list payload.
pub const FRAME_COUNT_BYTES: usize = 2;
/// Bytes a fact entry spends besides the fact: its id and its length.
pub const FACT_ENTRY_OVERHEAD: usize = 32 + 4;

/// The largest canonical encoding of a fact: what is left of a frame that carries exactly one.
pub const MAX_FACT_BYTES: usize =
    MAX_FRAME_BYTES - FRAME_HEADER_BYTES - FRAME_COUNT_BYTES - FACT_ENTRY_OVERHEAD;
