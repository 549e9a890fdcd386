//! The journal's anti-entropy (see [`crate::state::sync`]) as a choreography.
//!
//! Each message is one turn of the sans-IO state machines: the frames (Hello, Reconcile,
//! Want, Facts, Done) a side emits before the other answers, named after the frame that
//! gives the turn its role. How many rounds Negentropy needs depends on the two fact sets,
//! so the middle of the protocol is a loop the initiator decides: it continues while its
//! turn still reconciles, and breaks with the turn that carries `Done`. The loop is written
//! as named recursion ([`Rec`](super::session::Rec)) rather than unrolled to
//! [`MAX_ROUNDS`](crate::state::sync::MAX_ROUNDS) choices: the bound is already enforced by
//! the state machines, and a recursive type stays one line however many rounds it allows.

use super::session::{Branch, Chan, Closed};
use super::transport::{SessionError, Transport};
use crate::state::fact::ContextId;
use crate::state::sync::{self, SyncError};
use crate::state::sync_frame::Frame;

/// The frames of one turn, encoded.
pub type Turn = Vec<Vec<u8>>;

crate::choreography! {
    /// Two replicas of a context exchange what the other lacks.
    protocol AntiEntropy {
        roles: Initiator, Responder;
        Initiator[guard_capability = "sync", flow_cost = 2] -> Responder: Hello(Turn);
        Responder[guard_capability = "sync", flow_cost = 2] -> Initiator: Reconcile(Turn);
        @loop Initiator as Rounds {
            continue {
                Initiator[guard_capability = "sync", flow_cost = 2] -> Responder: Want(Turn);
                Responder[guard_capability = "sync", flow_cost = 2] -> Initiator: Facts(Turn);
            }
            break {
                Initiator[guard_capability = "sync", flow_cost = 1, journal_facts = "sync_done"]
                    -> Responder: Done(Turn);
                Responder[guard_capability = "sync", flow_cost = 1] -> Initiator: DoneAck(Turn);
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AntiEntropyError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error("the first turn is not a Hello for the context the session was opened for")]
    BadHello,
    #[error("a turn without frames")]
    EmptyTurn,
    #[error("more than {} rounds", sync::MAX_ROUNDS)]
    TooManyRounds,
}

impl AntiEntropyError {
    /// Whether the peer broke the protocol, which the node counts against it.
    pub fn is_violation(&self) -> bool {
        match self {
            Self::Session(err) => err.is_violation(),
            Self::Sync(_) | Self::BadHello | Self::EmptyTurn | Self::TooManyRounds => true,
        }
    }
}

/// The context a Hello turn names.
pub fn hello_context(turn: &Turn) -> Option<ContextId> {
    match Frame::decode(turn.first()?) {
        Ok((Frame::Hello { context }, _)) => Some(context),
        _ => None,
    }
}

/// Whether a turn ends the initiator's side of the session.
fn ends_session(turn: &Turn) -> bool {
    turn.last()
        .and_then(|frame| Frame::decode(frame).ok())
        .is_some_and(|(frame, _)| frame == Frame::Done)
}

/// Feeds each frame of a turn to a state machine; the frames it answers with are the reply.
fn feed(
    turn: &Turn,
    mut receive: impl FnMut(&[u8]) -> Result<Vec<Vec<u8>>, SyncError>,
) -> Result<Turn, SyncError> {
    let mut reply = Vec::new();
    for frame in turn {
        reply.extend(receive(frame)?);
    }
    Ok(reply)
}

/// Runs the initiator: `first_turn` is what [`sync::Initiator::start`] returned. The state
/// machine stays with the caller, to `finish` whether the session completed or not.
pub async fn initiator<T: Transport>(
    chan: Chan<T, session::Initiator>,
    machine: &mut sync::Initiator,
    first_turn: Turn,
    now_ms: u64,
) -> Result<(Closed, T), AntiEntropyError> {
    let chan = chan.send(Hello(first_turn)).await?;
    let (Reconcile(reply), mut chan) = chan.recv().await?;
    let mut turn = feed(&reply, |frame| machine.receive(frame, now_ms))?;
    let mut rounds = 0;
    loop {
        // A turn with nothing to say that does not end the session would loop for ever; so
        // would a peer whose answers never converge.
        if turn.is_empty() {
            return Err(AntiEntropyError::EmptyTurn);
        }
        rounds += 1;
        if rounds > sync::MAX_ROUNDS + 1 {
            return Err(AntiEntropyError::TooManyRounds);
        }
        let choice = chan.enter();
        if ends_session(&turn) {
            let chan = choice.right().await?.send(Done(turn)).await?;
            let (DoneAck(reply), chan) = chan.recv().await?;
            feed(&reply, |frame| machine.receive(frame, now_ms))?;
            return Ok(chan.close());
        }
        let (Facts(reply), next) = choice.left().await?.send(Want(turn)).await?.recv().await?;
        turn = feed(&reply, |frame| machine.receive(frame, now_ms))?;
        chan = next;
    }
}

/// Runs the responder of a session opened for `context` until the initiator's `Done`.
pub async fn responder<T: Transport>(
    chan: Chan<T, session::Responder>,
    machine: &mut sync::Responder,
    context: ContextId,
    now_ms: u64,
) -> Result<(Closed, T), AntiEntropyError> {
    let (Hello(turn), chan) = chan.recv().await?;
    if hello_context(&turn) != Some(context) {
        return Err(AntiEntropyError::BadHello);
    }
    let reply = feed(&turn, |frame| machine.receive(frame, now_ms))?;
    let mut chan = chan.send(Reconcile(reply)).await?;
    let mut rounds = 0;
    loop {
        rounds += 1;
        if rounds > sync::MAX_ROUNDS + 1 {
            return Err(AntiEntropyError::TooManyRounds);
        }
        match chan.enter().offer().await? {
            Branch::Left(round) => {
                let (Want(turn), round) = round.recv().await?;
                if turn.is_empty() {
                    return Err(AntiEntropyError::EmptyTurn);
                }
                let reply = feed(&turn, |frame| machine.receive(frame, now_ms))?;
                chan = round.send(Facts(reply)).await?;
            }
            Branch::Right(closing) => {
                let (Done(turn), closing) = closing.recv().await?;
                let reply = feed(&turn, |frame| machine.receive(frame, now_ms))?;
                return Ok(closing.send(DoneAck(reply)).await?.close());
            }
        }
    }
}
