//! The audit table: intents and results appended in one statement per
//! call, read back in the order the server received them (`id`), so the
//! rows of several operators interleave as they happened.

use super::PgStore;
use crate::ops::audit::{Kind, Record};
use crate::ops::store::{AuditStore, Found, Query, Roles, StoreError, Target};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use tokio_postgres::Row;

const INSERT: &str = "
INSERT INTO audit_records (ts, kind, operator, os_user, host, profile, provider,
                           room, user_id, action, role_before, status, reason, ticket, batch)
SELECT t.ts::timestamptz, t.kind, t.operator, $14, $15, t.profile, t.provider,
       t.room, t.user_id, t.action, t.role_before, t.status, t.reason, t.ticket, t.batch
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
            $13::text[])
     WITH ORDINALITY AS t(ts, kind, operator, profile, provider, room, user_id, action,
                          role_before, status, reason, ticket, batch, n)
ORDER BY t.n";

/// The columns of a [`Record`], in the order [`record`] reads them. A
/// result without a reason of its own shows its intent's (the moderator's
/// note), as the file's readers join them.
const COLUMNS: &str = "to_char(a.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
    a.kind, a.operator, a.profile, a.provider, a.room, a.user_id, a.action, a.status,
    CASE WHEN a.kind = 'result' AND a.reason IS NULL THEN (
        SELECT i.reason FROM audit_records i
        WHERE i.kind = 'intent' AND i.batch = a.batch AND i.room = a.room
          AND i.user_id = a.user_id AND i.action = a.action AND i.id < a.id
        ORDER BY i.id DESC LIMIT 1)
    ELSE a.reason END,
    a.ticket, a.batch, a.role_before";

/// `$1` operator (or OS user), `$2` ticket, `$3` batch; NULL matches all.
const FILTERS: &str = "($1::text IS NULL OR a.operator = $1 OR a.os_user = $1)
    AND ($2::text IS NULL OR a.ticket = $2)
    AND ($3::text IS NULL OR a.batch = $3)";

/// Whether result `r` closes its intent: one that says the change "may
/// have taken effect" ([`crate::ops::MAY_HAVE_ACTED`], an answer lost)
/// leaves it open for `resume`, as the file's readers do.
const CLOSES: &str = "NOT (r.status IN ('failed', 'skipped')
          AND strpos(coalesce(r.reason, ''), 'may have taken effect') > 0)";

/// Intents without a result that closes them, each (batch, room, user,
/// action) once (its first intent).
fn unfinished() -> String {
    format!(
        "a.kind = 'intent' AND NOT EXISTS (
    SELECT 1 FROM audit_records r
    WHERE r.kind = 'result' AND r.batch = a.batch AND r.room = a.room
      AND r.user_id = a.user_id AND r.action = a.action AND {CLOSES})
  AND NOT EXISTS (
    SELECT 1 FROM audit_records e
    WHERE e.kind = 'intent' AND e.batch = a.batch AND e.room = a.room
      AND e.user_id = a.user_id AND e.action = a.action AND e.id < a.id)"
    )
}

fn word<T: serde::Serialize>(v: T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn parse<T: DeserializeOwned>(column: &str, s: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        StoreError::new(format!(
            "audit database: unknown {column} `{s}` in audit_records (written by a newer roomwarden?)"
        ))
    })
}

fn record(row: &Row) -> Result<Record, StoreError> {
    let kind: String = row.get(1);
    let action: String = row.get(7);
    let status: Option<String> = row.get(8);
    let role: Option<String> = row.get(12);
    Ok(Record {
        ts: row.get(0),
        kind: parse::<Kind>("kind", &kind)?,
        operator: row.get(2),
        profile: row.get(3),
        provider: row.get(4),
        room: row.get::<_, String>(5).into(),
        user: row.get::<_, String>(6).into(),
        action: parse("action", &action)?,
        status: status.map(|s| parse("status", &s)).transpose()?,
        reason: row.get(9),
        ticket: row.get(10),
        batch: row.get(11),
        role: role.map(|r| parse("role", &r)).transpose()?,
    })
}

#[async_trait]
impl AuditStore for PgStore {
    fn describe(&self) -> String {
        format!("audit database {}", self.describe)
    }

    /// One statement, committed (and flushed, with the server's default
    /// `synchronous_commit`) before it returns, whatever `durable` says.
    async fn append(&self, records: &[Record], _durable: bool) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let col = |f: &dyn Fn(&Record) -> Option<String>| -> Vec<Option<String>> {
            records.iter().map(f).collect()
        };
        let ts = col(&|r| Some(r.ts.clone()));
        let kind = col(&|r| Some(word(r.kind)));
        let operator = col(&|r| Some(r.operator.clone()));
        let profile = col(&|r| Some(r.profile.clone()));
        let provider = col(&|r| Some(r.provider.clone()));
        let room = col(&|r| Some(r.room.to_string()));
        let user = col(&|r| Some(r.user.to_string()));
        let action = col(&|r| Some(r.action.as_str().to_string()));
        let role = col(&|r| r.role.map(|x| x.as_str().to_string()));
        let status = col(&|r| r.status.map(|x| x.as_str().to_string()));
        let reason = col(&|r| r.reason.clone());
        let ticket = col(&|r| r.ticket.clone());
        let batch = col(&|r| Some(r.batch.clone()));
        let client = self.client().await?;
        client
            .execute(
                INSERT,
                &[
                    &ts,
                    &kind,
                    &operator,
                    &profile,
                    &provider,
                    &room,
                    &user,
                    &action,
                    &role,
                    &status,
                    &reason,
                    &ticket,
                    &batch,
                    &self.origin.os_user,
                    &self.origin.host,
                ],
            )
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    async fn find(&self, query: &Query) -> Result<Found, StoreError> {
        let unfinished = if query.unfinished {
            format!("AND {}", unfinished())
        } else {
            String::new()
        };
        let last = query.last.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_records a WHERE {FILTERS} {unfinished}
             ORDER BY a.id DESC LIMIT $4"
        );
        let client = self.client().await?;
        let rows = client
            .query(&sql, &[&query.operator, &query.ticket, &query.batch, &last])
            .await
            .map_err(|e| self.error(e))?;
        let mut records = rows.iter().map(record).collect::<Result<Vec<_>, _>>()?;
        records.reverse();
        Ok(Found {
            records,
            notes: Vec::new(),
        })
    }

    async fn roles_before(
        &self,
        profile: &str,
        provider: &str,
        wanted: &HashSet<Target>,
    ) -> Result<Roles, StoreError> {
        if wanted.is_empty() {
            return Ok(Default::default());
        }
        let rooms: Vec<String> = wanted.iter().map(|(r, _)| r.to_string()).collect();
        let users: Vec<String> = wanted.iter().map(|(_, u)| u.to_string()).collect();
        // The newest removal or demote of this profile recorded done,
        // possibly done (an answer lost), or never answered (an intent
        // alone: the process died with the call in flight), as the file's
        // `audit::roles_before` reads it; re-adds say nothing.
        let sql = "SELECT DISTINCT ON (a.room, a.user_id) a.room, a.user_id, a.role_before
             FROM audit_records a
             JOIN UNNEST($3::text[], $4::text[]) AS w(room, user_id)
               ON a.room = w.room AND a.user_id = w.user_id
             WHERE a.profile = $1 AND a.provider = $2 AND a.role_before IS NOT NULL
               AND a.action IN ('remove', 'demote')
               AND ((a.kind = 'result'
                     AND ((a.action = 'remove' AND a.status = 'removed')
                       OR (a.action = 'demote' AND a.status = 'demoted')
                       OR (a.status IN ('failed', 'skipped')
                           AND strpos(coalesce(a.reason, ''), 'may have taken effect') > 0)))
                 OR (a.kind = 'intent' AND NOT EXISTS (
                       SELECT 1 FROM audit_records r
                       WHERE r.kind = 'result' AND r.batch = a.batch AND r.room = a.room
                         AND r.user_id = a.user_id AND r.action = a.action AND r.id > a.id)))
             ORDER BY a.room, a.user_id, a.id DESC";
        let client = self.client().await?;
        let rows = client
            .query(sql, &[&profile, &provider, &rooms, &users])
            .await
            .map_err(|e| self.error(e))?;
        let mut roles = HashMap::new();
        for row in rows {
            let role: String = row.get(2);
            roles.insert(
                (
                    row.get::<_, String>(0).into(),
                    row.get::<_, String>(1).into(),
                ),
                parse("role", &role)?,
            );
        }
        Ok((roles, Vec::new()))
    }

    async fn history(&self, wanted: &HashSet<Target>) -> Result<Found, StoreError> {
        if wanted.is_empty() {
            return Ok(Found::default());
        }
        let rooms: Vec<String> = wanted.iter().map(|(r, _)| r.to_string()).collect();
        let users: Vec<String> = wanted.iter().map(|(_, u)| u.to_string()).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_records a
             JOIN UNNEST($1::text[], $2::text[]) AS w(room, user_id)
               ON a.room = w.room AND a.user_id = w.user_id
             ORDER BY a.id"
        );
        let client = self.client().await?;
        let rows = client
            .query(&sql, &[&rooms, &users])
            .await
            .map_err(|e| self.error(e))?;
        Ok(Found {
            records: rows.iter().map(record).collect::<Result<_, _>>()?,
            notes: Vec::new(),
        })
    }

    fn postgres(&self) -> Option<&PgStore> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sql_knows_the_words_of_a_change_that_may_have_happened() {
        let words = format!("'{}'", crate::ops::MAY_HAVE_ACTED);
        assert!(super::CLOSES.contains(&words));
    }
}
