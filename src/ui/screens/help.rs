//! The help overlay: the keys in force on the screen it was opened over, one line each, from
//! the same tables the keys are dispatched by.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::ui::app::Model;
use crate::ui::keymap::{Binding, KeyCombo, KeyHelp, in_force};
use crate::ui::render::{centered, popup_block};
use crate::ui::screen::{Effect, Layer, Screen};
use crate::ui::text::shorten;

const HELP_MAX_WIDTH: u16 = 68;
const FOOTER: &str = "Esc or ? closes this help.";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelpScreen {
    /// The bindings listed: the screen's own and the global ones in force over it.
    pub keys: Vec<KeyHelp>,
}

impl HelpScreen {
    /// Help for `screen`, the layer that had focus when help was asked for.
    pub fn over(screen: &Layer) -> Self {
        Self {
            keys: in_force(&screen.keys(), screen.text_field().is_some()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Close,
}

impl Screen for HelpScreen {
    type Action = Action;

    const BINDINGS: &'static [Binding<Action>] = &[Binding {
        keys: &[
            KeyCombo::plain(KeyCode::Esc),
            KeyCombo::plain(KeyCode::Char('?')),
        ],
        action: Action::Close,
        hint: "close",
        help: "Close this help",
    }];

    fn perform(&mut self, action: Action, _model: &mut Model) -> Vec<Effect> {
        match action {
            Action::Close => vec![Effect::Close],
        }
    }

    fn render(&self, _model: &Model, frame: &mut Frame, area: Rect, _focused: bool) {
        let keys = &self.keys;
        let key_column = keys
            .iter()
            .map(|binding| binding.keys_label().chars().count())
            .max()
            .unwrap_or(0);
        let width = HELP_MAX_WIDTH.min(area.width.saturating_sub(4));
        let inner = usize::from(width.saturating_sub(2));
        let roomy = keys
            .iter()
            .all(|binding| key_column + 2 + binding.help.chars().count() <= inner)
            && usize::from(area.height) >= keys.len() + 4;
        // Where the sentences do not fit one line each, every binding still gets its line, cut
        // short, rather than some bindings falling off the bottom.
        let (width, inner) = if roomy {
            (width, inner)
        } else {
            let width = area.width.min(HELP_MAX_WIDTH);
            (width, usize::from(width.saturating_sub(2)))
        };
        let room = inner.saturating_sub(key_column + 2);
        let mut lines: Vec<Line> = keys
            .iter()
            .map(|binding| {
                Line::from(vec![
                    Span::styled(
                        format!("{:<key_column$}  ", binding.keys_label()),
                        Style::new().fg(Color::Cyan),
                    ),
                    Span::raw(shorten(binding.help, room)),
                ])
            })
            .collect();
        if roomy || usize::from(area.height) >= keys.len() + 3 {
            lines.push(Line::styled(
                shorten(FOOTER, inner),
                Style::new().fg(Color::DarkGray),
            ));
        }
        let wanted_height = u16::try_from(lines.len())
            .unwrap_or(u16::MAX)
            .saturating_add(2);
        let popup = centered(area, width, wanted_height.min(area.height));
        frame.render_widget(Clear, popup);
        frame.render_widget(Paragraph::new(lines).block(popup_block("Keys")), popup);
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyEvent, KeyModifiers};

    use super::*;
    use crate::ui::app::App;
    use crate::ui::update::{UiEvent, test_identity, update};

    fn press(app: &mut App, code: KeyCode) {
        update(app, UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// The key labels the open help lists.
    fn listed(app: &App) -> Vec<String> {
        match app.focused() {
            Layer::Help(help) => help.keys.iter().map(KeyHelp::keys_label).collect(),
            other => panic!("{} has focus, not help", other.name()),
        }
    }

    #[test]
    fn help_over_the_main_screen_lists_its_keys_and_the_global_ones() {
        let mut app = App::new(test_identity(), (80, 24));
        press(&mut app, KeyCode::Char('?'));
        assert_eq!(
            listed(&app),
            ["?", "n", "i", "c", "Tab", "↓, j", "↑, k", "q, Ctrl-C"]
        );
    }

    #[test]
    fn help_over_the_network_screen_lists_adding_a_peer_and_not_the_group_keys() {
        let mut app = App::new(test_identity(), (80, 24));
        press(&mut app, KeyCode::Char('n'));
        press(&mut app, KeyCode::Char('?'));
        assert_eq!(listed(&app), ["?", "a", "Esc, n", "q, Ctrl-C"]);
        let Layer::Help(help) = app.focused() else {
            unreachable!()
        };
        assert_eq!(help.keys[1].help, "Add a peer by its address");
    }

    #[test]
    fn escape_and_question_mark_close_help_back_to_the_screen_below() {
        for close in [KeyCode::Esc, KeyCode::Char('?')] {
            let mut app = App::new(test_identity(), (80, 24));
            press(&mut app, KeyCode::Char('n'));
            press(&mut app, KeyCode::Char('?'));
            press(&mut app, close);
            assert_eq!(app.focused().name(), "Network");
        }
    }
}
