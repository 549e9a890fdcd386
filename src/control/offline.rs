//! Answering control requests from the store when no node runs: the same [`answer`] as the
//! node's, with the store as its [`Backend`].
//!
//! Commands that only read open the store read-only and never create it: a profile without a
//! store has no peers and no budgets yet. `id` and `peer add` need an identity and create the
//! profile when its store file is missing (never when it exists but cannot be read).

use libp2p::PeerId;

use super::answer::{self, Backend, Target};
use super::protocol::{
    BudgetView, ControlFailure, ControlRequest, ControlResponse, IdentityView, PeerAddedView,
    PeerView, ReachView, StatusView, StoreView,
};
use crate::agent::core::InviteAnswer;
use crate::agent::{BudgetReport, GuardConfig, KeptLedgers, NodeGuard};
use crate::identity::{DeviceIdentity, IdentityError};
use crate::invite::book::{Profile, Relationship};
use crate::invite::code::InvitationCode;
use crate::invite::directory;
use crate::invite::views::{AcceptanceStage, AcceptanceView, ContactView, InvitationsView};
use crate::net::peer_addr::PeerAddr;
use crate::node::saved_peers;
use crate::node::{InviteRequest, TrustQuery};
use crate::paths::{PathError, ProfilePaths};
use crate::state::fact::DeviceKey;
use crate::state::flow_budget::FlowBudgets;
use crate::state::leakage::LeakageLedger;
use crate::state::receive_budget::ReceiveLedger;
use crate::state::{Store, StoreError};
use crate::trust::directory::TrustView;
use crate::trust::views::TrustAnswer;

/// What answering from the store needs.
#[derive(Debug, Clone)]
pub struct OfflineProfile<'a> {
    pub paths: &'a ProfilePaths,
    /// The budget policies of the configuration, as a node would start with them.
    pub guard: GuardConfig,
    /// The clock, ms since the Unix epoch.
    pub now_ms: u64,
}

/// Why the store could not be opened to answer. A locked store ([`Self::is_locked`]) may be
/// a node starting: the caller asks its socket again.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Paths(#[from] PathError),
    #[error("cannot check for the store {path}: {reason}")]
    Probe {
        path: std::path::PathBuf,
        reason: String,
    },
}

impl OfflineError {
    pub fn is_locked(&self) -> bool {
        matches!(
            self,
            Self::Store(StoreError::Locked { .. })
                | Self::Identity(IdentityError::Store(StoreError::Locked { .. }))
        )
    }
}

/// How a request uses the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Reads; a missing store is an empty profile.
    Read,
    /// Reads; a missing store is created, with an identity.
    ReadOrCreate,
    /// Writes; a missing store is created, with an identity.
    Write,
    /// Writes; a missing store is an empty profile.
    WriteExisting,
}

fn access(request: &ControlRequest) -> Access {
    match request {
        ControlRequest::Status
        | ControlRequest::PeerList
        | ControlRequest::BudgetList
        | ControlRequest::InviteList
        | ControlRequest::Acceptance { .. }
        | ControlRequest::ContactList
        | ControlRequest::Invite(_)
        | ControlRequest::Group(_)
        | ControlRequest::Trust(_) => Access::Read,
        ControlRequest::Id => Access::ReadOrCreate,
        ControlRequest::PeerAdd { .. } => Access::Write,
        ControlRequest::PeerRemove { .. } => Access::WriteExisting,
    }
}

/// Answers `request` from the profile's store. `Err` when the store cannot be opened; a
/// request the store refuses or fails is a [`ControlResponse::Failed`], as from a node.
pub fn answer(
    request: &ControlRequest,
    profile: &OfflineProfile<'_>,
) -> Result<ControlResponse, OfflineError> {
    let backend = StoreBackend::open(access(request), profile)?;
    // Nothing the store backend awaits ever waits: this completes on its first poll.
    Ok(futures::executor::block_on(answer::answer(
        request.clone(),
        &backend,
    )))
}

/// The store as a [`Backend`].
struct StoreBackend<'a> {
    profile: &'a OfflineProfile<'a>,
    /// `None` for a profile whose store does not exist.
    store: Option<Store>,
    identity: Option<DeviceIdentity>,
}

impl<'a> StoreBackend<'a> {
    fn open(access: Access, profile: &'a OfflineProfile<'a>) -> Result<Self, OfflineError> {
        let paths = profile.paths;
        let exists = paths
            .store_file
            .try_exists()
            .map_err(|err| OfflineError::Probe {
                path: paths.store_file.clone(),
                reason: err.to_string(),
            })?;
        let create = !exists && matches!(access, Access::ReadOrCreate | Access::Write);
        let store = match (exists, access) {
            (false, Access::Read | Access::WriteExisting) => None,
            (true, Access::Read | Access::ReadOrCreate) => Some(open_read_only(paths)?),
            _ => {
                paths.create_dirs()?;
                Some(Store::open(&paths.store_file, &paths.profile)?)
            }
        };
        let identity = match &store {
            Some(store) if create || access == Access::Write => {
                Some(DeviceIdentity::load_or_create(store)?)
            }
            Some(store) => DeviceIdentity::load(store)?,
            None => None,
        };
        Ok(Self {
            profile,
            store,
            identity,
        })
    }

    fn store(&self) -> Result<&Store, ControlFailure> {
        self.store
            .as_ref()
            .ok_or_else(|| ControlFailure::NoIdentity(self.profile.paths.profile.clone()))
    }
}

/// Opens the store read-only. A store a crash left unrepaired cannot be opened so; it is
/// repaired once by a writable open (which copies it aside first and restores the copy if
/// the repair fails), or else a crash of the node would leave even `aura id` failing.
fn open_read_only(paths: &ProfilePaths) -> Result<Store, StoreError> {
    match Store::open_read_only(&paths.store_file, &paths.profile) {
        Err(StoreError::NeedsRepair { .. }) => Store::open(&paths.store_file, &paths.profile),
        opened => opened,
    }
}

fn failed(err: impl std::fmt::Display) -> ControlFailure {
    ControlFailure::Failed(err.to_string())
}

impl StoreBackend<'_> {
    /// The profile and relationships the store holds; `None` for a profile without a store.
    fn book(&self) -> Result<Option<(Profile, Vec<Relationship>)>, ControlFailure> {
        let (Some(store), Some(identity)) = (&self.store, &self.identity) else {
            return Ok(None);
        };
        let profile = directory::profile(store, identity.signing_key()).map_err(failed)?;
        let me = DeviceKey::of(identity.signing_key());
        let relationships = directory::relationships(store, &me).map_err(failed)?;
        Ok(Some((profile, relationships)))
    }
}

impl Backend for StoreBackend<'_> {
    async fn invite(&self, request: InviteRequest) -> Result<InviteAnswer, ControlFailure> {
        let _ = request;
        Err(ControlFailure::NeedsNode(
            "this needs a running node of the profile".to_owned(),
        ))
    }

    async fn invitations(&self) -> Result<InvitationsView, ControlFailure> {
        let Some((profile, relationships)) = self.book()? else {
            return Ok(InvitationsView::default());
        };
        let store = self.store()?;
        // Acceptances kept for the next node: shown as waiting, as a node would resume them.
        let theirs = store
            .acceptances()
            .map_err(failed)?
            .into_iter()
            .filter_map(|row| pending_view(&row))
            .collect();
        Ok(InvitationsView {
            mine: directory::invitation_views(&profile, &relationships, &[], self.profile.now_ms),
            theirs,
        })
    }

    async fn acceptance(&self, id: String) -> Result<Option<AcceptanceView>, ControlFailure> {
        Ok(self
            .invitations()
            .await?
            .theirs
            .into_iter()
            .find(|view| view.id.starts_with(&id)))
    }

    async fn trust(&self, query: TrustQuery) -> Result<TrustAnswer, ControlFailure> {
        let (Some(store), Some(identity)) = (&self.store, &self.identity) else {
            return Ok(TrustAnswer::List(Vec::new()));
        };
        let view = TrustView::load(
            store,
            DeviceKey::of(identity.signing_key()),
            crate::invite::handshake::own_context(identity.signing_key()),
        )
        .map_err(failed)?;
        view.answer(
            &query,
            self.profile.guard.trust_hop_limit,
            self.profile.now_ms,
        )
        .map_err(ControlFailure::Failed)
    }

    async fn group(
        &self,
        request: crate::node::GroupRequest,
    ) -> Result<crate::node::GroupReply, ControlFailure> {
        use crate::groups::directory as groups;
        use crate::node::{GroupReply, GroupRequest};
        if !request.reads_only() {
            return Err(ControlFailure::NeedsNode(
                "this needs a running node of the profile".to_owned(),
            ));
        }
        let (Some(store), Some(identity)) = (&self.store, &self.identity) else {
            return Ok(GroupReply::List(Vec::new()));
        };
        let me = DeviceKey::of(identity.signing_key());
        let names: std::collections::HashMap<DeviceKey, String> = match self.book()? {
            Some((profile, relationships)) => {
                let live: Vec<_> = relationships
                    .iter()
                    .filter(|r| r.ended.is_none())
                    .map(|r| r.peer)
                    .collect();
                live.into_iter()
                    .zip(
                        directory::contact_views(&relationships, &profile, None, false)
                            .into_iter()
                            .map(|view| view.label),
                    )
                    .collect()
            }
            None => std::collections::HashMap::new(),
        };
        let rows = store.groups().map_err(failed)?;
        let resolve = |target: &str| groups::resolve(&rows, target).map_err(ControlFailure::Failed);
        let missing = || ControlFailure::Failed("no such group".into());
        match request {
            GroupRequest::List => groups::list(store, &me)
                .map(GroupReply::List)
                .map_err(failed),
            GroupRequest::Members { group } => {
                groups::members(store, &me, &names, &resolve(&group)?)
                    .map_err(failed)?
                    .map(GroupReply::Members)
                    .ok_or_else(missing)
            }
            GroupRequest::Log { group, limit, .. } => {
                groups::log(store, &me, &names, &resolve(&group)?, limit)
                    .map_err(failed)?
                    .map(GroupReply::Log)
                    .ok_or_else(missing)
            }
            GroupRequest::Policy {
                group,
                change: None,
            } => {
                let context = resolve(&group)?;
                let row = rows
                    .iter()
                    .find(|row| row.context == context)
                    .ok_or_else(missing)?;
                let policy = groups::stored_policy(row, &identity.signing_key().to_bytes())
                    .map_err(ControlFailure::Failed)?;
                groups::policy(store, &me, &names, &context, &policy)
                    .map_err(failed)?
                    .map(GroupReply::Policy)
                    .ok_or_else(missing)
            }
            _ => Err(ControlFailure::NeedsNode(
                "this needs a running node of the profile".to_owned(),
            )),
        }
    }

    async fn contacts(&self) -> Result<Vec<ContactView>, ControlFailure> {
        let Some((profile, relationships)) = self.book()? else {
            return Ok(Vec::new());
        };
        Ok(directory::contact_views(
            &relationships,
            &profile,
            None,
            false,
        ))
    }

    fn identity(&self) -> Result<IdentityView, ControlFailure> {
        self.identity
            .as_ref()
            .map(IdentityView::from)
            .ok_or_else(|| ControlFailure::NoIdentity(self.profile.paths.profile.clone()))
    }

    fn own_peer_id(&self) -> Result<PeerId, ControlFailure> {
        self.identity
            .as_ref()
            .map(DeviceIdentity::peer_id)
            .ok_or_else(|| ControlFailure::NoIdentity(self.profile.paths.profile.clone()))
    }

    async fn status(&self) -> Result<StatusView, ControlFailure> {
        let store = match &self.store {
            None => StoreView::NotCreated,
            Some(store) => {
                let stats = store.stats().map_err(failed)?;
                StoreView::Open {
                    schema_version: stats.schema_version,
                    file_bytes: stats.file_bytes,
                    tables: stats.tables,
                }
            }
        };
        Ok(StatusView {
            identity: self.identity.as_ref().map(IdentityView::from),
            store,
            network: None,
        })
    }

    async fn add_peer(&self, addr: PeerAddr) -> Result<PeerAddedView, ControlFailure> {
        let text = addr.to_string();
        let fresh = self
            .store()?
            .add_peer_addr(&text, self.profile.now_ms)
            .map_err(failed)?;
        Ok(PeerAddedView {
            addr: text,
            fresh,
            reach: ReachView::Offline,
        })
    }

    async fn peers(&self) -> Result<Vec<PeerView>, ControlFailure> {
        let Some(store) = &self.store else {
            return Ok(Vec::new());
        };
        let entries = store.peer_addr_entries().map_err(failed)?;
        Ok(entries
            .into_iter()
            .map(|(addr, added_ms)| PeerView::saved(addr, added_ms))
            .collect())
    }

    async fn remove_peer(&self, target: &Target) -> Result<u64, ControlFailure> {
        let Some(store) = &self.store else {
            return Ok(0);
        };
        let removed = saved_peers::remove(store, target).map_err(failed)?;
        Ok(removed.addrs)
    }

    async fn budgets(&self) -> Result<BudgetView, ControlFailure> {
        let guard = &self.profile.guard;
        let ledgers = match &self.store {
            Some(store) => KeptLedgers::load(store, guard).map_err(failed)?,
            None => {
                let (over_budget, default_limit) = NodeGuard::receive_settings(guard);
                KeptLedgers {
                    budgets: FlowBudgets::default(),
                    leakage: LeakageLedger::new(guard.leakage.clone()),
                    received: ReceiveLedger::new(over_budget, default_limit),
                }
            }
        };
        let report = BudgetReport {
            ledgers: ledgers.as_of(guard, self.profile.now_ms),
            policy: guard.flow.clone(),
            now_ms: self.profile.now_ms,
        };
        Ok(BudgetView::from(&report))
    }
}

/// A kept acceptance as `aura invite list` shows it while no node runs.
fn pending_view(row: &crate::state::store::AcceptanceRow) -> Option<AcceptanceView> {
    let code = InvitationCode::decode(&row.code).ok()?;
    Some(AcceptanceView {
        id: crate::invite::facts::InvitationKey(row.invitation).short_id(),
        inviter: directory::peer_id_text(&DeviceKey(code.inviter)),
        note: crate::invite::names::sanitize_peer_name(&code.note),
        started_ms: row.started_ms,
        give_up_ms: row.give_up_ms,
        stage: AcceptanceStage::Waiting {
            next_try_ms: 0,
            errors: vec![(
                "node".to_owned(),
                "no node runs for this profile: it is tried again when one starts".to_owned(),
            )],
        },
    })
}
