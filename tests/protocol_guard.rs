//! The guard chain: nothing reaches a transport without a charge, a denial changes nothing
//! (acceptance 2), and a budget that runs out mid-protocol stops both roles with the same
//! reason until the next epoch (acceptance 4).

mod support;

use aura::protocol::guard::{Denial, GuardChain, GuardState, SendRequest};
use aura::protocol::guarded::{GuardedTransport, Route};
use aura::protocol::request_response;
use aura::protocol::session::Chan;
use aura::protocol::transport::{MemoryTransport, SessionError};
use aura::state::capability::{Capability, CapabilitySet};
use aura::state::flow_budget::{BudgetError, BudgetPolicy, FlowBudgets};
use aura::state::leakage::{
    LeakageCost, LeakageLedger, LeakagePolicy, MessageClass, OptionalKind, Relationship, Timing,
};
use proptest::prelude::*;
use support::{context, device};

const EPOCH_MS: u64 = 60_000;

fn policy() -> BudgetPolicy {
    BudgetPolicy {
        epoch_ms: EPOCH_MS,
        limit_by_trust: [0, 100, 400, 1_600, 6_400],
    }
}

fn leakage(limit: u64) -> LeakageLedger {
    LeakageLedger::new(LeakagePolicy {
        default_limit: LeakageCost {
            external: limit,
            neighbour: limit,
            group: limit,
        },
        optional_reserve_percent: 25,
    })
}

fn state(peer: u8, flow_limit: u64, leakage_limit: u64, caps: &[&str]) -> GuardState {
    let mut budgets = FlowBudgets::default();
    budgets.set_limit(context(1), device(peer), flow_limit);
    GuardState {
        capabilities: CapabilitySet::new(caps.iter().map(|name| Capability::new(*name))),
        budgets,
        leakage: leakage(leakage_limit),
        journal: Vec::new(),
    }
}

fn route(peer: u8) -> Route {
    Route {
        context: context(1),
        peer: device(peer),
        relationship: Relationship::Group,
        timing: Timing::Batched,
    }
}

type Outcome = (
    Result<Vec<u8>, SessionError>,
    Result<(), SessionError>,
    usize,
    usize,
);

/// One request/response between a client (device 1) and a server (device 2) over guarded
/// transports; returns both results and how many messages each side handed to its transport.
fn run(client: &mut GuardState, server: &mut GuardState, request: Vec<u8>) -> Outcome {
    let (a, b) = MemoryTransport::pair();
    let server_run = async move {
        let chan = Chan::new(GuardedTransport::new(b, server, route(1)));
        match request_response::server(chan, |request| request).await {
            Ok((_closed, transport)) => (Ok(()), transport.into_inner().sent),
            Err(err) => (Err(err), usize::MAX),
        }
    };
    let client_run = async move {
        let chan = Chan::new(GuardedTransport::new(a, client, route(2)));
        match request_response::client(chan, request).await {
            Ok((response, _closed, transport)) => (Ok(response), transport.into_inner().sent),
            Err(err) => (Err(err), usize::MAX),
        }
    };
    let ((client_result, client_sent), (server_result, server_sent)) =
        futures::executor::block_on(async { futures::join!(client_run, server_run) });
    (client_result, server_result, client_sent, server_sent)
}

fn spent(state: &GuardState, peer: u8) -> u64 {
    state
        .budgets
        .get(context(1), device(peer))
        .map_or(0, |budget| budget.spent)
}

#[test]
fn a_budget_that_runs_out_mid_protocol_stops_both_roles_until_the_next_epoch() {
    let send_response = request_response::SendResponse::ANNOTATION.flow_cost;
    let send_request = request_response::SendRequest::ANNOTATION.flow_cost;
    let mut client = state(2, 10 * send_request, 1_000, &["send_request"]);
    // The server can answer once per epoch.
    let mut server = state(1, send_response, 1_000, &["send_response"]);

    let (response, served, _, _) = run(&mut client, &mut server, b"one".to_vec());
    assert_eq!(response.unwrap(), b"one");
    served.unwrap();
    assert_eq!(server.journal.len(), 1, "response_sent recorded");

    // Second run: the request goes out, the server's answer does not fit.
    let server_before = server.clone();
    let (response, served, _, _) = run(&mut client, &mut server, b"two".to_vec());
    let expected = Denial::Flow(BudgetError::InsufficientBudget {
        required: send_response,
        available: 0,
    });
    assert_eq!(served.unwrap_err(), SessionError::Denied(expected.clone()));
    assert_eq!(
        response.unwrap_err(),
        SessionError::Aborted(expected.to_string())
    );
    assert_eq!(server, server_before, "the denied step changed nothing");
    assert!(
        expected.to_string().contains("30 needed, 0 left"),
        "{expected}"
    );

    // The next epoch refills the server's budget and the protocol completes again.
    let next_epoch = EPOCH_MS * (server.budgets.epoch() + 1);
    server.budgets.tick(&policy(), next_epoch);
    client.budgets.tick(&policy(), next_epoch);
    let (response, served, _, _) = run(&mut client, &mut server, b"three".to_vec());
    assert_eq!(response.unwrap(), b"three");
    served.unwrap();
}

#[test]
fn a_missing_capability_is_a_denial_without_effects() {
    let mut client = state(2, 1_000, 1_000, &[]);
    let mut server = state(1, 1_000, 1_000, &["send_response"]);
    let before = client.clone();
    let (response, served, _, _) = run(&mut client, &mut server, b"x".to_vec());
    let expected = Denial::MissingCapability {
        capability: "send_request".into(),
    };
    assert_eq!(
        response.unwrap_err(),
        SessionError::Denied(expected.clone())
    );
    assert_eq!(
        served.unwrap_err(),
        SessionError::Aborted(expected.to_string())
    );
    assert_eq!(client, before);
}

#[test]
fn optional_traffic_stops_before_essential_traffic_with_a_reason() {
    let mut state = state(2, 1_000_000, 8, &["presence", "send"]);
    let request = |class| SendRequest {
        context: context(1),
        peer: device(2),
        capability: if class == MessageClass::Essential {
            "send"
        } else {
            "presence"
        },
        flow_cost: 1,
        size: 100,
        class,
        relationship: Relationship::Group,
        timing: Timing::Batched,
        journal_facts: &[],
    };
    let presence = MessageClass::Optional(OptionalKind::Presence);
    let mut optional_sent = 0;
    while state.authorize(&request(presence)).is_ok() {
        optional_sent += 1;
    }
    let before = state.clone();
    let denial = state.authorize(&request(presence)).unwrap_err();
    assert!(denial.to_string().contains("paused"), "{denial}");
    assert_eq!(state, before);
    let mut essential_sent = 0;
    while state.authorize(&request(MessageClass::Essential)).is_ok() {
        essential_sent += 1;
    }
    assert_eq!((optional_sent, essential_sent), (6, 2));
    let denial = state
        .authorize(&request(MessageClass::Essential))
        .unwrap_err();
    assert!(
        denial.to_string().contains("resumes in epoch 1"),
        "{denial}"
    );
}

#[derive(Debug, Clone)]
enum Step {
    Run {
        request_len: usize,
    },
    Tick,
    Raw {
        cost: u64,
        size: usize,
        optional: bool,
        capability: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0usize..3_000).prop_map(|request_len| Step::Run { request_len }),
        1 => Just(Step::Tick),
        3 => (0u64..200, 0usize..70_000, any::<bool>(), any::<bool>()).prop_map(
            |(cost, size, optional, capability)| Step::Raw { cost, size, optional, capability }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Over random protocol runs, direct sends and budget states: every message a transport
    /// received was charged (spend equals what was handed over), and every denied step left
    /// budgets, journal and leakage as they were.
    #[test]
    fn nothing_is_sent_without_a_charge_and_denials_change_nothing(
        client_limit in 0u64..400,
        server_limit in 0u64..200,
        leakage_limit in 0u64..40,
        client_caps in any::<bool>(),
        steps in proptest::collection::vec(step(), 1..24),
    ) {
        let caps: &[&str] = if client_caps { &["send_request", "raw"] } else { &["raw"] };
        let mut client = state(2, client_limit, leakage_limit, caps);
        let mut server = state(1, server_limit, leakage_limit, &["send_response"]);
        let mut now = EPOCH_MS;
        client.budgets.tick(&policy(), now);
        server.budgets.tick(&policy(), now);
        // Cost handed to transports in the current epoch, per side.
        let (mut client_paid, mut server_paid) = (0u64, 0u64);
        for step in steps {
            match step {
                Step::Tick => {
                    now += EPOCH_MS;
                    client.budgets.tick(&policy(), now);
                    server.budgets.tick(&policy(), now);
                    client_paid = 0;
                    server_paid = 0;
                }
                Step::Run { request_len } => {
                    let (client_before, server_before) = (client.clone(), server.clone());
                    let (response, served, client_sent, server_sent) =
                        run(&mut client, &mut server, vec![7; request_len]);
                    let request_cost = request_response::SendRequest::ANNOTATION.flow_cost;
                    let response_cost = request_response::SendResponse::ANNOTATION.flow_cost;
                    match (&response, &served) {
                        (Ok(_), Ok(())) => {
                            prop_assert_eq!(client_sent, 1);
                            prop_assert_eq!(server_sent, 1);
                            client_paid += request_cost;
                            server_paid += response_cost;
                        }
                        (Err(SessionError::Denied(_)), Err(SessionError::Aborted(_))) => {
                            prop_assert_eq!(&client, &client_before);
                            prop_assert_eq!(&server, &server_before);
                        }
                        (Err(SessionError::Aborted(_)), Err(SessionError::Denied(_))) => {
                            // The request was charged and sent; the response was not.
                            client_paid += request_cost;
                            prop_assert_eq!(&server, &server_before);
                        }
                        other => prop_assert!(false, "unexpected outcome {:?}", other),
                    }
                }
                Step::Raw { cost, size, optional, capability } => {
                    let request = SendRequest {
                        context: context(1),
                        peer: device(2),
                        capability: if capability { "raw" } else { "other" },
                        flow_cost: cost,
                        size,
                        class: if optional {
                            MessageClass::Optional(OptionalKind::Receipt)
                        } else {
                            MessageClass::Essential
                        },
                        relationship: Relationship::Group,
                        timing: Timing::Immediate,
                        journal_facts: &["raw_sent"],
                    };
                    let before = client.clone();
                    let evaluated = GuardChain::evaluate(&client.snapshot(), &request);
                    prop_assert_eq!(&client, &before, "evaluating changes nothing");
                    match client.authorize(&request) {
                        Ok(effects) => {
                            prop_assert_eq!(Ok(effects), evaluated);
                            client_paid += cost;
                            prop_assert_eq!(client.journal.len(), before.journal.len() + 1);
                        }
                        Err(denial) => {
                            prop_assert_eq!(Err(denial), evaluated);
                            prop_assert_eq!(&client, &before);
                        }
                    }
                }
            }
            prop_assert_eq!(spent(&client, 2), client_paid);
            prop_assert_eq!(spent(&server, 1), server_paid);
        }
    }
}

mod anti_entropy_budget {
    use super::*;
    use aura::protocol::anti_entropy::{self, AntiEntropyError};
    use aura::state::coordinator::CrdtCoordinator;
    use aura::state::fact::Fact;
    use aura::state::journal::Journal;
    use aura::state::sync::{self, JournalCoordinator};
    use support::{NOW_MS, messages};

    fn coordinator(seed: u8, facts: &[Fact]) -> JournalCoordinator {
        let mut journal = Journal::new();
        for fact in facts {
            journal.ingest_fact(fact.clone(), NOW_MS).unwrap();
        }
        CrdtCoordinator::with_cv_state(device(seed), journal)
    }

    type Sides = (
        Result<(), AntiEntropyError>,
        Result<(), AntiEntropyError>,
        JournalCoordinator,
        JournalCoordinator,
    );

    fn sync_once(
        left: JournalCoordinator,
        right: JournalCoordinator,
        initiator_state: &mut GuardState,
        responder_state: &mut GuardState,
    ) -> Sides {
        let (mut initiator, first) = sync::Initiator::start(left, context(1)).unwrap();
        let mut responder = sync::Responder::new(right);
        let (a, b) = MemoryTransport::pair();
        let responder_run = async {
            let chan = Chan::new(GuardedTransport::new(b, responder_state, route(1)));
            anti_entropy::responder(chan, &mut responder, context(1), NOW_MS)
                .await
                .map(|_| ())
        };
        let initiator_run = async {
            let chan = Chan::new(GuardedTransport::new(a, initiator_state, route(2)));
            anti_entropy::initiator(chan, &mut initiator, first, NOW_MS)
                .await
                .map(|_| ())
        };
        let (left_result, right_result) =
            futures::executor::block_on(async { futures::join!(initiator_run, responder_run) });
        (
            left_result,
            right_result,
            initiator.finish().0,
            responder.finish().0,
        )
    }

    #[test]
    fn a_sync_that_runs_out_of_budget_aborts_both_roles_and_resumes_next_epoch() {
        let all = messages(context(1), NOW_MS - 10_000, 100);
        let left = coordinator(1, &all[..60]);
        let right = coordinator(2, &all[40..]);
        let hello = anti_entropy::Hello::ANNOTATION.flow_cost;
        // What a whole session costs the initiator, measured on copies with room to spare.
        let mut probe = state(2, 1_000, 1_000, &["sync"]);
        let (probed, _, _, _) = sync_once(
            left.clone(),
            right.clone(),
            &mut probe,
            &mut state(1, 1_000, 1_000, &["sync"]),
        );
        probed.unwrap();
        let session_cost = spent(&probe, 2);
        assert!(session_cost > hello);

        // The budget covers one session per epoch, but earlier traffic this epoch left only
        // enough for the Hello.
        let mut initiator_state = state(2, session_cost, 1_000, &["sync"]);
        initiator_state
            .budgets
            .charge(context(1), device(2), session_cost - hello)
            .unwrap();
        let mut responder_state = state(1, 1_000, 1_000, &["sync"]);
        let (left_result, right_result, left, right) =
            sync_once(left, right, &mut initiator_state, &mut responder_state);
        assert_eq!(
            spent(&initiator_state, 2),
            session_cost,
            "the Hello was charged"
        );
        let denial = match left_result {
            Err(AntiEntropyError::Session(SessionError::Denied(denial))) => denial,
            other => panic!("the initiator should be denied, got {other:?}"),
        };
        assert!(matches!(
            denial,
            Denial::Flow(BudgetError::InsufficientBudget { available: 0, .. })
        ));
        match right_result {
            Err(AntiEntropyError::Session(SessionError::Aborted(reason))) => {
                assert_eq!(reason, denial.to_string())
            }
            other => panic!("the responder should see the abort, got {other:?}"),
        }
        assert_eq!(
            responder_state
                .budgets
                .get(context(1), device(1))
                .unwrap()
                .spent,
            anti_entropy::Reconcile::ANNOTATION.flow_cost
        );
        assert!(
            initiator_state.journal.is_empty(),
            "no sync_done for a session that failed"
        );

        let next_epoch = EPOCH_MS * (initiator_state.budgets.epoch() + 1);
        initiator_state.budgets.tick(&policy(), next_epoch);
        responder_state.budgets.tick(&policy(), next_epoch);
        let (left_result, right_result, left, right) =
            sync_once(left, right, &mut initiator_state, &mut responder_state);
        left_result.unwrap();
        right_result.unwrap();
        assert_eq!(left.cv_handler().get_state().len(), all.len());
        assert_eq!(right.cv_handler().get_state().len(), all.len());
        assert_eq!(initiator_state.journal.len(), 1, "sync_done recorded");
        assert_eq!(initiator_state.journal[0].kind, "sync_done");
    }
}

#[test]
fn a_guarded_send_is_padded_to_its_size_bucket() {
    let mut client = state(2, 1_000, 1_000, &["send_request"]);
    let mut server = state(1, 1_000, 1_000, &["send_response"]);
    let (a, b) = MemoryTransport::pair();
    let server_run = async {
        let chan = Chan::new(GuardedTransport::new(b, &mut server, route(1)));
        request_response::server(chan, |request| request)
            .await
            .map(|(_closed, transport)| transport.into_inner().padded_sizes)
    };
    let client_run = async {
        let chan = Chan::new(GuardedTransport::new(a, &mut client, route(2)));
        request_response::client(chan, vec![7; 300])
            .await
            .map(|(_, _closed, transport)| transport.into_inner().padded_sizes)
    };
    let (client_sizes, server_sizes) =
        futures::executor::block_on(async { futures::join!(client_run, server_run) });
    // 300 bytes travel in the 1 KiB bucket, both ways.
    assert_eq!(client_sizes.unwrap(), vec![1024]);
    assert_eq!(server_sizes.unwrap(), vec![1024]);
}
