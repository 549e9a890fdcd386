//! The network overlay: where the node listens, who is connected, and adding a peer by its
//! address (the prompt is its own overlay, `AddPeerPrompt`; the attempts are in the model).

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::AddPeerPrompt;
use crate::ui::app::{AddState, Model, PeerAddAttempt};
use crate::ui::keymap::{Binding, KeyCombo};
use crate::ui::render::{centered, popup_block};
use crate::ui::screen::{Effect, Screen};
use crate::ui::text::sanitize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkScreen;

impl NetworkScreen {
    /// Where the overlay is drawn over `area`; the prompt it opens is drawn inside it.
    pub fn area(area: Rect) -> Rect {
        centered(area, area.width.saturating_sub(4), area.height)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AddPeer,
    Close,
}

impl Screen for NetworkScreen {
    type Action = Action;

    const BINDINGS: &'static [Binding<Action>] = &[
        Binding {
            keys: &[KeyCombo::plain(KeyCode::Char('a'))],
            action: Action::AddPeer,
            hint: "add peer",
            help: "Add a peer by its address",
        },
        Binding {
            keys: &[
                KeyCombo::plain(KeyCode::Esc),
                KeyCombo::plain(KeyCode::Char('n')),
            ],
            action: Action::Close,
            hint: "close",
            help: "Close the network screen",
        },
    ];

    fn perform(&mut self, action: Action, _model: &mut Model) -> Vec<Effect> {
        match action {
            Action::AddPeer => vec![Effect::Open(AddPeerPrompt::default().into())],
            Action::Close => vec![Effect::Close],
        }
    }

    fn render(&self, model: &Model, frame: &mut Frame, area: Rect, _focused: bool) {
        let heading = Style::new().fg(Color::Cyan);
        let quiet = Style::new().fg(Color::DarkGray);
        let net = &model.network;
        let mut lines = vec![Line::from(vec![
            Span::styled("status  ", heading),
            Span::raw(net.status().to_string()),
        ])];
        lines.push(Line::default());
        lines.push(Line::styled("Listening on", heading));
        if net.listen_addrs.is_empty() {
            lines.push(Line::styled("  nothing yet", quiet));
        }
        lines.extend(
            net.listen_addrs
                .iter()
                .map(|addr| Line::from(format!("  {addr}"))),
        );
        lines.push(Line::default());
        lines.push(Line::styled(
            format!("Connected peers ({})", net.peers.len()),
            heading,
        ));
        if net.peers.is_empty() {
            lines.push(Line::styled("  none", quiet));
        }
        lines.extend(net.peers.iter().map(|peer| Line::from(format!("  {peer}"))));
        if !net.adds.is_empty() {
            lines.push(Line::default());
            lines.push(Line::styled("Adding peers", heading));
            lines.extend(net.adds.iter().flat_map(attempt_lines));
        }
        lines.push(Line::default());
        lines.push(Line::styled(
            "a adds a peer · Esc or n closes this screen.",
            quiet,
        ));
        let popup = Self::area(area);
        let network = Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(popup_block("Network"));
        frame.render_widget(Clear, popup);
        frame.render_widget(network, popup);
    }
}

/// One attempt to add a peer, as the user reads it: the address, then what became of it.
fn attempt_lines(attempt: &PeerAddAttempt) -> [Line<'static>; 2] {
    let already = |fresh: bool| if fresh { "" } else { " (saved already)" };
    let (text, color) = match &attempt.state {
        AddState::Adding => ("adding …".to_owned(), Color::DarkGray),
        AddState::Connected { fresh } => (format!("connected{}", already(*fresh)), Color::Green),
        AddState::NotYet { fresh, reason } => (
            format!(
                "not reached yet ({reason}); the node keeps trying{}",
                already(*fresh)
            ),
            Color::Yellow,
        ),
        AddState::Saved { fresh } => (
            format!("saved{}; dialled when a node runs", already(*fresh)),
            Color::Yellow,
        ),
        AddState::Failed(error) => (format!("not added: {error}"), Color::Red),
    };
    [
        Line::from(format!("  {}", sanitize(&attempt.addr.to_string()))),
        Line::styled(format!("    {text}"), Style::new().fg(color)),
    ]
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyEvent, KeyModifiers};

    use super::*;
    use crate::ui::app::App;
    use crate::ui::update::{Command, UiEvent, test_identity, update};

    fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
        update(app, UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn names(app: &App) -> Vec<&'static str> {
        app.overlays.iter().map(|layer| layer.name()).collect()
    }

    #[test]
    fn esc_and_n_close_the_network_screen() {
        for close in [KeyCode::Esc, KeyCode::Char('n')] {
            let mut app = App::new(test_identity(), (80, 24));
            press(&mut app, KeyCode::Char('n'));
            assert_eq!(names(&app), ["Network"]);
            assert!(press(&mut app, close).is_empty());
            assert!(app.overlays.is_empty());
        }
    }

    #[test]
    fn a_opens_the_address_prompt_over_it() {
        let mut app = App::new(test_identity(), (80, 24));
        press(&mut app, KeyCode::Char('n'));
        press(&mut app, KeyCode::Char('a'));
        assert_eq!(names(&app), ["Network", "AddPeer"]);
        assert!(app.typing());
    }

    #[test]
    fn q_still_quits_on_the_network_screen() {
        let mut app = App::new(test_identity(), (80, 24));
        press(&mut app, KeyCode::Char('n'));
        assert_eq!(press(&mut app, KeyCode::Char('q')), [Command::Quit]);
    }
}
