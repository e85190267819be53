//! Ticket files: CSV with a header, or JSON Lines, with the fields `room`,
//! `user`, `action` (`remove`, `demote`, `readd`), optional `reason` and
//! optional `ticket`. A malformed row stops the whole file before anything
//! is sent; the error names the file and the line.

use super::plan::Request;
use crate::model::{Action, RoomId, UserId};
use serde::Deserialize;
use std::fmt;
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
struct Row {
    room: String,
    user: String,
    action: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    ticket: Option<String>,
}

/// A JSON Lines row: ids may also be JSON numbers (Symphony's user ids
/// are int64), taken digit for digit.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRow {
    #[serde(deserialize_with = "id_text")]
    room: String,
    #[serde(deserialize_with = "id_text")]
    user: String,
    action: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    ticket: Option<String>,
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

/// Reads a ticket file from disk.
pub fn load(path: &Path) -> Result<Vec<Request>, TicketError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        TicketError(format!(
            "ticket file {}: cannot be read: {e}",
            path.display()
        ))
    })?;
    parse(&text, &path.display().to_string())
}

/// Parses ticket text; JSON Lines when the first non-blank line starts
/// with `{`, CSV otherwise. A leading byte-order mark (as some editors
/// and spreadsheets write) is skipped.
pub fn parse(text: &str, name: &str) -> Result<Vec<Request>, TicketError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let rows = if first.trim_start().starts_with('{') {
        parse_jsonl(text, name)?
    } else {
        parse_csv(text, name)?
    };
    if rows.is_empty() {
        return Err(TicketError(format!(
            "ticket file {name}: no rows; expected room,user,action[,reason][,ticket]"
        )));
    }
    Ok(rows)
}

fn parse_jsonl(text: &str, name: &str) -> Result<Vec<Request>, TicketError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("ticket file {name}, line {}", n + 1);
        let row: JsonRow = serde_json::from_str(line).map_err(|e| json_error(&at(), &e))?;
        let row = Row {
            room: row.room,
            user: row.user,
            action: row.action,
            reason: row.reason,
            ticket: row.ticket,
        };
        out.push(to_request(row, at)?);
    }
    Ok(out)
}

fn parse_csv(text: &str, name: &str) -> Result<Vec<Request>, TicketError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
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
    let mut lines = LineCounter::new(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            TicketError(format!(
                "ticket file {name}, line {}: {e}",
                lines.line_at(e.position())
            ))
        })?;
        let line = lines.line_at(record.position());
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
/// before them: step over them.
struct LineCounter<'a> {
    bytes: &'a [u8],
    at: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, pos: Option<&csv::Position>) -> usize {
        let bytes = self.bytes;
        let mut to = pos.map_or(0, |p| p.byte() as usize).min(bytes.len());
        while to < bytes.len() && matches!(bytes[to], b'\r' | b'\n') {
            to += 1;
        }
        if to < self.at {
            // Never expected (records come in order): count afresh.
            self.at = 0;
            self.line = 1;
        }
        self.line += bytes[self.at..to].iter().filter(|b| **b == b'\n').count();
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

/// A row as a request; `at` names the file and line, built only for errors.
fn to_request(row: Row, at: impl Fn() -> String) -> Result<Request, TicketError> {
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
                id.escape_debug()
            )));
        }
    }
    let action: Action = row
        .action
        .parse()
        .map_err(|e| TicketError(format!("{}: {e}", at())))?;
    let blank = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
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
}
