//! Concurrent commits between real nodes on loopback: in a group of eight, four members
//! change the group at the same moment (one adds a newcomer, one removes a member, one puts
//! new keys on its path, one renames the group) while others write. Without an orderer,
//! every member settles on the same epoch and keys (the epoch authenticator), no change
//! asked for is lost, and every message written meanwhile is read by every member that
//! stayed.

// Tests measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aura::agent::core::GroupAnswer;
use aura::groups::views::GroupView;
use aura::node::{GroupReply, GroupRequest, Node, NodeHandle, NodeOptions};
use support::friends::befriend;
use support::poll::eventually;

async fn node(dir: &tempfile::TempDir, name: &str) -> NodeHandle {
    Node::start(NodeOptions::loopback(&dir.path().join(format!("{name}.redb"))).unwrap())
        .await
        .unwrap()
}

async fn view(node: &NodeHandle, id: &str) -> Option<GroupView> {
    match node.group(GroupRequest::List).await {
        Ok(GroupReply::List(groups)) => groups.into_iter().find(|g| g.id == id),
        _ => None,
    }
}

async fn ask(node: &NodeHandle, request: GroupRequest) -> GroupAnswer {
    match node.group(request).await {
        Ok(GroupReply::Done(answer)) => answer,
        other => panic!("{other:?}"),
    }
}

async fn texts(node: &NodeHandle, id: &str) -> BTreeSet<String> {
    match node
        .group(GroupRequest::Log {
            group: id.to_owned(),
            limit: 1_000,
            mark_read: false,
        })
        .await
    {
        Ok(GroupReply::Log(log)) => log.messages.into_iter().map(|m| m.text).collect(),
        _ => BTreeSet::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_concurrent_changes_in_a_group_of_eight_all_land_and_every_member_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = Vec::new();
    for name in ["a", "b", "c", "d", "e", "f", "g", "h", "newcomer"] {
        nodes.push(node(&dir, name).await);
    }
    let newcomer = nodes.pop().unwrap();
    for other in &nodes[1..] {
        befriend(&nodes[0], other).await;
    }
    befriend(&nodes[1], &newcomer).await;
    let ids: Vec<String> = nodes.iter().map(|n| n.peer_id().to_base58()).collect();
    let start = Instant::now();
    let group = loop {
        match nodes[0]
            .group(GroupRequest::Create {
                name: "eight".into(),
                with: ids[1..].to_vec(),
            })
            .await
        {
            Ok(GroupReply::Done(GroupAnswer::Created { id, .. })) => break id,
            // Some contact's KeyPackages have not arrived yet.
            Err(_) if start.elapsed() < Duration::from_secs(60) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("create: {other:?}"),
        }
    };
    for node in &nodes {
        eventually("all eight in the group", || async {
            view(node, &group).await.is_some_and(|g| g.members == 8)
        })
        .await;
    }
    let before = view(&nodes[0], &group).await.unwrap().epoch;

    // At the same moment: b adds the newcomer, c removes d, e renews its keys, f renames
    // the group; g and h write.
    let newcomer_id = newcomer.peer_id().to_base58();
    let asked = Instant::now();
    let (added, removed, updated, renamed) = tokio::join!(
        ask(
            &nodes[1],
            GroupRequest::Invite {
                group: group.clone(),
                peer: newcomer_id.clone(),
            }
        ),
        ask(
            &nodes[2],
            GroupRequest::Remove {
                group: group.clone(),
                peer: ids[3].clone(),
            }
        ),
        ask(
            &nodes[4],
            GroupRequest::Update {
                group: group.clone(),
            }
        ),
        ask(
            &nodes[5],
            GroupRequest::Rename {
                group: group.clone(),
                name: "renamed".into(),
            }
        ),
    );
    for answer in [&added, &removed, &updated, &renamed] {
        assert!(matches!(answer, GroupAnswer::Done(_)), "{answer:?}");
    }
    for (node, text) in [
        (&nodes[5], "f writes during the fork"),
        (&nodes[6], "g writes"),
        (&nodes[7], "h writes"),
    ] {
        ask(
            node,
            GroupRequest::Send {
                group: group.clone(),
                text: text.into(),
                wait: true,
            },
        )
        .await;
    }

    // Everyone left (and the newcomer) settles on one epoch with the same keys.
    let staying: Vec<&NodeHandle> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .map(|(_, n)| n)
        .chain(std::iter::once(&newcomer))
        .collect();
    let deadline = Instant::now() + support::poll::TIMEOUT;
    loop {
        let mut views = Vec::new();
        for node in &staying {
            views.push(view(node, &group).await);
        }
        let agreed: BTreeSet<_> = views
            .iter()
            .map(|g| {
                g.as_ref()
                    .map(|g| (g.members, g.removed, g.epoch, g.fingerprint.clone()))
            })
            .collect();
        if agreed.len() == 1
            && views[0]
                .as_ref()
                .is_some_and(|g| g.members == 8 && !g.removed)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the members never agreed: {views:#?}"
        );
        tokio::time::sleep(support::poll::POLL).await;
    }
    let settled = asked.elapsed();
    let after = view(&nodes[0], &group).await.unwrap();
    // The add, the remove, the update and the rename each made a commit: none was lost.
    assert!(after.epoch >= before + 4, "{before} -> {after:?}");
    eventually("d to learn it was removed", || async {
        view(&nodes[3], &group).await.is_some_and(|g| g.removed)
    })
    .await;
    let members = match nodes[0]
        .group(GroupRequest::Members {
            group: group.clone(),
        })
        .await
        .unwrap()
    {
        GroupReply::Members(view) => view.members,
        other => panic!("{other:?}"),
    };
    let peers: BTreeSet<String> = members.iter().map(|m| m.peer_id.clone()).collect();
    assert!(peers.contains(&newcomer_id) && !peers.contains(&ids[3]));

    // What was written during the fork reached every member that was in the group then
    // and stayed.
    let written: BTreeSet<String> = ["f writes during the fork", "g writes", "h writes"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    for node in staying.iter().take(7) {
        eventually("the fork's messages everywhere", || async {
            texts(node, &group).await.is_superset(&written)
        })
        .await;
    }
    println!("settled {settled:?} after the four concurrent requests");
    for node in nodes.into_iter().chain(std::iter::once(newcomer)) {
        drop(node.stop().await.unwrap());
    }
}
