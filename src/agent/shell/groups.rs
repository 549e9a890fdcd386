//! The shell's side of groups: requests made ready for the core (groups and contacts
//! resolved by name), what the store says of groups answered from it, and the store
//! effects the core asks for.

use std::collections::HashMap;

use tokio::sync::oneshot;

use super::invitations::resolve_contact;
use super::{Shell, Waiting, now_ms};
use crate::agent::core::{GroupCommand, Input};
use crate::groups::directory;
use crate::groups::policy::{self, PolicyChange};
use crate::invite::directory as contacts;
use crate::node::{GroupReply, GroupRequest, InviteOptions, InviteRequest, NodeError, PolicyEdit};
use crate::state::fact::{ContextId, DeviceKey, FactId};

/// A group request made ready.
enum Prepared {
    Reply(GroupReply),
    Command(GroupCommand),
    ReplyAndMark(GroupReply, GroupCommand),
    /// A group code: an invitation whose acceptance is followed by an add.
    Code(InviteOptions),
}

impl Shell {
    pub(super) fn group_request(
        &mut self,
        request: GroupRequest,
        reply: oneshot::Sender<Result<GroupReply, NodeError>>,
    ) {
        match self.prepare(request) {
            Ok(Prepared::Reply(answer)) => {
                let _ = reply.send(Ok(answer));
            }
            Ok(Prepared::Command(command)) => {
                let request = self.request_id(Waiting::Group(reply));
                self.input(Input::Group { request, command });
            }
            Ok(Prepared::Code(options)) => {
                let (invited, answer) = oneshot::channel();
                self.invite_request(InviteRequest::Create(options), invited);
                tokio::spawn(async move {
                    let result = answer.await.unwrap_or(Err(NodeError::Stopped));
                    let _ = reply.send(result.map(GroupReply::Invited));
                });
            }
            Ok(Prepared::ReplyAndMark(answer, command)) => {
                let _ = reply.send(Ok(answer));
                let (ignored, _) = oneshot::channel();
                let request = self.request_id(Waiting::Group(ignored));
                self.input(Input::Group { request, command });
            }
            Err(err) => {
                let _ = reply.send(Err(err));
            }
        }
    }

    /// What answers `request`: a reply read from the store, a command for the core, or both
    /// when a log shown marks the group read.
    fn prepare(&self, request: GroupRequest) -> Result<Prepared, NodeError> {
        let me = self.core.device();
        let rows = self.store.groups()?;
        let group = |target: &str| directory::resolve(&rows, target).map_err(NodeError::Refused);
        let command = match request {
            GroupRequest::List => {
                return Ok(Prepared::Reply(GroupReply::List(directory::list(
                    &self.store,
                    &me,
                )?)));
            }
            GroupRequest::Members { group: target } => {
                let context = group(&target)?;
                let view = directory::members(&self.store, &me, &self.names()?, &context)?
                    .ok_or_else(|| NodeError::Refused("no such group".into()))?;
                return Ok(Prepared::Reply(GroupReply::Members(view)));
            }
            GroupRequest::Log {
                group: target,
                limit,
                mark_read,
            } => {
                let context = group(&target)?;
                let mut view = directory::log(&self.store, &me, &self.names()?, &context, limit)?
                    .ok_or_else(|| NodeError::Refused("no such group".into()))?;
                self.explain_pending(&context, &rows, &mut view);
                let last = self.last_message(&context)?;
                let reply = GroupReply::Log(view);
                return Ok(match (mark_read, last) {
                    (true, Some(up_to)) => Prepared::ReplyAndMark(
                        reply,
                        GroupCommand::MarkRead {
                            group: context,
                            up_to,
                        },
                    ),
                    _ => Prepared::Reply(reply),
                });
            }
            GroupRequest::Create { name, with } => GroupCommand::Create {
                name,
                with: with
                    .iter()
                    .map(|peer| self.contact(peer))
                    .collect::<Result<_, _>>()?,
            },
            GroupRequest::Invite {
                group: target,
                peer,
            } => GroupCommand::Invite {
                group: group(&target)?,
                peer: self.contact(&peer)?,
            },
            GroupRequest::Remove {
                group: target,
                peer,
            } => {
                let context = group(&target)?;
                GroupCommand::Remove {
                    group: context,
                    peer: self.member(&rows, &context, &peer)?,
                }
            }
            GroupRequest::Leave { group: target } => GroupCommand::Leave(group(&target)?),
            GroupRequest::Rename {
                group: target,
                name,
            } => GroupCommand::Rename {
                group: group(&target)?,
                name,
            },
            GroupRequest::Update { group: target } => GroupCommand::Update(group(&target)?),
            GroupRequest::Policy {
                group: target,
                change: None,
            } => {
                let context = group(&target)?;
                let policy = self
                    .core
                    .group_policy(&context)
                    .ok_or_else(|| NodeError::Refused("you are not in this group".into()))?;
                let view = directory::policy(&self.store, &me, &self.names()?, &context, &policy)?
                    .ok_or_else(|| NodeError::Refused("no such group".into()))?;
                return Ok(Prepared::Reply(GroupReply::Policy(view)));
            }
            GroupRequest::Policy {
                group: target,
                change: Some(edit),
            } => {
                let context = group(&target)?;
                GroupCommand::Policy {
                    group: context,
                    change: self.policy_change(&rows, &context, edit)?,
                }
            }
            GroupRequest::Code {
                group: target,
                valid_for_ms,
                uses,
            } => {
                return Ok(Prepared::Code(InviteOptions {
                    valid_for_ms,
                    uses,
                    note: String::new(),
                    approve: false,
                    trust: crate::trust::book::RELATIONSHIP_TRUST,
                    group: Some(group(&target)?.0),
                }));
            }
            GroupRequest::Send {
                group: target,
                text,
                wait,
            } => GroupCommand::Send {
                group: group(&target)?,
                text,
                wait,
            },
        };
        Ok(Prepared::Command(command))
    }

    /// What only the node knows of a log's messages still waiting: why each waits, and
    /// whether any member is online to take them.
    fn explain_pending(
        &self,
        context: &ContextId,
        rows: &[crate::state::store::GroupRow],
        view: &mut crate::groups::views::LogView,
    ) {
        let me = self.core.device();
        // The store knows a message waits; the node knows why.
        let reasons = self.core.pending_reasons(context);
        let pending = view
            .messages
            .iter_mut()
            .filter(|m| matches!(m.delivery, Some(crate::groups::views::Delivery::Pending(_))));
        for (message, reason) in pending.zip(reasons) {
            if let Some(reason) = reason {
                message.delivery = Some(crate::groups::views::Delivery::Pending(reason));
            }
        }
        // A message no member has acknowledged waits for one to come online.
        let roster = rows
            .iter()
            .find(|row| row.context == *context)
            .map(|row| row.roster.clone())
            .unwrap_or_default();
        let connected = self.core.connected();
        let member_online = roster.iter().any(|device| {
            *device != me
                && crate::net::peer_of_device(device).is_some_and(|p| connected.contains(&p))
        });
        if !member_online {
            for message in &mut view.messages {
                if message.delivery == Some(crate::groups::views::Delivery::Sent) {
                    message.delivery = Some(crate::groups::views::Delivery::Pending(
                        "no member is online; it goes when one is".into(),
                    ));
                }
            }
        }
    }

    fn last_message(&self, context: &ContextId) -> Result<Option<(u64, FactId)>, NodeError> {
        Ok(self
            .store
            .group_messages(context, 1)?
            .last()
            .map(|row| (row.time, row.id)))
    }

    fn contact(&self, target: &str) -> Result<DeviceKey, NodeError> {
        let me = self.core.device();
        let relationships = contacts::relationships(&self.store, &me)?;
        resolve_contact(target, &relationships, self.core.profile())
    }

    /// A policy change as the core takes it: capabilities parsed, the member resolved.
    fn policy_change(
        &self,
        rows: &[crate::state::store::GroupRow],
        context: &ContextId,
        edit: PolicyEdit,
    ) -> Result<PolicyChange, NodeError> {
        let capabilities = |list: &str| {
            policy::parse_list(list).map_err(|err| NodeError::Refused(err.to_string()))
        };
        Ok(match edit {
            PolicyEdit::Default(list) => PolicyChange::Default(capabilities(&list)?),
            PolicyEdit::Grant {
                peer,
                capabilities: list,
            } => PolicyChange::Grant {
                device: self.member(rows, context, &peer)?,
                capabilities: capabilities(&list)?,
            },
            PolicyEdit::Reset { peer } => PolicyChange::Reset(self.member(rows, context, &peer)?),
        })
    }

    /// A member of a group: a contact by name, or any member by the start of its peer id.
    fn member(
        &self,
        rows: &[crate::state::store::GroupRow],
        context: &ContextId,
        target: &str,
    ) -> Result<DeviceKey, NodeError> {
        if let Ok(device) = self.contact(target) {
            return Ok(device);
        }
        let roster = rows
            .iter()
            .find(|row| row.context == *context)
            .map(|row| row.roster.clone())
            .unwrap_or_default();
        let wanted = target.trim();
        let matches: Vec<DeviceKey> = roster
            .into_iter()
            .filter(|device| {
                !wanted.is_empty() && contacts::peer_id_text(device).starts_with(wanted)
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            _ => Err(NodeError::Refused(format!(
                "no member of this group is called or has a peer id starting with `{}` (see `aura group members`)",
                crate::invite::names::sanitize_peer_name(wanted)
            ))),
        }
    }

    /// Contacts' labels, as `aura contact list` shows them.
    pub(super) fn names(&self) -> Result<HashMap<DeviceKey, String>, NodeError> {
        let me = self.core.device();
        let relationships = contacts::relationships(&self.store, &me)?;
        let views = contacts::contact_views(&relationships, self.core.profile(), None, true);
        Ok(relationships
            .iter()
            .filter(|r| r.ended.is_none())
            .map(|r| r.peer)
            .zip(views.into_iter().map(|view| view.label))
            .collect())
    }

    /// Reads facts for the core's groups and hands them over.
    pub(super) fn load_group_facts(
        &mut self,
        context: ContextId,
        ids: Option<Vec<FactId>>,
        resumed: bool,
    ) {
        let facts = match ids {
            None => self.store.journal_facts_of(context),
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.store.journal_fact(id).transpose())
                .collect(),
        };
        match facts {
            Ok(facts) => {
                self.core.handle(
                    Input::GroupFacts {
                        context,
                        facts,
                        resumed,
                    },
                    now_ms(),
                    &mut self.rng,
                );
            }
            Err(err) => tracing::error!(%err, "reading a group's facts"),
        }
    }
}
