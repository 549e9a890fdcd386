//! The pure heart of the UI: an event changes the view model and may ask the shell to act.

use crossterm::event::{KeyEvent, KeyEventKind};

use super::app::App;
use super::keymap::{Action, action_for};
use crate::net::NetworkStatus;

/// Everything the UI reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiEvent {
    Key(KeyEvent),
    Resize(u16, u16),
    /// Time passed; lets time-dependent text refresh.
    Tick,
    /// The node's network state changed.
    Network(NetworkStatus),
    /// The node listens on these addresses now.
    ListenAddrs(Vec<String>),
    /// These peers are connected now.
    Peers(Vec<String>),
}

/// What the UI asks of the shell around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
}

pub fn update(app: &mut App, event: UiEvent) -> Vec<Command> {
    match event {
        UiEvent::Key(key) if key.kind != KeyEventKind::Release => {
            match action_for(&key, app.overlay_open()) {
                Some(action) => perform(app, action),
                None => Vec::new(),
            }
        }
        UiEvent::Key(_) | UiEvent::Tick => Vec::new(),
        UiEvent::Resize(width, height) => {
            app.size = (width, height);
            Vec::new()
        }
        UiEvent::Network(status) => {
            app.network = status;
            Vec::new()
        }
        UiEvent::ListenAddrs(addrs) => {
            app.listen_addrs = addrs;
            Vec::new()
        }
        UiEvent::Peers(peers) => {
            app.peers = peers;
            Vec::new()
        }
    }
}

fn perform(app: &mut App, action: Action) -> Vec<Command> {
    match action {
        Action::Quit => return vec![Command::Quit],
        Action::ToggleHelp => {
            app.help_open = !app.help_open;
            app.network_open = false;
        }
        Action::ToggleNetwork => {
            app.network_open = !app.network_open;
            app.help_open = false;
        }
        Action::CloseOverlay => {
            app.help_open = false;
            app.network_open = false;
        }
        Action::FocusNextPane => app.focus = app.focus.next(),
        Action::SelectNext => move_selection(app, 1),
        Action::SelectPrevious => move_selection(app, -1),
    }
    Vec::new()
}

/// Moves the group selection by `step`, staying within the list.
fn move_selection(app: &mut App, step: isize) {
    if app.focus != super::app::Focus::Sidebar || app.groups.is_empty() {
        return;
    }
    let last = app.groups.len() - 1;
    let current = app.selected_group.unwrap_or(0);
    app.selected_group = Some(current.saturating_add_signed(step).min(last));
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};

    use super::*;
    use crate::ui::app::{Focus, GroupSummary, IdentitySummary};
    use crate::ui::keymap::KEYMAP;

    fn app() -> App {
        App::new(
            IdentitySummary {
                profile: "test".into(),
                peer_id: "12D3KooWTest".into(),
                short_peer_id: "…WTest".into(),
                fingerprint: "0000".into(),
            },
            (80, 24),
        )
    }

    fn with_groups(n: usize) -> App {
        let mut app = app();
        app.groups = (0..n)
            .map(|i| GroupSummary {
                name: format!("g{i}"),
                unread: 0,
            })
            .collect();
        app.selected_group = Some(0);
        app
    }

    fn key(code: KeyCode) -> UiEvent {
        UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
        update(app, key(code))
    }

    #[test]
    fn question_mark_toggles_help() {
        let mut app = app();
        press(&mut app, KeyCode::Char('?'));
        assert!(app.help_open);
        press(&mut app, KeyCode::Char('?'));
        assert!(!app.help_open);
    }

    #[test]
    fn escape_closes_help_and_is_inert_otherwise() {
        let mut app = app();
        press(&mut app, KeyCode::Char('?'));
        press(&mut app, KeyCode::Esc);
        assert!(!app.help_open);
        let before = app.clone();
        assert!(press(&mut app, KeyCode::Esc).is_empty());
        assert_eq!(app, before);
    }

    #[test]
    fn q_and_ctrl_c_quit_even_over_help() {
        for help_open in [false, true] {
            let mut app = app();
            app.help_open = help_open;
            assert_eq!(press(&mut app, KeyCode::Char('q')), [Command::Quit]);
            let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
            assert_eq!(update(&mut app, UiEvent::Key(ctrl_c)), [Command::Quit]);
        }
    }

    #[test]
    fn tab_cycles_focus_but_not_under_help() {
        let mut app = app();
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.focus, Focus::Conversation);
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.focus, Focus::Sidebar);
        app.help_open = true;
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.focus, Focus::Sidebar);
    }

    #[test]
    fn down_and_j_select_the_next_group_and_stop_at_the_end() {
        for code in [KeyCode::Down, KeyCode::Char('j')] {
            let mut app = with_groups(2);
            press(&mut app, code);
            assert_eq!(app.selected_group, Some(1));
            press(&mut app, code);
            assert_eq!(app.selected_group, Some(1));
        }
    }

    #[test]
    fn up_and_k_select_the_previous_group_and_stop_at_the_top() {
        for code in [KeyCode::Up, KeyCode::Char('k')] {
            let mut app = with_groups(3);
            app.selected_group = Some(2);
            press(&mut app, code);
            assert_eq!(app.selected_group, Some(1));
            press(&mut app, code);
            press(&mut app, code);
            assert_eq!(app.selected_group, Some(0));
        }
    }

    #[test]
    fn selection_keys_do_nothing_without_groups_or_sidebar_focus() {
        let mut empty = app();
        press(&mut empty, KeyCode::Char('j'));
        assert_eq!(empty.selected_group, None);
        let mut app = with_groups(3);
        app.focus = Focus::Conversation;
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.selected_group, Some(0));
    }

    #[test]
    fn every_keymap_entry_reaches_its_action() {
        for binding in KEYMAP {
            for combo in binding.keys {
                let mut app = with_groups(3);
                app.selected_group = Some(1);
                app.help_open = binding.scope == crate::ui::keymap::Scope::Overlay;
                let before = app.clone();
                let commands = update(
                    &mut app,
                    UiEvent::Key(KeyEvent::new(combo.code, combo.modifiers)),
                );
                let changed = app != before || !commands.is_empty();
                assert!(changed, "{} did nothing", combo.label());
            }
        }
    }

    #[test]
    fn key_releases_are_ignored() {
        let mut app = app();
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert!(update(&mut app, UiEvent::Key(release)).is_empty());
    }

    #[test]
    fn resize_and_network_events_update_the_model() {
        let mut app = app();
        update(&mut app, UiEvent::Resize(41, 13));
        assert_eq!(app.size, (41, 13));
        update(
            &mut app,
            UiEvent::Network(NetworkStatus::Listening { peers: 2 }),
        );
        assert_eq!(app.network, NetworkStatus::Listening { peers: 2 });
    }
}
