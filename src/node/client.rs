//! The cloneable handle front ends use to ask a running node for things. Each request carries
//! the oneshot its answer comes back on; the agent's shell owns the other end.

use tokio::sync::{broadcast, mpsc, oneshot};

use super::error::NodeError;
use super::event::NodeEvent;
use super::status::{NodeStatus, PeerAdded, PeerEntry};
use crate::agent::BudgetReport;
use crate::agent::core::InviteAnswer;
use crate::invite::views::{AcceptanceView, ContactView, InvitationsView};
use crate::net::peer_addr::PeerAddr;
use crate::state::fact::{ContextId, FactId, FactKind};
use crate::state::trust_level::TrustLevel;
use crate::trust::views::TrustAnswer;

/// One request to the agent, with where its answer goes.
pub(crate) enum Request {
    JoinContext(ContextId, oneshot::Sender<Result<(), NodeError>>),
    Write {
        context: ContextId,
        kind: FactKind,
        body: Vec<u8>,
        reply: oneshot::Sender<Result<FactId, NodeError>>,
    },
    AddPeer(PeerAddr, oneshot::Sender<Result<PeerAdded, NodeError>>),
    RemovePeer(String, oneshot::Sender<Result<usize, NodeError>>),
    Peers(oneshot::Sender<Result<Vec<PeerEntry>, NodeError>>),
    Status(oneshot::Sender<Result<NodeStatus, NodeError>>),
    FactCount(ContextId, oneshot::Sender<Result<usize, NodeError>>),
    MeshPeers(ContextId, oneshot::Sender<Result<usize, NodeError>>),
    SyncNow(ContextId, oneshot::Sender<usize>),
    Budgets(oneshot::Sender<BudgetReport>),
    Invite(
        InviteRequest,
        oneshot::Sender<Result<InviteAnswer, NodeError>>,
    ),
    Invitations(oneshot::Sender<Result<InvitationsView, NodeError>>),
    Acceptance(String, oneshot::Sender<Option<AcceptanceView>>),
    Contacts(oneshot::Sender<Result<Vec<ContactView>, NodeError>>),
    ProfileName(oneshot::Sender<String>),
    Trust(TrustQuery, oneshot::Sender<Result<TrustAnswer, NodeError>>),
    Group(GroupRequest, oneshot::Sender<Result<GroupReply, NodeError>>),
    Shutdown,
}

/// A front end's request about groups, groups and peers named as the user typed them: a
/// group by its name or the start of its id, a peer as `aura contact` names one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GroupRequest {
    Create {
        name: String,
        with: Vec<String>,
    },
    Invite {
        group: String,
        peer: String,
    },
    Remove {
        group: String,
        peer: String,
    },
    Leave {
        group: String,
    },
    Rename {
        group: String,
        name: String,
    },
    /// New keys on this device's path in the group.
    Update {
        group: String,
    },
    /// The group's policy (who may add, remove, rename, change the policy), shown, or
    /// changed as `change` says.
    Policy {
        group: String,
        change: Option<PolicyEdit>,
    },
    /// A code that makes whoever accepts it a contact, then adds them to the group.
    Code {
        group: String,
        valid_for_ms: Option<u64>,
        uses: u32,
    },
    Send {
        group: String,
        text: String,
        wait: bool,
    },
    List,
    Members {
        group: String,
    },
    /// The last `limit` messages; `mark_read` when the user is shown them.
    Log {
        group: String,
        limit: usize,
        mark_read: bool,
    },
}

/// A change of a group's policy, as the user typed it: capabilities as a comma-separated
/// list (or `none`), a member as `aura contact` or `aura group members` names one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PolicyEdit {
    /// The grant every member holds.
    Default(String),
    /// A member's own grant, which narrows the default.
    Grant { peer: String, capabilities: String },
    /// Takes a member's own grant away.
    Reset { peer: String },
}

impl GroupRequest {
    /// Whether the store can answer it without a node (a log is then not marked read).
    pub fn reads_only(&self) -> bool {
        matches!(
            self,
            Self::List
                | Self::Members { .. }
                | Self::Log { .. }
                | Self::Policy { change: None, .. }
        )
    }
}

/// What a group request gets back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GroupReply {
    Done(crate::agent::core::GroupAnswer),
    /// A group code made.
    Invited(InviteAnswer),
    List(Vec<crate::groups::views::GroupView>),
    Members(crate::groups::views::MembersView),
    Log(crate::groups::views::LogView),
    Policy(crate::groups::views::PolicyView),
}

/// A question about trust, peers named as the user typed them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TrustQuery {
    List,
    Path(String),
    WhyNot { target: String, level: TrustLevel },
}

/// The terms of a new invitation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InviteOptions {
    /// How long it stays valid, ms; `None` for ever.
    pub valid_for_ms: Option<u64>,
    pub uses: u32,
    pub note: String,
    pub approve: bool,
    /// The level contacts made with it start at.
    #[serde(default = "relationship_trust")]
    pub trust: TrustLevel,
    /// The group (context id) each one who accepts is then added to.
    #[serde(default)]
    pub group: Option<[u8; 32]>,
}

fn relationship_trust() -> TrustLevel {
    crate::trust::book::RELATIONSHIP_TRUST
}

/// A front end's request about names, invitations and contacts, as the user typed it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum InviteRequest {
    SetName(String),
    Create(InviteOptions),
    /// A code as pasted.
    Accept(String),
    Revoke(String),
    Answer {
        id: String,
        approve: bool,
    },
    /// A contact named by peer id, a unique prefix of one, a nickname or a display name.
    Rename {
        target: String,
        nickname: String,
    },
    Remove(String),
    SetTrust {
        target: String,
        level: TrustLevel,
    },
    Share {
        target: String,
        on: bool,
    },
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Request")
    }
}

/// The cloneable handle to a running node.
#[derive(Debug, Clone)]
pub struct NodeClient {
    requests: mpsc::Sender<Request>,
    events: broadcast::Sender<NodeEvent>,
}

impl NodeClient {
    pub(crate) fn new(
        requests: mpsc::Sender<Request>,
        events: broadcast::Sender<NodeEvent>,
    ) -> Self {
        Self { requests, events }
    }

    async fn ask<T>(
        &self,
        build: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(build(reply))
            .await
            .map_err(|_| NodeError::Stopped)?;
        answer.await.map_err(|_| NodeError::Stopped)
    }

    /// Takes part in `context`: subscribes to its topic and syncs it with peers.
    pub async fn join_context(&self, context: ContextId) -> Result<(), NodeError> {
        self.ask(|reply| Request::JoinContext(context, reply))
            .await?
    }

    /// Signs, stores and gossips a fact of this device.
    pub async fn write(
        &self,
        context: ContextId,
        kind: FactKind,
        body: Vec<u8>,
    ) -> Result<FactId, NodeError> {
        self.ask(|reply| Request::Write {
            context,
            kind,
            body,
            reply,
        })
        .await?
    }

    /// Saves `addr`, dials it, and says within a few seconds whether the peer was reached;
    /// the node keeps trying while it is not.
    pub async fn add_peer(&self, addr: PeerAddr) -> Result<PeerAdded, NodeError> {
        self.ask(|reply| Request::AddPeer(addr, reply)).await?
    }

    /// Forgets the saved addresses equal to `target`, or all of those of the peer `target`
    /// names; returns how many were removed.
    pub async fn remove_peer(&self, target: String) -> Result<usize, NodeError> {
        self.ask(|reply| Request::RemovePeer(target, reply)).await?
    }

    /// The saved peer addresses and whether each peer is connected.
    pub async fn peers(&self) -> Result<Vec<PeerEntry>, NodeError> {
        self.ask(Request::Peers).await?
    }

    pub async fn status(&self) -> Result<NodeStatus, NodeError> {
        self.ask(Request::Status).await?
    }

    pub async fn fact_count(&self, context: ContextId) -> Result<usize, NodeError> {
        self.ask(|reply| Request::FactCount(context, reply)).await?
    }

    pub async fn mesh_peers(&self, context: ContextId) -> Result<usize, NodeError> {
        self.ask(|reply| Request::MeshPeers(context, reply)).await?
    }

    /// Starts anti-entropy of `context` with every peer known to share it; returns how many
    /// sessions started.
    pub async fn sync_now(&self, context: ContextId) -> Result<usize, NodeError> {
        self.ask(|reply| Request::SyncNow(context, reply)).await
    }

    /// The flow, leakage and receive ledgers as they are now.
    pub async fn budgets(&self) -> Result<BudgetReport, NodeError> {
        self.ask(Request::Budgets).await
    }

    /// Asks about names, invitations or contacts; an acceptance answers at once with its
    /// state (follow it with [`NodeClient::acceptance`] or the node's events).
    pub async fn invite(&self, request: InviteRequest) -> Result<InviteAnswer, NodeError> {
        self.ask(|reply| Request::Invite(request, reply)).await?
    }

    /// Asks about groups: a change, a message to send, or what the store says of them.
    pub async fn group(&self, request: GroupRequest) -> Result<GroupReply, NodeError> {
        self.ask(|reply| Request::Group(request, reply)).await?
    }

    /// The invitations this device made and the acceptances it runs.
    pub async fn invitations(&self) -> Result<InvitationsView, NodeError> {
        self.ask(Request::Invitations).await?
    }

    /// The acceptance of the invitation `id` names, pending or finished since the start.
    pub async fn acceptance(&self, id: String) -> Result<Option<AcceptanceView>, NodeError> {
        self.ask(|reply| Request::Acceptance(id, reply)).await
    }

    pub async fn contacts(&self) -> Result<Vec<ContactView>, NodeError> {
        self.ask(Request::Contacts).await?
    }

    /// This device's display name; empty when none was set.
    pub async fn profile_name(&self) -> Result<String, NodeError> {
        self.ask(Request::ProfileName).await
    }

    /// Answers a question about trust from the facts as stored now.
    pub async fn trust(&self, query: TrustQuery) -> Result<TrustAnswer, NodeError> {
        self.ask(|reply| Request::Trust(query, reply)).await?
    }

    /// The node's events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Asks the agent to stop.
    pub(crate) async fn shutdown(&self) {
        let _ = self.requests.send(Request::Shutdown).await;
    }
}
