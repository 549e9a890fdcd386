//! Groups between real processes, driven through the CLI as a user would: A makes a group
//! with B (a contact), C joins with a group code of A's, all three write; each one's
//! `aura log` shows the same messages in the same order, A's own delivered to 2 of 2. A
//! member removed learns it, and reads nothing written after. A change the group's policy
//! does not grant is refused with the reason; leaving needs no capability.

// Tests measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

mod support;

use std::path::Path;

use support::cli::{Daemon, befriend, ok, person, wait_for};

/// The id prefix `aura group list` ends each group's line with, once `home` is in a group
/// of `members` members.
fn group_id(home: &Path, members: usize) -> String {
    let list = wait_for(home, &["group", "list"], "the group", |s| {
        s.contains(&format!("{members} members"))
    });
    list.split_whitespace()
        .last()
        .expect("an id on the line")
        .to_owned()
}

/// The texts of a log, in order, without who wrote them.
fn texts(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| line.split_once(": ").map(|(_, rest)| rest))
        .map(|rest| rest.split("   [").next().unwrap_or(rest).to_owned())
        .collect()
}

/// Alice, Bob and Carol with daemons running, Bob and Carol contacts of Alice's, in a group
/// Alice made with them both; returns the homes, the daemons and the group's id prefix.
fn trio(name: &str) -> ([tempfile::TempDir; 3], [Daemon; 3], String) {
    let homes = [person("Alice"), person("Bob"), person("Carol")];
    let daemons = [
        Daemon::start(homes[0].path()),
        Daemon::start(homes[1].path()),
        Daemon::start(homes[2].path()),
    ];
    befriend(homes[0].path(), homes[1].path());
    befriend(homes[0].path(), homes[2].path());
    ok(
        homes[0].path(),
        &["group", "create", name, "--with", "Bob", "--with", "Carol"],
    );
    let group = group_id(homes[1].path(), 3);
    group_id(homes[2].path(), 3);
    (homes, daemons, group)
}

#[test]
fn three_people_see_the_same_messages_in_the_same_order() {
    let alice = person("Alice");
    let bob = person("Bob");
    let carol = person("Carol");
    let _a = Daemon::start(alice.path());
    let _b = Daemon::start(bob.path());
    let _c = Daemon::start(carol.path());
    befriend(alice.path(), bob.path());
    let created = ok(
        alice.path(),
        &["group", "create", "friends", "--with", "Bob"],
    );
    assert!(created.contains("created group friends"), "{created}");
    let code = ok(alice.path(), &["group", "invite", "friends", "--code"]);
    let accepted = ok(carol.path(), &["invite", "accept", code.trim()]);
    assert!(accepted.contains("is now a contact"), "{accepted}");
    let group = group_id(alice.path(), 3);
    for home in [bob.path(), carol.path()] {
        assert_eq!(group_id(home, 3), group);
    }
    let members = ok(alice.path(), &["group", "members", "friends"]);
    for name in ["you", "Bob", "Carol"] {
        assert!(members.contains(name), "{members}");
    }

    for (home, text) in [
        (alice.path(), "hello from Alice"),
        (bob.path(), "hello from Bob"),
        (carol.path(), "hello from Carol"),
        (alice.path(), "Alice again"),
    ] {
        let sent = ok(home, &["send", &group, text]);
        assert!(sent.starts_with("sent"), "{sent}");
    }
    let expected = [
        "hello from Alice",
        "hello from Bob",
        "hello from Carol",
        "Alice again",
    ];
    let mut logs = Vec::new();
    for home in [alice.path(), bob.path(), carol.path()] {
        let log = wait_for(home, &["log", &group], "every message", |s| {
            texts(s).len() == expected.len()
        });
        assert_eq!(texts(&log), expected, "{log}");
        logs.push(log);
    }
    // Bob and Carol are no contacts of each other, yet each reads the other.
    assert!(logs[1].contains("hello from Carol") && logs[2].contains("hello from Bob"));
    let delivered = wait_for(alice.path(), &["log", &group], "receipts", |s| {
        s.matches("[delivered to 2 of 2]").count() == 2
    });
    assert!(
        delivered.contains("you: hello from Alice   [delivered to 2 of 2]"),
        "{delivered}"
    );
    // Reading the log marked it read; Bob's and Carol's messages were unread for Alice.
    let list = ok(alice.path(), &["group", "list"]);
    assert!(list.contains("0 unread"), "{list}");
}

#[test]
fn a_removed_member_is_told_and_reads_nothing_written_after() {
    let ([alice, bob, carol], _daemons, group) = trio("trio");
    ok(alice.path(), &["send", &group, "before"]);
    wait_for(bob.path(), &["log", &group], "the first message", |s| {
        s.contains("before")
    });

    let removed = ok(alice.path(), &["group", "remove", &group, "Bob"]);
    assert!(removed.contains("removing"), "{removed}");
    let list = wait_for(bob.path(), &["group", "list"], "Bob to learn", |s| {
        s.contains("you were removed")
    });
    assert!(list.contains("you were removed from this group"), "{list}");
    group_id(carol.path(), 2);
    ok(alice.path(), &["send", &group, "after"]);
    wait_for(carol.path(), &["log", &group], "Carol to read", |s| {
        s.contains("after")
    });
    let log = ok(bob.path(), &["log", &group]);
    assert!(log.contains("before") && !log.contains("after"), "{log}");
    let sent = support::cli::aura(bob.path(), &["send", &group, "still here?"]);
    assert!(!sent.status.success());
    assert!(
        support::cli::text(&sent.stderr).contains("you were removed from this group"),
        "{}",
        support::cli::text(&sent.stderr)
    );
}

#[test]
fn messages_pending_when_the_sender_is_killed_are_sent_after_restart_none_twice() {
    let alice = person("Alice");
    let bob = person("Bob");
    let a = Daemon::start(alice.path());
    let _b = Daemon::start(bob.path());
    befriend(alice.path(), bob.path());
    ok(alice.path(), &["group", "create", "pair", "--with", "Bob"]);
    let group = group_id(bob.path(), 2);

    // A burst of sends; the node is killed (SIGKILL) in the middle of it. Each send that
    // returned was acknowledged: in the outbox, or already sent.
    let (killed_tx, killed_rx) = std::sync::mpsc::channel();
    let home = alice.path().to_owned();
    let target = group.clone();
    let sender = std::thread::spawn(move || {
        let mut acknowledged = Vec::new();
        for i in 0..40 {
            let text = format!("burst {i}");
            let sent = support::cli::aura(&home, &["send", "--no-wait", &target, &text]);
            if sent.status.success() {
                acknowledged.push(text);
            }
            if i == 12 {
                let _ = killed_tx.send(());
            }
        }
        acknowledged
    });
    killed_rx.recv().unwrap();
    drop(a);
    let acknowledged = sender.join().unwrap();
    assert!(acknowledged.len() >= 13, "{acknowledged:?}");
    let _a = Daemon::start(alice.path());
    // The node resumed from its store sends again, once in an epoch made after the restart.
    let sent = ok(alice.path(), &["send", &group, "after the restart"]);
    assert!(sent.starts_with("sent"), "{sent}");
    let mut acknowledged = acknowledged;
    acknowledged.push("after the restart".to_owned());

    for home in [bob.path(), alice.path()] {
        let log = wait_for(
            home,
            &["log", &group, "--limit", "1000"],
            "every burst message",
            |s| acknowledged.iter().all(|text| texts(s).contains(text)),
        );
        for text in texts(&log) {
            assert_eq!(
                texts(&log).iter().filter(|t| **t == text).count(),
                1,
                "{text} twice:\n{log}"
            );
        }
    }
}

#[test]
fn a_member_that_leaves_is_removed_by_the_next_member_online() {
    let ([alice, bob, carol], daemons, group) = trio("walkers");
    // Alice lets nobody remove others: Bob is told so at once; Carol may still leave.
    let set = ok(
        alice.path(),
        &["group", "policy", &group, "--default", "add,rename,policy"],
    );
    assert!(set.contains("changing the group's policy"), "{set}");
    for home in [bob.path(), carol.path()] {
        let shown = wait_for(home, &["group", "policy", &group], "the policy", |s| {
            s.contains("every member may add, rename, policy")
        });
        assert!(shown.contains("you may add, rename, policy"), "{shown}");
    }
    let refused = support::cli::aura(bob.path(), &["group", "remove", &group, "Alice"]);
    assert!(!refused.status.success());
    assert!(
        support::cli::text(&refused.stderr).contains(
            "you may not remove members of this group: the group's policy does not grant you `remove`"
        ),
        "{}",
        support::cli::text(&refused.stderr)
    );
    let left = ok(carol.path(), &["group", "leave", &group]);
    assert!(left.contains("asked to leave"), "{left}");
    // A member cannot commit its own removal: another does, and Carol learns she is out.
    wait_for(carol.path(), &["group", "list"], "Carol to be out", |s| {
        s.contains("you were removed")
    });
    for home in [alice.path(), bob.path()] {
        group_id(home, 2);
    }
    ok(alice.path(), &["send", &group, "without Carol"]);
    wait_for(bob.path(), &["log", &group], "Bob to read", |s| {
        s.contains("without Carol")
    });
    let log = ok(carol.path(), &["log", &group]);
    assert!(!log.contains("without Carol"), "{log}");
    // With no node running, the policy is read from the store.
    let [_alice_node, bob_node, _carol_node] = daemons;
    drop(bob_node);
    let shown = ok(bob.path(), &["group", "policy", &group]);
    assert!(
        shown.contains("every member may add, rename, policy"),
        "{shown}"
    );
}
