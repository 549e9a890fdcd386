//! The contacts-and-trust page: each contact under the label the node computes (nickname or
//! name, with a short peer id where names collide), whether it is online, the level this
//! device trusts it at and whether that trust is shared with it; then the peers reached only
//! through others. Under the list, the selected peer's level explained, path by path and edge
//! by edge. From here a contact's level is raised or lowered, sharing toggled, and the contact
//! renamed or removed.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::trust_path;
use super::{ConfirmRemove, Prompt};
use crate::control::render::utc_minute;
use crate::invite::views::ContactView;
use crate::node::InviteRequest;
use crate::state::trust_level::TrustLevel;
use crate::trust::views::TrustEntryView;
use crate::ui::app::Model;
use crate::ui::keymap::{Binding, KeyCombo};
use crate::ui::relations::Outcome;
use crate::ui::render::page_block;
use crate::ui::screen::{Effect, Screen};
use crate::ui::text::{pad, shorten, text_width};
use crate::ui::update::Command;

/// The widest a label column grows; longer ones are cut with an ellipsis.
const NAME_COLUMN_MAX: usize = 24;
/// `YYYY-MM-DD`, the part of a UTC time the "since" column shows.
const DATE_CHARS: usize = 10;
/// The most lines the explanation panel takes; the list keeps the rest.
const PANEL_MAX_LINES: usize = 9;
/// The fewest lines the list keeps when the panel is tall.
const LIST_MIN_LINES: u16 = 4;

/// One line of the list: a contact, or a peer a path reaches through others.
struct Row<'m> {
    peer_id: &'m str,
    label: &'m str,
    contact: Option<&'m ContactView>,
    trust: Option<&'m TrustEntryView>,
}

/// Contacts first, in the node's order, then the peers reached through them.
fn rows(model: &Model) -> Vec<Row<'_>> {
    let relations = &model.relations;
    let trust_of = |peer_id: &str| relations.trust.iter().find(|e| e.peer_id == peer_id);
    let mut rows: Vec<Row<'_>> = relations
        .contacts
        .iter()
        .map(|contact| Row {
            peer_id: &contact.peer_id,
            label: &contact.label,
            contact: Some(contact),
            trust: trust_of(&contact.peer_id),
        })
        .collect();
    let others = relations.trust.iter().filter(|entry| {
        !relations
            .contacts
            .iter()
            .any(|c| c.peer_id == entry.peer_id)
    });
    rows.extend(others.map(|entry| Row {
        peer_id: &entry.peer_id,
        label: &entry.label,
        contact: None,
        trust: Some(entry),
    }));
    rows
}

fn level_named(name: &str) -> Option<TrustLevel> {
    TrustLevel::ALL
        .into_iter()
        .find(|level| level.name() == name)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactsScreen {
    /// Index into the rows; kept within them when used.
    pub selected: usize,
    /// Why the last key had nothing to act on.
    pub refusal: Option<&'static str>,
}

impl ContactsScreen {
    pub fn open() -> Vec<Effect> {
        vec![
            Effect::Open(Self::default().into()),
            Effect::Command(Command::RefreshContacts),
            Effect::Command(Command::RefreshTrust),
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Explain,
    Raise,
    Lower,
    ToggleSharing,
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
            keys: &[KeyCombo::plain(KeyCode::Enter)],
            action: Action::Explain,
            hint: "why",
            help: "Explain the selected peer's level: every best path, edge by edge",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Char('+')),
                KeyCombo::plain(KeyCode::Char('=')),
            ],
            action: Action::Raise,
            hint: "trust more",
            help: "Trust the selected contact one level more (none, low, medium, high, complete)",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('-'))],
            action: Action::Lower,
            hint: "less",
            help: "Trust the selected contact one level less; none distrusts it",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('s'))],
            action: Action::ToggleSharing,
            hint: "share",
            help: "Share your trust in your other contacts with the selected one, or stop",
        },
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
            help: "Select the next peer and explain its level",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Up),
                KeyCombo::plain(KeyCode::Char('k')),
            ],
            action: Action::SelectPrevious,
            hint: "",
            help: "Select the previous peer and explain its level",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Esc),
                KeyCombo::plain(KeyCode::Char('c')),
            ],
            action: Action::Close,
            hint: "close",
            help: "Close contacts and trust",
        },
    ];

    fn perform(&mut self, action: Action, model: &mut Model) -> Vec<Effect> {
        self.refusal = None;
        if action == Action::Close {
            return vec![Effect::Close];
        }
        let rows = rows(model);
        let Some(last) = rows.len().checked_sub(1) else {
            self.refusal = Some("No contacts yet: invitations (i on the main screen) make them.");
            return Vec::new();
        };
        let current = self.selected.min(last);
        let explain = |index: usize| {
            let peer_id = rows[index].peer_id.to_owned();
            vec![Effect::Command(Command::ExplainTrust(peer_id))]
        };
        let row = &rows[current];
        let request = match action {
            Action::SelectNext | Action::SelectPrevious => {
                self.selected = if action == Action::SelectNext {
                    (current + 1).min(last)
                } else {
                    current.saturating_sub(1)
                };
                return explain(self.selected);
            }
            Action::Explain => return explain(current),
            Action::Close => return Vec::new(),
            _ if row.contact.is_none() => {
                self.refusal = Some(
                    "Reached only through others: levels, sharing and names are set for contacts.",
                );
                return Vec::new();
            }
            Action::Raise | Action::Lower => {
                let direct = row
                    .trust
                    .and_then(|entry| entry.direct.as_deref())
                    .and_then(level_named);
                let Some(direct) = direct else {
                    self.refusal = Some("The level is not known yet; try again in a moment.");
                    return Vec::new();
                };
                let position = TrustLevel::ALL.iter().position(|l| *l == direct);
                let next = match (action, position) {
                    (Action::Raise, Some(at)) => TrustLevel::ALL.get(at + 1),
                    (_, Some(at)) => at.checked_sub(1).and_then(|at| TrustLevel::ALL.get(at)),
                    (_, None) => None,
                };
                let Some(level) = next.copied() else {
                    self.refusal = Some(if action == Action::Raise {
                        "Already at the highest level."
                    } else {
                        "Already at none: this contact is not trusted at all."
                    });
                    return Vec::new();
                };
                InviteRequest::SetTrust {
                    target: row.peer_id.to_owned(),
                    level,
                }
            }
            Action::ToggleSharing => InviteRequest::Share {
                target: row.peer_id.to_owned(),
                on: !row.trust.and_then(|entry| entry.shared).unwrap_or(false),
            },
            Action::Rename | Action::Remove => {
                let Some(contact) = row.contact else {
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
        };
        vec![Effect::Command(Command::Invite(request))]
    }

    fn render(&self, model: &Model, frame: &mut Frame, area: Rect, _focused: bool) {
        let block = page_block("Contacts and trust");
        let inner = block.inner(area);
        let width = usize::from(inner.width);
        let rows = rows(model);
        let selected = self.selected.min(rows.len().saturating_sub(1));
        let (list, footer) = self.list_lines(model, &rows, selected, width);
        let panel = match rows.get(selected) {
            Some(row) => {
                let explained = model
                    .relations
                    .explained
                    .as_ref()
                    .filter(|shown| shown.peer_id == row.peer_id);
                match explained {
                    Some(_) => trust_path::lines(row.label, explained, width),
                    None => vec![Line::styled(
                        shorten(&format!("Enter: why {} is at this level", row.label), width),
                        Style::new().fg(Color::DarkGray),
                    )],
                }
            }
            None => Vec::new(),
        };
        let panel_height = if panel.is_empty() {
            0
        } else {
            panel.len().min(PANEL_MAX_LINES) + 1
        };
        let panel_height = u16::try_from(panel_height)
            .unwrap_or(u16::MAX)
            .min(inner.height.saturating_sub(LIST_MIN_LINES));
        let footer_height = u16::try_from(footer.len()).unwrap_or(u16::MAX);
        // The panel follows the list directly; what is left over goes below both.
        let list_height = u16::try_from(list.len())
            .unwrap_or(u16::MAX)
            .min(inner.height.saturating_sub(panel_height + footer_height))
            .max(1);
        let [list_area, panel_area, _, footer_area] = Layout::vertical([
            Constraint::Length(list_height),
            Constraint::Length(panel_height),
            Constraint::Fill(1),
            Constraint::Length(footer_height),
        ])
        .areas(inner);
        frame.render_widget(Clear, area);
        frame.render_widget(block, area);
        // A long list scrolls just enough to keep the selected row in view (the heading is
        // line 0; a row's line is found by its index among the lines).
        let selected_line = selected_line(&rows, selected);
        let offset = (selected_line + 1).saturating_sub(usize::from(list_area.height).max(1));
        let offset = u16::try_from(offset).unwrap_or(u16::MAX);
        frame.render_widget(Paragraph::new(list).scroll((offset, 0)), list_area);
        let mut panel_lines = vec![Line::default()];
        panel_lines.extend(panel);
        frame.render_widget(Paragraph::new(panel_lines), panel_area);
        frame.render_widget(Paragraph::new(footer), footer_area);
    }
}

/// The line a row is drawn on: the heading, the contacts, then a title before the others.
fn selected_line(rows: &[Row<'_>], selected: usize) -> usize {
    let contacts = rows.iter().filter(|row| row.contact.is_some()).count();
    if selected < contacts {
        selected + 1
    } else {
        selected + 2
    }
}

impl ContactsScreen {
    /// The list's lines, and the footer's (outcome, refusal, legend).
    fn list_lines(
        &self,
        model: &Model,
        rows: &[Row<'_>],
        selected: usize,
        width: usize,
    ) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
        let heading = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
        let quiet = Style::new().fg(Color::DarkGray);
        let label_width = rows
            .iter()
            .map(|row| text_width(row.label))
            .max()
            .unwrap_or(0)
            .max("contact".len())
            .min(NAME_COLUMN_MAX);
        let mut lines = vec![Line::styled(
            format!(
                "  {}  {:<8}  {:<6}  {:<DATE_CHARS$}  peer id",
                pad("contact", label_width),
                "level",
                "shared",
                "since"
            ),
            heading,
        )];
        if rows.is_empty() {
            lines.push(Line::styled(
                "  No contacts yet: invitations (i on the main screen) make them.",
                quiet,
            ));
        }
        let contacts = rows.iter().filter(|row| row.contact.is_some()).count();
        for (index, row) in rows.iter().enumerate() {
            if index == contacts {
                lines.push(Line::styled("  reached through your contacts", heading));
            }
            let style = if index == selected {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new()
            };
            let level = row.trust.map_or("–", |entry| entry.level.as_str());
            let (dot, dot_style, rest) = match row.contact {
                Some(contact) => {
                    let (dot, dot_style) = match contact.online {
                        Some(true) => ("●", Style::new().fg(Color::Green)),
                        Some(false) => ("○", quiet),
                        None => ("?", quiet),
                    };
                    let shared = match row.trust.and_then(|entry| entry.shared) {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "–",
                    };
                    let since: String = utc_minute(contact.since_ms)
                        .chars()
                        .take(DATE_CHARS)
                        .collect();
                    let mut rest = format!(
                        " {}  {level:<8}  {shared:<6}  {since}  {}",
                        pad(row.label, label_width),
                        row.peer_id
                    );
                    if contact.ended.is_some() {
                        rest.push_str("  (ended)");
                    }
                    (dot, dot_style, rest)
                }
                None => {
                    let via = row.trust.and_then(|entry| {
                        let through = entry.via.as_deref()?;
                        Some(format!("via {through}, {} hops", entry.hops))
                    });
                    let rest = format!(
                        " {}  {level:<8}  {}  {}",
                        pad(row.label, label_width),
                        via.as_deref().unwrap_or(""),
                        row.peer_id
                    );
                    (" ", Style::new(), rest)
                }
            };
            lines.push(Line::from(vec![
                Span::styled(dot, dot_style),
                Span::styled(shorten(&rest, width.saturating_sub(1)), style),
            ]));
        }
        let mut footer = Vec::new();
        match &model.relations.outcome {
            Some(Outcome::Done(text)) => {
                footer.push(Line::styled(
                    shorten(text, width),
                    Style::new().fg(Color::Green),
                ));
            }
            Some(Outcome::Failed(text)) => {
                footer.push(Line::styled(
                    shorten(text, width),
                    Style::new().fg(Color::Red),
                ));
            }
            None => {}
        }
        if let Some(refusal) = self.refusal {
            footer.push(Line::styled(
                shorten(refusal, width),
                Style::new().fg(Color::Yellow),
            ));
        }
        footer.push(Line::styled(
            shorten(
                "● online  ○ offline   shared: your trust in others is told to them",
                width,
            ),
            quiet,
        ));
        (lines, footer)
    }
}
