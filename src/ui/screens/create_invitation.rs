//! The form that makes an invitation: how long it stays valid, how many people may use it, a
//! note for them, whether each acceptance waits for the user's approval, and the level of
//! trust its contacts start at.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::invite::code::MAX_NOTE_BYTES;
use crate::node::InviteOptions;
use crate::state::trust_level::TrustLevel;
use crate::trust::book::RELATIONSHIP_TRUST;
use crate::ui::app::Model;
use crate::ui::keymap::{Binding, KeyCombo};
use crate::ui::render::{centered, popup_block};
use crate::ui::screen::{Effect, Screen};
use crate::ui::text_field::TextField;
use crate::ui::update::Command;

const HOUR_MS: u64 = 60 * 60 * 1000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// The expiry presets of `aura invite create --expires`, as the form offers them.
pub const EXPIRY_CHOICES: [(&str, Option<u64>); 5] = [
    ("1 hour", Some(HOUR_MS)),
    ("24 hours", Some(DAY_MS)),
    ("7 days", Some(7 * DAY_MS)),
    ("30 days", Some(30 * DAY_MS)),
    ("never", None),
];
const DEFAULT_EXPIRY: usize = 1;

/// The levels an invitation may start its contacts at: none would make a contact of no
/// trust, and complete is for the user's own devices.
pub const STARTING_LEVELS: [TrustLevel; 3] =
    [TrustLevel::Low, TrustLevel::Medium, TrustLevel::High];

/// The most uses the form offers; an invitation for more people than this is better made
/// again than left open.
pub const MAX_USES: u32 = 100;

const FORM_WIDTH: u16 = 64;
const LABEL_WIDTH: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Row {
    #[default]
    Expiry,
    Uses,
    Note,
    Approve,
    Trust,
}

const ROWS: [Row; 5] = [Row::Expiry, Row::Uses, Row::Note, Row::Approve, Row::Trust];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateInvitationForm {
    pub row: Row,
    /// Index into [`EXPIRY_CHOICES`].
    pub expiry: usize,
    pub uses: u32,
    pub note: TextField,
    pub approve: bool,
    /// Index into [`STARTING_LEVELS`].
    pub trust: usize,
}

impl Default for CreateInvitationForm {
    fn default() -> Self {
        Self {
            row: Row::default(),
            expiry: DEFAULT_EXPIRY,
            uses: 1,
            note: TextField::with_cap(MAX_NOTE_BYTES),
            approve: false,
            trust: STARTING_LEVELS
                .iter()
                .position(|level| *level == RELATIONSHIP_TRUST)
                .unwrap_or(0),
        }
    }
}

impl CreateInvitationForm {
    fn expiry_choice(&self) -> (&'static str, Option<u64>) {
        EXPIRY_CHOICES[self.expiry.min(EXPIRY_CHOICES.len() - 1)]
    }

    fn starting_level(&self) -> TrustLevel {
        STARTING_LEVELS[self.trust.min(STARTING_LEVELS.len() - 1)]
    }

    pub fn options(&self) -> InviteOptions {
        let (_, valid_for_ms) = self.expiry_choice();
        InviteOptions {
            valid_for_ms,
            uses: self.uses,
            note: self.note.value().trim().to_owned(),
            approve: self.approve,
            trust: self.starting_level(),
            group: None,
        }
    }

    fn move_row(&mut self, step: isize) {
        let at = ROWS.iter().position(|row| *row == self.row).unwrap_or(0);
        let next = (at as isize + step).rem_euclid(ROWS.len() as isize);
        self.row = ROWS[next as usize];
    }

    /// Changes the focused row's value by `step`; on the note, moves its cursor instead.
    fn change(&mut self, step: i32) {
        match self.row {
            Row::Expiry => {
                let len = EXPIRY_CHOICES.len() as i32;
                self.expiry = (self.expiry as i32 + step).rem_euclid(len) as usize;
            }
            Row::Uses => {
                self.uses = self.uses.saturating_add_signed(step).clamp(1, MAX_USES);
            }
            Row::Note => {
                let code = if step < 0 {
                    KeyCode::Left
                } else {
                    KeyCode::Right
                };
                self.note.edit(&KeyEvent::new(code, KeyModifiers::NONE));
            }
            Row::Approve => self.approve = !self.approve,
            Row::Trust => {
                let len = STARTING_LEVELS.len() as i32;
                self.trust = (self.trust as i32 + step).clamp(0, len - 1) as usize;
            }
        }
    }

    fn value_text(&self, row: Row) -> String {
        match row {
            Row::Expiry => format!("‹ {} ›", self.expiry_choice().0),
            Row::Uses => format!("‹ {} ›", self.uses),
            Row::Note => String::new(),
            Row::Approve if self.approve => "on: each acceptance waits for you".to_owned(),
            Row::Approve => "off: anyone with the code becomes a contact".to_owned(),
            Row::Trust => format!("‹ {} › contacts start at", self.starting_level().name()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Cancel,
    NextRow,
    PreviousRow,
    Decrease,
    Increase,
}

impl Screen for CreateInvitationForm {
    type Action = Action;

    const BINDINGS: &'static [Binding<Action>] = &[
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Enter)],
            action: Action::Create,
            hint: "create",
            help: "Create the invitation and show its code",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Esc)],
            action: Action::Cancel,
            hint: "cancel",
            help: "Close the form without creating anything",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Down),
                KeyCombo::plain(KeyCode::Tab),
            ],
            action: Action::NextRow,
            hint: "next",
            help: "Go to the next setting",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Up),
                KeyCombo::plain(KeyCode::BackTab),
            ],
            action: Action::PreviousRow,
            hint: "",
            help: "Go to the previous setting",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Left)],
            action: Action::Decrease,
            hint: "",
            help: "Choose the previous value (in the note: move left)",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Right),
                KeyCombo::plain(KeyCode::Char(' ')),
            ],
            action: Action::Increase,
            hint: "change",
            help: "Choose the next value (in the note: move right)",
        },
    ];

    fn perform(&mut self, action: Action, model: &mut Model) -> Vec<Effect> {
        match action {
            Action::Create => {
                model.relations.outcome = None;
                return vec![
                    Effect::Close,
                    Effect::Command(Command::CreateInvitation(self.options())),
                ];
            }
            Action::Cancel => return vec![Effect::Close],
            Action::NextRow => self.move_row(1),
            Action::PreviousRow => self.move_row(-1),
            Action::Decrease => self.change(-1),
            Action::Increase => self.change(1),
        }
        Vec::new()
    }

    fn render(&self, _model: &Model, frame: &mut Frame, area: Rect, focused: bool) {
        let popup = centered(area, FORM_WIDTH.min(area.width.saturating_sub(2)), 10);
        let block = popup_block("New invitation");
        let inner = block.inner(popup);
        frame.render_widget(Clear, popup);
        frame.render_widget(block, popup);
        let labels = [
            (Row::Expiry, "Expires"),
            (Row::Uses, "Uses"),
            (Row::Note, "Note"),
            (Row::Approve, "Approve"),
            (Row::Trust, "Trust"),
        ];
        let quiet = Style::new().fg(Color::DarkGray);
        let mut lines: Vec<Line> = labels
            .iter()
            .map(|&(row, label)| {
                let marker = if row == self.row { "›" } else { " " };
                let style = if row == self.row {
                    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
                } else {
                    Style::new()
                };
                Line::from(vec![
                    Span::styled(format!("{marker}{label:<LABEL_WIDTH$}"), style),
                    Span::raw(self.value_text(row)),
                ])
            })
            .collect();
        lines.push(Line::default());
        lines.push(Line::styled("↑↓ choose a setting, ←→ change it", quiet));
        lines.push(Line::styled("Enter creates · Esc cancels", quiet));
        frame.render_widget(Paragraph::new(lines), inner);
        // The note's field, after its label, on its row.
        let offset = u16::try_from(LABEL_WIDTH + 1).unwrap_or(u16::MAX);
        let note_area = Rect {
            x: inner.x.saturating_add(offset),
            y: inner.y.saturating_add(2),
            width: inner.width.saturating_sub(offset),
            height: 1.min(inner.height.saturating_sub(2)),
        };
        let note_style = Style::new().bg(Color::DarkGray);
        self.note.render(
            frame,
            note_area,
            note_style,
            focused && self.row == Row::Note,
        );
    }

    fn text_field(&self) -> Option<&TextField> {
        (self.row == Row::Note).then_some(&self.note)
    }

    fn text_field_mut(&mut self) -> Option<&mut TextField> {
        (self.row == Row::Note).then_some(&mut self.note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::app::App;
    use crate::ui::update::{UiEvent, test_identity, update};

    fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
        update(app, UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    #[test]
    fn the_defaults_are_24_hours_one_use_no_note_no_approval() {
        let mut app = App::new(test_identity(), (80, 24));
        app.overlays.push(CreateInvitationForm::default().into());
        let commands = press(&mut app, KeyCode::Enter);
        let expected = InviteOptions {
            valid_for_ms: Some(DAY_MS),
            uses: 1,
            note: String::new(),
            approve: false,
            trust: TrustLevel::Low,
            group: None,
        };
        assert_eq!(commands, [Command::CreateInvitation(expected)]);
        assert!(app.overlays.is_empty());
    }

    #[test]
    fn every_setting_is_reached_and_changed_by_keys_with_the_note_typed_in() {
        let mut app = App::new(test_identity(), (80, 24));
        app.overlays.push(CreateInvitationForm::default().into());
        for code in [
            KeyCode::Right,
            KeyCode::Right,
            KeyCode::Right,
            KeyCode::Down,
        ] {
            press(&mut app, code);
        }
        for _ in 0..3 {
            press(&mut app, KeyCode::Right);
        }
        press(&mut app, KeyCode::Left);
        press(&mut app, KeyCode::Tab);
        for c in "for bob q".chars() {
            assert!(press(&mut app, KeyCode::Char(c)).is_empty());
        }
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Char(' '));
        press(&mut app, KeyCode::Down);
        // High is as far as it goes.
        for _ in 0..3 {
            press(&mut app, KeyCode::Right);
        }
        let commands = press(&mut app, KeyCode::Enter);
        let expected = InviteOptions {
            valid_for_ms: None,
            uses: 3,
            note: "for bob q".into(),
            approve: true,
            trust: TrustLevel::High,
            group: None,
        };
        assert_eq!(commands, [Command::CreateInvitation(expected)]);
    }

    #[test]
    fn uses_stay_between_one_and_the_maximum() {
        let mut form = CreateInvitationForm {
            row: Row::Uses,
            ..CreateInvitationForm::default()
        };
        form.change(-1);
        assert_eq!(form.uses, 1);
        for _ in 0..=MAX_USES {
            form.change(1);
        }
        assert_eq!(form.uses, MAX_USES);
    }
}
