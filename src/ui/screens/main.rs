//! The screen under everything: the group list and the conversation.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};

use super::welcome::HOW_TO_START;
use super::{ContactsScreen, InvitationsScreen, NetworkScreen};
use crate::ui::app::Model;
use crate::ui::keymap::{Binding, KeyCombo};
use crate::ui::render::pane_block;
use crate::ui::screen::{Effect, Screen};

const SIDEBAR_MIN_WIDTH: u16 = 14;
const SIDEBAR_MAX_WIDTH: u16 = 28;

/// Which pane receives navigation keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Sidebar,
    Conversation,
}

impl Focus {
    pub fn next(self) -> Self {
        match self {
            Self::Sidebar => Self::Conversation,
            Self::Conversation => Self::Sidebar,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MainScreen {
    pub focus: Focus,
    /// Index into the model's groups; kept within the list when it is drawn, so the list may
    /// change under it.
    pub selected: usize,
}

impl MainScreen {
    /// The selected group, if there is any group.
    pub fn selected_group(&self, model: &Model) -> Option<usize> {
        let last = model.groups.len().checked_sub(1)?;
        Some(self.selected.min(last))
    }

    /// Moves the group selection by `step`, staying within the list.
    fn move_selection(&mut self, model: &Model, step: isize) {
        if self.focus != Focus::Sidebar {
            return;
        }
        if let Some(current) = self.selected_group(model) {
            let last = model.groups.len() - 1;
            self.selected = current.saturating_add_signed(step).min(last);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OpenNetwork,
    OpenInvitations,
    OpenContacts,
    FocusNextPane,
    SelectNext,
    SelectPrevious,
}

impl Screen for MainScreen {
    type Action = Action;

    const BINDINGS: &'static [Binding<Action>] = &[
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('n'))],
            action: Action::OpenNetwork,
            hint: "network",
            help: "Show addresses and peers; add a peer",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('i'))],
            action: Action::OpenInvitations,
            hint: "invitations",
            help: "Create an invitation or accept a code",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('c'))],
            action: Action::OpenContacts,
            hint: "contacts",
            help: "Contacts and trust: levels, sharing, why a peer is trusted; rename or remove",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Tab)],
            action: Action::FocusNextPane,
            hint: "switch pane",
            help: "Move focus between the group list and the conversation",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Down),
                KeyCombo::plain(KeyCode::Char('j')),
            ],
            action: Action::SelectNext,
            hint: "",
            help: "Select the next group",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Up),
                KeyCombo::plain(KeyCode::Char('k')),
            ],
            action: Action::SelectPrevious,
            hint: "",
            help: "Select the previous group",
        },
    ];

    fn perform(&mut self, action: Action, model: &mut Model) -> Vec<Effect> {
        match action {
            Action::OpenNetwork => return vec![Effect::Open(NetworkScreen.into())],
            Action::OpenInvitations => return InvitationsScreen::open(),
            Action::OpenContacts => return ContactsScreen::open(),
            Action::FocusNextPane => self.focus = self.focus.next(),
            Action::SelectNext => self.move_selection(model, 1),
            Action::SelectPrevious => self.move_selection(model, -1),
        }
        Vec::new()
    }

    fn render(&self, model: &Model, frame: &mut Frame, area: Rect, _focused: bool) {
        let sidebar_width = (area.width / 4).clamp(SIDEBAR_MIN_WIDTH, SIDEBAR_MAX_WIDTH);
        let [sidebar, main] =
            Layout::horizontal([Constraint::Length(sidebar_width), Constraint::Min(0)]).areas(area);
        self.render_sidebar(model, frame, sidebar);
        self.render_conversation(model, frame, main);
    }
}

impl MainScreen {
    fn render_sidebar(&self, model: &Model, frame: &mut Frame, area: Rect) {
        let block = pane_block("Groups", self.focus == Focus::Sidebar);
        if model.groups.is_empty() {
            let empty = Paragraph::new(Span::styled(
                "No groups yet.",
                Style::new().fg(Color::DarkGray),
            ))
            .wrap(Wrap { trim: true })
            .block(block);
            frame.render_widget(empty, area);
            return;
        }
        let items = model.groups.iter().map(|group| {
            let mut line = vec![Span::raw(group.name.clone())];
            if group.unread > 0 {
                line.push(Span::styled(
                    format!(" ({})", group.unread),
                    Style::new().add_modifier(Modifier::BOLD),
                ));
            }
            ListItem::new(Line::from(line))
        });
        let list = List::new(items)
            .block(block)
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
        let mut state = ListState::default().with_selected(self.selected_group(model));
        frame.render_stateful_widget(list, area, &mut state);
    }

    fn render_conversation(&self, model: &Model, frame: &mut Frame, area: Rect) {
        let label = Style::new().fg(Color::DarkGray);
        let mut lines = vec![
            Line::from("No conversation open."),
            Line::default(),
            Line::from(vec![
                Span::styled("peer id      ", label),
                Span::raw(model.identity.peer_id.to_string()),
            ]),
            Line::from(vec![
                Span::styled("fingerprint  ", label),
                Span::raw(model.identity.fingerprint.clone()),
            ]),
        ];
        if model.relations.contacts.is_empty() {
            lines.push(Line::default());
            lines.push(Line::styled("How to start", Style::new().fg(Color::Cyan)));
            lines.extend(HOW_TO_START.iter().map(|paragraph| Line::from(*paragraph)));
        }
        if !model.notices.is_empty() {
            lines.push(Line::default());
            lines.extend(model.notices.iter().map(|notice| {
                Line::from(Span::styled(
                    format!("! {notice}"),
                    Style::new().fg(Color::Yellow),
                ))
            }));
        }
        let main = Paragraph::new(Text::from(lines))
            .wrap(Wrap { trim: false })
            .block(pane_block("Aura", self.focus == Focus::Conversation));
        frame.render_widget(main, area);
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyEvent, KeyModifiers};

    use super::*;
    use crate::ui::app::{App, GroupSummary};
    use crate::ui::screen::Layer;
    use crate::ui::update::{UiEvent, test_identity, update};

    fn with_groups(n: usize) -> App {
        let mut app = App::new(test_identity(), (80, 24));
        app.model.groups = (0..n)
            .map(|i| GroupSummary {
                name: format!("g{i}"),
                unread: 0,
            })
            .collect();
        app
    }

    fn main_screen(app: &App) -> &MainScreen {
        match &app.screen {
            Layer::Main(main) => main,
            other => panic!("the screen is {}", other.name()),
        }
    }

    fn selected(app: &App) -> Option<usize> {
        main_screen(app).selected_group(&app.model)
    }

    fn press(app: &mut App, code: KeyCode) {
        update(app, UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    #[test]
    fn tab_cycles_focus_but_not_under_an_overlay() {
        let mut app = with_groups(0);
        press(&mut app, KeyCode::Tab);
        assert_eq!(main_screen(&app).focus, Focus::Conversation);
        press(&mut app, KeyCode::Tab);
        assert_eq!(main_screen(&app).focus, Focus::Sidebar);
        press(&mut app, KeyCode::Char('?'));
        press(&mut app, KeyCode::Tab);
        assert_eq!(main_screen(&app).focus, Focus::Sidebar);
    }

    #[test]
    fn down_and_j_select_the_next_group_and_stop_at_the_end() {
        for code in [KeyCode::Down, KeyCode::Char('j')] {
            let mut app = with_groups(2);
            assert_eq!(selected(&app), Some(0));
            press(&mut app, code);
            assert_eq!(selected(&app), Some(1));
            press(&mut app, code);
            assert_eq!(selected(&app), Some(1));
        }
    }

    #[test]
    fn up_and_k_select_the_previous_group_and_stop_at_the_top() {
        for code in [KeyCode::Up, KeyCode::Char('k')] {
            let mut app = with_groups(3);
            press(&mut app, KeyCode::Char('j'));
            press(&mut app, KeyCode::Char('j'));
            press(&mut app, code);
            assert_eq!(selected(&app), Some(1));
            press(&mut app, code);
            press(&mut app, code);
            assert_eq!(selected(&app), Some(0));
        }
    }

    #[test]
    fn selection_keys_do_nothing_without_groups_or_sidebar_focus() {
        let mut empty = with_groups(0);
        press(&mut empty, KeyCode::Char('j'));
        assert_eq!(selected(&empty), None);
        let mut app = with_groups(3);
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(selected(&app), Some(0));
    }

    #[test]
    fn the_selection_stays_within_a_list_that_shrank() {
        let mut app = with_groups(3);
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char('j'));
        app.model.groups.truncate(1);
        assert_eq!(selected(&app), Some(0));
        press(&mut app, KeyCode::Char('k'));
        assert_eq!(selected(&app), Some(0));
    }

    #[test]
    fn n_opens_the_network_screen() {
        let mut app = with_groups(0);
        press(&mut app, KeyCode::Char('n'));
        assert_eq!(app.focused().name(), "Network");
    }

    #[test]
    fn i_and_c_open_invitations_and_contacts_and_ask_the_node_for_them() {
        let mut app = with_groups(0);
        let commands = update(
            &mut app,
            UiEvent::Key(KeyEvent::new(KeyCode::Char('i'), KeyModifiers::NONE)),
        );
        assert_eq!(app.focused().name(), "Invitations");
        assert_eq!(commands, [crate::ui::Command::RefreshInvitations]);
        let mut app = with_groups(0);
        let commands = update(
            &mut app,
            UiEvent::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE)),
        );
        assert_eq!(app.focused().name(), "Contacts");
        assert_eq!(
            commands,
            [
                crate::ui::Command::RefreshContacts,
                crate::ui::Command::RefreshTrust
            ]
        );
    }
}
