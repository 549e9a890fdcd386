//! Asking before a contact is removed: removing ends the relationship on this side and tells
//! the peer, and only a new invitation makes it again.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use crate::node::InviteRequest;
use crate::ui::app::Model;
use crate::ui::keymap::{Binding, KeyCombo};
use crate::ui::render::{centered, popup_block};
use crate::ui::screen::{Effect, Screen};
use crate::ui::text::wrap;
use crate::ui::update::Command;

const CONFIRM_WIDTH: u16 = 56;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfirmRemove {
    pub peer_id: String,
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Remove,
    Keep,
}

impl Screen for ConfirmRemove {
    type Action = Action;

    const BINDINGS: &'static [Binding<Action>] = &[
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('y'))],
            action: Action::Remove,
            hint: "remove",
            help: "Remove the contact",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Esc),
                KeyCombo::plain(KeyCode::Char('n')),
            ],
            action: Action::Keep,
            hint: "keep",
            help: "Keep the contact",
        },
    ];

    fn perform(&mut self, action: Action, _model: &mut Model) -> Vec<Effect> {
        match action {
            Action::Remove => vec![
                Effect::Close,
                Effect::Command(Command::Invite(InviteRequest::Remove(self.peer_id.clone()))),
            ],
            Action::Keep => vec![Effect::Close],
        }
    }

    fn render(&self, _model: &Model, frame: &mut Frame, area: Rect, _focused: bool) {
        let width = CONFIRM_WIDTH.min(area.width.saturating_sub(2));
        let inner = usize::from(width.saturating_sub(2));
        let question = format!(
            "Remove {}? This ends the relationship on this side and tells them; only a new \
             invitation makes it again.",
            self.label
        );
        let mut lines: Vec<Line> = wrap(&question, inner).into_iter().map(Line::from).collect();
        lines.push(Line::default());
        lines.push(Line::styled(
            "y removes · n or Esc keeps",
            Style::new().fg(Color::DarkGray),
        ));
        let wanted = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
        let popup = centered(area, width, wanted);
        frame.render_widget(Clear, popup);
        frame.render_widget(
            Paragraph::new(lines).block(popup_block("Remove a contact")),
            popup,
        );
    }
}
