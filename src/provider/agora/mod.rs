//! Agora Chat (Easemob REST) adapter. Contract: `providers/agora.md`.
//!
//! - Base URL `{base_url}/{org}/{app}`; `Authorization: Bearer` app token,
//!   fixed (`token*`) or exchanged from `client_id` + `client_secret*`.
//! - Rooms: `GET /chatrooms?limit&cursor` (top-level cursor). Agora has no
//!   deactivated rooms, so every room is active.
//! - Members: `GET /chatrooms/{id}/users?pagenum&pagesize` with one-key
//!   `{"owner":u}` / `{"member":u}` rows, joined with `GET …/admin` so
//!   admins read as admins. Pages go one after another (the server does not
//!   sort members, so pages fetched at once can overlap); the first page
//!   also reads the room's member count, which tells a last page from a
//!   server that holds fewer rows a page than asked (the SDK says 1 to
//!   100, the docs up to 1,000): later pages are asked at the size the
//!   server really gives.
//! - Remove: `DELETE /chatrooms/{id}/users/u1%2Cu2`, one row per user from
//!   the provider's own `result`/`reason`; whole-call refusals that change
//!   nothing (not members, the owner, an unknown user, a batch over the
//!   server's `maxSize`) are settled per user and the rest sent again.
//! - Demote: `DELETE …/admin/{u}`; owners cannot be demoted in place.
//! - Re-add: `POST …/users {"usernames":[…]}` in chunks of at most 60, then
//!   `POST …/admin` for admins being restored. A whole-chunk refusal over
//!   one user (404 "username X doesn't exist!", 403 `exceeded_limit`) fails
//!   that user's row and the rest are sent again.

mod auth;
mod errors;
mod fuzz;
mod token;
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
    Capabilities, ErrorKind, IdFold, KeySpec, PageStyle, Provider, ProviderError, ProviderSpec,
    Quota,
};
use async_trait::async_trait;
use auth::{CertificateTokens, ClientExchange};
use reqwest::Method;
use reqwest::header::AUTHORIZATION;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use wire::{AdminChange, Envelope, OneOrMany, RemoveRow, RoomDetail, RoomItem};

const NAME: &str = "agora";

/// Agora's registry entry.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: NAME,
    keys: &[
        KeySpec::str("org", "the org half of the AppKey `org#app`"),
        KeySpec::str("app", "the app half of the AppKey `org#app`"),
        KeySpec::str(
            "app_id",
            "the App ID: instead of org + app, the newer base URL `{base_url}/app-id/{app_id}`; with app_certificate, the App ID tokens are built for",
        ),
        KeySpec::secret("token", "an app token, sent as `Authorization: Bearer`"),
        KeySpec::str(
            "client_id",
            "instead of a token: exchanged with client_secret and renewed",
        ),
        KeySpec::secret("client_secret", "the secret that goes with client_id"),
        KeySpec::secret(
            "app_certificate",
            "instead of a token: the App Certificate; with app_id, app tokens are built and renewed here",
        ),
    ],
    build: |profile| Ok(Arc::new(Agora::from_profile(profile)?)),
};
/// Users per batch removal: the current Easemob docs and their error text
/// say 60, the Agora seed page says 100; 60 is safe.
pub const MAX_BATCH: usize = 60;
/// Users per batch add: 60 on the Agora page, 100 in the Easemob docs.
pub const MAX_ADD: usize = 60;
/// Member page size the provider accepts at most (the docs: 0..1000).
pub const PAGE_SIZE: u32 = 1000;
/// The SDK javadoc's largest member page (1..100): what is asked when a
/// server refuses [`PAGE_SIZE`].
const SDK_PAGE_SIZE: u32 = 100;
/// Rooms per page at most (docs: 1..=1000, an older page 1..=100).
const ROOM_PAGE: u32 = 100;
/// Why the plan never sends an owner's removal: Agora refuses it
/// ("forbidden operation on group owner!") [doc].
const OWNER_RULE: &str = "Agora chat-room owners can never be removed; to remove this user, transfer ownership in the Agora console first";

/// The Agora Chat adapter.
pub struct Agora {
    http: reqwest::Client,
    /// `{base_url}/{org}/{app}`, no trailing slash.
    base: String,
    host: String,
    auth: http::Credentials,
    /// The admin list last joined into member pages: (room, when, admins).
    paging_admins: std::sync::Mutex<Option<PagingAdmins>>,
    /// The largest member page to ask for: [`PAGE_SIZE`] until the server
    /// refuses it, then [`SDK_PAGE_SIZE`].
    member_page_max: std::sync::atomic::AtomicU32,
}

/// The admin list of one room and when it was read.
type PagingAdmins = (RoomId, tokio::time::Instant, Arc<HashSet<String>>);

/// How long member paging reuses one admin list. A 120,000-member room
/// is 120 pages; asking for the admin list with each would double the
/// calls. Changes made through this adapter drop it at once.
const PAGING_ADMINS_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// A profile key that goes into the base URL as one path segment.
fn config_segment(profile: &Profile, key: &str) -> Result<String, ConfigError> {
    let value = nonempty(profile, key)?;
    http::segment(NAME, key, &value).map_err(|e| profile.key_error(key, &e.message))
}

impl Agora {
    /// Builds the adapter from a profile: `base_url`, `org` + `app` (or the
    /// newer `app_id`) and one credential: `token[_env|_cmd]`, `client_id` +
    /// `client_secret[_env|_cmd]`, or `app_id` + `app_certificate[_env|_cmd]`
    /// (tokens built here; `app_id` then also goes with `org` + `app`).
    pub fn from_profile(profile: &Profile) -> Result<Self, ConfigError> {
        let base_url = http::base_url(profile, None)?;
        let app_id = profile.get_str("app_id")?;
        let certificate = profile.has_secret("app_certificate");
        let org_app = profile.get_str("org")?.is_some() || profile.get_str("app")?.is_some();
        let base = match app_id {
            Some(_) if org_app && !certificate => {
                return Err(ConfigError::new(format!(
                    "profile `{}`: set either `app_id` (base {{base_url}}/app-id/{{app_id}}) or `org` + `app` (base {{base_url}}/{{org}}/{{app}}), not both (both only with `app_certificate`, which needs the App ID)",
                    profile.name
                )));
            }
            Some(_) if !org_app => {
                format!("{base_url}/app-id/{}", config_segment(profile, "app_id")?)
            }
            _ => {
                let org = config_segment(profile, "org")?;
                let app = config_segment(profile, "app")?;
                format!("{base_url}/{org}/{app}")
            }
        };
        let credentials = Self::credentials(profile, &base, app_id)?;
        Ok(Self {
            http: http::client(profile)?,
            host: http::host_of(&base_url),
            auth: credentials,
            base,
            paging_admins: std::sync::Mutex::new(None),
            member_page_max: std::sync::atomic::AtomicU32::new(PAGE_SIZE),
        })
    }

    /// The one credential the profile names.
    fn credentials(
        profile: &Profile,
        base: &str,
        app_id: Option<String>,
    ) -> Result<http::Credentials, ConfigError> {
        let client_id = profile.get_str("client_id")?;
        let named: Vec<&str> = [
            ("`token`", profile.has_secret("token")),
            ("`client_id`", client_id.is_some()),
            ("`app_certificate`", profile.has_secret("app_certificate")),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        if named.len() > 1 {
            return Err(ConfigError::new(format!(
                "profile `{}`: set one credential, not both {}: `token` (or `token_env` / `token_cmd`), `client_id` + `client_secret_env`, or `app_id` + `app_certificate_env`",
                profile.name,
                named.join(" and ")
            )));
        }
        if profile.has_secret("token") {
            return Ok(http::Credentials::new(
                NAME,
                http::ProfileSecret {
                    provider: NAME,
                    profile: Box::new(profile.clone()),
                    key: "token",
                    header: AUTHORIZATION,
                    prefix: "Bearer ",
                }
                .checked()?,
            ));
        }
        if let Some(id) = client_id {
            if id.trim().is_empty() {
                return Err(profile.key_error("client_id", "is empty"));
            }
            let secret = profile.secret("client_secret")?.ok_or_else(|| {
                ConfigError::new(format!(
                    "profile `{}` (provider agora) sets `client_id` but no `client_secret`; add client_secret_env = \"VAR\" (or client_secret_cmd)",
                    profile.name
                ))
            })?;
            return Ok(http::Credentials::new(
                NAME,
                ClientExchange {
                    id,
                    secret,
                    token_url: format!("{base}/token"),
                },
            ));
        }
        if profile.has_secret("app_certificate") {
            let app_id = app_id.ok_or_else(|| {
                ConfigError::new(format!(
                    "profile `{}` (provider agora) sets `app_certificate` but no `app_id`; add app_id = \"...\" (the App ID from the Agora console)",
                    profile.name
                ))
            })?;
            return Ok(http::Credentials::new(
                NAME,
                CertificateTokens {
                    app_id,
                    profile: Box::new(profile.clone()),
                    token_url: format!("{base}/token"),
                    exchange: std::sync::atomic::AtomicBool::new(false),
                }
                .checked()?,
            ));
        }
        let hint = if profile.has_secret("client_secret") {
            "`client_secret` is set but `client_id` is missing; add client_id = \"...\""
        } else {
            "add token_env = \"VAR\" (an app token), client_id + client_secret_env, or app_id + app_certificate_env"
        };
        Err(ConfigError::new(format!(
            "profile `{}` (provider agora) has no credentials: {hint}",
            profile.name
        )))
    }

    /// The admin list for member paging, reused for a few seconds per room.
    async fn paging_admins(&self, room: &RoomId) -> Result<Arc<HashSet<String>>, ProviderError> {
        {
            let cached = crate::provider::lock(&self.paging_admins);
            if let Some((r, at, admins)) = cached.as_ref()
                && r == room
                && at.elapsed() < PAGING_ADMINS_FOR
            {
                return Ok(admins.clone());
            }
        }
        let admins = Arc::new(self.admins(room).await?);
        *crate::provider::lock(&self.paging_admins) =
            Some((room.clone(), tokio::time::Instant::now(), admins.clone()));
        Ok(admins)
    }

    /// Drops the paging admin list of a room this adapter is changing.
    fn forget_admins(&self, room: &RoomId) {
        let mut cached = crate::provider::lock(&self.paging_admins);
        if cached.as_ref().is_some_and(|(r, _, _)| r == room) {
            *cached = None;
        }
    }

    /// One request: bearer token, JSON in and out. A 401 with exchanged
    /// credentials drops the cached token and tries once more.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        op: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<serde_json::Value>,
    ) -> Result<T, ProviderError> {
        tracing::debug!("agora: {method} {path}");
        let call = http::Call {
            op,
            method,
            url: format!("{}{path}", self.base),
            query,
            body: body.as_ref(),
            headers: &[],
        };
        let answer = http::request(&self.http, NAME, &self.auth, call, |op, a| {
            errors::from_response(op, a.status, a.retry_after, &a.body)
        })
        .await?;
        http::decode(NAME, op, &answer.body)
    }

    async fn detail(&self, room: &RoomId) -> Result<RoomDetail, ProviderError> {
        let op = format!("GET /chatrooms/{room}");
        let env: Envelope<OneOrMany<RoomDetail>> = self
            .call(
                Method::GET,
                &op,
                &http::path(NAME, &op, &["chatrooms", room.as_str()])?,
                &[],
                None,
            )
            .await?;
        let mut all = env.data.map(OneOrMany::into_vec).unwrap_or_default();
        // Only the asked room's own detail: an answer about another room
        // (or one naming none) is never taken for it.
        let Some(at) = all
            .iter()
            .position(|d| d.id.as_deref() == Some(room.as_str()))
        else {
            return Err(ProviderError::new(
                NAME,
                op,
                ErrorKind::NotFound,
                format!("room {room} is not in the answer"),
            )
            .with_code("resource_not_found"));
        };
        Ok(all.swap_remove(at))
    }

    async fn admins(&self, room: &RoomId) -> Result<HashSet<String>, ProviderError> {
        let op = format!("GET /chatrooms/{room}/admin");
        let path = http::path(NAME, &op, &["chatrooms", room.as_str(), "admin"])?;
        let env: Envelope<OneOrMany<serde_json::Value>> =
            self.call(Method::GET, &op, &path, &[], None).await?;
        Ok(admin_set(env))
    }

    /// One DELETE of a batch: rows from the provider's own answer.
    async fn delete_members(
        &self,
        room: &RoomId,
        users: &[UserId],
    ) -> Result<Vec<Outcome>, ProviderError> {
        let op = format!("DELETE /chatrooms/{room}/users");
        let list: Vec<String> = users
            .iter()
            .map(|u| segment(&op, u.as_str()))
            .collect::<Result<_, _>>()?;
        // Commas between usernames go as %2C, each name encoded once.
        let path = format!(
            "/chatrooms/{}/users/{}",
            segment(&op, room.as_str())?,
            list.join("%2C")
        );
        let env: Envelope<OneOrMany<RemoveRow>> =
            self.call(Method::DELETE, &op, &path, &[], None).await?;
        let rows = env.data.map(OneOrMany::into_vec).unwrap_or_default();
        // Rows name their user; a row without one is matched by position.
        let mut by_user: HashMap<String, RemoveRow> = HashMap::new();
        for (i, row) in rows.into_iter().enumerate() {
            let user = row
                .user
                .clone()
                .or_else(|| users.get(i).map(|u| u.to_string()));
            if let Some(u) = user {
                by_user.entry(u.to_ascii_lowercase()).or_insert(row);
            }
        }
        Ok(users
            .iter()
            .map(|u| {
                let outcome = Outcome::new(room, u, Action::Remove, Status::Removed);
                match by_user.remove(&u.as_str().to_ascii_lowercase()) {
                    None => outcome
                        .with_reason("the provider's answer has no row for this user")
                        .with_status(Status::Failed),
                    Some(row) if wire::truthy(&row.result) => outcome,
                    Some(row) => {
                        let reason = row.reason.unwrap_or_else(|| {
                            format!("the provider answered result: {}", row.result)
                        });
                        let status = if errors::says_not_member(&reason) {
                            Status::AlreadyAbsent
                        } else {
                            Status::Failed
                        };
                        outcome.with_status(status).with_reason(reason)
                    }
                }
            })
            .collect())
    }

    /// One DELETE (and, after a whole-call refusal that names users, the
    /// rest again): one row per user. A not-member refusal that names no
    /// one sent leaves the users to go one at a time (a one-user refusal is
    /// unambiguous). Every round but that switch settles at least one user,
    /// so this ends within `users.len() + 1` rounds.
    async fn remove_batch(
        &self,
        room: &RoomId,
        users: &[UserId],
    ) -> Result<Vec<Outcome>, ProviderError> {
        let mut done: Vec<Outcome> = Vec::with_capacity(users.len());
        let mut pending: Vec<UserId> = users.to_vec();
        let mut singly = false;
        // A whole-call refusal removes nothing, so the rest can be sent again
        // without the users it named.
        for _ in 0..=users.len() {
            if pending.is_empty() {
                break;
            }
            let row = |u: &UserId, status: Status, reason: &str| {
                Outcome::new(room, u, Action::Remove, status).with_reason(reason)
            };
            let sent = if singly { 1 } else { pending.len() };
            match self.delete_members(room, &pending[..sent]).await {
                Ok(rows) => {
                    done.extend(rows);
                    pending.drain(..sent);
                }
                Err(e) if errors::is_not_member_refusal(&e) => {
                    let named = errors::bracket_names(&e.message).unwrap_or_default();
                    let (absent, rest): (Vec<UserId>, Vec<UserId>) = pending
                        .drain(..)
                        .partition(|u| named.iter().any(|n| same_user(n, u.as_str())));
                    pending = rest;
                    if !absent.is_empty() {
                        done.extend(
                            absent
                                .iter()
                                .map(|u| row(u, Status::AlreadyAbsent, &e.message)),
                        );
                    } else if sent == 1 {
                        // One user sent: the refusal is about them.
                        let u = pending.remove(0);
                        done.push(row(&u, Status::AlreadyAbsent, &e.message));
                    } else {
                        // The text names nobody we sent: who is absent is
                        // unknown, so each goes on its own.
                        singly = true;
                    }
                }
                Err(e) if errors::is_owner_refusal(&e) => {
                    if sent == 1 {
                        let u = pending.remove(0);
                        done.push(row(&u, Status::Failed, &e.message));
                        continue;
                    }
                    // The text does not name the owner: ask the room.
                    let owner = self.detail(room).await?.owner.unwrap_or_default();
                    match pending.iter().position(|u| same_user(u.as_str(), &owner)) {
                        Some(i) => {
                            let u = pending.remove(i);
                            done.push(row(&u, Status::Failed, &e.message));
                        }
                        None => {
                            done.extend(
                                pending
                                    .drain(..)
                                    .map(|u| row(&u, Status::Failed, &e.message)),
                            );
                        }
                    }
                }
                // 404 "username X doesn't exist!": X is in no room of the
                // app, so not in this one; nothing was removed, the rest go
                // again.
                Err(e) if errors::missing_user(&e).is_some() => {
                    let name = errors::missing_user(&e).unwrap_or_default();
                    match pending.iter().position(|u| same_user(u.as_str(), &name)) {
                        Some(i) => {
                            let u = pending.remove(i);
                            done.push(row(&u, Status::AlreadyAbsent, &e.message));
                        }
                        None => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        done.extend(pending.iter().map(|u| {
            Outcome::new(room, u, Action::Remove, Status::Failed)
                .with_reason("not removed: the provider kept refusing the batch")
        }));
        Ok(done)
    }
}

/// Where member paging stands: page `num` (from 1) at `size` rows a page.
/// Its token is `num:size`; a bare number is page `num` at the size asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PagePos {
    num: u64,
    size: u32,
}

impl PagePos {
    fn parse(token: &str) -> Option<Self> {
        let (num, size) = match token.split_once(':') {
            Some((n, s)) => (n.parse().ok()?, s.parse().ok()?),
            None => (token.parse().ok()?, PAGE_SIZE),
        };
        (num >= 1 && (1..=PAGE_SIZE).contains(&size)).then_some(Self { num, size })
    }
}

impl std::fmt::Display for PagePos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.num, self.size)
    }
}

impl Agora {
    /// One `GET …/users?pagenum&pagesize`: its one-key rows.
    async fn member_rows(
        &self,
        room: &RoomId,
        at: PagePos,
    ) -> Result<Vec<wire::Affiliation>, ProviderError> {
        let op = format!("GET /chatrooms/{room}/users");
        let path = http::path(NAME, &op, &["chatrooms", room.as_str(), "users"])?;
        let query = [
            ("pagenum", at.num.to_string()),
            ("pagesize", at.size.to_string()),
        ];
        let env: Envelope<OneOrMany<wire::Affiliation>> =
            self.call(Method::GET, &op, &path, &query, None).await?;
        Ok(env.data.map(OneOrMany::into_vec).unwrap_or_default())
    }

    /// The first member page, and the size it was read at: a server that
    /// refuses a page over the SDK's 100 (400) is asked again at 100, and
    /// every later listing starts there.
    async fn first_member_rows(
        &self,
        room: &RoomId,
        at: PagePos,
    ) -> Result<(Vec<wire::Affiliation>, PagePos), ProviderError> {
        match self.member_rows(room, at).await {
            Err(e) if e.kind == ErrorKind::BadRequest && at.size > SDK_PAGE_SIZE => {
                tracing::debug!(
                    "agora: a member page of {} was refused; asking at {SDK_PAGE_SIZE}",
                    at.size
                );
                self.member_page_max.store(SDK_PAGE_SIZE, Ordering::Relaxed);
                let at = PagePos {
                    size: SDK_PAGE_SIZE,
                    ..at
                };
                Ok((self.member_rows(room, at).await?, at))
            }
            other => Ok((other?, at)),
        }
    }

    /// `POST …/users {"usernames":[…]}` in chunks of at most [`MAX_ADD`]
    /// (smaller if the server names a smaller cap). Answers the lower-cased
    /// names listed in `newmembers`, and the users refused on their own
    /// with the provider's words: a whole-chunk refusal over one user (404
    /// "username X doesn't exist!", 403 `exceeded_limit`) adds nobody, so
    /// the user it names is taken out and the rest sent again; when it
    /// names none of them, the chunk is halved until it does. Re-adding is
    /// idempotent (members already in count as success), so a retried call
    /// is harmless.
    async fn add_members(&self, room: &RoomId, names: &[&str]) -> Result<Added, ProviderError> {
        let op = format!("POST /chatrooms/{room}/users");
        let path = http::path(NAME, &op, &["chatrooms", room.as_str(), "users"])?;
        let mut out = Added::default();
        let mut queue: VecDeque<Vec<&str>> = names.chunks(MAX_ADD).map(<[_]>::to_vec).collect();
        while let Some(chunk) = queue.pop_front() {
            let body = wire::AddMembers {
                usernames: chunk.clone(),
            };
            let e = match self
                .call::<Envelope<wire::Added>>(Method::POST, &op, &path, &[], Some(json(&body)))
                .await
            {
                Ok(env) => {
                    out.added.extend(
                        env.data
                            .map(|d| d.newmembers)
                            .unwrap_or_default()
                            .iter()
                            .filter_map(wire::value_text)
                            .map(|u| u.to_ascii_lowercase()),
                    );
                    continue;
                }
                Err(e) => e,
            };
            if let Some(n) = errors::max_size(&e).filter(|n| *n < chunk.len()) {
                for part in chunk.chunks(n).rev() {
                    queue.push_front(part.to_vec());
                }
                continue;
            }
            if !errors::is_one_user_add_refusal(&e) {
                return Err(e);
            }
            let why = if e.kind == ErrorKind::NotFound {
                e.message.clone()
            } else {
                e.reason()
            };
            let named = errors::missing_user(&e)
                .and_then(|m| chunk.iter().copied().find(|u| same_user(u, &m)))
                .or_else(|| errors::named_user(&e.message, &chunk));
            match named {
                Some(bad) => {
                    out.refused.insert(bad.to_ascii_lowercase(), why);
                    let rest: Vec<&str> = chunk.into_iter().filter(|u| *u != bad).collect();
                    if !rest.is_empty() {
                        queue.push_front(rest);
                    }
                }
                None if chunk.len() == 1 => {
                    out.refused.insert(chunk[0].to_ascii_lowercase(), why);
                }
                None => {
                    let (a, b) = chunk.split_at(chunk.len() / 2);
                    queue.push_front(b.to_vec());
                    queue.push_front(a.to_vec());
                }
            }
        }
        Ok(out)
    }
}

/// What a batch add did: the lower-cased names the answers listed in
/// `newmembers`, and the users refused on their own, with the reason.
#[derive(Default)]
struct Added {
    added: HashSet<String>,
    refused: HashMap<String, String>,
}

/// The room of a detail answer, under the id it was asked by.
fn room_of(id: &RoomId, d: &RoomDetail) -> Room {
    let count = d
        .affiliations_count
        .or_else(|| d.affiliations.as_ref().map(|a| a.count));
    Room {
        name: d.name.clone().unwrap_or_else(|| id.to_string()),
        id: id.clone(),
        member_count: count,
        active: true,
    }
}

/// Owners from the detail's `owner` (and any `{"owner":…}` affiliation),
/// then the admins that are not owners.
fn staff_of(detail: RoomDetail, admins: HashSet<String>) -> Vec<Member> {
    let mut owners: Vec<String> = detail.owner.into_iter().filter(|o| !o.is_empty()).collect();
    for o in detail.affiliations.map(|a| a.owners).unwrap_or_default() {
        if !owners.iter().any(|x| same_user(x, &o)) {
            owners.push(o);
        }
    }
    let mut staff: Vec<Member> = owners
        .iter()
        .map(|o| Member::new(o.as_str(), None, Role::Owner))
        .collect();
    let mut admins: Vec<String> = admins.into_iter().collect();
    admins.sort();
    staff.extend(
        admins
            .into_iter()
            .filter(|a| !owners.iter().any(|o| same_user(o, a)))
            .map(|a| Member::new(a, None, Role::Admin)),
    );
    staff
}

/// The usernames of `GET …/admin`.
fn admin_set(env: Envelope<OneOrMany<serde_json::Value>>) -> HashSet<String> {
    env.data
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
        .iter()
        .filter_map(wire::value_text)
        .collect()
}

/// One-key member rows to members, admins (matched case-insensitively)
/// read as admins.
fn join_admins(rows: Vec<wire::Affiliation>, admins: &HashSet<String>) -> Vec<Member> {
    let admins_lower: HashSet<String> = admins.iter().map(|a| a.to_ascii_lowercase()).collect();
    let is_admin = |m: &str| {
        !admins_lower.is_empty()
            && if m.bytes().any(|b| b.is_ascii_uppercase()) {
                admins_lower.contains(&m.to_ascii_lowercase())
            } else {
                admins_lower.contains(m)
            }
    };
    rows.into_iter()
        .filter_map(|r| match (r.owner, r.member) {
            (Some(o), _) => Some(Member::new(o, None, Role::Owner)),
            (None, Some(m)) => {
                let role = if is_admin(&m) {
                    Role::Admin
                } else {
                    Role::Member
                };
                Some(Member::new(m, None, role))
            }
            (None, None) => None,
        })
        .collect()
}

/// The adapter's own member-page decoding, for the ingest benchmark: a
/// `GET /chatrooms/{id}/users` body and a `GET …/admin` body to members,
/// exactly as [`Provider::members`] turns them.
#[doc(hidden)]
pub fn parse_members_page(page: &[u8], admins: &[u8]) -> Result<Vec<Member>, ProviderError> {
    const OP: &str = "GET /chatrooms/{id}/users";
    let env: Envelope<OneOrMany<wire::Affiliation>> = http::decode(NAME, OP, page)?;
    let rows = env.data.map(OneOrMany::into_vec).unwrap_or_default();
    let admins = if rows.iter().any(|r| r.member.is_some()) {
        admin_set(http::decode(NAME, OP, admins)?)
    } else {
        HashSet::new()
    };
    Ok(join_admins(rows, &admins))
}

/// Outcome with a different status (the model has no setter).
trait WithStatus {
    fn with_status(self, status: Status) -> Self;
}

impl WithStatus for Outcome {
    fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }
}

fn json<T: Serialize>(body: &T) -> serde_json::Value {
    serde_json::to_value(body).unwrap_or(serde_json::Value::Null)
}

fn nonempty(profile: &Profile, key: &str) -> Result<String, ConfigError> {
    let v = profile.require_str(key)?;
    if v.trim().is_empty() {
        return Err(profile.key_error(key, "is empty"));
    }
    Ok(v)
}

/// One path segment, percent-encoded; ids that could escape their place
/// in the URL (`..`, empty, control characters) are refused.
fn segment(op: &str, id: &str) -> Result<String, ProviderError> {
    http::segment(NAME, op, id)
}

fn to_room(item: RoomItem) -> Option<Room> {
    let id = item.id.filter(|i| !i.is_empty())?;
    Some(Room {
        name: item.name.unwrap_or_else(|| id.clone()),
        id: RoomId::from(id),
        member_count: item.affiliations_count,
        // Agora has no deactivated rooms.
        active: true,
    })
}

/// Usernames are case-insensitive on Agora.
fn same_user(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[async_trait]
impl Provider for Agora {
    fn name(&self) -> &'static str {
        NAME
    }

    fn host(&self) -> String {
        self.host.clone()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_batch: MAX_BATCH,
            can_demote: true,
            can_demote_owner: false,
            has_admins: true,
            can_readd: true,
            quota: Quota::per_second(100.0),
            // Listing rooms (and joined rooms) is documented at 50/s.
            rooms_quota: Some(Quota::per_second(50.0)),
            member_page_size: PAGE_SIZE,
            // Numbered pages, but fetched in order: the server does not
            // sort members, so pages asked at once can overlap [doc].
            page_style: PageStyle::Cursor,
            // Usernames are case-insensitive [doc].
            id_fold: IdFold::AsciiLowercase,
            can_remove_owner: false,
            owner_rule: Some(OWNER_RULE),
            ..Capabilities::default()
        }
    }

    fn validate_user(&self, user: &UserId) -> Result<(), String> {
        let u = user.as_str();
        if u.is_empty() || u.len() > 64 {
            return Err(format!(
                "Agora usernames are 1 to 64 characters long (this one has {})",
                u.chars().count()
            ));
        }
        if let Some(c) = u
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            return Err(format!(
                "`{c}` is not allowed: Agora usernames use only letters a-z and A-Z, digits 0-9, `_`, `-` and `.`"
            ));
        }
        Ok(())
    }

    async fn rooms(&self, page: PageRequest) -> Result<Page<Room>, ProviderError> {
        const OP: &str = "GET /chatrooms";
        // Current docs take 1..=1000, an older one 1..=100: ask for at most 100.
        let limit = page.size.unwrap_or(ROOM_PAGE).clamp(1, ROOM_PAGE);
        let mut query = vec![("limit", limit.to_string())];
        if let Some(PageToken(c)) = &page.token {
            query.push(("cursor", c.clone()));
        }
        let env: Envelope<OneOrMany<RoomItem>> = self
            .call(Method::GET, OP, "/chatrooms", &query, None)
            .await?;
        let items: Vec<Room> = env
            .data
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
            .into_iter()
            .filter_map(to_room)
            .collect();
        // A null, absent or empty cursor ends the list; so does an empty
        // page or the same cursor coming back.
        let next = env
            .cursor
            .filter(|c| !c.is_empty() && !items.is_empty())
            .filter(|c| page.token.as_ref().is_none_or(|t| &t.0 != c))
            .map(PageToken);
        Ok(Page {
            items,
            next,
            total: None,
        })
    }

    async fn room(&self, room: &RoomId) -> Result<Room, ProviderError> {
        Ok(room_of(room, &self.detail(room).await?))
    }

    async fn members(
        &self,
        room: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Member>, ProviderError> {
        let op = format!("GET /chatrooms/{room}/users");
        let max = self.member_page_max.load(Ordering::Relaxed);
        let asked = page.size.unwrap_or(max).clamp(1, max);
        let at = match &page.token {
            None => PagePos {
                num: 1,
                size: asked,
            },
            Some(PageToken(t)) => PagePos::parse(t).ok_or_else(|| {
                ProviderError::new(
                    NAME,
                    &op,
                    ErrorKind::BadRequest,
                    format!("bad page token `{}`", crate::text::escape(t)),
                )
            })?,
        };
        // The first page also reads the room's count (concurrently): it is
        // the total shown, and it tells a short last page from a server
        // that gives fewer rows a page than asked.
        let (rows, total, at) = if at.num == 1 {
            let (rows, detail) = tokio::join!(self.first_member_rows(room, at), self.detail(room));
            let total = match detail {
                Ok(d) => room_of(room, &d).member_count,
                Err(e) if e.is_retryable() || e.is_unavailable() => return Err(e),
                // The count only informs: a refusal leaves it unknown.
                Err(_) => None,
            };
            let (rows, at) = rows?;
            (rows, total, at)
        } else {
            (self.member_rows(room, at).await?, None, at)
        };
        let n = rows.len() as u32;
        let next = match at.num {
            _ if n == 0 => None,
            _ if n >= at.size => Some(at.size),
            // Short first page, but the room has more (or its count is
            // unknown): the server's real page size is `n`; ask the rest at
            // that size (an empty page ends the list).
            1 if total.is_none_or(|t| t > u64::from(n)) => Some(n),
            _ => None,
        }
        .map(|size| {
            PageToken(
                PagePos {
                    num: at.num + 1,
                    size,
                }
                .to_string(),
            )
        });
        // Admins are listed as plain members: join the admin list in.
        let admins = if rows.iter().any(|r| r.member.is_some()) {
            self.paging_admins(room).await?
        } else {
            Arc::default()
        };
        Ok(Page {
            items: join_admins(rows, &admins),
            next,
            total,
        })
    }

    /// Owners from the room detail (`owner` and any `{"owner":…}`
    /// affiliation), admins from `GET …/admin`: two calls, whatever the size.
    async fn staff(&self, room: &RoomId) -> Result<Vec<Member>, ProviderError> {
        let detail = self.detail(room).await?;
        Ok(staff_of(detail, self.admins(room).await?))
    }

    /// One detail call serves both: its `owner`/`affiliations` name the owners.
    async fn room_and_staff(&self, room: &RoomId) -> Result<(Room, Vec<Member>), ProviderError> {
        let detail = self.detail(room).await?;
        let found = room_of(room, &detail);
        Ok((found, staff_of(detail, self.admins(room).await?)))
    }

    /// One batch as the engine sent it. A size refusal ("… maxSize : 60")
    /// changes nothing on the server, so the batch is sent again in chunks
    /// of the size the server named (servers take 60 or 100). Should a later
    /// chunk fail for good, the error goes back to the engine; its retry
    /// reads users already removed as `already_absent`.
    async fn remove(&self, room: &RoomId, users: &[UserId]) -> Result<Vec<Outcome>, ProviderError> {
        self.forget_admins(room);
        let mut done: Vec<Outcome> = Vec::with_capacity(users.len());
        let mut queue: VecDeque<Vec<UserId>> = VecDeque::from([users.to_vec()]);
        while let Some(chunk) = queue.pop_front() {
            match self.remove_batch(room, &chunk).await {
                Ok(rows) => done.extend(rows),
                Err(e) => match errors::max_size(&e) {
                    Some(n) if n < chunk.len() => {
                        for part in chunk.chunks(n).rev() {
                            queue.push_front(part.to_vec());
                        }
                    }
                    _ => return Err(e),
                },
            }
        }
        Ok(done)
    }

    async fn demote(
        &self,
        room: &RoomId,
        users: &[Demotion],
    ) -> Result<Vec<Outcome>, ProviderError> {
        let mut rows = Vec::with_capacity(users.len());
        for d in users {
            rows.push(self.demote_one(room, &d.user, d.role).await?);
        }
        Ok(rows)
    }

    async fn readd(&self, room: &RoomId, users: &[Restore]) -> Result<Vec<Outcome>, ProviderError> {
        self.forget_admins(room);
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<&str> = users.iter().map(|r| r.user.as_str()).collect();
        let added = self.add_members(room, &names).await?;
        let mut out: Vec<Outcome> = users
            .iter()
            .map(|r| {
                let o = Outcome::new(room, &r.user, Action::Readd, Status::Readded);
                let key = r.user.as_str().to_ascii_lowercase();
                if let Some(why) = added.refused.get(&key) {
                    o.with_status(Status::Failed).with_reason(why.clone())
                } else if added.added.contains(&key) {
                    o
                } else {
                    // Members already in the room count as success [doc];
                    // the answer may leave them out of `newmembers`.
                    o.with_reason("not listed in newmembers; the call succeeded, so taken as already a member")
                }
            })
            .collect();
        // Re-promote admins; the admin list first, so a retried call does
        // not promote twice.
        let want_admin: Vec<usize> = users
            .iter()
            .enumerate()
            .filter(|(i, r)| r.role == Role::Admin && out[*i].status == Status::Readded)
            .map(|(i, _)| i)
            .collect();
        if !want_admin.is_empty() {
            let admins: HashSet<String> = self
                .admins(room)
                .await?
                .iter()
                .map(|a| a.to_ascii_lowercase())
                .collect();
            let op = format!("POST /chatrooms/{room}/admin");
            let path = http::path(NAME, &op, &["chatrooms", room.as_str(), "admin"])?;
            for i in want_admin {
                let user = users[i].user.as_str();
                if admins.contains(&user.to_ascii_lowercase()) {
                    out[i].reason = Some("re-added; already an admin".into());
                    continue;
                }
                let body = wire::NewAdmin { newadmin: user };
                match self
                    .call::<Envelope<OneOrMany<AdminChange>>>(
                        Method::POST,
                        &op,
                        &path,
                        &[],
                        Some(json(&body)),
                    )
                    .await
                {
                    Ok(env) => {
                        let result = env
                            .data
                            .map(OneOrMany::into_vec)
                            .and_then(|mut v| v.pop())
                            .map(|d| d.result)
                            .unwrap_or(serde_json::Value::Null);
                        if wire::truthy(&result) {
                            out[i].reason = Some("re-added and re-promoted to admin".into());
                        } else {
                            out[i].status = Status::Failed;
                            out[i].reason = Some(format!(
                                "re-added as member; re-promoting to admin answered result: {result}"
                            ));
                        }
                    }
                    // The engine retries the whole call: re-adding is
                    // idempotent and admins already promoted are skipped.
                    Err(e) if e.is_retryable() || e.is_unavailable() => return Err(e),
                    Err(e) => {
                        out[i].status = Status::Failed;
                        out[i].reason = Some(format!(
                            "re-added as member; re-promoting to admin failed: {e}"
                        ));
                    }
                }
            }
        }
        for (o, r) in out.iter_mut().zip(users) {
            if o.status == Status::Readded {
                o.role = Some(if r.role == Role::Admin {
                    Role::Admin
                } else {
                    Role::Member
                });
            }
            if r.role == Role::Owner && o.status == Status::Readded {
                o.reason = Some(
                    "re-added as member: Agora cannot restore the owner role in place; transfer ownership in the provider's console"
                        .into(),
                );
            }
        }
        Ok(out)
    }
}

impl Agora {
    /// Demotes one admin (owners cannot be demoted in place on Agora).
    async fn demote_one(
        &self,
        room: &RoomId,
        user: &UserId,
        role: Role,
    ) -> Result<Outcome, ProviderError> {
        self.forget_admins(room);
        let outcome = |status| Outcome::new(room, user, Action::Demote, status);
        if role == Role::Owner {
            return Ok(outcome(Status::Skipped).with_reason(
                "owners cannot be demoted in place on Agora; transfer ownership in the provider's console first",
            ));
        }
        let op = format!("DELETE /chatrooms/{room}/admin/{{user}}");
        let path = format!(
            "/chatrooms/{}/admin/{}",
            segment(&op, room.as_str())?,
            segment(&op, user.as_str())?
        );
        let env: Envelope<OneOrMany<AdminChange>> =
            self.call(Method::DELETE, &op, &path, &[], None).await?;
        let result = env
            .data
            .map(OneOrMany::into_vec)
            .and_then(|mut v| v.pop())
            .map(|d| d.result)
            .unwrap_or(serde_json::Value::Null);
        Ok(if wire::truthy(&result) {
            outcome(Status::Demoted)
                .with_reason("admin -> member")
                .with_role(Some(Role::Member))
        } else {
            outcome(Status::Failed).with_reason(format!("the provider answered result: {result}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_encode_once() {
        assert_eq!(segment("op", "user_1.a-b").unwrap(), "user_1.a-b");
        assert_eq!(segment("op", "a,b c").unwrap(), "a%2Cb%20c");
        assert!(segment("op", "..").is_err());
    }
}
