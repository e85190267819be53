//! The JSON Lines audit log as an [`AuditStore`]: the embedded default.
//! Reading goes through the log's own streaming readers in
//! [`crate::ops::audit`] (rotated files, the index of unfinished intents,
//! unreadable lines skipped and named), on a blocking thread.

use super::{AuditStore, Found, Query, Roles, StoreError, Target};
use crate::ops::audit::{self, AuditLog, Record, Skipped};
use async_trait::async_trait;
use std::collections::{HashSet, VecDeque};
use std::io;
use std::path::{Path, PathBuf};

/// The audit log read without opening it for writing: `audit`, a dry
/// run's re-add roles. Appending is refused.
pub struct AuditFile {
    path: PathBuf,
}

impl AuditFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn error(path: &Path, doing: &str, e: io::Error) -> StoreError {
    StoreError::new(format!(
        "audit log {} cannot be {doing}: {e}",
        path.display()
    ))
}

fn notes(skipped: &[Skipped]) -> Vec<String> {
    skipped.iter().map(ToString::to_string).collect()
}

/// Records by `query` from the log at `path`, oldest first: unfinished
/// intents through the index, the last N read from the end, the rest
/// streamed and filtered (only the last N kept).
pub fn find_in(path: &Path, query: &Query) -> io::Result<Found> {
    let (mut records, skipped) = if query.unfinished {
        let (open, skipped) = audit::open_intents(path)?;
        (
            open.into_iter().filter(|r| query.matches(r)).collect(),
            skipped,
        )
    } else if let (Some(n), false) = (query.last, query.filtered()) {
        audit::last(path, n)?
    } else {
        let mut all = audit::records(path)?;
        let mut kept: VecDeque<Record> = VecDeque::new();
        for r in all.by_ref() {
            let r = r?;
            if !query.matches(&r) {
                continue;
            }
            if query.last.is_some_and(|n| kept.len() >= n) {
                kept.pop_front();
            }
            if query.last != Some(0) {
                kept.push_back(r);
            }
        }
        (kept.into(), all.skipped().to_vec())
    };
    if let Some(n) = query.last {
        let extra = records.len().saturating_sub(n);
        records.drain(..extra);
    }
    Ok(Found {
        records,
        notes: notes(&skipped),
    })
}

async fn find_blocking(path: &Path, query: &Query) -> Result<Found, StoreError> {
    let (p, q) = (path.to_path_buf(), query.clone());
    tokio::task::spawn_blocking(move || find_in(&p, &q))
        .await
        .map_err(|e| StoreError::new(format!("reading the audit log: {e}")))?
        .map_err(|e| error(path, "read", e))
}

async fn history_blocking(path: &Path, wanted: &HashSet<Target>) -> Result<Found, StoreError> {
    if wanted.is_empty() {
        return Ok(Found::default());
    }
    let (p, wanted) = (path.to_path_buf(), wanted.clone());
    let (records, skipped) = tokio::task::spawn_blocking(move || audit::history(&p, &wanted))
        .await
        .map_err(|e| StoreError::new(format!("reading the audit log: {e}")))?
        .map_err(|e| error(path, "read", e))?;
    Ok(Found {
        records,
        notes: notes(&skipped),
    })
}

async fn roles_blocking(
    path: &Path,
    profile: &str,
    provider: &str,
    wanted: &HashSet<Target>,
) -> Result<Roles, StoreError> {
    if wanted.is_empty() {
        return Ok(Default::default());
    }
    let (p, profile, provider, wanted) = (
        path.to_path_buf(),
        profile.to_string(),
        provider.to_string(),
        wanted.clone(),
    );
    let (roles, skipped) =
        tokio::task::spawn_blocking(move || audit::roles_before(&p, &profile, &provider, &wanted))
            .await
            .map_err(|e| StoreError::new(format!("reading the audit log: {e}")))?
            .map_err(|e| error(path, "read", e))?;
    Ok((roles, notes(&skipped)))
}

#[async_trait]
impl AuditStore for AuditLog {
    fn describe(&self) -> String {
        format!("audit log {}", self.path().display())
    }

    async fn append(&self, records: &[Record], durable: bool) -> Result<(), StoreError> {
        AuditLog::append(self, records, durable).map_err(|e| error(self.path(), "written", e))
    }

    async fn sync(&self) -> Result<(), StoreError> {
        AuditLog::sync(self).map_err(|e| error(self.path(), "written", e))
    }

    async fn find(&self, query: &Query) -> Result<Found, StoreError> {
        find_blocking(self.path(), query).await
    }

    async fn roles_before(
        &self,
        profile: &str,
        provider: &str,
        wanted: &HashSet<Target>,
    ) -> Result<Roles, StoreError> {
        roles_blocking(self.path(), profile, provider, wanted).await
    }

    async fn history(&self, wanted: &HashSet<Target>) -> Result<Found, StoreError> {
        history_blocking(self.path(), wanted).await
    }

    fn file(&self) -> Option<&Path> {
        Some(self.path())
    }
}

#[async_trait]
impl AuditStore for AuditFile {
    fn describe(&self) -> String {
        format!("audit log {}", self.path.display())
    }

    async fn append(&self, _records: &[Record], _durable: bool) -> Result<(), StoreError> {
        Err(StoreError::new(format!(
            "audit log {} was opened for reading only",
            self.path.display()
        )))
    }

    async fn find(&self, query: &Query) -> Result<Found, StoreError> {
        find_blocking(&self.path, query).await
    }

    async fn roles_before(
        &self,
        profile: &str,
        provider: &str,
        wanted: &HashSet<Target>,
    ) -> Result<Roles, StoreError> {
        roles_blocking(&self.path, profile, provider, wanted).await
    }

    async fn history(&self, wanted: &HashSet<Target>) -> Result<Found, StoreError> {
        history_blocking(&self.path, wanted).await
    }

    fn file(&self) -> Option<&Path> {
        Some(&self.path)
    }
}
