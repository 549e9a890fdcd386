//! Two `aura daemon` processes with separate homes on loopback, mDNS off, joined with
//! `aura peer add`: each one's `aura status`, answered over the control socket, lists the other
//! as connected; both stop cleanly on SIGTERM.

// Tests and benchmarks measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);
const LOOPBACK_CONFIG: &str = "[network]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\nmdns = false\n";

fn aura(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aura"))
        .env("AURA_HOME", home)
        .args(args)
        .output()
        .unwrap()
}

/// A daemon, stopped with SIGKILL on drop if the test did not stop it.
struct Daemon {
    child: Child,
    home: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn start() -> Self {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("config.toml"), LOOPBACK_CONFIG).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_aura"))
            .env("AURA_HOME", home.path())
            .arg("daemon")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self { child, home }
    }

    fn status(&self) -> String {
        let output = aura(self.home.path(), &["status"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
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
                "timed out waiting for {what}:\n{status}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn peer_id(&self) -> String {
        let output = aura(self.home.path(), &["id"]);
        assert!(output.status.success());
        let text = String::from_utf8(output.stdout).unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix("peer id"))
            .unwrap()
            .trim()
            .to_owned()
    }

    fn terminate(mut self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the daemon exited with {status}");
                break;
            }
            assert!(start.elapsed() < WAIT, "the daemon ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            !self.home.path().join("profiles/default/node.sock").exists(),
            "the control socket outlived the daemon"
        );
    }
}

#[test]
fn two_daemons_joined_with_peer_add_see_each_other() {
    let a = Daemon::start();
    let b = Daemon::start();
    let a_status = a.wait_status("a listen address", |s| {
        s.contains("listening  /ip4/127.0.0.1/tcp/")
    });
    let b_status = b.wait_status("a listen address", |s| {
        s.contains("listening  /ip4/127.0.0.1/tcp/")
    });
    assert!(b_status.contains("held by the running node"), "{b_status}");
    let a_addr = a_status
        .lines()
        .find_map(|line| line.trim().strip_prefix("listening"))
        .unwrap()
        .trim()
        .to_owned();
    let (a_id, b_id) = (a.peer_id(), b.peer_id());

    let bad = aura(b.home.path(), &["peer", "add", "not-a-multiaddr"]);
    assert!(!bad.status.success());
    let message = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("not a multiaddr"), "{message}");

    let added = aura(b.home.path(), &["peer", "add", &a_addr]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
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

#[test]
fn peer_add_without_a_node_is_stored() {
    let home = tempfile::tempdir().unwrap();
    let addr = "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
    let first = aura(home.path(), &["peer", "add", addr]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("added peer"));
    let again = aura(home.path(), &["peer", "add", addr]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already known"));
}

#[test]
fn the_control_socket_answers_a_bad_request_with_an_error() {
    use std::io::{Read, Write};
    let daemon = Daemon::start();
    daemon.wait_status("the node", |s| s.contains("listening"));
    let socket = daemon.home.path().join("profiles/default/node.sock");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    for request in [
        vec![b'x'; 10_000],
        b"launch the rockets".to_vec(),
        vec![0xFF, 0xFE],
    ] {
        let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        // The node may stop reading at its cap and close early; that is its answer too.
        let _ = stream.write_all(&request);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("error\n"), "{reply:?}");
    }
    assert!(daemon.status().contains("listening"));
    daemon.terminate();
}
