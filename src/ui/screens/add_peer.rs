//! The address prompt of the network screen: a text field checked on Enter the way
//! `aura peer add` checks its argument; a bad address is explained under the field, a good one
//! is handed to the node and followed on the network screen.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::NetworkScreen;
use crate::net::peer_addr::PeerAddr;
use crate::ui::app::Model;
use crate::ui::keymap::{Binding, KeyCombo};
use crate::ui::render::popup_block;
use crate::ui::screen::{Effect, Screen};
use crate::ui::text::{sanitize, wrap};
use crate::ui::text_field::TextField;
use crate::ui::update::Command;

const EXAMPLE: &str = "e.g. /ip4/192.0.2.7/tcp/4001/p2p/12D3KooW…";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddPeerPrompt {
    pub field: TextField,
    /// Why the address last submitted was refused.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Submit,
    Cancel,
}

impl Screen for AddPeerPrompt {
    type Action = Action;

    const BINDINGS: &'static [Binding<Action>] = &[
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Enter)],
            action: Action::Submit,
            hint: "add",
            help: "Add the peer at this address",
        },
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Esc)],
            action: Action::Cancel,
            hint: "cancel",
            help: "Close the prompt without adding",
        },
    ];

    fn perform(&mut self, action: Action, model: &mut Model) -> Vec<Effect> {
        match action {
            Action::Cancel => vec![Effect::Close],
            Action::Submit => match PeerAddr::parse(&self.field.value(), &model.identity.peer_id) {
                Ok(addr) => {
                    model.network.adding(addr.clone());
                    vec![Effect::Close, Effect::Command(Command::AddPeer(addr))]
                }
                Err(err) => {
                    self.error = Some(sanitize(&err.to_string()));
                    Vec::new()
                }
            },
        }
    }

    fn render(&self, _model: &Model, frame: &mut Frame, area: Rect, focused: bool) {
        let network = NetworkScreen::area(area);
        // Inside the network screen's border, at its bottom.
        let width = network.width.saturating_sub(2);
        let inner_width = usize::from(width.saturating_sub(2));
        let below: Vec<Line> = match &self.error {
            Some(error) => wrap(error, inner_width)
                .into_iter()
                .map(|line| Line::styled(line, Style::new().fg(Color::Red)))
                .collect(),
            None => vec![Line::styled(EXAMPLE, Style::new().fg(Color::DarkGray))],
        };
        let wanted = u16::try_from(below.len() + 3).unwrap_or(u16::MAX);
        let height = wanted.min(network.height.saturating_sub(2));
        let popup = Rect {
            x: network.x + 1,
            y: (network.bottom().saturating_sub(1)).saturating_sub(height),
            width,
            height,
        };
        let block = popup_block("Add a peer");
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
    use libp2p::PeerId;

    use super::*;
    use crate::node::{PeerAdded, Reach};
    use crate::ui::app::{AddState, App};
    use crate::ui::screen::Layer;
    use crate::ui::update::{UiEvent, test_identity, update};

    /// An app on the network screen with the prompt open.
    fn prompting() -> App {
        let mut app = App::new(test_identity(), (80, 24));
        press(&mut app, KeyCode::Char('n'));
        press(&mut app, KeyCode::Char('a'));
        app
    }

    fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
        update(app, UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn type_text(app: &mut App, text: &str) -> Vec<Command> {
        text.chars()
            .flat_map(|c| press(app, KeyCode::Char(c)))
            .collect()
    }

    fn prompt(app: &App) -> &AddPeerPrompt {
        match app.focused() {
            Layer::AddPeer(prompt) => prompt,
            other => panic!("{} has focus, not the prompt", other.name()),
        }
    }

    fn valid_addr() -> (String, PeerId) {
        let peer = PeerId::random();
        (format!("/ip4/127.0.0.1/tcp/4001/p2p/{peer}"), peer)
    }

    #[test]
    fn a_bad_address_is_explained_under_the_field_which_stays_open() {
        let mut app = prompting();
        assert!(type_text(&mut app, "/ip4/127.0.0.1/tcp/4001").is_empty());
        assert!(press(&mut app, KeyCode::Enter).is_empty());
        let prompt = prompt(&app);
        let error = prompt.error.as_deref().unwrap_or_default();
        assert!(error.contains("does not end in /p2p/PEER_ID"), "{error}");
        assert_eq!(prompt.field.value(), "/ip4/127.0.0.1/tcp/4001");
        assert!(app.model.network.adds.is_empty());
    }

    #[test]
    fn an_empty_address_and_this_devices_own_are_refused_like_peer_add_refuses_them() {
        let mut app = prompting();
        press(&mut app, KeyCode::Enter);
        let empty = prompt(&app).error.clone().unwrap_or_default();
        assert!(empty.starts_with("no address given"), "{empty}");
        let own = format!("/ip4/127.0.0.1/tcp/1/p2p/{}", test_identity().peer_id);
        type_text(&mut app, &own);
        press(&mut app, KeyCode::Enter);
        let error = prompt(&app).error.clone().unwrap_or_default();
        assert!(error.contains("this device's own address"), "{error}");
    }

    #[test]
    fn a_valid_address_is_handed_to_the_node_and_shown_as_being_added() {
        let mut app = prompting();
        let (text, peer) = valid_addr();
        type_text(&mut app, &text);
        let commands = press(&mut app, KeyCode::Enter);
        let [Command::AddPeer(addr)] = commands.as_slice() else {
            panic!("{commands:?}");
        };
        assert_eq!(addr.peer(), peer);
        assert_eq!(app.focused().name(), "Network", "the prompt closed");
        assert_eq!(app.model.network.adds.len(), 1);
        assert_eq!(app.model.network.adds[0].state, AddState::Adding);
    }

    #[test]
    fn escape_cancels_without_adding() {
        let mut app = prompting();
        let (text, _) = valid_addr();
        type_text(&mut app, &text);
        assert!(press(&mut app, KeyCode::Esc).is_empty());
        assert_eq!(app.focused().name(), "Network");
        assert!(app.model.network.adds.is_empty());
        press(&mut app, KeyCode::Char('a'));
        assert!(prompt(&app).field.is_empty(), "a new prompt starts empty");
    }

    #[test]
    fn the_nodes_reply_replaces_adding_with_the_result() {
        let replies = [
            (Ok(Reach::Connected), AddState::Connected { fresh: true }),
            (
                Ok(Reach::NotYet("timed out\x1b[2J".into())),
                AddState::NotYet {
                    fresh: true,
                    reason: "timed out\u{FFFD}[2J".into(),
                },
            ),
            (Err("the node has stopped".to_owned()), {
                AddState::Failed("the node has stopped".into())
            }),
        ];
        for (reply, shown) in replies {
            let mut app = prompting();
            let (text, _) = valid_addr();
            type_text(&mut app, &text);
            let commands = press(&mut app, KeyCode::Enter);
            let Some(Command::AddPeer(addr)) = commands.into_iter().next() else {
                panic!("no AddPeer");
            };
            let result = reply.map(|reach| PeerAdded {
                addr: addr.clone(),
                fresh: true,
                reach,
            });
            assert!(update(&mut app, UiEvent::PeerAdded { addr, result }).is_empty());
            assert_eq!(app.model.network.adds[0].state, shown);
        }
    }

    #[test]
    fn q_and_question_mark_are_text_in_the_prompt_and_ctrl_c_still_quits() {
        let mut app = prompting();
        assert!(type_text(&mut app, "q?nja").is_empty());
        assert_eq!(prompt(&app).field.value(), "q?nja");
        assert_eq!(app.overlays.len(), 2);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(update(&mut app, UiEvent::Key(ctrl_c)), [Command::Quit]);
    }
}
