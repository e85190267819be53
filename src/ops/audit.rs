//! The audit log: append-only JSON Lines, written ahead of every call.
//!
//! An `intent` record per user is written and fsynced before a provider
//! call is sent, a `result` record after it answered, so a crash or a kill
//! never hides what may have been done (`audit --unfinished`). Records
//! never hold secrets. The log is written by this module directly, never
//! through a (lossy) tracing writer.

use crate::model::{Action, Role, RoomId, Status, UserId};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Whether a record announces a call or reports its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Intent,
    Result,
}

/// One line of the audit log.
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

/// Now, as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
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

/// A fresh batch id: UTC time plus process id, unique enough per machine.
pub fn new_batch_id() -> String {
    let now = OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z-{}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond(),
        std::process::id()
    )
}

/// The platform data dir's `roomwarden/audit.jsonl`.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "roomwarden").map(|d| d.data_dir().join("audit.jsonl"))
}

/// An open, append-only audit log.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    /// Opens (creating directories and the file as needed) for appending.
    pub fn open(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends records in one write; with `sync` waits until they are on disk.
    pub fn append(&self, records: &[Record], sync: bool) -> io::Result<()> {
        let mut buf = Vec::with_capacity(records.len() * 256);
        for r in records {
            serde_json::to_writer(&mut buf, r).map_err(io::Error::other)?;
            buf.push(b'\n');
        }
        let mut f = crate::provider::lock(&self.file);
        f.write_all(&buf)?;
        if sync {
            f.sync_data()?;
        }
        Ok(())
    }

    /// Flushes everything to disk.
    pub fn sync(&self) -> io::Result<()> {
        crate::provider::lock(&self.file).sync_data()
    }
}

/// Reads every well-formed record; a torn last line (after a crash) is
/// skipped and counted.
pub fn read(path: &Path) -> io::Result<(Vec<Record>, usize)> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    let mut bad = 0;
    for line in BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(r) => records.push(r),
            Err(_) => bad += 1,
        }
    }
    Ok((records, bad))
}

type Key = (String, RoomId, UserId, Action);

fn key(r: &Record) -> Key {
    (r.batch.clone(), r.room.clone(), r.user.clone(), r.action)
}

/// Intents that never got a result: calls that may or may not have
/// happened, for the operator to verify.
pub fn unfinished(records: &[Record]) -> Vec<Record> {
    let done: HashSet<Key> = records
        .iter()
        .filter(|r| r.kind == Kind::Result)
        .map(key)
        .collect();
    records
        .iter()
        .filter(|r| r.kind == Kind::Intent && !done.contains(&key(r)))
        .cloned()
        .collect()
}

/// For undo: the role each user had before they were last removed from,
/// or demoted in, `room` by `profile` on `provider` (room ids of other providers or accounts may
/// look the same and say nothing about this room).
pub fn removed_roles(
    records: &[Record],
    profile: &str,
    provider: &str,
    room: &RoomId,
) -> HashMap<UserId, Role> {
    let mut roles = HashMap::new();
    for r in records {
        if r.kind == Kind::Result
            && &r.room == room
            && r.profile == profile
            && r.provider == provider
            && matches!(
                (r.action, r.status),
                (Action::Remove, Some(Status::Removed)) | (Action::Demote, Some(Status::Demoted))
            )
            && let Some(role) = r.role
        {
            roles.insert(r.user.clone(), role);
        }
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: Kind, user: &str, status: Option<Status>, role: Option<Role>) -> Record {
        Record {
            ts: now_rfc3339(),
            kind,
            operator: "op".into(),
            profile: "p".into(),
            provider: "sandbox".into(),
            room: "r1".into(),
            user: user.into(),
            action: Action::Remove,
            status,
            reason: None,
            ticket: None,
            batch: "b1".into(),
            role,
        }
    }

    #[test]
    fn appends_reads_and_finds_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        log.append(
            &[
                rec(Kind::Intent, "u1", None, Some(Role::Admin)),
                rec(Kind::Intent, "u2", None, Some(Role::Member)),
            ],
            true,
        )
        .unwrap();
        log.append(
            &[rec(
                Kind::Result,
                "u1",
                Some(Status::Removed),
                Some(Role::Admin),
            )],
            false,
        )
        .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"ts\":\"torn")
            .unwrap();
        let (records, bad) = read(&path).unwrap();
        assert_eq!((records.len(), bad), (3, 1));
        let open = unfinished(&records);
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].user.as_str(), "u2");
        let roles = removed_roles(&records, "p", "sandbox", &"r1".into());
        assert_eq!(roles.get(&UserId::from("u1")), Some(&Role::Admin));
        assert!(removed_roles(&records, "other", "sandbox", &"r1".into()).is_empty());
        assert!(removed_roles(&records, "p", "agora", &"r1".into()).is_empty());
        assert!(now_rfc3339().ends_with('Z'));
    }
}
