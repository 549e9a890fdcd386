//! Whole-screen snapshots of the TUI on ratatui's TestBackend.

use aura::net::NetworkStatus;
use aura::ui::{App, GroupSummary, IdentitySummary, UiEvent, render, update};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app(width: u16, height: u16) -> App {
    App::new(
        IdentitySummary {
            profile: "alice".into(),
            peer_id: "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into(),
            short_peer_id: "…4kx6nXTN".into(),
            fingerprint: "3f2a 91c0 77de 0b41 c5aa 2e19 8f60 d2b3".into(),
        },
        (width, height),
    )
}

fn screen(app: &App) -> String {
    let (width, height) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    terminal.backend().to_string()
}

fn press(app: &mut App, code: KeyCode) {
    update(app, UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

#[test]
fn shell_at_80x24() {
    insta::assert_snapshot!(screen(&app(80, 24)));
}

#[test]
fn shell_at_120x40() {
    insta::assert_snapshot!(screen(&app(120, 40)));
}

#[test]
fn help_open_at_80x24() {
    let mut app = app(80, 24);
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn smallest_supported_size_40x12_with_help() {
    let mut app = app(40, 12);
    let plain = screen(&app);
    assert!(plain.contains("alice"), "{plain}");
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn below_the_minimum_a_notice_replaces_the_screen() {
    insta::assert_snapshot!(screen(&app(39, 11)));
}

#[test]
fn groups_focus_network_and_notices() {
    let mut app = app(80, 24);
    app.groups = vec![
        GroupSummary {
            name: "family".into(),
            unread: 3,
        },
        GroupSummary {
            name: "work".into(),
            unread: 0,
        },
    ];
    app.selected_group = Some(0);
    app.notices.push(
        "config: unknown key `ui.theme` in /home/alice/.config/aura/config.toml (ignored)".into(),
    );
    update(
        &mut app,
        UiEvent::Network(NetworkStatus::Listening { peers: 2 }),
    );
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn resizing_redraws_to_the_new_size() {
    let mut app = app(120, 40);
    update(&mut app, UiEvent::Resize(60, 16));
    let text = screen(&app);
    assert_eq!(text.lines().count(), 16);
    assert!(
        text.lines().all(|line| line.chars().count() == 62),
        "{text}"
    );
}

#[test]
fn network_screen_at_100x30() {
    let mut app = app(100, 30);
    update(
        &mut app,
        UiEvent::Network(NetworkStatus::Listening { peers: 2 }),
    );
    update(
        &mut app,
        UiEvent::ListenAddrs(vec![
            "/ip4/127.0.0.1/tcp/40123".into(),
            "/ip4/127.0.0.1/udp/40124/quic-v1".into(),
        ]),
    );
    update(
        &mut app,
        UiEvent::Peers(vec![
            "12D3KooWAc1mR7sjQ5ZVYHgV3UDWqvA6j5QKMBz1WHGnnZ3Pz1kS".into(),
            "12D3KooWRzNkJUBtuvbA3ygqSq5jf2oq8WtPzR7LNPd2d1j9FvHq".into(),
        ]),
    );
    press(&mut app, KeyCode::Char('n'));
    insta::assert_snapshot!(screen(&app));
    press(&mut app, KeyCode::Esc);
    assert!(!app.network_open);
}
