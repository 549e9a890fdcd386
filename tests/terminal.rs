//! The real binary in a real terminal (tmux): it starts, draws, shows help, quits with 0 and
//! leaves the terminal in cooked mode; text typed into a field is text, even `q`; it refuses a
//! second TUI on the same profile while the running node answers `aura id` and `aura status`;
//! it survives being killed; and two TUIs become contacts through an invitation code copied
//! off one screen and pasted into the other.

// Tests and benchmarks measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);
const LOOPBACK_CONFIG: &str = "[network]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\nmdns = false\n";

/// A private tmux server with one shell pane, killed on drop.
struct Tmux {
    socket: String,
    home: tempfile::TempDir,
}

impl Tmux {
    fn start() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "aura-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let tmux = Self {
            socket,
            home: tempfile::tempdir().unwrap(),
        };
        // The node the TUI starts stays on loopback, and never sends multicast.
        std::fs::write(tmux.home().join("config.toml"), LOOPBACK_CONFIG).unwrap();
        tmux.run(&["new-session", "-d", "-x", "100", "-y", "30", "sh"]);
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env("TERM", "xterm-256color")
            .output()
            .expect("tmux must be installed to run the terminal tests (.ci/run installs it)");
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn type_line(&self, line: &str) {
        self.run(&["send-keys", "-l", line]);
        self.run(&["send-keys", "Enter"]);
    }

    fn keys(&self, keys: &str) {
        self.run(&["send-keys", keys]);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p"])
    }

    fn wait_for(&self, what: &str, predicate: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if predicate(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < WAIT,
                "timed out waiting for {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn aura_command(&self, args: &str) -> String {
        format!(
            "AURA_HOME='{}' '{}' {args}",
            self.home.path().display(),
            bin().display()
        )
    }

    /// Runs the binary on this test's home, outside tmux.
    fn aura(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin())
            .env("AURA_HOME", self.home())
            .args(args)
            .output()
            .unwrap()
    }

    fn home(&self) -> &Path {
        self.home.path()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aura"))
}

fn assert_cooked(tmux: &Tmux) {
    tmux.run(&["send-keys", "clear", "Enter"]);
    tmux.type_line("stty -a; echo STTY-DONE");
    let screen = tmux.wait_for("stty output", |s| s.contains("\nSTTY-DONE"));
    let flags: Vec<&str> = screen.split_whitespace().collect();
    for flag in ["icanon", "echo", "isig", "icrnl"] {
        assert!(flags.contains(&flag), "{flag} is not set:\n{screen}");
    }
}

#[test]
fn starts_shows_help_quits_cleanly_and_restores_the_terminal() {
    let tmux = Tmux::start();
    tmux.type_line(&format!(
        "{}; echo EXIT=$?",
        tmux.aura_command("--profile a")
    ));
    let screen = tmux.wait_for("the status bar", |s| s.contains("│ online"));
    assert!(screen.contains(" a │ …"), "{screen}");
    skip_the_name_prompt(&tmux);
    let screen = tmux.screen();
    assert!(
        screen.contains("? help") && screen.contains("i invitations"),
        "{screen}"
    );

    tmux.keys("?");
    let help = tmux.wait_for("the help", |s| s.contains("Keys"));
    assert!(help.contains("Quit Aura"), "{help}");
    tmux.keys("Escape");
    tmux.wait_for("help to close", |s| !s.contains("Quit Aura"));

    tmux.keys("q");
    tmux.wait_for("exit", |s| s.contains("EXIT=0"));
    assert_cooked(&tmux);
    assert_private_log(&tmux.home().join("profiles/a/logs"));
}

#[test]
fn the_address_prompt_explains_a_bad_address_and_takes_q_as_text() {
    let tmux = Tmux::start();
    tmux.type_line(&format!(
        "{}; echo EXIT=$?",
        tmux.aura_command("--profile a")
    ));
    tmux.wait_for("the status bar", |s| s.contains("│ online"));
    skip_the_name_prompt(&tmux);
    tmux.keys("n");
    tmux.wait_for("the network screen", |s| s.contains("Listening on"));
    tmux.keys("a");
    tmux.wait_for("the prompt", |s| s.contains("Add a peer"));

    tmux.run(&["send-keys", "-l", "/ip4/127.0.0.1/tcp/1"]);
    tmux.keys("Enter");
    let error = tmux.wait_for("the error", |s| s.contains("does not end in /p2p/PEER_ID"));
    assert!(
        error.contains("Add a peer"),
        "the prompt stays open:\n{error}"
    );

    tmux.run(&["send-keys", "-l", "q"]);
    tmux.wait_for("q in the field", |s| s.contains("/ip4/127.0.0.1/tcp/1q"));
    assert!(!tmux.screen().contains("EXIT="), "q quit the TUI");

    tmux.keys("Escape");
    tmux.wait_for("the prompt to close", |s| !s.contains("Add a peer"));
    tmux.keys("q");
    tmux.wait_for("exit", |s| s.contains("EXIT=0"));
    assert_cooked(&tmux);
}

const NAME_PROMPT: &str = "Your display name";

/// A new profile has no name: the TUI asks for one first. Esc skips it.
fn skip_the_name_prompt(tmux: &Tmux) {
    tmux.wait_for("the first-run name prompt", |s| s.contains(NAME_PROMPT));
    tmux.keys("Escape");
    tmux.wait_for("the prompt to close", |s| !s.contains(NAME_PROMPT));
}

/// The TUI logged to a file, readable by its owner alone, and not to the screen.
fn assert_private_log(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("starting the TUI"), "{text}");
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_second_process_on_a_running_profile_is_refused() {
    let tmux = Tmux::start();
    tmux.type_line(&format!(
        "{}; echo EXIT=$?",
        tmux.aura_command("--profile a")
    ));
    tmux.wait_for("the status bar", |s| s.contains("│ online"));

    let second = tmux.aura(&["--profile", "a"]);
    assert!(!second.status.success());
    let message = String::from_utf8(second.stderr).unwrap();
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("profile 'a'"), "{message}");
    // The running node answers the CLI over its control socket.
    let id = tmux.aura(&["--profile", "a", "id"]);
    assert!(
        id.status.success(),
        "{}",
        String::from_utf8_lossy(&id.stderr)
    );
    assert!(String::from_utf8_lossy(&id.stdout).contains("peer id"));
    let status = tmux.aura(&["--profile", "a", "status"]);
    let status_text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        status_text.contains("listening  /ip4/127.0.0.1/tcp/"),
        "{status_text}"
    );
    // Another profile is independent.
    let other = tmux.aura(&["--profile", "b", "id"]);
    assert!(other.status.success());

    tmux.keys("C-c");
    tmux.wait_for("exit", |s| s.contains("EXIT=0"));
    assert_cooked(&tmux);
}

#[test]
fn sigterm_restores_the_terminal_and_sigkill_loses_nothing() {
    let tmux = Tmux::start();
    let id_before = tmux.aura(&["--profile", "a", "id"]);
    assert!(id_before.status.success());

    tmux.type_line(&format!(
        "{}; echo EXIT=$?",
        tmux.aura_command("--profile a")
    ));
    tmux.wait_for("the status bar", |s| s.contains("│ online"));
    signal_aura(&tmux, "-TERM");
    tmux.wait_for("exit", |s| s.contains("EXIT=0"));
    assert_cooked(&tmux);

    tmux.type_line(&format!(
        "{}; echo EXIT=$?",
        tmux.aura_command("--profile a")
    ));
    tmux.wait_for("the status bar", |s| s.contains("│ online"));
    signal_aura(&tmux, "-KILL");
    tmux.wait_for("exit", |s| s.contains("EXIT=137"));
    std::thread::sleep(Duration::from_millis(200));
    let id_after = tmux.aura(&["--profile", "a", "id"]);
    assert!(
        id_after.status.success(),
        "{}",
        String::from_utf8_lossy(&id_after.stderr)
    );
    assert_eq!(id_before.stdout, id_after.stdout);
}

/// Sends `signal` to the aura process running in the pane's shell.
fn signal_aura(tmux: &Tmux, signal: &str) {
    let shell = tmux.run(&["display-message", "-p", "#{pane_pid}"]);
    let children = Command::new("pgrep")
        .args(["-P", shell.trim()])
        .output()
        .unwrap();
    let pid = String::from_utf8(children.stdout).unwrap();
    let pid = pid
        .lines()
        .next()
        .expect("aura runs under the pane's shell");
    let status = Command::new("kill").args([signal, pid]).status().unwrap();
    assert!(status.success());
}

/// How long the two sides may take to list each other once the code is accepted.
const CONTACT_WAIT: Duration = Duration::from_secs(20);

/// Starts the TUI in `tmux`'s pane and gives it `name` at the first-run prompt.
fn start_named(tmux: &Tmux, name: &str) {
    tmux.type_line(&format!(
        "{}; echo EXIT=$?",
        tmux.aura_command("--profile p")
    ));
    tmux.wait_for("the first-run name prompt", |s| s.contains(NAME_PROMPT));
    tmux.type_line(name);
    tmux.wait_for("the welcome", |s| s.contains(&format!("Welcome, {name}.")));
}

/// The invitation code on the invitations screen: the lines after its heading, each holding
/// nothing but code, joined.
fn code_on_screen(screen: &str) -> Option<String> {
    let mut lines = screen.lines().skip_while(|line| !line.starts_with("Code:"));
    lines.next()?;
    let code: String = lines
        .map(str::trim)
        .take_while(|line| !line.is_empty())
        .collect();
    code.starts_with("aura1").then_some(code)
}

fn wait_within(tmux: &Tmux, what: &str, limit: Duration, predicate: impl Fn(&str) -> bool) {
    let start = Instant::now();
    loop {
        let screen = tmux.screen();
        if predicate(&screen) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "timed out waiting for {what}:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_tuis_become_contacts_through_a_code_pasted_from_one_screen_into_the_other() {
    let alice = Tmux::start();
    let bob = Tmux::start();
    start_named(&alice, "Alice");
    start_named(&bob, "Bob");

    alice.keys("i");
    alice.wait_for("the invitations screen", |s| s.contains("Made by you"));
    alice.keys("n");
    alice.wait_for("the form", |s| {
        s.contains("New invitation") && s.contains("24 hours")
    });
    alice.keys("Enter");
    let screen = alice.wait_for("the code", |s| code_on_screen(s).is_some());
    assert!(
        screen.contains("copied to the clipboard (if your terminal allows OSC 52)"),
        "{screen}"
    );
    let code = code_on_screen(&screen).unwrap_or_default();

    bob.keys("i");
    bob.wait_for("the invitations screen", |s| s.contains("Made by you"));
    bob.keys("p");
    bob.wait_for("the code prompt", |s| s.contains("Accept an invitation"));
    // A bracketed paste of the code as copied off the screen, over two lines: pasted as
    // keys, the line break would be Enter and send half a code.
    let (first, second) = code.split_at(code.len() / 2);
    bob.run(&["set-buffer", &format!("{first}\n{second}")]);
    bob.run(&["paste-buffer", "-p"]);
    bob.wait_for("the pasted code", |s| s.contains(&code[code.len() - 20..]));
    bob.keys("Enter");
    let accepted = Instant::now();

    for tmux in [&alice, &bob] {
        tmux.keys("Escape");
        tmux.wait_for("the main screen", |s| !s.contains("Made by you"));
        tmux.keys("c");
        tmux.wait_for("the contacts screen", |s| s.contains("Contacts and trust"));
    }
    let left = CONTACT_WAIT.saturating_sub(accepted.elapsed());
    wait_within(&alice, "Bob on Alice's contacts", left, |s| {
        s.lines()
            .any(|line| line.contains(" Bob ") && line.contains("12D3KooW"))
    });
    let left = CONTACT_WAIT.saturating_sub(accepted.elapsed());
    wait_within(&bob, "Alice on Bob's contacts", left, |s| {
        s.lines()
            .any(|line| line.contains(" Alice ") && line.contains("12D3KooW"))
    });

    for tmux in [&alice, &bob] {
        tmux.keys("Escape");
        tmux.keys("q");
        tmux.wait_for("exit", |s| s.contains("EXIT=0"));
    }
}
