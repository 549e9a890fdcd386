//! Trust between real processes. A and B are contacts, B and C are contacts, A and C are
//! not. B shares its trust in C with A: A's `aura trust path C` shows A → B → C with both
//! levels and the attenuation; when B stops sharing, A's path to C is gone within one sync
//! interval. A stranger that asks A for a session is refused and counted while a contact is
//! served; a contact's budgets follow its level.

// Tests measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::cli::{Daemon, befriend, ok, peer_id, person_with, wait_for};

const SYNC_SECS: u64 = 5;

fn person(name: &str) -> tempfile::TempDir {
    person_with(name, 0, &format!("sync_interval_secs = {SYNC_SECS}\n"))
}

#[test]
fn a_shared_attestation_gives_a_path_and_its_withdrawal_takes_it_away() {
    let alice = person("Alice");
    let bob = person("Bob");
    let carol = person("Carol");
    let _a = Daemon::start(alice.path());
    let _b = Daemon::start(bob.path());
    let _c = Daemon::start(carol.path());
    befriend(bob.path(), alice.path());
    befriend(carol.path(), bob.path());
    let carol_id = peer_id(carol.path());
    // Nothing reaches Carol from Alice yet.
    let none = ok(
        alice.path(),
        &["trust", "why-not", &carol_id, "--level", "low"],
    );
    assert!(none.contains("no path"), "{none}");

    ok(alice.path(), &["trust", "set", "Bob", "high"]);
    ok(bob.path(), &["trust", "set", "Carol", "high"]);
    let list = ok(bob.path(), &["trust", "list"]);
    assert!(list.contains("Carol") && list.contains("high"), "{list}");
    ok(bob.path(), &["trust", "share", "Alice", "on"]);
    let path = wait_for(
        alice.path(),
        &["trust", "path", &carol_id],
        "a path to Carol through Bob",
        |s| s.contains("Bob") && !s.contains("no path") && !s.contains("aura:"),
    );
    // Both levels and the attenuation, in words.
    assert!(path.starts_with("Medium"), "{path}");
    assert!(path.contains("you trust Bob at High (since"), "{path}");
    assert!(path.contains("at High (attested"), "{path}");
    assert!(
        path.contains("one extra hop lowers High to Medium"),
        "{path}"
    );
    let list = ok(alice.path(), &["trust", "list"]);
    assert!(list.contains("via Bob"), "{list}");

    // Bob stops sharing: within one sync interval, Alice has no path to Carol.
    let stopped = Instant::now();
    ok(bob.path(), &["trust", "share", "Alice", "off"]);
    let gone = wait_for(
        alice.path(),
        &["trust", "path", &carol_id],
        "the path to Carol gone",
        |s| s.contains("revoked") || s.contains("no path"),
    );
    assert!(
        stopped.elapsed() <= Duration::from_secs(SYNC_SECS + 2),
        "took {:?}: {gone}",
        stopped.elapsed()
    );
    assert!(
        gone.contains("revoked") || gone.contains("no path"),
        "{gone}"
    );
}

#[test]
fn a_peers_budgets_follow_its_trust_level() {
    let alice = person("Alice");
    let bob = person("Bob");
    let _a = Daemon::start(alice.path());
    let _b = Daemon::start(bob.path());
    befriend(alice.path(), bob.path());
    let bob_id = peer_id(bob.path());
    let bob_short: String = bob_id
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let limit_line = |budgets: &str| {
        budgets
            .lines()
            .find(|line| line.contains(&bob_short[bob_short.len() - 6..]) && line.contains(" / "))
            .map(str::to_owned)
    };
    // A contact starts at Low: the `[budgets]` limit of Low, both ways.
    let low = wait_for(alice.path(), &["budget", "list"], "a budget for Bob", |s| {
        limit_line(s).is_some_and(|line| line.ends_with("/ 1000"))
    });
    assert!(low.contains("/ 1000"), "{low}");
    ok(alice.path(), &["trust", "set", "Bob", "high"]);
    let high = wait_for(
        alice.path(),
        &["budget", "list"],
        "Bob's budget at High",
        |s| limit_line(s).is_some_and(|line| line.ends_with("/ 16000")),
    );
    assert!(high.contains("/ 16000"), "{high}");
    // Distrusted: the limit of None.
    ok(alice.path(), &["trust", "set", "Bob", "none"]);
    wait_for(
        alice.path(),
        &["budget", "list"],
        "Bob's budget at None",
        |s| limit_line(s).is_some_and(|line| line.ends_with("/ 100")),
    );
    // A distrusted contact is still listed, at none.
    let list = ok(alice.path(), &["trust", "list"]);
    let bob_line = list.lines().find(|line| line.contains(&bob_id));
    assert!(bob_line.is_some_and(|line| line.contains("none")), "{list}");
}

/// The number of completed sessions `aura status` reports.
fn sessions_completed(status: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix("sessions"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_stranger_is_refused_and_counted_while_a_contact_is_served() {
    let alice = person("Alice");
    let bob = person("Bob");
    let _a = Daemon::start(alice.path());
    let _b = Daemon::start(bob.path());
    befriend(alice.path(), bob.path());
    // A contact is served: anti-entropy of the pair's context completes on both sides.
    for home in [alice.path(), bob.path()] {
        wait_for(home, &["status"], "a completed session", |s| {
            sessions_completed(s) >= 1
        });
    }
    let status = ok(alice.path(), &["status"]);
    assert!(!status.contains("strangers"), "{status}");

    // A fourth peer, in no relationship with anyone, dials Alice and asks for a session on a
    // context it guessed (a guess right or wrong is refused alike, and before it is checked).
    let addr: libp2p::Multiaddr = status
        .lines()
        .find_map(|line| line.trim().strip_prefix("listening"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alice_id: libp2p::PeerId = peer_id(alice.path()).parse().unwrap();
    let guessed = aura::state::fact::ContextId(rand::random());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_, answer) = runtime.block_on(support::wire::stranger_session(
        addr,
        alice_id,
        &support::wire::anti_entropy_hello(guessed),
    ));
    assert!(answer.is_empty(), "the stranger was answered: {answer:?}");
    let status = wait_for(alice.path(), &["status"], "the stranger counted", |s| {
        s.contains("strangers    1 session(s) and 0 gossip message(s) refused")
    });
    assert!(
        status.contains("no relationship, no trust path"),
        "{status}"
    );
    let bob_status = ok(bob.path(), &["status"]);
    assert!(!bob_status.contains("strangers"), "{bob_status}");
}

#[test]
fn an_invitation_sets_the_level_its_contacts_start_at() {
    let alice = person("Alice");
    let bob = person("Bob");
    let _a = Daemon::start(alice.path());
    let _b = Daemon::start(bob.path());
    let code = ok(alice.path(), &["invite", "create", "--trust", "high"]);
    let accepted = ok(bob.path(), &["invite", "accept", code.trim()]);
    assert!(accepted.contains("is now a contact"), "{accepted}");
    let level_of = |home: &Path, name: &str| {
        ok(home, &["trust", "list"])
            .lines()
            .find(|line| line.starts_with(name))
            .map(|line| line.split_whitespace().nth(1).unwrap_or("").to_owned())
    };
    assert_eq!(level_of(alice.path(), "Bob").as_deref(), Some("high"));
    // The invitee's side starts at the default.
    assert_eq!(level_of(bob.path(), "Alice").as_deref(), Some("low"));
    let refused = support::cli::aura(alice.path(), &["invite", "create", "--trust", "total"]);
    assert!(!refused.status.success());
}
