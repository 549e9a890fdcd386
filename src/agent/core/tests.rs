//! The core's policies, driven with inputs, a fixed clock and a seeded RNG: no runtime, no
//! sockets, no store. Each test checks the effects the core asks for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use ed25519_dalek::SigningKey;
use libp2p::gossipsub::MessageId;
use libp2p::{Multiaddr, PeerId};
use rand_pcg::Pcg64;

use super::redial::{LOOK_UP_AFTER_ATTEMPTS, REDIAL_JITTER_PERCENT};
use super::*;
use crate::agent::guard::{GuardConfig, KeptLedgers, NodeGuard};
use crate::agent::session::SessionProtocol;
use crate::state::hlc::Hlc;
use crate::state::ingest;
use crate::state::kinds;

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

fn rng() -> Pcg64 {
    use rand_core::SeedableRng;
    Pcg64::seed_from_u64(11)
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
    rng: Pcg64,
    /// What the core asked for when it was built.
    startup: Vec<Effect>,
}

impl Driver {
    fn new(joined: Vec<ContextId>, saved: Vec<PeerAddr>) -> Self {
        Self::with_guard(joined, saved, guard_config(|_| {}))
    }

    fn with_guard(joined: Vec<ContextId>, saved: Vec<PeerAddr>, config: GuardConfig) -> Self {
        let mut rng = rng();
        let ledgers = empty_ledgers(&config);
        let core = Core::new(
            CoreConfig {
                local_peer: peer(1),
                signing_key: key(1),
                guard: NodeGuard::new(config, ledgers, T0),
                sync_interval_ms: SYNC_MS,
                joined,
                saved,
                known: Vec::new(),
            },
            T0,
            &mut rng,
        );
        let mut driver = Self {
            core,
            now: T0,
            rng,
            startup: Vec::new(),
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

    /// Connects `peers` and has each subscribe to `context`.
    fn members(&mut self, peers: &[PeerId], context: ContextId) -> Vec<Effect> {
        let mut effects = self.handle(Input::Connected(peers.to_vec()));
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

// --- admission -------------------------------------------------------------------------------

#[test]
fn a_member_gets_four_streams_at_once_and_a_stranger_one() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let (member, stranger) = (peer(2), peer(3));
    node.members(&[member], CONTEXT);
    node.handle(Input::Connected(vec![member, stranger]));
    let mut effects = Vec::new();
    for token in 0..MAX_INBOUND_SESSIONS_PER_PEER as u64 + 1 {
        effects.extend(node.handle(Input::InboundStream {
            peer: member,
            token: StreamToken(token),
        }));
    }
    assert_eq!(accepted(&effects), MAX_INBOUND_SESSIONS_PER_PEER);
    assert_eq!(refused(&effects), 1);

    let mut effects = node.handle(Input::InboundStream {
        peer: stranger,
        token: StreamToken(100),
    });
    effects.extend(node.handle(Input::InboundStream {
        peer: stranger,
        token: StreamToken(101),
    }));
    assert_eq!((accepted(&effects), refused(&effects)), (1, 1));
    // A stream that ends frees its place.
    node.handle(Input::StreamEnded(stranger));
    let effects = node.handle(Input::InboundStream {
        peer: stranger,
        token: StreamToken(102),
    });
    assert_eq!(accepted(&effects), 1);
    assert_eq!(node.core.status().sessions.refused, 2);
}

#[test]
fn no_more_than_the_total_cap_of_streams_run_at_once() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let peers: Vec<PeerId> = (10..10 + MAX_INBOUND_SESSIONS as u8 + 1)
        .map(peer)
        .collect();
    node.handle(Input::Connected(peers.clone()));
    let mut effects = Vec::new();
    for (token, peer) in peers.iter().enumerate() {
        effects.extend(node.handle(Input::InboundStream {
            peer: *peer,
            token: StreamToken(token as u64),
        }));
    }
    assert_eq!(accepted(&effects), MAX_INBOUND_SESSIONS);
    assert_eq!(refused(&effects), 1);
}

#[test]
fn a_peer_opens_at_most_sixteen_streams_an_epoch_and_more_in_the_next() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let member = peer(2);
    node.members(&[member], CONTEXT);
    let mut effects = Vec::new();
    for token in 0..u64::from(MAX_SESSIONS_PER_PEER_PER_EPOCH) + 1 {
        effects.extend(node.handle(Input::InboundStream {
            peer: member,
            token: StreamToken(token),
        }));
        // Each ends at once, so only the per-epoch cap can refuse.
        node.handle(Input::StreamEnded(member));
    }
    assert_eq!(accepted(&effects), MAX_SESSIONS_PER_PEER_PER_EPOCH as usize);
    assert_eq!(refused(&effects), 1);
    // The default epoch is a minute; the next one lets the peer in again.
    node.tick_at(T0 + 61_000);
    let effects = node.handle(Input::InboundStream {
        peer: member,
        token: StreamToken(99),
    });
    assert_eq!(accepted(&effects), 1, "{effects:?}");
}

#[test]
fn a_context_has_at_most_eight_responders_and_one_not_joined_has_none() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let peers: Vec<PeerId> = (20..20 + MAX_RESPONDERS_PER_CONTEXT as u8 + 1)
        .map(peer)
        .collect();
    node.members(&peers, CONTEXT);
    let preamble = |context| Preamble {
        protocol: SessionProtocol::AntiEntropy,
        context,
        epoch: 0,
    };
    let mut responds = 0;
    for (token, peer) in peers.iter().enumerate() {
        let effects = node.handle(Input::Preamble {
            peer: *peer,
            token: StreamToken(token as u64),
            preamble: preamble(CONTEXT),
        });
        responds += effects
            .iter()
            .filter(|e| matches!(e, Effect::Respond { context, .. } if *context == CONTEXT))
            .count();
    }
    assert_eq!(responds, MAX_RESPONDERS_PER_CONTEXT);
    node.handle(Input::ResponderEnded(CONTEXT));
    let effects = node.handle(Input::Preamble {
        peer: peers[0],
        token: StreamToken(50),
        preamble: preamble(CONTEXT),
    });
    assert!(
        matches!(effects[..], [Effect::Respond { .. }]),
        "{effects:?}"
    );

    let effects = node.handle(Input::Preamble {
        peer: peers[0],
        token: StreamToken(51),
        preamble: preamble(ContextId([8; 32])),
    });
    assert!(matches!(
        effects[..],
        [Effect::RefuseStream(StreamToken(51))]
    ));
}

#[test]
fn a_bad_preamble_is_a_violation_and_a_cut_one_is_not() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let effects = node.handle(Input::PreambleFailed {
        peer: peer(2),
        violation: true,
    });
    assert!(matches!(effects[..], [Effect::Penalize(p)] if p == peer(2)));
    let effects = node.handle(Input::PreambleFailed {
        peer: peer(2),
        violation: false,
    });
    assert!(effects.is_empty());
    assert_eq!(node.core.status().sessions.refused, 2);
}

// --- gossip verdicts -------------------------------------------------------------------------

#[test]
fn a_valid_fact_is_stored_then_accepted_and_announced() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    node.members(&[peer(2)], CONTEXT);
    let fact = signed(&key(2), CONTEXT, T0, "hello");
    let effects = node.handle(Input::Gossip(vec![gossip(
        peer(2),
        CONTEXT,
        fact.encode(),
        1,
    )]));
    assert!(
        verdicts(&effects).is_empty(),
        "judged before the store checked it"
    );
    let (batch, facts) = ingest_batch(&effects);
    let report = store_report(&facts, node.now);
    let effects = node.handle(Input::GossipStored {
        batch,
        result: Ok(report),
    });
    assert_eq!(verdicts(&effects), [GossipVerdict::Accept]);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Notify(NodeEvent::FactsStored { context, ids }) if *context == CONTEXT && ids == &[fact.id()]
    )));
}

#[test]
fn undecodable_forged_or_misplaced_facts_are_rejected() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    node.members(&[peer(2)], CONTEXT);
    let elsewhere = signed(&key(2), ContextId([9; 32]), T0, "wrong topic");
    let effects = node.handle(Input::Gossip(vec![
        gossip(peer(2), CONTEXT, b"garbage".to_vec(), 1),
        gossip(peer(2), CONTEXT, elsewhere.encode(), 2),
    ]));
    assert_eq!(
        verdicts(&effects),
        [GossipVerdict::Reject, GossipVerdict::Reject]
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::IngestGossip { .. }))
    );

    // A signature that does not verify decodes, and the store's check refuses it.
    let mut forged = signed(&key(2), CONTEXT, T0, "forged").encode();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let effects = node.handle(Input::Gossip(vec![gossip(peer(2), CONTEXT, forged, 3)]));
    let (batch, facts) = ingest_batch(&effects);
    let effects = node.handle(Input::GossipStored {
        batch,
        result: Ok(store_report(&facts, node.now)),
    });
    assert_eq!(verdicts(&effects), [GossipVerdict::Reject]);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Notify(_))));
}

#[test]
fn a_fact_from_a_clock_ahead_is_ignored_not_blamed() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    node.members(&[peer(2)], CONTEXT);
    let ahead = signed(&key(2), CONTEXT, T0 + 3_600_000, "from the future");
    let effects = node.handle(Input::Gossip(vec![gossip(
        peer(2),
        CONTEXT,
        ahead.encode(),
        1,
    )]));
    let (batch, facts) = ingest_batch(&effects);
    let effects = node.handle(Input::GossipStored {
        batch,
        result: Ok(store_report(&facts, node.now)),
    });
    assert_eq!(verdicts(&effects), [GossipVerdict::Ignore]);
}

#[test]
fn gossip_over_the_senders_budget_is_dropped_without_blame() {
    let config = guard_config(|budgets| budgets.limit_low = 3);
    let mut node = Driver::with_guard(vec![CONTEXT], Vec::new(), config);
    node.members(&[peer(2)], CONTEXT);
    let messages: Vec<GossipMessage> = (0..5u8)
        .map(|n| {
            let fact = signed(&key(2), CONTEXT, T0 + u64::from(n), "chatty");
            gossip(peer(2), CONTEXT, fact.encode(), n)
        })
        .collect();
    let effects = node.handle(Input::Gossip(messages));
    let (_, facts) = ingest_batch(&effects);
    assert_eq!(facts.len(), 3);
    assert_eq!(
        verdicts(&effects),
        [GossipVerdict::Ignore, GossipVerdict::Ignore]
    );
    assert_eq!(node.core.status().guard.dropped_inbound, 2);
}

#[test]
fn gossip_of_a_context_not_joined_is_ignored_and_a_store_failure_blames_nobody() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    node.members(&[peer(2)], CONTEXT);
    let other = ContextId([3; 32]);
    let fact = signed(&key(2), other, T0, "elsewhere");
    let effects = node.handle(Input::Gossip(vec![gossip(
        peer(2),
        other,
        fact.encode(),
        1,
    )]));
    assert_eq!(verdicts(&effects), [GossipVerdict::Ignore]);

    let fact = signed(&key(2), CONTEXT, T0, "lost");
    let effects = node.handle(Input::Gossip(vec![gossip(
        peer(2),
        CONTEXT,
        fact.encode(),
        2,
    )]));
    let (batch, _) = ingest_batch(&effects);
    let effects = node.handle(Input::GossipStored {
        batch,
        result: Err("disk full".into()),
    });
    assert_eq!(verdicts(&effects), [GossipVerdict::Ignore]);
}

// --- write batching --------------------------------------------------------------------------

fn write(n: u64, context: ContextId) -> WriteRequest {
    WriteRequest {
        request: RequestId(n),
        context,
        kind: kinds::MESSAGE,
        body: format!("message {n}").into_bytes(),
    }
}

#[test]
fn writes_that_arrive_together_are_stored_in_one_batch_then_gossiped_and_answered() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    node.members(&[peer(2)], CONTEXT);
    let effects = node.handle(Input::Writes((1..=3).map(|n| write(n, CONTEXT)).collect()));
    let batches: Vec<(BatchId, usize)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::StoreWrites { batch, facts } => Some((*batch, facts.len())),
            _ => None,
        })
        .collect();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].1, 3);
    // Nothing leaves before the store has it.
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Publish { .. } | Effect::Reply { .. }))
    );

    let effects = node.handle(Input::WritesStored {
        batch: batches[0].0,
        result: Ok(()),
    });
    let published = effects
        .iter()
        .filter(|e| matches!(e, Effect::Publish { context, .. } if *context == CONTEXT))
        .count();
    let answered: Vec<u64> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply {
                request,
                reply: Reply::Written(Ok(_)),
            } => Some(request.0),
            _ => None,
        })
        .collect();
    assert_eq!(published, 3);
    assert_eq!(answered, [1, 2, 3]);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Notify(NodeEvent::FactsStored { ids, .. }) if ids.len() == 3
    )));
}

#[test]
fn a_write_the_guard_refuses_is_neither_stored_nor_sent_and_says_why() {
    let config = guard_config(|budgets| budgets.limit_low = 1);
    let mut node = Driver::with_guard(vec![CONTEXT], Vec::new(), config);
    node.members(&[peer(2)], CONTEXT);
    let effects = node.handle(Input::Writes(vec![write(1, CONTEXT), write(2, CONTEXT)]));
    let stored: Vec<usize> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::StoreWrites { facts, .. } => Some(facts.len()),
            _ => None,
        })
        .collect();
    assert_eq!(stored, [1], "the second write is over the peer's budget");
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Reply {
            request: RequestId(2),
            reply: Reply::Written(Err(NodeError::Denied(_)))
        }
    )));
    assert_eq!(node.core.status().guard.denied_publishes, 1);
}

#[test]
fn a_batch_the_store_refuses_is_not_gossiped_and_every_writer_hears_why() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let effects = node.handle(Input::Writes(vec![write(1, CONTEXT), write(2, CONTEXT)]));
    let batch = effects
        .iter()
        .find_map(|e| match e {
            Effect::StoreWrites { batch, .. } => Some(*batch),
            _ => None,
        })
        .unwrap();
    let effects = node.handle(Input::WritesStored {
        batch,
        result: Err("disk full".into()),
    });
    assert!(!effects.iter().any(|e| matches!(e, Effect::Publish { .. })));
    let errors = effects
        .iter()
        .filter(|e| {
            matches!(e, Effect::Reply { reply: Reply::Written(Err(NodeError::Fact(m))), .. } if m == "disk full")
        })
        .count();
    assert_eq!(errors, 2);
}

#[test]
fn a_write_to_a_new_context_joins_it_first() {
    let mut node = Driver::new(Vec::new(), Vec::new());
    let other = ContextId([4; 32]);
    let effects = node.handle(Input::Writes(vec![write(1, other)]));
    let position = |want: fn(&Effect) -> bool| effects.iter().position(want).unwrap();
    let join = position(|e| matches!(e, Effect::PersistJoin { request: None, .. }));
    let subscribe = position(|e| matches!(e, Effect::Subscribe(_)));
    let store = position(|e| matches!(e, Effect::StoreWrites { .. }));
    assert!(join < store && subscribe < store, "{effects:?}");
    assert_eq!(node.core.status().contexts, 1);
    // Joined once: the next write costs no join.
    let effects = node.handle(Input::Writes(vec![write(2, other)]));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::PersistJoin { .. }))
    );
}

// --- periodic sync ---------------------------------------------------------------------------

fn started_syncs(effects: &[Effect]) -> Vec<(PeerId, ContextId)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::StartSync { peer, context, .. } => Some((*peer, *context)),
            _ => None,
        })
        .collect()
}

#[test]
fn each_period_syncs_each_context_with_one_random_member_and_keeps_the_ledgers() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let peers: Vec<PeerId> = (2..6).map(peer).collect();
    node.members(&peers, CONTEXT);
    // Meeting a member starts a session from the side with the smaller id; end those.
    for peer in &peers {
        node.handle(Input::OutboundEnded {
            peer: *peer,
            context: CONTEXT,
        });
    }
    let first = node.core.sync.next_at();
    let spread = SYNC_MS * SYNC_JITTER_PERCENT / 100;
    assert!(first >= T0 + SYNC_MS - spread && first <= T0 + SYNC_MS + spread);
    assert!(started_syncs(&node.tick_at(first - 1)).is_empty());

    let mut chosen = HashSet::new();
    let mut at = first;
    for _ in 0..40 {
        let effects = node.tick_at(at);
        assert!(matches!(effects[0], Effect::PersistPending), "{effects:?}");
        assert!(matches!(effects[1], Effect::SaveLedgers(_)));
        let syncs = started_syncs(&effects);
        assert_eq!(syncs.len(), 1, "{effects:?}");
        chosen.insert(syncs[0].0);
        node.handle(Input::OutboundEnded {
            peer: syncs[0].0,
            context: CONTEXT,
        });
        let next = node.core.sync.next_at();
        assert!(next >= at + SYNC_MS - spread && next <= at + SYNC_MS + spread);
        at = next;
    }
    assert_eq!(
        chosen.len(),
        peers.len(),
        "every member is chosen some time"
    );
}

#[test]
fn one_outbound_session_per_peer_and_context_at_a_time() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    // Peers whose ids sort after ours get the session from us when they subscribe.
    let larger: Vec<PeerId> = (2..40).map(peer).filter(|p| *p > peer(1)).take(1).collect();
    let member = larger[0];
    let effects = node.members(&[member], CONTEXT);
    assert_eq!(started_syncs(&effects), [(member, CONTEXT)]);
    let request = RequestId(1);
    let effects = node.handle(Input::SyncNow {
        request,
        context: CONTEXT,
    });
    assert!(started_syncs(&effects).is_empty(), "one runs already");
    assert!(matches!(
        effects[..],
        [Effect::Reply {
            reply: Reply::SyncStarted(0),
            ..
        }]
    ));
    node.handle(Input::OutboundEnded {
        peer: member,
        context: CONTEXT,
    });
    let effects = node.handle(Input::SyncNow {
        request,
        context: CONTEXT,
    });
    assert_eq!(started_syncs(&effects), [(member, CONTEXT)]);
}

#[test]
fn session_results_are_counted_and_a_violation_is_charged() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let fact = FactId([5; 32]);
    let effects = node.handle(Input::SessionEnded {
        peer: peer(2),
        context: CONTEXT,
        result: SessionResult::Completed,
        stored: vec![fact],
    });
    assert!(matches!(
        &effects[..],
        [Effect::Notify(NodeEvent::FactsStored { ids, .. })] if ids == &[fact]
    ));
    let effects = node.handle(Input::SessionEnded {
        peer: peer(2),
        context: CONTEXT,
        result: SessionResult::Failed { violation: true },
        stored: Vec::new(),
    });
    assert!(matches!(effects[..], [Effect::Penalize(_)]));
    node.handle(Input::SessionEnded {
        peer: peer(2),
        context: CONTEXT,
        result: SessionResult::Denied("over budget".into()),
        stored: Vec::new(),
    });
    let sessions = node.core.status().sessions;
    assert_eq!(
        (sessions.completed, sessions.failed, sessions.denied),
        (1, 1, 1)
    );
}

// --- redial ----------------------------------------------------------------------------------

fn addr_of(peer: PeerId, port: u16) -> Multiaddr {
    format!("/ip4/127.0.0.1/tcp/{port}/p2p/{peer}")
        .parse()
        .unwrap()
}

fn dials(effects: &[Effect]) -> Vec<(PeerId, Vec<Multiaddr>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Dial { peer, addrs } => Some((*peer, addrs.clone())),
            _ => None,
        })
        .collect()
}

/// Ticks every 100 ms until a dial, up to `limit`; returns when it came.
fn next_dial(node: &mut Driver, limit: Millis) -> Option<(Millis, Vec<Effect>)> {
    let end = node.now + limit;
    while node.now < end {
        let at = node.now + 100;
        let effects = node.tick_at(at);
        if !dials(&effects).is_empty() {
            return Some((at, effects));
        }
    }
    None
}

#[test]
fn a_saved_peer_is_dialled_at_start_then_with_capped_exponential_backoff() {
    let target = peer(2);
    let saved = PeerAddr::from_multiaddr(addr_of(target, 4001)).unwrap();
    let node = &mut Driver::new(Vec::new(), vec![saved]);
    assert_eq!(
        dials(&node.startup),
        [(target, vec![addr_of(target, 4001)])]
    );

    let mut last = T0;
    let mut waits = Vec::new();
    for attempt in 0..10u32 {
        let (at, effects) = next_dial(node, 2 * REDIAL_CAP_MS).expect("another attempt");
        waits.push(at - last);
        last = at;
        let looked_up = effects
            .iter()
            .any(|e| matches!(e, Effect::FindPeer(p) if *p == target));
        assert_eq!(
            looked_up,
            attempt + 1 >= LOOK_UP_AFTER_ATTEMPTS,
            "attempt {attempt}"
        );
    }
    for (attempt, wait) in waits.iter().enumerate() {
        let nominal = (REDIAL_BASE_MS << attempt).min(REDIAL_CAP_MS);
        let spread = nominal * REDIAL_JITTER_PERCENT / 100;
        // Ticks come every 100 ms, so a dial is seen up to 100 ms after it is due.
        assert!(
            *wait + 1 >= nominal - spread && *wait <= nominal + spread + 100,
            "wait {attempt} was {wait} ms, nominal {nominal}"
        );
    }
    assert!(
        waits
            .iter()
            .all(|wait| *wait <= REDIAL_CAP_MS * 12 / 10 + 100)
    );
}

#[test]
fn a_connected_peer_is_not_dialled_and_a_lost_one_is_dialled_again_soon() {
    let target = peer(2);
    let saved = PeerAddr::from_multiaddr(addr_of(target, 4001)).unwrap();
    let mut node = Driver::new(Vec::new(), vec![saved]);
    node.handle(Input::Connected(vec![target]));
    assert!(next_dial(&mut node, 5 * REDIAL_CAP_MS).is_none());
    // Lost after a long connection: the backoff starts over.
    node.handle(Input::Connected(Vec::new()));
    let lost_at = node.now;
    let (at, _) = next_dial(&mut node, 2 * REDIAL_CAP_MS).unwrap();
    assert!(
        at - lost_at <= REDIAL_BASE_MS * 12 / 10 + 100,
        "{}",
        at - lost_at
    );
}

#[test]
fn reported_addresses_are_kept_and_dialled_and_a_forgotten_peer_is_not() {
    let mut node = Driver::new(Vec::new(), Vec::new());
    let met = peer(3);
    node.handle(Input::Connected(vec![met]));
    let reported = vec![addr_of(met, 5000)];
    let effects = node.handle(Input::Identified {
        peer: met,
        addrs: reported.clone(),
    });
    assert!(matches!(
        &effects[..],
        [Effect::RecordPeerAddrs { peer, addrs }] if *peer == met && *addrs == reported
    ));
    // The same addresses again are not written again.
    assert!(
        node.handle(Input::Identified {
            peer: met,
            addrs: reported.clone(),
        })
        .is_empty()
    );
    // It restarts on another port and tells a third node, not us: we dial where it was,
    // and ask the network where it is now after a few attempts.
    node.handle(Input::Connected(Vec::new()));
    let (_, effects) = next_dial(&mut node, 2 * REDIAL_CAP_MS).unwrap();
    assert_eq!(dials(&effects), [(met, reported)]);
    assert!(node.core.redial.is_target(&met));
    node.handle(Input::PeersForgotten(vec![met]));
    assert!(next_dial(&mut node, 3 * REDIAL_CAP_MS).is_none());
}

#[test]
fn this_node_never_dials_itself_and_the_device_cache_holds_connected_peers_only() {
    let own = PeerAddr::from_multiaddr(addr_of(peer(1), 4001)).unwrap();
    let mut node = Driver::new(Vec::new(), vec![own]);
    assert!(dials(&node.startup).is_empty());
    node.handle(Input::Connected(vec![peer(2), peer(3)]));
    node.handle(Input::InboundStream {
        peer: peer(2),
        token: StreamToken(1),
    });
    node.handle(Input::InboundStream {
        peer: peer(4),
        token: StreamToken(2),
    });
    assert_eq!(node.core.peers.remembered_devices(), 1);
    node.handle(Input::Connected(vec![peer(3)]));
    assert_eq!(node.core.peers.remembered_devices(), 0);
}

#[test]
fn the_core_asks_for_a_tick_when_its_next_timer_is_due() {
    let target = peer(2);
    let saved = PeerAddr::from_multiaddr(addr_of(target, 4001)).unwrap();
    let mut node = Driver::new(vec![CONTEXT], vec![saved]);
    assert!(matches!(node.startup[0], Effect::Subscribe(CONTEXT)));
    // The first retry of the saved peer, or the budget tick a second from now, whichever
    // comes first: never later than either, and never now.
    let timeout = node.core.poll_timeout();
    assert!(
        timeout > T0 && timeout <= T0 + BUDGET_TICK_MS,
        "{}",
        timeout - T0
    );
    assert!(node.tick_at(timeout - 1).is_empty());
}
