//! What a running node tells its front ends: one event type, on one broadcast channel, for
//! the TUI, `aura demo`, the tests and the benchmarks alike.

use libp2p::{Multiaddr, PeerId};

use crate::invite::views::AcceptanceView;
use crate::state::fact::{ContextId, FactId};

/// Something that changed in the node. Each network event carries the whole new state, so a
/// subscriber that lagged and missed some catches up with the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// The node listens on these addresses now.
    ListenAddrs(Vec<Multiaddr>),
    /// These peers are connected now.
    Peers(Vec<PeerId>),
    /// These facts are now in the store (written here or received).
    FactsStored {
        context: ContextId,
        ids: Vec<FactId>,
    },
    /// An acceptance of someone's invitation moved on.
    Acceptance(AcceptanceView),
    /// Someone accepted one of this device's invitations and is now a contact.
    InvitationAccepted { id: String, by: String },
    /// Someone accepted an `--approve` invitation and waits for the user's answer.
    ApprovalRequested { id: String, name: String },
    /// A relationship formed, ended, or a contact's name changed.
    ContactsChanged,
    /// A group was joined or left, or its roster, epoch or name changed.
    GroupsChanged,
    /// Messages (how many) or receipts of this group were stored.
    GroupMessages { context: ContextId, messages: usize },
}
