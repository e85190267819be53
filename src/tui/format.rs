//! Text formatting shared by `update` (status messages) and `view`.

/// Thousands separators: 120000 -> "120,000".
pub use crate::text::thousands as num;

/// An RFC 3339 time in the given zone, in full: "2025-01-02 05:04:05"
/// (the text as stored when it does not parse).
pub fn local_time(ts: &str, offset: time::UtcOffset) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(ts, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(offset);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        Err(_) => ts.to_string(),
    }
}

/// Where a message of `width`-character lines breaks: the char ranges of
/// its lines. A line ends after its last space when the rest does not fit
/// (a word longer than a line is cut); no character is dropped, so the
/// lines joined are the message. The state counts status lines with it
/// and the view draws them with it, so the two agree.
pub fn wrap_ranges(text: &str, width: usize) -> Vec<std::ops::Range<usize>> {
    let width = width.max(1);
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let mut end = (start + width).min(n);
        if end < n
            && let Some(k) = chars[start..end].iter().rposition(|c| *c == ' ')
            && k > 0
        {
            end = start + k + 1;
        }
        out.push(start..end);
        start = end;
    }
    if out.is_empty() {
        out.push(0..0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::wrap_ranges;

    fn lines(text: &str, width: usize) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        wrap_ranges(text, width)
            .into_iter()
            .map(|r| chars[r].iter().collect())
            .collect()
    }

    #[test]
    fn wraps_at_spaces_and_cuts_only_words_longer_than_a_line() {
        assert_eq!(lines("", 5), vec![""]);
        assert_eq!(lines("ab cd ef", 5), vec!["ab ", "cd ef"]);
        assert_eq!(lines("ab  cd", 3), vec!["ab ", " cd"]);
        assert_eq!(lines("abcdefgh ij", 4), vec!["abcd", "efgh", " ij"]);
        assert_eq!(
            lines("y copies all 300", 8),
            vec!["y ", "copies ", "all 300"]
        );
    }
}
