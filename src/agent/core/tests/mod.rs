//! The core's policies, driven with inputs, a fixed clock and a seeded RNG: no runtime, no
//! sockets, no store. Each test checks the effects the core asks for. One file per policy;
//! this one holds the driver they share.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admission;
mod gossip;
mod groups;
mod invitations;
mod redial;
mod strangers;
mod sync;
mod writes;

use std::collections::HashSet;

use ed25519_dalek::SigningKey;
use libp2p::gossipsub::MessageId;
use libp2p::{Multiaddr, PeerId};
use rand_pcg::Pcg64;

use super::redial::{LOOK_UP_AFTER_ATTEMPTS, REDIAL_JITTER_PERCENT};
use super::*;
use crate::agent::guard::{GuardConfig, KeptLedgers, NodeGuard};
use crate::agent::session::SessionProtocol;
use crate::invite::messages::Challenge;
use crate::net::GossipVerdict;
use crate::state::hlc::Hlc;
use crate::state::ingest;
use crate::state::kinds;
use crate::state::trust_level::TrustLevel;

/// 2026-01-01, in ms: the clock every test starts at.
const T0: Millis = 1_767_225_600_000;
const CONTEXT: ContextId = ContextId([7; 32]);
const SYNC_MS: Millis = 30_000;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn peer(seed: u8) -> PeerId {
    let mut secret = [seed; 32];
    libp2p::identity::Keypair::ed25519_from_bytes(&mut secret)
        .unwrap()
        .public()
        .to_peer_id()
}

/// A seeded generator the core takes as its cryptographic one: the core's tests need
/// reproducible runs, never secure keys.
pub(super) struct TestRng(Pcg64);

impl rand_core::TryRng for TestRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(rand_core::Rng::next_u32(&mut self.0))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(rand_core::Rng::next_u64(&mut self.0))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        rand_core::Rng::fill_bytes(&mut self.0, dst);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for TestRng {}

fn rng() -> TestRng {
    use rand_core::SeedableRng;
    TestRng(Pcg64::seed_from_u64(11))
}

fn guard_config(adjust: impl FnOnce(&mut crate::config::BudgetsConfig)) -> GuardConfig {
    let mut budgets = crate::config::defaults().unwrap().config.budgets;
    adjust(&mut budgets);
    GuardConfig::from_config(&budgets)
}

fn empty_ledgers(config: &GuardConfig) -> KeptLedgers {
    let (policy, default_limit) = NodeGuard::receive_settings(config);
    KeptLedgers {
        budgets: Default::default(),
        leakage: crate::state::leakage::LeakageLedger::new(config.leakage.clone()),
        received: crate::state::receive_budget::ReceiveLedger::new(policy, default_limit),
    }
}

/// A test node: the core and the clock and RNG it is driven with.
struct Driver {
    core: Core,
    now: Millis,
    rng: TestRng,
    /// What the core asked for when it was built.
    startup: Vec<Effect>,
    /// The levels the web of trust gives peers, as the shell would hand them over.
    trusted: std::collections::HashMap<DeviceKey, TrustLevel>,
}

impl Driver {
    fn new(joined: Vec<ContextId>, saved: Vec<PeerAddr>) -> Self {
        Self::with_guard(joined, saved, guard_config(|_| {}))
    }

    fn with_guard(joined: Vec<ContextId>, saved: Vec<PeerAddr>, config: GuardConfig) -> Self {
        Self::build(1, joined, saved, config)
    }

    /// A core whose device key is `seed`'s.
    fn build(seed: u8, joined: Vec<ContextId>, saved: Vec<PeerAddr>, config: GuardConfig) -> Self {
        let mut rng = rng();
        let ledgers = empty_ledgers(&config);
        let core = Core::new(
            CoreConfig {
                local_peer: peer(seed),
                signing_key: key(seed),
                guard: NodeGuard::new(config, ledgers, T0),
                sync_interval_ms: SYNC_MS,
                joined,
                saved,
                known: Vec::new(),
                profile: Default::default(),
                contacts: Vec::new(),
                redeemed: Vec::new(),
                acceptances: Vec::new(),
                trust: Default::default(),
                groups: Vec::new(),
                key_packages: Vec::new(),
                outbox: Vec::new(),
            },
            T0,
            &mut rng,
        );
        let mut driver = Self {
            core,
            now: T0,
            rng,
            startup: Vec::new(),
            trusted: Default::default(),
        };
        driver.startup = driver.effects();
        driver
    }

    fn handle(&mut self, input: Input) -> Vec<Effect> {
        self.core.handle(input, self.now, &mut self.rng);
        self.effects()
    }

    fn effects(&mut self) -> Vec<Effect> {
        std::iter::from_fn(|| self.core.poll_effect()).collect()
    }

    /// Moves the clock to `at` and ticks.
    fn tick_at(&mut self, at: Millis) -> Vec<Effect> {
        self.now = at;
        self.handle(Input::Tick)
    }

    /// Has the web of trust reach `peers` at `level`.
    fn trust(&mut self, peers: &[PeerId], level: TrustLevel) -> Vec<Effect> {
        for peer in peers {
            let device = crate::net::device_of(peer).unwrap();
            self.trusted.insert(device, level);
        }
        self.handle(Input::TrustLevels(self.trusted.clone()))
    }

    /// Connects `peers`, which the web of trust reaches, and has each subscribe to `context`.
    fn members(&mut self, peers: &[PeerId], context: ContextId) -> Vec<Effect> {
        let mut effects = self.trust(peers, TrustLevel::Low);
        effects.extend(self.handle(Input::Connected(peers.to_vec())));
        for peer in peers {
            effects.extend(self.handle(Input::Subscribed {
                peer: *peer,
                context,
            }));
        }
        effects
    }
}

fn accepted(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::AcceptStream(_)))
        .count()
}

fn refused(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::RefuseStream(_)))
        .count()
}

fn signed(
    key: &SigningKey,
    context: ContextId,
    ms: Millis,
    text: &str,
) -> crate::state::fact::Fact {
    crate::state::fact::Fact::sign(
        key,
        context,
        Hlc::new(ms, 0).unwrap(),
        kinds::MESSAGE,
        text.as_bytes().to_vec(),
    )
    .unwrap()
}

fn gossip(source: PeerId, context: ContextId, data: Vec<u8>, n: u8) -> GossipMessage {
    GossipMessage {
        id: MessageId::new(&[n]),
        source,
        context,
        data,
    }
}

fn verdicts(effects: &[Effect]) -> Vec<GossipVerdict> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::GossipVerdict { verdict, .. } => Some(*verdict),
            _ => None,
        })
        .collect()
}

/// What the store would report for `facts` checked at `now`: the real checks.
fn store_report(facts: &[crate::state::fact::Fact], now: Millis) -> IngestReport {
    let mut report = IngestReport::default();
    for (fact, outcome) in facts.iter().zip(ingest::check_batch(facts, now)) {
        match outcome {
            Ok(()) => report.accepted += 1,
            Err(reason) => report.reject_fact(fact.id(), &reason),
        }
    }
    report
}

/// Takes the facts of the one `IngestGossip` among `effects`.
fn ingest_batch(effects: &[Effect]) -> (BatchId, Vec<crate::state::fact::Fact>) {
    let found: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::IngestGossip { batch, facts } => Some((*batch, facts.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "{effects:?}");
    found.into_iter().next().unwrap()
}
