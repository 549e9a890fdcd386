//! Anti-entropy: two replicas of a context find and exchange the facts one has and the other
//! lacks, as a sans-IO state machine.
//!
//! Differences are found by range-based set reconciliation (Negentropy) over `(time, id)`:
//! ranges whose fingerprints match are skipped, and ranges that differ are split until the
//! differing ids are listed. The [`Initiator`] learns both which facts the responder lacks
//! (it pushes them) and which it lacks (it asks for them); the [`Responder`] only answers.
//!
//! ```text
//! Initiator                                   Responder
//!   Hello, Reconcile(m1)              ──▶
//!                                     ◀──     Reconcile(m2)
//!   Reconcile(m3), Facts, Want        ──▶
//!                                     ◀──     Reconcile(m4), Facts(wanted)
//!   …until Negentropy has nothing left to ask…
//!   Facts, Want, Done                 ──▶
//!                                     ◀──     Facts(wanted), Done
//! ```
//!
//! Neither side does I/O: `receive` takes one received frame and returns the frames to send
//! (empty until the peer's turn ends). Each side owns the coordinator it syncs for the whole
//! run and hands it back from `finish`, updated. A malformed or out-of-place frame is a typed
//! error, after which the session refuses further input.

use std::collections::HashSet;

use negentropy::{Id, Negentropy, NegentropyStorageVector};

use super::coordinator::{CrdtCoordinator, CvHandler};
use super::fact::{ContextId, FactId};
use super::ingest::{self, IngestReport};
use super::journal::Journal;
use super::limits::MAX_FRAME_BYTES;
use super::sync_frame::{Frame, FrameError, TurnBuilder};

/// A coordinator whose state is a journal: what anti-entropy runs on.
pub type JournalCoordinator = CrdtCoordinator<CvHandler<Journal>>;

/// The largest Negentropy message either side builds or accepts. Negentropy stops splitting
/// ranges when a message would grow past it and resumes in the next round, so the bound costs
/// round trips on huge differences, never correctness; 16 frames keeps a round trip's memory
/// small while fitting the differences of a million-fact set in a handful of rounds.
pub const MAX_RECONCILE_MESSAGE_BYTES: usize = 16 * MAX_FRAME_BYTES;
/// Round trips after which a session gives up: Negentropy needs about log16 of the set size,
/// so more means a peer that never converges.
pub const MAX_ROUNDS: u32 = 32;
/// Bytes of facts either side sends in one turn; facts beyond it are left for the next
/// session, so that no turn makes a replica buffer more than a few MiB per session (a node
/// runs dozens of sessions at once). A catch-up of more takes more turns, not more memory.
pub const MAX_REPLY_FACT_BYTES: usize = 64 * MAX_FRAME_BYTES;
/// Fact ids one session may have outstanding, and one turn may ask for: more than a reply
/// of [`MAX_REPLY_FACT_BYTES`] can carry (a fact is at least 145 bytes), so the cap never
/// slows a sync, while the lists both sides hold stay bounded.
pub const MAX_WANTS_PER_TURN: usize = 1 << 15;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("set reconciliation failed: {0}")]
    Negentropy(#[from] negentropy::Error),
    #[error("the {role} received an unexpected {frame} frame")]
    UnexpectedFrame {
        role: &'static str,
        frame: &'static str,
    },
    #[error("the first frame of a session must be Hello")]
    MissingHello,
    #[error("the peer's turn ended without a reconciliation message")]
    MissingReconcile,
    #[error("a reconciliation message of more than {MAX_RECONCILE_MESSAGE_BYTES} bytes")]
    MessageTooLarge,
    #[error("no agreement after {MAX_ROUNDS} round trips")]
    TooManyRounds,
    #[error("the peer sent fact {0:?}, which was not asked for")]
    Unsolicited(FactId),
    #[error("the peer asked for more than {MAX_WANTS_PER_TURN} facts in one turn")]
    TooManyWants,
    #[error("the peer sent a fact of another context")]
    WrongContext,
    #[error("the session has ended")]
    Ended,
}

/// What a session did, for tests, benchmarks and `aura status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Turns received from the peer: for the initiator, completed round trips.
    pub round_trips: u32,
    pub frames_sent: u64,
    pub bytes_sent: u64,
    pub frames_received: u64,
    pub bytes_received: u64,
    /// Bytes of Negentropy messages sent, a part of `bytes_sent`.
    pub reconcile_bytes_sent: u64,
    pub facts_sent: u64,
    /// What happened to each fact received.
    pub received: IngestReport,
    /// Facts asked for that the peer did not send.
    pub missing: u64,
    /// Facts found missing on either side but not sent or asked for in this session, to stay
    /// under [`MAX_REPLY_FACT_BYTES`] and [`MAX_WANTS_PER_TURN`]; the next session moves them.
    pub deferred: u64,
}

impl SyncReport {
    fn sent(&mut self, frames: &[Vec<u8>]) {
        self.frames_sent += frames.len() as u64;
        self.bytes_sent += frames.iter().map(|frame| frame.len() as u64).sum::<u64>();
    }
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitingHello,
    Reconciling,
    /// The initiator sent Done and waits for the last answer.
    Closing,
    Finished,
    Failed,
}

/// What the peer's current turn said so far. Facts are ingested as they arrive, not kept.
#[derive(Debug, Default)]
struct Inbound {
    reconcile: Vec<u8>,
    reconcile_complete: bool,
    wants: Vec<FactId>,
    done: bool,
}

impl Inbound {
    fn add_chunk(&mut self, chunk: &[u8], more: bool) -> Result<(), SyncError> {
        if self.reconcile_complete {
            return Err(SyncError::UnexpectedFrame {
                role: "peer",
                frame: "second Reconcile",
            });
        }
        if self.reconcile.len() + chunk.len() > MAX_RECONCILE_MESSAGE_BYTES {
            return Err(SyncError::MessageTooLarge);
        }
        self.reconcile.extend_from_slice(chunk);
        self.reconcile_complete = !more;
        Ok(())
    }

    /// The complete reconciliation message of the turn, if there was one.
    fn message(&self) -> Result<Option<&[u8]>, SyncError> {
        match (self.reconcile.is_empty(), self.reconcile_complete) {
            (true, false) => Ok(None),
            (_, true) => Ok(Some(&self.reconcile)),
            // The turn ended while the message announced more.
            (false, false) => Err(SyncError::MissingReconcile),
        }
    }
}

fn frame_name(frame: &Frame) -> &'static str {
    match frame {
        Frame::Hello { .. } => "Hello",
        Frame::Reconcile { .. } => "Reconcile",
        Frame::Want(_) => "Want",
        Frame::Facts(_) => "Facts",
        Frame::Done => "Done",
    }
}

/// The Negentropy view of a context: its `(time, id)` items.
fn reconciler(
    journal: &Journal,
    context: ContextId,
) -> Result<Negentropy<'static, NegentropyStorageVector>, SyncError> {
    let mut storage = NegentropyStorageVector::with_capacity(journal.len());
    for fact in journal.facts_of(context) {
        storage.insert(fact.time().to_u64(), Id::from_byte_array(fact.id().0))?;
    }
    storage.seal()?;
    Ok(Negentropy::owned(
        storage,
        MAX_RECONCILE_MESSAGE_BYTES as u64,
    )?)
}

/// Ingests facts of `context` received in a sync frame into `journal`.
fn ingest_facts(
    journal: &mut Journal,
    context: ContextId,
    facts: Vec<(FactId, Vec<u8>)>,
    now_ms: u64,
    report: &mut IngestReport,
) -> Result<(), SyncError> {
    for (id, bytes) in facts {
        match ingest::decode(&bytes, Some(id)) {
            Ok(fact) if fact.context() != context => return Err(SyncError::WrongContext),
            Ok(fact) => match journal.ingest_fact(fact, now_ms) {
                Ok(true) => report.accepted += 1,
                Ok(false) => report.duplicates += 1,
                Err(reason) => report.reject(&reason),
            },
            Err(reason) => report.reject(&reason),
        }
    }
    Ok(())
}

/// The side that starts a session and learns the differences.
#[derive(Debug)]
pub struct Initiator {
    coordinator: JournalCoordinator,
    context: ContextId,
    negentropy: Negentropy<'static, NegentropyStorageVector>,
    phase: Phase,
    wanted: HashSet<FactId>,
    inbound: Inbound,
    report: SyncReport,
}

impl Initiator {
    /// Starts reconciling `context`; returns the session and its first turn.
    pub fn start(
        coordinator: JournalCoordinator,
        context: ContextId,
    ) -> Result<(Self, Vec<Vec<u8>>), SyncError> {
        let mut negentropy = reconciler(coordinator.cv_handler().get_state(), context)?;
        let message = negentropy.initiate()?;
        let mut turn = TurnBuilder::default();
        turn.hello(context);
        turn.reconcile(&message);
        let frames = turn.finish();
        let mut report = SyncReport {
            reconcile_bytes_sent: message.len() as u64,
            ..SyncReport::default()
        };
        report.sent(&frames);
        let session = Self {
            coordinator,
            context,
            negentropy,
            phase: Phase::Reconciling,
            wanted: HashSet::new(),
            inbound: Inbound::default(),
            report,
        };
        Ok((session, frames))
    }

    /// Takes one frame from the responder; returns the frames to send back.
    pub fn receive(&mut self, bytes: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>, SyncError> {
        if matches!(self.phase, Phase::Finished | Phase::Failed) {
            return Err(SyncError::Ended);
        }
        let outcome = self.step(bytes, now_ms);
        if outcome.is_err() {
            self.phase = Phase::Failed;
        }
        outcome
    }

    fn step(&mut self, bytes: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>, SyncError> {
        self.report.frames_received += 1;
        self.report.bytes_received += bytes.len() as u64;
        let (frame, end_of_turn) = Frame::decode(bytes)?;
        match frame {
            Frame::Reconcile { chunk, more } => self.inbound.add_chunk(&chunk, more)?,
            Frame::Facts(facts) => {
                if let Some((id, _)) = facts.iter().find(|(id, _)| !self.wanted.contains(id)) {
                    return Err(SyncError::Unsolicited(*id));
                }
                for (id, _) in &facts {
                    self.wanted.remove(id);
                }
                let journal = self.coordinator.cv_handler_mut().state_mut();
                ingest_facts(
                    journal,
                    self.context,
                    facts,
                    now_ms,
                    &mut self.report.received,
                )?;
            }
            Frame::Done => self.inbound.done = true,
            other @ (Frame::Hello { .. } | Frame::Want(_)) => {
                return Err(SyncError::UnexpectedFrame {
                    role: "initiator",
                    frame: frame_name(&other),
                });
            }
        }
        if !end_of_turn {
            return Ok(Vec::new());
        }
        let inbound = std::mem::take(&mut self.inbound);
        self.report.round_trips += 1;
        if self.report.round_trips > MAX_ROUNDS {
            return Err(SyncError::TooManyRounds);
        }
        match self.phase {
            Phase::Reconciling => self.answer(&inbound),
            _ if inbound.done => {
                self.phase = Phase::Finished;
                self.report.missing = self.wanted.len() as u64;
                Ok(Vec::new())
            }
            _ => Err(SyncError::UnexpectedFrame {
                role: "initiator",
                frame: "turn without Done",
            }),
        }
    }

    fn answer(&mut self, inbound: &Inbound) -> Result<Vec<Vec<u8>>, SyncError> {
        if inbound.done {
            return Err(SyncError::UnexpectedFrame {
                role: "initiator",
                frame: "Done",
            });
        }
        let message = inbound.message()?.ok_or(SyncError::MissingReconcile)?;
        let mut have = Vec::new();
        let mut need = Vec::new();
        let next = self
            .negentropy
            .reconcile_with_ids(message, &mut have, &mut need)?;
        let mut turn = TurnBuilder::default();
        if let Some(next) = &next {
            turn.reconcile(next);
            self.report.reconcile_bytes_sent += next.len() as u64;
        }
        let journal = self.coordinator.cv_handler().get_state();
        // Pushes share the bound of a reply; what does not fit waits for the next session.
        let mut budget = MAX_REPLY_FACT_BYTES;
        for id in have {
            let Some(fact) = journal.get(&FactId(id.to_bytes())) else {
                continue;
            };
            match budget.checked_sub(fact.encoded_len()) {
                Some(rest) => {
                    budget = rest;
                    turn.fact(fact.id(), fact.encode());
                    self.report.facts_sent += 1;
                }
                None => self.report.deferred += 1,
            }
        }
        let mut need: Vec<FactId> = need
            .into_iter()
            .map(|id| FactId(id.to_bytes()))
            .filter(|id| !journal.contains(id) && !self.wanted.contains(id))
            .collect();
        // What one turn may not ask for is left to the next session.
        let room = MAX_WANTS_PER_TURN.saturating_sub(self.wanted.len());
        if need.len() > room {
            self.report.deferred += (need.len() - room) as u64;
            need.truncate(room);
        }
        self.wanted.extend(need.iter().copied());
        turn.want(&need);
        if next.is_none() {
            turn.done();
            self.phase = Phase::Closing;
        }
        let frames = turn.finish();
        self.report.sent(&frames);
        Ok(frames)
    }

    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    pub fn report(&self) -> &SyncReport {
        &self.report
    }

    /// The coordinator, for facts written locally while the session runs.
    pub fn coordinator_mut(&mut self) -> &mut JournalCoordinator {
        &mut self.coordinator
    }

    /// Ends the session, finished or not, handing back the updated coordinator.
    pub fn finish(self) -> (JournalCoordinator, SyncReport) {
        (self.coordinator, self.report)
    }
}

/// The side that answers: it replies to each turn of the initiator.
#[derive(Debug)]
pub struct Responder {
    coordinator: JournalCoordinator,
    session: Option<(ContextId, Negentropy<'static, NegentropyStorageVector>)>,
    phase: Phase,
    inbound: Inbound,
    report: SyncReport,
}

impl Responder {
    pub fn new(coordinator: JournalCoordinator) -> Self {
        Self {
            coordinator,
            session: None,
            phase: Phase::AwaitingHello,
            inbound: Inbound::default(),
            report: SyncReport::default(),
        }
    }

    /// Takes one frame from the initiator; returns the frames to send back.
    pub fn receive(&mut self, bytes: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>, SyncError> {
        if matches!(self.phase, Phase::Finished | Phase::Failed) {
            return Err(SyncError::Ended);
        }
        let outcome = self.step(bytes, now_ms);
        if outcome.is_err() {
            self.phase = Phase::Failed;
        }
        outcome
    }

    fn step(&mut self, bytes: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>, SyncError> {
        self.report.frames_received += 1;
        self.report.bytes_received += bytes.len() as u64;
        let (frame, end_of_turn) = Frame::decode(bytes)?;
        let context = match (&frame, &self.session) {
            (Frame::Hello { context }, None) => {
                let negentropy = reconciler(self.coordinator.cv_handler().get_state(), *context)?;
                self.session = Some((*context, negentropy));
                self.phase = Phase::Reconciling;
                *context
            }
            (Frame::Hello { .. }, Some(_)) => {
                return Err(SyncError::UnexpectedFrame {
                    role: "responder",
                    frame: "second Hello",
                });
            }
            (_, None) => return Err(SyncError::MissingHello),
            (_, Some((context, _))) => *context,
        };
        match frame {
            Frame::Hello { .. } => {}
            Frame::Reconcile { chunk, more } => self.inbound.add_chunk(&chunk, more)?,
            Frame::Want(ids) => {
                if self.inbound.wants.len() + ids.len() > MAX_WANTS_PER_TURN {
                    return Err(SyncError::TooManyWants);
                }
                self.inbound.wants.extend(ids);
            }
            Frame::Facts(facts) => {
                let journal = self.coordinator.cv_handler_mut().state_mut();
                ingest_facts(journal, context, facts, now_ms, &mut self.report.received)?;
            }
            Frame::Done => self.inbound.done = true,
        }
        if !end_of_turn {
            return Ok(Vec::new());
        }
        let inbound = std::mem::take(&mut self.inbound);
        self.report.round_trips += 1;
        if self.report.round_trips > MAX_ROUNDS {
            return Err(SyncError::TooManyRounds);
        }
        self.answer(&inbound)
    }

    fn answer(&mut self, inbound: &Inbound) -> Result<Vec<Vec<u8>>, SyncError> {
        let Some((_, negentropy)) = &mut self.session else {
            return Err(SyncError::MissingHello);
        };
        let message = inbound.message()?;
        if message.is_none() && !inbound.done {
            return Err(SyncError::MissingReconcile);
        }
        let mut turn = TurnBuilder::default();
        if let Some(message) = message {
            let reply = negentropy.reconcile(message)?;
            turn.reconcile(&reply);
            self.report.reconcile_bytes_sent += reply.len() as u64;
        }
        let journal = self.coordinator.cv_handler().get_state();
        let mut budget = MAX_REPLY_FACT_BYTES;
        for id in &inbound.wants {
            let Some(fact) = journal.get(id) else {
                continue;
            };
            let Some(rest) = budget.checked_sub(fact.encoded_len()) else {
                break;
            };
            budget = rest;
            turn.fact(*id, fact.encode());
            self.report.facts_sent += 1;
        }
        if inbound.done {
            turn.done();
            self.phase = Phase::Finished;
        }
        let frames = turn.finish();
        self.report.sent(&frames);
        Ok(frames)
    }

    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// The context the initiator asked for, once its Hello arrived.
    pub fn context(&self) -> Option<ContextId> {
        self.session.as_ref().map(|(context, _)| *context)
    }

    pub fn report(&self) -> &SyncReport {
        &self.report
    }

    pub fn coordinator_mut(&mut self) -> &mut JournalCoordinator {
        &mut self.coordinator
    }

    pub fn finish(self) -> (JournalCoordinator, SyncReport) {
        (self.coordinator, self.report)
    }
}

/// Runs a whole session between two local coordinators, delivering every frame at once: for
/// tests, benchmarks and replicas that share a process. Returns both coordinators and the
/// initiator's report.
pub fn reconcile_locally(
    initiator: JournalCoordinator,
    responder: JournalCoordinator,
    context: ContextId,
    now_ms: u64,
) -> Result<(JournalCoordinator, JournalCoordinator, SyncReport), SyncError> {
    let (mut initiator, mut to_responder) = Initiator::start(initiator, context)?;
    let mut responder = Responder::new(responder);
    while !initiator.is_finished() {
        if to_responder.is_empty() {
            return Err(SyncError::Ended);
        }
        let mut to_initiator = Vec::new();
        for frame in &to_responder {
            to_initiator.extend(responder.receive(frame, now_ms)?);
        }
        to_responder = Vec::new();
        for frame in &to_initiator {
            to_responder.extend(initiator.receive(frame, now_ms)?);
        }
    }
    let (initiator, report) = initiator.finish();
    let (responder, _) = responder.finish();
    Ok((initiator, responder, report))
}
