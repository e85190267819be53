//! One line of the log as it is on disk, and the join that turns a result
//! line back into a whole [`Record`].
//!
//! An intent names everything: time, batch, room, user, action, the role
//! before the change, the moderator's reason and ticket, operator, profile
//! and provider. A result names what it must to be read alone (time,
//! batch, room, user, action, status) plus the provider's reason when
//! there is one; the rest is its intent's, found by (batch, room, user,
//! action). Empty fields are left out. Lines written before this format
//! (every field on every line, nulls included) read the same way.

use super::{Kind, Record};
use crate::model::{Action, Role, Status};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

#[derive(Serialize, Deserialize)]
pub(super) struct Line<'a> {
    #[serde(borrow)]
    pub ts: Cow<'a, str>,
    pub kind: Kind,
    #[serde(borrow)]
    pub batch: Cow<'a, str>,
    #[serde(borrow)]
    pub room: Cow<'a, str>,
    #[serde(borrow)]
    pub user: Cow<'a, str>,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Cow<'a, str>>,
}

fn some(s: &str) -> Option<Cow<'_, str>> {
    (!s.is_empty()).then_some(Cow::Borrowed(s))
}

impl<'a> Line<'a> {
    /// The compact form of `r`: a result leaves out what its intent says.
    pub fn of(r: &'a Record) -> Self {
        let intent = r.kind == Kind::Intent;
        let only_intent = |s: &'a str| if intent { some(s) } else { None };
        Self {
            ts: Cow::Borrowed(&r.ts),
            kind: r.kind,
            batch: Cow::Borrowed(&r.batch),
            room: Cow::Borrowed(r.room.as_str()),
            user: Cow::Borrowed(r.user.as_str()),
            action: r.action,
            status: r.status,
            role: if intent { r.role } else { None },
            reason: r.reason.as_deref().and_then(some),
            ticket: r.ticket.as_deref().and_then(only_intent),
            operator: only_intent(&r.operator),
            profile: only_intent(&r.profile),
            provider: only_intent(&r.provider),
        }
    }

    /// Parses one line (without its newline); `None` if it is not a record.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// The key that ties a result to its intent, into `buf`.
    pub fn key_into(&self, buf: &mut String) {
        buf.clear();
        push_key(buf, &self.batch, &self.room, &self.user, self.action);
    }

    /// Whether this line lacks what its intent would give it.
    pub fn needs_intent(&self) -> bool {
        self.kind == Kind::Result && self.profile.is_none()
    }

    pub fn into_record(self) -> Record {
        let own = |c: Option<Cow<'_, str>>| c.map(Cow::into_owned);
        Record {
            ts: self.ts.into_owned(),
            kind: self.kind,
            operator: own(self.operator).unwrap_or_default(),
            profile: own(self.profile).unwrap_or_default(),
            provider: own(self.provider).unwrap_or_default(),
            room: self.room.as_ref().into(),
            user: self.user.as_ref().into(),
            action: self.action,
            status: self.status,
            reason: own(self.reason),
            ticket: own(self.ticket),
            batch: self.batch.into_owned(),
            role: self.role,
        }
    }
}

/// Whether a result finishes its intent: one whose answer was lost and
/// that may have changed the provider anyway leaves it open for `resume`.
pub(super) fn closes(status: Option<Status>, reason: Option<&str>) -> bool {
    !status.is_some_and(|s| crate::ops::may_have_acted(s, reason))
}

/// (batch, room, user, action) as one string.
pub(super) fn push_key(k: &mut String, batch: &str, room: &str, user: &str, action: Action) {
    for part in [batch, room, user, action.as_str()] {
        k.push_str(part);
        k.push('\u{1f}');
    }
}

pub(super) fn record_key(r: &Record) -> String {
    let mut k = String::new();
    push_key(&mut k, &r.batch, r.room.as_str(), r.user.as_str(), r.action);
    k
}

/// Fills a result with what its intent says (the intent's reason stands
/// in when the provider gave none).
pub(super) fn join(result: &mut Record, intent: &Record) {
    let fill = |mine: &mut String, theirs: &str| {
        if mine.is_empty() {
            *mine = theirs.to_string();
        }
    };
    fill(&mut result.operator, &intent.operator);
    fill(&mut result.profile, &intent.profile);
    fill(&mut result.provider, &intent.provider);
    if result.ticket.is_none() {
        result.ticket = intent.ticket.clone();
    }
    if result.reason.is_none() {
        result.reason = intent.reason.clone();
    }
    // A user found already gone had no role there: it stays unknown.
    if result.role.is_none() && result.status != Some(crate::model::Status::AlreadyAbsent) {
        result.role = intent.role;
    }
}

/// Serializes records as compact lines, each ending in a newline.
pub(super) fn write_lines(records: &[Record], buf: &mut Vec<u8>) -> std::io::Result<()> {
    for r in records {
        serde_json::to_writer(&mut *buf, &Line::of(r)).map_err(std::io::Error::other)?;
        buf.push(b'\n');
    }
    Ok(())
}
