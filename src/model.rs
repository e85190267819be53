//! The vocabulary every layer speaks: ids, rooms, members, roles, pages and
//! outcomes. This module imports nothing of the crate.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Arc<str>);

        impl $name {
            pub fn new(id: impl Into<Arc<str>>) -> Self {
                Self(id.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", &*self.0)
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::new(s)
            }
        }
        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self::new(s)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        // Hash and Eq are those of the str inside, so sets and maps of ids
        // can be searched with a plain &str.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A room id exactly as the provider spells it (numeric strings stay strings).
    RoomId
);
string_id!(
    /// A user id exactly as the provider spells it (17-digit ids survive untouched).
    UserId
);

/// Why a typed, pasted or read id cannot be used, if it cannot: empty,
/// `.` or `..` (they would leave their place in a URL), or holding control
/// characters (they would reach the terminal or forge rows).
pub fn id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("it is empty".into());
    }
    if id == "." || id == ".." {
        return Some("`.` and `..` would leave their place in a URL".into());
    }
    if id.chars().any(char::is_control) {
        return Some("it holds control characters".into());
    }
    None
}

/// A chat room as listed by a provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub id: RoomId,
    pub name: String,
    pub member_count: Option<u64>,
    pub active: bool,
}

/// A member's role in a room, ordered from most to least privileged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Owners and admins: the roles a demote applies to.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Member)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(format!(
                "unknown role `{other}`: expected owner, admin or member"
            )),
        }
    }
}

/// One member of a room. Ids and names are shared strings so that a
/// million-member room stays compact and clones are cheap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user: UserId,
    pub name: Option<Arc<str>>,
    pub role: Role,
}

impl Member {
    pub fn new(user: impl Into<UserId>, name: Option<&str>, role: Role) -> Self {
        Self {
            user: user.into(),
            name: name.map(Arc::from),
            role,
        }
    }
}

/// An opaque continuation token: a cursor, a page number or an offset,
/// whatever the provider pages by. Only the adapter that issued it reads it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PageToken(pub String);

/// Which page to fetch next and how big pages should be.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// `None` asks for the first page.
    pub token: Option<PageToken>,
    /// Wanted page size; adapters clamp it to what the provider accepts.
    pub size: Option<u32>,
}

impl PageRequest {
    pub fn first() -> Self {
        Self::default()
    }
    pub fn sized(size: u32) -> Self {
        Self {
            token: None,
            size: Some(size),
        }
    }
    pub fn next(&self, token: PageToken) -> Self {
        Self {
            token: Some(token),
            size: self.size,
        }
    }
}

/// One page of results and the token for the next one (`None` on the last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<PageToken>,
    /// The total across all pages, where the provider reports it.
    pub total: Option<u64>,
}

/// A change to a user's membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Remove,
    Demote,
    Readd,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Remove => "remove",
            Action::Demote => "demote",
            Action::Readd => "readd",
        }
    }
    /// The status a successful change of this kind ends in.
    pub fn done_status(self) -> Status {
        match self {
            Action::Remove => Status::Removed,
            Action::Demote => Status::Demoted,
            Action::Readd => Status::Readded,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "remove" => Ok(Action::Remove),
            "demote" => Ok(Action::Demote),
            "readd" => Ok(Action::Readd),
            other => Err(format!(
                "unknown action `{other}`: expected remove, demote or readd"
            )),
        }
    }
}

/// How one (room, user, action) row ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Removed,
    Demoted,
    Readded,
    AlreadyAbsent,
    Failed,
    Skipped,
    DryRun,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Removed => "removed",
            Status::Demoted => "demoted",
            Status::Readded => "readded",
            Status::AlreadyAbsent => "already_absent",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::DryRun => "dry_run",
        }
    }
    /// Whether the row counts as success for the exit code.
    pub fn is_ok(self) -> bool {
        !matches!(self, Status::Failed | Status::Skipped)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The final word on one (room, user, action) row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub room: RoomId,
    pub user: UserId,
    pub action: Action,
    pub status: Status,
    pub reason: Option<String>,
    /// The user's role after the row, as the provider reports it (`None`:
    /// not in the room, or not known). Faces show it and never re-derive it.
    /// Not part of the CLI's change rows (docs/CLI.md keeps them exact).
    #[serde(skip)]
    pub role: Option<Role>,
}

impl Outcome {
    pub fn new(room: &RoomId, user: &UserId, action: Action, status: Status) -> Self {
        Self {
            room: room.clone(),
            user: user.clone(),
            action,
            status,
            reason: None,
            role: None,
        }
    }
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
    /// The role the user holds after this row.
    pub fn with_role(mut self, role: Option<Role>) -> Self {
        self.role = role;
        self
    }
}

/// An owner or admin to demote one step, with the role planning found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Demotion {
    pub user: UserId,
    pub role: Role,
}

/// A change to a room's membership that a provider saw happen (its own
/// event stream), for an open members screen to apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberEvent {
    Joined {
        room: RoomId,
        member: Member,
    },
    Left {
        room: RoomId,
        user: UserId,
    },
    RoleChanged {
        room: RoomId,
        user: UserId,
        role: Role,
    },
    /// The provider's live feed dropped and came back: changes to this
    /// room in between may be missing from what was shown.
    Missed {
        room: RoomId,
    },
}

impl MemberEvent {
    pub fn room(&self) -> &RoomId {
        match self {
            MemberEvent::Joined { room, .. }
            | MemberEvent::Left { room, .. }
            | MemberEvent::RoleChanged { room, .. }
            | MemberEvent::Missed { room } => room,
        }
    }
}

/// A user to put back into a room, with the role to restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restore {
    pub user: UserId,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numeric_ids_survive_json_round_trip() {
        let id = UserId::new("90090684438172188");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"90090684438172188\"");
        let back: UserId = serde_json::from_str(&json).unwrap();
        assert_eq!(back.as_str(), "90090684438172188");
    }

    #[test]
    fn statuses_and_roles_spell_as_the_cli_contract() {
        assert_eq!(
            serde_json::to_string(&Status::AlreadyAbsent).unwrap(),
            "\"already_absent\""
        );
        assert_eq!(
            serde_json::to_string(&Status::DryRun).unwrap(),
            "\"dry_run\""
        );
        assert_eq!("Admin".parse::<Role>().unwrap(), Role::Admin);
        assert!(
            "boss"
                .parse::<Role>()
                .unwrap_err()
                .contains("owner, admin or member")
        );
        assert!(!Status::Skipped.is_ok() && Status::AlreadyAbsent.is_ok());
    }
}
