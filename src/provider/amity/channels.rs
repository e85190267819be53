//! Surface `channels`: chat channels, the moderation surface.
//!
//! - Rooms: `GET /api/v3/channels` (`options[limit]`, `options[token]`,
//!   `paging.next`); a deleted channel reads as deactivated.
//! - Members: `GET /api/v4/channels/{id}/users`; roles from
//!   `channelUsers[].roles`, display names joined from `users[]`. Staff by
//!   the same call with a role filter (`role[]` and `roles[]`), one user by
//!   its `search`.
//! - Remove / re-add: `DELETE|POST /api/v3/channels/{id}/users` with a JSON
//!   body `{"channelId","userIds"}` (as the TS SDK sends it; the DELETE
//!   also with `userIds` in the query, as the spec has it), one row per
//!   user from `channelUsers[].membership`.
//! - Demote / re-promote: `DELETE|POST /api/v3/channels/{id}/users/roles`
//!   with `role = channel-moderator` (the DELETE's `role` and `userIds` in
//!   the query as well).

use super::errors::{self, LAST_MEMBER, LAST_MODERATOR};
use super::wire::{ChannelUser, Channels, Paging, UsersBody};
use super::{Amity, MAX_IDS, NAME, PAGE_LIMIT, paging_query};
use crate::model::{
    Action, Demotion, Member, Outcome, Page, PageRequest, PageToken, Restore, Role, Room, RoomId,
    Status, UserId,
};
use crate::provider::http;
use crate::provider::{ErrorKind, ProviderError, Roster};
use reqwest::Method;
use std::collections::HashMap;
use std::sync::Arc;

/// The channel moderator role [V].
pub(super) const MODERATOR: &str = "channel-moderator";
/// The channel owner role, documented only in one use-case page [D].
pub(super) const OWNER: &str = "channel-owner";
/// Roles a staff read asks for: the owner, the channel moderator and the
/// other moderator roles of the SDKs [V], at most 20 per query [V] (each
/// spelling of the filter carries the five).
const STAFF_ROLES: &[&str] = &[
    OWNER,
    MODERATOR,
    "community-moderator",
    "moderator",
    "super-moderator",
];
/// Pages a lookup by `search` reads at most before giving up.
const SEARCH_PAGES: usize = 20;

/// A channel role list as a console role: `channel-owner` is the owner,
/// `channel-moderator` or any other moderator role an admin.
pub(super) fn role_of(roles: &[String]) -> Role {
    if roles.iter().any(|r| r.eq_ignore_ascii_case(OWNER)) {
        Role::Owner
    } else if roles
        .iter()
        .any(|r| r.to_ascii_lowercase().contains("moderator"))
    {
        Role::Admin
    } else {
        Role::Member
    }
}

/// Whether a membership entry means "in the channel".
fn is_member(cu: &ChannelUser) -> bool {
    cu.membership
        .as_deref()
        .is_none_or(|m| m.eq_ignore_ascii_case("member"))
}

/// Members of an answer, with display names joined from `users[]`.
pub(super) fn members_of(answer: Channels, room: &RoomId) -> Vec<Member> {
    let names: HashMap<String, Arc<str>> = answer
        .users
        .into_iter()
        .filter_map(|u| {
            let name = u.display_name.filter(|n| !n.trim().is_empty())?;
            Some((u.user_id, Arc::from(name)))
        })
        .collect();
    answer
        .channel_users
        .into_iter()
        .filter(|cu| cu.channel_id.as_deref().is_none_or(|c| c == room.as_str()))
        .filter(is_member)
        .map(|cu| Member {
            name: names.get(&cu.user_id).cloned(),
            role: role_of(&cu.roles),
            user: UserId::from(cu.user_id),
        })
        .collect()
}

/// The answer's entry for each user, by id.
pub(super) fn entries(answer: Channels, room: &RoomId) -> HashMap<String, ChannelUser> {
    answer
        .channel_users
        .into_iter()
        .filter(|cu| cu.channel_id.as_deref().is_none_or(|c| c == room.as_str()))
        .map(|cu| (cu.user_id.clone(), cu))
        .collect()
}

/// Which batch call a chunk goes out as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Remove,
    Demote,
    Add,
    Promote,
}

impl Call {
    fn method(self) -> Method {
        match self {
            Call::Remove | Call::Demote => Method::DELETE,
            Call::Add | Call::Promote => Method::POST,
        }
    }
    fn role(self) -> Option<&'static str> {
        match self {
            Call::Demote | Call::Promote => Some(MODERATOR),
            _ => None,
        }
    }
    fn action(self) -> Action {
        match self {
            Call::Remove => Action::Remove,
            Call::Demote => Action::Demote,
            Call::Add | Call::Promote => Action::Readd,
        }
    }
}

/// The query of a batch call. The DELETE calls carry `role` and `userIds`
/// in the query too, as the spec documents them (form/explode:
/// `userIds=a&userIds=b`) [V], besides the JSON body the TS SDK sends [V]:
/// a server reading either one acts. At most 100 ids of at most 50
/// characters, so the query stays under 6 KB.
fn query_of(call: Call, users: &[UserId]) -> Vec<(&'static str, String)> {
    if call.method() != Method::DELETE {
        return Vec::new();
    }
    call.role()
        .map(|r| ("role", r.to_string()))
        .into_iter()
        .chain(users.iter().map(|u| ("userIds", u.to_string())))
        .collect()
}

impl Amity {
    pub(super) async fn channel_list(
        &self,
        page: PageRequest,
    ) -> Result<Page<Room>, ProviderError> {
        const OP: &str = "GET /api/v3/channels";
        let path = http::path(NAME, OP, &["api", "v3", "channels"])?;
        let query = paging_query(&page, PAGE_LIMIT);
        let answer: Channels = self
            .call::<_, ()>(Method::GET, OP, &path, &query, None)
            .await?;
        let next = Paging::next(answer.paging);
        Ok(Page {
            items: answer.channels.into_iter().map(room_of).collect(),
            next: next.map(PageToken),
            total: None,
        })
    }

    pub(super) async fn channel(&self, room: &RoomId) -> Result<Room, ProviderError> {
        let op = format!("GET /api/v3/channels/{room}");
        let path = http::path(NAME, &op, &["api", "v3", "channels", room.as_str()])?;
        let answer: Channels = self
            .call::<_, ()>(Method::GET, &op, &path, &[], None)
            .await?;
        answer
            .channels
            .into_iter()
            .find(|c| c.channel_id == room.as_str())
            .map(room_of)
            .ok_or_else(|| {
                ProviderError::new(
                    NAME,
                    op,
                    ErrorKind::NotFound,
                    format!("channel {room} is not in the answer"),
                )
                .with_code(errors::NOT_FOUND)
            })
    }

    /// One page of `GET /api/v4/channels/{id}/users` with extra query.
    async fn member_page(
        &self,
        room: &RoomId,
        page: &PageRequest,
        extra: &[(&'static str, String)],
    ) -> Result<(Channels, Option<PageToken>), ProviderError> {
        let op = format!("GET /api/v4/channels/{room}/users");
        let path = http::path(
            NAME,
            &op,
            &["api", "v4", "channels", room.as_str(), "users"],
        )?;
        let mut query = paging_query(page, PAGE_LIMIT);
        query.extend(extra.iter().cloned());
        let mut answer: Channels = self
            .call::<_, ()>(Method::GET, &op, &path, &query, None)
            .await?;
        let next = Paging::next(answer.paging.take()).map(PageToken);
        Ok((answer, next))
    }

    pub(super) async fn channel_members(
        &self,
        room: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Member>, ProviderError> {
        let (answer, next) = self.member_page(room, &page, &[]).await?;
        let total = answer
            .channels
            .iter()
            .find(|c| c.channel_id == room.as_str())
            .and_then(|c| c.member_count);
        Ok(Page {
            items: members_of(answer, room),
            next,
            total,
        })
    }

    /// Every member holding a staff role, read with the role filter (sent
    /// as `role[]`, the spec's name, and as `roles[]`, the TS SDK's [V], so
    /// a server reading either filters) and checked here as well, so a
    /// server that ignores the filter still gives the right answer.
    pub(super) async fn channel_staff(&self, room: &RoomId) -> Result<Vec<Member>, ProviderError> {
        let roles: Vec<(&'static str, String)> = ["role[]", "roles[]"]
            .into_iter()
            .flat_map(|key| STAFF_ROLES.iter().map(move |r| (key, (*r).to_string())))
            .collect();
        let mut page = PageRequest::sized(PAGE_LIMIT);
        let mut staff = Vec::new();
        loop {
            let (answer, next) = self.member_page(room, &page, &roles).await?;
            staff.extend(
                members_of(answer, room)
                    .into_iter()
                    .filter(|m| m.role.is_staff()),
            );
            match next {
                Some(t) => page = page.next(t),
                None => return Ok(staff),
            }
        }
    }

    /// The channel, its staff and, for a channel of at most one page
    /// (`memberCount` ≤ 100), its whole member list: read unfiltered in the
    /// one call the staff read would cost, it lets planning end a target
    /// who is not in the channel `already_absent` without sending them (a
    /// removal answers `membership: none` alike for a removed member and,
    /// as the contract assumes, for one who never was [I]). A bigger
    /// channel, or a list longer than its count said, is read for its staff
    /// only.
    pub(super) async fn channel_roster(&self, room: &RoomId) -> Result<Roster, ProviderError> {
        let detail = self.channel(room).await?;
        if detail
            .member_count
            .is_some_and(|n| n <= u64::from(PAGE_LIMIT))
        {
            let page = PageRequest::sized(PAGE_LIMIT);
            let (answer, next) = self.member_page(room, &page, &[]).await?;
            if next.is_none() {
                let members = members_of(answer, room);
                let ids = members.iter().map(|m| m.user.clone()).collect();
                let staff = members.into_iter().filter(|m| m.role.is_staff()).collect();
                return Ok(Roster {
                    room: detail,
                    staff,
                    members: Some(ids),
                });
            }
        }
        let staff = self.channel_staff(room).await?;
        Ok(Roster {
            room: detail,
            staff,
            members: None,
        })
    }

    /// One user, found with the member list's `search` (a case-insensitive
    /// partial match on id and names [V]) and an exact id match here.
    pub(super) async fn channel_member(
        &self,
        room: &RoomId,
        user: &UserId,
    ) -> Result<Option<Member>, ProviderError> {
        let search = [("search", user.to_string())];
        // The server's search first; past SEARCH_PAGES pages of partial
        // matches without the exact one, the whole list.
        let passes: [(&[(&'static str, String)], usize); 2] =
            [(&search, SEARCH_PAGES), (&[], usize::MAX)];
        for (filter, pages) in passes {
            let mut page = PageRequest::sized(PAGE_LIMIT);
            for _ in 0..pages {
                let (answer, next) = self.member_page(room, &page, filter).await?;
                if let Some(m) = members_of(answer, room)
                    .into_iter()
                    .find(|m| &m.user == user)
                {
                    return Ok(Some(m));
                }
                match next {
                    Some(t) => page = page.next(t),
                    None => return Ok(None),
                }
            }
        }
        Ok(None)
    }

    /// One batch call; the answer's entry for each user.
    async fn batch(
        &self,
        call: Call,
        room: &RoomId,
        users: &[UserId],
    ) -> Result<HashMap<String, ChannelUser>, ProviderError> {
        let tail: &[&str] = match call {
            Call::Remove | Call::Add => &["users"],
            Call::Demote | Call::Promote => &["users", "roles"],
        };
        let op = format!(
            "{} /api/v3/channels/{room}/{}",
            call.method(),
            tail.join("/")
        );
        let mut segments = vec!["api", "v3", "channels", room.as_str()];
        segments.extend_from_slice(tail);
        let path = http::path(NAME, &op, &segments)?;
        let body = UsersBody {
            channel_id: room.as_str(),
            role: call.role(),
            user_ids: users.iter().map(UserId::as_str).collect(),
        };
        let answer: Channels = self
            .call(
                call.method(),
                &op,
                &path,
                &query_of(call, users),
                Some(&body),
            )
            .await?;
        Ok(entries(answer, room))
    }

    /// Sends `users` in chunks of at most 100. A whole-call refusal that
    /// changes nothing and names nobody (last moderator, banned, user not
    /// found) is split in halves until it falls on one user, who gets a
    /// row from `single`; the rest go through. Other errors end the call:
    /// before anything changed they are returned (so ops may retry the
    /// chunk), after that the users not yet sent get a `failed` row.
    async fn settle(
        &self,
        call: Call,
        room: &RoomId,
        users: &[UserId],
        rows: impl Fn(&UserId, Option<&ChannelUser>) -> Outcome,
        single: impl Fn(&UserId, &ProviderError) -> Outcome,
    ) -> Result<Vec<Outcome>, ProviderError> {
        let mut stack: Vec<Vec<UserId>> = users.chunks(MAX_IDS).rev().map(<[_]>::to_vec).collect();
        let mut done = Vec::with_capacity(users.len());
        let mut changed = false;
        while let Some(part) = stack.pop() {
            match self.batch(call, room, &part).await {
                Ok(mut found) => {
                    changed = true;
                    done.extend(
                        part.iter()
                            .map(|u| rows(u, found.remove(u.as_str()).as_ref())),
                    );
                }
                Err(e) if errors::is_per_user_refusal(&e) && part.len() > 1 => {
                    let (a, b) = part.split_at(part.len() / 2);
                    stack.push(b.to_vec());
                    stack.push(a.to_vec());
                }
                Err(e) if errors::is_per_user_refusal(&e) => done.push(single(&part[0], &e)),
                Err(e) if !changed => return Err(e),
                Err(e) => {
                    let reason = format!("not sent: {}", e.reason());
                    for u in part.iter().chain(stack.iter().flatten()) {
                        done.push(
                            Outcome::new(room, u, call.action(), Status::Failed)
                                .with_reason(reason.clone()),
                        );
                    }
                    stack.clear();
                }
            }
        }
        Ok(done)
    }

    pub(super) async fn channel_remove(
        &self,
        room: &RoomId,
        users: &[UserId],
    ) -> Result<Vec<Outcome>, ProviderError> {
        let row = |u: &UserId, cu: Option<&ChannelUser>| {
            let outcome = |s| Outcome::new(room, u, Action::Remove, s);
            match cu {
                // No membership record: the user was not in the channel.
                None => outcome(Status::AlreadyAbsent).with_reason("not a member of the channel"),
                Some(cu) if is_member(cu) => outcome(Status::Failed)
                    .with_reason("still a member after the call")
                    .with_role(Some(role_of(&cu.roles))),
                Some(cu) if cu.membership.as_deref() == Some("banned") => {
                    outcome(Status::AlreadyAbsent).with_reason("banned from the channel")
                }
                Some(_) => outcome(Status::Removed),
            }
        };
        let single = |u: &UserId, e: &ProviderError| {
            let status = if errors::is_user_not_found(e) {
                Status::AlreadyAbsent
            } else if errors::has_code(e, LAST_MODERATOR) || errors::has_code(e, LAST_MEMBER) {
                Status::Skipped
            } else {
                Status::Failed
            };
            Outcome::new(room, u, Action::Remove, status).with_reason(e.message.clone())
        };
        self.settle(Call::Remove, room, users, row, single).await
    }

    pub(super) async fn channel_demote(
        &self,
        room: &RoomId,
        users: &[Demotion],
    ) -> Result<Vec<Outcome>, ProviderError> {
        let mut done = Vec::new();
        let mut send = Vec::new();
        for d in users {
            match d.role {
                Role::Admin => send.push(d.user.clone()),
                Role::Owner => done.push(
                    Outcome::new(room, &d.user, Action::Demote, Status::Skipped)
                        .with_reason("channel owners cannot be demoted in place")
                        .with_role(Some(Role::Owner)),
                ),
                Role::Member => done.push(
                    Outcome::new(room, &d.user, Action::Demote, Status::Skipped)
                        .with_reason("not a moderator; nothing to demote")
                        .with_role(Some(Role::Member)),
                ),
            }
        }
        let row = |u: &UserId, cu: Option<&ChannelUser>| {
            let outcome = |s| Outcome::new(room, u, Action::Demote, s);
            match cu {
                None => outcome(Status::Skipped)
                    .with_reason("not a member of the channel; nothing to demote"),
                Some(cu) if !is_member(cu) => outcome(Status::Skipped)
                    .with_reason("not a member of the channel; nothing to demote"),
                Some(cu) if cu.roles.iter().any(|r| r == MODERATOR) => outcome(Status::Failed)
                    .with_reason("still a channel-moderator after the call")
                    .with_role(Some(role_of(&cu.roles))),
                Some(cu) => {
                    let after = role_of(&cu.roles);
                    let outcome = outcome(Status::Demoted).with_role(Some(after));
                    if after == Role::Member {
                        outcome.with_reason("channel-moderator removed")
                    } else {
                        outcome.with_reason(format!(
                            "channel-moderator removed; still holds {}",
                            cu.roles.join(", ")
                        ))
                    }
                }
            }
        };
        let single = |u: &UserId, e: &ProviderError| {
            let status = if errors::has_code(e, LAST_MODERATOR) || errors::is_user_not_found(e) {
                Status::Skipped
            } else {
                Status::Failed
            };
            Outcome::new(room, u, Action::Demote, status).with_reason(e.message.clone())
        };
        done.extend(self.settle(Call::Demote, room, &send, row, single).await?);
        Ok(done)
    }

    /// Re-adds users, then gives the moderator role back to those recorded
    /// as admins. Both calls are idempotent, so a retried chunk is harmless.
    pub(super) async fn channel_readd(
        &self,
        room: &RoomId,
        users: &[Restore],
    ) -> Result<Vec<Outcome>, ProviderError> {
        let ids: Vec<UserId> = users.iter().map(|r| r.user.clone()).collect();
        let row = |u: &UserId, cu: Option<&ChannelUser>| readd_row(room, u, cu);
        let single = |u: &UserId, e: &ProviderError| {
            Outcome::new(room, u, Action::Readd, Status::Failed).with_reason(e.message.clone())
        };
        let mut rows = self.settle(Call::Add, room, &ids, row, single).await?;

        // Moderators back: those recorded as admins and now members.
        let wanted: HashMap<&str, Role> = users.iter().map(|r| (r.user.as_str(), r.role)).collect();
        let promote: Vec<UserId> = rows
            .iter()
            .filter(|o| {
                o.status == Status::Readded
                    && wanted.get(o.user.as_str()) == Some(&Role::Admin)
                    && o.role == Some(Role::Member)
            })
            .map(|o| o.user.clone())
            .collect();
        if !promote.is_empty() {
            let after = |u: &UserId, cu: Option<&ChannelUser>| {
                let role = cu.map(|cu| role_of(&cu.roles));
                Outcome::new(room, u, Action::Readd, Status::Readded).with_role(role)
            };
            let refused = |u: &UserId, e: &ProviderError| {
                Outcome::new(room, u, Action::Readd, Status::Readded)
                    .with_role(Some(Role::Member))
                    .with_reason(format!(
                        "re-added as a member; the moderator role was not restored: {}",
                        e.message
                    ))
            };
            let promoted = self
                .settle(Call::Promote, room, &promote, after, refused)
                .await?;
            let by_user: HashMap<UserId, Outcome> =
                promoted.into_iter().map(|o| (o.user.clone(), o)).collect();
            for row in rows.iter_mut() {
                if let Some(p) = by_user.get(&row.user) {
                    if p.status == Status::Failed {
                        row.reason = Some(format!(
                            "re-added as a member; the moderator role was not restored: {}",
                            p.reason.as_deref().unwrap_or("no reason given")
                        ));
                    } else {
                        row.role = p.role.or(row.role);
                        if p.role != Some(Role::Admin) {
                            row.reason = p.reason.clone().or_else(|| {
                                Some("re-added; the moderator role did not come back".into())
                            });
                        }
                    }
                }
            }
        }
        for row in rows.iter_mut() {
            if row.status == Status::Readded
                && wanted.get(row.user.as_str()) == Some(&Role::Owner)
                && row.role != Some(Role::Owner)
            {
                row.reason = Some("re-added; channel ownership is not restored".into());
            }
        }
        Ok(rows)
    }
}

/// A re-add's row from the answer's entry for the user.
fn readd_row(room: &RoomId, u: &UserId, cu: Option<&ChannelUser>) -> Outcome {
    let outcome = |s| Outcome::new(room, u, Action::Readd, s);
    match cu {
        // Only `member` is success, as the TS SDK checks [V]; an entry
        // without a membership says nothing.
        Some(cu) if cu.membership.as_deref() == Some("member") => {
            outcome(Status::Readded).with_role(Some(role_of(&cu.roles)))
        }
        Some(cu) => outcome(Status::Failed).with_reason(format!(
            "not a member after the call (membership: {})",
            cu.membership.as_deref().unwrap_or("not given")
        )),
        None => {
            outcome(Status::Failed).with_reason("the provider's answer has no entry for this user")
        }
    }
}

pub(super) fn room_of(c: super::wire::Channel) -> Room {
    Room {
        name: c
            .display_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| c.channel_id.clone()),
        id: RoomId::from(c.channel_id),
        member_count: c.member_count,
        active: !c.is_deleted.unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_roles_read_as_console_roles() {
        let r = |v: &[&str]| role_of(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(r(&[]), Role::Member);
        assert_eq!(r(&["channel-moderator"]), Role::Admin);
        assert_eq!(r(&["community-moderator"]), Role::Admin);
        assert_eq!(r(&["super-moderator", "x"]), Role::Admin);
        assert_eq!(r(&["channel-owner", "channel-moderator"]), Role::Owner);
        assert_eq!(r(&["vip"]), Role::Member);
    }

    #[test]
    fn delete_calls_carry_their_parameters_in_the_query_too() {
        let users = [UserId::from("a"), UserId::from("b c")];
        let q = query_of(Call::Remove, &users);
        assert_eq!(
            q,
            [("userIds", "a".to_string()), ("userIds", "b c".to_string())]
        );
        let q = query_of(Call::Demote, &users[..1]);
        assert_eq!(
            q,
            [
                ("role", MODERATOR.to_string()),
                ("userIds", "a".to_string())
            ]
        );
        assert!(query_of(Call::Add, &users).is_empty());
        assert!(query_of(Call::Promote, &users).is_empty());
    }

    #[test]
    fn a_readd_succeeds_only_on_membership_member() {
        // The TS SDK checks `membership === 'member'` after an add [V].
        let answer: Channels = serde_json::from_str(
            r#"{"channelUsers":[
                {"userId":"a","channelId":"c","membership":"member","roles":["channel-moderator"]},
                {"userId":"b","channelId":"c","roles":[]},
                {"userId":"d","channelId":"c","membership":"banned","roles":[]}]}"#,
        )
        .unwrap();
        let room = RoomId::from("c");
        let found = entries(answer, &room);
        let row = |u: &str| readd_row(&room, &UserId::from(u), found.get(u));
        assert_eq!(row("a").status, Status::Readded);
        assert_eq!(row("a").role, Some(Role::Admin));
        let b = row("b");
        assert_eq!(b.status, Status::Failed, "no membership is no success");
        assert!(b.reason.as_deref().unwrap().contains("membership"), "{b:?}");
        assert_eq!(row("d").status, Status::Failed);
        assert_eq!(row("e").status, Status::Failed);
    }

    #[test]
    fn members_join_names_and_skip_non_members() {
        let answer: Channels = serde_json::from_str(
            r#"{"channelUsers":[
                {"userId":"a","channelId":"c","membership":"member","roles":["channel-moderator"]},
                {"userId":"b","channelId":"c","membership":"banned","roles":[]},
                {"userId":"d","channelId":"c","roles":[]}],
              "users":[{"userId":"a","displayName":"Alice"},{"userId":"d","displayName":" "}]}"#,
        )
        .unwrap();
        let m = members_of(answer, &RoomId::from("c"));
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name.as_deref(), Some("Alice"));
        assert_eq!(m[0].role, Role::Admin);
        assert_eq!(m[1].name, None);
    }
}
