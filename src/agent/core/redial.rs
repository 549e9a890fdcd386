//! Keeping in touch: the peers the user saved and the peers this node met are dialled again
//! while they are disconnected, with exponential backoff capped at [`REDIAL_CAP_MS`], so that
//! a peer that restarts is found again without the user. The addresses a peer reports about
//! itself (identify) replace what was known of it, so that a peer that moved ports is found
//! at its new address; after a few failed attempts the network is also asked where the peer
//! is now (Kademlia), which finds it through any third node it is connected to.

use std::collections::HashMap;

use libp2p::{Multiaddr, PeerId};
use rand_core::Rng;

use super::Millis;

/// The first retry after a peer is lost or a dial fails.
pub const REDIAL_BASE_MS: Millis = 1_000;
/// The longest wait between two attempts.
pub const REDIAL_CAP_MS: Millis = 60_000;
/// Each wait is stretched or shrunk at random by up to this share, so that peers that lost
/// each other together do not dial each other in lockstep.
pub const REDIAL_JITTER_PERCENT: u64 = 20;
/// From this failed attempt on, each attempt also asks the network where the peer is.
pub const LOOK_UP_AFTER_ATTEMPTS: u32 = 2;
/// Addresses kept per peer, and peers kept in all (saved ones are never dropped for room).
pub const MAX_ADDRS_PER_PEER: usize = 8;
pub const MAX_TARGETS: usize = 256;

/// A peer to keep connected.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// Addresses the user saved for it.
    saved: Vec<Multiaddr>,
    /// Addresses it reported about itself.
    reported: Vec<Multiaddr>,
    /// Attempts since it was last connected.
    attempts: u32,
    /// When to dial next; `None` while connected.
    next_at: Option<Millis>,
}

/// One dial to make now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub peer: PeerId,
    pub addrs: Vec<Multiaddr>,
    /// Also ask the network where the peer is.
    pub look_up: bool,
}

#[derive(Debug)]
pub struct Redial {
    local: PeerId,
    targets: HashMap<PeerId, Target>,
}

/// The wait after `attempts` failed attempts: `REDIAL_BASE_MS · 2^attempts`, capped, then
/// jittered.
pub fn backoff(attempts: u32, rng: &mut impl Rng) -> Millis {
    let doubled = REDIAL_BASE_MS.saturating_mul(1u64 << attempts.min(16));
    let wait = doubled.min(REDIAL_CAP_MS);
    let spread = wait * REDIAL_JITTER_PERCENT / 100;
    // Uniform in [wait - spread, wait + spread], still within the cap's own jitter.
    let offset = rng.next_u64() % (2 * spread + 1);
    wait - spread + offset
}

impl Redial {
    pub fn new(local: PeerId) -> Self {
        Self {
            local,
            targets: HashMap::new(),
        }
    }

    /// Keeps `peer` connected, dialling it at `now` if it is not yet.
    pub fn add(&mut self, peer: PeerId, addrs: Vec<Multiaddr>, now: Millis) {
        if peer == self.local || (!self.targets.contains_key(&peer) && self.full()) {
            return;
        }
        let target = self.targets.entry(peer).or_insert_with(|| Target {
            saved: Vec::new(),
            reported: Vec::new(),
            attempts: 0,
            next_at: Some(now),
        });
        for addr in addrs {
            if !target.saved.contains(&addr) && target.saved.len() < MAX_ADDRS_PER_PEER {
                target.saved.push(addr);
            }
        }
    }

    /// Keeps a peer the user just saved (and which was dialled already) connected.
    pub fn add_dialled(&mut self, peer: PeerId, addr: Multiaddr, now: Millis, rng: &mut impl Rng) {
        let fresh = !self.targets.contains_key(&peer);
        self.add(peer, vec![addr], now);
        if let Some(target) = self.targets.get_mut(&peer)
            && fresh
        {
            target.attempts = 1;
            target.next_at = Some(now.saturating_add(backoff(0, rng)));
        }
    }

    pub fn forget(&mut self, peer: &PeerId) {
        self.targets.remove(peer);
    }

    fn full(&self) -> bool {
        self.targets.len() >= MAX_TARGETS
    }

    /// The peers connected now: their backoff resets; the others are dialled after a wait.
    pub fn set_connected(&mut self, connected: &[PeerId], now: Millis, rng: &mut impl Rng) {
        for (peer, target) in &mut self.targets {
            if connected.contains(peer) {
                target.attempts = 0;
                target.next_at = None;
            } else if target.next_at.is_none() {
                // Just lost: the first attempt after one base wait, time for a restarting
                // peer to come back.
                target.next_at = Some(now.saturating_add(backoff(0, rng)));
            }
        }
    }

    /// A peer reported its addresses: they replace what it reported before. Returns the
    /// list to keep in the store when it changed. A peer met this way becomes a target too
    /// (it was connected, so no dial is due).
    pub fn identified(&mut self, peer: PeerId, addrs: Vec<Multiaddr>) -> Option<Vec<Multiaddr>> {
        if peer == self.local {
            return None;
        }
        let mut reported: Vec<Multiaddr> = Vec::new();
        for addr in addrs {
            if !reported.contains(&addr) && reported.len() < MAX_ADDRS_PER_PEER {
                reported.push(addr);
            }
        }
        if reported.is_empty() || (!self.targets.contains_key(&peer) && self.full()) {
            return None;
        }
        let target = self.targets.entry(peer).or_insert_with(|| Target {
            saved: Vec::new(),
            reported: Vec::new(),
            attempts: 0,
            next_at: None,
        });
        if target.reported == reported {
            return None;
        }
        target.reported = reported.clone();
        Some(reported)
    }

    /// The dials due at `now`; each target's next attempt is scheduled one backoff later.
    pub fn due(&mut self, now: Millis, rng: &mut impl Rng) -> Vec<Attempt> {
        let mut due: Vec<PeerId> = self
            .targets
            .iter()
            .filter(|(_, target)| target.next_at.is_some_and(|at| at <= now))
            .map(|(peer, _)| *peer)
            .collect();
        // A stable order, so that a run is reproducible from its seed.
        due.sort();
        let mut attempts = Vec::with_capacity(due.len());
        for peer in due {
            let Some(target) = self.targets.get_mut(&peer) else {
                continue;
            };
            let mut addrs = target.reported.clone();
            for addr in &target.saved {
                if !addrs.contains(addr) {
                    addrs.push(addr.clone());
                }
            }
            attempts.push(Attempt {
                peer,
                addrs,
                look_up: target.attempts >= LOOK_UP_AFTER_ATTEMPTS,
            });
            target.next_at = Some(now.saturating_add(backoff(target.attempts, rng)));
            target.attempts = target.attempts.saturating_add(1);
        }
        attempts
    }

    /// The earliest dial scheduled.
    pub fn next_at(&self) -> Option<Millis> {
        self.targets.values().filter_map(|t| t.next_at).min()
    }

    #[cfg(test)]
    pub fn is_target(&self, peer: &PeerId) -> bool {
        self.targets.contains_key(peer)
    }
}
