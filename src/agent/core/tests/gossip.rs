//! Verdicts on gossiped facts: valid, invalid, over budget, from a clock ahead.

use super::*;

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
