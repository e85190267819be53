//! IMKit (FUNTEK) chat server adapter. Contract: `providers/imkit.md`.
//!
//! - Auth: `IM-API-KEY` (platform admin), or client mode `IM-CLIENT-KEY` +
//!   `IM-Authorization` with `IM-CLIENT-ID` on `GET /rooms` ([`auth`]).
//! - Every answer is `{RC, RM, result}`, RC 0 = success; errors come in two
//!   body shapes and are read from the HTTP status, RC and RM ([`errors`]).
//! - Rooms: `GET /rooms?skip&limit&sort=-createdTime` (a limit is always
//!   sent: 0 would mean unlimited; creation order does not move when a
//!   message is posted between two pages) until `skip >= totalCount`.
//!   `IM-CLIENT-ID` is required there [V], also with the API key: without
//!   a `client_id` a refusal says to set one.
//! - Members: no member endpoint; `GET /rooms/:id` answers the whole room
//!   ([`PageStyle::Whole`]); roles from `owner`, `managers[]` and
//!   `memberProperties[].role` ([`room`]).
//! - Remove: a fresh read first (one non-member fails the whole call), then
//!   `POST /rooms/:id/delete/members` with members only; rows from the
//!   room before and after.
//! - Demote: per-member role to `member` and out of `managers` (whole-array
//!   replace), then a re-read: `demoted` only when both agree.
//! - Re-add: a fresh read, `POST /rooms/:id/members` (`invitationRequired:
//!   false`) for users not yet members only, the admin role back by the
//!   per-member role, then a re-read: change answers may carry only
//!   `_id, name, members[], id`, so roles are never judged from them.
//! - The owner (one per room) is never removed or demoted: skipped rows.
//! - The profile's own `client_id` is never removed (for IMKit that is
//!   the moderator leaving the room): a failed row, nothing sent.

mod auth;
mod errors;
mod fuzz;
mod room;
mod wire;

#[doc(hidden)]
pub use fuzz::decode_any;

use crate::config::{ConfigError, Profile};
use crate::model::{
    Action, Demotion, Member, Outcome, Page, PageRequest, PageToken, Restore, Role, Room, RoomId,
    Status, UserId,
};
use crate::provider::http;
use crate::provider::{
    CallCost, Capabilities, Cost, ErrorKind, KeySpec, PageStyle, Provider, ProviderError,
    ProviderSpec, Quota,
};
use async_trait::async_trait;
use auth::Auth;
use reqwest::Method;
use room::Snapshot;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wire::{AddMembers, RemoveMembers, RoomList, SetManagers, SetProperty, WireRoom};

pub(crate) const NAME: &str = "imkit";

/// IMKit's registry entry.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: NAME,
    keys: &[
        KeySpec::secret(
            "api_key",
            "the platform API key, sent as IM-API-KEY (the console works as platform admin)",
        ),
        KeySpec::secret(
            "client_key",
            "client mode instead of api_key: the client key, sent as IM-CLIENT-KEY",
        ),
        KeySpec::secret(
            "token",
            "client mode: the moderator user's token, sent as IM-Authorization",
        ),
        KeySpec::str(
            "client_id",
            "the moderator user's client id, sent as IM-CLIENT-ID on GET /rooms (IMKit requires it there; required in client mode, and with api_key the room list may be refused without it); never removed",
        ),
        KeySpec::bool(
            "system_message",
            "ask IMKit to post a deleteMember system message for removals (default false)",
        ),
    ],
    build: |profile| Ok(Arc::new(Imkit::from_profile(profile)?)),
};

/// Users per removal / re-add call: no maximum is documented; 50 is
/// conservative. The profile's `max_batch` changes it.
pub const MAX_BATCH: usize = 50;
/// 1,000 requests per minute (API-key FAQ).
pub const QUOTA: Quota = Quota::new(1000, Duration::from_secs(60));
/// Rooms asked for per `GET /rooms` page (no maximum is documented).
const ROOM_PAGE: u32 = 100;
const ROOM_PAGE_MAX: u32 = 1000;
/// The slice `ops` cuts the whole member list into.
const MEMBER_PAGE: u32 = 1000;

const OWNER_KEPT: &str = "the room owner is never removed or demoted here (IMKit has one owner per room); transfer ownership first, as a separate act";
const SELF_KEPT: &str = "this is the profile's own client_id: removing it would make the moderator leave the room; nothing sent";

/// The IMKit adapter.
pub struct Imkit {
    http: reqwest::Client,
    base: String,
    host: String,
    /// The profile's name, for hints about its keys.
    profile: String,
    auth: Auth,
    /// The profile's `client_id` (the moderator user), never removed.
    client_id: Option<UserId>,
    system_message: bool,
    max_batch: usize,
    /// One lock per room around the `managers` read-modify-write (a whole-
    /// array replace must not undo a concurrent one from this process).
    managers_locks: Mutex<HashMap<RoomId, Arc<tokio::sync::Mutex<()>>>>,
}

/// Errors that end the call for the engine to retry or report (rate
/// limits, 5xx, timeouts, refused credentials); others become row reasons.
fn ends_call(e: &ProviderError) -> bool {
    e.is_retryable() || e.is_unavailable()
}

impl Imkit {
    /// Builds the adapter from a profile: `base_url` (the "Chat Server
    /// URL", e.g. `https://my-app.imkit.io`), credentials, `system_message`.
    pub fn from_profile(profile: &Profile) -> Result<Self, ConfigError> {
        let base = http::base_url(profile, None)?;
        let auth = Auth::from_profile(profile)?;
        let client_id = profile
            .get_str("client_id")?
            .map(|id| UserId::from(id.trim()));
        let max_batch = profile.common.max_batch.unwrap_or(MAX_BATCH).max(1);
        Ok(Self {
            http: http::client(profile)?,
            host: http::host_of(&base),
            base,
            profile: profile.name.clone(),
            auth,
            client_id,
            system_message: profile.get_bool("system_message")?.unwrap_or(false),
            max_batch,
            managers_locks: Mutex::new(HashMap::new()),
        })
    }

    /// One request through the shared loop (credentials, renewed once on
    /// a 401), the envelope unwrapped; secrets echoed back are redacted.
    async fn call<T: DeserializeOwned>(&self, call: http::Call<'_>) -> Result<T, ProviderError> {
        let op = call.op;
        tracing::debug!("imkit: {op}");
        let redact = |s| self.auth.redact(s);
        let answer = http::request_with(
            &self.http,
            NAME,
            &self.auth.credentials,
            call,
            errors::refuses_credentials,
            |op, a| errors::from_error(op, a, &redact),
        )
        .await?;
        errors::result(op, &answer, &redact)
    }

    /// `GET`; `IM-CLIENT-ID` goes on the room list only.
    async fn get<T: DeserializeOwned>(
        &self,
        op: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        let headers = if path == "/rooms" {
            self.auth.client_id.as_slice()
        } else {
            &[]
        };
        self.call(http::Call {
            op,
            method: Method::GET,
            url: format!("{}{path}", self.base),
            query,
            body: None,
            headers,
        })
        .await
    }

    /// A change with a JSON body; IMKit answers with the room after it.
    async fn change(
        &self,
        room: &RoomId,
        op: &str,
        method: Method,
        path: &str,
        body: impl Serialize,
    ) -> Result<Snapshot, ProviderError> {
        let body = serde_json::to_value(body)
            .map_err(|e| ProviderError::new(NAME, op, ErrorKind::BadRequest, e.to_string()))?;
        let w: WireRoom = self
            .call(http::Call {
                op,
                method,
                url: format!("{}{path}", self.base),
                query: &[],
                body: Some(&body),
                headers: &[],
            })
            .await?;
        Ok(Snapshot::from_wire(room, w))
    }

    /// `GET /rooms/:id`: the whole room.
    async fn snapshot(&self, room: &RoomId) -> Result<Snapshot, ProviderError> {
        let op = format!("GET /rooms/{room}");
        let path = http::path(NAME, &op, &["rooms", room.as_str()])?;
        let w: WireRoom = self.get(&op, &path, &[]).await?;
        let mut s = Snapshot::from_wire(room, w);
        // The room keeps the spelling it was asked by.
        s.room.id = room.clone();
        Ok(s)
    }

    /// A refused room list without a `client_id`: IMKit requires
    /// `IM-CLIENT-ID` on `GET /rooms` [V], also (as far as the docs say)
    /// with the API key, so the hint is a profile key, not a server fault.
    fn needs_client_id(&self, e: ProviderError) -> ProviderError {
        let message = format!(
            "profile `{}` has no `client_id`, and IMKit requires IM-CLIENT-ID on GET /rooms: set client_id = \"<the moderator user's IMKit id>\" in the profile (IMKit lists the rooms that user is a member of); the server said: {}",
            self.profile, e.message
        );
        let out = ProviderError::new(NAME, e.operation, e.kind, message);
        match e.code {
            Some(code) => out.with_code(code),
            None => out,
        }
    }

    fn managers_lock(&self, room: &RoomId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .managers_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        locks.entry(room.clone()).or_default().clone()
    }

    /// `POST /rooms/:id/delete/members`; answers the room after.
    async fn delete_members(
        &self,
        room: &RoomId,
        users: &[&str],
    ) -> Result<Snapshot, ProviderError> {
        let op = format!("POST /rooms/{room}/delete/members");
        let path = http::path(NAME, &op, &["rooms", room.as_str(), "delete", "members"])?;
        let body = RemoveMembers {
            members: users,
            system_message: self.system_message,
        };
        self.change(room, &op, Method::POST, &path, body).await
    }

    /// `PUT /rooms/:id/member/:client` `{"property": "role", "value": ...}`.
    async fn set_role(
        &self,
        room: &RoomId,
        user: &UserId,
        value: &str,
    ) -> Result<Snapshot, ProviderError> {
        let op = format!("PUT /rooms/{room}/member/{{client}}");
        let path = http::path(
            NAME,
            &op,
            &["rooms", room.as_str(), "member", user.as_str()],
        )?;
        let body = SetProperty {
            property: "role",
            value,
        };
        self.change(room, &op, Method::PUT, &path, body).await
    }

    /// `PUT /rooms/:id` `{"managers": [...]}`: the whole array is replaced.
    async fn set_managers(
        &self,
        room: &RoomId,
        managers: &[String],
    ) -> Result<Snapshot, ProviderError> {
        let op = format!("PUT /rooms/{room}");
        let path = http::path(NAME, &op, &["rooms", room.as_str()])?;
        let body = SetManagers { managers };
        self.change(room, &op, Method::PUT, &path, body).await
    }

    /// `POST /rooms/:id/members`, never waiting for an invitation to be accepted.
    async fn add_members(&self, room: &RoomId, users: &[&str]) -> Result<Snapshot, ProviderError> {
        let op = format!("POST /rooms/{room}/members");
        let path = http::path(NAME, &op, &["rooms", room.as_str(), "members"])?;
        let body = AddMembers {
            invitees: users,
            invitation_required: false,
            system_message: false,
        };
        self.change(room, &op, Method::POST, &path, body).await
    }

    /// One removal call for members only; rows from the room after. A
    /// non-zero RC (other than a rate limit, a server fault or refused
    /// credentials) fails every row of the call with RM as the reason.
    async fn remove_chunk(
        &self,
        room: &RoomId,
        users: &[&UserId],
    ) -> Result<Vec<Outcome>, ProviderError> {
        let names: Vec<&str> = users.iter().map(|u| u.as_str()).collect();
        let row = |u: &UserId, status| Outcome::new(room, u, Action::Remove, status);
        match self.delete_members(room, &names).await {
            Ok(after) => Ok(users
                .iter()
                .map(|u| match after.role(u) {
                    None => row(u, Status::Removed),
                    Some(role) => row(u, Status::Failed)
                        .with_reason("still a member after the removal call")
                        .with_role(Some(role)),
                })
                .collect()),
            Err(e) if ends_call(&e) => Err(e),
            Err(e) => Ok(users
                .iter()
                .map(|u| row(u, Status::Failed).with_reason(e.message.clone()))
                .collect()),
        }
    }

    /// Re-adds one chunk and restores recorded admin roles. A fresh read
    /// first: users already in the room (a retried call) are not sent
    /// again (one member among the invitees may fail the whole call [I])
    /// and go straight to their role. Change answers may hold only
    /// `_id, name, members[], id` [V examples], so rows are judged from a
    /// re-read, never from the answers' roles.
    async fn readd_chunk(
        &self,
        room: &RoomId,
        users: &[&Restore],
    ) -> Result<Vec<Outcome>, ProviderError> {
        let before = self.snapshot(room).await?;
        let mut names: Vec<&str> = Vec::with_capacity(users.len());
        let mut seen = HashSet::new();
        for r in users {
            if before.role(&r.user).is_none() && seen.insert(r.user.as_str()) {
                names.push(r.user.as_str());
            }
        }
        let mut sent = false;
        // Why a user's add or role change was refused (not worth a retry).
        let mut add_refused: HashMap<&str, String> = HashMap::new();
        let added = if names.is_empty() {
            None
        } else {
            sent = true;
            match self.add_members(room, &names).await {
                Ok(s) => Some(s),
                Err(e) if ends_call(&e) => return Err(e),
                Err(e) => {
                    for n in &names {
                        add_refused.insert(*n, e.message.clone());
                    }
                    None
                }
            }
        };
        // Re-adding does not bring a role back: promote again where the
        // audit recorded an admin and the room shows a plain member.
        let mut promoted: HashSet<&str> = HashSet::new();
        let mut role_refused: HashMap<&str, String> = HashMap::new();
        for r in users {
            let u = &r.user;
            if r.role != Role::Admin
                || promoted.contains(u.as_str())
                || role_refused.contains_key(u.as_str())
            {
                continue;
            }
            let now = match before.role(u) {
                Some(role) => Some(role),
                None => added.as_ref().and_then(|s| s.role(u)),
            };
            if now != Some(Role::Member) {
                continue;
            }
            sent = true;
            match self.set_role(room, u, "admin").await {
                Ok(_) => {
                    promoted.insert(u.as_str());
                }
                Err(e) if ends_call(&e) => return Err(e),
                Err(e) => {
                    role_refused.insert(u.as_str(), e.message);
                }
            }
        }
        let after = if sent {
            self.snapshot(room).await?
        } else {
            before
        };
        let row = |u: &UserId, status| Outcome::new(room, u, Action::Readd, status);
        let mut out: Vec<Outcome> = Vec::with_capacity(users.len());
        for r in users {
            let u = &r.user;
            let already = !seen.contains(u.as_str());
            let o = match (after.role(u), add_refused.get(u.as_str())) {
                (None, Some(why)) => row(u, Status::Failed).with_reason(why.clone()),
                (None, None) => row(u, Status::Failed).with_reason(
                    "not in the room after the re-add call (an invitation may be waiting for the user)",
                ),
                (Some(Role::Member), _) if r.role == Role::Admin => {
                    let why = match role_refused.get(u.as_str()) {
                        Some(e) => format!("re-added as member; restoring the admin role failed: {e}"),
                        None => "re-added as member; the admin role did not take".to_string(),
                    };
                    row(u, Status::Failed)
                        .with_reason(why)
                        .with_role(Some(Role::Member))
                }
                (Some(now), _) if r.role == Role::Owner && now != Role::Owner => {
                    row(u, Status::Readded)
                        .with_reason(format!(
                            "re-added as {now}: the owner role is not restored ({OWNER_KEPT})"
                        ))
                        .with_role(Some(now))
                }
                (Some(now), _) => {
                    let why = match (already, promoted.contains(u.as_str())) {
                        (true, true) => Some("already a member; admin role restored"),
                        (true, false) => Some("already a member; nothing sent"),
                        (false, true) => Some("re-added; admin role restored"),
                        (false, false) => None,
                    };
                    let o = row(u, Status::Readded).with_role(Some(now));
                    match why {
                        Some(why) => o.with_reason(why),
                        None => o,
                    }
                }
            };
            out.push(o);
        }
        Ok(out)
    }
}

#[async_trait]
impl Provider for Imkit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn host(&self) -> String {
        self.host.clone()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_batch: self.max_batch,
            // One managers replace per call, one role change per admin.
            max_demote_batch: self.max_batch,
            can_demote: true,
            can_demote_owner: false,
            can_remove_owner: false,
            has_admins: true,
            can_readd: true,
            quota: QUOTA,
            // Every change reads the room first; a demote reads it again
            // after, replaces `managers` once and sets each admin's role;
            // a re-add sends the add, sets each restored admin's role and
            // reads the room again.
            call_cost: CallCost {
                remove: Cost {
                    fixed: 2,
                    per_staff: 0,
                },
                demote: Cost {
                    fixed: 3,
                    per_staff: 1,
                },
                readd: Cost {
                    fixed: 3,
                    per_staff: 1,
                },
            },
            member_page_size: MEMBER_PAGE,
            page_style: PageStyle::Whole,
            ..Capabilities::default()
        }
    }

    /// Client ids are free-form strings; they only must fit in a path.
    fn validate_user(&self, user: &UserId) -> Result<(), String> {
        match http::segment_problem(user.as_str()) {
            Some(why) => Err(format!("IMKit client ids go into URL paths: {why}")),
            None => Ok(()),
        }
    }

    async fn rooms(&self, page: PageRequest) -> Result<Page<Room>, ProviderError> {
        const OP: &str = "GET /rooms";
        let skip: u64 = match &page.token {
            None => 0,
            Some(PageToken(t)) => t.parse().map_err(|_| {
                ProviderError::new(
                    NAME,
                    OP,
                    ErrorKind::BadRequest,
                    format!("bad page token `{t}`"),
                )
            })?,
        };
        // Always a limit: 0 (the default) would mean unlimited.
        let limit = page.size.unwrap_or(ROOM_PAGE).clamp(1, ROOM_PAGE_MAX);
        // Creation order: a message posted between two pages does not move
        // a room (the default order may be by last message) [V §1.5].
        let query = [
            ("skip", skip.to_string()),
            ("limit", limit.to_string()),
            ("sort", "-createdTime".to_string()),
        ];
        let list: RoomList = match self.get(OP, "/rooms", &query).await {
            Ok(list) => list,
            Err(e) if self.client_id.is_none() && !ends_call(&e) => {
                return Err(self.needs_client_id(e));
            }
            Err(e) => return Err(e),
        };
        let got = list.data.len() as u64;
        let items: Vec<Room> = list.data.into_iter().filter_map(room::listed).collect();
        let next_skip = skip.saturating_add(got);
        let more = match list.total_count {
            Some(total) => next_skip < total,
            // No totalCount: a full page may have more after it.
            None => got >= u64::from(limit),
        };
        Ok(Page {
            items,
            next: (got > 0 && more).then(|| PageToken(next_skip.to_string())),
            total: list.total_count,
        })
    }

    async fn room(&self, room: &RoomId) -> Result<Room, ProviderError> {
        Ok(self.snapshot(room).await?.room)
    }

    /// The whole list in one page; `ops` slices it.
    async fn members(
        &self,
        room: &RoomId,
        _page: PageRequest,
    ) -> Result<Page<Member>, ProviderError> {
        let s = self.snapshot(room).await?;
        let total = s.members.len() as u64;
        Ok(Page {
            items: s.members,
            next: None,
            total: Some(total),
        })
    }

    async fn member(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>, ProviderError> {
        Ok(self.snapshot(room).await?.get(user).cloned())
    }

    async fn staff(&self, room: &RoomId) -> Result<Vec<Member>, ProviderError> {
        Ok(self.snapshot(room).await?.staff())
    }

    async fn room_and_staff(&self, room: &RoomId) -> Result<(Room, Vec<Member>), ProviderError> {
        let s = self.snapshot(room).await?;
        let staff = s.staff();
        Ok((s.room, staff))
    }

    /// One non-member fails IMKit's whole call, and the answer has no
    /// per-user result: membership is judged from a fresh read, only
    /// members are sent, and each row compares the room before and after.
    async fn remove(&self, room: &RoomId, users: &[UserId]) -> Result<Vec<Outcome>, ProviderError> {
        let before = self.snapshot(room).await?;
        let mut done: HashMap<&UserId, Outcome> = HashMap::with_capacity(users.len());
        let mut send: Vec<&UserId> = Vec::new();
        for u in users {
            if done.contains_key(u) || send.contains(&u) {
                continue;
            }
            let row = |status| Outcome::new(room, u, Action::Remove, status);
            if self.client_id.as_ref() == Some(u) {
                done.insert(
                    u,
                    row(Status::Failed)
                        .with_reason(SELF_KEPT)
                        .with_role(before.role(u)),
                );
                continue;
            }
            match before.role(u) {
                None => {
                    done.insert(
                        u,
                        row(Status::AlreadyAbsent)
                            .with_reason(format!("not a member of room {room}; nothing sent")),
                    );
                }
                Some(Role::Owner) => {
                    done.insert(
                        u,
                        row(Status::Skipped)
                            .with_reason(OWNER_KEPT)
                            .with_role(Some(Role::Owner)),
                    );
                }
                Some(_) => send.push(u),
            }
        }
        for chunk in send.chunks(self.max_batch) {
            for (u, o) in chunk.iter().zip(self.remove_chunk(room, chunk).await?) {
                done.insert(u, o);
            }
        }
        Ok(users
            .iter()
            .map(|u| {
                done.get(u).cloned().unwrap_or_else(|| {
                    Outcome::new(room, u, Action::Remove, Status::Failed)
                        .with_reason("no result for this user")
                })
            })
            .collect())
    }

    /// Both admin mechanisms are undone: the per-member role set to
    /// `member`, and the id dropped from `managers` (a whole-array
    /// replace). A re-read decides: `demoted` only when both agree.
    async fn demote(
        &self,
        room: &RoomId,
        users: &[Demotion],
    ) -> Result<Vec<Outcome>, ProviderError> {
        let lock = self.managers_lock(room);
        let _held = lock.lock().await;
        let before = self.snapshot(room).await?;
        let row = |u: &UserId, status| Outcome::new(room, u, Action::Demote, status);
        let mut rows: Vec<Option<Outcome>> = vec![None; users.len()];
        let mut targets: Vec<&UserId> = Vec::new();
        for (i, d) in users.iter().enumerate() {
            let u = &d.user;
            rows[i] = match before.role(u) {
                None => Some(
                    row(u, Status::Failed)
                        .with_reason(format!("user {u} is not a member of room {room}")),
                ),
                Some(Role::Owner) => Some(
                    row(u, Status::Skipped)
                        .with_reason(OWNER_KEPT)
                        .with_role(Some(Role::Owner)),
                ),
                // Already a plain member (a retried call, or someone else
                // was quicker): the wanted end state, nothing to send.
                Some(Role::Member) if d.role == Role::Admin => Some(
                    row(u, Status::Demoted)
                        .with_reason("already a member; nothing sent")
                        .with_role(Some(Role::Member)),
                ),
                Some(Role::Member) => Some(
                    row(u, Status::Failed)
                        .with_reason(format!("user {u} is not an owner or admin"))
                        .with_role(Some(Role::Member)),
                ),
                Some(Role::Admin) => {
                    if !targets.contains(&u) {
                        targets.push(u);
                    }
                    None
                }
            };
        }
        // Refusals that are not worth a retry become the row's reason.
        let mut refused: HashMap<&UserId, String> = HashMap::new();
        for u in &targets {
            if before.has_admin_role(u)
                && let Err(e) = self.set_role(room, u, "member").await
            {
                if ends_call(&e) {
                    return Err(e);
                }
                refused.insert(
                    *u,
                    format!("setting the role to member failed: {}", e.message),
                );
            }
        }
        let dropped: HashSet<&str> = targets
            .iter()
            .filter(|u| before.in_managers(u))
            .map(|u| u.as_str())
            .collect();
        if !dropped.is_empty() {
            let keep: Vec<String> = before
                .managers
                .iter()
                .filter(|m| !dropped.contains(m.as_str()))
                .cloned()
                .collect();
            if let Err(e) = self.set_managers(room, &keep).await {
                if ends_call(&e) {
                    return Err(e);
                }
                for u in targets.iter().filter(|u| dropped.contains(u.as_str())) {
                    let why = format!("removing from managers failed: {}", e.message);
                    refused
                        .entry(*u)
                        .and_modify(|r| {
                            r.push_str("; ");
                            r.push_str(&why);
                        })
                        .or_insert(why);
                }
            }
        }
        let after = if targets.is_empty() {
            before
        } else {
            self.snapshot(room).await?
        };
        for (i, d) in users.iter().enumerate() {
            if rows[i].is_some() {
                continue;
            }
            let u = &d.user;
            let still: Vec<&str> = [
                after.in_managers(u).then_some("in managers"),
                after
                    .has_admin_role(u)
                    .then_some("memberProperties role admin"),
            ]
            .into_iter()
            .flatten()
            .collect();
            rows[i] = Some(match after.role(u) {
                None => row(u, Status::Failed).with_reason("no longer a member of the room"),
                Some(Role::Owner) => row(u, Status::Failed)
                    .with_reason("now the room owner")
                    .with_role(Some(Role::Owner)),
                Some(role) if !still.is_empty() => {
                    let mut why = format!("still an admin after the calls ({})", still.join(", "));
                    if let Some(r) = refused.get(u) {
                        why.push_str(": ");
                        why.push_str(r);
                    }
                    row(u, Status::Failed)
                        .with_reason(why)
                        .with_role(Some(role))
                }
                Some(role) => row(u, Status::Demoted)
                    .with_reason("admin -> member")
                    .with_role(Some(role)),
            });
        }
        Ok(rows.into_iter().flatten().collect())
    }

    /// `POST /rooms/:id/members` with `invitationRequired: false`, then the
    /// admin role back (by the per-member role) where the audit recorded one.
    async fn readd(&self, room: &RoomId, users: &[Restore]) -> Result<Vec<Outcome>, ProviderError> {
        let all: Vec<&Restore> = users.iter().collect();
        let mut out = Vec::with_capacity(users.len());
        for chunk in all.chunks(self.max_batch) {
            out.extend(self.readd_chunk(room, chunk).await?);
        }
        Ok(out)
    }
}
