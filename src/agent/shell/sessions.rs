//! The shell's session tasks: anti-entropy as the initiator or the responder over a libp2p
//! stream, each a task that hands its state machine back when it ends; a ticket dropped with
//! the task (even on panic) gives its places back to the core.

use libp2p::PeerId;
use tokio::sync::{mpsc, oneshot};

use super::{OPEN_SESSION_TIMEOUT, Shell, now_ms};
use crate::agent::core::{Input, InviteAnswer, InviteCommand, SessionResult, StreamToken};
use crate::agent::session::{self, Outcome, PreambleError};
use crate::invite::facts::InvitationKey;
use crate::invite::messages::{Ask, Challenge, Proof, Verdict};
use crate::node::NodeError;
use crate::protocol::anti_entropy::AntiEntropyError;
use crate::protocol::guarded::Route;
use crate::protocol::transport::SessionError;
use crate::state::coordinator::CrdtCoordinator;
use crate::state::fact::{ContextId, DeviceKey, Fact, FactId};
use crate::state::journal::Journal;
use crate::state::leakage::{Relationship, Timing};
use crate::state::sync::{self, JournalCoordinator};

/// What session tasks tell the shell.
pub(super) enum Internal {
    InitiatorDone {
        peer: PeerId,
        context: ContextId,
        /// Facts the session's journal started with.
        loaded: usize,
        outcome: Outcome<sync::Initiator>,
    },
    ResponderDone {
        peer: PeerId,
        context: ContextId,
        loaded: usize,
        outcome: Outcome<sync::Responder>,
    },
    /// An admitted stream's preamble: the task waits on `reply` for a responder.
    Preamble {
        peer: PeerId,
        token: StreamToken,
        preamble: session::Preamble,
        reply: oneshot::Sender<Granted>,
    },
    /// Sent by a [`Ticket`] when it is dropped.
    Ended(Input),
    /// What a task reports to the core as it goes.
    Report(Input),
    /// A `Create` whose addresses are now known.
    InviteReady {
        command: InviteCommand,
        reply: oneshot::Sender<Result<InviteAnswer, NodeError>>,
    },
    /// An inviter's task: the invitee asked; `reply` takes the core's challenge.
    HandshakeAsked {
        token: StreamToken,
        invitee: DeviceKey,
        ask: Ask,
        reply: oneshot::Sender<Challenge>,
    },
    /// An inviter's task: the invitee proved; `reply` takes the core's verdict.
    HandshakeProved {
        token: StreamToken,
        proof: Proof,
        reply: oneshot::Sender<Verdict>,
    },
    /// An acceptance's task: the inviter challenged; `reply` takes the core's proof.
    Challenged {
        key: InvitationKey,
        challenge: Challenge,
        reply: oneshot::Sender<Proof>,
    },
}

/// What the core granted an admitted stream: an anti-entropy responder (with the facts it
/// holds and the peer's device), or the inviter's side of a handshake.
pub(super) enum Granted {
    Sync(Box<sync::Responder>, usize, DeviceKey),
    Invitation(DeviceKey, InvitationKey),
}

/// Tells the core that a task ended when it is dropped: at the end of the task, and also when
/// the task panics, so that no place is held for ever.
struct Ticket {
    internal: mpsc::UnboundedSender<Internal>,
    ended: Vec<Input>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        for input in self.ended.drain(..) {
            let _ = self.internal.send(Internal::Ended(input));
        }
    }
}

/// The route of a session with `device` in `context`: a member, messages sent as the
/// protocol produces them.
fn route(context: ContextId, device: DeviceKey) -> Route {
    Route {
        context,
        peer: device,
        relationship: Relationship::Group,
        timing: Timing::Batched,
    }
}

impl Shell {
    pub(super) fn internal(&mut self, message: Internal) {
        match message {
            Internal::InitiatorDone {
                peer,
                context,
                loaded,
                outcome,
            } => {
                let (coordinator, report) = outcome.machine.finish();
                tracing::debug!(
                    %peer,
                    ?report,
                    sent = outcome.bytes_sent,
                    received = outcome.bytes_received,
                    "anti-entropy initiated"
                );
                self.session_done(peer, context, (coordinator, loaded), &outcome.result);
            }
            Internal::ResponderDone {
                peer,
                context,
                loaded,
                outcome,
            } => {
                let (coordinator, _) = outcome.machine.finish();
                self.session_done(peer, context, (coordinator, loaded), &outcome.result);
            }
            Internal::Preamble {
                peer,
                token,
                preamble,
                reply,
            } => {
                self.responders.insert(token, reply);
                self.input(Input::Preamble {
                    peer,
                    token,
                    preamble,
                });
            }
            Internal::Ended(input) | Internal::Report(input) => self.input(input),
            Internal::InviteReady { command, reply } => self.invite_command(command, reply),
            Internal::HandshakeAsked {
                token,
                invitee,
                ask,
                reply,
            } => {
                self.challenges.insert(token, reply);
                self.input(Input::HandshakeAsked {
                    token,
                    invitee,
                    ask,
                });
            }
            Internal::HandshakeProved {
                token,
                proof,
                reply,
            } => {
                self.verdicts.insert(token, reply);
                self.input(Input::HandshakeProved { token, proof });
            }
            Internal::Challenged {
                key,
                challenge,
                reply,
            } => {
                self.proofs.insert(key, reply);
                self.input(Input::Acceptance {
                    key,
                    event: crate::agent::core::AcceptanceEvent::Challenged(challenge),
                });
            }
        }
    }

    /// Stores what a session brought and tells the core how it ended.
    fn session_done(
        &mut self,
        peer: PeerId,
        context: ContextId,
        (coordinator, loaded): (JournalCoordinator, usize),
        result: &Result<(), AntiEntropyError>,
    ) {
        let (stored, refused) = self.persist(coordinator, context, loaded);
        let result = session_result(&peer, result);
        self.input(Input::SessionEnded {
            peer,
            context,
            result,
            stored,
            refused,
        });
    }

    /// A coordinator over the stored facts of `context`, for one anti-entropy session, and
    /// how many facts it holds.
    fn coordinator(&self, context: ContextId) -> Result<(JournalCoordinator, usize), NodeError> {
        let mut journal = Journal::new();
        for fact in self.store.journal_facts_of(context)? {
            journal.insert_checked(fact);
        }
        let loaded = journal.len();
        let device = self.core.device();
        Ok((CrdtCoordinator::with_cv_state(device, journal), loaded))
    }

    /// Stores what a session received: the facts of its journal the store lacks and the
    /// context admits (a group's admits facts of its members only); with how many it did
    /// not admit. A session that received nothing costs no store reads.
    fn persist(
        &mut self,
        coordinator: JournalCoordinator,
        context: ContextId,
        loaded: usize,
    ) -> (Vec<FactId>, u64) {
        let journal = coordinator.cv_handler().get_state();
        if journal.len() <= loaded {
            return (Vec::new(), 0);
        }
        let (fresh, refused): (Vec<Fact>, Vec<Fact>) = journal
            .facts_of(context)
            .filter(|fact| matches!(self.store.journal_fact(&fact.id()), Ok(None)))
            .cloned()
            .partition(|fact| self.core.admits_fact(&context, fact));
        let refused = refused.len() as u64;
        if fresh.is_empty() {
            return (Vec::new(), refused);
        }
        let ids: Vec<FactId> = fresh.iter().map(Fact::id).collect();
        let stored = match self.store.ingest_received(fresh, now_ms()) {
            Ok(report) => {
                tracing::debug!(accepted = report.accepted, "anti-entropy stored facts");
                let rejected: Vec<FactId> =
                    report.rejected_facts.iter().map(|(id, _)| *id).collect();
                ids.into_iter()
                    .filter(|id| !rejected.contains(id))
                    .collect()
            }
            Err(err) => {
                tracing::error!(%err, "storing facts from anti-entropy");
                Vec::new()
            }
        };
        (stored, refused)
    }

    /// Runs anti-entropy of `context` with `peer` as the initiator, in a task.
    pub(super) fn start_sync(
        &mut self,
        peer: PeerId,
        device: DeviceKey,
        context: ContextId,
        epoch: u64,
    ) {
        let started = self.coordinator(context).and_then(|(coordinator, loaded)| {
            sync::Initiator::start(coordinator, context)
                .map(|started| (started, loaded))
                .map_err(|err| NodeError::Fact(err.to_string()))
        });
        let ((machine, first_turn), loaded) = match started {
            Ok(started) => started,
            Err(err) => {
                tracing::error!(%err, "starting anti-entropy");
                self.input(Input::OutboundEnded { peer, context });
                return;
            }
        };
        let net = self.net.clone();
        let guard = self.guard.clone();
        let internal = self.internal.clone();
        // Frees the session's place however the task ends, a panic included.
        let ticket = Ticket {
            internal: internal.clone(),
            ended: vec![Input::OutboundEnded { peer, context }],
        };
        tokio::spawn(async move {
            let _ticket = ticket;
            let opened = tokio::time::timeout(OPEN_SESSION_TIMEOUT, net.open_session(peer)).await;
            let unopened = |machine, err: SessionError| Outcome {
                machine,
                result: Err(AntiEntropyError::from(err)),
                bytes_sent: 0,
                bytes_received: 0,
            };
            let outcome = match opened {
                Ok(Ok(stream)) => {
                    session::run_initiator(
                        stream,
                        guard,
                        route(context, device),
                        epoch,
                        machine,
                        first_turn,
                        now_ms(),
                    )
                    .await
                }
                Ok(Err(err)) => {
                    tracing::debug!(%err, "opening an anti-entropy session");
                    unopened(machine, SessionError::Disconnected)
                }
                Err(_) => unopened(machine, SessionError::TimedOut),
            };
            let _ = internal.send(Internal::InitiatorDone {
                peer,
                context,
                loaded,
                outcome,
            });
        });
    }

    /// Reads an admitted stream's preamble in a task, and runs the responder the core grants.
    pub(super) fn accept_stream(&mut self, token: StreamToken) {
        let Some((peer, mut stream)) = self.streams.remove(&token) else {
            return;
        };
        let guard = self.guard.clone();
        let internal = self.internal.clone();
        let mut ticket = Ticket {
            internal: internal.clone(),
            ended: vec![Input::StreamEnded(peer)],
        };
        tokio::spawn(async move {
            let preamble = match session::read_preamble(&mut stream).await {
                Ok(preamble) => preamble,
                Err(err) => {
                    tracing::debug!(%peer, %err, "a session stream without a valid preamble");
                    let violation = matches!(err, PreambleError::UnknownProtocol(_));
                    let _ =
                        internal.send(Internal::Ended(Input::PreambleFailed { peer, violation }));
                    return;
                }
            };
            let (reply, answer) = oneshot::channel();
            let context = preamble.context;
            if internal
                .send(Internal::Preamble {
                    peer,
                    token,
                    preamble,
                    reply,
                })
                .is_err()
            {
                return;
            }
            // Refused: the core counted it, and dropped the sender.
            let (machine, loaded, device) = match answer.await {
                Ok(Granted::Sync(machine, loaded, device)) => (*machine, loaded, device),
                Ok(Granted::Invitation(device, invitation)) => {
                    ticket.ended.push(Input::HandshakeEnded(token));
                    super::invitations::run_inviter(
                        guard, internal, token, stream, peer, device, invitation,
                    )
                    .await;
                    drop(ticket);
                    return;
                }
                Err(_) => return,
            };
            // The core counted a responder for the context: the ticket now returns it too.
            ticket.ended.push(Input::ResponderEnded(context));
            let outcome =
                session::run_responder(stream, guard, route(context, device), machine, now_ms())
                    .await;
            let _ = internal.send(Internal::ResponderDone {
                peer,
                context,
                loaded,
                outcome,
            });
            drop(ticket);
        });
    }

    pub(super) fn respond(&mut self, token: StreamToken, device: DeviceKey, context: ContextId) {
        let Some(reply) = self.responders.remove(&token) else {
            // The task is gone before it could run the responder the core counted.
            self.input(Input::ResponderEnded(context));
            return;
        };
        match self.coordinator(context) {
            Ok((coordinator, loaded)) => {
                if reply
                    .send(Granted::Sync(
                        Box::new(sync::Responder::new(coordinator)),
                        loaded,
                        device,
                    ))
                    .is_err()
                {
                    self.input(Input::ResponderEnded(context));
                }
            }
            Err(err) => {
                tracing::error!(%err, "loading a context for anti-entropy");
                self.input(Input::ResponderEnded(context));
            }
        }
    }
}

/// How a session's result counts; logged here, where the error's text is known.
fn session_result(peer: &PeerId, result: &Result<(), AntiEntropyError>) -> SessionResult {
    match result {
        Ok(()) => SessionResult::Completed,
        Err(AntiEntropyError::Session(SessionError::Denied(denial))) => {
            SessionResult::Denied(denial.to_string())
        }
        Err(err) => {
            tracing::debug!(%peer, %err, "anti-entropy failed");
            SessionResult::Failed {
                violation: err.is_violation(),
            }
        }
    }
}
