//! Saved and known peers dialled again with capped exponential backoff.

use super::*;

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
