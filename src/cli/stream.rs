//! Rows streamed as they finish (jsonl and csv), so a long run shows its
//! progress on stdout and a killed run leaves the rows it finished. The
//! table format needs every row for its widths and prints at the end.

use super::args::Format;
use super::output::{Row, write_rows};
use std::io::{self, Write};

/// Writes rows one at a time in `format` (jsonl or csv; csv with its
/// header once), flushing after each, through the same writer as the
/// whole-list output so both look the same.
pub struct RowStream {
    format: Format,
    started: bool,
}

impl RowStream {
    /// A stream for `format`, or `None` for the table (printed at the end).
    pub fn new(format: Format) -> Option<Self> {
        (format != Format::Table).then_some(Self {
            format,
            started: false,
        })
    }

    pub fn row<R: Row>(&mut self, out: &mut dyn Write, row: &R) -> io::Result<()> {
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
}
