//! What front ends are shown of invitations, acceptances and contacts: plain data, the same
//! whether the node or the store answered.

use serde::{Deserialize, Serialize};

/// An invitation this device made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    /// The short id `aura invite revoke` takes.
    pub id: String,
    pub created_ms: u64,
    pub expires_at_ms: Option<u64>,
    pub uses: u32,
    pub note: String,
    pub approve: bool,
    pub state: InvitationStateView,
    /// Who accepted it: (label, peer id, when).
    pub accepted_by: Vec<(String, String, u64)>,
    /// Acceptances waiting for the user's answer: (name they gave, peer id).
    pub awaiting_answer: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvitationStateView {
    Open,
    UsedUp,
    Revoked,
    Expired,
}

/// A freshly made invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedView {
    pub id: String,
    pub code: String,
    pub expires_at_ms: Option<u64>,
    pub uses: u32,
    pub approve: bool,
    pub addrs: Vec<String>,
}

/// Where an acceptance of someone else's invitation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AcceptanceStage {
    /// The inviter was not reached yet; `errors` are the last try's, per address.
    Waiting {
        next_try_ms: u64,
        errors: Vec<(String, String)>,
    },
    Connecting,
    Connected,
    Proving,
    AwaitingApproval {
        next_try_ms: u64,
    },
    Done {
        peer_name: String,
    },
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptanceView {
    pub id: String,
    pub inviter: String,
    pub note: String,
    pub started_ms: u64,
    pub give_up_ms: u64,
    pub stage: AcceptanceStage,
}

impl AcceptanceStage {
    /// Whether nothing will change any more.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Done { .. } | Self::Failed { .. })
    }
}

/// Both sides of `aura invite list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationsView {
    pub mine: Vec<InvitationView>,
    pub theirs: Vec<AcceptanceView>,
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactView {
    pub peer_id: String,
    /// The name the peer gave itself (stripped of control characters and capped).
    pub name: String,
    pub nickname: Option<String>,
    /// What to show: the nickname, else the name, with a short peer id where names collide.
    pub label: String,
    pub since_ms: u64,
    /// `None` when no node runs to know.
    pub online: Option<bool>,
    /// When the relationship ended, and whether this side ended it.
    pub ended: Option<(u64, bool)>,
}
