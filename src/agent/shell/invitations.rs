//! The shell's side of invitations: front-end requests made ready for the core (codes
//! decoded, contacts resolved by name, the node's addresses fetched), the lists read from the
//! store, and the relationship-formation tasks with the oneshots each step waits on.

use futures::FutureExt;
use libp2p::PeerId;
use tokio::sync::{mpsc, oneshot};

use super::sessions::Internal;
use super::{Shell, Waiting, now_ms};
use crate::agent::core::{AcceptanceEvent, Input, InviteAnswer, InviteCommand, StreamToken};
use crate::agent::relationship_session::{self, InviteeProgress};
use crate::invite::addrs::dialable_addrs;
use crate::invite::book::Relationship;
use crate::invite::code::{InvitationCode, MAX_CODE_CHARS};
use crate::invite::directory;
use crate::invite::facts::InvitationKey;
use crate::invite::messages::{Ask, Challenge, Proof, Refusal, Verdict};
use crate::invite::views::{ContactView, InvitationsView};
use crate::net::peer_of_device;
use crate::node::{InviteRequest, NodeError};
use crate::protocol::guarded::{Route, SharedGuard};
use crate::state::fact::{ContextId, DeviceKey};
use crate::state::leakage::{Relationship as LeakageRelationship, Timing};

/// The route of a handshake about `invitation` with `peer`.
pub(super) fn handshake_route(invitation: InvitationKey, peer: DeviceKey) -> Route {
    Route {
        context: ContextId(invitation.0),
        peer,
        relationship: LeakageRelationship::Neighbour,
        timing: Timing::Immediate,
    }
}

/// Which contact `target` names: a peer id or a unique prefix of one, a nickname or a
/// display name (without regard to case).
pub fn resolve_contact(
    target: &str,
    relationships: &[Relationship],
    profile: &crate::invite::book::Profile,
) -> Result<DeviceKey, NodeError> {
    let wanted = target.trim();
    let shown = crate::invite::names::sanitize_peer_name(wanted);
    if wanted.is_empty() {
        return Err(NodeError::Refused(
            "name a contact: a peer id, a nickname or a name".into(),
        ));
    }
    let live: Vec<&Relationship> = relationships.iter().filter(|r| r.ended.is_none()).collect();
    let folded = wanted.to_lowercase();
    let by_name: Vec<DeviceKey> = live
        .iter()
        .filter(|r| {
            profile
                .nickname(&r.peer)
                .is_some_and(|n| n.to_lowercase() == folded)
                || r.peer_name.to_lowercase() == folded
        })
        .map(|r| r.peer)
        .collect();
    let by_id: Vec<DeviceKey> = live
        .iter()
        .filter(|r| directory::peer_id_text(&r.peer).starts_with(wanted))
        .map(|r| r.peer)
        .collect();
    let mut matches = by_name;
    for device in by_id {
        if !matches.contains(&device) {
            matches.push(device);
        }
    }
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(NodeError::Refused(format!(
            "no contact is called or has a peer id starting with `{shown}` (see `aura contact list`)"
        ))),
        many => Err(NodeError::Refused(format!(
            "`{shown}` names {} contacts: use more of the peer id",
            many.len()
        ))),
    }
}

/// Runs the inviter's side on an admitted stream, asking the core at each step.
pub(super) async fn run_inviter(
    guard: SharedGuard,
    internal: mpsc::UnboundedSender<Internal>,
    token: StreamToken,
    stream: libp2p::Stream,
    peer: PeerId,
    device: DeviceKey,
    invitation: InvitationKey,
) {
    let asked = internal.clone();
    let proved = internal;
    let result = relationship_session::run_inviter(
        stream,
        guard,
        handshake_route(invitation, device),
        move |ask: Ask| {
            let (reply, answer) = oneshot::channel();
            let _ = asked.send(Internal::HandshakeAsked {
                token,
                invitee: device,
                ask,
                reply,
            });
            async move { answer.await.unwrap_or(Challenge::Refused(Refusal::Failed)) }.boxed()
        },
        move |proof: Proof| {
            let (reply, answer) = oneshot::channel();
            let _ = proved.send(Internal::HandshakeProved {
                token,
                proof,
                reply,
            });
            async move { answer.await.unwrap_or(Verdict::Refused(Refusal::Failed)) }.boxed()
        },
    )
    .await;
    match result {
        Ok(verdict) => tracing::info!(%peer, ?verdict, "an invitation handshake ended"),
        Err(err) => tracing::info!(%peer, %err, "an invitation handshake failed"),
    }
}

impl Shell {
    fn me(&self) -> DeviceKey {
        self.core.device()
    }

    fn relationships(&self) -> Result<Vec<Relationship>, NodeError> {
        Ok(directory::relationships(&self.store, &self.me())?)
    }

    pub(super) fn invitations_view(&self) -> Result<InvitationsView, NodeError> {
        let relationships = self.relationships()?;
        let waiting: Vec<(String, String, String)> = self
            .core
            .waiting_answers()
            .iter()
            .map(|w| {
                (
                    w.invitation.short_id(),
                    w.name.clone(),
                    directory::peer_id_text(&w.invitee),
                )
            })
            .collect();
        Ok(InvitationsView {
            mine: directory::invitation_views(
                self.core.profile(),
                &relationships,
                &waiting,
                now_ms(),
            ),
            theirs: self.core.acceptances(),
        })
    }

    pub(super) fn contacts_view(&self) -> Result<Vec<ContactView>, NodeError> {
        let relationships = self.relationships()?;
        Ok(directory::contact_views(
            &relationships,
            self.core.profile(),
            Some(self.core.connected()),
            false,
        ))
    }

    /// Makes a request ready for the core, or answers it with why it cannot be.
    pub(super) fn invite_request(
        &mut self,
        request: InviteRequest,
        reply: oneshot::Sender<Result<InviteAnswer, NodeError>>,
    ) {
        let command = match request {
            InviteRequest::SetName(name) => InviteCommand::SetName(name),
            InviteRequest::Accept(text) => {
                if text.chars().count() > MAX_CODE_CHARS {
                    let _ = reply.send(Err(NodeError::Refused(format!(
                        "an invitation code has at most {MAX_CODE_CHARS} characters"
                    ))));
                    return;
                }
                match InvitationCode::decode(&text) {
                    Ok(code) => InviteCommand::Accept(code),
                    Err(err) => {
                        let _ = reply.send(Err(NodeError::Refused(err.to_string())));
                        return;
                    }
                }
            }
            InviteRequest::Revoke(id) => InviteCommand::Revoke(id),
            InviteRequest::Answer { id, approve } => InviteCommand::Answer { id, approve },
            InviteRequest::Rename { target, nickname } => match self.resolve(&target) {
                Ok(peer) => InviteCommand::Rename { peer, nickname },
                Err(err) => {
                    let _ = reply.send(Err(err));
                    return;
                }
            },
            InviteRequest::SetTrust { target, level } => {
                return self.trust_setting(&target, super::trust::set_level(level), reply);
            }
            InviteRequest::Share { target, on } => {
                return self.trust_setting(
                    &target,
                    move |peer| InviteCommand::Share { peer, on },
                    reply,
                );
            }
            InviteRequest::Remove(target) => match self.resolve(&target) {
                Ok(peer) => InviteCommand::Remove(peer),
                Err(err) => {
                    let _ = reply.send(Err(err));
                    return;
                }
            },
            InviteRequest::Create(options) => {
                // The addresses come from the swarm, asked in a task; the core gets the
                // command when they are known.
                let net = self.net.clone();
                let internal = self.internal.clone();
                tokio::spawn(async move {
                    let addrs = match net.info().await {
                        Ok(info) => dialable_addrs(&info.listen_addrs, &[]),
                        Err(err) => {
                            let _ = reply.send(Err(err.into()));
                            return;
                        }
                    };
                    let command = InviteCommand::Create { options, addrs };
                    let _ = internal.send(Internal::InviteReady { command, reply });
                });
                return;
            }
        };
        self.invite_command(command, reply);
    }

    pub(super) fn invite_command(
        &mut self,
        command: InviteCommand,
        reply: oneshot::Sender<Result<InviteAnswer, NodeError>>,
    ) {
        let request = self.request_id(Waiting::Invite(reply));
        self.input(Input::Invite { request, command });
    }

    fn resolve(&self, target: &str) -> Result<DeviceKey, NodeError> {
        let relationships = self.relationships()?;
        resolve_contact(target, &relationships, self.core.profile())
    }

    /// Runs an acceptance's handshake in a task that reports each step to the core.
    pub(super) fn start_acceptance(
        &mut self,
        key: InvitationKey,
        peer: PeerId,
        device: DeviceKey,
        addrs: Vec<libp2p::Multiaddr>,
        ask: Ask,
    ) {
        let net = self.net.clone();
        let guard = self.guard.clone();
        let internal = self.internal.clone();
        debug_assert_eq!(peer_of_device(&device), Some(peer));
        tokio::spawn(async move {
            let progress = {
                let internal = internal.clone();
                move |progress: InviteeProgress| match progress {
                    InviteeProgress::Connected => {
                        let _ = internal.send(Internal::Report(Input::Acceptance {
                            key,
                            event: AcceptanceEvent::Connected,
                        }));
                        None
                    }
                    InviteeProgress::Challenged(challenge) => {
                        let (reply, answer) = oneshot::channel();
                        let _ = internal.send(Internal::Challenged {
                            key,
                            challenge,
                            reply,
                        });
                        Some(async move { answer.await.unwrap_or(Proof::Withdrawn) }.boxed())
                    }
                }
            };
            let end = relationship_session::run_invitee(
                net,
                guard,
                handshake_route(key, device),
                peer,
                addrs,
                ask,
                progress,
            )
            .await;
            let _ = internal.send(Internal::Report(Input::Acceptance {
                key,
                event: AcceptanceEvent::Ended(end),
            }));
        });
    }
}
