//! Text on its way to the screen: what may be drawn as it is, how wide it is, how it is cut.

use ratatui::text::Span;

/// What replaces a character that must not reach the terminal: visibly something, so that the
/// reader knows the text held more than is shown.
pub const REPLACEMENT: char = '\u{FFFD}';

/// `text` safe to draw, whoever wrote it. Text from peers (ids, addresses, reasons, later names
/// and messages) goes through this before it enters the view model: a control character could
/// start an escape sequence that moves the cursor, recolours or clears the screen, and a
/// bidirectional control could make an address or a name read differently from what it is.
/// Each such character is replaced by [`REPLACEMENT`].
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if is_printable(c) { c } else { REPLACEMENT })
        .collect()
}

/// Whether `c` may be drawn as it is: not a control character (C0, DEL, C1), not a Unicode
/// bidirectional control and not a line or paragraph separator (which some terminals act on).
pub fn is_printable(c: char) -> bool {
    !c.is_control() && !is_bidi_control(c) && !matches!(c, '\u{2028}' | '\u{2029}')
}

/// The characters that change the direction text is laid out in (Unicode's Bidi_Control).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Columns `c` takes on screen. Measured the way ratatui measures what it draws (unicode-width),
/// so a text field's cursor and scrolling agree with the cells the buffer fills.
pub fn char_width(c: char) -> usize {
    let mut utf8 = [0; 4];
    Span::raw(&*c.encode_utf8(&mut utf8)).width()
}

/// Columns `text` takes on screen.
pub fn text_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// `text` cut to `width` columns and padded to them, so that columns of a table line up.
pub fn pad(text: &str, width: usize) -> String {
    let cut = shorten(text, width);
    let fill = width.saturating_sub(text_width(&cut));
    format!("{cut}{}", " ".repeat(fill))
}

/// `text` cut to `room` characters, with an ellipsis when something was cut.
pub fn shorten(text: &str, room: usize) -> String {
    if text.chars().count() <= room {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(room.saturating_sub(1)).collect();
    if room > 0 {
        short.push('…');
    }
    short
}

/// `text` in lines of at most `width` columns, broken at spaces, and inside a word only where
/// the word is wider than a line. Sizing a box by its text needs the line count before drawing.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    if width == 0 {
        return Vec::new();
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let word_width: usize = word.chars().map(char_width).sum();
        let gap = usize::from(!line.is_empty());
        if used + gap + word_width <= width {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(word);
            used += gap + word_width;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        for c in word.chars() {
            let w = char_width(c);
            if used + w > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += w;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_passes_unchanged() {
        let text = "12D3KooW… /ip4/127.0.0.1/tcp/4001 Ünïcödé 日本語 👋";
        assert_eq!(sanitize(text), text);
    }

    #[test]
    fn escape_sequences_cannot_reach_the_terminal() {
        assert_eq!(
            sanitize("name\x1b[2J\x1b]0;title\x07"),
            "name\u{FFFD}[2J\u{FFFD}]0;title\u{FFFD}"
        );
        // The 8-bit CSI, a C1 control.
        assert_eq!(sanitize("a\u{9b}31mb"), "a\u{FFFD}31mb");
    }

    #[test]
    fn carriage_returns_newlines_tabs_and_nul_are_replaced() {
        assert_eq!(
            sanitize("ok\rEVIL\nx\ty\0z\x7f"),
            "ok\u{FFFD}EVIL\u{FFFD}x\u{FFFD}y\u{FFFD}z\u{FFFD}"
        );
    }

    #[test]
    fn bidi_overrides_and_isolates_are_replaced() {
        // U+202E would show "evil\u{202E}gpj.exe" as "evilexe.jpg".
        assert_eq!(sanitize("evil\u{202E}gpj.exe"), "evil\u{FFFD}gpj.exe");
        for c in [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{2028}', '\u{2029}',
        ] {
            assert_eq!(sanitize(&format!("a{c}b")), "a\u{FFFD}b", "{:?}", c);
        }
    }

    #[test]
    fn every_sanitized_character_is_printable() {
        let all: String = (0..=0x3000u32).filter_map(char::from_u32).collect();
        assert!(sanitize(&all).chars().all(is_printable));
        assert_eq!(sanitize(&all).chars().count(), all.chars().count());
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(char_width('a'), 1);
        assert_eq!(char_width('日'), 2);
        assert_eq!(char_width('👋'), 2);
        assert_eq!(char_width('\u{0301}'), 0);
    }

    #[test]
    fn wrap_breaks_at_spaces_and_splits_only_words_too_long_for_a_line() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij xy", 4), ["abcd", "efgh", "ij", "xy"]);
        assert_eq!(wrap("日本語", 4), ["日本", "語"]);
        assert_eq!(wrap("", 4), [""]);
        assert!(wrap("text", 0).is_empty());
    }

    #[test]
    fn shorten_marks_what_it_cut() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "ab…");
        assert_eq!(shorten("abcd", 0), "");
    }
}
