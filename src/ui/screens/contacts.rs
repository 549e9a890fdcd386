//! The contacts page: who this device has a relationship with, under the label the node
//! computes (nickname or name, with a short peer id where names collide), whether each is
//! online, and renaming or removing the selected one.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::{ConfirmRemove, Prompt};
use crate::control::render::utc_minute;
use crate::invite::views::ContactView;
use crate::ui::app::Model;
use crate::ui::keymap::{Binding, KeyCombo};
use crate::ui::relations::Outcome;
use crate::ui::render::page_block;
use crate::ui::screen::{Effect, Screen};
use crate::ui::text::{char_width, shorten};
use crate::ui::update::Command;

/// The widest a label or a name column grows; longer ones are cut with an ellipsis.
const NAME_COLUMN_MAX: usize = 24;
/// `YYYY-MM-DD`, the part of a UTC time the "since" column shows.
const DATE_CHARS: usize = 10;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactsScreen {
    /// Index into the contacts; kept within the list when used.
    pub selected: usize,
    /// Why the last key had nothing to act on.
    pub refusal: Option<&'static str>,
}

impl ContactsScreen {
    pub fn open() -> Vec<Effect> {
        vec![
            Effect::Open(Self::default().into()),
            Effect::Command(Command::RefreshContacts),
        ]
    }

    fn selected_contact<'m>(&self, model: &'m Model) -> Option<&'m ContactView> {
        let contacts = &model.relations.contacts;
        contacts.get(self.selected.min(contacts.len().checked_sub(1)?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Rename,
    Remove,
    SelectNext,
    SelectPrevious,
    Close,
}

impl Screen for ContactsScreen {
    type Action = Action;

    const BINDINGS: &'static [Binding<Action>] = &[
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('r'))],
            action: Action::Rename,
            hint: "rename",
            help: "Give the selected contact a nickname only you see",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('x'))],
            action: Action::Remove,
            hint: "remove",
            help: "End the relationship with the selected contact (asks first)",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Down),
                KeyCombo::plain(KeyCode::Char('j')),
            ],
            action: Action::SelectNext,
            hint: "",
            help: "Select the next contact",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Up),
                KeyCombo::plain(KeyCode::Char('k')),
            ],
            action: Action::SelectPrevious,
            hint: "",
            help: "Select the previous contact",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Esc),
                KeyCombo::plain(KeyCode::Char('c')),
            ],
            action: Action::Close,
            hint: "close",
            help: "Close the contacts",
        },
    ];

    fn perform(&mut self, action: Action, model: &mut Model) -> Vec<Effect> {
        self.refusal = None;
        if action == Action::Close {
            return vec![Effect::Close];
        }
        let Some(last) = model.relations.contacts.len().checked_sub(1) else {
            self.refusal = Some("No contacts yet: invitations (i on the main screen) make them.");
            return Vec::new();
        };
        let current = self.selected.min(last);
        match action {
            Action::SelectNext => self.selected = (current + 1).min(last),
            Action::SelectPrevious => self.selected = current.saturating_sub(1),
            Action::Rename | Action::Remove => {
                let Some(contact) = self.selected_contact(model) else {
                    return Vec::new();
                };
                let layer = if action == Action::Rename {
                    Prompt::nickname(
                        contact.peer_id.clone(),
                        contact.label.clone(),
                        contact.nickname.as_deref(),
                    )
                    .into()
                } else {
                    ConfirmRemove {
                        peer_id: contact.peer_id.clone(),
                        label: contact.label.clone(),
                    }
                    .into()
                };
                return vec![Effect::Open(layer)];
            }
            Action::Close => {}
        }
        Vec::new()
    }

    fn render(&self, model: &Model, frame: &mut Frame, area: Rect, _focused: bool) {
        let block = page_block("Contacts");
        let inner = block.inner(area);
        let width = usize::from(inner.width);
        let contacts = &model.relations.contacts;
        let heading = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
        let quiet = Style::new().fg(Color::DarkGray);
        let mut lines = Vec::new();
        let column = |texts: &mut dyn Iterator<Item = usize>, title: &str| {
            texts
                .max()
                .unwrap_or(0)
                .max(title.chars().count())
                .min(NAME_COLUMN_MAX)
        };
        let label_width = column(
            &mut contacts.iter().map(|c| text_width(&c.label)),
            "contact",
        );
        let name_width = column(&mut contacts.iter().map(|c| text_width(&c.name)), "name");
        let nick_width = column(
            &mut contacts
                .iter()
                .map(|c| c.nickname.as_deref().map_or(1, text_width)),
            "nickname",
        );
        lines.push(Line::styled(
            format!(
                "  {}  {}  {}  {:<DATE_CHARS$}  peer id",
                pad("contact", label_width),
                pad("name", name_width),
                pad("nickname", nick_width),
                "since"
            ),
            heading,
        ));
        if contacts.is_empty() {
            lines.push(Line::styled(
                "  No contacts yet: invitations (i on the main screen) make them.",
                quiet,
            ));
        }
        let selected = self.selected.min(contacts.len().saturating_sub(1));
        for (index, contact) in contacts.iter().enumerate() {
            let (dot, dot_style) = match contact.online {
                Some(true) => ("●", Style::new().fg(Color::Green)),
                Some(false) => ("○", quiet),
                None => ("?", quiet),
            };
            let since: String = utc_minute(contact.since_ms)
                .chars()
                .take(DATE_CHARS)
                .collect();
            let mut rest = format!(
                " {}  {}  {}  {since}  {}",
                pad(&contact.label, label_width),
                pad(&contact.name, name_width),
                pad(contact.nickname.as_deref().unwrap_or("–"), nick_width),
                contact.peer_id
            );
            if contact.ended.is_some() {
                rest.push_str("  (ended)");
            }
            let style = if index == selected {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new()
            };
            lines.push(Line::from(vec![
                Span::styled(dot, dot_style),
                Span::styled(shorten(&rest, width.saturating_sub(1)), style),
            ]));
        }
        lines.push(Line::default());
        match &model.relations.outcome {
            Some(Outcome::Done(text)) => {
                lines.push(Line::styled(
                    shorten(text, width),
                    Style::new().fg(Color::Green),
                ));
            }
            Some(Outcome::Failed(text)) => {
                lines.push(Line::styled(
                    shorten(text, width),
                    Style::new().fg(Color::Red),
                ));
            }
            None => {}
        }
        if let Some(refusal) = self.refusal {
            lines.push(Line::styled(refusal, Style::new().fg(Color::Yellow)));
        }
        lines.push(Line::styled("● online  ○ offline", quiet));
        frame.render_widget(Clear, area);
        frame.render_widget(block, area);
        // A long list scrolls just enough to keep the selected contact in view (the heading
        // is line 0, the selected contact line `selected + 1`).
        let offset = (selected + 1).saturating_sub(usize::from(inner.height).saturating_sub(1));
        let offset = u16::try_from(offset).unwrap_or(u16::MAX);
        frame.render_widget(Paragraph::new(lines).scroll((offset, 0)), inner);
    }
}

fn text_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// `text` cut to `width` columns and padded to them, so that the columns line up.
fn pad(text: &str, width: usize) -> String {
    let cut = shorten(text, width);
    let fill = width.saturating_sub(text_width(&cut));
    format!("{cut}{}", " ".repeat(fill))
}
