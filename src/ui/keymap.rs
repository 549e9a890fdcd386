//! Keys and their bindings. Each screen has one static table of bindings (`Screen::BINDINGS`),
//! and there is one table of global bindings ([`GLOBAL`]). A key is looked up in the focused
//! screen's table, then in the global one; help and the status bar's hints are drawn from the
//! same two tables, with the same shadowing, so what the user is told and what the keys do
//! cannot drift apart.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::text_field::typed_char;

/// A key with its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCombo {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyCombo {
    pub const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    pub const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    pub fn matches(&self, key: &KeyEvent) -> bool {
        // Shift is part of the character itself ('?' is shift-/), so it is not compared.
        let modifiers = key.modifiers - KeyModifiers::SHIFT;
        self.code == key.code && self.modifiers == modifiers
    }

    /// Whether this key types a character. While a text field has focus such a key is text,
    /// so a binding to it is not in force there.
    pub fn is_text(&self) -> bool {
        typed_char(&KeyEvent::new(self.code, self.modifiers)).is_some()
    }

    /// How the key is written in help and hints.
    pub fn label(&self) -> String {
        let key = match self.code {
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Esc => "Esc".to_owned(),
            KeyCode::Tab => "Tab".to_owned(),
            KeyCode::Enter => "Enter".to_owned(),
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

/// One entry of a screen's table: the keys, what they do there, and how the user is told.
#[derive(Debug, Clone, Copy)]
pub struct Binding<A> {
    pub keys: &'static [KeyCombo],
    pub action: A,
    /// One or two words for the status bar; empty to keep it off the bar.
    pub hint: &'static str,
    /// A sentence for the help screen.
    pub help: &'static str,
}

/// A binding as the user is told about it: the keys that do its action now, without the action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHelp {
    pub keys: Vec<KeyCombo>,
    pub hint: &'static str,
    pub help: &'static str,
}

impl KeyHelp {
    /// All of the binding's keys, as shown to the user.
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(KeyCombo::label)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether `combo` is in force: in a text field, a key that types a character is text.
fn live(combo: &KeyCombo, text_mode: bool) -> bool {
    !(text_mode && combo.is_text())
}

/// The action `key` has in `table`, if any.
pub fn lookup<A: Copy>(table: &[Binding<A>], key: &KeyEvent, text_mode: bool) -> Option<A> {
    table
        .iter()
        .find(|binding| {
            binding
                .keys
                .iter()
                .any(|combo| live(combo, text_mode) && combo.matches(key))
        })
        .map(|binding| binding.action)
}

/// `table` as the user is told about it: keys not in force are left out, and so is a binding
/// none of whose keys is.
pub fn describe<A>(table: &[Binding<A>], text_mode: bool) -> Vec<KeyHelp> {
    table
        .iter()
        .filter_map(|binding| {
            let keys: Vec<KeyCombo> = binding
                .keys
                .iter()
                .copied()
                .filter(|combo| live(combo, text_mode))
                .collect();
            (!keys.is_empty()).then_some(KeyHelp {
                keys,
                hint: binding.hint,
                help: binding.help,
            })
        })
        .collect()
}

/// What a global key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    Help,
    Quit,
}

/// The keys that work over every screen, after the screen's own (which may shadow them).
/// Outside a text field all of them; in one, only those that type no character (Ctrl-C).
pub const GLOBAL: &[Binding<Global>] = &[
    Binding {
        keys: &[KeyCombo::plain(KeyCode::Char('?'))],
        action: Global::Help,
        hint: "help",
        help: "Show or hide this help",
    },
    Binding {
        keys: &[KeyCombo::plain(KeyCode::Char('q')), KeyCombo::ctrl('c')],
        action: Global::Quit,
        hint: "quit",
        help: "Quit Aura",
    },
];

/// The global action of `key`, over a screen whose own table did not have it.
pub fn global_action(key: &KeyEvent, text_mode: bool) -> Option<Global> {
    lookup(GLOBAL, key, text_mode)
}

/// Everything the keys do over a screen whose own keys are `screen`: the help binding first
/// (the way to everything else, and the last hint to give up when the bar is short), then
/// the screen's bindings, then the other global ones. A global key the screen binds itself
/// is the screen's, so it is left out of the global entries.
pub fn in_force(screen: &[KeyHelp], text_mode: bool) -> Vec<KeyHelp> {
    let shadowed = |combo: &KeyCombo| screen.iter().any(|b| b.keys.contains(combo));
    let globals: Vec<KeyHelp> = GLOBAL
        .iter()
        .map(|binding| KeyHelp {
            keys: (binding.keys.iter().copied())
                .filter(|combo| live(combo, text_mode) && !shadowed(combo))
                .collect(),
            hint: binding.hint,
            help: binding.help,
        })
        .collect();
    let (help, others) = globals.split_at(1.min(globals.len()));
    help.iter()
        .chain(screen)
        .chain(others)
        .filter(|binding| !binding.keys.is_empty())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Toy {
        Close,
        Add,
    }

    const TOY: &[Binding<Toy>] = &[
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Esc),
                KeyCombo::plain(KeyCode::Char('?')),
            ],
            action: Toy::Close,
            hint: "close",
            help: "Close",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('a'))],
            action: Toy::Add,
            hint: "add",
            help: "Add",
        },
    ];

    #[test]
    fn shifted_characters_match_their_binding() {
        let question = KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(global_action(&question, false), Some(Global::Help));
        let ctrl_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(global_action(&ctrl_q, false), None);
    }

    #[test]
    fn in_a_text_field_only_keys_that_type_nothing_are_bound() {
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(global_action(&q, true), None);
        assert_eq!(global_action(&ctrl_c, true), Some(Global::Quit));
        let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(lookup(TOY, &esc, true), Some(Toy::Close));
        let a = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(lookup(TOY, &a, true), None);
        let told = describe(TOY, true);
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].keys_label(), "Esc");
    }

    #[test]
    fn a_screen_key_shadows_the_global_one_in_help_as_in_dispatch() {
        let shown = in_force(&describe(TOY, false), false);
        let labels: Vec<String> = shown.iter().map(KeyHelp::keys_label).collect();
        assert_eq!(labels, ["Esc, ?", "a", "q, Ctrl-C"]);
        let typing = in_force(&describe(TOY, true), true);
        let labels: Vec<String> = typing.iter().map(KeyHelp::keys_label).collect();
        assert_eq!(labels, ["Esc", "Ctrl-C"]);
    }

    #[test]
    fn help_comes_first_and_quit_last() {
        let shown = in_force(&[], false);
        let labels: Vec<String> = shown.iter().map(KeyHelp::keys_label).collect();
        assert_eq!(labels, ["?", "q, Ctrl-C"]);
    }

    #[test]
    fn no_global_key_is_bound_twice() {
        let mut seen = Vec::new();
        for combo in GLOBAL.iter().flat_map(|b| b.keys) {
            assert!(!seen.contains(combo), "{combo:?} bound twice");
            seen.push(*combo);
        }
    }
}
