//! A stateful fake Amity / social.plus REST server on loopback.
//!
//! It serves a sandbox [`World`](roomwarden::provider::sandbox::world::World)
//! on both surfaces of `providers/amity.md`, on one port:
//!
//! - **chat channels** (one world room = one channel, same id):
//!   `GET /api/v3/channels`, `GET /api/v3/channels/{id}`,
//!   `GET /api/v4/channels/{id}/users`, `DELETE|POST /api/v3/channels/{id}/users`,
//!   `POST|DELETE /api/v3/channels/{id}/users/roles`;
//! - **live-stream rooms** (one world room = one room, same id):
//!   `GET /api/v1/rooms`, `GET /api/v1/rooms/{id}`,
//!   `DELETE /api/v1/rooms/{id}/participants` `{"participantUserId"}`.
//!
//! Common to both: `Authorization: Bearer <token>` (else 401 code 400100),
//! errors as `{"status":"error","code":N,"message":"...","data":{"detail":[]}}`,
//! token paging with `options[limit]` (1..=100, default 10) and
//! `options[token]` (opaque standard base64 with `+`, `/` and `=`, so a
//! client that does not percent-encode it is caught; at most 1,000 chars),
//! answered in `paging.next`. Query strings are decoded as forms (`+` is a
//! space), keys too, so `options%5Blimit%5D` and `options[limit]` both work.
//!
//! How the world maps [inf unless marked]:
//! - channel roles: owners carry `channel-owner` ([D] a 2026 use-case page)
//!   or, with [`OwnerRoles::Moderator`], `channel-moderator`; admins carry
//!   `channel-moderator` [V]; members none. Display names come in `users[]`.
//! - a deactivated world room is a channel with `isDeleted: true`, and a
//!   live room with `status: "ended"`.
//! - live rooms: a room's participants are only its host and co-hosts
//!   [V]. Owners are participants of type `host` (or only the room's
//!   `createdBy`, [`Options::host_listed`]), admins co-hosts (`coHost` as the
//!   live docs spell it [V], or `user` as the spec schema does,
//!   [`CoHostType`]). The world's plain members are not in a live room
//!   (viewers and chatters are not participants): they are not listed, and
//!   removing one answers as for anyone else who is not a participant.
//!   `users` side-loads the participants.
//!
//! `userIds` for the batch calls are read from a JSON body (what the TS
//! SDK sends [V]) or from the query string (what the spec says [V]): repeated
//! `userIds=`, `userIds[]=` or `userIds[N]=`. More than [`Options::max_ids`]
//! ids (100 [V]) or none is a 400; an id over 50 chars is a 400 [V]. The demote
//! role is read as `role` (body or query). For the DELETE calls,
//! [`Options::delete_params`] can make the server read only the query (the
//! spec) or only the body (the TS SDK). Member role filters accept
//! `role`, `role[]`, `roles` and `roles[]` (the spec and the SDK disagree),
//! or with [`Options::role_filter`] only the spec's or only the SDK's.
//!
//! Switches in [`Options`] cover the places the sources leave open: the
//! rate-limit answer's shape, a non-member in a removal, the last
//! moderator refusal (400317), the last page's `next`, the host's listing,
//! the co-host type spelling and removing a non-participant.
//!
//! Every request calls `world.take_fault(users_in_call)` once, so injected
//! rate limits, server errors and refused credentials reach the client;
//! `world.faults.latency` delays every answer. Every request is recorded
//! ([`Fake::requests`], [`Fake::seen`]) with the route it matched, so tests
//! can assert that an adapter used no other route.
//!
//! Self-contained (roomwarden, axum, tokio, serde_json, std) so that
//! benches can include it with `#[path = "../tests/fakes/amity.rs"]`.
#![allow(dead_code, clippy::result_large_err)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use roomwarden::model::{Member, Role, RoomId, UserId};
use roomwarden::provider::sandbox::world::{self, Fault, SharedWorld, World, WorldRoom};
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How an injected rate limit is answered. The spec pairs HTTP 429 with
/// code 400311 "RateLimit Exceed." [V]; one Web UIKit constant file has a
/// gateway-level code 429000 [V]; a 400311 under another status is [inf]
/// (a client should read the code as well as the status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitShape {
    /// 429 with code 400311.
    Spec,
    /// 429 with code 429000.
    Gateway,
    /// 400 with code 400311.
    CodeOnly,
}

/// What a channel removal answers for a user who is not a member
/// (undocumented: a gap in the sources).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonMember {
    /// No `channelUsers` entry for them: there is no membership record to
    /// return [inf].
    Omitted,
    /// A no-op success with an entry `membership: "none"`, as for a removed
    /// member: the contract's working assumption (§2.6). The default.
    NoneRow,
    /// The whole call is refused with 404 code 400400 "User Not Found." and
    /// nothing is removed [inf].
    Reject,
}

/// How world owners appear in `channelUsers[].roles`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerRoles {
    /// `["channel-owner"]` [D].
    ChannelOwner,
    /// `["channel-moderator"]`: a server without an owner role.
    Moderator,
}

/// How the last page ends: `paging.next` null or absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastNext {
    Null,
    Absent,
}

/// The participant type of a co-host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoHostType {
    /// `coHost` (live docs and the seed) [V].
    CoHost,
    /// `user` (the spec schema) [V].
    User,
}

/// What removing a user who is not a participant of a live room answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotParticipant {
    /// 404 code 400400 "User Not Found." [inf]. The default.
    NotFound,
    /// 200 with the room, unchanged [inf].
    NoOp,
}

/// Where the DELETE calls (remove users, remove role) read `userIds` and
/// `role`: the spec puts them in the query, the TS SDK in a JSON body [V].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteParams {
    /// The body if it has them, else the query. The default.
    Either,
    /// The query only, as the spec documents; a body is ignored.
    Query,
    /// The JSON body only, as the TS SDK sends; the query is ignored.
    Body,
}

/// Which spellings of the member list's role filter the server reads: the
/// spec names it `role[]`, the TS SDK sends `roles` [V]. A spelling not
/// read is ignored (the list comes unfiltered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleFilter {
    /// `role`, `role[]`, `roles` and `roles[]`. The default.
    Any,
    /// `role` / `role[]` only, as the spec names it.
    Spec,
    /// `roles` / `roles[]` only, as the TS SDK sends it.
    Sdk,
}

/// Switches for the places where the sources disagree or are silent.
#[derive(Clone, Debug)]
pub struct Options {
    /// The admin token accepted as `Authorization: Bearer`.
    pub token: String,
    /// Users per batch call (100 [V]).
    pub max_ids: usize,
    pub rate_limit: RateLimitShape,
    /// Send `Retry-After` (whole seconds) on rate limits when the world's
    /// fault carries a hint; Amity documents none, so off by default.
    pub retry_after_header: bool,
    pub non_member: NonMember,
    /// Refuse a removal or demote that would leave a channel without a
    /// `channel-moderator` (code 400317 USER_IS_LAST_MODERATOR [V]; its use
    /// on channels and its HTTP status are [inf]). Off by default.
    pub last_moderator: bool,
    /// HTTP status of the 400317 refusal (not documented; 400 by default).
    pub last_moderator_status: u16,
    pub owner_roles: OwnerRoles,
    pub last_next: LastNext,
    /// Owners listed as `host` participants (the `host` type is [inf]);
    /// when off, the room's `createdBy` is the only sign of its host.
    pub host_listed: bool,
    pub cohost_type: CoHostType,
    pub not_participant: NotParticipant,
    pub delete_params: DeleteParams,
    pub role_filter: RoleFilter,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            token: "fake-amity-admin-token-6d1c0ffee".into(),
            max_ids: 100,
            rate_limit: RateLimitShape::Spec,
            retry_after_header: false,
            non_member: NonMember::NoneRow,
            last_moderator: false,
            last_moderator_status: 400,
            owner_roles: OwnerRoles::ChannelOwner,
            last_next: LastNext::Null,
            host_listed: true,
            cohost_type: CoHostType::CoHost,
            not_participant: NotParticipant::NotFound,
            delete_params: DeleteParams::Either,
            role_filter: RoleFilter::Any,
        }
    }
}

/// Where a call's `userIds` came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdsFrom {
    None,
    Body,
    Query,
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The raw path, as sent.
    pub path: String,
    /// The raw query string, as sent.
    pub query: String,
    /// The route it matched, e.g. `DELETE /api/v3/channels/{id}/users`, or
    /// `unknown`.
    pub route: &'static str,
    /// Users the call carried.
    pub ids: usize,
    pub ids_from: IdsFrom,
    /// The answer's HTTP status.
    pub status: u16,
}

/// Every route the fake serves, by name.
pub const ROUTES: &[&str] = &[
    LIST_CHANNELS,
    GET_CHANNEL,
    LIST_CHANNEL_USERS,
    REMOVE_CHANNEL_USERS,
    ADD_CHANNEL_USERS,
    ADD_ROLE,
    REMOVE_ROLE,
    LIST_ROOMS,
    GET_ROOM,
    REMOVE_PARTICIPANT,
];
pub const LIST_CHANNELS: &str = "GET /api/v3/channels";
pub const GET_CHANNEL: &str = "GET /api/v3/channels/{id}";
pub const LIST_CHANNEL_USERS: &str = "GET /api/v4/channels/{id}/users";
pub const REMOVE_CHANNEL_USERS: &str = "DELETE /api/v3/channels/{id}/users";
pub const ADD_CHANNEL_USERS: &str = "POST /api/v3/channels/{id}/users";
pub const ADD_ROLE: &str = "POST /api/v3/channels/{id}/users/roles";
pub const REMOVE_ROLE: &str = "DELETE /api/v3/channels/{id}/users/roles";
pub const LIST_ROOMS: &str = "GET /api/v1/rooms";
pub const GET_ROOM: &str = "GET /api/v1/rooms/{id}";
pub const REMOVE_PARTICIPANT: &str = "DELETE /api/v1/rooms/{id}/participants";
pub const UNKNOWN: &str = "unknown";

const LOG_CAP: usize = 10_000;
const MODERATOR: &str = "channel-moderator";
const OWNER: &str = "channel-owner";
const TIME: &str = "2024-05-01T10:00:00.000Z";

struct Inner {
    world: SharedWorld,
    options: Options,
    log: Mutex<VecDeque<Seen>>,
    unauthorized: AtomicUsize,
}

/// A running fake; the server stops when this is dropped.
pub struct Fake {
    base_url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    /// `http://127.0.0.1:PORT` (the profile's `base_url`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
    /// The admin token the server accepts.
    pub fn token(&self) -> &str {
        &self.inner.options.token
    }
    pub fn options(&self) -> &Options {
        &self.inner.options
    }
    pub fn world(&self) -> &SharedWorld {
        &self.inner.world
    }
    /// Requests as received: `METHOD /raw/path?query` (the most recent 10,000).
    pub fn requests(&self) -> Vec<String> {
        lock(&self.inner.log)
            .iter()
            .map(|s| {
                if s.query.is_empty() {
                    format!("{} {}", s.method, s.path)
                } else {
                    format!("{} {}?{}", s.method, s.path, s.query)
                }
            })
            .collect()
    }
    /// Requests with the route each matched (the most recent 10,000).
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.inner.log).iter().cloned().collect()
    }
    /// Routes used so far, each once, in first-use order.
    pub fn routes_used(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for s in lock(&self.inner.log).iter() {
            if !out.contains(&s.route) {
                out.push(s.route);
            }
        }
        out
    }
    /// Requests answered 401 because of the token (not injected faults).
    pub fn unauthorized(&self) -> usize {
        self.inner.unauthorized.load(Ordering::SeqCst)
    }
    pub fn clear_log(&self) {
        lock(&self.inner.log).clear();
    }
}

/// Starts the fake on a random loopback port.
pub async fn start(world: SharedWorld, options: Options) -> Fake {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let inner = Arc::new(Inner {
        world,
        options,
        log: Mutex::new(VecDeque::new()),
        unauthorized: AtomicUsize::new(0),
    });
    let app = Router::new().fallback(handle).with_state(inner.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Fake {
        base_url: format!("http://{addr}"),
        inner,
        task,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---- routing ---------------------------------------------------------------

enum Route {
    ListChannels,
    GetChannel(String),
    ChannelUsers(String),
    RemoveUsers(String, Vec<String>),
    AddUsers(String, Vec<String>),
    AddRole(String, String, Vec<String>),
    RemoveRole(String, String, Vec<String>),
    ListRooms,
    GetRoom(String),
    RemoveParticipant(String, String),
}

impl Route {
    fn name(&self) -> &'static str {
        match self {
            Route::ListChannels => LIST_CHANNELS,
            Route::GetChannel(_) => GET_CHANNEL,
            Route::ChannelUsers(_) => LIST_CHANNEL_USERS,
            Route::RemoveUsers(..) => REMOVE_CHANNEL_USERS,
            Route::AddUsers(..) => ADD_CHANNEL_USERS,
            Route::AddRole(..) => ADD_ROLE,
            Route::RemoveRole(..) => REMOVE_ROLE,
            Route::ListRooms => LIST_ROOMS,
            Route::GetRoom(_) => GET_ROOM,
            Route::RemoveParticipant(..) => REMOVE_PARTICIPANT,
        }
    }

    fn users_in_call(&self) -> usize {
        match self {
            Route::RemoveUsers(_, u)
            | Route::AddUsers(_, u)
            | Route::AddRole(_, _, u)
            | Route::RemoveRole(_, _, u) => u.len(),
            Route::RemoveParticipant(..) => 1,
            _ => 0,
        }
    }
}

/// What routing learned besides the route: where the ids came from.
struct Parsed {
    route: Route,
    ids_from: IdsFrom,
}

async fn handle(
    State(s): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = world::InFlight::enter(&s.world);
    let latency = world::lock(&s.world).faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let query = Query::parse(uri.query().unwrap_or(""));
    let body = json_body(&headers, &body);
    let parsed = route(&s.options, &method, uri.path(), &query, &body);
    // The token is checked before anything else about the request.
    let (route, ids, ids_from, resp) = if !bearer_ok(&s, &headers) {
        s.unauthorized.fetch_add(1, Ordering::SeqCst);
        let name = match &parsed {
            Ok(p) => p.route.name(),
            Err((name, _)) => name,
        };
        (name, 0, IdsFrom::None, error(401, 400100, "Unauthorized"))
    } else {
        match parsed {
            Ok(p) => {
                let name = p.route.name();
                let ids = p.route.users_in_call();
                let resp = answer(&s, p.route, &query);
                (name, ids, p.ids_from, resp)
            }
            Err((name, resp)) => (name, 0, IdsFrom::None, resp),
        }
    };
    let mut log = lock(&s.log);
    if log.len() >= LOG_CAP {
        log.pop_front();
    }
    log.push_back(Seen {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        route,
        ids,
        ids_from,
        status: resp.status().as_u16(),
    });
    resp
}

/// The body as JSON when it is declared JSON; otherwise nothing (a server
/// reads no body it was not told is JSON).
fn json_body(headers: &HeaderMap, body: &[u8]) -> Option<Value> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !is_json || body.is_empty() {
        return None;
    }
    serde_json::from_slice(body).ok()
}

type Refused = (&'static str, Response);

fn route(
    o: &Options,
    method: &Method,
    path: &str,
    q: &Query,
    body: &Option<Value>,
) -> Result<Parsed, Refused> {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| decode(s, false))
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let plain = |route| {
        Ok(Parsed {
            route,
            ids_from: IdsFrom::None,
        })
    };
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["api", "v3", "channels"]) => plain(Route::ListChannels),
        ("GET", ["api", "v3", "channels", id]) => plain(Route::GetChannel(id.to_string())),
        ("GET", ["api", "v4", "channels", id, "users"]) => {
            plain(Route::ChannelUsers(id.to_string()))
        }
        ("DELETE", ["api", "v3", "channels", id, "users"]) => {
            let (q, body) = delete_params(o, q, body);
            let (ids, from) = user_ids(o, q, body).map_err(|r| (REMOVE_CHANNEL_USERS, r))?;
            Ok(Parsed {
                route: Route::RemoveUsers(id.to_string(), ids),
                ids_from: from,
            })
        }
        ("POST", ["api", "v3", "channels", id, "users"]) => {
            let (ids, from) = user_ids(o, q, body).map_err(|r| (ADD_CHANNEL_USERS, r))?;
            Ok(Parsed {
                route: Route::AddUsers(id.to_string(), ids),
                ids_from: from,
            })
        }
        ("POST" | "DELETE", ["api", "v3", "channels", id, "users", "roles"]) => {
            let (name, (q, body)) = if method == Method::POST {
                (ADD_ROLE, (q, body))
            } else {
                (REMOVE_ROLE, delete_params(o, q, body))
            };
            let (ids, from) = user_ids(o, q, body).map_err(|r| (name, r))?;
            let role = body
                .as_ref()
                .and_then(|b| b.get("role"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| q.first("role").map(str::to_string));
            let Some(role) = role.filter(|r| !r.is_empty()) else {
                return Err((name, bad_request("\"role\" is required")));
            };
            let route = if method == Method::POST {
                Route::AddRole(id.to_string(), role, ids)
            } else {
                Route::RemoveRole(id.to_string(), role, ids)
            };
            Ok(Parsed {
                route,
                ids_from: from,
            })
        }
        ("GET", ["api", "v1", "rooms"]) => plain(Route::ListRooms),
        ("GET", ["api", "v1", "rooms", id]) => plain(Route::GetRoom(id.to_string())),
        ("DELETE", ["api", "v1", "rooms", id, "participants"]) => {
            let user = body
                .as_ref()
                .and_then(|b| b.get("participantUserId"))
                .and_then(Value::as_str);
            match user {
                Some(u) if !u.is_empty() && u.chars().count() <= 50 => {
                    plain(Route::RemoveParticipant(id.to_string(), u.to_string()))
                }
                Some(_) => Err((
                    REMOVE_PARTICIPANT,
                    bad_request("\"participantUserId\" must be 1 to 50 characters"),
                )),
                None => Err((
                    REMOVE_PARTICIPANT,
                    bad_request("\"participantUserId\" is required in a JSON body"),
                )),
            }
        }
        _ => Err((UNKNOWN, error(404, 400400, "Resource Not Found."))),
    }
}

/// What a DELETE call's parameters are read from ([`DeleteParams`]).
fn delete_params<'a>(
    o: &Options,
    q: &'a Query,
    body: &'a Option<Value>,
) -> (&'a Query, &'a Option<Value>) {
    static EMPTY_QUERY: Query = Query { pairs: Vec::new() };
    static NO_BODY: Option<Value> = None;
    match o.delete_params {
        DeleteParams::Either => (q, body),
        DeleteParams::Query => (q, &NO_BODY),
        DeleteParams::Body => (&EMPTY_QUERY, body),
    }
}

/// `userIds` from the JSON body, else from the query (`userIds`,
/// `userIds[]`, `userIds[N]`), checked against the documented limits.
fn user_ids(
    o: &Options,
    q: &Query,
    body: &Option<Value>,
) -> Result<(Vec<String>, IdsFrom), Response> {
    let from_body = body
        .as_ref()
        .and_then(|b| b.get("userIds"))
        .map(|v| match v {
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>(),
            _ => None,
        });
    let (ids, from) = match from_body {
        Some(Some(ids)) => (ids, IdsFrom::Body),
        Some(None) => return Err(bad_request("\"userIds\" must be an array of strings")),
        None => {
            let ids: Vec<String> = q
                .pairs
                .iter()
                .filter(|(k, _)| is_array_key(k, "userIds"))
                .map(|(_, v)| v.clone())
                .collect();
            (ids, IdsFrom::Query)
        }
    };
    if ids.is_empty() {
        return Err(bad_request("\"userIds\" must contain at least 1 items"));
    }
    if ids.len() > o.max_ids {
        return Err(bad_request(&format!(
            "\"userIds\" must contain less than or equal to {} items",
            o.max_ids
        )));
    }
    if ids.iter().any(|u| u.is_empty() || u.chars().count() > 50) {
        return Err(bad_request(
            "\"userIds\" items must be 1 to 50 characters long",
        ));
    }
    Ok((ids, from))
}

/// `name`, `name[]` or `name[N]`.
fn is_array_key(key: &str, name: &str) -> bool {
    match key.strip_prefix(name) {
        Some("") | Some("[]") => true,
        Some(rest) => rest
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

fn bearer_ok(s: &Inner, headers: &HeaderMap) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    !given.is_empty() && given == s.options.token
}

fn answer(s: &Inner, route: Route, q: &Query) -> Response {
    let fault = world::lock(&s.world).take_fault(route.users_in_call());
    match fault {
        Some(Fault::Unauthorized) => return error(401, 400100, "Unauthorized"),
        Some(Fault::RateLimited(hint)) => {
            let (status, code) = match s.options.rate_limit {
                RateLimitShape::Spec => (429, 400311),
                RateLimitShape::Gateway => (429, 429000),
                RateLimitShape::CodeOnly => (400, 400311),
            };
            let mut resp = error(status, code, "RateLimit Exceed.");
            if let Some(h) = hint.filter(|_| s.options.retry_after_header) {
                let secs = h.as_secs() + u64::from(h.subsec_nanos() > 0);
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            return resp;
        }
        Some(Fault::ServerError) => return error(500, 500000, "Unexpected error"),
        None => {}
    }
    let o = &s.options;
    let mut w = world::lock(&s.world);
    let result = match route {
        Route::ListChannels => list_channels(o, &w, q),
        Route::GetChannel(id) => get_channel(&w, &id),
        Route::ChannelUsers(id) => channel_users(o, &w, &id, q),
        Route::RemoveUsers(id, users) => remove_users(o, &mut w, &id, &users),
        Route::AddUsers(id, users) => add_users(o, &mut w, &id, &users),
        Route::AddRole(id, role, users) => add_role(o, &mut w, &id, &role, &users),
        Route::RemoveRole(id, role, users) => remove_role(o, &mut w, &id, &role, &users),
        Route::ListRooms => list_rooms(o, &w, q),
        Route::GetRoom(id) => get_room(o, &w, &id),
        Route::RemoveParticipant(id, user) => remove_participant(o, &mut w, &id, &user),
    };
    result.unwrap_or_else(|e| e)
}

// ---- answers ---------------------------------------------------------------

fn json_response(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// The error envelope of the spec (`global/error.yaml`).
pub fn error(status: u16, code: u32, message: &str) -> Response {
    json_response(
        status,
        json!({"status": "error", "code": code, "message": message, "data": {"detail": []}}),
    )
}

fn bad_request(detail: &str) -> Response {
    json_response(
        400,
        json!({
            "status": "error",
            "code": 400000,
            "message": "Bad Request.",
            "data": {"detail": [detail]},
        }),
    )
}

fn channel_missing() -> Response {
    error(404, 400400, "Channel Not Found.")
}

fn room_missing() -> Response {
    error(404, 400400, "Resource Not Found.")
}

/// A 24-hex-digit internal id derived from a public one (FNV-1a).
fn internal_id(kind: u8, id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(kind);
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}{h:016x}", h as u32 ^ 0x64be_1f6c)
}

fn find<'a>(w: &'a World, id: &str) -> Option<&'a WorldRoom> {
    w.room(&RoomId::from(id))
}

/// Paging parameters: `options[limit]` (1..=100, default 10) and
/// `options[token]`. The token carries the position and the page size, so
/// a next-page request may send the token alone (as the TS SDK does [V]).
struct Paging {
    limit: usize,
    from: usize,
}

fn paging(q: &Query, scope: &str) -> Result<Paging, Response> {
    let token = q.first("options[token]").filter(|t| !t.is_empty());
    let limit = match q.first("options[limit]") {
        None => None,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Some(n),
            _ => {
                return Err(bad_request(
                    "\"options.limit\" must be an integer from 1 to 100",
                ));
            }
        },
    };
    let Some(token) = token else {
        return Ok(Paging {
            limit: limit.unwrap_or(10),
            from: 0,
        });
    };
    if token.len() > 1000 {
        return Err(bad_request(
            "\"options.token\" length must be less than or equal to 1000 characters long",
        ));
    }
    let parsed = base64_decode(token)
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(|v| v.get("scope").and_then(Value::as_str) == Some(scope));
    let Some(v) = parsed else {
        return Err(bad_request("\"options.token\" is not a valid token"));
    };
    let num = |k: &str| v.get(k).and_then(Value::as_u64).map(|n| n as usize);
    match (num("after"), num("limit")) {
        (Some(from), Some(l)) => Ok(Paging {
            limit: limit.unwrap_or(l),
            from,
        }),
        _ => Err(bad_request("\"options.token\" is not a valid token")),
    }
}

/// An opaque next-page token: standard base64 (with `+`, `/` and padding)
/// of a small JSON object.
fn token(scope: &str, after: usize, limit: usize) -> String {
    // The fixed `k` field makes the encoding carry `+`, `/` and `=`.
    base64_encode(
        json!({"k": "?>~?>>", "scope": scope, "after": after, "limit": limit, "pad": "x"})
            .to_string()
            .as_bytes(),
    )
}

fn with_paging(o: &Options, mut body: Map<String, Value>, next: Option<String>) -> Value {
    let mut p = Map::new();
    match (next, o.last_next) {
        (Some(t), _) => {
            p.insert("next".into(), json!(t));
        }
        (None, LastNext::Null) => {
            p.insert("next".into(), Value::Null);
        }
        (None, LastNext::Absent) => {}
    }
    // The TS SDK reads `previous`, the spec names it `prev` [V]: send both.
    p.insert("previous".into(), Value::Null);
    p.insert("prev".into(), Value::Null);
    body.insert("paging".into(), Value::Object(p));
    Value::Object(body)
}

// ---- channels --------------------------------------------------------------

fn channel_json(r: &WorldRoom) -> Value {
    let iid = internal_id(1, r.id.as_str());
    json!({
        "_id": iid,
        "channelId": r.id.as_str(),
        "channelPublicId": r.id.as_str(),
        "channelInternalId": iid,
        "type": "community",
        "displayName": r.name,
        "tags": [],
        "metadata": {},
        "isMuted": false,
        "isRateLimited": false,
        "memberCount": r.len(),
        "messageCount": 0,
        "isDeleted": !r.active,
        "isPublic": true,
        "notificationMode": "default",
        "lastActivity": TIME,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": TIME,
    })
}

fn channel_roles(o: &Options, role: Option<Role>) -> Vec<&'static str> {
    match role {
        Some(Role::Owner) => match o.owner_roles {
            OwnerRoles::ChannelOwner => vec![OWNER],
            OwnerRoles::Moderator => vec![MODERATOR],
        },
        Some(Role::Admin) => vec![MODERATOR],
        _ => vec![],
    }
}

/// A `channelUsers` entry; `role` `None` means not a member.
fn channel_user_json(o: &Options, channel: &str, user: &str, role: Option<Role>) -> Value {
    let ciid = internal_id(1, channel);
    json!({
        "userId": user,
        "userPublicId": user,
        "userInternalId": internal_id(2, user),
        "channelId": channel,
        "channelPublicId": channel,
        "channelInternalId": ciid,
        "membership": if role.is_some() { "member" } else { "none" },
        "isBanned": false,
        "isMuted": false,
        "muteTimeout": null,
        "roles": channel_roles(o, role),
        "permissions": [],
        "readToSegment": 0,
        "lastMentionedSegment": 0,
        "lastActivity": TIME,
        "createdAt": "2024-01-02T00:00:00.000Z",
        "updatedAt": TIME,
    })
}

/// A `users` entry (network-level roles, none here). A member without a
/// display name has none in the answer.
fn user_json(user: &str, name: Option<&str>) -> Value {
    let iid = internal_id(2, user);
    let mut v = json!({
        "_id": iid,
        "userId": user,
        "userPublicId": user,
        "userInternalId": iid,
        "roles": [],
        "permissions": [],
        "metadata": {},
        "isGlobalBan": false,
        "isBrand": false,
        "flagCount": 0,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-01T00:00:00.000Z",
    });
    if let (Some(n), Some(m)) = (name, v.as_object_mut()) {
        m.insert("displayName".into(), json!(n));
    }
    v
}

/// One user in a `Channels` answer: id, role now (`None`: not a member)
/// and display name.
type Row = (String, Option<Role>, Option<String>);

/// A `Channels` payload (non-paged answers): the channel, one
/// `channelUsers` entry per row, their `users`.
fn channels_payload(o: &Options, r: &WorldRoom, rows: &[Row]) -> Response {
    let cu: Vec<Value> = rows
        .iter()
        .map(|(u, role, _)| channel_user_json(o, r.id.as_str(), u, *role))
        .collect();
    let us: Vec<Value> = rows
        .iter()
        .map(|(u, _, name)| user_json(u, name.as_deref()))
        .collect();
    json_response(
        200,
        json!({
            "channels": [channel_json(r)],
            "channelUsers": cu,
            "users": us,
            "files": [],
            "messagePreviews": [],
            "messageFeedsInfo": [],
        }),
    )
}

/// A row for a user as the room holds them now.
fn row(r: &WorldRoom, user: &str) -> Row {
    let m = r.get(&UserId::from(user));
    (
        user.to_string(),
        m.map(|m| m.role),
        m.and_then(|m| m.name.as_deref().map(str::to_string)),
    )
}

fn list_channels(o: &Options, w: &World, q: &Query) -> Result<Response, Response> {
    let p = paging(q, "channels")?;
    let deleted = match q.first("isDeleted") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(bad_request("\"isDeleted\" must be a boolean")),
    };
    let keyword = q.first("keyword").map(str::to_lowercase);
    let all: Vec<&WorldRoom> = w
        .rooms()
        .iter()
        .filter(|r| deleted.is_none_or(|d| d != r.active))
        .filter(|r| {
            keyword
                .as_deref()
                .is_none_or(|k| r.name.to_lowercase().contains(k))
        })
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(p.from)
        .take(p.limit)
        .map(|r| channel_json(r))
        .collect();
    let end = p.from.saturating_add(page.len());
    let next = (end < all.len()).then(|| token("channels", end, p.limit));
    let mut body = Map::new();
    body.insert("channels".into(), Value::Array(page));
    // An admin token is a member of none of these channels.
    body.insert("channelUsers".into(), json!([]));
    body.insert("users".into(), json!([]));
    body.insert("files".into(), json!([]));
    Ok(json_response(200, with_paging(o, body, next)))
}

fn get_channel(w: &World, id: &str) -> Result<Response, Response> {
    let r = find(w, id).ok_or_else(channel_missing)?;
    Ok(json_response(
        200,
        json!({
            "channels": [channel_json(r)],
            "channelUsers": [],
            "users": [],
            "files": [],
            "messagePreviews": [],
            "messageFeedsInfo": [],
        }),
    ))
}

fn channel_users(o: &Options, w: &World, id: &str, q: &Query) -> Result<Response, Response> {
    let r = find(w, id).ok_or_else(channel_missing)?;
    let scope = format!("users:{id}");
    let p = paging(q, &scope)?;
    let memberships: Vec<&str> = q
        .pairs
        .iter()
        .filter(|(k, _)| is_array_key(k, "memberships"))
        .map(|(_, v)| v.as_str())
        .collect();
    for m in &memberships {
        if !["member", "banned", "muted"].contains(m) {
            return Err(bad_request(
                "\"memberships\" items must be one of member, banned, muted",
            ));
        }
    }
    // Nobody is banned or muted in the world.
    let wants_members = memberships.is_empty() || memberships.contains(&"member");
    let roles: Vec<&str> = q
        .pairs
        .iter()
        .filter(|(k, _)| match o.role_filter {
            RoleFilter::Any => is_array_key(k, "role") || is_array_key(k, "roles"),
            RoleFilter::Spec => is_array_key(k, "role"),
            RoleFilter::Sdk => is_array_key(k, "roles"),
        })
        .map(|(_, v)| v.as_str())
        .collect();
    if roles.len() > 20 {
        return Err(bad_request(
            "\"roles\" must contain less than or equal to 20 items",
        ));
    }
    let search = q.first("search").map(str::to_lowercase);
    let filtered = !roles.is_empty() || search.is_some();
    let keep = |m: &Member| {
        let role_ok = roles.is_empty()
            || channel_roles(o, Some(m.role))
                .iter()
                .any(|r| roles.contains(r));
        let search_ok = search.as_deref().is_none_or(|s| {
            m.user.as_str().to_lowercase().contains(s)
                || m.name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(s))
        });
        role_ok && search_ok
    };
    let (members, next_slot) = if !wants_members {
        (Vec::new(), None)
    } else if !filtered {
        r.slice_from(p.from, p.limit)
    } else {
        // One present member at a time, so the token can resume right
        // after the last one returned.
        let mut out = Vec::new();
        let mut pos = Some(p.from);
        while let Some(at) = pos {
            if out.len() >= p.limit {
                break;
            }
            let (one, next) = r.slice_from(at, 1);
            out.extend(one.into_iter().filter(|m| keep(m)));
            pos = next;
        }
        (out, pos)
    };
    let cu: Vec<Value> = members
        .iter()
        .map(|m| channel_user_json(o, id, m.user.as_str(), Some(m.role)))
        .collect();
    let us: Vec<Value> = members
        .iter()
        .map(|m| user_json(m.user.as_str(), m.name.as_deref()))
        .collect();
    let next = next_slot.map(|n| token(&scope, n, p.limit));
    let mut body = Map::new();
    body.insert("channels".into(), json!([channel_json(r)]));
    body.insert("channelUsers".into(), Value::Array(cu));
    body.insert("users".into(), Value::Array(us));
    body.insert("files".into(), json!([]));
    Ok(json_response(200, with_paging(o, body, next)))
}

/// Holders of `channel-moderator` among present members.
fn moderators(o: &Options, r: &WorldRoom) -> Vec<UserId> {
    r.members()
        .filter(|m| channel_roles(o, Some(m.role)).contains(&MODERATOR))
        .map(|m| m.user.clone())
        .collect()
}

/// The 400317 refusal when `leaving` takes away every moderator left.
fn last_moderator_check(o: &Options, r: &WorldRoom, leaving: &[String]) -> Result<(), Response> {
    if !o.last_moderator {
        return Ok(());
    }
    let mods = moderators(o, r);
    if !mods.is_empty() && mods.iter().all(|m| leaving.iter().any(|l| l == m.as_str())) {
        return Err(error(
            o.last_moderator_status,
            400317,
            "User is the last moderator of the channel.",
        ));
    }
    Ok(())
}

fn remove_users(
    o: &Options,
    w: &mut World,
    id: &str,
    users: &[String],
) -> Result<Response, Response> {
    let r = w.room_mut(&RoomId::from(id)).ok_or_else(channel_missing)?;
    let any_absent = users
        .iter()
        .any(|u| r.get(&UserId::from(u.as_str())).is_none());
    if o.non_member == NonMember::Reject && any_absent {
        return Err(error(404, 400400, "User Not Found."));
    }
    last_moderator_check(o, r, users)?;
    let mut rows = Vec::new();
    for u in users {
        let (_, was, name) = row(r, u);
        r.remove(&UserId::from(u.as_str()));
        if was.is_some() || o.non_member == NonMember::NoneRow {
            rows.push((u.clone(), None, name));
        }
    }
    Ok(channels_payload(o, r, &rows))
}

fn add_users(o: &Options, w: &mut World, id: &str, users: &[String]) -> Result<Response, Response> {
    let r = w.room_mut(&RoomId::from(id)).ok_or_else(channel_missing)?;
    let mut rows = Vec::new();
    for u in users {
        // Adding a present member changes nothing [inf].
        r.add(Member::new(u.as_str(), None, Role::Member));
        rows.push(row(r, u));
    }
    Ok(channels_payload(o, r, &rows))
}

fn add_role(
    o: &Options,
    w: &mut World,
    id: &str,
    role: &str,
    users: &[String],
) -> Result<Response, Response> {
    let r = w.room_mut(&RoomId::from(id)).ok_or_else(channel_missing)?;
    let target = match role {
        MODERATOR => Role::Admin,
        OWNER if o.owner_roles == OwnerRoles::ChannelOwner => Role::Owner,
        // Custom roles exist [V]; the world cannot hold them [inf].
        _ => {
            return Err(bad_request(&format!(
                "role \"{role}\" is not supported here"
            )));
        }
    };
    let mut rows = Vec::new();
    for u in users {
        let uid = UserId::from(u.as_str());
        match r.get(&uid).map(|m| m.role) {
            // Not a member: no entry [inf].
            None => continue,
            // Never lowers a role: an owner given the moderator role stays owner.
            Some(now) if now <= target => {}
            Some(_) => {
                r.set_role(&uid, target);
            }
        }
        rows.push(row(r, u));
    }
    Ok(channels_payload(o, r, &rows))
}

fn remove_role(
    o: &Options,
    w: &mut World,
    id: &str,
    role: &str,
    users: &[String],
) -> Result<Response, Response> {
    let r = w.room_mut(&RoomId::from(id)).ok_or_else(channel_missing)?;
    if role == MODERATOR {
        let losing: Vec<String> = users
            .iter()
            .filter(|u| {
                r.get(&UserId::from(u.as_str()))
                    .is_some_and(|m| channel_roles(o, Some(m.role)).contains(&MODERATOR))
            })
            .cloned()
            .collect();
        last_moderator_check(o, r, &losing)?;
    }
    let mut rows = Vec::new();
    for u in users {
        let uid = UserId::from(u.as_str());
        let Some(now) = r.get(&uid).map(|m| m.role) else {
            continue;
        };
        if channel_roles(o, Some(now)).contains(&role) {
            r.set_role(&uid, Role::Member);
        }
        rows.push(row(r, u));
    }
    Ok(channels_payload(o, r, &rows))
}

// ---- live rooms ------------------------------------------------------------

fn participant_type(o: &Options, role: Role) -> Option<&'static str> {
    match role {
        Role::Owner if o.host_listed => Some("host"),
        Role::Owner => None,
        Role::Admin => Some(match o.cohost_type {
            CoHostType::CoHost => "coHost",
            CoHostType::User => "user",
        }),
        // Not a participant: a viewer or chatter at most.
        Role::Member => None,
    }
}

fn host_of(r: &WorldRoom) -> Option<&Member> {
    r.members().find(|m| m.role == Role::Owner)
}

fn room_json(o: &Options, r: &WorldRoom) -> Value {
    let participants: Vec<Value> = r
        .members()
        .filter_map(|m| {
            participant_type(o, m.role).map(|t| {
                json!({
                    "type": t,
                    "userId": m.user.as_str(),
                    "userInternalId": internal_id(2, m.user.as_str()),
                })
            })
        })
        .collect();
    let creator = host_of(r).map(|m| m.user.to_string());
    let has_cohosts = r.members().any(|m| m.role == Role::Admin);
    json!({
        "_id": internal_id(3, r.id.as_str()),
        "roomId": r.id.as_str(),
        "type": if has_cohosts { "coHosts" } else { "directStreaming" },
        "status": if r.active { "live" } else { "ended" },
        "title": r.name,
        "description": "",
        "targetType": "community",
        "targetId": format!("c-{}", r.id),
        "liveChannelId": format!("live-{}", r.id),
        "liveChatEnabled": true,
        "participants": participants,
        "createdBy": creator,
        "creatorInternalId": creator.as_deref().map(|c| internal_id(2, c)),
        "parentRoomId": null,
        "childRoomIds": [],
        "isDeleted": false,
        "createdAt": "2023-11-07T05:31:56Z",
        "updatedAt": "2023-11-07T05:31:56Z",
        "metadata": {},
    })
}

/// `users` for a set of rooms: their host and co-hosts.
fn room_users(rooms: &[&WorldRoom]) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for r in rooms {
        for m in r.members().filter(|m| m.role.is_staff()) {
            if seen.insert(m.user.clone()) {
                out.push(user_json(m.user.as_str(), m.name.as_deref()));
            }
        }
    }
    out
}

fn list_rooms(o: &Options, w: &World, q: &Query) -> Result<Response, Response> {
    let p = paging(q, "rooms")?;
    let statuses: Vec<&str> = q
        .pairs
        .iter()
        .filter(|(k, _)| is_array_key(k, "statuses"))
        .map(|(_, v)| v.as_str())
        .collect();
    let all: Vec<&WorldRoom> = w
        .rooms()
        .iter()
        .filter(|r| {
            let status = if r.active { "live" } else { "ended" };
            statuses.is_empty() || statuses.contains(&status)
        })
        .collect();
    let page: Vec<&WorldRoom> = all.iter().skip(p.from).take(p.limit).copied().collect();
    let end = p.from.saturating_add(page.len());
    let next = (end < all.len()).then(|| token("rooms", end, p.limit));
    let mut body = Map::new();
    body.insert(
        "rooms".into(),
        Value::Array(page.iter().map(|r| room_json(o, r)).collect()),
    );
    body.insert("roomChildrens".into(), json!([]));
    body.insert("users".into(), Value::Array(room_users(&page)));
    body.insert("files".into(), json!([]));
    Ok(json_response(200, with_paging(o, body, next)))
}

fn room_payload(o: &Options, r: &WorldRoom) -> Response {
    let users = room_users(&[r]);
    json_response(
        200,
        json!({
            "rooms": [room_json(o, r)],
            "roomChildrens": [],
            "users": users,
            "files": [],
        }),
    )
}

fn get_room(o: &Options, w: &World, id: &str) -> Result<Response, Response> {
    let r = find(w, id).ok_or_else(room_missing)?;
    Ok(room_payload(o, r))
}

fn remove_participant(
    o: &Options,
    w: &mut World,
    id: &str,
    user: &str,
) -> Result<Response, Response> {
    let r = w.room_mut(&RoomId::from(id)).ok_or_else(room_missing)?;
    let uid = UserId::from(user);
    match r.get(&uid).map(|m| m.role) {
        // [inf]: what a server answers for the host is not documented.
        Some(Role::Owner) => Err(error(
            400,
            400000,
            "The host cannot be removed from the room.",
        )),
        Some(Role::Admin) => {
            r.remove(&uid);
            Ok(room_payload(o, r))
        }
        // A plain member is not a participant.
        Some(Role::Member) | None => match o.not_participant {
            NotParticipant::NotFound => Err(error(404, 400400, "User Not Found.")),
            NotParticipant::NoOp => Ok(room_payload(o, r)),
        },
    }
}

// ---- query strings and base64 ----------------------------------------------

/// A parsed query string: every `key=value` pair in order, both decoded as
/// a form (`%XX` and `+` for a space).
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(q: &str) -> Self {
        let pairs = q
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k, true), decode(v, true)),
                None => (decode(p, true), String::new()),
            })
            .collect();
        Self { pairs }
    }

    pub fn first(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Percent-decodes once; in a form, `+` is a space. Bad escapes stay.
fn decode(s: &str, form: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
            i += 3;
        } else if form && b[i] == b'+' {
            out.push(b' ');
            i += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for chunk in s.as_bytes().chunks(4) {
        let mut n = 0u32;
        let mut pad = 0;
        for (i, &c) in chunk.iter().enumerate() {
            let v = if c == b'=' {
                pad += 1;
                0
            } else {
                if pad > 0 {
                    return None;
                }
                B64.iter().position(|&x| x == c)? as u32
            };
            n |= v << (18 - 6 * i);
        }
        if pad > 2 {
            return None;
        }
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    Some(out)
}
