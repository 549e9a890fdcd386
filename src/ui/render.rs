//! Drawing: a pure function of the view model.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph, Wrap};

use super::app::{App, Focus, MIN_HEIGHT, MIN_WIDTH};
use super::keymap::{self, KEYMAP};

const SIDEBAR_MIN_WIDTH: u16 = 14;
const SIDEBAR_MAX_WIDTH: u16 = 28;
const HELP_MAX_WIDTH: u16 = 68;
const HINT_SEPARATOR: &str = "  ";

pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(frame, area);
        return;
    }
    let [body, status] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    let sidebar_width = (body.width / 4).clamp(SIDEBAR_MIN_WIDTH, SIDEBAR_MAX_WIDTH);
    let [sidebar, main] =
        Layout::horizontal([Constraint::Length(sidebar_width), Constraint::Min(0)]).areas(body);

    render_sidebar(app, frame, sidebar);
    render_main(app, frame, main);
    render_status_bar(app, frame, status);
    if app.help_open {
        render_help(frame, body);
    }
    if app.network_open {
        render_network(app, frame, body);
    }
}

fn pane_block(title: &str, focused: bool) -> Block<'_> {
    let style = if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    Block::bordered()
        .title(format!(" {title} "))
        .border_style(style)
}

fn render_sidebar(app: &App, frame: &mut Frame, area: Rect) {
    let block = pane_block("Groups", app.focus == Focus::Sidebar);
    if app.groups.is_empty() {
        let empty = Paragraph::new(Span::styled(
            "No groups yet.",
            Style::new().fg(Color::DarkGray),
        ))
        .wrap(Wrap { trim: true })
        .block(block);
        frame.render_widget(empty, area);
        return;
    }
    let items = app.groups.iter().map(|group| {
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
    let mut state = ListState::default().with_selected(app.selected_group);
    frame.render_stateful_widget(list, area, &mut state);
}

fn render_main(app: &App, frame: &mut Frame, area: Rect) {
    let label = Style::new().fg(Color::DarkGray);
    let mut lines = vec![
        Line::from("No conversation open."),
        Line::default(),
        Line::from(vec![
            Span::styled("peer id      ", label),
            Span::raw(app.identity.peer_id.clone()),
        ]),
        Line::from(vec![
            Span::styled("fingerprint  ", label),
            Span::raw(app.identity.fingerprint.clone()),
        ]),
    ];
    if !app.notices.is_empty() {
        lines.push(Line::default());
        lines.extend(app.notices.iter().map(|notice| {
            Line::from(Span::styled(
                format!("! {notice}"),
                Style::new().fg(Color::Yellow),
            ))
        }));
    }
    let main = Paragraph::new(Text::from(lines))
        .wrap(Wrap { trim: false })
        .block(pane_block("Aura", app.focus == Focus::Conversation));
    frame.render_widget(main, area);
}

fn render_status_bar(app: &App, frame: &mut Frame, area: Rect) {
    let bar = Style::new().bg(Color::Blue).fg(Color::White);
    let left = format!(
        " {} │ {} │ {} ",
        app.identity.profile, app.identity.short_peer_id, app.network
    );
    let width = usize::from(area.width);
    let used = left.chars().count();
    // Hints are dropped from the end until the rest fits: the identity and network state
    // matter more than a reminder of the keys.
    let mut hints: Vec<String> = keymap::hints(app.overlay_open())
        .map(|binding| format!("{} {}", binding.keys[0].label(), binding.hint))
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

fn render_help(frame: &mut Frame, area: Rect) {
    let key_column = KEYMAP
        .iter()
        .map(|binding| binding.keys_label().chars().count())
        .max()
        .unwrap_or(0);
    let footer = "Esc or ? closes this help.";
    let width = HELP_MAX_WIDTH.min(area.width.saturating_sub(4));
    let inner = usize::from(width.saturating_sub(2));
    let roomy = KEYMAP
        .iter()
        .all(|binding| key_column + 2 + binding.help.chars().count() <= inner)
        && usize::from(area.height) >= KEYMAP.len() + 4;
    // Where the sentences do not fit one line each, every binding still gets its line, cut
    // short, rather than some bindings falling off the bottom.
    let (width, inner) = if roomy {
        (width, inner)
    } else {
        let width = area.width.min(HELP_MAX_WIDTH);
        (width, usize::from(width.saturating_sub(2)))
    };
    let room = inner.saturating_sub(key_column + 2);
    let mut lines: Vec<Line> = KEYMAP
        .iter()
        .map(|binding| {
            Line::from(vec![
                Span::styled(
                    format!("{:<key_column$}  ", binding.keys_label()),
                    Style::new().fg(Color::Cyan),
                ),
                Span::raw(shorten(binding.help, room)),
            ])
        })
        .collect();
    if roomy || usize::from(area.height) >= KEYMAP.len() + 3 {
        lines.push(Line::styled(
            shorten(footer, inner),
            Style::new().fg(Color::DarkGray),
        ));
    }
    let wanted_height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let popup = centered(area, width, wanted_height.min(area.height));
    let help = Paragraph::new(lines).block(
        Block::bordered()
            .title(" Keys ")
            .border_style(Style::new().fg(Color::Cyan)),
    );
    frame.render_widget(Clear, popup);
    frame.render_widget(help, popup);
}

/// `text` cut to `room` characters, with an ellipsis when something was cut.
fn shorten(text: &str, room: usize) -> String {
    if text.chars().count() <= room {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(room.saturating_sub(1)).collect();
    if room > 0 {
        short.push('…');
    }
    short
}

fn render_network(app: &App, frame: &mut Frame, area: Rect) {
    let heading = Style::new().fg(Color::Cyan);
    let quiet = Style::new().fg(Color::DarkGray);
    let mut lines = vec![Line::from(vec![
        Span::styled("status  ", heading),
        Span::raw(app.network.to_string()),
    ])];
    lines.push(Line::default());
    lines.push(Line::styled("Listening on", heading));
    if app.listen_addrs.is_empty() {
        lines.push(Line::styled("  nothing yet", quiet));
    }
    lines.extend(
        app.listen_addrs
            .iter()
            .map(|addr| Line::from(format!("  {addr}"))),
    );
    lines.push(Line::default());
    lines.push(Line::styled(
        format!("Connected peers ({})", app.peers.len()),
        heading,
    ));
    if app.peers.is_empty() {
        lines.push(Line::styled("  none", quiet));
    }
    lines.extend(app.peers.iter().map(|peer| Line::from(format!("  {peer}"))));
    lines.push(Line::default());
    lines.push(Line::styled("Esc or n closes this screen.", quiet));
    let popup = centered(area, area.width.saturating_sub(4), area.height);
    let network = Paragraph::new(lines).wrap(Wrap { trim: false }).block(
        Block::bordered()
            .title(" Network ")
            .border_style(Style::new().fg(Color::Cyan)),
    );
    frame.render_widget(Clear, popup);
    frame.render_widget(network, popup);
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

/// A `width` x `height` rectangle in the middle of `area` (clipped to it).
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}
