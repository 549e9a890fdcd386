//! Invitations between real processes (issue 13): `aura daemon`s with separate homes on
//! loopback, mDNS off, and the CLI. Two people become contacts by a code; a used, declined,
//! revoked, expired, unknown or mistyped code says exactly why and records nothing; an
//! acceptance waits for an inviter that is away, across a restart; the inviter's store never
//! holds what would redeem its own codes.

// Tests measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aura::invite::code::InvitationCode;
use support::cli::{Daemon, aura, ok, person_with, text, wait_for};

fn person(name: &str, port: u16) -> tempfile::TempDir {
    person_with(name, port, "")
}

/// The error of a command that must fail: nothing on stdout, and the error as the last
/// line of stderr (an acceptance shows its progress before it).
fn refused(home: &Path, args: &[&str]) -> String {
    let output = aura(home, args);
    assert!(
        !output.status.success(),
        "aura {args:?} succeeded: {}",
        text(&output.stdout)
    );
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
    let stderr = text(&output.stderr);
    let message = stderr
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(message.starts_with("aura: "), "{stderr}");
    assert!(!message.contains("invalid code"), "{message}");
    message
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn create(home: &Path, args: &[&str]) -> String {
    let mut all = vec!["invite", "create"];
    all.extend_from_slice(args);
    let code = ok(home, &all);
    assert_eq!(code.lines().count(), 1, "only the code on stdout: {code}");
    code.trim().to_owned()
}

fn contacts(home: &Path) -> String {
    ok(home, &["contact", "list"])
}

/// Nothing of a failed acceptance is recorded on either side.
fn assert_nothing_recorded(inviter: &Path, invitee: &Path) {
    assert!(
        contacts(inviter).starts_with("no contacts yet"),
        "{}",
        contacts(inviter)
    );
    assert!(
        contacts(invitee).starts_with("no contacts yet"),
        "{}",
        contacts(invitee)
    );
    let mine = ok(inviter, &["invite", "list"]);
    assert!(!mine.contains("accepted by"), "{mine}");
    let theirs = ok(invitee, &["invite", "list"]);
    assert!(!theirs.contains("invitations you accepted"), "{theirs}");
}

#[test]
fn two_people_become_contacts_and_a_used_code_is_refused() {
    let alice = person("Alice", 0);
    let bob = person("Bob", 0);
    let carol = person("Carol", 0);
    let _a = Daemon::start(alice.path());
    let code = create(alice.path(), &["--note", "hi Bob"]);
    assert!(code.starts_with("aura1"), "{code}");
    // Bob runs no node: the command starts one for itself.
    let accepted = ok(bob.path(), &["invite", "accept", &code]);
    assert!(
        accepted.contains("accepted: Alice is now a contact"),
        "{accepted}"
    );
    assert!(
        contacts(bob.path()).contains("Alice"),
        "{}",
        contacts(bob.path())
    );
    assert!(
        contacts(alice.path()).contains("Bob"),
        "{}",
        contacts(alice.path())
    );
    let mine = ok(alice.path(), &["invite", "list"]);
    assert!(mine.contains("accepted by Bob"), "{mine}");
    assert!(mine.contains("1/1 used"), "{mine}");
    // Again by Bob: he knows he used it.
    let again = refused(bob.path(), &["invite", "accept", &code]);
    assert!(
        again.contains("already used") && again.contains("you accepted it"),
        "{again}"
    );
    // By someone else: the inviter says so.
    let other = refused(carol.path(), &["invite", "accept", &code]);
    assert!(other.contains("already used"), "{other}");
    assert!(contacts(carol.path()).starts_with("no contacts yet"));
    // A nickname, then the contact found by it.
    ok(alice.path(), &["contact", "rename", "Bob", "Bobby"]);
    assert!(
        contacts(alice.path()).contains("Bobby"),
        "{}",
        contacts(alice.path())
    );
    ok(alice.path(), &["contact", "remove", "bobby"]);
    assert!(contacts(alice.path()).starts_with("no contacts yet"));
}

#[test]
fn an_approve_code_waits_for_the_inviter_and_a_declined_one_says_so() {
    let alice = person("Alice", 0);
    let bob = person("Bob", 0);
    let dave = person("Dave", 0);
    let _a = Daemon::start(alice.path());
    let _b = Daemon::start(bob.path());
    let code = create(alice.path(), &["--approve"]);
    let id = aura::invite::handshake::invitation_key(
        &InvitationCode::decode(&code).unwrap().secret,
        &aura::state::fact::DeviceKey(InvitationCode::decode(&code).unwrap().inviter),
    )
    .short_id();
    let accept = Command::new(env!("CARGO_BIN_EXE_aura"))
        .env("AURA_HOME", bob.path())
        .args(["invite", "accept", &code])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(
        alice.path(),
        &["invite", "list"],
        "Bob waiting for an answer",
        |s| s.contains("Bob") && s.contains("waits for your answer"),
    );
    assert!(contacts(alice.path()).starts_with("no contacts yet"));
    ok(alice.path(), &["invite", "approve", &id]);
    let output = accept.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("Alice is now a contact"),
        "{}",
        text(&output.stdout)
    );
    wait_for(
        alice.path(),
        &["contact", "list"],
        "Bob as a contact",
        |s| s.contains("Bob"),
    );

    let code = create(alice.path(), &["--approve"]);
    let id = aura::invite::handshake::invitation_key(
        &InvitationCode::decode(&code).unwrap().secret,
        &aura::state::fact::DeviceKey(InvitationCode::decode(&code).unwrap().inviter),
    )
    .short_id();
    let _d = Daemon::start(dave.path());
    let accept = Command::new(env!("CARGO_BIN_EXE_aura"))
        .env("AURA_HOME", dave.path())
        .args(["invite", "accept", &code])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(alice.path(), &["invite", "list"], "Dave waiting", |s| {
        s.contains("Dave")
    });
    ok(alice.path(), &["invite", "decline", &id]);
    let output = accept.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("the inviter declined"),
        "{}",
        text(&output.stderr)
    );
    assert!(contacts(dave.path()).starts_with("no contacts yet"));
    assert!(!contacts(alice.path()).contains("Dave"));
}

#[test]
fn each_failure_says_why_and_records_nothing() {
    let alice = person("Alice", 0);
    let bob = person("Bob", 0);
    let a = Daemon::start(alice.path());
    let code = create(alice.path(), &[]);
    // A typo: one character changed.
    let mut typo: Vec<char> = code.chars().collect();
    typo[20] = if typo[20] == 'q' { 'p' } else { 'q' };
    let typo: String = typo.into_iter().collect();
    let message = refused(bob.path(), &["invite", "accept", &typo]);
    assert!(message.contains("typo"), "{message}");
    let message = refused(bob.path(), &["invite", "accept", "see you at 5"]);
    assert!(message.contains("not an Aura invitation code"), "{message}");
    let message = refused(bob.path(), &["invite", "accept", "aura7qqqqqqqq"]);
    assert!(message.contains("version 7"), "{message}");
    let message = refused(bob.path(), &["invite", "accept", &code[..code.len() / 2]]);
    assert!(message.contains("code"), "{message}");
    // Revoked.
    let id_of = |code: &str| {
        let decoded = InvitationCode::decode(code).unwrap();
        aura::invite::handshake::invitation_key(
            &decoded.secret,
            &aura::state::fact::DeviceKey(decoded.inviter),
        )
        .short_id()
    };
    ok(alice.path(), &["invite", "revoke", &id_of(&code)]);
    let message = refused(bob.path(), &["invite", "accept", &code]);
    assert!(message.contains("revoked"), "{message}");
    // Not recognised: the right inviter and address, a secret it never made.
    let mut forged = InvitationCode::decode(&create(alice.path(), &[])).unwrap();
    forged.secret = aura::invite::code::InvitationSecret::from_bytes([7; 16]);
    let message = refused(bob.path(), &["invite", "accept", &forged.encode().unwrap()]);
    assert!(message.contains("does not recognise"), "{message}");
    assert_nothing_recorded(alice.path(), bob.path());
    // Expired: the code says when, before anyone is asked.
    let mut expired = InvitationCode::decode(&create(alice.path(), &[])).unwrap();
    expired.expires_at_secs = Some(1_700_000_000);
    let message = refused(
        bob.path(),
        &["invite", "accept", &expired.encode().unwrap()],
    );
    assert!(
        message.contains("expired (2023-11-14 22:13 UTC)"),
        "{message}"
    );
    // Unreachable: every address tried, each with its error; the acceptance stays pending.
    let away = create(alice.path(), &[]);
    a.stop();
    let output = aura(bob.path(), &["invite", "accept", &away]);
    let said = text(&output.stderr);
    assert!(said.contains("waiting for the inviter"), "{said}");
    assert!(
        said.contains("/ip4/127.0.0.1/tcp/"),
        "each address tried: {said}"
    );
    assert!(contacts(bob.path()).starts_with("no contacts yet"));
    let pending = ok(bob.path(), &["invite", "list"]);
    assert!(pending.contains("invitations you accepted"), "{pending}");
}

#[test]
fn an_acceptance_waits_for_an_inviter_that_is_away_across_a_restart() {
    let port = free_port();
    let alice = person("Alice", port);
    let bob = person("Bob", 0);
    let a = Daemon::start(alice.path());
    let code = create(alice.path(), &[]);
    a.stop();
    let b = Daemon::start(bob.path());
    let said = text(&aura(bob.path(), &["invite", "accept", &code]).stderr);
    assert!(said.contains("waiting for the inviter"), "{said}");
    let accepted_at = Instant::now();
    let pending = ok(bob.path(), &["invite", "list"]);
    assert!(pending.contains("waiting for the inviter"), "{pending}");
    // Bob's node restarts: the acceptance is still there, still waiting.
    b.stop();
    let pending = ok(bob.path(), &["invite", "list"]);
    assert!(pending.contains("invitations you accepted"), "{pending}");
    let _b = Daemon::start(bob.path());
    let pending = ok(bob.path(), &["invite", "list"]);
    assert!(pending.contains("waiting for the inviter"), "{pending}");
    // Alice comes back 20 s after Bob accepted.
    let wait = Duration::from_secs(20).saturating_sub(accepted_at.elapsed());
    std::thread::sleep(wait);
    let _a = Daemon::start(alice.path());
    wait_for(
        bob.path(),
        &["contact", "list"],
        "Alice as Bob's contact",
        |s| s.contains("Alice"),
    );
    wait_for(
        alice.path(),
        &["contact", "list"],
        "Bob as Alice's contact",
        |s| s.contains("Bob"),
    );
    let done = ok(bob.path(), &["invite", "list"]);
    assert!(done.contains("is now a contact"), "{done}");
}

#[test]
fn the_inviters_store_holds_nothing_that_redeems_its_codes() {
    let alice = person("Alice", 0);
    let a = Daemon::start(alice.path());
    let code = create(alice.path(), &[]);
    a.stop();
    let decoded = InvitationCode::decode(&code).unwrap();
    let key = aura::invite::handshake::invitation_key(
        &decoded.secret,
        &aura::state::fact::DeviceKey(decoded.inviter),
    );
    let store = std::fs::read(alice.path().join("profiles/default/store.redb")).unwrap();
    let holds = |needle: &[u8]| store.windows(needle.len()).any(|window| window == needle);
    // The scan finds what is there: the recorded public key.
    assert!(holds(&key.0), "the invitation's public key is recorded");
    assert!(
        !holds(decoded.secret.as_bytes()),
        "the secret is in the store"
    );
    assert!(!holds(code.as_bytes()), "the code is in the store");
    let seed = aura::invite::handshake::invitation_signing_key(
        &decoded.secret,
        &aura::state::fact::DeviceKey(decoded.inviter),
    );
    assert!(
        !holds(seed.as_bytes()),
        "the invitation's private key is in the store"
    );
}
