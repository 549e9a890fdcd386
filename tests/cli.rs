//! The `aura` binary's commands, run as a user would run them.

use std::path::Path;
use std::process::{Command, Output};

fn aura(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aura"))
        .env("AURA_HOME", home)
        .env_remove("RUST_LOG")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn id_is_stable_per_profile_and_distinct_across_profiles() {
    let home = tempfile::tempdir().unwrap();
    let first = stdout(&aura(home.path(), &["--profile", "a", "id"]));
    let second = stdout(&aura(home.path(), &["--profile", "a", "id"]));
    let other = stdout(&aura(home.path(), &["--profile", "b", "id"]));
    assert!(first.starts_with("peer id      12D3KooW"), "{first}");
    assert!(first.contains("fingerprint  "), "{first}");
    assert_eq!(first, second);
    assert_ne!(first, other);
}

#[test]
fn data_dir_flag_and_env_agree() {
    let home = tempfile::tempdir().unwrap();
    let by_env = stdout(&aura(home.path(), &["id"]));
    let by_flag = Command::new(env!("CARGO_BIN_EXE_aura"))
        .env_remove("AURA_HOME")
        .arg("--data-dir")
        .arg(home.path())
        .arg("id")
        .output()
        .unwrap();
    assert_eq!(by_env, stdout(&by_flag));
}

#[test]
fn status_shows_paths_and_counts() {
    let home = tempfile::tempdir().unwrap();
    let before = stdout(&aura(home.path(), &["--profile", "a", "status"]));
    assert!(before.contains("not created yet"), "{before}");
    assert!(!home.path().join("profiles/a/store.redb").exists());

    let init = stdout(&aura(home.path(), &["--profile", "a", "init"]));
    assert!(init.contains("created profile 'a'"), "{init}");
    let again = stdout(&aura(home.path(), &["--profile", "a", "init"]));
    assert!(again.contains("already exists"), "{again}");

    let status = stdout(&aura(home.path(), &["--profile", "a", "status"]));
    let store = home.path().join("profiles/a/store.redb");
    assert!(
        status.contains(&format!("store        {}", store.display())),
        "{status}"
    );
    assert!(
        status.contains(&home.path().join("config.toml").display().to_string()),
        "{status}"
    );
    assert!(status.contains("logs         "), "{status}");
    let entries = |table: &str| {
        status
            .lines()
            .find(|line| line.split_whitespace().next() == Some(table))
            .map(|line| {
                line.split_whitespace()
                    .skip(1)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
    };
    assert_eq!(
        entries("identity").as_deref(),
        Some("1 entries"),
        "{status}"
    );
    let schema = format!("schema v{}", aura::state::store::SCHEMA_VERSION);
    assert!(status.contains(&schema), "{status}");
    assert_eq!(
        entries("journal_facts").as_deref(),
        Some("0 entries"),
        "{status}"
    );
    let id = stdout(&aura(home.path(), &["--profile", "a", "id"]));
    assert!(status.contains(id.lines().next().unwrap()), "{status}");
}

#[test]
fn an_invalid_config_value_is_one_line_naming_file_and_key() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), "[ui]\ntick_ms = 1\n").unwrap();
    let output = aura(home.path(), &["id"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("config.toml") && message.contains("ui.tick_ms"),
        "{message}"
    );
}

#[test]
fn an_unknown_config_key_is_reported_and_ignored() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), "[ui]\ntick_msec = 100\n").unwrap();
    let output = aura(home.path(), &["id"]);
    stdout(&output);
    assert!(
        stderr(&output).contains("unknown key `ui.tick_msec`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_bad_profile_name_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let output = aura(home.path(), &["--profile", "../etc", "id"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("invalid profile name"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_damaged_store_is_reported_and_kept() {
    let home = tempfile::tempdir().unwrap();
    stdout(&aura(home.path(), &["--profile", "a", "init"]));
    let store = home.path().join("profiles/a/store.redb");
    let mut bytes = std::fs::read(&store).unwrap();
    bytes.truncate(bytes.len() / 3);
    std::fs::write(&store, &bytes).unwrap();
    for args in [["--profile", "a", "id"], ["--profile", "a", "status"]] {
        let output = aura(home.path(), &args);
        assert!(!output.status.success());
        let message = stderr(&output);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains("left untouched"), "{message}");
    }
    assert!(std::fs::read(&store).unwrap() == bytes);
}

#[test]
fn budget_list_without_a_node_reads_the_store() {
    let home = tempfile::tempdir().unwrap();
    let listed = aura(home.path(), &["budget", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let text = stdout(&listed);
    assert!(text.contains("no node is running"), "{text}");
    assert!(text.contains("budgets refill in"), "{text}");
    assert!(text.contains("no budgets yet"), "{text}");
}

#[test]
fn read_only_commands_create_nothing_and_change_nothing() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("profiles/a/store.redb");
    for args in [&["status"][..], &["peer", "list"], &["budget", "list"]] {
        let output = aura(home.path(), &[&["--profile", "a"][..], args].concat());
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert!(!store.exists(), "{args:?} created the store");
    }
    assert!(
        stdout(&aura(home.path(), &["--profile", "a", "peer", "list"])).contains("no saved peers")
    );
    // `id` on a new profile creates it, as `init` does.
    stdout(&aura(home.path(), &["--profile", "a", "id"]));
    let before = std::fs::read(&store).unwrap();
    for args in [
        &["id"][..],
        &["status"],
        &["peer", "list"],
        &["budget", "list"],
    ] {
        stdout(&aura(
            home.path(),
            &[&["--profile", "a"][..], args].concat(),
        ));
        assert!(
            std::fs::read(&store).unwrap() == before,
            "{args:?} changed the store"
        );
    }
    // A store file made read-only still shows its id, and stays as it was.
    use std::os::unix::fs::PermissionsExt;
    let id = stdout(&aura(home.path(), &["--profile", "a", "id"]));
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o400)).unwrap();
    for args in [&["id"][..], &["status"], &["peer", "list"]] {
        let shown = stdout(&aura(
            home.path(),
            &[&["--profile", "a"][..], args].concat(),
        ));
        if args == ["id"] {
            assert_eq!(shown, id);
        }
    }
    assert!(std::fs::read(&store).unwrap() == before);
    let mode = std::fs::metadata(&store).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o400, "the file's mode was changed");
}

#[test]
fn peer_remove_without_a_node_names_what_it_did_not_find() {
    let home = tempfile::tempdir().unwrap();
    let peer = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
    let other = "12D3KooWBqT4saShuoX86hBmBGX5EV1auRHoYCYySyTJSbLsEPBN";
    for port in [1, 2] {
        let addr = format!("/ip4/127.0.0.1/tcp/{port}/p2p/{peer}");
        stdout(&aura(home.path(), &["peer", "add", &addr]));
    }
    let missing = aura(home.path(), &["peer", "remove", other]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains(other), "{}", stderr(&missing));
    assert_eq!(stderr(&missing).lines().count(), 1);
    let removed = stdout(&aura(home.path(), &["peer", "remove", peer]));
    assert!(removed.contains("removed 2 saved address(es)"), "{removed}");
    assert!(stdout(&aura(home.path(), &["peer", "list"])).contains("no saved peers"));
}

/// Runs `script` with `sh -c`, `$AURA` naming the binary and `AURA_HOME` set to `home`.
fn shell(home: &Path, script: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("AURA", env!("CARGO_BIN_EXE_aura"))
        .env("AURA_HOME", home)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let home = tempfile::tempdir().unwrap();
    stdout(&aura(home.path(), &["init"]));
    let head = shell(home.path(), r#""$AURA" status | head -1"#);
    assert!(head.status.success());
    assert_eq!(stdout(&head).lines().count(), 1);
    assert_eq!(stderr(&head), "");
    // The reader is gone before anything is written: every write meets a closed pipe.
    for command in ["status", "id", "peer list", "budget list", "init"] {
        let closed = shell(
            home.path(),
            &format!(r#"(sleep 0.3; "$AURA" {command}; echo $? > "$AURA_HOME/rc") | true"#),
        );
        assert_eq!(stderr(&closed), "", "{command}");
        let rc = std::fs::read_to_string(home.path().join("rc")).unwrap();
        assert_eq!(rc.trim(), "0", "{command}");
    }
}

#[test]
fn a_config_syntax_error_names_line_and_column() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        "[ui]\ntick_ms = 100\nkeep = = 3\n",
    )
    .unwrap();
    for args in [&["id"][..], &["status"], &["daemon"]] {
        let output = aura(home.path(), args);
        assert!(!output.status.success());
        let message = stderr(&output);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.contains("config.toml line 3, column 8:"),
            "{message}"
        );
    }
}

#[test]
fn a_data_dir_that_is_not_a_folder_is_named() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("home");
    std::fs::write(&file, "not a folder").unwrap();
    let profile_file = home.path().join("other");
    std::fs::create_dir_all(profile_file.join("profiles")).unwrap();
    std::fs::write(profile_file.join("profiles/default"), "").unwrap();
    for (root, named) in [
        (&file, &file),
        (&profile_file, &profile_file.join("profiles/default")),
    ] {
        for args in [&["id"][..], &["status"], &["peer", "list"], &["daemon"]] {
            let output = aura(root, args);
            assert!(!output.status.success());
            let message = stderr(&output);
            assert_eq!(message.lines().count(), 1, "{message}");
            let expected = format!("aura: {} is not a folder", named.display());
            assert!(message.starts_with(&expected), "{message}");
            assert!(!message.contains("socket"), "{message}");
        }
    }
}

#[test]
fn an_unusable_profile_folder_is_named() {
    // A link to itself cannot be entered by anyone, root included (permissions would not
    // stop root, which CI runs as).
    let home = tempfile::tempdir().unwrap();
    let profiles = home.path().join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    let profile = profiles.join("default");
    std::os::unix::fs::symlink(&profile, &profile).unwrap();
    for command in ["status", "id", "init"] {
        let output = aura(home.path(), &[command]);
        let message = stderr(&output);
        assert!(!output.status.success(), "{command}");
        assert!(
            message.contains(&profile.display().to_string()),
            "{command}: {message}"
        );
        assert!(!message.contains("socket"), "{command}: {message}");
        assert_eq!(message.lines().count(), 1, "{command}: {message}");
    }
}

#[test]
fn each_cause_of_an_error_is_printed_once() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("config.toml")).unwrap();
    let output = aura(home.path(), &["id"]);
    let message = stderr(&output);
    assert!(!output.status.success());
    assert_eq!(message.matches("Is a directory").count(), 1, "{message}");
    std::fs::remove_dir(home.path().join("config.toml")).unwrap();
    std::fs::write(home.path().join("config.toml"), "[ui]\ntick_ms = \"x\"\n").unwrap();
    let message = stderr(&aura(home.path(), &["id"]));
    assert_eq!(message.matches("ui.tick_ms").count(), 1, "{message}");
}
