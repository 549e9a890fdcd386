//! Nothing of a group reaches a device outside its roster, even one that knows the group's
//! id and is served otherwise (a contact): its sessions naming the group are refused, its
//! gossip and facts in the group's context are rejected unread, and each refusal is counted.

mod support;

use aura::agent::core::GroupAnswer;
use aura::groups::convergence::EpochId;
use aura::groups::facts::GroupFact;
use aura::node::{GroupReply, GroupRequest, Node, NodeHandle, NodeOptions};
use aura::state::fact::ContextId;
use support::friends::befriend;
use support::poll::eventually;

async fn node(dir: &tempfile::TempDir, name: &str) -> NodeHandle {
    Node::start(NodeOptions::loopback(&dir.path().join(format!("{name}.redb"))).unwrap())
        .await
        .unwrap()
}

async fn members(node: &NodeHandle, group: &str) -> usize {
    match node
        .group(GroupRequest::Members {
            group: group.to_owned(),
        })
        .await
    {
        Ok(GroupReply::Members(view)) => view.members.len(),
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_outside_the_roster_reads_nothing_of_the_group_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let alice = node(&dir, "alice").await;
    let bob = node(&dir, "bob").await;
    let mallory = node(&dir, "mallory").await;
    befriend(&alice, &bob).await;
    befriend(&alice, &mallory).await;
    let bob_id = bob.peer_id().to_base58();
    // Bob's KeyPackages reach Alice through their pairwise context.
    let created = loop {
        match alice
            .group(GroupRequest::Create {
                name: "private".into(),
                with: vec![bob_id.clone()],
            })
            .await
        {
            Ok(GroupReply::Done(GroupAnswer::Created { id, .. })) => break id,
            Err(err) if err.to_string().contains("key package") => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            other => panic!("creating the group answered {other:?}"),
        }
    };
    eventually("Bob to join", || async {
        members(&bob, &created).await == 2
    })
    .await;
    for text in ["one", "two"] {
        alice
            .group(GroupRequest::Send {
                group: created.clone(),
                text: text.into(),
                wait: true,
            })
            .await
            .unwrap();
    }
    let mut id = [0; 32];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&created[2 * i..2 * i + 2], 16).unwrap();
    }
    let context = ContextId(id);
    eventually("Bob to hold Alice's messages", || async {
        bob.fact_count(context).await.unwrap() >= 3
    })
    .await;

    // Mallory, a contact of Alice's who somehow learnt the id, subscribes to the group's topic
    // and asks Alice and Bob for sessions on it, then writes into it.
    mallory.join_context(context).await.unwrap();
    mallory.sync_now(context).await.unwrap();
    let (kind, body) = GroupFact::Message {
        epoch: EpochId([0; 32]),
        message: b"let me in".to_vec(),
    }
    .encode();
    mallory.write(context, kind, body).await.unwrap();
    eventually("Alice to count Mallory", || async {
        let sessions = alice.status().await.unwrap().sessions;
        sessions.non_member_sessions + sessions.non_member_gossip >= 1
    })
    .await;
    mallory.sync_now(context).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    // Mallory holds its own fact only; Alice and Bob never took Mallory's.
    assert_eq!(mallory.fact_count(context).await.unwrap(), 1);
    let alice_facts = alice.fact_count(context).await.unwrap();
    let bob_facts = bob.fact_count(context).await.unwrap();
    assert_eq!(alice_facts, bob_facts);
    let log = match alice
        .group(GroupRequest::Log {
            group: created.clone(),
            limit: 100,
            mark_read: false,
        })
        .await
        .unwrap()
    {
        GroupReply::Log(log) => log,
        other => panic!("{other:?}"),
    };
    assert_eq!(log.messages.len(), 2);
    for node in [alice, bob, mallory] {
        drop(node.stop().await.unwrap());
    }
}
