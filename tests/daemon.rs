//! `aura daemon` processes with separate homes on loopback, mDNS off, and the CLI talking to
//! them over the control socket: every command a node answers gives the same output (but for
//! what only a node knows) and the same errors whether the node runs or not; a CLI command
//! never makes a starting node fail; daemons stop cleanly on SIGTERM.

// Tests and benchmarks measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aura::control::protocol::{
    self, ControlFailure, ControlRequest, ControlResponse, HEADER_BYTES, Header, MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES, PROTOCOL_VERSION,
};

const WAIT: Duration = Duration::from_secs(60);
const LOOPBACK_CONFIG: &str = "[network]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\nmdns = false\n";
/// A peer nobody runs: dialling it fails at once.
const ABSENT_PEER: &str = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

fn aura(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aura"))
        .env("AURA_HOME", home)
        .env_remove("RUST_LOG")
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The output of a command that must succeed.
fn ok(home: &Path, args: &[&str]) -> String {
    let output = aura(home, args);
    assert!(
        output.status.success(),
        "aura {args:?} failed: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// The one-line error of a command that must fail, with nothing on stdout.
fn refused(home: &Path, args: &[&str]) -> String {
    let output = aura(home, args);
    assert!(!output.status.success(), "aura {args:?} succeeded");
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
    let message = text(&output.stderr);
    assert_eq!(message.lines().count(), 1, "{message}");
    message
}

fn loopback_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), LOOPBACK_CONFIG).unwrap();
    home
}

/// A daemon, stopped with SIGKILL on drop if the test did not stop it.
struct Daemon {
    child: Child,
    home: std::path::PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Starts a daemon on `home`'s default profile; its stderr goes to `home/daemon.log`.
    fn start(home: &Path) -> Self {
        let log = std::fs::File::create(home.join("daemon.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_aura"))
            .env("AURA_HOME", home)
            .env_remove("RUST_LOG")
            .arg("daemon")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Self {
            child,
            home: home.to_owned(),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("daemon.log")).unwrap_or_default()
    }

    fn status(&self) -> String {
        text(&aura(&self.home, &["status"]).stdout)
    }

    /// Polls `aura status` until `check` holds; returns that status.
    fn wait_status(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let status = self.status();
            if check(&status) {
                return status;
            }
            assert!(
                start.elapsed() < WAIT,
                "timed out waiting for {what}:\n{status}\ndaemon: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the node answers with a listen address; returns the first.
    fn wait_listening(&self) -> String {
        self.wait_status("a listen address", |s| {
            s.contains("listening  /ip4/127.0.0.1/tcp/")
        })
        .lines()
        .find_map(|line| line.trim().strip_prefix("listening"))
        .unwrap()
        .trim()
        .to_owned()
    }

    fn peer_id(&self) -> String {
        peer_id(&self.home)
    }

    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the daemon exited with {status}: {}", self.log());
        }
    }

    fn terminate(mut self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "the daemon exited with {status}: {}",
                    self.log()
                );
                break;
            }
            assert!(start.elapsed() < WAIT, "the daemon ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !self.home.join("profiles/default/node.sock").exists(),
            "the control socket outlived the daemon"
        );
    }
}

fn peer_id(home: &Path) -> String {
    ok(home, &["id"])
        .lines()
        .find_map(|line| line.strip_prefix("peer id"))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn two_daemons_joined_with_peer_add_see_each_other() {
    let (home_a, home_b) = (loopback_home(), loopback_home());
    let a = Daemon::start(home_a.path());
    let b = Daemon::start(home_b.path());
    let a_addr = a.wait_listening();
    b.wait_listening();
    assert!(b.status().contains("held by the running node"));
    let (a_id, b_id) = (a.peer_id(), b.peer_id());

    let message = refused(home_b.path(), &["peer", "add", "not-a-multiaddr"]);
    assert!(message.contains("not a multiaddr"), "{message}");

    // The node reports within a few seconds that the peer was reached.
    let added = ok(home_b.path(), &["peer", "add", &a_addr]);
    assert!(
        added.contains("added peer") && added.contains("; connected"),
        "{added}"
    );

    b.wait_status("b connected to a", |s| {
        s.contains(&format!("connected  {a_id}"))
    });
    a.wait_status("a connected to b", |s| {
        s.contains(&format!("connected  {b_id}"))
    });
    a.terminate();
    b.terminate();
}

/// The lines of `aura status` that do not depend on whether a node runs.
fn common_status_lines(status: &str) -> Vec<&str> {
    const NODE_ONLY: [&str; 7] = [
        "store",
        "network",
        "reachable",
        "journal",
        "sessions",
        "budgets",
        "rejected",
    ];
    status
        .lines()
        .filter(|line| !line.starts_with("  "))
        .filter(|line| !NODE_ONLY.iter().any(|prefix| line.starts_with(prefix)))
        .collect()
}

/// `aura budget list` without its note that no node runs and without the seconds to the
/// next refill, which move while the test runs.
fn budget_lines(list: &str) -> Vec<String> {
    list.lines()
        .filter(|line| !line.starts_with("(no node is running"))
        .map(|line| match line.split_once("; budgets refill in") {
            Some((epoch, _)) => epoch
                .split_whitespace()
                .skip(2)
                .collect::<Vec<_>>()
                .join(" "),
            None => line.to_owned(),
        })
        .collect()
}

/// `aura peer list` with the column only a node can fill (connected) set aside.
fn peer_lines(list: &str) -> Vec<String> {
    list.lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [peer, _connected, rest @ ..] if peer.starts_with('…') => {
                    format!("{peer} {}", rest.join(" "))
                }
                _ => line.to_owned(),
            }
        })
        .collect()
}

#[test]
fn id_status_and_budget_list_are_the_same_with_and_without_a_node() {
    let home = loopback_home();
    let home = home.path();
    let id = ok(home, &["id"]);
    let status = ok(home, &["status"]);
    let budgets = ok(home, &["budget", "list"]);
    assert!(
        status.contains("network      offline (no node is running)"),
        "{status}"
    );
    assert!(budgets.starts_with("(no node is running"), "{budgets}");

    let daemon = Daemon::start(home);
    daemon.wait_listening();
    assert_eq!(ok(home, &["id"]), id);
    let online = ok(home, &["status"]);
    assert!(online.contains("network      online: "), "{online}");
    assert!(online.contains("(held by the running node)"), "{online}");
    assert_eq!(common_status_lines(&online), common_status_lines(&status));
    let online_budgets = ok(home, &["budget", "list"]);
    assert!(
        !online_budgets.contains("no node is running"),
        "{online_budgets}"
    );
    assert_eq!(budget_lines(&online_budgets), budget_lines(&budgets));
    daemon.terminate();

    assert_eq!(ok(home, &["id"]), id);
    assert_eq!(
        common_status_lines(&ok(home, &["status"])),
        common_status_lines(&status)
    );
}

#[test]
fn peer_add_refuses_bad_input_the_same_way_with_and_without_a_node() {
    let home = loopback_home();
    let home = home.path();
    let own = peer_id(home);
    let huge = "x".repeat(100_000);
    let inputs = [
        String::new(),
        "garbage".to_owned(),
        "/ip4/127.0.0.1/tcp/4001".to_owned(),
        format!("/p2p/{ABSENT_PEER}"),
        format!("/ip4/127.0.0.1/tcp/4001/p2p/{own}"),
        huge.clone(),
    ];
    let errors = |home: &Path| -> Vec<String> {
        inputs
            .iter()
            .map(|input| refused(home, &["peer", "add", input]))
            .collect()
    };
    let offline = errors(home);
    for message in &offline {
        assert!(message.len() < 300, "{message}");
        assert!(!message.contains(&huge[..100]), "the argument was echoed");
    }
    // Each way of being wrong has its own message.
    let distinct: std::collections::BTreeSet<_> = offline.iter().collect();
    assert_eq!(distinct.len(), inputs.len(), "{offline:#?}");
    assert!(offline[4].contains("own address"), "{}", offline[4]);

    let daemon = Daemon::start(home);
    daemon.wait_listening();
    assert_eq!(errors(home), offline);
    // A peer that cannot be reached is saved and retried, which is not an error.
    let started = Instant::now();
    let absent = ok(
        home,
        &[
            "peer",
            "add",
            &format!("/ip4/127.0.0.1/tcp/1/p2p/{ABSENT_PEER}"),
        ],
    );
    assert!(absent.contains("not reached yet"), "{absent}");
    assert!(absent.contains("the node keeps trying"), "{absent}");
    assert!(started.elapsed() < Duration::from_secs(10));
    daemon.terminate();
}

#[test]
fn peer_list_and_remove_agree_with_and_without_a_node() {
    let (home_a, home_b) = (loopback_home(), loopback_home());
    let b = home_b.path();
    let absent = format!("/ip4/127.0.0.1/tcp/1/p2p/{ABSENT_PEER}");
    assert!(ok(b, &["peer", "list"]).contains("no saved peers"));
    let added = ok(b, &["peer", "add", &absent]);
    assert!(added.contains("dialled when a node starts"), "{added}");
    let offline_list = ok(b, &["peer", "list"]);
    assert!(offline_list.contains(&absent), "{offline_list}");
    assert!(offline_list.contains("unknown"), "{offline_list}");
    let unknown = format!("/ip4/127.0.0.1/tcp/2/p2p/{ABSENT_PEER}");
    let offline_unknown = refused(b, &["peer", "remove", &unknown]);
    assert!(
        offline_unknown.contains(&unknown[..40]),
        "{offline_unknown}"
    );
    let offline_garbage = refused(b, &["peer", "remove", "garbage"]);

    let node_a = Daemon::start(home_a.path());
    let a_addr = node_a.wait_listening();
    let a_id = node_a.peer_id();
    let node_b = Daemon::start(b);
    node_b.wait_listening();
    // The same list, now with a node to say the absent peer is not connected.
    let online_list = ok(b, &["peer", "list"]);
    assert!(online_list.contains(" no "), "{online_list}");
    assert_eq!(peer_lines(&online_list), peer_lines(&offline_list));
    assert_eq!(refused(b, &["peer", "remove", &unknown]), offline_unknown);
    assert_eq!(refused(b, &["peer", "remove", "garbage"]), offline_garbage);

    assert!(ok(b, &["peer", "add", &a_addr]).contains("connected"));
    let listed = ok(b, &["peer", "list"]);
    let a_line = listed.lines().find(|line| line.contains(&a_addr)).unwrap();
    assert!(a_line.contains(" yes "), "{listed}");
    let removed = ok(b, &["peer", "remove", &absent]);
    assert!(removed.contains("removed saved address"), "{removed}");
    assert!(!ok(b, &["peer", "list"]).contains(&absent));
    node_b.terminate();

    // Offline, by peer id: every address of the peer goes.
    assert!(ok(b, &["peer", "list"]).contains(&a_addr));
    let removed = ok(b, &["peer", "remove", &a_id]);
    assert!(
        removed.contains("removed 1 saved address(es) of peer"),
        "{removed}"
    );
    assert!(ok(b, &["peer", "list"]).contains("no saved peers"));
    node_a.terminate();
}

/// Acceptance 6: a CLI command run while a daemon starts never kills it.
#[test]
fn cli_commands_while_a_daemon_starts_never_kill_it() {
    const ROUNDS: usize = 20;
    let home = loopback_home();
    let home = home.path();
    let started = Instant::now();
    for round in 0..ROUNDS {
        let mut daemon = Daemon::start(home);
        let id = aura(home, &["id"]);
        let status = aura(home, &["status"]);
        for (what, output) in [("id", &id), ("status", &status)] {
            assert!(
                output.status.success(),
                "round {round}: aura {what}: {}",
                text(&output.stderr)
            );
        }
        assert!(text(&id.stdout).starts_with("peer id"), "round {round}");
        daemon.assert_running();
        daemon.wait_status("the node to answer", |s| s.contains("network      online"));
        daemon.assert_running();
        daemon.terminate();
    }
    eprintln!("{ROUNDS} rounds in {:?}", started.elapsed());
}

/// Sends `frame` to the node's socket and reads its answer frame, if any.
fn exchange(socket: &Path, frame: &[u8]) -> Option<ControlResponse> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    // The node may stop reading at its cap and answer early; the answer is what counts.
    let _ = stream.write_all(frame);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    if reply.is_empty() {
        return None;
    }
    let header = Header::parse(
        reply[..HEADER_BYTES].try_into().unwrap(),
        MAX_RESPONSE_BYTES,
    )
    .expect("the node answers in its own version");
    assert_eq!(header.version, PROTOCOL_VERSION);
    Some(protocol::decode(&reply[HEADER_BYTES..]).unwrap())
}

fn frame(version: u16, payload: &[u8], declared_len: u32) -> Vec<u8> {
    let mut frame = b"AURC".to_vec();
    frame.extend_from_slice(&version.to_be_bytes());
    frame.extend_from_slice(&declared_len.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

#[test]
fn the_control_socket_refuses_bad_frames_and_other_versions_cleanly() {
    let home = loopback_home();
    let daemon = Daemon::start(home.path());
    daemon.wait_listening();
    let socket = home.path().join("profiles/default/node.sock");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let id = protocol::encode(&ControlRequest::Id, MAX_REQUEST_BYTES).unwrap();
    let payload = &id[HEADER_BYTES..];
    let newer = frame(PROTOCOL_VERSION + 1, payload, payload.len() as u32);
    assert_eq!(
        exchange(&socket, &newer),
        Some(ControlResponse::Failed(ControlFailure::Version {
            node: PROTOCOL_VERSION,
            cli: PROTOCOL_VERSION + 1
        }))
    );
    assert_eq!(
        ControlFailure::Version { node: 1, cli: 2 }.to_string(),
        "the running node speaks control protocol v1; this aura speaks v2"
    );
    let over = MAX_REQUEST_BYTES + 1;
    let too_long = frame(PROTOCOL_VERSION, &vec![b'x'; over], over as u32);
    assert_eq!(
        exchange(&socket, &too_long),
        Some(ControlResponse::Failed(ControlFailure::RequestTooLarge(
            over as u64
        )))
    );
    for bad in [
        frame(PROTOCOL_VERSION, b"launch the rockets", 18),
        b"launch the rockets".to_vec(),
        vec![b'x'; 10_000],
    ] {
        let answer = exchange(&socket, &bad);
        assert!(
            matches!(
                answer,
                Some(ControlResponse::Failed(ControlFailure::Malformed(_)))
            ),
            "{answer:?}"
        );
    }
    // Closed before a whole header: nothing to answer.
    assert_eq!(exchange(&socket, &[0xFF, 0xFE]), None);
    assert_eq!(
        exchange(&socket, &id),
        Some(ControlResponse::Id(protocol::IdentityView {
            peer_id: daemon.peer_id(),
            fingerprint: ok(home.path(), &["id"])
                .lines()
                .find_map(|line| line.strip_prefix("fingerprint"))
                .unwrap()
                .trim()
                .to_owned(),
        }))
    );
    daemon.terminate();
}

#[test]
fn a_node_of_another_protocol_version_is_a_clean_error() {
    let home = loopback_home();
    let profile = home.path().join("profiles/default");
    std::fs::create_dir_all(&profile).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(profile.join("node.sock")).unwrap();
    let other = PROTOCOL_VERSION + 1;
    let node = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut header = [0u8; HEADER_BYTES];
        stream.read_exact(&mut header).unwrap();
        let answer = br#"{"Failed":{"Failed":"from the future"}}"#;
        stream
            .write_all(&frame(other, answer, answer.len() as u32))
            .unwrap();
    });
    let message = refused(home.path(), &["id"]);
    assert!(
        message.contains(&format!(
            "the running node speaks control protocol v{other}; this aura speaks v{PROTOCOL_VERSION}"
        )),
        "{message}"
    );
    node.join().unwrap();
}
