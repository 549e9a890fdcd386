//! The shell's side of trust: questions answered from the store, settings made ready for the
//! core (the peer resolved by name).

use tokio::sync::oneshot;

use super::{Shell, now_ms};
use crate::agent::core::{InviteAnswer, InviteCommand};
use crate::node::{NodeError, TrustQuery};
use crate::state::trust_level::TrustLevel;
use crate::trust::directory::TrustView;
use crate::trust::views::TrustAnswer;

impl Shell {
    fn trust_view(&self) -> Result<TrustView, NodeError> {
        Ok(TrustView::load(
            &self.store,
            self.core.device(),
            self.core.own_context(),
        )?)
    }

    /// Recomputes every peer's level from the facts and hands the levels to the core, which
    /// sets budgets from them.
    pub(super) fn refresh_trust(&mut self) {
        let view = match self.trust_view() {
            Ok(view) => view,
            Err(err) => {
                tracing::error!(%err, "reading the web of trust");
                return;
            }
        };
        let limit = self.core.trust_hop_limit();
        let mut levels: std::collections::HashMap<_, _> = view
            .graph
            .reachable(limit)
            .into_iter()
            .map(|(peer, path)| (peer, path.level))
            .collect();
        // A contact the user distrusts is reached at None: its budgets follow that too.
        for relationship in view.relationships.iter().filter(|r| r.ended.is_none()) {
            levels
                .entry(relationship.peer)
                .or_insert_with(|| view.graph.level_of(relationship.peer, limit));
        }
        self.input(crate::agent::core::Input::TrustLevels(levels));
    }

    pub(super) fn trust_query(&self, query: &TrustQuery) -> Result<TrustAnswer, NodeError> {
        self.trust_view()?
            .answer(query, self.core.trust_hop_limit(), now_ms())
            .map_err(NodeError::Refused)
    }

    /// `aura trust set` and `aura trust share`: the peer must be a contact.
    pub(super) fn trust_setting(
        &mut self,
        target: &str,
        setting: impl FnOnce(crate::state::fact::DeviceKey) -> InviteCommand,
        reply: oneshot::Sender<Result<InviteAnswer, NodeError>>,
    ) {
        let relationships =
            match crate::invite::directory::relationships(&self.store, &self.core.device()) {
                Ok(relationships) => relationships,
                Err(err) => {
                    let _ = reply.send(Err(err.into()));
                    return;
                }
            };
        match super::invitations::resolve_contact(target, &relationships, self.core.profile()) {
            Ok(peer) => self.invite_command(setting(peer), reply),
            Err(err) => {
                let _ = reply.send(Err(err));
            }
        }
    }
}

/// The command that sets `level` for a peer.
pub(super) fn set_level(
    level: TrustLevel,
) -> impl FnOnce(crate::state::fact::DeviceKey) -> InviteCommand {
    move |peer| InviteCommand::SetTrust { peer, level }
}
