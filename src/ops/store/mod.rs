//! Where audit records go: the one interface `ops` writes intents and
//! results through and the faces read them back from. Two stores:
//!
//! - [`AuditLog`] (the JSON Lines file, [`super::audit`]: rotated, indexed,
//!   read by streaming), the embedded default of one person on one
//!   machine; [`AuditFile`] reads the same file without opening it for
//!   writing (`audit`, dry runs);
//! - [`pg::PgStore`], PostgreSQL shared by a team (`audit_url`), which also
//!   holds the shared ticket queue ([`super::queue`]).
//!
//! Both append intents before a call is sent and results after it, and
//! both answer the same questions: recent records, unfinished intents,
//! filtered by operator, ticket and batch, and the role a user had before
//! a removal (for undo).

mod file;
pub mod pg;

pub use super::audit::AuditLog;
pub use file::AuditFile;

use super::audit::Record;
use crate::model::{Role, RoomId, UserId};
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// An audit store that cannot be used; the message names the store and
/// never carries a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    pub message: String,
    /// The store cannot be reached at all (as opposed to one bad request).
    pub unavailable: bool,
}

impl StoreError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: false,
        }
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: true,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

/// Which records to read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Only the last N (after the filters).
    pub last: Option<usize>,
    /// Only intents that never got a result.
    pub unfinished: bool,
    /// Only this operator's records (the `operator` name or the OS user).
    pub operator: Option<String>,
    pub ticket: Option<String>,
    pub batch: Option<String>,
}

impl Query {
    /// Whether a record passes the operator, ticket and batch filters.
    pub fn matches(&self, r: &Record) -> bool {
        self.operator.as_ref().is_none_or(|o| &r.operator == o)
            && self
                .ticket
                .as_ref()
                .is_none_or(|t| r.ticket.as_ref() == Some(t))
            && self.batch.as_ref().is_none_or(|b| &r.batch == b)
    }

    /// Whether any of the operator, ticket and batch filters is set.
    pub fn filtered(&self) -> bool {
        self.operator.is_some() || self.ticket.is_some() || self.batch.is_some()
    }
}

/// Records read back, oldest first, with anything the reader had to skip.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pub records: Vec<Record>,
    /// Warnings for the operator (e.g. unreadable lines skipped).
    pub notes: Vec<String>,
}

/// A (room, user) pair, for role lookups.
pub type Target = (RoomId, UserId);

/// Roles found for undo, with warnings for the operator (unreadable
/// lines skipped).
pub type Roles = (HashMap<Target, Role>, Vec<String>);

/// An append-only audit store (see the module docs).
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// What and where it is, for messages ("audit log FILE", "audit
    /// database user@host/db"); never a password.
    fn describe(&self) -> String;

    /// Appends records in order. With `durable`, returns only once they
    /// are on disk (fsync) or committed: intents are written so, before
    /// their call is sent.
    async fn append(&self, records: &[Record], durable: bool) -> Result<(), StoreError>;

    /// Makes everything appended so far durable.
    async fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Records by `query`, oldest first.
    async fn find(&self, query: &Query) -> Result<Found, StoreError>;

    /// For undo: the role each wanted user had before `profile` on
    /// `provider` last removed or demoted them in that room (as recorded
    /// done).
    async fn roles_before(
        &self,
        profile: &str,
        provider: &str,
        wanted: &HashSet<Target>,
    ) -> Result<Roles, StoreError>;

    /// Every record about the wanted (room, user) pairs, oldest first
    /// (results joined with their intents): what `resume` reads to tell a
    /// change its crashed call made from one another call made.
    async fn history(&self, wanted: &HashSet<Target>) -> Result<Found, StoreError>;

    /// The PostgreSQL store behind this one, for the shared queue.
    fn postgres(&self) -> Option<&pg::PgStore> {
        None
    }

    /// The JSON Lines file behind this one, for readers that stream it
    /// (`audit` with no `--last` prints a log of any size).
    fn file(&self) -> Option<&Path> {
        None
    }
}

/// A batch id and its unfinished intents.
pub type Unfinished = super::audit::Unfinished;

/// The unfinished intents of `batch`, or of the latest batch with any
/// (`None` when there are none), with warnings for the operator.
pub async fn unfinished_batch(
    store: &dyn AuditStore,
    batch: Option<&str>,
) -> Result<(Option<Unfinished>, Vec<String>), StoreError> {
    let found = store
        .find(&Query {
            unfinished: true,
            batch: batch.map(str::to_string),
            ..Query::default()
        })
        .await?;
    let Some(batch) = batch
        .map(str::to_string)
        .or_else(|| found.records.last().map(|r| r.batch.clone()))
    else {
        return Ok((None, found.notes));
    };
    let rows: Vec<Record> = found
        .records
        .into_iter()
        .filter(|r| r.batch == batch)
        .collect();
    Ok(((!rows.is_empty()).then_some((batch, rows)), found.notes))
}
