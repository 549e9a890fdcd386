//! Strangers (no relationship, no path in the web of trust) get the invitation handshake and
//! nothing else: no anti-entropy either way and no gossip, each refusal counted.

use super::sync::started_syncs;
use super::*;

fn anti_entropy(context: ContextId) -> Preamble {
    Preamble {
        protocol: SessionProtocol::AntiEntropy,
        context,
        epoch: 0,
    }
}

/// Peers whose ids sort above the node's own: those the node starts sessions with.
fn peers_above(node: &Driver, count: usize) -> Vec<PeerId> {
    (2..=u8::MAX)
        .map(peer)
        .filter(|p| *p > node.core.local_peer)
        .take(count)
        .collect()
}

#[test]
fn a_stranger_is_refused_anti_entropy_and_gossip_and_counted() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let stranger = peers_above(&node, 1)[0];
    node.handle(Input::Connected(vec![stranger]));
    let effects = node.handle(Input::Subscribed {
        peer: stranger,
        context: CONTEXT,
    });
    assert!(started_syncs(&effects).is_empty(), "{effects:?}");

    let effects = node.handle(Input::InboundStream {
        peer: stranger,
        token: StreamToken(1),
    });
    assert_eq!(accepted(&effects), 1);
    let effects = node.handle(Input::Preamble {
        peer: stranger,
        token: StreamToken(1),
        preamble: anti_entropy(CONTEXT),
    });
    assert!(
        matches!(effects[..], [Effect::RefuseStream(StreamToken(1))]),
        "{effects:?}"
    );

    let fact = signed(&key(9), CONTEXT, T0, "guessed");
    let effects = node.handle(Input::Gossip(vec![gossip(
        stranger,
        CONTEXT,
        fact.encode(),
        1,
    )]));
    assert_eq!(verdicts(&effects), [GossipVerdict::Reject]);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::IngestGossip { .. })),
        "a stranger's fact is not even offered to the store"
    );

    let sessions = node.core.status().sessions;
    assert_eq!(
        (sessions.stranger_sessions, sessions.stranger_gossip),
        (1, 1)
    );
    assert_eq!(sessions.refused, 1);
}

#[test]
fn a_stranger_still_gets_the_invitation_handshake() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let stranger = peer(2);
    node.handle(Input::Connected(vec![stranger]));
    node.handle(Input::InboundStream {
        peer: stranger,
        token: StreamToken(1),
    });
    let effects = node.handle(Input::Preamble {
        peer: stranger,
        token: StreamToken(1),
        preamble: Preamble {
            protocol: SessionProtocol::RelationshipFormation,
            context: ContextId([5; 32]),
            epoch: 0,
        },
    });
    assert!(
        matches!(effects[..], [Effect::RespondInvitation { .. }]),
        "{effects:?}"
    );
    assert_eq!(node.core.status().sessions.stranger_sessions, 0);
}

#[test]
fn periodic_sync_never_picks_a_stranger() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let peers = peers_above(&node, 4);
    let member = peers[0];
    node.members(&peers, CONTEXT);
    // Strangers again: `members` had the web of trust reach them all.
    node.trusted.clear();
    node.trust(&[member], TrustLevel::Low);
    for peer in &peers {
        node.handle(Input::OutboundEnded {
            peer: *peer,
            context: CONTEXT,
        });
    }
    let mut at = node.core.sync.next_at();
    for _ in 0..20 {
        let effects = node.tick_at(at);
        assert_eq!(started_syncs(&effects), [(member, CONTEXT)], "{effects:?}");
        node.handle(Input::OutboundEnded {
            peer: member,
            context: CONTEXT,
        });
        at = node.core.sync.next_at();
    }
}

#[test]
fn a_peer_reached_by_a_path_or_a_contact_is_served() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let peers = peers_above(&node, 2);
    let (reached, contact) = (peers[0], peers[1]);
    node.trust(&[reached], TrustLevel::Low);
    node.core
        .invitations
        .contacts
        .insert(crate::net::device_of(&contact).unwrap(), ContextId([4; 32]));
    node.handle(Input::Connected(peers.clone()));
    for (token, peer) in peers.iter().enumerate() {
        let effects = node.handle(Input::Subscribed {
            peer: *peer,
            context: CONTEXT,
        });
        assert_eq!(started_syncs(&effects), [(*peer, CONTEXT)]);
        let token = StreamToken(token as u64);
        node.handle(Input::InboundStream { peer: *peer, token });
        let effects = node.handle(Input::Preamble {
            peer: *peer,
            token,
            preamble: anti_entropy(CONTEXT),
        });
        assert!(
            matches!(effects[..], [Effect::Respond { .. }]),
            "{effects:?}"
        );
    }
    assert_eq!(node.core.status().sessions.stranger_sessions, 0);
}

#[test]
fn a_stranger_reached_later_is_served_in_the_contexts_it_already_shares() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let newcomer = peers_above(&node, 1)[0];
    node.handle(Input::Connected(vec![newcomer]));
    let effects = node.handle(Input::Subscribed {
        peer: newcomer,
        context: CONTEXT,
    });
    assert!(started_syncs(&effects).is_empty());
    let effects = node.trust(&[newcomer], TrustLevel::Medium);
    assert_eq!(started_syncs(&effects), [(newcomer, CONTEXT)]);
    // Levels handed over again change nothing for a peer already served.
    node.handle(Input::OutboundEnded {
        peer: newcomer,
        context: CONTEXT,
    });
    let effects = node.trust(&[newcomer], TrustLevel::High);
    assert!(started_syncs(&effects).is_empty(), "{effects:?}");
}
