//! Relationship formation between two cores, with the shell's part played by the test: the
//! steps of the handshake carried from one core to the other, store writes acknowledged.

use super::*;
use crate::agent::relationship_session::InviteeEnd;
use crate::invite::code::InvitationCode;
use crate::invite::messages::{Refusal, Verdict};
use crate::invite::views::AcceptanceStage;
use crate::node::InviteOptions;

const INVITER: u8 = 1;
const INVITEE: u8 = 2;
const THIRD: u8 = 3;

fn addr() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/4100".parse().unwrap()
}

/// A core whose device key is `seed`'s.
fn driver(seed: u8) -> Driver {
    Driver::build(seed, Vec::new(), Vec::new(), guard_config(|_| {}))
}

impl Driver {
    /// Feeds `input`, acknowledging every store write as the shell would; returns every
    /// effect, those of the acknowledgements included.
    fn run(&mut self, input: Input) -> Vec<Effect> {
        let mut all = Vec::new();
        let mut queue = self.handle(input);
        while !queue.is_empty() {
            let mut next = Vec::new();
            for effect in queue {
                if let Effect::StoreWrites { batch, .. } = &effect {
                    next.extend(self.handle(Input::WritesStored {
                        batch: *batch,
                        result: Ok(()),
                    }));
                }
                all.push(effect);
            }
            queue = next;
        }
        all
    }

    fn command(&mut self, command: InviteCommand) -> (Vec<Effect>, Result<InviteAnswer, String>) {
        let effects = self.run(Input::Invite {
            request: RequestId(1),
            command,
        });
        let answer = effects
            .iter()
            .find_map(|e| match e {
                Effect::Reply {
                    reply: Reply::Invite(result),
                    ..
                } => Some(match result {
                    Ok(answer) => Ok(answer.clone()),
                    Err(err) => Err(err.to_string()),
                }),
                _ => None,
            })
            .expect("an answer");
        (effects, answer)
    }
}

fn options(valid_for_ms: u64, uses: u32, approve: bool) -> InviteOptions {
    InviteOptions {
        valid_for_ms: Some(valid_for_ms),
        uses,
        note: String::new(),
        approve,
        trust: TrustLevel::Low,
        group: None,
    }
}

fn create(inviter: &mut Driver, uses: u32, approve: bool) -> String {
    create_with(inviter, options(3_600_000, uses, approve))
}

fn create_with(inviter: &mut Driver, options: InviteOptions) -> String {
    let (_, answer) = inviter.command(InviteCommand::Create {
        options,
        addrs: vec![addr()],
    });
    match answer {
        Ok(InviteAnswer::Created(created)) => created.code,
        other => panic!("{other:?}"),
    }
}

fn challenge_of(effects: &[Effect]) -> Challenge {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Challenge { challenge, .. } => Some(challenge.clone()),
            _ => None,
        })
        .expect("a challenge")
}

fn verdict_of(effects: &[Effect]) -> Verdict {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Verdict { verdict, .. } => Some(verdict.clone()),
            _ => None,
        })
        .expect("a verdict")
}

fn proof_of(effects: &[Effect]) -> Proof {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::AcceptanceProof { proof, .. } => Some(proof.clone()),
            _ => None,
        })
        .expect("a proof")
}

fn contact_row(effects: &[Effect]) -> Option<crate::state::store::ContactRow> {
    effects.iter().find_map(|e| match e {
        Effect::StoreContact(row) => Some(row.clone()),
        _ => None,
    })
}

/// The invitee starts accepting `code`: its ask, as the shell would carry it.
fn start(invitee: &mut Driver, code: &str) -> (InvitationKey, Ask) {
    let (effects, answer) =
        invitee.command(InviteCommand::Accept(InvitationCode::decode(code).unwrap()));
    assert!(
        matches!(answer, Ok(InviteAnswer::Acceptance(_))),
        "{answer:?}"
    );
    effects
        .iter()
        .find_map(|e| match e {
            Effect::StartAcceptance { key, ask, .. } => Some((*key, ask.clone())),
            _ => None,
        })
        .expect("an attempt")
}

#[test]
fn two_cores_form_a_relationship_and_share_one_secret() {
    let mut alice = driver(INVITER);
    let mut bob = driver(INVITEE);
    let code = create(&mut alice, 1, false);
    let (key, recorded) = form(&mut alice, &mut bob, &code);
    let alice_row = contact_row(&recorded).expect("the inviter keeps the pair's secret");
    let verdict = verdict_of(&recorded);
    assert!(matches!(verdict, Verdict::Accepted { .. }), "{verdict:?}");
    let done = bob.run(Input::Acceptance {
        key,
        event: AcceptanceEvent::Ended(InviteeEnd::Verdict(verdict)),
    });
    let bob_row = contact_row(&done).expect("the invitee keeps the pair's secret");
    assert_eq!(alice_row.context, bob_row.context);
    assert_eq!(*alice_row.secret, *bob_row.secret);
    assert_eq!(alice_row.peer, bob.core.device());
    assert_eq!(bob_row.peer, alice.core.device());
    assert!(
        done.iter()
            .any(|e| matches!(e, Effect::ForgetAcceptance(k) if *k == key))
    );
    let view = bob.core.acceptance(&key.short_id()).unwrap();
    assert!(
        matches!(view.stage, AcceptanceStage::Done { .. }),
        "{view:?}"
    );
    let invitation = alice.core.profile().invitations.get(&key).unwrap();
    assert!(invitation.redeemed_by(&bob.core.device()));
}

/// Runs the whole handshake for `code` between the two cores: the invitation's key and the
/// inviter's effects once it checked the proof.
fn form(alice: &mut Driver, bob: &mut Driver, code: &str) -> (InvitationKey, Vec<Effect>) {
    let (key, ask) = start(bob, code);
    let challenge = challenge_of(&alice.run(Input::HandshakeAsked {
        token: StreamToken(1),
        invitee: bob.core.device(),
        ask,
    }));
    let proof = proof_of(&bob.run(Input::Acceptance {
        key,
        event: AcceptanceEvent::Challenged(challenge),
    }));
    let recorded = alice.run(Input::HandshakeProved {
        token: StreamToken(1),
        proof,
    });
    (key, recorded)
}

#[test]
fn the_invitation_sets_the_level_its_contacts_start_at() {
    let mut alice = driver(INVITER);
    let mut bob = driver(INVITEE);
    let mut carol = driver(INVITEE + 1);
    let medium = InviteOptions {
        trust: TrustLevel::Medium,
        ..options(3_600_000, 1, false)
    };
    let code = create_with(&mut alice, medium);
    let (_, recorded) = form(&mut alice, &mut bob, &code);
    assert!(matches!(verdict_of(&recorded), Verdict::Accepted { .. }));
    assert_eq!(
        alice.core.direct_level(&bob.core.device()),
        TrustLevel::Medium
    );
    // The default starts at Low, and records no level of its own.
    let code = create(&mut alice, 1, false);
    let before = alice.core.trust.level_set(&carol.core.device());
    form(&mut alice, &mut carol, &code);
    assert_eq!(before, None);
    assert_eq!(alice.core.trust.level_set(&carol.core.device()), None);
    assert_eq!(
        alice.core.direct_level(&carol.core.device()),
        TrustLevel::Low
    );
}

#[test]
fn a_replayed_or_stolen_proof_is_refused() {
    let mut alice = driver(INVITER);
    let mut bob = driver(INVITEE);
    let code = create(&mut alice, 2, false);
    let (key, ask) = start(&mut bob, &code);
    let challenge = challenge_of(&alice.run(Input::HandshakeAsked {
        token: StreamToken(1),
        invitee: bob.core.device(),
        ask: ask.clone(),
    }));
    let proof = proof_of(&bob.run(Input::Acceptance {
        key,
        event: AcceptanceEvent::Challenged(challenge),
    }));
    // Someone who saw Bob's ask and proof plays them again in a session of its own: the
    // inviter's fresh values differ, so the proof does not verify.
    alice.run(Input::HandshakeAsked {
        token: StreamToken(2),
        invitee: bob.core.device(),
        ask: ask.clone(),
    });
    let replayed = alice.run(Input::HandshakeProved {
        token: StreamToken(2),
        proof: proof.clone(),
    });
    assert_eq!(verdict_of(&replayed), Verdict::Refused(Refusal::BadProof));
    assert!(contact_row(&replayed).is_none());
    // The same, from another device.
    alice.run(Input::HandshakeAsked {
        token: StreamToken(3),
        invitee: DeviceKey::of(&key_of(THIRD)),
        ask,
    });
    let stolen = alice.run(Input::HandshakeProved {
        token: StreamToken(3),
        proof,
    });
    assert_eq!(verdict_of(&stolen), Verdict::Refused(Refusal::BadProof));
    assert!(
        alice
            .core
            .profile()
            .invitations
            .get(&key)
            .unwrap()
            .redeemed
            .is_empty()
    );
}

fn key_of(seed: u8) -> SigningKey {
    key(seed)
}

#[test]
fn an_ask_is_refused_for_an_unknown_a_revoked_or_a_used_invitation() {
    let mut alice = driver(INVITER);
    let mut bob = driver(INVITEE);
    let ask = |invitation: InvitationKey| Ask {
        invitation,
        ephemeral: [9; 32],
        nonce: [9; 32],
        name: "Mallory".into(),
    };
    let unknown = alice.run(Input::HandshakeAsked {
        token: StreamToken(1),
        invitee: bob.core.device(),
        ask: ask(InvitationKey([1; 32])),
    });
    assert_eq!(challenge_of(&unknown), Challenge::Refused(Refusal::Unknown));
    let code = create(&mut alice, 1, false);
    let (key, _) = start(&mut bob, &code);
    let (_, answer) = alice.command(InviteCommand::Revoke(key.short_id()));
    assert!(answer.is_ok(), "{answer:?}");
    let revoked = alice.run(Input::HandshakeAsked {
        token: StreamToken(2),
        invitee: bob.core.device(),
        ask: ask(key),
    });
    assert_eq!(challenge_of(&revoked), Challenge::Refused(Refusal::Revoked));
    // The refusal is what the invitee's acceptance ends with.
    let ended = bob.run(Input::Acceptance {
        key,
        event: AcceptanceEvent::Ended(InviteeEnd::Verdict(Verdict::Refused(Refusal::Revoked))),
    });
    assert!(
        ended
            .iter()
            .any(|e| matches!(e, Effect::ForgetAcceptance(_)))
    );
    assert!(contact_row(&ended).is_none());
    let view = bob.core.acceptance(&key.short_id()).unwrap();
    assert_eq!(
        view.stage,
        AcceptanceStage::Failed {
            reason: "the inviter revoked this invitation".into()
        }
    );
}

#[test]
fn an_unreachable_inviter_is_tried_again_with_capped_backoff_until_the_acceptance_gives_up() {
    let mut alice = driver(INVITER);
    let mut bob = driver(INVITEE);
    let code = create(&mut alice, 1, false);
    let (key, _) = start(&mut bob, &code);
    let mut delays = Vec::new();
    loop {
        let effects = bob.run(Input::Acceptance {
            key,
            event: AcceptanceEvent::Ended(InviteeEnd::Unreachable(vec![(
                addr().to_string(),
                "Connection refused".into(),
            )])),
        });
        if effects
            .iter()
            .any(|e| matches!(e, Effect::ForgetAcceptance(_)))
        {
            break;
        }
        let next = match bob.core.acceptance(&key.short_id()).unwrap().stage {
            AcceptanceStage::Waiting { next_try_ms, .. } => next_try_ms,
            other => panic!("{other:?}"),
        };
        assert!(bob.core.poll_timeout() <= next, "the core wakes for it");
        delays.push(next - bob.now);
        // Nothing is tried before its time, and it is tried at its time.
        assert!(
            !bob.tick_at(next - 1)
                .iter()
                .any(|e| matches!(e, Effect::StartAcceptance { .. }))
        );
        assert!(
            bob.tick_at(next)
                .iter()
                .any(|e| matches!(e, Effect::StartAcceptance { .. }))
        );
        assert!(delays.len() < 10_000, "never gave up");
    }
    assert_eq!(&delays[..6], &[1_000, 2_000, 4_000, 8_000, 16_000, 30_000]);
    assert!(delays.iter().all(|d| *d <= ACCEPT_RETRY_CAP_MS));
    assert!(bob.now >= T0 + ACCEPT_GIVE_UP_MS);
    let view = bob.core.acceptance(&key.short_id()).unwrap();
    match view.stage {
        AcceptanceStage::Failed { reason } => {
            assert!(
                reason.contains("unreachable") && reason.contains("Connection refused"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_approve_invitation_waits_for_the_users_answer() {
    let mut alice = driver(INVITER);
    let mut bob = driver(INVITEE);
    let code = create(&mut alice, 1, true);
    let (key, ask) = start(&mut bob, &code);
    let attempt = |alice: &mut Driver, bob: &mut Driver, token: u64, ask: Ask| {
        let challenge = challenge_of(&alice.run(Input::HandshakeAsked {
            token: StreamToken(token),
            invitee: bob.core.device(),
            ask,
        }));
        let proof = proof_of(&bob.run(Input::Acceptance {
            key,
            event: AcceptanceEvent::Challenged(challenge),
        }));
        alice.run(Input::HandshakeProved {
            token: StreamToken(token),
            proof,
        })
    };
    let first = attempt(&mut alice, &mut bob, 1, ask);
    assert_eq!(verdict_of(&first), Verdict::AwaitingApproval);
    assert!(
        first
            .iter()
            .any(|e| matches!(e, Effect::Notify(NodeEvent::ApprovalRequested { .. })))
    );
    assert_eq!(alice.core.waiting_answers().len(), 1);
    let waiting = bob.run(Input::Acceptance {
        key,
        event: AcceptanceEvent::Ended(InviteeEnd::Verdict(Verdict::AwaitingApproval)),
    });
    assert!(
        waiting
            .iter()
            .all(|e| !matches!(e, Effect::ForgetAcceptance(_)))
    );
    let (_, answer) = alice.command(InviteCommand::Answer {
        id: key.short_id(),
        approve: true,
    });
    assert!(answer.is_ok(), "{answer:?}");
    // Bob asks again when its poll comes round.
    let retry = bob.tick_at(T0 + APPROVAL_POLL_MS);
    let ask = retry
        .iter()
        .find_map(|e| match e {
            Effect::StartAcceptance { ask, .. } => Some(ask.clone()),
            _ => None,
        })
        .expect("asked again");
    let second = attempt(&mut alice, &mut bob, 2, ask);
    assert!(matches!(verdict_of(&second), Verdict::Accepted { .. }));
}

#[test]
fn an_expired_invitation_is_recorded_as_such_and_refused_with_its_time() {
    let mut alice = driver(INVITER);
    let bob = driver(INVITEE);
    let (_, answer) = alice.command(InviteCommand::Create {
        options: options(60_000, 1, false),
        addrs: vec![addr()],
    });
    let Ok(InviteAnswer::Created(created)) = answer else {
        panic!("{answer:?}");
    };
    let at = created.expires_at_ms.unwrap();
    let key = *alice.core.profile().invitations.keys().next().unwrap();
    assert!(
        alice.core.poll_timeout() <= at,
        "the core wakes for the expiry"
    );
    let before = alice.tick_at(at - 1);
    assert!(
        !before
            .iter()
            .any(|e| matches!(e, Effect::StoreWrites { .. }))
    );
    let expired = alice.tick_at(at);
    let facts: Vec<_> = expired
        .iter()
        .filter_map(|e| match e {
            Effect::StoreWrites { facts, .. } => Some(facts.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(facts.len(), 1);
    assert_eq!(
        crate::invite::facts::InviteFact::parse(facts[0].kind(), facts[0].body()),
        Ok(Some(crate::invite::facts::InviteFact::Expired(key)))
    );
    // Recorded once.
    assert!(
        !alice
            .tick_at(at + 5_000)
            .iter()
            .any(|e| matches!(e, Effect::StoreWrites { .. }))
    );
    let refused = alice.run(Input::HandshakeAsked {
        token: StreamToken(1),
        invitee: bob.core.device(),
        ask: Ask {
            invitation: key,
            ephemeral: [9; 32],
            nonce: [9; 32],
            name: "Bob".into(),
        },
    });
    assert_eq!(
        challenge_of(&refused),
        Challenge::Refused(Refusal::Expired { at_ms: at })
    );
}
