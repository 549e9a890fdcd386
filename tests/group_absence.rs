//! A member away while the group goes on: C stops; A and B exchange 500 messages, and a
//! member is removed and added again; C starts again from its store and, from the others,
//! gets every message it is entitled to, in the same order as they have them.

// Tests measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use aura::agent::core::GroupAnswer;
use aura::groups::views::GroupView;
use aura::node::{GroupReply, GroupRequest, Node, NodeClient, NodeHandle, NodeOptions};
use support::friends::befriend;
use support::poll::eventually;

const MESSAGES: usize = 500;

async fn start(path: &Path) -> NodeHandle {
    let mut options = NodeOptions::loopback(path).unwrap();
    options.sync_interval = Duration::from_secs(2);
    Node::start(options).await.unwrap()
}

async fn view(node: &NodeClient, id: &str) -> Option<GroupView> {
    match node.group(GroupRequest::List).await {
        Ok(GroupReply::List(groups)) => groups.into_iter().find(|g| g.id == id),
        _ => None,
    }
}

async fn texts(node: &NodeClient, id: &str) -> Vec<String> {
    match node
        .group(GroupRequest::Log {
            group: id.to_owned(),
            limit: 10_000,
            mark_read: false,
        })
        .await
    {
        Ok(GroupReply::Log(log)) => log.messages.into_iter().map(|m| m.text).collect(),
        _ => Vec::new(),
    }
}

async fn send(node: &NodeClient, id: &str, text: String) {
    let answer = node
        .group(GroupRequest::Send {
            group: id.to_owned(),
            text,
            wait: false,
        })
        .await
        .unwrap();
    assert!(matches!(answer, GroupReply::Done(GroupAnswer::Queued)));
}

async fn members(node: &NodeClient, id: &str, count: usize) {
    eventually(&format!("{count} members"), || async {
        view(node, id).await.is_some_and(|g| g.members == count)
    })
    .await;
}

/// `ask` until the contacts' KeyPackages have arrived.
async fn when_offered(node: &NodeClient, request: GroupRequest) -> GroupAnswer {
    let start = Instant::now();
    loop {
        match node.group(request.clone()).await {
            Ok(GroupReply::Done(answer)) => return answer,
            Err(err) if start.elapsed() < support::poll::TIMEOUT => {
                let _ = err;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("{request:?}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_back_after_an_absence_gets_every_message_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let c_path = dir.path().join("c.redb");
    let a = start(&dir.path().join("a.redb")).await;
    let b = start(&dir.path().join("b.redb")).await;
    let c = start(&c_path).await;
    let d = start(&dir.path().join("d.redb")).await;
    for other in [&b, &c, &d] {
        befriend(&a, other).await;
    }
    let with = [&b, &c, &d].map(|n| n.peer_id().to_base58()).to_vec();
    let GroupAnswer::Created { id, .. } = when_offered(
        &a,
        GroupRequest::Create {
            name: "away".into(),
            with,
        },
    )
    .await
    else {
        panic!("not created");
    };
    for node in [&a, &b, &c, &d] {
        members(node, &id, 4).await;
    }
    send(&a, &id, "before C left".into()).await;
    eventually("C to read the first message", || async {
        texts(&c, &id).await.len() == 1
    })
    .await;
    drop(c.stop().await.unwrap());

    for i in 0..MESSAGES / 2 {
        send(&a, &id, format!("a {i}")).await;
        send(&b, &id, format!("b {i}")).await;
    }
    let d_id = d.peer_id().to_base58();
    when_offered(
        &a,
        GroupRequest::Remove {
            group: id.clone(),
            peer: d_id.clone(),
        },
    )
    .await;
    members(&a, &id, 3).await;
    when_offered(
        &a,
        GroupRequest::Invite {
            group: id.clone(),
            peer: d_id,
        },
    )
    .await;
    members(&a, &id, 4).await;
    members(&d, &id, 4).await;
    eventually("A to hold every message", || async {
        texts(&a, &id).await.len() == MESSAGES + 1
    })
    .await;
    let expected = texts(&a, &id).await;
    eventually("B to hold every message", || async {
        texts(&b, &id).await == expected
    })
    .await;

    let back = Instant::now();
    let c = start(&c_path).await;
    eventually("C to catch up", || async {
        texts(&c, &id).await == expected
    })
    .await;
    let caught_up = back.elapsed();
    println!("C caught up with {MESSAGES} messages and 2 commits in {caught_up:?}");
    // And C is a full member again: what it writes, the others read.
    send(&c, &id, "C is back".into()).await;
    for node in [&a, &b, &d] {
        eventually("C's message everywhere", || async {
            texts(node, &id).await.last().map(String::as_str) == Some("C is back")
        })
        .await;
    }
    for node in [a, b, c, d] {
        drop(node.stop().await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_left_in_the_outbox_by_a_crash_are_sent_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let a_path = dir.path().join("a.redb");
    let a = start(&a_path).await;
    let b = start(&dir.path().join("b.redb")).await;
    befriend(&a, &b).await;
    let GroupAnswer::Created { id, .. } = when_offered(
        &a,
        GroupRequest::Create {
            name: "outbox".into(),
            with: vec![b.peer_id().to_base58()],
        },
    )
    .await
    else {
        panic!("not created");
    };
    members(&b, &id, 2).await;
    send(&a, &id, "sent before".into()).await;
    eventually("B to read it", || async { texts(&b, &id).await.len() == 1 }).await;

    // The node stops with three messages accepted and not sent: what a crash between the
    // outbox and the send leaves in the store.
    let store = a.stop().await.unwrap();
    let rows = store.groups().unwrap();
    let context = rows[0].context;
    for (sequence, text) in ["kept 1", "kept 2", "kept 3"].into_iter().enumerate() {
        store
            .put_outbox(&aura::state::store::OutboxRow {
                context,
                submitted_ms: support::NOW_MS,
                sequence: 100 + sequence as u64,
                payload: aura::groups::payload::Payload::Text(text.into()).encode(),
            })
            .unwrap();
    }
    drop(store);
    let expected = ["sent before", "kept 1", "kept 2", "kept 3"].map(str::to_owned);
    for _ in 0..2 {
        let a = start(&a_path).await;
        eventually("B to read what the outbox kept", || async {
            texts(&b, &id).await == expected
        })
        .await;
        eventually("the outbox to empty", || async {
            view(&a, &id).await.is_some_and(|g| g.pending == 0)
        })
        .await;
        // A second restart sends nothing again.
        drop(a.stop().await.unwrap());
    }
    assert_eq!(texts(&b, &id).await, expected);
    drop(b.stop().await.unwrap());
}
