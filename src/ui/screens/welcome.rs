//! What a newcomer sees once the first-run prompt has their name: nobody can reach them until
//! they have a contact, and how to get one.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::InvitationsScreen;
use crate::ui::app::Model;
use crate::ui::keymap::{Binding, KeyCombo};
use crate::ui::render::{centered, popup_block};
use crate::ui::screen::{Effect, Screen};
use crate::ui::text::{sanitize, wrap};

const WELCOME_MAX_WIDTH: u16 = 66;

/// How to start, for the main screen (with no contacts) and the welcome alike.
pub const HOW_TO_START: [&str; 3] = [
    "Nobody can reach you until you have a contact, and every contact starts with an invitation.",
    "To invite someone: press i, then n, and send them the code by any chat or email.",
    "If someone sent you a code: press i, then p, and paste it.",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WelcomeScreen {
    /// The name just given.
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OpenInvitations,
    Close,
}

impl Screen for WelcomeScreen {
    type Action = Action;

    const BINDINGS: &'static [Binding<Action>] = &[
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('i'))],
            action: Action::OpenInvitations,
            hint: "invitations",
            help: "Create an invitation or accept a code",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Esc),
                KeyCombo::plain(KeyCode::Enter),
            ],
            action: Action::Close,
            hint: "close",
            help: "Close the welcome",
        },
    ];

    fn perform(&mut self, action: Action, _model: &mut Model) -> Vec<Effect> {
        match action {
            Action::Close => vec![Effect::Close],
            Action::OpenInvitations => {
                let mut effects = vec![Effect::Close];
                effects.extend(InvitationsScreen::open());
                effects
            }
        }
    }

    fn render(&self, _model: &Model, frame: &mut Frame, area: Rect, _focused: bool) {
        let width = WELCOME_MAX_WIDTH.min(area.width.saturating_sub(2));
        let inner = usize::from(width.saturating_sub(2));
        let greeting = format!("Welcome, {}.", sanitize(&self.name));
        let mut lines: Vec<Line> = wrap(&greeting, inner).into_iter().map(Line::from).collect();
        for paragraph in HOW_TO_START {
            lines.push(Line::default());
            lines.extend(wrap(paragraph, inner).into_iter().map(Line::from));
        }
        lines.push(Line::default());
        lines.push(Line::styled(
            "i opens invitations · Esc closes this",
            Style::new().fg(Color::DarkGray),
        ));
        let wanted = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
        let popup = centered(area, width, wanted);
        frame.render_widget(Clear, popup);
        frame.render_widget(Paragraph::new(lines).block(popup_block("Welcome")), popup);
    }
}
