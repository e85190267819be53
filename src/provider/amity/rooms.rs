//! Surface `rooms`: live-stream rooms (seed 003).
//!
//! - Rooms: `GET /api/v1/rooms` (`options[limit]`, `options[token]`); one
//!   room: `GET /api/v1/rooms/{id}`. A room is deactivated when deleted,
//!   ended or recorded.
//! - People: the room's `createdBy` and `participants`, whole (no paging).
//!   Participants are only the host and co-hosts [V]: `host` (or the
//!   creator) reads as owner, every other participant as admin, whether
//!   its type says `coHost` (live docs) or `user` (spec); names joined from
//!   `users[]`. Viewers and chatters are not participants: a live room has
//!   no plain members (its chat is the channel `liveChannelId`).
//! - Remove: `DELETE /api/v1/rooms/{id}/participants`
//!   `{"participantUserId": "..."}`, one user per call. The host is never
//!   removed (the plan skips owners: `can_remove_owner = false`).
//! - No demote and no re-add: a co-host comes back only by accepting an
//!   invitation from the host.

use super::errors;
use super::wire::{LiveRoom, Paging, ParticipantBody, Rooms, User};
use super::{Amity, NAME, PAGE_LIMIT, paging_query};
use crate::model::{
    Action, Demotion, Member, Outcome, Page, PageRequest, PageToken, Restore, Role, Room, RoomId,
    Status, UserId,
};
use crate::provider::http;
use crate::provider::{ErrorKind, ProviderError, Roster};
use reqwest::Method;
use std::collections::HashMap;
use std::sync::Arc;

/// Why a live room has no demote.
pub(super) const NO_DEMOTE: &str =
    "live-stream rooms have no demote: a co-host can only be removed";
/// Why a live room has no re-add.
pub(super) const NO_READD: &str = "live-stream rooms have no re-add: a co-host comes back only by accepting the host's invitation";

/// A participant type as a console role. A room's participants are only
/// its host and co-hosts [V], and the co-host type is spelt `coHost` (live
/// docs) or `user` (spec) [V]: the host (`host` [I]) is the owner, every
/// other participant, whatever its type, a co-host (admin).
fn role_of_type(kind: Option<&str>) -> Role {
    let k: String = kind
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match k.as_str() {
        "host" | "owner" => Role::Owner,
        _ => Role::Admin,
    }
}

/// The room's people: the creator and the host first, then the
/// participants in order; one entry per user, with the highest role seen.
pub(super) fn people(room: &LiveRoom, users: &[User]) -> Vec<Member> {
    let names: HashMap<&str, Arc<str>> = users
        .iter()
        .filter_map(|u| {
            let n = u.display_name.as_deref().filter(|n| !n.trim().is_empty())?;
            Some((u.user_id.as_str(), Arc::from(n)))
        })
        .collect();
    let mut out: Vec<Member> = Vec::with_capacity(room.participants.len() + 1);
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut add = |user: &str, role: Role| {
        if user.is_empty() {
            return;
        }
        match at.get(user) {
            Some(&i) => out[i].role = out[i].role.min(role),
            None => {
                at.insert(user.to_string(), out.len());
                out.push(Member {
                    user: UserId::from(user),
                    name: names.get(user).cloned(),
                    role,
                });
            }
        }
    };
    if let Some(creator) = room.created_by.as_deref() {
        add(creator, Role::Owner);
    }
    for p in &room.participants {
        add(&p.user_id, role_of_type(p.kind.as_deref()));
    }
    // Owners first (ops and the faces expect staff at the top).
    out.sort_by_key(|m| m.role);
    out
}

pub(super) fn room_of(r: &LiveRoom, count: usize) -> Room {
    let ended = r
        .status
        .as_deref()
        .is_some_and(|s| matches!(s.to_ascii_lowercase().as_str(), "ended" | "recorded"));
    Room {
        id: RoomId::from(r.room_id.as_str()),
        name: r
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| r.room_id.clone()),
        member_count: Some(count as u64),
        active: !r.is_deleted.unwrap_or(false) && !ended,
    }
}

/// Rows for a demote request: live rooms have none.
pub(super) fn no_demote(room: &RoomId, users: &[Demotion]) -> Vec<Outcome> {
    users
        .iter()
        .map(|d| {
            Outcome::new(room, &d.user, Action::Demote, Status::Skipped)
                .with_reason(NO_DEMOTE)
                .with_role(Some(d.role))
        })
        .collect()
}

/// Rows for a re-add request: live rooms have none.
pub(super) fn no_readd(room: &RoomId, users: &[Restore]) -> Vec<Outcome> {
    users
        .iter()
        .map(|r| Outcome::new(room, &r.user, Action::Readd, Status::Skipped).with_reason(NO_READD))
        .collect()
}

impl Amity {
    pub(super) async fn live_room_list(
        &self,
        page: PageRequest,
    ) -> Result<Page<Room>, ProviderError> {
        const OP: &str = "GET /api/v1/rooms";
        let path = http::path(NAME, OP, &["api", "v1", "rooms"])?;
        let query = paging_query(&page, PAGE_LIMIT);
        let answer: Rooms = self
            .call::<_, ()>(Method::GET, OP, &path, &query, None)
            .await?;
        let items = answer
            .rooms
            .iter()
            .map(|r| room_of(r, people(r, &[]).len()))
            .collect();
        Ok(Page {
            items,
            next: Paging::next(answer.paging).map(PageToken),
            total: None,
        })
    }

    /// One room and its people.
    pub(super) async fn live_room(
        &self,
        room: &RoomId,
    ) -> Result<(Room, Vec<Member>), ProviderError> {
        let op = format!("GET /api/v1/rooms/{room}");
        let path = http::path(NAME, &op, &["api", "v1", "rooms", room.as_str()])?;
        let answer: Rooms = self
            .call::<_, ()>(Method::GET, &op, &path, &[], None)
            .await?;
        let r = answer
            .rooms
            .iter()
            .find(|r| r.room_id == room.as_str())
            .ok_or_else(|| {
                ProviderError::new(
                    NAME,
                    op.clone(),
                    ErrorKind::NotFound,
                    format!("room {room} is not in the answer"),
                )
                .with_code(errors::NOT_FOUND)
            })?;
        let all = people(r, &answer.users);
        Ok((room_of(r, all.len()), all))
    }

    /// The room, its host and co-hosts, and (the same read) everyone in
    /// it: a target who is not a participant ends `already_absent` unsent.
    pub(super) async fn live_room_roster(&self, room: &RoomId) -> Result<Roster, ProviderError> {
        let (detail, all) = self.live_room(room).await?;
        Ok(Roster {
            room: detail,
            members: Some(all.iter().map(|m| m.user.clone()).collect()),
            staff: all.into_iter().filter(|m| m.role.is_staff()).collect(),
        })
    }

    pub(super) async fn live_room_and_staff(
        &self,
        room: &RoomId,
    ) -> Result<(Room, Vec<Member>), ProviderError> {
        let (detail, all) = self.live_room(room).await?;
        Ok((
            detail,
            all.into_iter().filter(|m| m.role.is_staff()).collect(),
        ))
    }

    /// One `DELETE …/participants` per user. A 404 about the user means
    /// they were not a participant; other refusals fail the row with the
    /// provider's message. An error that ends the call is returned when
    /// nothing was removed yet, else the users not sent get `failed` rows.
    pub(super) async fn live_room_remove(
        &self,
        room: &RoomId,
        users: &[UserId],
    ) -> Result<Vec<Outcome>, ProviderError> {
        let op = format!("DELETE /api/v1/rooms/{room}/participants");
        let path = http::path(
            NAME,
            &op,
            &["api", "v1", "rooms", room.as_str(), "participants"],
        )?;
        let mut done = Vec::with_capacity(users.len());
        for (i, user) in users.iter().enumerate() {
            let row = |status| Outcome::new(room, user, Action::Remove, status);
            let body = ParticipantBody {
                participant_user_id: user.as_str(),
            };
            match self
                .call::<Rooms, _>(Method::DELETE, &op, &path, &[], Some(&body))
                .await
            {
                Ok(answer) => {
                    let still = answer
                        .rooms
                        .iter()
                        .find(|r| r.room_id == room.as_str())
                        .is_some_and(|r| r.participants.iter().any(|p| p.user_id == user.as_str()));
                    done.push(if still {
                        row(Status::Failed).with_reason("still a participant after the call")
                    } else {
                        row(Status::Removed)
                    });
                }
                Err(e) if errors::is_user_not_found(&e) => done.push(
                    row(Status::AlreadyAbsent)
                        .with_reason(format!("not a participant: {}", e.message)),
                ),
                Err(e) if matches!(e.kind, ErrorKind::BadRequest | ErrorKind::Forbidden) => {
                    let status = if e.message.to_ascii_lowercase().contains("host") {
                        Status::Skipped
                    } else {
                        Status::Failed
                    };
                    done.push(row(status).with_reason(e.message.clone()));
                }
                Err(e) if !done.iter().any(|o: &Outcome| o.status == Status::Removed) => {
                    return Err(e);
                }
                Err(e) => {
                    let reason = format!("not sent: {}", e.reason());
                    done.extend(users[i..].iter().map(|u| {
                        Outcome::new(room, u, Action::Remove, Status::Failed)
                            .with_reason(reason.clone())
                    }));
                    break;
                }
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(json: &str) -> (LiveRoom, Vec<User>) {
        let r: Rooms = serde_json::from_str(json).unwrap();
        let mut rooms = r.rooms;
        (rooms.remove(0), r.users)
    }

    #[test]
    fn the_host_is_the_owner_and_every_other_participant_a_co_host() {
        let (r, users) = room(
            r#"{"rooms":[{"roomId":"r-1","status":"live","title":"Launch","createdBy":"alice",
                "participants":[{"type":"coHost","userId":"bob"},{"type":"user","userId":"carol"},
                                {"type":"co_host","userId":"dave"},{"type":"host","userId":"alice"}]}],
               "users":[{"userId":"bob","displayName":"Bob"}]}"#,
        );
        let p = people(&r, &users);
        let got: Vec<(&str, Role)> = p.iter().map(|m| (m.user.as_str(), m.role)).collect();
        assert_eq!(
            got,
            [
                ("alice", Role::Owner),
                ("bob", Role::Admin),
                ("carol", Role::Admin),
                ("dave", Role::Admin)
            ]
        );
        assert_eq!(p[1].name.as_deref(), Some("Bob"));
        let detail = room_of(&r, p.len());
        assert!(detail.active);
        assert_eq!(detail.name, "Launch");
        assert_eq!(detail.member_count, Some(4));
        // A participant without a type, or one unknown, is a co-host too.
        let (other, _) = room(
            r#"{"rooms":[{"roomId":"r","participants":[{"userId":"x"},{"type":"guest","userId":"y"}]}]}"#,
        );
        assert!(people(&other, &[]).iter().all(|m| m.role == Role::Admin));
    }

    #[test]
    fn ended_recorded_and_deleted_rooms_are_deactivated() {
        for (status, deleted, active) in [
            ("ended", false, false),
            ("recorded", false, false),
            ("idle", false, true),
            ("waiting_reconnect", false, true),
            ("live", true, false),
        ] {
            let (r, _) = room(&format!(
                r#"{{"rooms":[{{"roomId":"r","status":"{status}","isDeleted":{deleted}}}]}}"#
            ));
            assert_eq!(room_of(&r, 0).active, active, "{status} {deleted}");
        }
    }
}
