//! Random key and resize sequences never panic the UI, and quitting happens only on a quit key.

use aura::ui::{App, Command, GroupSummary, IdentitySummary, UiEvent, render, update};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

fn key_code() -> impl Strategy<Value = KeyCode> {
    prop_oneof![
        any::<char>().prop_map(KeyCode::Char),
        prop::sample::select(vec!['q', '?', 'j', 'k', 'c']).prop_map(KeyCode::Char),
        (0u8..=24).prop_map(KeyCode::F),
        prop::sample::select(vec![
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Enter,
            KeyCode::Backspace,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Delete,
            KeyCode::Insert,
            KeyCode::Null,
        ]),
    ]
}

fn event() -> impl Strategy<Value = UiEvent> {
    prop_oneof![
        6 => (key_code(), 0u8..16, prop::bool::weighted(0.1)).prop_map(|(code, bits, release)| {
            let mut key = KeyEvent::new(code, KeyModifiers::from_bits_truncate(bits));
            if release {
                key.kind = KeyEventKind::Release;
            }
            UiEvent::Key(key)
        }),
        2 => (0u16..=300, 0u16..=120).prop_map(|(w, h)| UiEvent::Resize(w, h)),
        1 => Just(UiEvent::Tick),
    ]
}

fn is_quit_key(event: &UiEvent) -> bool {
    let UiEvent::Key(key) = event else {
        return false;
    };
    let modifiers = key.modifiers - KeyModifiers::SHIFT;
    key.kind != KeyEventKind::Release
        && ((key.code == KeyCode::Char('q') && modifiers.is_empty())
            || (key.code == KeyCode::Char('c') && modifiers == KeyModifiers::CONTROL))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_input_never_panics(events in prop::collection::vec(event(), 0..60), groups in 0usize..5) {
        let mut app = App::new(
            IdentitySummary {
                profile: "p".into(),
                peer_id: "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into(),
                short_peer_id: "…4kx6nXTN".into(),
                fingerprint: "3f2a 91c0".into(),
            },
            (80, 24),
        );
        app.groups = (0..groups).map(|i| GroupSummary { name: format!("g{i}"), unread: i }).collect();
        app.selected_group = (groups > 0).then_some(0);
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        for event in events {
            let quit_expected = is_quit_key(&event);
            if let UiEvent::Resize(w, h) = event {
                terminal.resize(Rect::new(0, 0, w, h)).unwrap();
            }
            let commands = update(&mut app, event);
            prop_assert_eq!(commands.contains(&Command::Quit), quit_expected);
            if let Some(selected) = app.selected_group {
                prop_assert!(selected < app.groups.len());
            }
            terminal.draw(|frame| render(&app, frame)).unwrap();
        }
    }
}
