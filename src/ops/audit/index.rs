//! The intents that never got a result, kept in a small index beside the
//! log (`audit.jsonl.idx`) so that `audit --unfinished` reads only what
//! was written since it was last updated.
//!
//! The log is only ever appended to, so what a prefix of a file says never
//! changes: the index records, per file (by identity, which survives the
//! rotation's rename), how many bytes it has read, the intents still open
//! after them, and where it found unreadable lines. A reader checks that
//! the covered files are still there, unshrunk, and come before every
//! file the index does not know; otherwise it starts over from the first
//! file. Writers update it when they rotate a file away, so at worst a
//! reader reads the file being written. The index is a cache: deleting it
//! costs one full read.

use super::files::{self, LogFile};
use super::line::{Line, record_key};
use super::scan::Forward;
use super::{Kind, Record, Skipped};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::Path;

const VERSION: u32 = 2;
/// Unreadable lines remembered (and warned about again) at most.
const MARKS: usize = 1000;

#[derive(Serialize, Deserialize, Default)]
struct Index {
    version: u32,
    files: Vec<Covered>,
    open: Vec<Record>,
    #[serde(default)]
    skipped: Vec<Covered>,
}

/// A file's identity and a length (read so far) or an offset (of an
/// unreadable line).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
struct Covered {
    id: u64,
    at: u64,
}

/// An open intent: as the index keeps it, or the line just read (decoded
/// only if it is still open at the end).
enum Open {
    Record(Record),
    /// The line, and where it is (which of the files read, offset).
    Line(Vec<u8>, usize, u64),
}

/// Intents in log order, keyed by (batch, room, user, action); closed
/// ones are dropped at once, so the set stays as small as what is open.
#[derive(Default)]
struct OpenSet {
    by_order: BTreeMap<u64, Open>,
    at: HashMap<String, u64>,
    next: u64,
}

impl OpenSet {
    fn insert(&mut self, key: &str, open: Open) {
        if !self.at.contains_key(key) {
            self.at.insert(key.to_string(), self.next);
            self.by_order.insert(self.next, open);
            self.next += 1;
        }
    }
    fn remove(&mut self, key: &str) {
        if let Some(i) = self.at.remove(key) {
            self.by_order.remove(&i);
        }
    }
    /// The open intents; lines that turn out not to be records go to
    /// `bad` (remembered by file id where there is one).
    fn into_vec(
        self,
        files: &[LogFile],
        marks: &mut Vec<Covered>,
        bad: &mut Vec<Skipped>,
    ) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.by_order.len());
        for o in self.by_order.into_values() {
            match o {
                Open::Record(r) => out.push(r),
                Open::Line(bytes, file, offset) => match Line::parse(&bytes) {
                    Some(l) => out.push(l.into_record()),
                    None => match files[file].id.filter(|_| marks.len() < MARKS) {
                        Some(id) => marks.push(Covered { id, at: offset }),
                        None => bad.push(Skipped {
                            file: files[file].path.clone(),
                            offset,
                        }),
                    },
                },
            }
        }
        out
    }
}

/// The fields that tie an intent and its result; the rest of the line is
/// skipped unread.
#[derive(Deserialize)]
struct Peek<'a> {
    kind: Kind,
    #[serde(borrow)]
    batch: Cow<'a, str>,
    #[serde(borrow)]
    room: Cow<'a, str>,
    #[serde(borrow)]
    user: Cow<'a, str>,
    action: crate::model::Action,
    #[serde(default)]
    status: Option<crate::model::Status>,
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
}

fn load(path: &Path) -> Option<Index> {
    let text = std::fs::read(files::index_path(path)).ok()?;
    serde_json::from_slice::<Index>(&text)
        .ok()
        .filter(|i| i.version == VERSION)
}

/// Writes the index next to the log, whole or not at all.
fn save(path: &Path, index: &Index) -> io::Result<()> {
    let target = files::index_path(path);
    let tmp = files::with_suffix(&target, &format!("tmp{}", std::process::id()));
    let result = (|| {
        let mut f = files::open_append(&tmp)?;
        f.set_len(0)?;
        f.write_all(&serde_json::to_vec(index).map_err(io::Error::other)?)?;
        f.sync_data()?;
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Whether the index still describes a prefix of these files.
fn still_valid(index: &Index, files: &[LogFile]) -> bool {
    let covered: HashMap<u64, u64> = index.files.iter().map(|c| (c.id, c.at)).collect();
    let mut unknown_seen = false;
    for f in files {
        match f.id.and_then(|id| covered.get(&id)) {
            Some(&at) if unknown_seen || at > f.len => return false,
            Some(_) => {}
            None => unknown_seen = true,
        }
    }
    true
}

/// Every intent without a result, oldest first, and the unreadable lines
/// (remembered ones included). Updates the index on the way.
pub(super) fn unfinished(path: &Path) -> io::Result<(Vec<Record>, Vec<Skipped>)> {
    // A file renamed between listing and reading (a rotation) makes the
    // reader start over; after a few tries it reads without the index.
    for _ in 0..4 {
        if let Some(found) = try_unfinished(path, true)? {
            return Ok(found);
        }
    }
    Ok(try_unfinished(path, false)?.unwrap_or_default())
}

fn try_unfinished(path: &Path, use_index: bool) -> io::Result<Option<(Vec<Record>, Vec<Skipped>)>> {
    let files = files::list(path)?;
    let indexable = use_index && files.iter().all(|f| f.id.is_some());
    let mut index = if indexable {
        load(path)
            .filter(|i| still_valid(i, &files))
            .unwrap_or_default()
    } else {
        Index::default()
    };
    index.version = VERSION;
    let before: Vec<Covered> = index.files.clone();
    let covered: HashMap<u64, u64> = index.files.iter().map(|c| (c.id, c.at)).collect();
    let mut open = OpenSet::default();
    for r in std::mem::take(&mut index.open) {
        open.insert(&record_key(&r), Open::Record(r));
    }
    let mut partial = Vec::new();
    let mut read = Vec::with_capacity(files.len());
    let mut key = String::new();
    for (n, f) in files.iter().enumerate() {
        let start = f.id.and_then(|id| covered.get(&id)).copied().unwrap_or(0);
        let mut lines = match Forward::open(&f.path, start) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if lines.id() != f.id {
            return Ok(None);
        }
        let mut end = start;
        while let Some(line) = lines.next_line()? {
            if !line.complete {
                partial.push(Skipped {
                    file: f.path.clone(),
                    offset: line.offset,
                });
                break;
            }
            end = line.offset + line.bytes.len() as u64 + 1;
            if line.bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let peek = std::str::from_utf8(line.bytes)
                .ok()
                .and_then(|text| serde_json::from_str::<Peek<'_>>(text).ok());
            match peek {
                None => {
                    if let Some(id) = f.id.filter(|_| index.skipped.len() < MARKS) {
                        index.skipped.push(Covered {
                            id,
                            at: line.offset,
                        });
                    } else {
                        partial.push(Skipped {
                            file: f.path.clone(),
                            offset: line.offset,
                        });
                    }
                }
                Some(p) => {
                    key.clear();
                    super::line::push_key(&mut key, &p.batch, &p.room, &p.user, p.action);
                    match p.kind {
                        Kind::Intent => {
                            open.insert(&key, Open::Line(line.bytes.to_vec(), n, line.offset))
                        }
                        Kind::Result if super::line::closes(p.status, p.reason.as_deref()) => {
                            open.remove(&key)
                        }
                        Kind::Result => {}
                    }
                }
            }
        }
        if let Some(id) = f.id {
            read.push(Covered { id, at: end });
        }
    }
    index.files = read;
    index.open = open.into_vec(&files, &mut index.skipped, &mut partial);
    let mut skipped: Vec<Skipped> = index
        .skipped
        .iter()
        .filter_map(|m| {
            let f = files.iter().find(|f| f.id == Some(m.id))?;
            Some(Skipped {
                file: f.path.clone(),
                offset: m.at,
            })
        })
        .collect();
    skipped.extend(partial);
    let order = |s: &Skipped| files.iter().position(|f| f.path == s.file);
    skipped.sort_by_key(|s| (order(s), s.offset));
    if indexable && index.files != before {
        index
            .skipped
            .retain(|m| files.iter().any(|f| f.id == Some(m.id)));
        if let Err(e) = save(path, &index) {
            tracing::debug!("audit index {}: {e}", files::index_path(path).display());
        }
    }
    Ok(Some((index.open, skipped)))
}
