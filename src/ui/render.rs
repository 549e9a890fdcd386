//! Drawing: a pure function of the view model. The screen is drawn first, then each overlay
//! over it in the order they were opened, then the status bar with the focused layer's hints.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::{App, MIN_HEIGHT, MIN_WIDTH};
use super::keymap::in_force;

const HINT_SEPARATOR: &str = "  ";

pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(frame, area);
        return;
    }
    let [body, status] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    app.screen
        .render(&app.model, frame, body, app.overlays.is_empty());
    let top = app.overlays.len().checked_sub(1);
    for (index, overlay) in app.overlays.iter().enumerate() {
        overlay.render(&app.model, frame, body, Some(index) == top);
    }
    render_status_bar(app, frame, status);
}

/// A pane's frame: cyan while its pane has focus.
pub(crate) fn pane_block(title: &str, focused: bool) -> Block<'_> {
    let style = if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    Block::bordered()
        .title(format!(" {title} "))
        .border_style(style)
}

/// An overlay's frame.
pub(crate) fn popup_block(title: &str) -> Block<'_> {
    Block::bordered()
        .title(format!(" {title} "))
        .border_style(Style::new().fg(Color::Cyan))
}

/// A `width` x `height` rectangle in the middle of `area` (clipped to it).
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn render_status_bar(app: &App, frame: &mut Frame, area: Rect) {
    let bar = Style::new().bg(Color::Blue).fg(Color::White);
    let identity = &app.model.identity;
    let left = format!(
        " {} │ {} │ {} ",
        identity.profile,
        identity.short_peer_id,
        app.model.network.status()
    );
    let width = usize::from(area.width);
    let used = left.chars().count();
    // Hints are dropped from the end until the rest fits: the identity and network state
    // matter more than a reminder of the keys.
    let focused = app.focused();
    let mut hints: Vec<String> = in_force(&focused.keys(), app.typing())
        .into_iter()
        .filter(|binding| !binding.hint.is_empty())
        .filter_map(|binding| {
            let key = binding.keys.first()?;
            Some(format!("{} {}", key.label(), binding.hint))
        })
        .collect();
    let hints_text = loop {
        let text = format!("{} ", hints.join(HINT_SEPARATOR));
        if hints.is_empty() || used + text.chars().count() <= width {
            break if hints.is_empty() {
                String::new()
            } else {
                text
            };
        }
        hints.pop();
    };
    let padding = width.saturating_sub(used + hints_text.chars().count());
    let line = Line::from(vec![
        Span::styled(left, bar.add_modifier(Modifier::BOLD)),
        Span::styled(" ".repeat(padding), bar),
        Span::styled(hints_text, bar),
    ]);
    frame.render_widget(Paragraph::new(line).style(bar), area);
}

fn render_too_small(frame: &mut Frame, area: Rect) {
    let text = vec![
        Line::from("Terminal too small"),
        Line::from(format!(
            "{}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        )),
    ];
    let vertical_offset = area.height.saturating_sub(2) / 2;
    let [_, middle] =
        Layout::vertical([Constraint::Length(vertical_offset), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        middle,
    );
}

/// A full page's frame: a title rule and no side borders, so that a line of text on it (an
/// invitation code) holds nothing else and a mouse selection copies it cleanly.
pub(crate) fn page_block(title: &str) -> Block<'_> {
    Block::new()
        .borders(Borders::TOP)
        .title(format!(" {title} "))
        .border_style(Style::new().fg(Color::Cyan))
}
