//! Session types and choreographies: projections, runs over the in-memory transport, and
//! protocol violations that must not compile (acceptance 1).

mod support;

use aura::protocol::anti_entropy::{self, DoneAck, Facts, Hello, Reconcile, Rounds, Want};
use aura::protocol::choreography::assert_same_type;
use aura::protocol::request_response::{self, SendRequest, SendResponse};
use aura::protocol::session::{Chan, Choose, End, Loop, Offer, Rec, Recv, Send};
use aura::protocol::transport::MemoryTransport;
use aura::state::coordinator::CrdtCoordinator;
use aura::state::fact::Fact;
use aura::state::journal::Journal;
use aura::state::sync::{self, JournalCoordinator};
use support::{NOW_MS, context, device, messages};

#[test]
fn request_response_projects_to_the_guide_session_types() {
    assert_same_type::<request_response::session::Client, Send<SendRequest, Recv<SendResponse, End>>>(
    );
    assert_same_type::<request_response::session::Server, Recv<SendRequest, Send<SendResponse, End>>>(
    );
}

#[test]
fn anti_entropy_projects_to_a_loop_the_initiator_decides() {
    type InitiatorLoop = Rounds<anti_entropy::roles::Initiator>;
    type ResponderLoop = Rounds<anti_entropy::roles::Responder>;
    assert_same_type::<
        anti_entropy::session::Initiator,
        Send<Hello, Recv<Reconcile, Rec<InitiatorLoop>>>,
    >();
    assert_same_type::<
        <InitiatorLoop as Loop>::Body,
        Choose<
            Send<Want, Recv<Facts, Rec<InitiatorLoop>>>,
            Send<anti_entropy::Done, Recv<DoneAck, End>>,
        >,
    >();
    assert_same_type::<
        anti_entropy::session::Responder,
        Recv<Hello, Send<Reconcile, Rec<ResponderLoop>>>,
    >();
    assert_same_type::<
        <ResponderLoop as Loop>::Body,
        Offer<
            Recv<Want, Send<Facts, Rec<ResponderLoop>>>,
            Recv<anti_entropy::Done, Send<DoneAck, End>>,
        >,
    >();
}

#[test]
fn annotation_tables_list_every_message_in_order() {
    let names: Vec<_> = request_response::ANNOTATIONS
        .iter()
        .map(|a| (a.message, a.from, a.to, a.guard_capability, a.flow_cost))
        .collect();
    assert_eq!(
        names,
        [
            ("SendRequest", "Client", "Server", "send_request", 50),
            ("SendResponse", "Server", "Client", "send_response", 30),
        ]
    );
    assert_eq!(
        request_response::ANNOTATIONS[1].journal_facts,
        ["response_sent"]
    );
    let messages: Vec<_> = anti_entropy::ANNOTATIONS
        .iter()
        .map(|a| a.message)
        .collect();
    assert_eq!(
        messages,
        ["Hello", "Reconcile", "Want", "Facts", "Done", "DoneAck"]
    );
    assert!(
        anti_entropy::ANNOTATIONS
            .iter()
            .all(|a| a.protocol == "AntiEntropy")
    );
}

#[test]
fn request_response_runs_over_the_memory_transport() {
    let (client_end, server_end) = MemoryTransport::pair();
    let server = request_response::server(Chan::new(server_end), |mut request| {
        request.reverse();
        request
    });
    let client = request_response::client(Chan::new(client_end), b"ping".to_vec());
    let (client, server) = futures::executor::block_on(async { futures::join!(client, server) });
    let (response, _closed, transport) = client.unwrap();
    assert_eq!(response, b"gnip");
    assert_eq!(transport.sent, 1);
    let _closed = server.unwrap();
}

fn coordinator(seed: u8, facts: &[Fact]) -> JournalCoordinator {
    let mut journal = Journal::new();
    for fact in facts {
        journal.ingest_fact(fact.clone(), NOW_MS).unwrap();
    }
    CrdtCoordinator::with_cv_state(device(seed), journal)
}

fn ids(coordinator: &JournalCoordinator) -> Vec<aura::state::fact::FactId> {
    let mut ids: Vec<_> = coordinator
        .cv_handler()
        .get_state()
        .iter()
        .map(|fact| fact.id())
        .collect();
    ids.sort();
    ids
}

#[test]
fn anti_entropy_choreography_drives_the_sync_state_machines() {
    let all = messages(context(1), NOW_MS - 10_000, 200);
    let left: Vec<Fact> = all.iter().step_by(2).cloned().collect();
    let right: Vec<Fact> = all
        .iter()
        .skip(1)
        .step_by(2)
        .chain(all[..20].iter())
        .cloned()
        .collect();
    let (mut initiator, first_turn) =
        sync::Initiator::start(coordinator(1, &left), context(1)).unwrap();
    let mut responder = sync::Responder::new(coordinator(2, &right));
    let (a, b) = MemoryTransport::pair();
    let responder_run = anti_entropy::responder(Chan::new(b), &mut responder, context(1), NOW_MS);
    let initiator_run = anti_entropy::initiator(Chan::new(a), &mut initiator, first_turn, NOW_MS);
    let (left, right) =
        futures::executor::block_on(async { futures::join!(initiator_run, responder_run) });
    let _closed = left.unwrap();
    let _closed = right.unwrap();
    assert!(initiator.is_finished());
    let (left, _) = initiator.finish();
    let (right, _) = responder.finish();
    assert_eq!(left.cv_handler().get_state().len(), all.len());
    assert_eq!(ids(&left), ids(&right));
}

#[test]
fn protocol_violations_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
