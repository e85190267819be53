//! What the adapter knows without a listing: the configured and seen
//! chats, each chat's owner and size (from `getChat`), the members seen
//! (looked up, or in `chatMember` events), and the changes whose answer
//! was lost (to be resolved by asking before anything is sent again).

use super::wire::{ChatMember, ChatMemberFrame};
use crate::model::{Action, Member, MemberEvent, Role, RoomId, UserId};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use tokio::sync::broadcast;

#[derive(Default)]
pub(super) struct Known {
    /// The profile's `chats`, then chats seen, in the order first met.
    rooms: Vec<RoomId>,
    owners: HashMap<RoomId, UserId>,
    sizes: HashMap<RoomId, u64>,
    members: HashMap<RoomId, BTreeMap<UserId, Member>>,
    pending: HashSet<(RoomId, UserId, Action)>,
}

/// The known state and the event stream, shared with the socket reader.
pub(super) struct Shared {
    known: Mutex<Known>,
    pub events: broadcast::Sender<MemberEvent>,
}

/// Whether a `status` means the user is in the chat (`Active`); the docs
/// write statuses in both cases.
pub(super) fn is_active(status: Option<&str>) -> bool {
    status.is_none_or(|s| s.eq_ignore_ascii_case("active"))
}

/// The role a `chatMember` shows: the chat's `owner_id` is the owner;
/// `type` is `Admin` or `Member` [doc] (an `Owner` value is accepted if a
/// server ever sends one [inf]).
pub(super) fn role_of(kind: Option<&str>, user: &UserId, owner: Option<&UserId>) -> Role {
    let kind = kind.unwrap_or("").to_ascii_lowercase();
    if owner == Some(user) || kind.contains("owner") {
        Role::Owner
    } else if kind.contains("admin") {
        Role::Admin
    } else {
        Role::Member
    }
}

impl Shared {
    pub fn new(configured: Vec<RoomId>) -> Self {
        Self {
            known: Mutex::new(Known {
                rooms: configured,
                ..Known::default()
            }),
            events: broadcast::channel(1024).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn rooms(&self) -> Vec<RoomId> {
        self.lock().rooms.clone()
    }

    pub fn see_room(&self, room: &RoomId) {
        let mut k = self.lock();
        if !k.rooms.contains(room) {
            k.rooms.push(room.clone());
        }
    }

    pub fn set_chat(&self, room: &RoomId, owner: Option<UserId>, size: Option<u64>) {
        let mut k = self.lock();
        match owner {
            Some(o) => k.owners.insert(room.clone(), o),
            None => k.owners.remove(room),
        };
        if let Some(n) = size {
            k.sizes.insert(room.clone(), n);
        }
    }

    /// The chat's owner, if `getChat` was read: `None` = not read yet.
    pub fn owner(&self, room: &RoomId) -> Option<Option<UserId>> {
        let k = self.lock();
        if k.owners.contains_key(room) || k.sizes.contains_key(room) {
            Some(k.owners.get(room).cloned())
        } else {
            None
        }
    }

    pub fn size(&self, room: &RoomId) -> Option<u64> {
        self.lock().sizes.get(room).copied()
    }

    pub fn present(&self, room: &RoomId, member: Member) {
        self.lock()
            .members
            .entry(room.clone())
            .or_default()
            .insert(member.user.clone(), member);
    }

    pub fn gone(&self, room: &RoomId, user: &UserId) {
        if let Some(m) = self.lock().members.get_mut(room) {
            m.remove(user);
        }
    }

    /// Members seen in this chat (looked up or in events), by id.
    pub fn members(&self, room: &RoomId) -> Vec<Member> {
        self.lock()
            .members
            .get(room)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn set_pending(&self, room: &RoomId, user: &UserId, action: Action) {
        self.lock()
            .pending
            .insert((room.clone(), user.clone(), action));
    }

    /// Takes the mark of a change whose answer was lost.
    pub fn take_pending(&self, room: &RoomId, user: &UserId, action: Action) -> bool {
        self.lock()
            .pending
            .remove(&(room.clone(), user.clone(), action))
    }

    /// A `chatMember` object as a member of its chat (`None` if not active).
    pub fn member_of(&self, room: &RoomId, m: &ChatMember) -> Option<Member> {
        if !is_active(m.status.as_deref()) {
            return None;
        }
        let user = UserId::from(m.user.id.0.as_str());
        let owner = self.owner(room).flatten();
        let role = role_of(m.kind.as_deref(), &user, owner.as_ref());
        Some(Member::new(user, m.user.name.as_deref(), role))
    }

    /// The socket came back after a drop: every known chat may have missed
    /// joins and leaves in between; subscribers are told.
    pub fn missed(&self) {
        let rooms = self.lock().rooms.clone();
        for room in rooms {
            let _ = self.events.send(MemberEvent::Missed { room });
        }
    }

    /// An unsolicited `chatMember` frame: a join or a leave [sdk javadoc].
    /// The chat counts as seen; the member is remembered or forgotten; the
    /// event goes to every subscriber.
    pub fn on_frame(&self, text: &str) {
        let Ok(frame) = serde_json::from_str::<ChatMemberFrame>(text) else {
            tracing::debug!("nandbox: an unreadable chatMember frame ignored");
            return;
        };
        let m = frame.chat_member;
        let Some(chat) = m.chat.as_ref() else {
            return;
        };
        let room = RoomId::from(chat.id.0.as_str());
        self.see_room(&room);
        let event = match self.member_of(&room, &m) {
            Some(member) => {
                self.present(&room, member.clone());
                MemberEvent::Joined { room, member }
            }
            None => {
                let user = UserId::from(m.user.id.0.as_str());
                self.gone(&room, &user);
                MemberEvent::Left { room, user }
            }
        };
        tracing::debug!("nandbox: membership event in {}", event.room());
        let _ = self.events.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_statuses() {
        let u = UserId::from("1");
        assert_eq!(role_of(Some("Admin"), &u, None), Role::Admin);
        assert_eq!(role_of(Some("Member"), &u, Some(&u)), Role::Owner);
        assert_eq!(role_of(None, &u, None), Role::Member);
        assert!(is_active(Some("ACTIVE")));
        assert!(!is_active(Some("Left")));
    }

    #[test]
    fn events_become_member_events() {
        let s = Shared::new(vec![]);
        let mut rx = s.events.subscribe();
        s.on_frame(
            r#"{"method":"chatMember","chatMember":{"user":{"id":"7","name":"N"},"chat":{"id":"9"},"type":"Member","status":"Active"}}"#,
        );
        let ev = rx.try_recv().unwrap();
        assert_eq!(
            ev,
            MemberEvent::Joined {
                room: "9".into(),
                member: Member::new("7", Some("N"), Role::Member)
            }
        );
        assert_eq!(s.rooms(), vec![RoomId::from("9")]);
        s.on_frame(
            r#"{"method":"chatMember","chatMember":{"user":{"id":"7"},"chat":{"id":"9"},"status":"Left"}}"#,
        );
        assert!(matches!(rx.try_recv().unwrap(), MemberEvent::Left { .. }));
        assert!(s.members(&"9".into()).is_empty());
    }
}
