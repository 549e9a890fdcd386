//! The real binary driven as a user would: profiles in temporary homes on loopback (mDNS
//! off), daemons killed when dropped, commands polled until their output says what a test
//! waits for.

// Tests measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for what it polls.
pub const WAIT: Duration = Duration::from_secs(60);

pub fn aura(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aura"))
        .env("AURA_HOME", home)
        .env_remove("RUST_LOG")
        .args(args)
        .output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The standard output of a command that must succeed.
pub fn ok(home: &Path, args: &[&str]) -> String {
    let output = aura(home, args);
    assert!(
        output.status.success(),
        "aura {args:?} failed: {}{}",
        text(&output.stderr),
        text(&output.stdout)
    );
    text(&output.stdout)
}

/// A home whose config listens on loopback `port` (0: any), with `extra` config lines in
/// its `[network]` section, and a profile named `name`.
pub fn person_with(name: &str, port: u16, extra: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        format!("[network]\nlisten = [\"/ip4/127.0.0.1/tcp/{port}\"]\nmdns = false\n{extra}"),
    )
    .unwrap();
    ok(home.path(), &["init", "--name", name]);
    home
}

pub fn person(name: &str) -> tempfile::TempDir {
    person_with(name, 0, "")
}

/// Polls a command until its output (stdout then stderr) satisfies `check`.
pub fn wait_for(home: &Path, args: &[&str], what: &str, check: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let output = aura(home, args);
        let shown = format!("{}{}", text(&output.stdout), text(&output.stderr));
        if check(&shown) {
            return shown;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}:\n{shown}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `inviter` invites `invitee` with `aura invite`; both see each other as contacts.
pub fn befriend(inviter: &Path, invitee: &Path) {
    let code = ok(inviter, &["invite", "create"]);
    let accepted = ok(invitee, &["invite", "accept", code.trim()]);
    assert!(accepted.contains("is now a contact"), "{accepted}");
}

/// `aura daemon` on a home, killed on drop unless stopped.
pub struct Daemon {
    child: Child,
    home: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Starts it and waits until it listens; its stderr goes to `home/daemon.log`.
    pub fn start(home: &Path) -> Self {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(home.join("daemon.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_aura"))
            .env("AURA_HOME", home)
            .env_remove("RUST_LOG")
            .arg("daemon")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        wait_for(home, &["status"], "a listen address", |s| {
            s.contains("listening  /ip4/127.0.0.1/tcp/")
        });
        Self {
            child,
            home: home.to_owned(),
        }
    }

    /// Stops it as a user would (SIGTERM) and waits for it to exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    pub fn home(&self) -> &Path {
        &self.home
    }
}

/// The peer id `aura id` prints.
pub fn peer_id(home: &Path) -> String {
    ok(home, &["id"])
        .lines()
        .find_map(|line| line.strip_prefix("peer id"))
        .unwrap()
        .trim()
        .to_owned()
}
