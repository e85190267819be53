//! Ticket files: CSV with a header, or JSON Lines, with the fields `room`,
//! `user`, `action` (`remove`, `demote`, `readd`), optional `reason` and
//! optional `ticket`. A malformed row stops the whole file before anything
//! is sent; the error names the file and the line.

use super::plan::Request;
use crate::model::{Action, RoomId, UserId};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::path::Path;

/// A ticket file that cannot be used; names the file and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketError(String);

impl fmt::Display for TicketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TicketError {}

/// The fields a ticket row may have.
const COLUMNS: [&str; 5] = ["room", "user", "action", "reason", "ticket"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row<'a> {
    #[serde(borrow)]
    room: Cow<'a, str>,
    #[serde(borrow)]
    user: Cow<'a, str>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(default, borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    ticket: Option<Cow<'a, str>>,
}

/// A JSON Lines row: ids may also be JSON numbers (Symphony's user ids
/// are int64), taken digit for digit.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRow<'a> {
    #[serde(deserialize_with = "id_text")]
    room: String,
    #[serde(deserialize_with = "id_text")]
    user: String,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(default, borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    ticket: Option<Cow<'a, str>>,
}

/// An id given as a string, or as a whole JSON number written out exactly.
fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
        serde_json::Value::Number(n) => Err(D::Error::custom(format!(
            "the id {n} is not a whole number that can be read exactly; write it as a string (\"...\")"
        ))),
        _ => Err(D::Error::custom("an id must be a string or a whole number")),
    }
}

/// A JSON error without serde's "at line 1 column N" (each row is one
/// line, and the file's line is named already): the column comes first.
fn json_error(at: &str, e: &serde_json::Error) -> TicketError {
    let text = e.to_string();
    let text = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(head, _)| head);
    TicketError(format!("{at}, column {}: {text}", e.column()))
}

/// Reads a ticket file from disk, streaming: the file is never held whole
/// (a million-row file is 60 to 110 MB of text). It must be UTF-8 all
/// through, as when it was read whole: a file that is not is refused as
/// unreadable, whatever else is wrong in it.
pub fn load(path: &Path) -> Result<Vec<Request>, TicketError> {
    let cannot = |e: &io::Error| {
        TicketError(format!(
            "ticket file {}: cannot be read: {e}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(|e| cannot(&e))?;
    let mut input = Utf8Checked::new(file);
    let parsed = parse_from(
        io::BufReader::with_capacity(1 << 16, &mut input),
        &path.display().to_string(),
    );
    if let Some(e) = &input.failed {
        return Err(cannot(e));
    }
    if parsed.is_err() {
        // A row error stops early; the rest must still be readable UTF-8
        // for that error to be the one to report.
        if let Err(e) = io::copy(&mut input, &mut io::sink()) {
            return Err(cannot(&e));
        }
    }
    parsed
}

/// Passes bytes on, checking they are UTF-8; the first read or encoding
/// error is kept in `failed`.
struct Utf8Checked<R> {
    inner: R,
    /// The start of a character split between two reads.
    carry: [u8; 4],
    carry_len: usize,
    failed: Option<io::Error>,
}

impl<R: Read> Utf8Checked<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            carry: [0; 4],
            carry_len: 0,
            failed: None,
        }
    }

    fn fail(&mut self, e: io::Error) -> io::Error {
        let copy = io::Error::new(e.kind(), e.to_string());
        self.failed.get_or_insert(e);
        copy
    }

    /// Whether `data` continues the text read so far as UTF-8.
    fn check(&mut self, mut data: &[u8]) -> bool {
        if self.carry_len > 0 {
            let width = match self.carry[0] {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let take = (width - self.carry_len).min(data.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&data[..take]);
            self.carry_len += take;
            data = &data[take..];
            if self.carry_len < width {
                return true;
            }
            if std::str::from_utf8(&self.carry[..width]).is_err() {
                return false;
            }
            self.carry_len = 0;
        }
        match std::str::from_utf8(data) {
            Ok(_) => true,
            Err(e) if e.error_len().is_some() => false,
            Err(e) => {
                let rest = &data[e.valid_up_to()..];
                self.carry[..rest.len()].copy_from_slice(rest);
                self.carry_len = rest.len();
                true
            }
        }
    }
}

impl<R: Read> Read for Utf8Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failed.is_some() {
            return Err(io::Error::other("ticket file: already failed"));
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => return Err(self.fail(e)),
        };
        let ok = if n == 0 {
            self.carry_len == 0
        } else {
            self.check(&buf[..n])
        };
        if ok {
            Ok(n)
        } else {
            Err(self.fail(io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )))
        }
    }
}

/// Parses ticket text; JSON Lines when the first non-blank line starts
/// with `{`, CSV otherwise. A leading byte-order mark (as some editors
/// and spreadsheets write) is skipped.
pub fn parse(text: &str, name: &str) -> Result<Vec<Request>, TicketError> {
    parse_from(text.as_bytes(), name)
}

/// [`parse`] over a reader, line by line.
fn parse_from(mut input: impl BufRead, name: &str) -> Result<Vec<Request>, TicketError> {
    let unreadable = |e: io::Error| TicketError(format!("ticket file {name}: cannot be read: {e}"));
    let start = input.fill_buf().map_err(unreadable)?;
    if start.starts_with("\u{feff}".as_bytes()) {
        input.consume(3);
    }
    // The lines up to the first one that is not blank, to tell the format;
    // then read again, ahead of the rest.
    let mut head = Vec::new();
    let mut first = String::new();
    loop {
        let from = head.len();
        if input.read_until(b'\n', &mut head).map_err(unreadable)? == 0 {
            break;
        }
        let line = std::str::from_utf8(&head[from..]).map_err(|_| {
            unreadable(io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        })?;
        if !line.trim().is_empty() {
            first = line.to_string();
            break;
        }
    }
    let input = io::Cursor::new(head).chain(input);
    let rows = if first.trim_start().starts_with('{') {
        parse_jsonl(input, name)?
    } else {
        parse_csv(input, name)?
    };
    if rows.is_empty() {
        return Err(TicketError(format!(
            "ticket file {name}: no rows; expected room,user,action[,reason][,ticket]"
        )));
    }
    Ok(rows)
}

fn parse_jsonl(mut input: impl BufRead, name: &str) -> Result<Vec<Request>, TicketError> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut n = 0;
    loop {
        buf.clear();
        let read = input.read_line(&mut buf).map_err(|e| {
            TicketError(format!(
                "ticket file {name}, line {}: cannot be read: {e}",
                n + 1
            ))
        })?;
        if read == 0 {
            break;
        }
        n += 1;
        // As `str::lines`: "\n" or "\r\n" ends a line.
        let line = buf
            .strip_suffix('\n')
            .map_or(buf.as_str(), |l| l.strip_suffix('\r').unwrap_or(l));
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("ticket file {name}, line {n}");
        let row: JsonRow = serde_json::from_str(line).map_err(|e| json_error(&at(), &e))?;
        let row = Row {
            room: Cow::Owned(row.room),
            user: Cow::Owned(row.user),
            action: row.action,
            reason: row.reason,
            ticket: row.ticket,
        };
        out.push(to_request(row, at)?);
    }
    Ok(out)
}

fn parse_csv(input: impl Read, name: &str) -> Result<Vec<Request>, TicketError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(LineCounter::new(input));
    let headers = reader
        .headers()
        .map_err(|e| TicketError(format!("ticket file {name}, line 1: {e}")))?
        .clone();
    for needed in ["room", "user", "action"] {
        if !headers.iter().any(|h| h == needed) {
            return Err(TicketError(format!(
                "ticket file {name}, line 1: the header has no `{needed}` column; expected room,user,action[,reason][,ticket]"
            )));
        }
    }
    if let Some(extra) = headers.iter().find(|h| !COLUMNS.contains(h)) {
        return Err(TicketError(format!(
            "ticket file {name}, line 1: unknown column `{extra}`; expected room,user,action[,reason][,ticket]"
        )));
    }
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = reader.get_mut().line_at(e.position());
                return Err(TicketError(format!("ticket file {name}, line {line}: {e}")));
            }
        }
        let line = reader.get_mut().line_at(record.position());
        let at = || format!("ticket file {name}, line {line}");
        let row: Row = record
            .deserialize(Some(&headers))
            .map_err(|e| TicketError(format!("{}: {e}", at())))?;
        out.push(to_request(row, at)?);
    }
    Ok(out)
}

/// The line a CSV record starts on, counted forward from the previous
/// record (records come in order), so a file is read in linear time. The
/// csv reader's own count leaves out blank lines, and its byte offset points
/// before them: step over them. Reads pass through it, noting where the
/// line breaks are; only those the csv reader has read ahead are kept.
struct LineCounter<R> {
    inner: R,
    /// Bytes read so far.
    read: u64,
    /// Offsets of the `\r` and `\n` bytes read but not yet counted, and
    /// whether each is a `\n`.
    breaks: VecDeque<(u64, bool)>,
    /// Offset counted up to, and the line there.
    at: u64,
    line: usize,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, b) in buf[..n].iter().enumerate() {
            if matches!(b, b'\r' | b'\n') {
                self.breaks.push_back((self.read + i as u64, *b == b'\n'));
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

impl<R> LineCounter<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            read: 0,
            breaks: VecDeque::new(),
            at: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, pos: Option<&csv::Position>) -> usize {
        let mut to = pos.map_or(0, csv::Position::byte).min(self.read);
        if to < self.at {
            // Never expected (records come in order).
            return self.line;
        }
        while let Some(&(offset, newline)) = self.breaks.front() {
            if offset > to {
                break;
            }
            if offset == to {
                // A break right at `to`: step over it.
                to += 1;
            }
            self.line += usize::from(newline);
            self.breaks.pop_front();
        }
        self.at = to;
        self.line
    }
}

/// Room ids repeat from row to row: rows of one room share one string
/// (a million-row file names a handful of rooms).
fn intern_room(room: &str) -> RoomId {
    thread_local! {
        static SEEN: std::cell::RefCell<std::collections::HashSet<RoomId>> =
            std::cell::RefCell::new(std::collections::HashSet::new());
    }
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if let Some(r) = seen.get(room) {
            return r.clone();
        }
        if seen.len() >= 4096 {
            seen.clear();
        }
        let r = RoomId::from(room);
        seen.insert(r.clone());
        r
    })
}

/// Reasons and tickets repeat from row to row too: a run of rows with the
/// same text shares one string (the last few distinct texts are kept).
fn share_text(text: &str) -> std::sync::Arc<str> {
    thread_local! {
        static RECENT: std::cell::RefCell<Vec<std::sync::Arc<str>>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    const KEEP: usize = 8;
    RECENT.with(|recent| {
        let mut recent = recent.borrow_mut();
        if let Some(at) = recent.iter().position(|t| **t == *text) {
            // The most recent first: a run of equal texts is found at once.
            recent[..=at].rotate_right(1);
            return recent[0].clone();
        }
        let t: std::sync::Arc<str> = text.into();
        recent.truncate(KEEP - 1);
        recent.insert(0, t.clone());
        t
    })
}

/// A row as a request; `at` names the file and line, built only for errors.
fn to_request(row: Row<'_>, at: impl Fn() -> String) -> Result<Request, TicketError> {
    let at = at;
    let room = row.room.trim();
    let user = row.user.trim();
    if room.is_empty() {
        return Err(TicketError(format!("{}: `room` is empty", at())));
    }
    if user.is_empty() {
        return Err(TicketError(format!("{}: `user` is empty", at())));
    }
    for (what, id) in [("room", room), ("user", user)] {
        if let Some(why) = crate::model::id_problem(id) {
            return Err(TicketError(format!(
                "{}: {what} id `{}` cannot be used: {why}",
                at(),
                crate::text::escape(id)
            )));
        }
    }
    let action: Action = row
        .action
        .parse()
        .map_err(|e| TicketError(format!("{}: {e}", at())))?;
    let blank = |s: Option<Cow<str>>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(share_text)
    };
    Ok(Request {
        room: intern_room(room),
        user: UserId::from(user),
        action,
        note: blank(row.reason),
        ticket: blank(row.ticket),
        role: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_jsonl_give_the_same_requests() {
        let csv = "room,user,action,reason,ticket\n100,u1,remove,spam,T-1\n200,u2,demote,,\n";
        let jsonl = "{\"room\":\"100\",\"user\":\"u1\",\"action\":\"remove\",\"reason\":\"spam\",\"ticket\":\"T-1\"}\n\n{\"room\":\"200\",\"user\":\"u2\",\"action\":\"demote\"}\n";
        let a = parse(csv, "t.csv").unwrap();
        let b = parse(jsonl, "t.jsonl").unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0].note.as_deref(), Some("spam"));
        assert_eq!(a[1].action, Action::Demote);
        assert_eq!(a[1].ticket, None);
    }

    #[test]
    fn a_large_file_is_read_in_one_pass_and_still_names_the_line() {
        // Line numbers used to be counted from the start for every row
        // (quadratic: a 30,000-row ticket took minutes).
        let mut text = String::from("room,user,action\n");
        for i in 0..200_000 {
            text.push_str(&format!("100,u{i},remove\n\n"));
        }
        text.push_str("100,bad,ban\n");
        let e = parse(&text, "big.csv").unwrap_err().to_string();
        assert!(e.contains("big.csv, line 400002:"), "{e}");
    }

    #[test]
    fn malformed_rows_name_file_and_line() {
        let e = parse("room,user,action\n1,u1,remove\n1,u2,ban\n", "t.csv")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.csv, line 3") && e.contains("unknown action `ban`"),
            "{e}"
        );
        let e = parse("room,user,action\n1,u1,remove\n1,u2\n", "t.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv, line 3"), "{e}");
        let e = parse(
            "{\"room\":\"1\",\"user\":\"u\",\"action\":\"remove\"}\n{\"room\":1}\n",
            "t.jsonl",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("t.jsonl, line 2"), "{e}");
        let e = parse("room,name\n1,x\n", "t.csv").unwrap_err().to_string();
        assert!(e.contains("no `user` column"), "{e}");
        let e = parse("room,user,action\n1, ,remove\n", "t.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2: `user` is empty"), "{e}");
    }

    #[test]
    fn csv_line_numbers_count_blank_lines_and_quoted_breaks() {
        let e = parse("room,user,action\n1,u1,remove\n\n1,u2,ban\n", "t.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv, line 4:") && e.contains("ban"), "{e}");
        let e = parse(
            "room,user,action,reason\n1,u1,remove,\"two\nlines\"\n1, ,remove,x\n",
            "t.csv",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("t.csv, line 4: `user` is empty"), "{e}");
    }

    #[test]
    fn json_ids_may_be_numbers_taken_digit_for_digit() {
        let r = parse(
            "{\"room\":\"abc\",\"user\":71000000000122597,\"action\":\"remove\"}\n",
            "t.jsonl",
        )
        .unwrap();
        assert_eq!(r[0].user.as_str(), "71000000000122597");
        let e = parse(
            "{\"room\":\"abc\",\"user\":1.5,\"action\":\"remove\"}\n",
            "t.jsonl",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("line 1") && e.contains("write it as a string"),
            "{e}"
        );
    }

    #[test]
    fn a_json_error_names_the_line_and_column_once() {
        let e = parse(
            "{\"room\":\"1\",\"user\":\"u\",\"action\":\"remove\"}\n{\"room\":\"1\",\"user\":\"u\",\"action\":\"remove\",}\n",
            "t.jsonl",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("ticket file t.jsonl, line 2, column"), "{e}");
        assert!(!e.contains("at line"), "{e}");
    }

    #[test]
    fn an_unknown_column_is_named_on_the_header_line() {
        let e = parse("room,user,action,note\n1,u1,remove,x\n", "t.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv, line 1: unknown column `note`"), "{e}");
    }

    #[test]
    fn a_byte_order_mark_is_skipped_in_both_formats() {
        let jsonl = "\u{feff}{\"room\":\"1\",\"user\":\"u1\",\"action\":\"remove\"}\n";
        let csv = "\u{feff}room,user,action\n1,u1,remove\n";
        let a = parse(jsonl, "t.jsonl").unwrap();
        assert_eq!(a, parse(csv, "t.csv").unwrap());
        assert_eq!((a[0].room.as_str(), a[0].user.as_str()), ("1", "u1"));
    }

    #[test]
    fn a_file_is_streamed_with_the_same_rows_and_errors_as_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        // Multi-byte reasons fall across every read boundary.
        let mut text = String::from("\u{feff}room,user,action,reason\n");
        for i in 0..20_000 {
            text.push_str(&format!("1,u{i},remove,späm ✓ wave {}\n\n", i % 3));
        }
        std::fs::write(&path, &text).unwrap();
        let rows = load(&path).unwrap();
        assert_eq!(rows, parse(&text, &path.display().to_string()).unwrap());
        assert_eq!(rows[19_999].note.as_deref(), Some("späm ✓ wave 1"));
        // A bad row is named by its line...
        text.push_str("1,u,ban,x\n");
        std::fs::write(&path, &text).unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("line 40002:") && e.contains("ban"), "{e}");
        // ...but a file that is not UTF-8 further on cannot be read at all,
        // as when it was read whole.
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"1,u\xff,remove\n");
        std::fs::write(&path, &bytes).unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("cannot be read: stream did not contain valid UTF-8"),
            "{e}"
        );
        // Also when the text ends inside a character.
        let jsonl = dir.path().join("t.jsonl");
        let mut bytes = b"{\"room\":\"1\",\"user\":\"u\",\"action\":\"remove\"}\n".to_vec();
        bytes.extend_from_slice("✓".as_bytes().split_last().unwrap().1);
        std::fs::write(&jsonl, &bytes).unwrap();
        let e = load(&jsonl).unwrap_err().to_string();
        assert!(e.contains("cannot be read"), "{e}");
        let e = load(&dir.path().join("none.csv")).unwrap_err().to_string();
        assert!(e.contains("none.csv: cannot be read:"), "{e}");
    }

    #[test]
    fn repeated_reasons_and_tickets_share_one_string_and_distinct_ones_stay_apart() {
        let a = share_text("spam wave");
        let b = share_text("spam wave");
        assert!(std::sync::Arc::ptr_eq(&a, &b), "one string for equal texts");
        let many: Vec<_> = (0..20).map(|i| share_text(&format!("T-{i}"))).collect();
        for (i, t) in many.iter().enumerate() {
            assert_eq!(&**t, format!("T-{i}"));
        }
        assert_eq!(&*share_text("spam wave"), "spam wave");
        let text = "room,user,action,reason,ticket\nr,u1,remove,spam,T-1\nr,u2,remove,spam,T-1\nr,u3,remove,other,T-1\n";
        let rows = parse(text, "t.csv").unwrap();
        let note = |i: usize| rows[i].note.clone().unwrap();
        assert!(std::sync::Arc::ptr_eq(&note(0), &note(1)));
        assert_eq!(&*note(2), "other");
    }
}
