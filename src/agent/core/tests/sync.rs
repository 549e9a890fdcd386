//! Periodic anti-entropy: whom, when, one session at a time, how sessions ended.

use super::*;

pub(super) fn started_syncs(effects: &[Effect]) -> Vec<(PeerId, ContextId)> {
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
        refused: 0,
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
        refused: 0,
        peer: peer(2),
        context: CONTEXT,
        result: SessionResult::Failed { violation: true },
        stored: Vec::new(),
    });
    assert!(matches!(effects[..], [Effect::Penalize(_)]));
    node.handle(Input::SessionEnded {
        refused: 0,
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
