//! Caps on inbound streams, per peer, per epoch and per context.

use super::*;

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
