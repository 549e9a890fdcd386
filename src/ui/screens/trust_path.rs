//! The panel under the contacts that says why one peer is at its level: each best path drawn
//! edge by edge (who trusts whom, at what level, since when, direct or attested by whom),
//! then the explanation in words; or the reason there is no path.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::trust::views::{EdgeView, PathView};
use crate::ui::relations::Explained;
use crate::ui::text::{pad, shorten, text_width, wrap};

/// The arrow between the two ends of an edge, with the edge's level on it.
fn arrow(level: &str) -> String {
    format!(" ─{level}→ ")
}

/// Where the evidence for an edge came from, in a few words.
fn evidence(edge: &EdgeView) -> String {
    match &edge.attested_by {
        None => format!("direct, since {}", edge.date),
        Some(by) => format!("attested by {by} on {}", edge.date),
    }
}

/// The panel's lines for `label` (the peer's label) at `width` columns.
pub fn lines(label: &str, explained: Option<&Explained>, width: usize) -> Vec<Line<'static>> {
    let heading = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let quiet = Style::new().fg(Color::DarkGray);
    let mut out = Vec::new();
    let Some(explained) = explained else {
        out.push(Line::styled(
            shorten(&format!("Why {label}? Asking the node …"), width),
            quiet,
        ));
        return out;
    };
    let paths = match &explained.answer {
        Ok(paths) => paths,
        Err(error) => {
            out.push(Line::styled(
                shorten(&format!("Why {label}: {error}"), width),
                Style::new().fg(Color::Red),
            ));
            return out;
        }
    };
    for (index, path) in paths.iter().enumerate() {
        let title = match (paths.len(), path.edges.is_empty()) {
            (_, true) => format!("Why {label} has no level"),
            (1, false) => format!("Why {label} is at {}", path.level),
            (_, false) => format!("Why {label} is at {} (path {})", path.level, index + 1),
        };
        out.push(Line::styled(shorten(&title, width), heading));
        out.extend(edge_lines(path, width));
        for line in wrap(&path.words, width.saturating_sub(2)) {
            out.push(Line::styled(format!("  {line}"), quiet));
        }
    }
    out
}

/// One line per edge, the ends and arrows in aligned columns.
fn edge_lines(path: &PathView, width: usize) -> Vec<Line<'static>> {
    let from_width = path
        .edges
        .iter()
        .map(|edge| text_width(&edge.from))
        .max()
        .unwrap_or(0)
        .min(width / 4);
    let arrow_width = path
        .edges
        .iter()
        .map(|edge| text_width(&arrow(&edge.level)))
        .max()
        .unwrap_or(0);
    let to_width = path
        .edges
        .iter()
        .map(|edge| text_width(&edge.to))
        .max()
        .unwrap_or(0)
        .min(width / 4);
    path.edges
        .iter()
        .map(|edge| {
            let line = vec![
                Span::raw(format!("  {}", pad(&edge.from, from_width))),
                Span::styled(
                    pad(&arrow(&edge.level), arrow_width),
                    Style::new().fg(Color::Yellow),
                ),
                Span::raw(pad(&edge.to, to_width)),
                Span::styled(
                    format!("  {}", evidence(edge)),
                    Style::new().fg(Color::Gray),
                ),
            ];
            fit(line, width)
        })
        .collect()
}

/// `spans` cut to `width` columns: the last spans give way first.
fn fit(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let mut left = width;
    let mut kept = Vec::new();
    for span in spans {
        if left == 0 {
            break;
        }
        let text = shorten(&span.content, left);
        left = left.saturating_sub(text_width(&text));
        kept.push(Span::styled(text, span.style));
    }
    Line::from(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edge_says_whether_it_is_direct_or_attested_and_by_whom() {
        let edge = |attested_by: Option<&str>| EdgeView {
            from: "Bob".into(),
            to: "Carol".into(),
            level: "High".into(),
            date: "2026-12-03".into(),
            attested_by: attested_by.map(str::to_owned),
        };
        assert_eq!(evidence(&edge(None)), "direct, since 2026-12-03");
        assert_eq!(
            evidence(&edge(Some("Bob"))),
            "attested by Bob on 2026-12-03"
        );
    }
}
