//! Write batching: signed, charged, stored in one transaction, then gossiped.

use super::*;

fn write(n: u64, context: ContextId) -> WriteRequest {
    WriteRequest {
        request: RequestId(n),
        context,
        kind: kinds::MESSAGE,
        body: format!("message {n}").into_bytes(),
    }
}

#[test]
fn writes_that_arrive_together_are_stored_in_one_batch_then_gossiped_and_answered() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    node.members(&[peer(2)], CONTEXT);
    let effects = node.handle(Input::Writes((1..=3).map(|n| write(n, CONTEXT)).collect()));
    let batches: Vec<(BatchId, usize)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::StoreWrites { batch, facts, .. } => Some((*batch, facts.len())),
            _ => None,
        })
        .collect();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].1, 3);
    // Nothing leaves before the store has it.
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Publish { .. } | Effect::Reply { .. }))
    );

    let effects = node.handle(Input::WritesStored {
        batch: batches[0].0,
        result: Ok(()),
    });
    let published = effects
        .iter()
        .filter(|e| matches!(e, Effect::Publish { context, .. } if *context == CONTEXT))
        .count();
    let answered: Vec<u64> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply {
                request,
                reply: Reply::Written(Ok(_)),
            } => Some(request.0),
            _ => None,
        })
        .collect();
    assert_eq!(published, 3);
    assert_eq!(answered, [1, 2, 3]);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Notify(NodeEvent::FactsStored { ids, .. }) if ids.len() == 3
    )));
}

#[test]
fn a_write_the_guard_refuses_is_neither_stored_nor_sent_and_says_why() {
    let config = guard_config(|budgets| budgets.limit_low = 1);
    let mut node = Driver::with_guard(vec![CONTEXT], Vec::new(), config);
    node.members(&[peer(2)], CONTEXT);
    let effects = node.handle(Input::Writes(vec![write(1, CONTEXT), write(2, CONTEXT)]));
    let stored: Vec<usize> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::StoreWrites { facts, .. } => Some(facts.len()),
            _ => None,
        })
        .collect();
    assert_eq!(stored, [1], "the second write is over the peer's budget");
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Reply {
            request: RequestId(2),
            reply: Reply::Written(Err(NodeError::Denied(_)))
        }
    )));
    assert_eq!(node.core.status().guard.denied_publishes, 1);
}

#[test]
fn a_batch_the_store_refuses_is_not_gossiped_and_every_writer_hears_why() {
    let mut node = Driver::new(vec![CONTEXT], Vec::new());
    let effects = node.handle(Input::Writes(vec![write(1, CONTEXT), write(2, CONTEXT)]));
    let batch = effects
        .iter()
        .find_map(|e| match e {
            Effect::StoreWrites { batch, .. } => Some(*batch),
            _ => None,
        })
        .unwrap();
    let effects = node.handle(Input::WritesStored {
        batch,
        result: Err("disk full".into()),
    });
    assert!(!effects.iter().any(|e| matches!(e, Effect::Publish { .. })));
    let errors = effects
        .iter()
        .filter(|e| {
            matches!(e, Effect::Reply { reply: Reply::Written(Err(NodeError::Fact(m))), .. } if m == "disk full")
        })
        .count();
    assert_eq!(errors, 2);
}

#[test]
fn a_write_to_a_new_context_joins_it_first() {
    let mut node = Driver::new(Vec::new(), Vec::new());
    let other = ContextId([4; 32]);
    let effects = node.handle(Input::Writes(vec![write(1, other)]));
    let position = |want: fn(&Effect) -> bool| effects.iter().position(want).unwrap();
    let join = position(|e| matches!(e, Effect::PersistJoin { request: None, .. }));
    let subscribe = position(|e| matches!(e, Effect::Subscribe(_)));
    let store = position(|e| matches!(e, Effect::StoreWrites { .. }));
    assert!(join < store && subscribe < store, "{effects:?}");
    assert_eq!(node.core.status().contexts, 1);
    // Joined once: the next write costs no join.
    let effects = node.handle(Input::Writes(vec![write(2, other)]));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::PersistJoin { .. }))
    );
}
