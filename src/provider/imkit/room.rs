//! A whole IMKit room as the console sees it: members with roles derived
//! from the two admin mechanisms.
//!
//! Roles: `owner` (a Client object or an id string) is the owner; ids in
//! `managers[]` or with `memberProperties[].role == "admin"` are admins
//! (both mechanisms exist); everyone else is a member. Display names come
//! from `nickname`. Members keep the order of `members[]`.

use super::wire::{ListedRoom, WireRoom, id_of, text_of};
use crate::model::{Member, Role, Room, RoomId, UserId};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// One read of a room.
pub(super) struct Snapshot {
    pub room: Room,
    pub members: Vec<Member>,
    index: HashMap<UserId, usize>,
    /// The `managers` array as the server holds it (sent back, minus the
    /// demoted, on a whole-array replace).
    pub managers: Vec<String>,
    managers_set: HashSet<String>,
    /// Ids whose `memberProperties[].role` is `admin`.
    role_admins: HashSet<String>,
}

/// `status` 0 is a closed room; anything else (or nothing) is active.
/// The docs name the field (`{"status": 0|1}` on Room-Update) without
/// saying what 0 means [inf].
fn active(status: Option<&Value>) -> bool {
    match status {
        Some(Value::Number(n)) => n.as_i64() != Some(0),
        Some(Value::String(s)) => s.trim() != "0",
        Some(Value::Bool(b)) => *b,
        _ => true,
    }
}

fn name_of(name: Option<&Value>, id: &str) -> String {
    name.and_then(text_of).unwrap_or_else(|| id.to_string())
}

/// A listed room (`GET /rooms`), or `None` without an id.
pub(super) fn listed(r: ListedRoom) -> Option<Room> {
    let id = r.underscore_id.or(r.id)?;
    Some(Room {
        name: name_of(r.name.as_ref(), &id),
        member_count: r.members,
        active: active(r.status.as_ref()),
        id: RoomId::from(id),
    })
}

impl Snapshot {
    /// Derives roles; `asked` names the room when the answer does not.
    pub fn from_wire(asked: &RoomId, w: WireRoom) -> Self {
        let id = w
            .underscore_id
            .clone()
            .or_else(|| w.id.clone())
            .map(RoomId::from)
            .unwrap_or_else(|| asked.clone());
        let owner = w.owner.as_ref().and_then(id_of);
        let managers: Vec<String> = w
            .managers
            .unwrap_or_default()
            .iter()
            .filter_map(id_of)
            .collect();
        let managers_set: HashSet<String> = managers.iter().cloned().collect();
        let role_admins: HashSet<String> = w
            .member_properties
            .into_iter()
            .filter(|p| {
                p.role
                    .as_ref()
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.trim().eq_ignore_ascii_case("admin"))
            })
            .filter_map(|p| p.client)
            .collect();
        let mut members = Vec::with_capacity(w.members.len());
        let mut index = HashMap::with_capacity(w.members.len());
        for c in w.members {
            let Some(user) = c.underscore_id.or(c.id) else {
                continue;
            };
            let user = UserId::from(user);
            if index.contains_key(&user) {
                continue;
            }
            let role = if owner.as_deref() == Some(user.as_str()) {
                Role::Owner
            } else if managers_set.contains(user.as_str()) || role_admins.contains(user.as_str()) {
                Role::Admin
            } else {
                Role::Member
            };
            let name = c.nickname.filter(|n| !n.trim().is_empty());
            index.insert(user.clone(), members.len());
            members.push(Member::new(user, name.as_deref(), role));
        }
        let room = Room {
            name: name_of(w.name.as_ref(), id.as_str()),
            member_count: Some(members.len() as u64),
            active: active(w.status.as_ref()),
            id,
        };
        Self {
            room,
            members,
            index,
            managers,
            managers_set,
            role_admins,
        }
    }

    pub fn get(&self, user: &UserId) -> Option<&Member> {
        self.index.get(user).map(|&i| &self.members[i])
    }

    pub fn role(&self, user: &UserId) -> Option<Role> {
        self.get(user).map(|m| m.role)
    }

    /// In the `managers` array.
    pub fn in_managers(&self, user: &UserId) -> bool {
        self.managers_set.contains(user.as_str())
    }

    /// Holds `memberProperties[].role == "admin"`.
    pub fn has_admin_role(&self, user: &UserId) -> bool {
        self.role_admins.contains(user.as_str())
    }

    /// Owners and admins.
    pub fn staff(&self) -> Vec<Member> {
        self.members
            .iter()
            .filter(|m| m.role.is_staff())
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_admin_mechanisms_make_admins_and_the_owner_wins() {
        let w: WireRoom = serde_json::from_str(
            r#"{"_id":"demo","name":"Demo","status":1,"owner":"aaa","managers":["bbb","aaa","gone"],
               "members":[{"_id":"aaa","nickname":"AAA"},{"_id":"bbb"},{"_id":"ccc","nickname":" "},
                          {"_id":"ddd","nickname":"DDD"}],
               "memberProperties":[{"client":"ccc","role":"admin"},{"client":"ddd"}]}"#,
        )
        .unwrap();
        let s = Snapshot::from_wire(&RoomId::from("demo"), w);
        let roles: Vec<(&str, Role)> = s
            .members
            .iter()
            .map(|m| (m.user.as_str(), m.role))
            .collect();
        assert_eq!(
            roles,
            [
                ("aaa", Role::Owner),
                ("bbb", Role::Admin),
                ("ccc", Role::Admin),
                ("ddd", Role::Member)
            ]
        );
        assert_eq!(s.members[0].name.as_deref(), Some("AAA"));
        assert_eq!(s.members[2].name, None);
        assert!(s.in_managers(&UserId::from("bbb")) && !s.has_admin_role(&UserId::from("bbb")));
        assert!(s.has_admin_role(&UserId::from("ccc")) && !s.in_managers(&UserId::from("ccc")));
        assert_eq!(s.room.member_count, Some(4));
        assert!(s.room.active);
        assert_eq!(s.staff().len(), 3);
    }

    #[test]
    fn status_zero_is_a_closed_room() {
        assert!(!active(Some(&Value::from(0))));
        assert!(active(Some(&Value::from(1))));
        assert!(active(None));
    }
}
