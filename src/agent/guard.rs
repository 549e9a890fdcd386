//! The one gate every outgoing protocol message passes before it leaves the agent.
//!
//! The guard chain of DESIGN.md (capability, flow budget, journal record, leakage) plugs in
//! here: an implementation of [`OutboundGuard`] sees the context, the peer (none for gossip,
//! which goes to every subscriber), the kind of message and its size, and either admits it or
//! says why not. When it refuses, nothing is sent.
//!
//! Call sites, all in [`super::node`]: the gossip publish of a fact the device wrote
//! ([`OutboundKind::Gossip`]), every turn an anti-entropy initiator sends
//! ([`OutboundKind::SyncRequest`]) and every turn a responder answers
//! ([`OutboundKind::SyncResponse`]). A refused anti-entropy turn ends its session.

use libp2p::PeerId;

use crate::state::fact::ContextId;

/// What kind of message asks to leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundKind {
    /// A fact gossiped to the context's topic.
    Gossip,
    /// One turn of an anti-entropy session this device started.
    SyncRequest,
    /// One turn of an anti-entropy session a peer started.
    SyncResponse,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} to {peer} refused: {reason}")]
pub struct GuardDenied {
    pub kind: OutboundKind,
    pub peer: String,
    pub reason: String,
}

/// Decides, before anything is sent, whether it may be.
pub trait OutboundGuard: Send {
    fn admit(
        &mut self,
        context: ContextId,
        peer: Option<PeerId>,
        kind: OutboundKind,
        bytes_len: usize,
    ) -> Result<(), GuardDenied>;
}

/// Admits everything: the gate until the guard chain exists.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdmitAll;

impl OutboundGuard for AdmitAll {
    fn admit(
        &mut self,
        _context: ContextId,
        _peer: Option<PeerId>,
        _kind: OutboundKind,
        _bytes_len: usize,
    ) -> Result<(), GuardDenied> {
        Ok(())
    }
}
