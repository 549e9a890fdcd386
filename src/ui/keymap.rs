//! The one table of key bindings. The help screen and the status bar's hints are both drawn
//! from it, so what the user is told and what the keys do cannot drift apart.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks the UI to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    ToggleHelp,
    ToggleNetwork,
    CloseOverlay,
    FocusNextPane,
    SelectNext,
    SelectPrevious,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere, even over the help screen.
    Always,
    /// On the main screen, when no overlay is open.
    MainScreen,
    /// While an overlay (such as help) is open.
    Overlay,
}

/// A key with its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCombo {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyCombo {
    const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    fn matches(&self, key: &KeyEvent) -> bool {
        // Shift is part of the character itself ('?' is shift-/), so it is not compared.
        let modifiers = key.modifiers - KeyModifiers::SHIFT;
        self.code == key.code && self.modifiers == modifiers
    }

    /// How the key is written in help and hints.
    pub fn label(&self) -> String {
        let key = match self.code {
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Esc => "Esc".to_owned(),
            KeyCode::Tab => "Tab".to_owned(),
            KeyCode::Up => "↑".to_owned(),
            KeyCode::Down => "↓".to_owned(),
            other => format!("{other:?}"),
        };
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{}", key.to_uppercase())
        } else {
            key
        }
    }
}

/// One entry of the keymap.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [KeyCombo],
    pub action: Action,
    pub scope: Scope,
    /// One or two words for the status bar; empty to keep it off the bar.
    pub hint: &'static str,
    /// A sentence for the help screen.
    pub help: &'static str,
}

impl Binding {
    /// All of the binding's keys, as shown to the user.
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(KeyCombo::label)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub const KEYMAP: &[Binding] = &[
    Binding {
        keys: &[KeyCombo::plain(KeyCode::Char('?'))],
        action: Action::ToggleHelp,
        scope: Scope::Always,
        hint: "help",
        help: "Show or hide this help",
    },
    Binding {
        keys: &[KeyCombo::plain(KeyCode::Esc)],
        action: Action::CloseOverlay,
        scope: Scope::Overlay,
        hint: "close",
        help: "Close the open screen",
    },
    Binding {
        keys: &[KeyCombo::plain(KeyCode::Char('n'))],
        action: Action::ToggleNetwork,
        scope: Scope::Always,
        hint: "network",
        help: "Show or hide addresses and peers",
    },
    Binding {
        keys: &[KeyCombo::plain(KeyCode::Tab)],
        action: Action::FocusNextPane,
        scope: Scope::MainScreen,
        hint: "switch pane",
        help: "Move focus between the group list and the conversation",
    },
    Binding {
        keys: &[
            KeyCombo::plain(KeyCode::Down),
            KeyCombo::plain(KeyCode::Char('j')),
        ],
        action: Action::SelectNext,
        scope: Scope::MainScreen,
        hint: "",
        help: "Select the next group",
    },
    Binding {
        keys: &[
            KeyCombo::plain(KeyCode::Up),
            KeyCombo::plain(KeyCode::Char('k')),
        ],
        action: Action::SelectPrevious,
        scope: Scope::MainScreen,
        hint: "",
        help: "Select the previous group",
    },
    Binding {
        keys: &[KeyCombo::plain(KeyCode::Char('q')), KeyCombo::ctrl('c')],
        action: Action::Quit,
        scope: Scope::Always,
        hint: "quit",
        help: "Quit Aura",
    },
];

/// The action bound to `key` in the current state, if any.
pub fn action_for(key: &KeyEvent, overlay_open: bool) -> Option<Action> {
    KEYMAP
        .iter()
        .filter(|binding| in_scope(binding.scope, overlay_open))
        .find(|binding| binding.keys.iter().any(|combo| combo.matches(key)))
        .map(|binding| binding.action)
}

/// The bindings that apply now and want a place on the status bar, in table order.
pub fn hints(overlay_open: bool) -> impl Iterator<Item = &'static Binding> {
    KEYMAP
        .iter()
        .filter(move |binding| !binding.hint.is_empty() && in_scope(binding.scope, overlay_open))
}

fn in_scope(scope: Scope, overlay_open: bool) -> bool {
    match scope {
        Scope::Always => true,
        Scope::MainScreen => !overlay_open,
        Scope::Overlay => overlay_open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_in_one_state() {
        for overlay_open in [false, true] {
            let mut seen = Vec::new();
            for binding in KEYMAP.iter().filter(|b| in_scope(b.scope, overlay_open)) {
                for combo in binding.keys {
                    assert!(!seen.contains(combo), "{combo:?} bound twice");
                    seen.push(*combo);
                }
            }
        }
    }

    #[test]
    fn shifted_characters_match_their_binding() {
        let question = KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(action_for(&question, false), Some(Action::ToggleHelp));
        let ctrl_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&ctrl_q, false), None);
    }

    #[test]
    fn labels_read_naturally() {
        let quit = KEYMAP.iter().find(|b| b.action == Action::Quit).unwrap();
        assert_eq!(quit.keys_label(), "q, Ctrl-C");
    }
}
