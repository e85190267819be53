//! Showing untrusted text (room names, ids, display names, provider error
//! text, reasons, tickets) to people: on a terminal, in `table` and `csv`
//! output, in stderr messages and in the console. Pure; imports nothing of
//! the crate.
//!
//! Escape at display, never in the data: ids used for calls, the audit log
//! and `jsonl` output keep the text exactly.

use std::borrow::Cow;

/// A count with thousands separators: 120000 -> "120,000".
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether `c` must not reach a terminal as it is: control characters (C0
/// such as ESC, BEL and newline, DEL, C1 such as CSI), the bidirectional
/// overrides and isolates (they reorder what is shown) and the Unicode line
/// and paragraph separators.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// How a hidden character is shown: `\x1b` below U+0100, `\u{202e}` above.
fn escaped(c: char, out: &mut String) {
    use std::fmt::Write;
    let n = u32::from(c);
    if n < 0x100 {
        let _ = write!(out, "\\x{n:02x}");
    } else {
        let _ = write!(out, "\\u{{{n:x}}}");
    }
}

/// `text` with every [hidden](is_hidden) character shown as an escape
/// (`\x1b`, `\x0a`, `\u{202e}`); borrowed when there is none.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden(c) {
            escaped(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escape`]d and cut to at most `max` characters, ending in `…` when
/// cut; an escape is never split.
pub fn cell(text: &str, max: usize) -> Cow<'_, str> {
    let shown = escape(text);
    if shown.chars().count() <= max {
        return shown;
    }
    let mut out = String::new();
    let mut used = 0;
    let mut piece = String::new();
    for c in text.chars() {
        piece.clear();
        if is_hidden(c) {
            escaped(c, &mut piece);
        } else {
            piece.push(c);
        }
        let w = piece.chars().count();
        if used + w + 1 > max {
            break;
        }
        out.push_str(&piece);
        used += w;
    }
    if max > 0 {
        out.push('…');
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_and_the_rest_is_kept() {
        assert!(matches!(escape("Ada Lovelace"), Cow::Borrowed(_)));
        assert_eq!(escape("a\u{1b}[2Jb\u{7}"), "a\\x1b[2Jb\\x07");
        assert_eq!(escape("one\ntwo\r\t"), "one\\x0atwo\\x0d\\x09");
        assert_eq!(escape("\u{7f}\u{9b}"), "\\x7f\\x9b");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("名前 ünïcode \\x1b"), "名前 ünïcode \\x1b");
    }

    #[test]
    fn cells_are_cut_with_an_ellipsis_never_inside_an_escape() {
        assert_eq!(cell("short", 10), "short");
        assert_eq!(cell("abcdefghijkl", 5), "abcd…");
        assert_eq!(cell("ab\u{1b}cdef", 6), "ab…");
        assert_eq!(cell("ab\u{1b}cdef", 8), "ab\\x1bc…");
        assert_eq!(cell("abc", 0), "");
        let long = "x".repeat(100_000);
        assert_eq!(cell(&long, 200).chars().count(), 200);
    }
}
