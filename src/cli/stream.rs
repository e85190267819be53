//! Rows streamed as they finish (jsonl, csv and json), so a long run shows
//! its progress on stdout and a killed run leaves the rows it finished.
//! The table format needs every row for its widths and prints at the end.

use super::args::Format;
use super::output::{JsonArray, Row, write_rows};
use std::io::{self, Write};

/// Writes rows one at a time in `format` (jsonl, csv or json; csv with
/// its header once, json inside one array that [`RowStream::finish`]
/// closes), flushing after each, through the same writer as the
/// whole-list output so both look the same.
pub struct RowStream {
    format: Format,
    started: bool,
    array: Option<JsonArray>,
}

impl RowStream {
    /// A stream for `format`, or `None` for the table (printed at the end).
    pub fn new(format: Format) -> Option<Self> {
        (format != Format::Table).then_some(Self {
            format,
            started: false,
            array: (format == Format::Json).then(JsonArray::default),
        })
    }

    /// Ends the output: closes the json array (`[]` if no row came).
    /// Nothing for jsonl and csv.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if let Some(array) = self.array.take() {
            array.finish(out)?;
        }
        out.flush()
    }

    pub fn row<R: Row>(&mut self, out: &mut dyn Write, row: &R) -> io::Result<()> {
        if let Some(array) = self.array.as_mut() {
            array.row(out, row)?;
            return out.flush();
        }
        let mut buf = Vec::new();
        write_rows(&mut buf, self.format, std::slice::from_ref(row))?;
        let body = if self.format == Format::Csv && self.started {
            // The header line again: drop it.
            let at = buf.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
            &buf[at..]
        } else {
            &buf[..]
        };
        self.started = true;
        out.write_all(body)?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Outcome, Status};

    fn row(user: &str) -> Outcome {
        Outcome {
            room: "r".into(),
            user: user.into(),
            action: Action::Remove,
            status: Status::Removed,
            reason: None,
            role: None,
        }
    }

    #[test]
    fn csv_has_one_header_and_the_table_is_not_streamed() {
        let mut out = Vec::new();
        let mut s = RowStream::new(Format::Csv).unwrap();
        s.row(&mut out, &row("u1")).unwrap();
        s.row(&mut out, &row("u2")).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "room,user,action,status,reason\nr,u1,remove,removed,\nr,u2,remove,removed,\n"
        );
        assert!(RowStream::new(Format::Table).is_none());
    }

    #[test]
    fn json_rows_make_one_array_once_finished() {
        let mut out = Vec::new();
        let mut s = RowStream::new(Format::Json).unwrap();
        s.row(&mut out, &row("u1")).unwrap();
        s.row(&mut out, &row("u2")).unwrap();
        s.finish(&mut out).unwrap();
        s.finish(&mut out).unwrap();
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1]["user"], "u2");

        let mut out = Vec::new();
        RowStream::new(Format::Json)
            .unwrap()
            .finish(&mut out)
            .unwrap();
        assert_eq!(out, b"[]\n");
    }
}
