//! Groups in the core, with real MLS and no I/O: a group made here is joined, named by its
//! first commit and kept in the store; anyone outside its roster, even a peer the node
//! serves elsewhere, is refused its sessions and its gossip, and counted; a plain member
//! fact has no place in a group's context.

use super::*;
use crate::agent::core::groups::GroupCommand;
use crate::groups::convergence::SETTLE_MAX_MS;

fn anti_entropy(context: ContextId) -> Preamble {
    Preamble {
        protocol: SessionProtocol::AntiEntropy,
        context,
        epoch: 0,
    }
}

/// Makes a group alone; returns its context once its first commit settled and was written.
fn own_group(node: &mut Driver) -> ContextId {
    let effects = node.handle(Input::Group {
        request: RequestId(1),
        command: GroupCommand::Create {
            name: "climbers".into(),
            with: Vec::new(),
        },
    });
    let answered = effects.iter().any(|e| {
        matches!(
            e,
            Effect::Reply {
                reply: Reply::Group(Ok(GroupAnswer::Created { .. })),
                ..
            }
        )
    });
    assert!(answered, "{effects:?}");
    let context = effects
        .iter()
        .find_map(|e| match e {
            Effect::StoreGroup(row) => Some(row.context),
            _ => None,
        })
        .expect("the group's row stored");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Subscribe(c) if *c == context)),
        "{effects:?}"
    );
    // The name is set by the first commit, made as soon as the new group is settled.
    let mut effects = effects;
    effects.extend(node.tick_at(node.now + SETTLE_MAX_MS));
    let named = effects.iter().any(|e| match e {
        Effect::StoreGroup(row) => {
            row.context == context && row.name == "climbers" && row.epoch == 1
        }
        _ => false,
    });
    assert!(named, "{effects:?}");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::StoreWrites { facts, .. } if facts.iter().any(|f| f.context() == context))),
        "the commit was not written: {effects:?}"
    );
    context
}

#[test]
fn a_peer_outside_the_roster_is_refused_the_group_and_counted() {
    let mut node = Driver::new(Vec::new(), Vec::new());
    let context = own_group(&mut node);
    // A peer the web of trust reaches (served elsewhere), subscribed to the group's topic.
    let outsider = peer(2);
    node.members(&[outsider], context);
    assert_eq!(node.core.status().sessions.non_member_sessions, 0);

    node.handle(Input::InboundStream {
        peer: outsider,
        token: StreamToken(7),
    });
    let effects = node.handle(Input::Preamble {
        peer: outsider,
        token: StreamToken(7),
        preamble: anti_entropy(context),
    });
    assert!(
        matches!(effects[..], [Effect::RefuseStream(StreamToken(7))]),
        "{effects:?}"
    );
    assert_eq!(node.core.status().sessions.non_member_sessions, 1);

    let (kind, body) = crate::groups::facts::GroupFact::Message {
        epoch: crate::groups::convergence::EpochId([0; 32]),
        message: b"let me in".to_vec(),
    }
    .encode();
    let fact = signed(2, context, node.now, 0, kind, body.clone());
    let effects = node.handle(Input::Gossip(vec![gossip(
        outsider,
        context,
        fact.encode(),
        1,
    )]));
    assert_eq!(verdicts(&effects), [GossipVerdict::Reject]);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::IngestGossip { .. })),
        "{effects:?}"
    );
    assert_eq!(node.core.status().sessions.non_member_gossip, 1);

    // The same fact relayed inside a session (by a member, say) is not admitted either, and
    // is counted when the session ends; a fact of this device, a member, is.
    assert!(!node.core.admits_fact(&context, &fact));
    let own = signed(1, context, node.now, 1, kind, body);
    assert!(
        node.core.admits_fact(&context, &own),
        "this device is a member"
    );
    node.handle(Input::SessionEnded {
        peer: outsider,
        context,
        result: crate::agent::core::SessionResult::Completed,
        stored: Vec::new(),
        refused: 1,
    });
    assert_eq!(node.core.status().sessions.non_member_facts, 1);
}

#[test]
fn a_plain_member_fact_is_refused_in_a_groups_context() {
    let mut node = Driver::new(Vec::new(), Vec::new());
    let context = own_group(&mut node);
    let member = peer(2);
    node.members(&[member], context);
    // Even from this device's own key: the group's membership is its MLS roster alone.
    let (kind, body) = crate::state::kinds::KnownBody::MemberAdd {
        member: crate::state::fact::DeviceKey::of(&key(2)),
    }
    .encode();
    let fact = signed(1, context, node.now, 0, kind, body.clone());
    let effects = node.handle(Input::Gossip(vec![gossip(
        member,
        context,
        fact.encode(),
        2,
    )]));
    assert_eq!(verdicts(&effects), [GossipVerdict::Reject]);
}

#[test]
fn a_message_is_kept_in_the_outbox_before_the_answer_and_leaves_it_with_its_fact() {
    let mut node = Driver::new(Vec::new(), Vec::new());
    let context = own_group(&mut node);
    let effects = node.handle(Input::Group {
        request: RequestId(2),
        command: GroupCommand::Send {
            group: context,
            text: "hello".into(),
            wait: false,
        },
    });
    let outbox = effects
        .iter()
        .position(|e| {
            matches!(
                e,
                Effect::StoreOutbox {
                    request: Some(RequestId(2)),
                    ..
                }
            )
        })
        .expect("kept in the outbox");
    let (at, sent) = effects
        .iter()
        .enumerate()
        .find_map(|(at, e)| match e {
            Effect::StoreWrites { sent, .. } if !sent.is_empty() => Some((at, sent.clone())),
            _ => None,
        })
        .expect("the message written");
    assert!(outbox < at, "{effects:?}");
    let (row, message) = &sent[0];
    assert_eq!(row.context, context);
    assert_eq!(message.context, context);
    assert_eq!(
        crate::groups::payload::Payload::decode(&message.payload),
        Ok(crate::groups::payload::Payload::Text("hello".into()))
    );
    // An empty text never reaches the outbox.
    let effects = node.handle(Input::Group {
        request: RequestId(3),
        command: GroupCommand::Send {
            group: context,
            text: "  ".into(),
            wait: false,
        },
    });
    assert!(
        matches!(
            effects[..],
            [Effect::Reply {
                reply: Reply::Group(Err(_)),
                ..
            }]
        ),
        "{effects:?}"
    );
}

/// The answer `command` gets.
fn answer(node: &mut Driver, request: u64, command: GroupCommand) -> Result<GroupAnswer, String> {
    let effects = node.handle(Input::Group {
        request: RequestId(request),
        command,
    });
    effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Reply {
                reply: Reply::Group(answer),
                ..
            } => Some(answer.map_err(|err| err.to_string())),
            _ => None,
        })
        .expect("an answer")
}

#[test]
fn a_change_the_groups_policy_does_not_grant_is_refused_at_once_with_the_reason() {
    use crate::groups::policy::{PolicyChange, parse_list};
    let mut node = Driver::new(Vec::new(), Vec::new());
    let context = own_group(&mut node);
    // A policy no member could change again is refused before anything is asked.
    let locked = answer(
        &mut node,
        2,
        GroupCommand::Policy {
            group: context,
            change: PolicyChange::Default(parse_list("add,remove,rename").unwrap()),
        },
    );
    assert!(
        locked
            .as_ref()
            .is_err_and(|err| err.contains("no member could change the policy")),
        "{locked:?}"
    );
    let set = answer(
        &mut node,
        3,
        GroupCommand::Policy {
            group: context,
            change: PolicyChange::Default(parse_list("add,remove,policy").unwrap()),
        },
    );
    assert!(set.is_ok(), "{set:?}");
    node.tick_at(node.now + SETTLE_MAX_MS);
    let policy = node.core.group_policy(&context).unwrap();
    assert!(!policy.allows(&node.core.device(), crate::groups::policy::RENAME));

    // The guard chain's capability check refuses a rename, and says why.
    let renamed = answer(
        &mut node,
        4,
        GroupCommand::Rename {
            group: context,
            name: "hikers".into(),
        },
    );
    assert_eq!(
        renamed,
        Err(
            "you may not rename this group: the group's policy does not grant you `rename`"
                .to_owned()
        )
    );
    // Nothing was asked: the group keeps its name and epoch.
    let effects = node.tick_at(node.now + SETTLE_MAX_MS);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::StoreGroup(row) if row.name == "hikers")),
        "{effects:?}"
    );
    // Giving it back makes it possible again.
    let back = answer(
        &mut node,
        5,
        GroupCommand::Policy {
            group: context,
            change: PolicyChange::Default(crate::groups::policy::all_capabilities()),
        },
    );
    assert!(back.is_ok(), "{back:?}");
    node.tick_at(node.now + SETTLE_MAX_MS);
    let renamed = answer(
        &mut node,
        6,
        GroupCommand::Rename {
            group: context,
            name: "hikers".into(),
        },
    );
    assert!(renamed.is_ok(), "{renamed:?}");
}

/// A fact of `kind` in `context`, signed by the device of seed `seed` at (`now`, `counter`).
fn signed(
    seed: u8,
    context: ContextId,
    now: Millis,
    counter: u16,
    kind: crate::state::fact::FactKind,
    body: Vec<u8>,
) -> crate::state::fact::Fact {
    crate::state::fact::Fact::sign(
        &key(seed),
        context,
        Hlc::new(now, counter).unwrap(),
        kind,
        body,
    )
    .unwrap()
}
