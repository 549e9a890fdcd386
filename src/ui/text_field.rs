//! A one-line text field: its value, a cursor counted in characters, readline's basic editing
//! keys, and drawing that keeps wide characters whole and scrolls to keep the cursor in view.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Paragraph;

use super::text::{char_width, is_printable};

/// The most characters a field holds unless made with another cap; longer input is not taken.
/// Generous for an address or a name, and it bounds what one paste can make the UI hold and
/// redraw.
pub const MAX_CHARS: usize = 1024;

/// The character `key` types, if it types one: a character key with no modifier but Shift.
pub fn typed_char(key: &KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c) if (key.modifiers - KeyModifiers::SHIFT).is_empty() => Some(c),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextField {
    chars: Vec<char>,
    /// Index into `chars` of the character the cursor stands before (`chars.len()` at the end).
    cursor: usize,
    /// The most characters this field takes.
    cap: usize,
}

impl Default for TextField {
    fn default() -> Self {
        Self::with_cap(MAX_CHARS)
    }
}

impl TextField {
    pub fn new() -> Self {
        Self::default()
    }

    /// A field that takes at most `cap` characters: more than [`MAX_CHARS`] where a use needs
    /// it, such as a pasted invitation code.
    pub fn with_cap(cap: usize) -> Self {
        Self {
            chars: Vec::new(),
            cursor: 0,
            cap,
        }
    }

    /// The field holding `text` (as far as it fits), with the cursor at its end.
    pub fn with_value(cap: usize, text: &str) -> Self {
        let mut field = Self::with_cap(cap);
        field.insert_str(text);
        field
    }

    /// Inserts what was pasted, character by character: line breaks and other control
    /// characters are dropped, so a code copied over several lines arrives in one piece.
    pub fn insert_str(&mut self, text: &str) {
        for c in text.chars() {
            self.insert(c);
        }
    }

    pub fn value(&self) -> String {
        self.chars.iter().collect()
    }

    /// Where the cursor is, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Inserts `c` at the cursor, unless the field is full or `c` may not be drawn as it is
    /// (a pasted escape sequence or bidi override must not get into text shown later).
    pub fn insert(&mut self, c: char) {
        if self.chars.len() < self.cap && is_printable(c) {
            self.chars.insert(self.cursor, c);
            self.cursor += 1;
        }
    }

    /// Applies `key` if it is the field's: any key that types a character (which is then text,
    /// even when the field is full), and the editing keys. `false` for every other key, which
    /// the caller may then treat as a command.
    pub fn edit(&mut self, key: &KeyEvent) -> bool {
        if let Some(c) = typed_char(key) {
            self.insert(c);
            return true;
        }
        let ctrl = key.modifiers - KeyModifiers::SHIFT == KeyModifiers::CONTROL;
        let plain = (key.modifiers - KeyModifiers::SHIFT).is_empty();
        match key.code {
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.chars.len(),
            KeyCode::Char('u') if ctrl => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Char('k') if ctrl => self.chars.truncate(self.cursor),
            KeyCode::Char('w') if ctrl => self.delete_word_before(),
            KeyCode::Home if plain => self.cursor = 0,
            KeyCode::End if plain => self.cursor = self.chars.len(),
            KeyCode::Left if plain => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right if plain => self.cursor = (self.cursor + 1).min(self.chars.len()),
            KeyCode::Backspace if plain && self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
            }
            KeyCode::Delete if plain && self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
            }
            KeyCode::Backspace | KeyCode::Delete if plain => {}
            _ => return false,
        }
        true
    }

    /// Readline's Ctrl-W: the blanks before the cursor, then the word before them.
    fn delete_word_before(&mut self) {
        let mut start = self.cursor;
        while start > 0 && self.chars[start - 1].is_whitespace() {
            start -= 1;
        }
        while start > 0 && !self.chars[start - 1].is_whitespace() {
            start -= 1;
        }
        self.chars.drain(start..self.cursor);
        self.cursor = start;
    }

    /// The part of the value shown in `width` columns, and the cursor's column in it. The view
    /// starts at the beginning while the cursor fits, and otherwise ends at the cursor, so that
    /// the cursor is always on screen; a wide character never shows by half.
    pub fn visible(&self, width: usize) -> (String, usize) {
        if width == 0 {
            return (String::new(), 0);
        }
        // One column is kept for the cursor itself when it stands after the last character.
        let mut start = 0;
        let mut before: usize = self.chars[..self.cursor]
            .iter()
            .copied()
            .map(char_width)
            .sum();
        while before + 1 > width && start < self.cursor {
            before -= char_width(self.chars[start]);
            start += 1;
        }
        let mut shown = String::new();
        let mut used = 0;
        for &c in &self.chars[start..] {
            let w = char_width(c);
            if used + w > width {
                break;
            }
            used += w;
            shown.push(c);
        }
        (shown, before)
    }

    /// Draws the field on the first line of `area`; `focused` puts the terminal's cursor in it.
    pub fn render(&self, frame: &mut Frame, area: Rect, style: Style, focused: bool) {
        let area = Rect {
            height: area.height.min(1),
            ..area
        };
        let (shown, column) = self.visible(usize::from(area.width));
        frame.render_widget(Paragraph::new(shown).style(style), area);
        if focused && area.height > 0 {
            let column = u16::try_from(column).unwrap_or(u16::MAX);
            frame.set_cursor_position((area.x.saturating_add(column), area.y));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> TextField {
        let mut field = TextField::new();
        for c in text.chars() {
            assert!(field.edit(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
        }
        field
    }

    fn key(field: &mut TextField, code: KeyCode) -> bool {
        field.edit(&KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl(field: &mut TextField, c: char) -> bool {
        field.edit(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    #[test]
    fn typed_characters_are_inserted_at_the_cursor() {
        let mut field = typed("ac");
        key(&mut field, KeyCode::Left);
        field.edit(&KeyEvent::new(KeyCode::Char('B'), KeyModifiers::SHIFT));
        assert_eq!(field.value(), "aBc");
        assert_eq!(field.cursor(), 2);
    }

    #[test]
    fn backspace_and_delete_remove_around_the_cursor() {
        let mut field = typed("abcd");
        key(&mut field, KeyCode::Left);
        key(&mut field, KeyCode::Backspace);
        assert_eq!(field.value(), "abd");
        key(&mut field, KeyCode::Delete);
        assert_eq!(field.value(), "ab");
        assert!(
            key(&mut field, KeyCode::Delete),
            "at the end it does nothing"
        );
        key(&mut field, KeyCode::Home);
        assert!(key(&mut field, KeyCode::Backspace));
        assert_eq!(field.value(), "ab");
    }

    #[test]
    fn home_end_and_their_readline_keys_move_the_cursor() {
        let mut field = typed("abc");
        key(&mut field, KeyCode::Home);
        assert_eq!(field.cursor(), 0);
        key(&mut field, KeyCode::End);
        assert_eq!(field.cursor(), 3);
        ctrl(&mut field, 'a');
        assert_eq!(field.cursor(), 0);
        key(&mut field, KeyCode::Left);
        assert_eq!(field.cursor(), 0);
        ctrl(&mut field, 'e');
        key(&mut field, KeyCode::Right);
        assert_eq!(field.cursor(), 3);
    }

    #[test]
    fn ctrl_u_k_and_w_delete_like_readline() {
        let mut field = typed("one two  three");
        ctrl(&mut field, 'w');
        assert_eq!(field.value(), "one two  ");
        ctrl(&mut field, 'w');
        assert_eq!(field.value(), "one ");
        let mut field = typed("abcdef");
        for _ in 0..2 {
            key(&mut field, KeyCode::Left);
        }
        ctrl(&mut field, 'k');
        assert_eq!(field.value(), "abcd");
        key(&mut field, KeyCode::Left);
        ctrl(&mut field, 'u');
        assert_eq!((field.value().as_str(), field.cursor()), ("d", 0));
    }

    #[test]
    fn other_keys_are_not_the_fields() {
        let mut field = typed("x");
        for code in [
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::Up,
            KeyCode::F(1),
        ] {
            assert!(!key(&mut field, code), "{code:?}");
        }
        assert!(!ctrl(&mut field, 'c'));
        assert!(!field.edit(&KeyEvent::new(KeyCode::Char('b'), KeyModifiers::ALT)));
        assert_eq!(field.value(), "x");
    }

    #[test]
    fn the_field_stops_at_its_maximum_and_refuses_control_characters() {
        let mut field = typed(&"x".repeat(MAX_CHARS));
        assert!(
            key(&mut field, KeyCode::Char('y')),
            "still text, never a command"
        );
        assert_eq!(field.value().chars().count(), MAX_CHARS);
        let mut field = TextField::new();
        for c in ['\u{1b}', '\u{202E}', '\r'] {
            field.insert(c);
        }
        assert!(field.is_empty());
    }

    #[test]
    fn a_field_with_a_larger_cap_takes_a_paste_up_to_that_cap_without_line_breaks() {
        let mut field = TextField::with_cap(4096);
        let pasted = format!("{}\n{}", "a".repeat(3000), "b".repeat(2000));
        field.insert_str(&pasted);
        let value = field.value();
        assert_eq!(value.chars().count(), 4096);
        assert!(value.starts_with(&"a".repeat(3000)) && value.ends_with('b'));
        assert_eq!(field.cursor(), 4096);
        let mut small = TextField::new();
        small.insert_str(&pasted);
        assert_eq!(small.value().chars().count(), MAX_CHARS);
    }

    #[test]
    fn a_short_value_shows_whole_with_the_cursor_after_it() {
        assert_eq!(typed("abc").visible(10), ("abc".to_owned(), 3));
        assert_eq!(typed("日本").visible(10), ("日本".to_owned(), 4));
    }

    #[test]
    fn a_long_value_scrolls_to_keep_the_cursor_in_view() {
        let mut field = typed("abcdefghij");
        assert_eq!(field.visible(5), ("ghij".to_owned(), 4));
        key(&mut field, KeyCode::Home);
        assert_eq!(field.visible(5), ("abcde".to_owned(), 0));
    }

    #[test]
    fn wide_characters_are_never_cut_in_half() {
        let field = typed("日本語の");
        // The cursor needs a column after the last character: 2 + 2 + 1 fits in 5.
        assert_eq!(field.visible(5), ("語の".to_owned(), 4));
        let mut field = typed("a日本");
        key(&mut field, KeyCode::Home);
        assert_eq!(field.visible(4), ("a日".to_owned(), 0));
        assert_eq!(field.visible(0), (String::new(), 0));
    }
}
