//! Anti-entropy between two replicas: correctness, round trips and bytes (acceptance 4), and
//! frames from a hostile peer (typed errors, never a panic).

mod support;

use aura::state::coordinator::CrdtCoordinator;
use aura::state::fact::Fact;
use aura::state::journal::Journal;
use aura::state::sync::{Initiator, JournalCoordinator, Responder, SyncError, reconcile_locally};
use aura::state::sync_frame::{Frame, FrameError};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use support::{NOW_MS, context, device, messages};

fn coordinator(seed: u8, facts: &[Fact]) -> JournalCoordinator {
    let mut journal = Journal::new();
    for fact in facts {
        journal.ingest_fact(fact.clone(), NOW_MS).unwrap();
    }
    CrdtCoordinator::with_cv_state(device(seed), journal)
}

fn ids(coordinator: &JournalCoordinator) -> Vec<aura::state::fact::FactId> {
    coordinator
        .cv_handler()
        .get_state()
        .iter()
        .map(|fact| fact.id())
        .collect()
}

#[test]
fn two_small_replicas_end_with_the_union() {
    let all = messages(context(1), NOW_MS - 10_000, 300);
    let left: Vec<Fact> = all
        .iter()
        .step_by(2)
        .cloned()
        .chain(all[..50].iter().cloned())
        .collect();
    let right: Vec<Fact> = all.iter().skip(1).step_by(2).cloned().collect();
    let (left, right, report) = reconcile_locally(
        coordinator(1, &left),
        coordinator(2, &right),
        context(1),
        NOW_MS,
    )
    .unwrap();
    assert_eq!(left.cv_handler().get_state().len(), all.len());
    assert_eq!(ids(&left), ids(&right));
    assert_eq!(report.missing, 0);
    assert_eq!(report.received.rejected_total(), 0);
}

/// The reconciliation set of acceptance 4: 100,000 facts, of which each side holds 50 the
/// other lacks.
const SET_SIZE: usize = 100_000;
const DIFFERENCES: usize = 100;
/// Round trips allowed: two of Negentropy to narrow 100,000 items down to the differing ids
/// (16-way splits: 100,000 → 6,250 → 390 → ids), one to exchange the facts.
const MAX_ROUND_TRIPS: u32 = 3;
/// Bytes both ways allowed. Negentropy sends about 16 fingerprints (≈ 24 bytes with their
/// bounds) per differing range per level, then the ids of ranges of at most 32 items; with
/// 100 differences that is ≈ 100 × (16 × 24 + 32 × 32) ≈ 140 KB, plus the 100 facts (≈ 200
/// bytes each). 256 KiB leaves room without hiding a regression to sending the whole set
/// (3.2 MB of ids).
const MAX_EXCHANGED_BYTES: u64 = 256 * 1024;

#[test]
fn a_hundred_differences_in_a_hundred_thousand_facts_take_three_round_trips() {
    let all = messages(context(7), NOW_MS - 200_000, SET_SIZE);
    // Differences scattered over the whole range, the worst case for range splitting.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut differing = BTreeSet::new();
    while differing.len() < DIFFERENCES {
        differing.insert(rng.random_range(0..SET_SIZE));
    }
    let mut shared = Journal::new();
    for (index, fact) in all.iter().enumerate() {
        if !differing.contains(&index) {
            shared.ingest_fact(fact.clone(), NOW_MS).unwrap();
        }
    }
    let mut left = shared.clone();
    let mut right = shared;
    for (turn, index) in differing.iter().enumerate() {
        let side = if turn % 2 == 0 { &mut left } else { &mut right };
        side.ingest_fact(all[*index].clone(), NOW_MS).unwrap();
    }
    let (left, right, report) = reconcile_locally(
        CrdtCoordinator::with_cv_state(device(1), left),
        CrdtCoordinator::with_cv_state(device(2), right),
        context(7),
        NOW_MS,
    )
    .unwrap();
    assert_eq!(left.cv_handler().get_state().len(), SET_SIZE);
    assert_eq!(right.cv_handler().get_state().len(), SET_SIZE);
    assert_eq!(ids(&left), ids(&right));
    assert_eq!(report.received.accepted, (DIFFERENCES / 2) as u64);
    assert_eq!(report.facts_sent, (DIFFERENCES / 2) as u64);
    let exchanged = report.bytes_sent + report.bytes_received;
    eprintln!(
        "{SET_SIZE} facts, {DIFFERENCES} differences: {} round trips, {exchanged} bytes \
         ({} frames out, {} in; {} bytes of reconciliation sent by the initiator)",
        report.round_trips, report.frames_sent, report.frames_received, report.reconcile_bytes_sent
    );
    assert!(report.round_trips <= MAX_ROUND_TRIPS, "{report:?}");
    assert!(
        exchanged <= MAX_EXCHANGED_BYTES,
        "{exchanged} bytes: {report:?}"
    );
}

#[test]
fn every_frame_sent_is_within_the_wire_cap() {
    // Large facts force the fact frames to split.
    let key = support::key(3);
    let big: Vec<Fact> = (0..40)
        .map(|index| {
            support::sign(
                &key,
                context(2),
                support::time(NOW_MS - 1_000 + index, 0),
                aura::state::kinds::MESSAGE,
                vec![index as u8; 20_000],
            )
        })
        .collect();
    let (mut initiator, first) = Initiator::start(coordinator(1, &[]), context(2)).unwrap();
    let mut responder = Responder::new(coordinator(2, &big));
    let mut to_responder = first;
    while !initiator.is_finished() {
        let mut to_initiator = Vec::new();
        for frame in &to_responder {
            assert!(frame.len() <= aura::state::limits::MAX_FRAME_BYTES);
            to_initiator.extend(responder.receive(frame, NOW_MS).unwrap());
        }
        to_responder.clear();
        for frame in &to_initiator {
            assert!(frame.len() <= aura::state::limits::MAX_FRAME_BYTES);
            to_responder.extend(initiator.receive(frame, NOW_MS).unwrap());
        }
    }
    let (initiator, _) = initiator.finish();
    assert_eq!(initiator.cv_handler().get_state().len(), big.len());
}

#[test]
fn frames_out_of_place_are_typed_errors_and_end_the_session() {
    let mut responder = Responder::new(coordinator(2, &[]));
    let facts_first = Frame::Facts(Vec::new()).encode(true);
    assert!(matches!(
        responder.receive(&facts_first, NOW_MS),
        Err(SyncError::MissingHello)
    ));
    assert!(matches!(
        responder.receive(&facts_first, NOW_MS),
        Err(SyncError::Ended)
    ));

    let mut responder = Responder::new(coordinator(2, &[]));
    let hello_only = Frame::Hello {
        context: context(1),
    }
    .encode(true);
    assert!(matches!(
        responder.receive(&hello_only, NOW_MS),
        Err(SyncError::MissingReconcile)
    ));

    let (mut initiator, _) = Initiator::start(coordinator(1, &[]), context(1)).unwrap();
    let fact = messages(context(1), NOW_MS - 10, 1).remove(0);
    let unsolicited = Frame::Facts(vec![(fact.id(), fact.encode())]).encode(true);
    assert!(matches!(
        initiator.receive(&unsolicited, NOW_MS),
        Err(SyncError::Unsolicited(id)) if id == fact.id()
    ));

    let (mut initiator, _) = Initiator::start(coordinator(1, &[]), context(1)).unwrap();
    let want = Frame::Want(vec![fact.id()]).encode(true);
    assert!(matches!(
        initiator.receive(&want, NOW_MS),
        Err(SyncError::UnexpectedFrame { .. })
    ));
}

#[test]
fn malformed_bytes_are_frame_errors() {
    let oversized = vec![1u8; aura::state::limits::MAX_FRAME_BYTES + 1];
    assert!(matches!(
        Frame::decode(&oversized),
        Err(FrameError::TooLarge(_))
    ));
    assert!(matches!(
        Frame::decode(&[9, 1, 0]),
        Err(FrameError::UnknownVersion(9))
    ));
    assert!(matches!(
        Frame::decode(&[1, 77, 0]),
        Err(FrameError::UnknownKind(77))
    ));
    assert!(matches!(
        Frame::decode(&[1, 5, 0x80]),
        Err(FrameError::UnknownFlags(_))
    ));
    assert!(matches!(
        Frame::decode(&[1, 3, 1, 0, 2, 7]),
        Err(FrameError::Malformed(_))
    ));
    assert!(matches!(
        Frame::decode(&[1, 5, 1, 0]),
        Err(FrameError::Malformed(_))
    ));
    let huge_fact = [1, 4, 1, 0, 1]
        .iter()
        .copied()
        .chain([0; 32])
        .chain([0xff; 4])
        .collect::<Vec<_>>();
    assert!(matches!(
        Frame::decode(&huge_fact),
        Err(FrameError::FactTooLarge(_))
    ));
}

fn arbitrary_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        // A valid header, so that the payload parsers and Negentropy see the junk.
        (
            1u8..=5,
            0u8..4,
            proptest::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(kind, flags, payload)| {
                let mut frame = vec![1, kind, flags];
                frame.extend(payload);
                frame
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hostile_frames_never_panic(frames in proptest::collection::vec(arbitrary_frame(), 1..8)) {
        let facts = messages(context(1), NOW_MS - 1_000, 80);
        let mut responder = Responder::new(coordinator(2, &facts));
        let hello = Frame::Hello { context: context(1) }.encode(false);
        let _ = responder.receive(&hello, NOW_MS);
        let (mut initiator, _) = Initiator::start(coordinator(1, &facts[..40]), context(1)).unwrap();
        for frame in &frames {
            let _ = responder.receive(frame, NOW_MS);
            let _ = initiator.receive(frame, NOW_MS);
        }
    }

    #[test]
    fn corrupted_reconciliation_messages_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
        to_initiator in any::<bool>(),
    ) {
        // Real messages with a few bytes changed reach deep into the Negentropy parser.
        let facts = messages(context(1), NOW_MS - 1_000, 300);
        let (mut initiator, mut first) =
            Initiator::start(coordinator(1, &facts[..200]), context(1)).unwrap();
        let mut responder = Responder::new(coordinator(2, &facts[100..]));
        let corrupt = |frames: &mut Vec<Vec<u8>>| {
            let frame = frames.last_mut().unwrap();
            for (index, mask) in &flips {
                // Past the header, so the frame still reaches the reconciler.
                let at = 3 + index.index(frame.len() - 3);
                frame[at] ^= mask;
            }
        };
        if !to_initiator {
            corrupt(&mut first);
        }
        let mut reply = Vec::new();
        for frame in &first {
            match responder.receive(frame, NOW_MS) {
                Ok(out) => reply.extend(out),
                Err(_) => return Ok(()),
            }
        }
        if to_initiator && !reply.is_empty() {
            corrupt(&mut reply);
        }
        for frame in &reply {
            let _ = initiator.receive(frame, NOW_MS);
        }
    }

    #[test]
    fn frames_round_trip(ids in proptest::collection::vec(any::<[u8; 32]>(), 0..50), end in any::<bool>()) {
        let frame = Frame::Want(ids.into_iter().map(aura::state::fact::FactId).collect());
        prop_assert_eq!(Frame::decode(&frame.encode(end)).unwrap(), (frame, end));
    }
}
