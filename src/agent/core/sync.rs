//! Anti-entropy: a session with one random peer of each context every period (jittered, so
//! that peers started together do not all sync at once), a session when a peer is met, one
//! outbound session per peer and context at a time, and how sessions ended.

use std::collections::{HashMap, HashSet};

use libp2p::PeerId;
use rand_core::Rng;

use super::{Core, Effect, Millis, SessionResult};
use crate::state::fact::{ContextId, FactId};

/// Each period is stretched or shrunk at random by up to this share.
pub const SYNC_JITTER_PERCENT: u64 = 25;

#[derive(Debug)]
pub struct SyncSchedule {
    interval_ms: Millis,
    next_at: Millis,
    /// Sessions this device started, one per peer and context at a time.
    outbound: HashSet<(PeerId, ContextId)>,
}

/// `base` stretched or shrunk at random by up to [`SYNC_JITTER_PERCENT`].
pub fn jittered(base: Millis, rng: &mut impl Rng) -> Millis {
    let spread = base / 100 * SYNC_JITTER_PERCENT;
    let offset = rng.next_u64() % (2 * spread + 1);
    base - spread + offset
}

/// One of `peers`, at random.
pub fn choose(peers: &[PeerId], rng: &mut impl Rng) -> Option<PeerId> {
    if peers.is_empty() {
        return None;
    }
    let index = rng.next_u64() % peers.len() as u64;
    peers.get(usize::try_from(index).ok()?).copied()
}

impl SyncSchedule {
    pub fn new(interval_ms: Millis, now: Millis, rng: &mut impl Rng) -> Self {
        Self {
            interval_ms,
            next_at: now.saturating_add(jittered(interval_ms, rng)),
            outbound: HashSet::new(),
        }
    }

    pub fn next_at(&self) -> Millis {
        self.next_at
    }

    pub fn outbound_ended(&mut self, peer: PeerId, context: ContextId) {
        self.outbound.remove(&(peer, context));
    }
}

impl Core {
    /// Starts anti-entropy of `context` with `peer` unless one runs; `true` if it started.
    pub(super) fn start_sync(&mut self, peer: PeerId, context: ContextId) -> bool {
        let Some(device) = self.peers.device(&peer) else {
            return false;
        };
        // A stranger is offered nothing but the invitation handshake.
        if !self.serves(&device) || !self.groups.admits(&context, &device) {
            return false;
        }
        if !self.joined.contains(&context) || !self.sync.outbound.insert((peer, context)) {
            return false;
        }
        self.effects.push_back(Effect::StartSync {
            peer,
            device,
            context,
            epoch: self.guard.epoch(),
        });
        true
    }

    /// The period's work: received facts made durable, the ledgers kept, and a session with
    /// one random peer of each context.
    pub(super) fn periodic(&mut self, now: Millis, rng: &mut impl Rng) {
        self.effects.push_back(Effect::PersistPending);
        self.effects
            .push_back(Effect::SaveLedgers(self.guard.ledgers()));
        let mut contexts: Vec<ContextId> = self.joined.iter().copied().collect();
        contexts.sort();
        for context in contexts {
            let peers: Vec<PeerId> = self
                .peers
                .subscribers_of(context)
                .into_iter()
                .filter(|peer| self.peers.device(peer).is_some_and(|d| self.serves(&d)))
                .collect();
            if let Some(peer) = choose(&peers, rng) {
                self.start_sync(peer, context);
            }
        }
        self.sync.next_at = now.saturating_add(jittered(self.sync.interval_ms, rng));
    }

    /// Counts how a session ended and announces what it brought; a peer that broke the
    /// protocol is charged for it, and facts it brought that the context does not admit are
    /// counted against it.
    pub(super) fn session_ended(
        &mut self,
        peer: PeerId,
        context: ContextId,
        result: SessionResult,
        stored: Vec<FactId>,
        refused: u64,
    ) {
        if refused > 0 {
            // An honest member may relay a fact of a device added at an epoch this one has
            // not reached: counted, not punished; anti-entropy brings it again later.
            tracing::info!(%peer, refused, "facts of a group authored outside its roster not stored");
            self.sessions.non_member_facts += refused;
        }
        match result {
            SessionResult::Completed => self.sessions.completed += 1,
            SessionResult::Denied(denial) => {
                tracing::info!(%peer, %denial, "anti-entropy stopped by the guard chain");
                self.sessions.denied += 1;
            }
            SessionResult::Failed { violation } => {
                self.sessions.failed += 1;
                if violation {
                    self.effects.push_back(Effect::Penalize(peer));
                }
            }
        }
        self.announce(HashMap::from([(context, stored)]));
    }
}
