//! Rows on stdout in the formats of docs/CLI.md: table, jsonl, csv, json.

use super::args::Format;
use crate::model::{Member, Outcome, Room, RoomId};
use crate::ops::audit::Record;
use crate::text;
use serde::Serialize;
use std::io::{self, Write};

/// A row that can be printed in every format.
pub trait Row: Serialize {
    const HEADERS: &'static [&'static str];
    /// The cells of the `table` format, for people.
    fn cells(&self) -> Vec<String>;
    /// The cells of the `csv` format: the jsonl values as text, a null as
    /// an empty cell. The default is the table's cells; rows whose table
    /// shows friendlier words than their jsonl values override it.
    fn csv_cells(&self) -> Vec<String> {
        self.cells()
    }
}

#[derive(Serialize)]
pub struct MemberRow<'a> {
    pub room: &'a RoomId,
    pub user: &'a str,
    pub name: Option<&'a str>,
    pub role: &'static str,
}

impl<'a> MemberRow<'a> {
    pub fn new(room: &'a RoomId, m: &'a Member) -> Self {
        Self {
            room,
            user: m.user.as_str(),
            name: m.name.as_deref(),
            role: m.role.as_str(),
        }
    }
}

impl Row for MemberRow<'_> {
    const HEADERS: &'static [&'static str] = &["room", "user", "name", "role"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.room.to_string(),
            self.user.into(),
            self.name.unwrap_or("").into(),
            self.role.into(),
        ]
    }
}

#[derive(Serialize)]
pub struct RoomRow<'a> {
    pub room: &'a str,
    pub name: &'a str,
    pub members: Option<u64>,
    pub active: bool,
}

impl<'a> RoomRow<'a> {
    pub fn new(r: &'a Room) -> Self {
        Self {
            room: r.id.as_str(),
            name: &r.name,
            members: r.member_count,
            active: r.active,
        }
    }
}

impl Row for RoomRow<'_> {
    const HEADERS: &'static [&'static str] = &["room", "name", "members", "active"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.room.into(),
            self.name.into(),
            self.members
                .map(|m| m.to_string())
                .unwrap_or_else(|| "?".into()),
            if self.active {
                "yes".into()
            } else {
                "deactivated".into()
            },
        ]
    }
    fn csv_cells(&self) -> Vec<String> {
        vec![
            self.room.into(),
            self.name.into(),
            self.members.map(|m| m.to_string()).unwrap_or_default(),
            self.active.to_string(),
        ]
    }
}

#[derive(Serialize)]
pub struct ProfileRow<'a> {
    pub name: &'a str,
    pub provider: &'a str,
    /// Shown with any password or query as `***` ([`crate::config::shown_url`]).
    pub base_url: Option<String>,
    pub default: bool,
    pub read_only: bool,
}

impl Row for ProfileRow<'_> {
    const HEADERS: &'static [&'static str] =
        &["name", "provider", "base_url", "default", "read_only"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.into(),
            self.provider.into(),
            self.base_url
                .clone()
                .unwrap_or_else(|| "(provider default)".into()),
            if self.default {
                "*".into()
            } else {
                String::new()
            },
            if self.read_only {
                "RO".into()
            } else {
                String::new()
            },
        ]
    }
    fn csv_cells(&self) -> Vec<String> {
        vec![
            self.name.into(),
            self.provider.into(),
            self.base_url.clone().unwrap_or_default(),
            self.default.to_string(),
            self.read_only.to_string(),
        ]
    }
}

impl Row for Outcome {
    const HEADERS: &'static [&'static str] = &["room", "user", "action", "status", "reason"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.room.to_string(),
            self.user.to_string(),
            self.action.to_string(),
            self.status.to_string(),
            self.reason.clone().unwrap_or_default(),
        ]
    }
}

impl Row for Record {
    const HEADERS: &'static [&'static str] = &[
        "ts", "kind", "operator", "profile", "provider", "room", "user", "action", "status",
        "reason", "ticket", "batch", "role",
    ];
    fn cells(&self) -> Vec<String> {
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        vec![
            self.ts.clone(),
            format!("{:?}", self.kind).to_lowercase(),
            self.operator.clone(),
            self.profile.clone(),
            self.provider.clone(),
            self.room.to_string(),
            self.user.to_string(),
            self.action.to_string(),
            self.status.map(|s| s.to_string()).unwrap_or_default(),
            opt(&self.reason),
            opt(&self.ticket),
            self.batch.clone(),
            self.role.map(|r| r.to_string()).unwrap_or_default(),
        ]
    }
}

impl Row for crate::ops::queue::StatusRow {
    const HEADERS: &'static [&'static str] =
        &["by", "key", "queued", "claimed", "done", "failed", "alive"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.by.into(),
            self.key.clone(),
            self.queued.to_string(),
            self.claimed.to_string(),
            self.done.to_string(),
            self.failed.to_string(),
            match self.alive {
                Some(true) => "alive".into(),
                Some(false) => "gone".into(),
                None => String::new(),
            },
        ]
    }
    fn csv_cells(&self) -> Vec<String> {
        let mut c = self.cells();
        c[6] = self.alive.map(|a| a.to_string()).unwrap_or_default();
        c
    }
}

/// The widest a `table` cell gets, in characters; longer ones are cut
/// with an ellipsis (jsonl and csv keep them whole).
pub const MAX_CELL: usize = 200;

/// Rows of a table whose column widths come from its first rows.
const TABLE_SAMPLE: usize = 1000;

/// A row's `table` cells as shown: control characters escaped (`\x1b`,
/// see [`crate::text`]) and cut at [`MAX_CELL`].
fn shown_cells<R: Row>(r: &R) -> Vec<String> {
    r.cells()
        .iter()
        .map(|c| text::cell(c, MAX_CELL).into_owned())
        .collect()
}

/// A row's `csv` record: control characters escaped, so that a record is
/// one line; the writer quotes as RFC 4180 says.
fn csv_record<R: Row>(r: &R) -> Vec<String> {
    r.csv_cells()
        .iter()
        .map(|c| text::escape(c).into_owned())
        .collect()
}

/// One JSON array written a row at a time: `[`, the rows (the jsonl
/// values, one a line, comma-separated), `]`; `[]` when there are none.
#[derive(Debug, Default)]
pub struct JsonArray {
    started: bool,
}

impl JsonArray {
    pub fn row<R: Serialize>(&mut self, out: &mut dyn Write, row: &R) -> io::Result<()> {
        out.write_all(if self.started { b",\n" } else { b"[\n" })?;
        self.started = true;
        serde_json::to_writer(&mut *out, row)?;
        Ok(())
    }

    /// Closes the array (an empty one when no row came).
    pub fn finish(self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(if self.started { b"\n]\n" } else { b"[]\n" })
    }
}

/// Standard output that remembers whether anything was written, so that
/// with `json` a command that printed nothing (an error, no rows) still
/// leaves one array: `[]`.
pub struct Tracked<W: Write> {
    inner: W,
    wrote: bool,
}

impl<W: Write> Tracked<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            wrote: false,
        }
    }

    pub fn wrote(&self) -> bool {
        self.wrote
    }
}

impl<W: Write> Write for Tracked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.wrote |= n > 0;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The csv writer's error as the io error it wraps, so a closed pipe
/// stays a `BrokenPipe` (and ends the output quietly).
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Writes rows as they come, in `format`, holding none but (for a table)
/// the first [`TABLE_SAMPLE`], whose widths align the rest. `table` and
/// `csv` show control characters escaped; jsonl keeps every value exactly.
pub fn stream_rows<R: Row>(
    out: &mut dyn Write,
    format: Format,
    rows: impl Iterator<Item = io::Result<R>>,
) -> io::Result<()> {
    let mut rows = rows.peekable();
    match format {
        Format::Json => {
            // A row that cannot be read still leaves a whole array.
            let mut array = JsonArray::default();
            let mut failed = None;
            for r in rows {
                match r {
                    Ok(r) => array.row(out, &r)?,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            array.finish(out)?;
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Format::Jsonl => {
            for r in rows {
                serde_json::to_writer(&mut *out, &r?)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(R::HEADERS).map_err(csv_io)?;
            for r in rows {
                w.write_record(csv_record(&r?)).map_err(csv_io)?;
            }
            w.flush()?;
        }
        Format::Table => {
            let mut first = Vec::new();
            while first.len() < TABLE_SAMPLE {
                match rows.next() {
                    Some(r) => first.push(r?),
                    None => break,
                }
            }
            let widths = table_widths(&first);
            let mut line = table_line(&widths);
            let headers: Vec<String> = R::HEADERS.iter().map(|h| h.to_uppercase()).collect();
            line(out, &headers)?;
            for r in &first {
                line(out, &shown_cells(r))?;
            }
            for r in rows {
                line(out, &shown_cells(&r?))?;
            }
        }
    }
    Ok(())
}

fn table_widths<R: Row>(rows: &[R]) -> Vec<usize> {
    let mut widths: Vec<usize> = R::HEADERS.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(shown_cells(row)) {
            *w = (*w).max(c.chars().count());
        }
    }
    widths
}

fn table_line(widths: &[usize]) -> impl FnMut(&mut dyn Write, &[String]) -> io::Result<()> + '_ {
    move |out, row| {
        let last = row.len().saturating_sub(1);
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            out.write_all(c.as_bytes())?;
            if i == last {
                out.write_all(b"\n")?;
            } else {
                // Padding by hand: a format width panics past 65,535.
                let pad = w.saturating_sub(c.chars().count()) + 2;
                out.write_all(" ".repeat(pad).as_bytes())?;
            }
        }
        Ok(())
    }
}

/// Writes rows in `format`. Tables are aligned; jsonl and csv keep the
/// field names of CLI.md (`json`: the jsonl rows in one array). `table`
/// and `csv` show control characters escaped (`\x1b`, see [`crate::text`])
/// so that no cell reaches a terminal raw or breaks a row; jsonl and json
/// keep every value exactly.
pub fn write_rows<R: Row>(out: &mut dyn Write, format: Format, rows: &[R]) -> io::Result<()> {
    match format {
        Format::Json => {
            let mut array = JsonArray::default();
            for r in rows {
                array.row(out, r)?;
            }
            array.finish(out)?;
        }
        Format::Jsonl => {
            for r in rows {
                serde_json::to_writer(&mut *out, r)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(R::HEADERS).map_err(csv_io)?;
            for r in rows {
                w.write_record(csv_record(r)).map_err(csv_io)?;
            }
            w.flush()?;
        }
        Format::Table => {
            let widths = table_widths(rows);
            let mut line = table_line(&widths);
            let headers: Vec<String> = R::HEADERS.iter().map(|h| h.to_uppercase()).collect();
            line(out, &headers)?;
            for r in rows {
                line(out, &shown_cells(r))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv<R: Row>(rows: &[R]) -> String {
        let mut out = Vec::new();
        write_rows(&mut out, Format::Csv, rows).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn jsonl<R: Row>(rows: &[R]) -> String {
        let mut out = Vec::new();
        write_rows(&mut out, Format::Jsonl, rows).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// A reader that went away (`| head`).
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_a_broken_pipe_in_every_format() {
        let room = Room {
            id: "r1".into(),
            name: "quiet".into(),
            member_count: None,
            active: true,
        };
        // More rows than the csv writer buffers, so a row's write fails.
        let rows: Vec<RoomRow> = (0..2_000).map(|_| RoomRow::new(&room)).collect();
        for format in [Format::Table, Format::Jsonl, Format::Csv, Format::Json] {
            let e = write_rows(&mut ClosedPipe, format, &rows).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{format:?}: {e}");
            let all = (0..2_000).map(|_| Ok(RoomRow::new(&room)));
            let e = stream_rows(&mut ClosedPipe, format, all).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{format:?}: {e}");
        }
    }

    #[test]
    fn json_is_one_array_of_the_jsonl_rows_and_empty_is_brackets() {
        let rooms = [
            Room {
                id: "r1".into(),
                name: "quiet".into(),
                member_count: None,
                active: false,
            },
            Room {
                id: "r2".into(),
                name: "busy\u{1b}".into(),
                member_count: Some(3),
                active: true,
            },
        ];
        let rows: Vec<RoomRow> = rooms.iter().map(RoomRow::new).collect();
        let mut out = Vec::new();
        write_rows(&mut out, Format::Json, &rows).unwrap();
        let array: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
        let lines: Vec<serde_json::Value> = jsonl(&rows)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(array, lines);
        let mut streamed = Vec::new();
        stream_rows(
            &mut streamed,
            Format::Json,
            rooms.iter().map(|r| Ok(RoomRow::new(r))),
        )
        .unwrap();
        assert_eq!(streamed, out);

        let none: [RoomRow; 0] = [];
        let mut out = Vec::new();
        write_rows(&mut out, Format::Json, &none).unwrap();
        assert_eq!(out, b"[]\n");
    }

    #[test]
    fn a_json_stream_that_fails_part_way_still_closes_its_array() {
        let room = Room {
            id: "r1".into(),
            name: "quiet".into(),
            member_count: None,
            active: true,
        };
        let rows = vec![
            Ok(RoomRow::new(&room)),
            Err(io::Error::other("unreadable")),
            Ok(RoomRow::new(&room)),
        ];
        let mut out = Vec::new();
        let e = stream_rows(&mut out, Format::Json, rows.into_iter()).unwrap_err();
        assert_eq!(e.to_string(), "unreadable");
        let array: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(array.len(), 1);
    }

    #[test]
    fn csv_cells_are_the_jsonl_values_not_the_table_words() {
        let room = Room {
            id: "r1".into(),
            name: "quiet".into(),
            member_count: None,
            active: false,
        };
        let rows = [RoomRow::new(&room)];
        assert_eq!(
            jsonl(&rows),
            "{\"room\":\"r1\",\"name\":\"quiet\",\"members\":null,\"active\":false}\n"
        );
        assert_eq!(csv(&rows), "room,name,members,active\nr1,quiet,,false\n");

        let profiles = [ProfileRow {
            name: "demo",
            provider: "sandbox",
            base_url: None,
            default: true,
            read_only: false,
        }];
        assert_eq!(
            csv(&profiles),
            "name,provider,base_url,default,read_only\ndemo,sandbox,,true,false\n"
        );
    }

    #[test]
    fn table_and_csv_escape_controls_and_jsonl_keeps_them() {
        let room = Room {
            id: "r\u{1b}1".into(),
            name: "evil\u{1b}[2J\nFAKE,ROW".into(),
            member_count: Some(3),
            active: true,
        };
        let rows = [RoomRow::new(&room)];
        assert_eq!(
            csv(&rows),
            "room,name,members,active\nr\\x1b1,\"evil\\x1b[2J\\x0aFAKE,ROW\",3,true\n"
        );
        let mut out = Vec::new();
        write_rows(&mut out, Format::Table, &rows).unwrap();
        let table = String::from_utf8(out).unwrap();
        assert_eq!(
            table,
            "ROOM    NAME                     MEMBERS  ACTIVE\n\
             r\\x1b1  evil\\x1b[2J\\x0aFAKE,ROW  3        yes\n"
        );
        let back: serde_json::Value = serde_json::from_str(jsonl(&rows).trim()).unwrap();
        assert_eq!(back["name"], room.name);
        assert_eq!(back["room"], "r\u{1b}1");
    }
}
