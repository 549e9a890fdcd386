//! A one-line prompt over the focused screen: the display name (asked at first run), an
//! invitation code to accept (pasted, so it takes up to [`CODE_FIELD_CAP`] characters), or a
//! contact's nickname. Enter hands the text to the node; an empty one is explained instead.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::WelcomeScreen;
use crate::invite::names::MAX_NAME_CHARS;
use crate::node::InviteRequest;
use crate::ui::app::Model;
use crate::ui::keymap::{Binding, KeyCombo};
use crate::ui::relations::Accepting;
use crate::ui::render::{centered, popup_block};
use crate::ui::screen::{Effect, Screen};
use crate::ui::text::wrap;
use crate::ui::text_field::TextField;
use crate::ui::update::Command;

/// The most characters the code field takes: an invitation code is at most 4 KiB, and a
/// paste of one must arrive whole for the node to say what is wrong with it, if anything.
pub const CODE_FIELD_CAP: usize = 4096;

const PROMPT_MAX_WIDTH: u16 = 72;

/// What the prompt asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// This device's display name; `first_run` shows how to start once it is given.
    Name {
        first_run: bool,
    },
    AcceptCode,
    /// A nickname for the contact with this peer id, shown as `label`.
    Nickname {
        peer_id: String,
        label: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub purpose: Purpose,
    pub field: TextField,
    /// Why the text last submitted was not taken.
    pub error: Option<&'static str>,
}

impl Default for Prompt {
    fn default() -> Self {
        Self::accept_code()
    }
}

impl Prompt {
    /// The name asked for before anything else on a first run.
    pub fn first_run_name() -> Self {
        Self {
            purpose: Purpose::Name { first_run: true },
            field: TextField::with_cap(MAX_NAME_CHARS),
            error: None,
        }
    }

    pub fn accept_code() -> Self {
        Self {
            purpose: Purpose::AcceptCode,
            field: TextField::with_cap(CODE_FIELD_CAP),
            error: None,
        }
    }

    /// Renaming a contact; the field starts with its nickname, so Enter alone keeps it.
    pub fn nickname(peer_id: String, label: String, nickname: Option<&str>) -> Self {
        Self {
            purpose: Purpose::Nickname { peer_id, label },
            field: TextField::with_value(MAX_NAME_CHARS, nickname.unwrap_or_default()),
            error: None,
        }
    }

    pub fn is_name_prompt(&self) -> bool {
        matches!(self.purpose, Purpose::Name { .. })
    }

    fn title(&self) -> String {
        match &self.purpose {
            Purpose::Name { .. } => "Your display name".to_owned(),
            Purpose::AcceptCode => "Accept an invitation".to_owned(),
            Purpose::Nickname { label, .. } => format!("Nickname for {label}"),
        }
    }

    fn explanation(&self) -> &'static str {
        match self.purpose {
            Purpose::Name { .. } => {
                "The name your contacts see. Enter saves it; Esc skips for now (you will be asked again)."
            }
            Purpose::AcceptCode => {
                "Paste the code someone sent you (it starts with aura1), then Enter."
            }
            Purpose::Nickname { .. } => {
                "Only you see it. An empty nickname shows the name they gave themselves."
            }
        }
    }

    fn submit(&mut self, model: &mut Model) -> Vec<Effect> {
        let text = self.field.value().trim().to_owned();
        match &self.purpose {
            Purpose::Name { first_run } => {
                if text.is_empty() {
                    self.error = Some("A name is needed: it is what your contacts see.");
                    return Vec::new();
                }
                let mut effects = vec![
                    Effect::Close,
                    Effect::Command(Command::Invite(InviteRequest::SetName(text.clone()))),
                ];
                if *first_run {
                    effects.push(Effect::Open(WelcomeScreen { name: text }.into()));
                }
                effects
            }
            Purpose::AcceptCode => {
                if text.is_empty() {
                    self.error = Some("Paste a code first.");
                    return Vec::new();
                }
                model.relations.accepting = Some(Accepting::Sending);
                model.relations.outcome = None;
                vec![
                    Effect::Close,
                    Effect::Command(Command::AcceptInvitation(text)),
                ]
            }
            Purpose::Nickname { peer_id, .. } => vec![
                Effect::Close,
                Effect::Command(Command::Invite(InviteRequest::Rename {
                    target: peer_id.clone(),
                    nickname: text,
                })),
            ],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Submit,
    Cancel,
}

impl Screen for Prompt {
    type Action = Action;

    const BINDINGS: &'static [Binding<Action>] = &[
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Enter)],
            action: Action::Submit,
            hint: "ok",
            help: "Hand the text to the node",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Esc)],
            action: Action::Cancel,
            hint: "cancel",
            help: "Close the prompt without doing anything",
        },
    ];

    fn perform(&mut self, action: Action, model: &mut Model) -> Vec<Effect> {
        match action {
            Action::Cancel => vec![Effect::Close],
            Action::Submit => self.submit(model),
        }
    }

    fn render(&self, _model: &Model, frame: &mut Frame, area: Rect, focused: bool) {
        let width = PROMPT_MAX_WIDTH.min(area.width.saturating_sub(2));
        let inner_width = usize::from(width.saturating_sub(2));
        let mut below: Vec<Line> = Vec::new();
        if let Some(error) = self.error {
            below.extend(
                wrap(error, inner_width)
                    .into_iter()
                    .map(|line| Line::styled(line, Style::new().fg(Color::Red))),
            );
        }
        below.extend(
            wrap(self.explanation(), inner_width)
                .into_iter()
                .map(|line| Line::styled(line, Style::new().fg(Color::DarkGray))),
        );
        let wanted = u16::try_from(below.len() + 3).unwrap_or(u16::MAX);
        let popup = centered(area, width, wanted);
        let title = self.title();
        let block = popup_block(&title);
        let inner = block.inner(popup);
        frame.render_widget(Clear, popup);
        frame.render_widget(block, popup);
        self.field.render(frame, inner, Style::new(), focused);
        let rest = Rect {
            y: inner.y.saturating_add(1),
            height: inner.height.saturating_sub(1),
            ..inner
        };
        frame.render_widget(Paragraph::new(below), rest);
    }

    fn text_field(&self) -> Option<&TextField> {
        Some(&self.field)
    }

    fn text_field_mut(&mut self) -> Option<&mut TextField> {
        Some(&mut self.field)
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyEvent, KeyModifiers};

    use super::*;
    use crate::node::NodeEvent;
    use crate::ui::app::App;
    use crate::ui::update::{UiEvent, test_identity, update};

    fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
        update(app, UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn names(app: &App) -> Vec<&'static str> {
        app.overlays.iter().map(|layer| layer.name()).collect()
    }

    #[test]
    fn a_first_run_asks_for_a_name_then_shows_how_to_start() {
        let mut app = App::new(test_identity(), (80, 24));
        update(&mut app, UiEvent::ProfileName(String::new()));
        update(&mut app, UiEvent::ProfileName(" ".into()));
        assert_eq!(names(&app), ["Prompt"], "asked once");
        assert!(press(&mut app, KeyCode::Enter).is_empty(), "no empty name");
        for c in "Alice q".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        let commands = press(&mut app, KeyCode::Enter);
        assert_eq!(
            commands,
            [Command::Invite(InviteRequest::SetName("Alice q".into()))]
        );
        assert_eq!(names(&app), ["Welcome"]);
        press(&mut app, KeyCode::Char('i'));
        assert_eq!(names(&app), ["Invitations"]);
    }

    #[test]
    fn a_named_profile_is_not_asked() {
        let mut app = App::new(test_identity(), (80, 24));
        update(&mut app, UiEvent::ProfileName("Alice".into()));
        assert!(app.overlays.is_empty());
        assert_eq!(app.model.relations.profile_name.as_deref(), Some("Alice"));
    }

    #[test]
    fn accepted_and_approval_requests_become_sanitized_notices() {
        let mut app = App::new(test_identity(), (80, 24));
        update(
            &mut app,
            UiEvent::Node(NodeEvent::InvitationAccepted {
                id: "1a2b3c4d".into(),
                by: "Bob\u{1b}]0;x".into(),
            }),
        );
        update(
            &mut app,
            UiEvent::Node(NodeEvent::ApprovalRequested {
                id: "1a2b3c4d".into(),
                name: "Carol".into(),
            }),
        );
        assert_eq!(
            app.model.notices,
            [
                "Bob\u{FFFD}]0;x accepted invitation 1a2b3c4d",
                "Carol wants to accept 1a2b3c4d: approve with a / decline with d on the invitations screen"
            ]
        );
    }
}
