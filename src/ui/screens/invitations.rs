//! The invitations page: the code just made (drawn alone on its lines, so that a mouse
//! selection copies it whole), the acceptance of a pasted code as it moves on, what came of the
//! last request, and both lists: the invitations this device made, and its acceptances of
//! others' invitations.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::{CreateInvitationForm, Prompt};
use crate::control::render::utc_minute;
use crate::invite::views::{AcceptanceStage, AcceptanceView, InvitationView};
use crate::node::InviteRequest;
use crate::ui::app::Model;
use crate::ui::keymap::{Binding, KeyCombo};
use crate::ui::relations::{
    Accepting, Outcome, expiry_text, invitation_state_text, stage_text, uses_text,
};
use crate::ui::render::page_block;
use crate::ui::screen::{Effect, Screen};
use crate::ui::text::wrap;
use crate::ui::update::Command;

/// What the page says under a fresh code; the terminal may refuse OSC 52 silently.
pub const COPIED: &str = "copied to the clipboard (if your terminal allows OSC 52)";
/// The heading the code's lines follow; a test reading the code off the screen looks for it.
pub const CODE_HEADING: &str = "Code:";
/// How many of a peer id's last characters tell its owner apart from a namesake.
const SHORT_PEER_CHARS: usize = 8;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvitationsScreen {
    /// Index into this device's invitations; kept within the list when used.
    pub selected: usize,
    /// Why the last key had nothing to act on.
    pub refusal: Option<&'static str>,
}

impl InvitationsScreen {
    /// Opening the page: the page, and the node asked for the lists as they are now.
    pub fn open() -> Vec<Effect> {
        vec![
            Effect::Open(Self::default().into()),
            Effect::Command(Command::RefreshInvitations),
        ]
    }

    fn selected_invitation<'m>(&self, model: &'m Model) -> Option<&'m InvitationView> {
        let mine = &model.relations.invitations.mine;
        mine.get(self.selected.min(mine.len().checked_sub(1)?))
    }

    fn move_selection(&mut self, model: &Model, step: isize) {
        let Some(last) = model.relations.invitations.mine.len().checked_sub(1) else {
            self.refusal = Some("You have made no invitations yet: n creates one.");
            return;
        };
        self.selected = self
            .selected
            .min(last)
            .saturating_add_signed(step)
            .min(last);
    }

    /// The invitation an answer is about: the selected one if someone waits on it, else the
    /// first someone waits on, so that the keys a notice names work without selecting first.
    fn answer(&mut self, model: &Model, approve: bool) -> Vec<Effect> {
        let waiting = |invitation: &&InvitationView| !invitation.awaiting_answer.is_empty();
        let target = self
            .selected_invitation(model)
            .filter(waiting)
            .or_else(|| model.relations.invitations.mine.iter().find(waiting));
        match target {
            Some(invitation) => {
                self.refusal = None;
                vec![Effect::Command(Command::Invite(InviteRequest::Answer {
                    id: invitation.id.clone(),
                    approve,
                }))]
            }
            None => {
                self.refusal = Some("Nobody is waiting for your answer.");
                Vec::new()
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Accept,
    Approve,
    Decline,
    Revoke,
    SelectNext,
    SelectPrevious,
    Close,
}

impl Screen for InvitationsScreen {
    type Action = Action;

    const BINDINGS: &'static [Binding<Action>] = &[
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('n'))],
            action: Action::Create,
            hint: "new",
            help: "Create an invitation: choose its expiry, uses, note and approval",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('p'))],
            action: Action::Accept,
            hint: "paste a code",
            help: "Accept an invitation: paste the code someone sent you",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Esc),
                KeyCombo::plain(KeyCode::Char('i')),
            ],
            action: Action::Close,
            hint: "close",
            help: "Close the invitations",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('a'))],
            action: Action::Approve,
            hint: "approve",
            help: "Approve the acceptance waiting for your answer",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('d'))],
            action: Action::Decline,
            hint: "decline",
            help: "Decline the acceptance waiting for your answer",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('x'))],
            action: Action::Revoke,
            hint: "revoke",
            help: "Revoke the selected invitation: its code stops working",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Down),
                KeyCombo::plain(KeyCode::Char('j')),
            ],
            action: Action::SelectNext,
            hint: "",
            help: "Select the next invitation",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Up),
                KeyCombo::plain(KeyCode::Char('k')),
            ],
            action: Action::SelectPrevious,
            hint: "",
            help: "Select the previous invitation",
        },
    ];

    fn perform(&mut self, action: Action, model: &mut Model) -> Vec<Effect> {
        self.refusal = None;
        match action {
            Action::Create => vec![Effect::Open(CreateInvitationForm::default().into())],
            Action::Accept => vec![Effect::Open(Prompt::accept_code().into())],
            Action::Approve => self.answer(model, true),
            Action::Decline => self.answer(model, false),
            Action::Revoke => match self.selected_invitation(model) {
                Some(invitation) => vec![Effect::Command(Command::Invite(InviteRequest::Revoke(
                    invitation.id.clone(),
                )))],
                None => {
                    self.refusal = Some("There is no invitation to revoke.");
                    Vec::new()
                }
            },
            Action::SelectNext => {
                self.move_selection(model, 1);
                Vec::new()
            }
            Action::SelectPrevious => {
                self.move_selection(model, -1);
                Vec::new()
            }
            Action::Close => vec![Effect::Close],
        }
    }

    fn render(&self, model: &Model, frame: &mut Frame, area: Rect, _focused: bool) {
        let block = page_block("Invitations");
        let inner = block.inner(area);
        let width = usize::from(inner.width);
        let mut page = Page {
            lines: Vec::new(),
            width,
        };
        let relations = &model.relations;
        if let Some(created) = &relations.created {
            let mut terms = vec![
                format!("New invitation {}", created.id),
                expiry_text(created.expires_at_ms),
                uses_text(created.uses),
            ];
            if created.approve {
                terms.push("asks your approval".to_owned());
            }
            page.text(&terms.join(" · "), heading());
            page.text(&format!("{CODE_HEADING} {COPIED}"), quiet());
            // Each line holds code and nothing else, cut at the page's width exactly.
            let code: Vec<char> = created.code.chars().collect();
            for chunk in code.chunks(width.max(1)) {
                page.lines
                    .push(Line::from(chunk.iter().collect::<String>()));
            }
            page.blank();
        }
        match &relations.accepting {
            None => {}
            Some(Accepting::Sending) => {
                page.text("Accepting a code", heading());
                page.text("  handing the code to the node …", quiet());
                page.blank();
            }
            Some(Accepting::Refused(reason)) => {
                page.text("Accepting a code", heading());
                page.text(&format!("  failed: {reason}"), bad());
                page.blank();
            }
            Some(Accepting::Progress(view)) => {
                page.text(&format!("Accepting invitation {}", view.id), heading());
                acceptance_lines(&mut page, view, model.now_ms);
                page.blank();
            }
        }
        match &relations.outcome {
            Some(Outcome::Done(text)) => page.text(text, Style::new().fg(Color::Green)),
            Some(Outcome::Failed(text)) => page.text(text, bad()),
            None => {}
        }
        if let Some(refusal) = self.refusal {
            page.text(refusal, Style::new().fg(Color::Yellow));
        }
        let mine = &relations.invitations.mine;
        page.text(&format!("Made by you ({})", mine.len()), heading());
        if mine.is_empty() {
            page.text("  none yet: n creates one", quiet());
        }
        let selected = self.selected.min(mine.len().saturating_sub(1));
        let mut selected_line = 0;
        for (index, invitation) in mine.iter().enumerate() {
            if index == selected {
                selected_line = page.lines.len();
            }
            invitation_lines(&mut page, invitation, index == selected);
        }
        page.blank();
        let theirs = &relations.invitations.theirs;
        page.text(&format!("Accepted by you ({})", theirs.len()), heading());
        if theirs.is_empty() {
            page.text("  none: p accepts a code someone sent you", quiet());
        }
        for view in theirs {
            page.text(
                &format!("  {} from {}", view.id, view.inviter),
                Style::new(),
            );
            acceptance_lines(&mut page, view, model.now_ms);
        }
        frame.render_widget(Clear, area);
        frame.render_widget(block, area);
        // A long page scrolls just enough to keep the selected invitation in view.
        let offset = selected_line.saturating_sub(usize::from(inner.height).saturating_sub(1));
        let offset = u16::try_from(offset).unwrap_or(u16::MAX);
        frame.render_widget(Paragraph::new(page.lines).scroll((offset, 0)), inner);
    }
}

/// Lines of the page, each wrapped to its width.
struct Page {
    lines: Vec<Line<'static>>,
    width: usize,
}

impl Page {
    fn text(&mut self, text: &str, style: Style) {
        let indent: String = text.chars().take_while(|c| *c == ' ').collect();
        let room = self.width.saturating_sub(indent.len()).max(1);
        for line in wrap(text.trim_start(), room) {
            self.lines
                .push(Line::styled(format!("{indent}{line}"), style));
        }
    }

    fn blank(&mut self) {
        self.lines.push(Line::default());
    }
}

fn heading() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

fn quiet() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn bad() -> Style {
    Style::new().fg(Color::Red)
}

fn stage_style(stage: &AcceptanceStage) -> Style {
    match stage {
        AcceptanceStage::Done { .. } => Style::new().fg(Color::Green),
        AcceptanceStage::Failed { .. } => bad(),
        _ => Style::new().fg(Color::Yellow),
    }
}

fn acceptance_lines(page: &mut Page, view: &AcceptanceView, now_ms: u64) {
    if !view.note.is_empty() {
        page.text(&format!("    note: {}", view.note), quiet());
    }
    page.text(
        &format!("    {}", stage_text(&view.stage, now_ms)),
        stage_style(&view.stage),
    );
    if let AcceptanceStage::Waiting { errors, .. } = &view.stage {
        for (addr, error) in errors {
            page.text(&format!("      {addr}: {error}"), quiet());
        }
        page.text(
            &format!("    gives up at {} UTC", utc_minute(view.give_up_ms)),
            quiet(),
        );
    }
}

fn invitation_lines(page: &mut Page, invitation: &InvitationView, selected: bool) {
    let marker = if selected { "›" } else { " " };
    let mut terms = vec![
        format!("{marker} {}", invitation.id),
        invitation_state_text(invitation.state).to_owned(),
        expiry_text(invitation.expires_at_ms),
        uses_text(invitation.uses),
    ];
    if invitation.approve {
        terms.push("asks approval".to_owned());
    }
    let style = if selected {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new()
    };
    let line = terms.join("  ");
    let shown: String = line.chars().take(page.width).collect();
    page.lines.push(Line::from(Span::styled(shown, style)));
    if !invitation.note.is_empty() {
        page.text(&format!("    note: {}", invitation.note), quiet());
    }
    for (label, _peer, at) in &invitation.accepted_by {
        page.text(
            &format!("    accepted by {label} on {} UTC", utc_minute(*at)),
            Style::new().fg(Color::Green),
        );
    }
    for (name, peer) in &invitation.awaiting_answer {
        let short = short_peer(peer);
        page.text(
            &format!("    {name} (…{short}) waits for your answer: a approves, d declines"),
            Style::new().fg(Color::Yellow),
        );
    }
}

/// The end of a peer id, enough to tell two people of the same name apart.
fn short_peer(peer: &str) -> String {
    let skip = peer.chars().count().saturating_sub(SHORT_PEER_CHARS);
    peer.chars().skip(skip).collect()
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyEvent, KeyModifiers};

    use super::*;
    use crate::invite::views::InvitationStateView;
    use crate::ui::app::App;
    use crate::ui::update::{UiEvent, test_identity, update};

    fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
        update(app, UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn invitation(id: &str, waiting: &[&str]) -> InvitationView {
        InvitationView {
            id: id.into(),
            created_ms: 0,
            expires_at_ms: None,
            uses: 1,
            note: String::new(),
            approve: !waiting.is_empty(),
            state: InvitationStateView::Open,
            accepted_by: Vec::new(),
            awaiting_answer: waiting
                .iter()
                .map(|name| ((*name).to_owned(), "12D3KooWpeer".to_owned()))
                .collect(),
        }
    }

    fn on_invitations(mine: Vec<InvitationView>) -> App {
        let mut app = App::new(test_identity(), (80, 24));
        app.model.relations.invitations.mine = mine;
        press(&mut app, KeyCode::Char('i'));
        app
    }

    #[test]
    fn approve_and_decline_answer_the_invitation_someone_waits_on_without_selecting_it() {
        let mut app = on_invitations(vec![invitation("aaaa", &[]), invitation("bbbb", &["bob"])]);
        let approve = InviteRequest::Answer {
            id: "bbbb".into(),
            approve: true,
        };
        assert_eq!(
            press(&mut app, KeyCode::Char('a')),
            [Command::Invite(approve)]
        );
        let decline = InviteRequest::Answer {
            id: "bbbb".into(),
            approve: false,
        };
        assert_eq!(
            press(&mut app, KeyCode::Char('d')),
            [Command::Invite(decline)]
        );
    }

    #[test]
    fn revoke_takes_the_selected_invitation_and_explains_an_empty_list() {
        let mut app = on_invitations(vec![invitation("aaaa", &[]), invitation("bbbb", &[])]);
        press(&mut app, KeyCode::Char('j'));
        let revoke = InviteRequest::Revoke("bbbb".into());
        assert_eq!(
            press(&mut app, KeyCode::Char('x')),
            [Command::Invite(revoke)]
        );
        let mut empty = on_invitations(Vec::new());
        assert!(press(&mut empty, KeyCode::Char('x')).is_empty());
        assert!(press(&mut empty, KeyCode::Char('a')).is_empty());
        let Layer::Invitations(screen) = empty.focused() else {
            panic!("{}", empty.focused().name());
        };
        assert_eq!(screen.refusal, Some("Nobody is waiting for your answer."));
    }

    #[test]
    fn a_pasted_code_is_accepted_whole_and_followed_until_the_node_refuses_it() {
        let mut app = on_invitations(Vec::new());
        press(&mut app, KeyCode::Char('p'));
        let code = format!("aura1{}", "q".repeat(2000));
        update(&mut app, UiEvent::Paste(format!("{code}\n")));
        let commands = press(&mut app, KeyCode::Enter);
        assert_eq!(commands, [Command::AcceptInvitation(code)]);
        assert_eq!(app.model.relations.accepting, Some(Accepting::Sending));
        let typo = "the code has a typo: its checksum does not match\u{1b}[2J";
        update(&mut app, UiEvent::AcceptanceStarted(Err(typo.into())));
        assert_eq!(
            app.model.relations.accepting,
            Some(Accepting::Refused(
                "the code has a typo: its checksum does not match\u{FFFD}[2J".into()
            ))
        );
    }

    use crate::ui::screen::Layer;
}
