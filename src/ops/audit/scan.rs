//! Reading the log's lines as bytes, forwards from an offset or backwards
//! from the end, with each line's byte offset. Nothing is decoded here, so
//! a torn character or half a record costs one line, never the file.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

const BLOCK: usize = 256 * 1024;

/// One line without its newline; `complete` is false for a last line that
/// has no newline yet (a write in progress, or cut short by a crash).
pub(super) struct RawLine<'a> {
    pub offset: u64,
    pub bytes: &'a [u8],
    pub complete: bool,
}

/// Lines from `start` to the end of the file.
pub(super) struct Forward {
    reader: BufReader<File>,
    offset: u64,
    buf: Vec<u8>,
}

impl Forward {
    pub fn open(path: &Path, start: u64) -> io::Result<Self> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(start))?;
        Ok(Self {
            reader: BufReader::with_capacity(BLOCK, file),
            offset: start,
            buf: Vec::with_capacity(512),
        })
    }

    /// The next line, blank lines included; `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<RawLine<'_>>> {
        self.buf.clear();
        let n = self.reader.read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        let offset = self.offset;
        self.offset += n as u64;
        let complete = self.buf.last() == Some(&b'\n');
        let end = if complete { n - 1 } else { n };
        Ok(Some(RawLine {
            offset,
            bytes: &self.buf[..end],
            complete,
        }))
    }

    /// The open file's identity (see `files::file_id`).
    pub fn id(&self) -> Option<u64> {
        self.reader
            .get_ref()
            .metadata()
            .ok()
            .and_then(|m| super::files::file_id(&m))
    }
}

/// Lines from the end of the file to its start, newest first.
pub(super) struct Backward {
    file: File,
    /// File offset of `data[0]`.
    data_start: u64,
    data: Vec<u8>,
    /// `data[..end]` is not yet returned; the next line ends at `end`.
    end: usize,
    /// Whether the next line had a newline (only the file's last may not).
    end_complete: bool,
    done: bool,
}

impl Backward {
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut b = Self {
            file,
            data_start: len,
            data: Vec::new(),
            end: 0,
            end_complete: true,
            done: len == 0,
        };
        if len > 0 {
            b.read_more()?;
            if b.data.last() == Some(&b'\n') {
                b.end -= 1;
            } else {
                b.end_complete = false;
            }
        }
        Ok(b)
    }

    /// Prepends the block before `data_start` to what is not yet returned.
    fn read_more(&mut self) -> io::Result<()> {
        let size = BLOCK.min(usize::try_from(self.data_start).unwrap_or(BLOCK));
        let start = self.data_start - size as u64;
        let mut block = vec![0u8; size];
        self.file.seek(SeekFrom::Start(start))?;
        self.file.read_exact(&mut block)?;
        block.extend_from_slice(&self.data[..self.end]);
        self.end = block.len();
        self.data = block;
        self.data_start = start;
        Ok(())
    }

    /// The previous line, blank lines included; `None` at the start.
    pub fn next_line(&mut self) -> io::Result<Option<RawLine<'_>>> {
        if self.done {
            return Ok(None);
        }
        let from = loop {
            if let Some(nl) = self.data[..self.end].iter().rposition(|&b| b == b'\n') {
                break nl + 1;
            }
            if self.data_start == 0 {
                self.done = true;
                break 0;
            }
            self.read_more()?;
        };
        let (to, complete) = (self.end, self.end_complete);
        self.end = from.saturating_sub(1);
        self.end_complete = true;
        Ok(Some(RawLine {
            offset: self.data_start + from as u64,
            bytes: &self.data[from..to],
            complete,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backwards(text: &[u8]) -> Vec<(u64, String, bool)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, text).unwrap();
        let mut b = Backward::open(&path).unwrap();
        let mut out = Vec::new();
        while let Some(l) = b.next_line().unwrap() {
            out.push((
                l.offset,
                String::from_utf8_lossy(l.bytes).into_owned(),
                l.complete,
            ));
        }
        out
    }

    #[test]
    fn backwards_yields_every_line_with_its_offset() {
        assert!(backwards(b"").is_empty());
        assert_eq!(backwards(b"a\n"), [(0, "a".into(), true)]);
        assert_eq!(
            backwards(b"a\nbc\n"),
            [(2, "bc".into(), true), (0, "a".into(), true)]
        );
        assert_eq!(
            backwards(b"a\n\nbc"),
            [
                (3, "bc".into(), false),
                (2, String::new(), true),
                (0, "a".into(), true)
            ]
        );
        // Lines longer than a block, across block edges.
        let long = "x".repeat(BLOCK + 17);
        let text = format!("{long}\nshort\n{long}\n");
        let got = backwards(text.as_bytes());
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], ((BLOCK + 24) as u64, long.clone(), true));
        assert_eq!(got[1], ((BLOCK + 18) as u64, "short".into(), true));
        assert_eq!(got[2], (0, long, true));
    }

    #[test]
    fn forwards_from_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"a\nbc\nd").unwrap();
        let mut f = Forward::open(&path, 2).unwrap();
        let l = f.next_line().unwrap().unwrap();
        assert_eq!((l.offset, l.bytes, l.complete), (2, &b"bc"[..], true));
        let l = f.next_line().unwrap().unwrap();
        assert_eq!((l.offset, l.bytes, l.complete), (5, &b"d"[..], false));
        assert!(f.next_line().unwrap().is_none());
    }
}
