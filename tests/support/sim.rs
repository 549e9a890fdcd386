//! A deterministic network of journal replicas: one seeded RNG decides every delay, loss,
//! duplication and write, so a failing seed replays exactly.
//!
//! Replicas write facts, gossip each new fact to a few peers (like gossipsub: lossy, possibly
//! duplicated), and every so often run anti-entropy with a random peer. A session consumes a
//! coordinator over a snapshot of the replica's journal and returns it updated; the replica
//! joins what comes back into its own journal, so sessions run beside writes, gossip and each
//! other (one initiated at a time, a bounded number answered). Sync turns are the unit of
//! delay, loss and duplication; sessions number their turns so that a duplicated turn is
//! dropped, as a request-response transport would.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use aura::state::coordinator::CrdtCoordinator;
use aura::state::fact::{ContextId, Fact, FactId};
use aura::state::hlc::HybridClock;
use aura::state::journal::Journal;
use aura::state::kinds::{self, KnownBody};
use aura::state::sync::{Initiator, JournalCoordinator, Responder};
use aura::state::view::ContextView;
use ed25519_dalek::SigningKey;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{NOW_MS, context, sign};

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub replicas: usize,
    pub facts: usize,
    pub contexts: u8,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a delivered message is delivered twice.
    pub duplication: f64,
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
    /// Writes happen at random times in `[0, write_window_ms)`.
    pub write_window_ms: u64,
    /// Peers each new fact is gossiped to.
    pub gossip_fanout: usize,
    /// While simulated time is in this range, the replicas are split in two halves.
    pub partition_ms: Option<(u64, u64)>,
    pub sync_interval_ms: u64,
    pub session_timeout_ms: u64,
    /// Each replica's wall clock runs ahead of true time by a random offset up to this.
    pub max_clock_offset_ms: u64,
    /// Give up if the replicas have not converged by then.
    pub deadline_ms: u64,
}

impl SimConfig {
    /// The acceptance scenario: 20 replicas, 10,000 facts, 30% loss, a partition that heals.
    pub fn acceptance() -> Self {
        Self {
            replicas: 20,
            facts: 10_000,
            contexts: 2,
            loss: 0.30,
            duplication: 0.05,
            min_delay_ms: 5,
            max_delay_ms: 120,
            write_window_ms: 10_000,
            gossip_fanout: 3,
            partition_ms: Some((2_000, 8_000)),
            sync_interval_ms: 400,
            session_timeout_ms: 1_500,
            max_clock_offset_ms: 3_000,
            deadline_ms: 600_000,
        }
    }
}

/// What a run ended with.
#[derive(Debug)]
pub struct Outcome {
    pub converged_at_ms: Option<u64>,
    pub journals: Vec<Journal>,
    pub sessions_started: u64,
    pub sessions_completed: u64,
    pub messages_sent: u64,
    pub messages_lost: u64,
}

/// Sessions a replica answers at once; more Hellos are ignored.
const MAX_RESPONDING: usize = 4;

struct Session<S> {
    session: S,
    peer: usize,
    sid: u64,
    next_turn: u32,
    deadline: u64,
}

struct Replica {
    key: SigningKey,
    clock: HybridClock,
    clock_offset_ms: u64,
    main: JournalCoordinator,
    initiating: Option<Session<Initiator>>,
    responding: Vec<Session<Responder>>,
    next_context: u8,
}

impl Replica {
    fn journal(&self) -> &Journal {
        self.main.cv_handler().get_state()
    }

    fn journal_mut(&mut self) -> &mut Journal {
        self.main.cv_handler_mut().state_mut()
    }

    /// A coordinator over a copy of the journal, for one session to consume.
    fn snapshot(&self) -> JournalCoordinator {
        CrdtCoordinator::with_cv_state(self.main.device(), self.journal().clone())
    }

    /// Joins what a session returned into the journal, and moves the clock past it.
    fn merge(&mut self, returned: JournalCoordinator, wall: u64) {
        self.main
            .cv_handler_mut()
            .merge(returned.cv_handler().get_state());
        // Times beyond the skew bound never got into the journal.
        let _ = self.clock.observe(self.journal().latest_time(), wall);
    }

    fn expire(&mut self, now: u64, wall: u64) {
        let expired = self.initiating.as_ref().is_some_and(|s| s.deadline <= now);
        if let Some(expired) = self.initiating.take_if(|_| expired) {
            self.merge(expired.session.finish().0, wall);
        }
        let (expired, live): (Vec<_>, Vec<_>) = std::mem::take(&mut self.responding)
            .into_iter()
            .partition(|s| s.deadline <= now);
        self.responding = live;
        for expired in expired {
            self.merge(expired.session.finish().0, wall);
        }
    }
}

enum Payload {
    Gossip(Vec<u8>),
    Turn {
        sid: u64,
        turn: u32,
        to_responder: bool,
        frames: Vec<Vec<u8>>,
    },
}

enum Event {
    Write(usize),
    Tick(usize),
    Deliver {
        from: usize,
        to: usize,
        payload: Payload,
    },
}

pub struct Sim {
    config: SimConfig,
    rng: ChaCha8Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: BTreeMap<u64, Event>,
    replicas: Vec<Replica>,
    next_sid: u64,
    outcome: Outcome,
}

impl Sim {
    pub fn new(config: SimConfig, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let replicas = (0..config.replicas)
            .map(|index| {
                let mut secret = [0u8; 32];
                rng.fill(&mut secret);
                secret[0] = index as u8;
                let key = SigningKey::from_bytes(&secret);
                let device = aura::state::fact::DeviceKey::of(&key);
                Replica {
                    key,
                    clock: HybridClock::new(),
                    clock_offset_ms: rng.random_range(0..=config.max_clock_offset_ms),
                    main: CrdtCoordinator::with_cv_state(device, Journal::new()),
                    initiating: None,
                    responding: Vec::new(),
                    next_context: 0,
                }
            })
            .collect();
        let mut sim = Self {
            config,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            replicas,
            next_sid: 0,
            outcome: Outcome {
                converged_at_ms: None,
                journals: Vec::new(),
                sessions_started: 0,
                sessions_completed: 0,
                messages_sent: 0,
                messages_lost: 0,
            },
        };
        for _ in 0..sim.config.facts {
            let at = sim.rng.random_range(0..sim.config.write_window_ms);
            let writer = sim.rng.random_range(0..sim.config.replicas);
            sim.schedule(at, Event::Write(writer));
        }
        for replica in 0..sim.config.replicas {
            let at = sim.rng.random_range(0..sim.config.sync_interval_ms);
            sim.schedule(at, Event::Tick(replica));
        }
        sim
    }

    /// Runs until every replica holds the same journal after the last write and the healing
    /// of the partition, or until the deadline.
    pub fn run(mut self) -> Outcome {
        let quiet_from = self
            .config
            .partition_ms
            .map_or(0, |(_, heal)| heal)
            .max(self.config.write_window_ms);
        let mut next_check = quiet_from;
        while let Some(Reverse((at, seq))) = self.queue.pop() {
            if at > self.config.deadline_ms {
                break;
            }
            self.now = at;
            if at >= next_check {
                if self.converged() {
                    self.outcome.converged_at_ms = Some(at);
                    break;
                }
                next_check = at + self.config.sync_interval_ms;
            }
            if let Some(event) = self.events.remove(&seq) {
                self.handle(event);
            }
        }
        for replica in &mut self.replicas {
            replica.expire(u64::MAX, NOW_MS + u64::from(u32::MAX));
        }
        self.outcome.journals = self
            .replicas
            .iter()
            .map(|replica| replica.journal().clone())
            .collect();
        self.outcome
    }

    fn converged(&mut self) -> bool {
        let expected = self.config.facts;
        let mut first: Option<BTreeSet<FactId>> = None;
        for replica in &self.replicas {
            let journal = replica.journal();
            if journal.len() != expected {
                return false;
            }
            let ids: BTreeSet<FactId> = journal.iter().map(|fact| fact.id()).collect();
            match &first {
                None => first = Some(ids),
                Some(first) if *first != ids => return false,
                Some(_) => {}
            }
        }
        true
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq)));
        self.events.insert(self.seq, event);
    }

    /// What `replica`'s wall clock reads now.
    fn wall_ms(&self, replica: usize) -> u64 {
        NOW_MS + self.now + self.replicas[replica].clock_offset_ms
    }

    fn partitioned(&self, a: usize, b: usize) -> bool {
        let half = self.config.replicas / 2;
        self.config.partition_ms.is_some_and(|(start, end)| {
            (start..end).contains(&self.now) && (a < half) != (b < half)
        })
    }

    fn send(&mut self, from: usize, to: usize, payload: Payload) {
        self.outcome.messages_sent += 1;
        if self.partitioned(from, to) || self.rng.random_bool(self.config.loss) {
            self.outcome.messages_lost += 1;
            return;
        }
        let copies = if self.rng.random_bool(self.config.duplication) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self
                .rng
                .random_range(self.config.min_delay_ms..=self.config.max_delay_ms);
            let payload = clone_payload(&payload);
            self.schedule(self.now + delay, Event::Deliver { from, to, payload });
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Write(writer) => self.write(writer),
            Event::Tick(replica) => self.tick(replica),
            Event::Deliver { from, to, payload } => {
                // A partition that started in flight drops the message too.
                if !self.partitioned(from, to) {
                    self.deliver(from, to, payload);
                }
            }
        }
    }

    fn write(&mut self, writer: usize) {
        let wall = self.wall_ms(writer);
        let context = context(self.rng.random_range(0..self.config.contexts));
        let roll: u32 = self.rng.random_range(0..100);
        let member = aura::state::fact::DeviceKey([self.rng.random_range(0..8u8); 32]);
        let text_len = self.rng.random_range(8..64);
        let replica = &mut self.replicas[writer];
        let at = replica
            .clock
            .now(wall)
            .expect("simulated clocks are in range");
        let view = replica
            .journal()
            .view(&context)
            .cloned()
            .unwrap_or_default();
        let (kind, body) = match roll {
            0..80 => (kinds::MESSAGE, vec![b'm'; text_len]),
            80..90 => KnownBody::MemberAdd { member }.encode(),
            90..95 => KnownBody::MemberRemove {
                member,
                tags: view.members.live_tags(&member).copied().collect(),
            }
            .encode(),
            _ => KnownBody::GroupName(format!("group {writer} at {at}")).encode(),
        };
        let fact = sign(&replica.key, context, at, kind, body);
        let bytes = fact.encode();
        replica
            .journal_mut()
            .ingest_fact(fact, wall)
            .expect("a replica's own facts pass ingest");
        for _ in 0..self.config.gossip_fanout {
            let peer = self.random_peer(writer);
            self.send(writer, peer, Payload::Gossip(bytes.clone()));
        }
    }

    fn random_peer(&mut self, of: usize) -> usize {
        let pick = self.rng.random_range(0..self.config.replicas - 1);
        if pick >= of { pick + 1 } else { pick }
    }

    fn tick(&mut self, index: usize) {
        let next = self.now
            + self.config.sync_interval_ms / 2
            + self.rng.random_range(0..self.config.sync_interval_ms);
        self.schedule(next, Event::Tick(index));
        let now = self.now;
        let wall = self.wall_ms(index);
        self.replicas[index].expire(now, wall);
        if self.replicas[index].initiating.is_some() {
            return;
        }
        let peer = self.random_peer(index);
        let sid = self.next_sid;
        self.next_sid += 1;
        let replica = &mut self.replicas[index];
        let context = context(replica.next_context);
        replica.next_context = (replica.next_context + 1) % self.config.contexts;
        let (session, frames) =
            Initiator::start(replica.snapshot(), context).expect("starting a session cannot fail");
        replica.initiating = Some(Session {
            session,
            peer,
            sid,
            next_turn: 1,
            deadline: now + self.config.session_timeout_ms,
        });
        self.outcome.sessions_started += 1;
        self.send(
            index,
            peer,
            Payload::Turn {
                sid,
                turn: 0,
                to_responder: true,
                frames,
            },
        );
    }

    fn deliver(&mut self, from: usize, to: usize, payload: Payload) {
        let wall = self.wall_ms(to);
        let now = self.now;
        let timeout = self.config.session_timeout_ms;
        let replica = &mut self.replicas[to];
        let Payload::Turn {
            sid,
            turn,
            to_responder,
            frames,
        } = payload
        else {
            if let Payload::Gossip(bytes) = payload {
                // Honest replicas send nothing that is rejected; duplicates are expected.
                if let Ok(true) = replica.journal_mut().ingest(&bytes, None, wall) {
                    let time = Fact::decode(&bytes).map(|fact| fact.time());
                    if let Ok(time) = time {
                        let _ = replica.clock.observe(time, wall);
                    }
                }
            }
            return;
        };
        let matches = |peer: usize, current: u64, next_turn: u32| {
            peer == from && current == sid && next_turn == turn
        };
        if to_responder {
            if turn == 0 && replica.responding.len() < MAX_RESPONDING {
                let session = Responder::new(replica.snapshot());
                replica.responding.push(Session {
                    session,
                    peer: from,
                    sid,
                    next_turn: 0,
                    deadline: now + timeout,
                });
            }
            let Some(position) = replica
                .responding
                .iter()
                .position(|s| matches(s.peer, s.sid, s.next_turn))
            else {
                return;
            };
            let current = &mut replica.responding[position];
            current.next_turn += 2;
            current.deadline = now + timeout;
            let outcome = feed(frames, |frame| current.session.receive(frame, wall));
            let ended = outcome.is_err() || current.session.is_finished();
            if ended {
                let done = replica.responding.remove(position);
                replica.merge(done.session.finish().0, wall);
            }
            if let Some(out) = outcome.ok().filter(|out| !out.is_empty()) {
                let payload = Payload::Turn {
                    sid,
                    turn: turn + 1,
                    to_responder: false,
                    frames: out,
                };
                self.send(to, from, payload);
            }
        } else {
            let Some(current) = replica
                .initiating
                .as_mut()
                .filter(|s| matches(s.peer, s.sid, s.next_turn))
            else {
                return;
            };
            current.next_turn += 2;
            current.deadline = now + timeout;
            let outcome = feed(frames, |frame| current.session.receive(frame, wall));
            let finished = current.session.is_finished();
            let ended = outcome.is_err() || finished;
            if let Some(done) = replica.initiating.take_if(|_| ended) {
                replica.merge(done.session.finish().0, wall);
                if finished {
                    self.outcome.sessions_completed += 1;
                }
            }
            if let Some(out) = outcome.ok().filter(|out| !out.is_empty()) {
                let payload = Payload::Turn {
                    sid,
                    turn: turn + 1,
                    to_responder: true,
                    frames: out,
                };
                self.send(to, from, payload);
            }
        }
    }
}

fn feed<E>(
    frames: Vec<Vec<u8>>,
    mut receive: impl FnMut(&[u8]) -> Result<Vec<Vec<u8>>, E>,
) -> Result<Vec<Vec<u8>>, E> {
    let mut out = Vec::new();
    for frame in &frames {
        out.extend(receive(frame)?);
    }
    Ok(out)
}

fn clone_payload(payload: &Payload) -> Payload {
    match payload {
        Payload::Gossip(bytes) => Payload::Gossip(bytes.clone()),
        Payload::Turn {
            sid,
            turn,
            to_responder,
            frames,
        } => Payload::Turn {
            sid: *sid,
            turn: *turn,
            to_responder: *to_responder,
            frames: frames.clone(),
        },
    }
}

/// The views of each context, as the replicas' journals hold them.
pub fn views(journal: &Journal) -> BTreeMap<ContextId, ContextView> {
    journal.views().clone()
}
