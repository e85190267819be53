//! The JSON Lines audit log as an [`AuditStore`]: the embedded default.
//! Reading goes through the log's own readers in [`crate::ops::audit`].

use super::{AuditStore, Found, Query, StoreError, Target, select};
use crate::model::Role;
use crate::ops::audit::{self, AuditLog, Record};
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};

impl AuditLog {
    fn error(&self, doing: &str, e: std::io::Error) -> StoreError {
        StoreError::new(format!(
            "the audit log {} cannot be {doing}: {e}",
            self.path().display()
        ))
    }
}

#[async_trait]
impl AuditStore for AuditLog {
    fn describe(&self) -> String {
        format!("audit log {}", self.path().display())
    }

    async fn append(&self, records: &[Record], durable: bool) -> Result<(), StoreError> {
        AuditLog::append(self, records, durable).map_err(|e| self.error("written", e))
    }

    async fn sync(&self) -> Result<(), StoreError> {
        AuditLog::sync(self).map_err(|e| self.error("written", e))
    }

    async fn find(&self, query: &Query) -> Result<Found, StoreError> {
        let (records, torn) = audit::read(self.path()).map_err(|e| self.error("read", e))?;
        let mut notes = Vec::new();
        if torn > 0 {
            notes.push(format!(
                "{torn} unreadable line(s) in {} skipped (a write cut short?)",
                self.path().display()
            ));
        }
        Ok(Found {
            records: select(records, query),
            notes,
        })
    }

    async fn roles_before(
        &self,
        profile: &str,
        provider: &str,
        wanted: &HashSet<Target>,
    ) -> Result<HashMap<Target, Role>, StoreError> {
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let (records, _) = audit::read(self.path()).map_err(|e| self.error("read", e))?;
        let rooms: HashSet<_> = wanted.iter().map(|(room, _)| room.clone()).collect();
        let mut roles = HashMap::new();
        for room in rooms {
            for (user, role) in audit::removed_roles(&records, profile, provider, &room) {
                let key = (room.clone(), user);
                if wanted.contains(&key) {
                    roles.insert(key, role);
                }
            }
        }
        Ok(roles)
    }
}
