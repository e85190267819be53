//! The audit log: append-only JSON Lines, written ahead of every call.
//!
//! An `intent` record per user is written and fsynced before a provider
//! call is sent, a `result` record after it answered, so a crash or a kill
//! never hides what may have been done (`audit --unfinished`). Records
//! never hold secrets. The log is written by this module directly, never
//! through a (lossy) tracing writer.
//!
//! Each line is one JSON object that reads alone; a result leaves out what
//! its intent says (see `line`). The file is rotated by size (`files`),
//! a torn last line is closed before anything is appended after it, and
//! readers stream the log, skipping (and naming) unreadable lines.

mod files;
mod index;
mod line;
mod query;
mod scan;

pub use query::{Records, history, last, records, roles_before};

use crate::model::{Action, Role, RoomId, Status, UserId};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use time::OffsetDateTime;

/// The size at which the log is rotated (renamed `audit.jsonl.N`).
pub const ROTATE_AT: u64 = 16 * 1024 * 1024;

/// Whether a record announces a call or reports its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Intent,
    Result,
}

/// One record of the audit log, whole: what readers return (a result
/// joined with its intent). On disk a result leaves out what its intent
/// says, and empty fields are left out (see `line`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// RFC 3339, UTC.
    pub ts: String,
    pub kind: Kind,
    /// The OS user who ran roomwarden.
    pub operator: String,
    pub profile: String,
    pub provider: String,
    pub room: RoomId,
    pub user: UserId,
    pub action: Action,
    /// Set on results only.
    pub status: Option<Status>,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    /// Groups the records of one run.
    pub batch: String,
    /// The role the user had before the change (what undo restores).
    pub role: Option<Role>,
}

/// Now, as RFC 3339 UTC to the millisecond.
pub fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

/// The OS user running roomwarden.
pub fn operator() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(|| {
            let out = std::process::Command::new("id").arg("-un").output().ok()?;
            let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (out.status.success() && !name.is_empty()).then_some(name)
        })
        .unwrap_or_else(|| "unknown".into())
}

fn base36(mut n: u128) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A fresh batch id: the start time (Unix milliseconds) and the process
/// id, both base 36 (`mj3k8x2a-1b3f`): unique per machine, and short,
/// since every record carries it.
pub fn new_batch_id() -> String {
    let ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    format!(
        "{}-{}",
        base36(u128::try_from(ms).unwrap_or_default()),
        base36(u128::from(std::process::id()))
    )
}

/// The platform data dir's `roomwarden/audit.jsonl`.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "roomwarden").map(|d| d.data_dir().join("audit.jsonl"))
}

/// A line that could not be read (cut short by a crash, or not a record),
/// skipped by readers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub file: PathBuf,
    /// Byte offset of the line's start in `file`.
    pub offset: u64,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "audit log {}: unreadable line at byte {} skipped (a write cut short?)",
            self.file.display(),
            self.offset
        )
    }
}

/// The file being written and its identity.
struct Active {
    file: File,
    id: Option<u64>,
}

impl Active {
    fn open(path: &Path) -> io::Result<Self> {
        let file = files::open_append(path)?;
        let id = files::file_id(&file.metadata()?);
        Ok(Self { file, id })
    }
}

/// An open, append-only audit log.
pub struct AuditLog {
    path: PathBuf,
    rotate_at: u64,
    active: Mutex<Active>,
}

impl AuditLog {
    /// Opens (creating directories and the file as needed) for appending;
    /// the file is rotated at [`ROTATE_AT`].
    pub fn open(path: &Path) -> io::Result<Self> {
        Self::open_rotating_at(path, ROTATE_AT)
    }

    /// Opens with another rotation size (tests and benchmarks).
    pub fn open_rotating_at(path: &Path, rotate_at: u64) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let log = Self {
            path: path.to_path_buf(),
            rotate_at: rotate_at.max(1),
            active: Mutex::new(Active::open(path)?),
        };
        {
            let mut active = crate::provider::lock(&log.active);
            if active.file.metadata()?.len() >= log.rotate_at {
                log.rotate(&mut active)?;
            }
        }
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends records in one write; with `sync` waits until they are on
    /// disk. A last line left without its newline (a crash mid-write) is
    /// closed first, so it costs only itself.
    pub fn append(&self, records: &[Record], sync: bool) -> io::Result<()> {
        let mut buf = Vec::with_capacity(records.len() * 200 + 1);
        buf.push(b'\n');
        line::write_lines(records, &mut buf)?;
        let mut active = crate::provider::lock(&self.active);
        self.follow(&mut active)?;
        let len = active.file.metadata()?.len();
        let from = usize::from(len == 0 || last_byte(&active.file)? == b'\n');
        active.file.write_all(&buf[from..])?;
        if sync {
            active.file.sync_data()?;
        }
        if len + (buf.len() - from) as u64 >= self.rotate_at
            && let Err(e) = self.rotate(&mut active)
        {
            tracing::warn!("audit log {}: cannot rotate: {e}", self.path.display());
        }
        Ok(())
    }

    /// Flushes everything to disk.
    pub fn sync(&self) -> io::Result<()> {
        crate::provider::lock(&self.active).file.sync_data()
    }

    /// Reopens the path when another process has rotated the file away.
    fn follow(&self, active: &mut Active) -> io::Result<()> {
        let now = match std::fs::metadata(&self.path) {
            Ok(m) => files::file_id(&m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if active.id.is_some() && now != active.id {
            *active = Active::open(&self.path)?;
        }
        Ok(())
    }

    /// Renames the file `audit.jsonl.N` and starts a new one. The name is
    /// reserved first (created empty, exclusively), so two processes
    /// rotating at once never overwrite each other's files.
    fn rotate(&self, active: &mut Active) -> io::Result<()> {
        let mut next = files::rotated(&self.path)?
            .last()
            .map_or(1, |(n, _)| n.saturating_add(1));
        let target = loop {
            let target = files::with_suffix(&self.path, &next.to_string());
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)
            {
                Ok(_) => break target,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && next < u64::MAX => {
                    next += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let still_ours = std::fs::metadata(&self.path)
            .ok()
            .is_some_and(|m| active.id.is_none() || files::file_id(&m) == active.id);
        let renamed = if still_ours {
            std::fs::rename(&self.path, &target)
        } else {
            Err(io::Error::other("rotated by another process"))
        };
        if renamed.is_err() {
            let _ = std::fs::remove_file(&target);
        }
        *active = Active::open(&self.path)?;
        if renamed.is_ok() {
            // Brings the index up to date over the file just closed, so
            // readers of `--unfinished` read at most the active file.
            index::unfinished(&self.path)?;
        }
        Ok(())
    }
}

fn last_byte(file: &File) -> io::Result<u8> {
    let mut f = file;
    f.seek(SeekFrom::End(-1))?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b)?;
    Ok(b[0])
}

/// Reads every record (rotated files included), results joined with their
/// intents, and counts the unreadable lines skipped. Loads the whole log:
/// for tests and small logs; [`records`] streams it.
pub fn read(path: &Path) -> io::Result<(Vec<Record>, usize)> {
    let mut all = records(path)?;
    let mut out = Vec::new();
    for r in all.by_ref() {
        out.push(r?);
    }
    Ok((out, all.skipped().len()))
}

/// Intents in `records` that never got a result (or only one saying the
/// change may have happened unseen): calls that may or may not have
/// happened, for the operator to verify.
pub fn unfinished(records: &[Record]) -> Vec<Record> {
    let done: HashSet<String> = records
        .iter()
        .filter(|r| r.kind == Kind::Result && line::closes(r.status, r.reason.as_deref()))
        .map(line::record_key)
        .collect();
    let mut seen = HashSet::new();
    records
        .iter()
        .filter(|r| r.kind == Kind::Intent)
        .filter(|r| {
            let k = line::record_key(r);
            !done.contains(&k) && seen.insert(k)
        })
        .cloned()
        .collect()
}

/// Every intent of the log that never got a result, oldest first, and
/// the unreadable lines; reads only what the index beside the log does
/// not cover yet (see `index`).
pub fn open_intents(path: &Path) -> io::Result<(Vec<Record>, Vec<Skipped>)> {
    index::unfinished(path)
}

/// A batch id and its unfinished intents.
pub type Unfinished = (String, Vec<Record>);

/// The unfinished intents of `batch`, or of the latest batch with any
/// (`None` when there are none).
pub fn unfinished_batch(
    path: &Path,
    batch: Option<&str>,
) -> io::Result<(Option<Unfinished>, Vec<Skipped>)> {
    let (open, skipped) = open_intents(path)?;
    let Some(batch) = batch
        .map(str::to_string)
        .or_else(|| open.last().map(|r| r.batch.clone()))
    else {
        return Ok((None, skipped));
    };
    let rows: Vec<Record> = open.into_iter().filter(|r| r.batch == batch).collect();
    Ok(((!rows.is_empty()).then_some((batch, rows)), skipped))
}

#[cfg(test)]
mod tests;
