//! A stateful fake IMKit (FUNTEK) chat server on loopback.
//!
//! It serves a sandbox [`World`](roomwarden::provider::sandbox::world::World)
//! in the wire format of `providers/imkit.md`:
//!
//! - auth: the platform key `IM-API-KEY` (legacy alias `API_KEY`), or client
//!   mode `IM-CLIENT-KEY` + `IM-Authorization` user token (legacy aliases
//!   `CLIENT_KEY` / `Authorization`); `GET /rooms` needs `IM-CLIENT-ID`
//!   [V], by default also with the platform key, and lists that client's
//!   rooms [V `inspect.query`] (switches for the [gap]);
//! - every answer is the `{RC, RM, result}` envelope, RC 0 = success [V];
//!   error bodies in either documented shape ([`ErrorShape`]);
//! - `GET /rooms?skip&limit&sort` with `totalCount` (limit 0 or absent =
//!   unlimited) [V]; without a `sort`, the last message first [inf]
//!   ([`Fake::post_message`]);
//! - `GET /rooms/:id`: the whole room, members and all [V];
//! - `POST /rooms/:id/delete/members` `{members, systemMessage}`: the whole
//!   call fails if any id is not a member [I];
//! - `PUT /rooms/:id/member/:client` `{property: "role", value}` [V];
//! - `PUT /rooms/:id` `{managers: [...]}` (whole-array replace) or
//!   `{owner: id}` [V];
//! - `POST /rooms/:id/members` `{invitees, invitationRequired, systemMessage}` [V];
//!   by default one invitee who is already a member fails the whole call [I];
//! - change answers hold `_id, name, members[], id` only, as the official
//!   examples, unless [`Options::minimal_change_answers`] is off.
//!
//! The world holds one role per member; IMKit has two admin mechanisms
//! (the `managers` array and `memberProperties[].role == "admin"`). The
//! fake keeps its own record of which mechanism(s) each admin is under
//! ([`Via`]); a world admin without a record gets one by [`AdminVia`] the
//! first time the fake looks at its room. An admin is an admin while either
//! mechanism holds; the world role follows.
//!
//! IMKit has one owner per room (`owner`): the first world owner is it;
//! further world owners are shown as admins under `managers` [inf].
//! Deactivated world rooms answer `status: 0` [inf: the docs name the
//! field `status` 0|1 without saying what 0 means].
//!
//! Every request calls `world.take_fault(users_in_call)` once, so injected
//! rate limits (429 with a `retryAfter` body field, optionally a
//! `Retry-After` header), server errors and refused credentials reach the
//! client; `world.faults.latency` delays every answer. Every request is
//! logged ([`Fake::requests`], [`Fake::calls`]).
//!
//! Self-contained (roomwarden, axum, tokio, serde_json, std) so that
//! benches can include it with `#[path = "../tests/fakes/imkit.rs"]`.
#![allow(dead_code, clippy::result_large_err)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use roomwarden::model::{Member, Role, RoomId, UserId};
use roomwarden::provider::sandbox::world::{self, Fault, SharedWorld, WorldRoom};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The platform key the fake accepts by default.
pub const API_KEY: &str = "fake-imkit-api-key-5b1e0c";
/// The client key the fake accepts by default.
pub const CLIENT_KEY: &str = "fake-imkit-client-key-93d2";

/// Which error body the server sends. The docs show both: the envelope
/// with an `error` object on 401/403/404 [D], and unwrapped
/// `{"error": CODE, "message": ...}` bodies on the API-key page [D].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorShape {
    /// `{"RC": 404, "RM": "...", "error": {"code": "...", "message": "..."}}`
    Envelope,
    /// `{"RC": 404, "RM": "..."}` (the legacy model: no `error` object).
    EnvelopeBare,
    /// `{"error": "ROOM_NOT_FOUND", "message": "..."}` (no RC/RM at all).
    Unwrapped,
}

/// How `owner` is serialized: a populated Client object in answers, a
/// client id string in the stored schema [V]; which one a server sends on
/// `GET /rooms/:id` is not pinned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerShape {
    Object,
    IdString,
}

/// Which mechanism world admins get when the fake first sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminVia {
    /// Every admin in `managers`.
    Managers,
    /// Every admin by `memberProperties[].role == "admin"`.
    Role,
    /// Both at once.
    Both,
    /// By position among the room's admins: managers, role, both, managers, ...
    Alternate,
}

/// The admin mechanisms one member is under.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Via {
    pub managers: bool,
    pub role: bool,
}

impl Via {
    pub const MANAGERS: Via = Via {
        managers: true,
        role: false,
    };
    pub const ROLE: Via = Via {
        managers: false,
        role: true,
    };
    pub const BOTH: Via = Via {
        managers: true,
        role: true,
    };
    pub fn is_admin(self) -> bool {
        self.managers || self.role
    }
}

/// Switches for the places where the docs disagree or are silent.
#[derive(Clone, Debug)]
pub struct Options {
    /// The platform key (`IM-API-KEY`).
    pub api_key: String,
    /// The client key (`IM-CLIENT-KEY`).
    pub client_key: String,
    /// User tokens (`IM-Authorization`) and the client id each belongs to.
    pub tokens: Vec<(String, String)>,
    pub error_shape: ErrorShape,
    /// Answer errors with HTTP 200 and only a non-zero RC (legacy servers
    /// put the code in RC; whether the HTTP status follows is not pinned) [inf].
    pub errors_as_http_200: bool,
    pub owner_shape: OwnerShape,
    pub admin_via: AdminVia,
    /// Send `retryAfter` (seconds, fractional under a second) in the 429
    /// body when the world's fault carries a hint [D].
    pub retry_after_body: bool,
    /// Also send a `Retry-After` header (not documented) [inf].
    pub retry_after_header: bool,
    /// `GET /rooms` with the platform key and no `IM-CLIENT-ID` lists every
    /// room of the app (true, the old default) or is refused with 400 like
    /// client mode (false, the default: the header is "Required by GET
    /// /rooms" [V]; whether the key alone lists all rooms is a [gap]).
    pub api_key_lists_all_rooms: bool,
    /// `GET /rooms` with the platform key and an `IM-CLIENT-ID`: the rooms
    /// that client is a member of (true, the default: `inspect.query` shows
    /// `members: <caller>` [V]), or every room of the app, the id serving
    /// only for unread counts (false) [gap].
    pub client_id_scopes_platform_list: bool,
    /// Change answers (removal, re-add, role and room updates) carry only
    /// `_id`, `name`, `members[]` and `id`, as the official examples do
    /// (true, the default); `owner`, `managers` and `memberProperties` in
    /// them are only [I]. False answers the whole room.
    pub minimal_change_answers: bool,
    /// `POST /rooms/:id/members` naming a user who is already a member
    /// fails the whole call, nothing added (true, the default: the
    /// analogous removal may fail whole for one bad id [I]); false accepts
    /// it. Not documented [gap].
    pub add_refuses_members: bool,
    /// Embed `members` in `GET /rooms` entries (the docs' list example does) [V].
    pub list_embeds_members: bool,
    /// Fault switch: answer `PUT /rooms/:id {managers}` with success but
    /// change nothing (so tests can check that a demote is judged by a
    /// re-read, not by the answer's RC).
    pub ignore_managers_update: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            api_key: API_KEY.into(),
            client_key: CLIENT_KEY.into(),
            tokens: Vec::new(),
            error_shape: ErrorShape::Envelope,
            errors_as_http_200: false,
            owner_shape: OwnerShape::Object,
            admin_via: AdminVia::Alternate,
            retry_after_body: true,
            retry_after_header: false,
            api_key_lists_all_rooms: false,
            client_id_scopes_platform_list: true,
            minimal_change_answers: true,
            add_refuses_members: true,
            list_embeds_members: true,
            ignore_managers_update: false,
        }
    }
}

/// Who a request acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    Platform,
    Client(String),
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    /// The raw path (still percent-encoded).
    pub path: String,
    pub query: Option<String>,
    /// Names of the headers sent, lower case (values are not kept).
    pub headers: Vec<String>,
    /// The JSON body (`Null` when absent or unreadable).
    pub body: Value,
}

impl Call {
    pub fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// A system message the server posted (only when asked, or for
/// `assignAdmin`, which is automatic [V]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemMessage {
    pub room: String,
    /// `deleteMember`, `leaveRoom`, `addMember` or `assignAdmin`.
    pub kind: String,
    pub members: Vec<String>,
}

const LOG_CAP: usize = 20_000;

struct Inner {
    world: SharedWorld,
    options: Options,
    /// room -> member -> mechanisms, for admins only.
    admins: Mutex<HashMap<RoomId, HashMap<UserId, Via>>>,
    /// room -> users invited with `invitationRequired: true`, not yet members.
    pending: Mutex<HashMap<RoomId, Vec<String>>>,
    calls: Mutex<Vec<Call>>,
    messages: Mutex<Vec<SystemMessage>>,
    /// room -> when its last message was posted (a tick of `clock`).
    last_message: Mutex<HashMap<RoomId, u64>>,
    clock: AtomicU64,
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
    pub fn options(&self) -> &Options {
        &self.inner.options
    }
    pub fn world(&self) -> &SharedWorld {
        &self.inner.world
    }
    /// Requests as received: `METHOD /raw/path?query` (the most recent 20,000).
    pub fn requests(&self) -> Vec<String> {
        lock(&self.inner.calls)
            .iter()
            .map(|c| match &c.query {
                Some(q) => format!("{} {}?{q}", c.method, c.path),
                None => format!("{} {}", c.method, c.path),
            })
            .collect()
    }
    /// Requests with their header names and JSON bodies.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.inner.calls).clone()
    }
    /// System messages posted so far.
    pub fn messages(&self) -> Vec<SystemMessage> {
        lock(&self.inner.messages).clone()
    }
    /// Someone posts a message in a room: it becomes the room's
    /// `lastMessage` (and moves first in `GET /rooms` without a `sort`).
    pub fn post_message(&self, room: &str) {
        touch(&self.inner, room);
    }
    /// Requests refused for their credentials (not injected faults).
    pub fn unauthorized(&self) -> usize {
        self.inner.unauthorized.load(Ordering::SeqCst)
    }
    /// Users invited with `invitationRequired: true` who have not accepted.
    pub fn pending(&self, room: &str) -> Vec<String> {
        lock(&self.inner.pending)
            .get(&RoomId::from(room))
            .cloned()
            .unwrap_or_default()
    }
    /// The admin mechanisms a member is under now (`None`: not an admin).
    pub fn admin_via(&self, room: &str, user: &str) -> Option<Via> {
        let w = world::lock(&self.inner.world);
        let r = w.room(&RoomId::from(room))?;
        let mut admins = lock(&self.inner.admins);
        let rec = sync(&self.inner.options, &mut admins, r);
        rec.get(&UserId::from(user)).copied()
    }
    /// Puts a present member under exactly these admin mechanisms (an empty
    /// [`Via`] makes it a plain member). The owner stays owner.
    pub fn set_admin_via(&self, room: &str, user: &str, via: Via) {
        let mut w = world::lock(&self.inner.world);
        let Some(r) = w.room_mut(&RoomId::from(room)) else {
            return;
        };
        let mut admins = lock(&self.inner.admins);
        let rec = sync(&self.inner.options, &mut admins, r);
        let u = UserId::from(user);
        apply_via(r, rec, &u, via);
    }
    /// The `managers` array the server would answer for a room now.
    pub fn managers(&self, room: &str) -> Vec<String> {
        let w = world::lock(&self.inner.world);
        let Some(r) = w.room(&RoomId::from(room)) else {
            return Vec::new();
        };
        let mut admins = lock(&self.inner.admins);
        let rec = sync(&self.inner.options, &mut admins, r);
        r.members()
            .filter(|m| rec.get(&m.user).is_some_and(|v| v.managers))
            .map(|m| m.user.to_string())
            .collect()
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
        admins: Mutex::new(HashMap::new()),
        pending: Mutex::new(HashMap::new()),
        calls: Mutex::new(Vec::new()),
        messages: Mutex::new(Vec::new()),
        last_message: Mutex::new(HashMap::new()),
        clock: AtomicU64::new(0),
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

/// A message (system messages included) was posted in a room now.
fn touch(s: &Inner, room: &str) {
    let tick = s.clock.fetch_add(1, Ordering::SeqCst) + 1;
    lock(&s.last_message).insert(RoomId::from(room), tick);
}

/// Posts a system message (it is the room's last message too).
fn post(s: &Inner, m: SystemMessage) {
    touch(s, &m.room);
    lock(&s.messages).push(m);
}

// ---- admin mechanisms ---------------------------------------------------

/// Brings the fake's admin record for a room in line with the world: world
/// admins without a record get one by [`AdminVia`]; records of members the
/// world no longer holds as admins are dropped (a test may have changed
/// the world directly).
fn sync<'a>(
    o: &Options,
    all: &'a mut HashMap<RoomId, HashMap<UserId, Via>>,
    r: &WorldRoom,
) -> &'a mut HashMap<UserId, Via> {
    let rec = all.entry(r.id.clone()).or_default();
    let owner = first_owner(r);
    rec.retain(|u, via| {
        via.is_admin()
            && r.get(u).is_some_and(|m| {
                m.role == Role::Admin || (m.role == Role::Owner && owner.as_ref() != Some(u))
            })
    });
    for (i, m) in r
        .members()
        .filter(|m| m.role.is_staff() && owner.as_ref() != Some(&m.user))
        .enumerate()
    {
        if rec.contains_key(&m.user) {
            continue;
        }
        // Extra world owners are shown as managers (one owner per room).
        let via = if m.role == Role::Owner {
            Via::MANAGERS
        } else {
            match o.admin_via {
                AdminVia::Managers => Via::MANAGERS,
                AdminVia::Role => Via::ROLE,
                AdminVia::Both => Via::BOTH,
                AdminVia::Alternate => [Via::MANAGERS, Via::ROLE, Via::BOTH][i % 3],
            }
        };
        rec.insert(m.user.clone(), via);
    }
    rec
}

/// Sets a present, non-owner member's mechanisms and the world role to match.
fn apply_via(r: &mut WorldRoom, rec: &mut HashMap<UserId, Via>, u: &UserId, via: Via) {
    let Some(role) = r.get(u).map(|m| m.role) else {
        return;
    };
    if first_owner(r).as_ref() == Some(u) {
        return;
    }
    if via.is_admin() {
        rec.insert(u.clone(), via);
        if role == Role::Member {
            r.set_role(u, Role::Admin);
        }
    } else {
        rec.remove(u);
        r.set_role(u, Role::Member);
    }
}

fn first_owner(r: &WorldRoom) -> Option<UserId> {
    r.members()
        .find(|m| m.role == Role::Owner)
        .map(|m| m.user.clone())
}

// ---- plumbing -------------------------------------------------------------

fn code_for(status: u16) -> &'static str {
    match status {
        400 => "INVALID_REQUEST",
        401 => "UNAUTHORIZED",
        403 => "INSUFFICIENT_PERMISSIONS",
        404 => "NOT_FOUND",
        429 => "RATE_LIMIT_EXCEEDED",
        _ => "INTERNAL_ERROR",
    }
}

struct Err {
    status: u16,
    code: &'static str,
    message: String,
    retry_after: Option<Duration>,
}

fn err(status: u16, code: &'static str, message: impl Into<String>) -> Err {
    Err {
        status,
        code,
        message: message.into(),
        retry_after: None,
    }
}

fn json_response(status: u16, body: String) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

fn seconds(d: Duration) -> Value {
    if d.subsec_nanos() == 0 {
        json!(d.as_secs())
    } else {
        json!(d.as_secs_f64())
    }
}

fn error_response(o: &Options, e: Err) -> Response {
    let mut body = match o.error_shape {
        ErrorShape::Envelope => json!({
            "RC": e.status, "RM": e.message,
            "error": {"code": e.code, "message": e.message},
        }),
        ErrorShape::EnvelopeBare => json!({"RC": e.status, "RM": e.message}),
        ErrorShape::Unwrapped => json!({"error": e.code, "message": e.message}),
    };
    if let (Some(d), true) = (e.retry_after, o.retry_after_body) {
        body["retryAfter"] = seconds(d);
    }
    // A 429 keeps its status: only "real" errors may come back as 200.
    let status = if o.errors_as_http_200 && e.status != 429 {
        200
    } else {
        e.status
    };
    let mut resp = json_response(status, body.to_string());
    if let (Some(d), true) = (e.retry_after, o.retry_after_header) {
        let v = match seconds(d) {
            Value::Number(n) => n.to_string(),
            _ => "1".into(),
        };
        if let Ok(h) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(header::RETRY_AFTER, h);
        }
    }
    resp
}

fn ok(result: String) -> Response {
    json_response(200, format!(r#"{{"RC":0,"RM":"OK","result":{result}}}"#))
}

fn header<'a>(h: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| h.get(*n))
        .and_then(|v| v.to_str().ok())
}

enum Route {
    ListRooms,
    Room(String),
    UpdateRoom(String),
    Remove(String, Vec<String>),
    SetRole(String, String),
    Add(String, Vec<String>),
}

fn strings(v: &Value, key: &str) -> Option<Vec<String>> {
    v.get(key)?
        .as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn route(method: &Method, path: &str, body: &Value) -> Result<Route, Err> {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let list = |key: &str| {
        strings(body, key).ok_or_else(|| {
            err(
                400,
                "INVALID_REQUEST",
                format!("{key} must be an array of ids"),
            )
        })
    };
    Ok(match (method.as_str(), segs.as_slice()) {
        ("GET", ["rooms"]) => Route::ListRooms,
        ("GET", ["rooms", id]) => Route::Room(id.to_string()),
        ("PUT", ["rooms", id]) => Route::UpdateRoom(id.to_string()),
        ("POST", ["rooms", id, "delete", "members"]) => {
            Route::Remove(id.to_string(), list("members")?)
        }
        ("PUT", ["rooms", id, "member", client]) => {
            Route::SetRole(id.to_string(), client.to_string())
        }
        ("POST", ["rooms", id, "members"]) => Route::Add(id.to_string(), list("invitees")?),
        _ => return Err(err(404, "NOT_FOUND", format!("Cannot {method} {path}"))),
    })
}

async fn handle(
    State(s): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // An express-style body parser: only JSON bodies are read.
    let is_json = header(&headers, &["content-type"]).is_some_and(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/json")
    });
    let body: Value = if is_json {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    {
        let mut calls = lock(&s.calls);
        if calls.len() >= LOG_CAP {
            calls.remove(0);
        }
        calls.push(Call {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            headers: headers
                .keys()
                .map(|k| k.as_str().to_ascii_lowercase())
                .collect(),
            body: body.clone(),
        });
    }
    let _in_flight = world::InFlight::enter(&s.world);
    let latency = world::lock(&s.world).faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let o = &s.options;
    let route = match route(&method, uri.path(), &body) {
        Ok(r) => r,
        Err(e) => return error_response(o, e),
    };
    let batch = match &route {
        Route::Remove(_, u) | Route::Add(_, u) => u.len(),
        Route::SetRole(..) => 1,
        _ => 0,
    };
    let fault = world::lock(&s.world).take_fault(batch);
    match fault {
        Some(Fault::Unauthorized) => {
            return error_response(o, err(401, "INVALID_TOKEN", "Invalid or expired token"));
        }
        Some(Fault::RateLimited(hint)) => {
            let mut e = err(
                429,
                "RATE_LIMIT_EXCEEDED",
                "Too many requests, please try again later",
            );
            e.retry_after = hint;
            return error_response(o, e);
        }
        Some(Fault::ServerError) => {
            return error_response(o, err(500, "INTERNAL_ERROR", "Internal server error"));
        }
        None => {}
    }
    let caller = match authenticate(&s, &headers) {
        Ok(c) => c,
        Err(e) => {
            s.unauthorized.fetch_add(1, Ordering::SeqCst);
            return error_response(o, e);
        }
    };
    let query = parse_query(uri.query().unwrap_or(""));
    let client_id = header(&headers, &["im-client-id"]).map(str::to_string);
    let answer = match route {
        Route::ListRooms => list_rooms(&s, &caller, client_id, &query),
        Route::Room(id) => get_room(&s, &caller, &id),
        Route::UpdateRoom(id) => update_room(&s, &caller, &id, &body),
        Route::Remove(id, users) => remove(&s, &caller, &id, &users, &body),
        Route::SetRole(id, client) => set_role(&s, &caller, &id, &client, &body),
        Route::Add(id, users) => add(&s, &caller, &id, &users, &body),
    };
    match answer {
        Ok(result) => ok(result),
        Err(e) => error_response(o, e),
    }
}

fn authenticate(s: &Inner, h: &HeaderMap) -> Result<Caller, Err> {
    let o = &s.options;
    if let Some(key) = header(h, &["im-api-key", "api_key"]) {
        return if key == o.api_key {
            Ok(Caller::Platform)
        } else {
            Err(err(401, "INVALID_API_KEY", "The API key is invalid"))
        };
    }
    let Some(client_key) = header(h, &["im-client-key", "client_key"]) else {
        return Err(err(401, "UNAUTHORIZED", "Missing credentials"));
    };
    if client_key != o.client_key {
        return Err(err(401, "INVALID_CLIENT_KEY", "The client key is invalid"));
    }
    let token = header(h, &["im-authorization", "authorization"]).unwrap_or("");
    o.tokens
        .iter()
        .find(|(t, _)| !t.is_empty() && t == token)
        .map(|(_, user)| Caller::Client(user.clone()))
        .ok_or_else(|| err(401, "INVALID_TOKEN", "Invalid or expired token"))
}

// ---- rendering ---------------------------------------------------------------

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn client_json(out: &mut String, m: &Member, i: usize) {
    let id = js(m.user.as_str());
    let _ = write!(out, r#"{{"_id":{id},"id":{id}"#);
    if let Some(n) = &m.name {
        let _ = write!(out, r#","nickname":{}"#, js(n));
    }
    let _ = write!(
        out,
        r#","avatarUrl":"","isRobot":false,"lastLoginTimeMS":{}}}"#,
        1_541_926_310_026u64 + i as u64
    );
}

/// The room as IMKit answers it: owner, managers, members, memberProperties.
fn room_json(
    o: &Options,
    rec: &HashMap<UserId, Via>,
    r: &WorldRoom,
    caller: &Caller,
    with_members: bool,
) -> String {
    let owner = r.members().find(|m| m.role == Role::Owner);
    let superuser = match caller {
        Caller::Platform => true,
        Caller::Client(u) => r
            .get(&UserId::from(u.as_str()))
            .is_some_and(|m| m.role.is_staff()),
    };
    let id = js(r.id.as_str());
    let mut out = String::with_capacity(if with_members {
        r.len() * 160 + 512
    } else {
        512
    });
    let _ = write!(
        out,
        r#"{{"_id":{id},"id":{id},"appID":"FakeApp","name":{},"roomType":"group","status":{},"opening":1"#,
        js(&r.name),
        u8::from(r.active)
    );
    match (owner, o.owner_shape) {
        (Some(m), OwnerShape::Object) => {
            let _ = write!(out, r#","owner":{{"_id":{}"#, js(m.user.as_str()));
            if let Some(n) = &m.name {
                let _ = write!(out, r#","nickname":{}"#, js(n));
            }
            out.push_str(r#","lastLoginTimeMS":0}"#);
        }
        (Some(m), OwnerShape::IdString) => {
            let _ = write!(out, r#","owner":{}"#, js(m.user.as_str()));
        }
        (None, _) => {}
    }
    out.push_str(r#","managers":["#);
    let mut first = true;
    for m in r.members() {
        if rec.get(&m.user).is_some_and(|v| v.managers) {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&js(m.user.as_str()));
        }
    }
    out.push(']');
    if with_members {
        out.push_str(r#","members":["#);
        for (i, m) in r.members().enumerate() {
            if i > 0 {
                out.push(',');
            }
            client_json(&mut out, m, i);
        }
        out.push_str(r#"],"memberProperties":["#);
        for (i, m) in r.members().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, r#"{{"client":{},"badge":0"#, js(m.user.as_str()));
            if rec.get(&m.user).is_some_and(|v| v.role) {
                out.push_str(r#","role":"admin""#);
            }
            out.push('}');
        }
        out.push(']');
    }
    let _ = write!(
        out,
        r#","unread":0,"muted":false,"isSuperuser":{superuser},"createdTimeMS":1525001412492}}"#
    );
    out
}

/// What a change answers: the room after it, minimal (`_id`, `name`,
/// `members[]`, `id`, as the official examples) or whole.
fn change_json(o: &Options, rec: &HashMap<UserId, Via>, r: &WorldRoom, caller: &Caller) -> String {
    if !o.minimal_change_answers {
        return room_json(o, rec, r, caller, true);
    }
    let id = js(r.id.as_str());
    let mut out = String::with_capacity(r.len() * 160 + 128);
    let _ = write!(out, r#"{{"_id":{id},"name":{},"members":["#, js(&r.name));
    for (i, m) in r.members().enumerate() {
        if i > 0 {
            out.push(',');
        }
        client_json(&mut out, m, i);
    }
    let _ = write!(out, r#"],"id":{id}}}"#);
    out
}

fn room_missing(id: &str) -> Err {
    err(404, "ROOM_NOT_FOUND", format!("Room {id} not found"))
}

fn is_superuser(caller: &Caller, r: &WorldRoom) -> bool {
    match caller {
        Caller::Platform => true,
        Caller::Client(u) => r
            .get(&UserId::from(u.as_str()))
            .is_some_and(|m| m.role.is_staff()),
    }
}

/// Runs `f` on a room with its synced admin record, then renders the room.
fn with_room<T>(
    s: &Inner,
    id: &str,
    f: impl FnOnce(&mut WorldRoom, &mut HashMap<UserId, Via>) -> Result<T, Err>,
) -> Result<T, Err> {
    let mut w = world::lock(&s.world);
    let r = w
        .room_mut(&RoomId::from(id))
        .ok_or_else(|| room_missing(id))?;
    let mut admins = lock(&s.admins);
    let rec = sync(&s.options, &mut admins, r);
    f(r, rec)
}

// ---- handlers --------------------------------------------------------------------

fn list_rooms(
    s: &Inner,
    caller: &Caller,
    client_id: Option<String>,
    q: &HashMap<String, String>,
) -> Result<String, Err> {
    let num = |k: &str| -> Result<usize, Err> {
        match q.get(k) {
            None => Ok(0),
            Some(v) => v.parse().map_err(|_| {
                err(
                    400,
                    "INVALID_REQUEST",
                    format!("{k} must be a non-negative integer"),
                )
            }),
        }
    };
    let (skip, limit) = (num("skip")?, num("limit")?);
    // Whose rooms: the caller's (client mode, `IM-CLIENT-ID` required [V]),
    // or every room for the platform key [gap].
    let member_of: Option<String> = match (caller, client_id) {
        (Caller::Client(_), None) => {
            return Err(err(
                400,
                "INVALID_REQUEST",
                "IM-CLIENT-ID header is required",
            ));
        }
        (Caller::Client(u), Some(_)) => Some(u.clone()),
        (Caller::Platform, Some(c)) if s.options.client_id_scopes_platform_list => Some(c),
        (Caller::Platform, Some(_)) => None,
        (Caller::Platform, None) if s.options.api_key_lists_all_rooms => None,
        (Caller::Platform, None) => {
            return Err(err(
                400,
                "INVALID_REQUEST",
                "IM-CLIENT-ID header is required",
            ));
        }
    };
    let keys = sort_keys(q.get("sort").map(String::as_str));
    let last: HashMap<RoomId, u64> = lock(&s.last_message).clone();
    let w = world::lock(&s.world);
    let mut admins = lock(&s.admins);
    // The world's order is the order of creation.
    let mut rooms: Vec<(usize, &WorldRoom)> = w
        .rooms()
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            member_of
                .as_ref()
                .is_none_or(|u| r.get(&UserId::from(u.as_str())).is_some())
        })
        .collect();
    rooms.sort_by(|(ia, a), (ib, b)| {
        for (key, descending) in &keys {
            let ord = match key {
                SortKey::CreatedTime => ia.cmp(ib),
                SortKey::LastMessage => {
                    let t = |r: &WorldRoom| last.get(&r.id).copied().unwrap_or(0);
                    t(a).cmp(&t(b))
                }
            };
            let ord = if *descending { ord.reverse() } else { ord };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    let rooms: Vec<&WorldRoom> = rooms.into_iter().map(|(_, r)| r).collect();
    let total = rooms.len();
    let take = if limit == 0 { usize::MAX } else { limit };
    let mut out = format!(r#"{{"totalCount":{total},"data":["#);
    for (i, r) in rooms.into_iter().skip(skip).take(take).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let rec = sync(&s.options, &mut admins, r);
        out.push_str(&room_json(
            &s.options,
            rec,
            r,
            caller,
            s.options.list_embeds_members,
        ));
    }
    let members_q = member_of.map(|u| js(&u)).unwrap_or_else(|| "null".into());
    let _ = write!(
        out,
        r#"],"inspect":{{"query":{{"members":{members_q}}},"skip":{skip},"limit":{limit}}}}}"#
    );
    Ok(out)
}

#[derive(Clone, Copy)]
enum SortKey {
    CreatedTime,
    LastMessage,
}

/// `sort`: keys by whitespace (or `+`), each descending with a leading
/// `-` [V: `-lastMessage -createdTime`]; unknown keys are ignored. Without
/// a `sort` the most recent message comes first [inf], so a room with new
/// activity moves ahead between two pages.
fn sort_keys(sort: Option<&str>) -> Vec<(SortKey, bool)> {
    let Some(sort) = sort else {
        return vec![(SortKey::LastMessage, true)];
    };
    sort.split(|c: char| c.is_whitespace() || c == '+' || c == ',')
        .filter_map(|k| {
            let (descending, name) = match k.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, k),
            };
            match name {
                "createdTime" | "createdTimeMS" => Some((SortKey::CreatedTime, descending)),
                "lastMessage" | "lastMessageTime" => Some((SortKey::LastMessage, descending)),
                _ => None,
            }
        })
        .collect()
}

fn get_room(s: &Inner, caller: &Caller, id: &str) -> Result<String, Err> {
    with_room(s, id, |r, rec| {
        if let Caller::Client(u) = caller
            && r.get(&UserId::from(u.as_str())).is_none()
        {
            return Err(err(
                403,
                "NOT_ROOM_MEMBER",
                "You are not a member of this room",
            ));
        }
        Ok(room_json(&s.options, rec, r, caller, true))
    })
}

fn forbidden() -> Err {
    err(403, "INSUFFICIENT_PERMISSIONS", "Insufficient permissions")
}

fn update_room(s: &Inner, caller: &Caller, id: &str, body: &Value) -> Result<String, Err> {
    with_room(s, id, |r, rec| {
        // "restricted to platform admin or superuser of the room" [V].
        if !is_superuser(caller, r) {
            return Err(forbidden());
        }
        if let Some(v) = body
            .get("managers")
            .filter(|_| !s.options.ignore_managers_update)
        {
            let list = strings(body, "managers")
                .filter(|_| v.is_array())
                .ok_or_else(|| err(400, "INVALID_REQUEST", "managers must be an array of ids"))?;
            let wanted: HashSet<&str> = list.iter().map(String::as_str).collect();
            // Whole-array replace [V/inf]; ids that are not members are
            // dropped [inf]; the owner stays owner.
            let users: Vec<UserId> = r.members().map(|m| m.user.clone()).collect();
            for u in users {
                let was = rec.get(&u).copied().unwrap_or_default();
                let via = Via {
                    managers: wanted.contains(u.as_str()),
                    role: was.role,
                };
                if via != was {
                    apply_via(r, rec, &u, via);
                }
            }
        }
        if let Some(owner) = body.get("owner") {
            let new = owner
                .as_str()
                .map(UserId::from)
                .filter(|u| r.get(u).is_some())
                .ok_or_else(|| err(400, "INVALID_REQUEST", "owner must be a member id"))?;
            if let Some(old) = first_owner(r)
                && old != new
            {
                r.set_role(&old, Role::Member);
            }
            rec.remove(&new);
            r.set_role(&new, Role::Owner);
        }
        if let Some(name) = body.get("name").and_then(Value::as_str) {
            r.name = name.to_string();
        }
        if let Some(status) = body.get("status").and_then(Value::as_i64) {
            r.active = status != 0;
        }
        Ok(change_json(&s.options, rec, r, caller))
    })
}

fn system_message(body: &Value) -> bool {
    body.get("systemMessage")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn remove(
    s: &Inner,
    caller: &Caller,
    id: &str,
    users: &[String],
    body: &Value,
) -> Result<String, Err> {
    let (result, message) = with_room(s, id, |r, rec| {
        let own = |u: &str| matches!(caller, Caller::Client(c) if c == u);
        // Leaving is always allowed; removing others needs a superuser [D].
        if !users.iter().all(|u| own(u)) && !is_superuser(caller, r) {
            return Err(forbidden());
        }
        // One non-member fails the whole call; nothing is removed [I].
        let absent: Vec<&str> = users
            .iter()
            .map(String::as_str)
            .filter(|u| r.get(&UserId::from(*u)).is_none())
            .collect();
        if !absent.is_empty() {
            return Err(err(
                400,
                "NOT_ROOM_MEMBER",
                format!(
                    "members contains a user that is not in the room: {}",
                    absent.join(", ")
                ),
            ));
        }
        // Removing the owner is not documented: refused here [inf].
        if let Some(o) = first_owner(r)
            && users.iter().any(|u| u == o.as_str())
        {
            return Err(err(
                403,
                "INSUFFICIENT_PERMISSIONS",
                "The room owner cannot be removed",
            ));
        }
        for u in users {
            let u = UserId::from(u.as_str());
            rec.remove(&u);
            r.remove(&u);
        }
        let message = system_message(body).then(|| SystemMessage {
            room: id.to_string(),
            kind: if users.iter().all(|u| own(u)) {
                "leaveRoom"
            } else {
                "deleteMember"
            }
            .into(),
            members: users.to_vec(),
        });
        Ok((change_json(&s.options, rec, r, caller), message))
    })?;
    if let Some(m) = message {
        post(s, m);
    }
    Ok(result)
}

fn set_role(
    s: &Inner,
    caller: &Caller,
    id: &str,
    client: &str,
    body: &Value,
) -> Result<String, Err> {
    if body.get("property").and_then(Value::as_str) != Some("role") {
        return Err(err(400, "INVALID_REQUEST", "property must be role"));
    }
    let admin = match body.get("value").and_then(Value::as_str) {
        Some("admin") => true,
        Some("member") => false,
        _ => return Err(err(400, "INVALID_REQUEST", "value must be admin or member")),
    };
    let (result, promoted) = with_room(s, id, |r, rec| {
        if !is_superuser(caller, r) {
            return Err(forbidden());
        }
        let u = UserId::from(client);
        if r.get(&u).is_none() {
            // Text and status not documented [inf].
            return Err(err(
                404,
                "MEMBER_NOT_FOUND",
                format!("client {client} is not a member of the room"),
            ));
        }
        let was = rec.get(&u).copied().unwrap_or_default();
        apply_via(r, rec, &u, Via { role: admin, ..was });
        Ok((change_json(&s.options, rec, r, caller), admin))
    })?;
    if promoted {
        // Automatic, no flag [V].
        post(
            s,
            SystemMessage {
                room: id.to_string(),
                kind: "assignAdmin".into(),
                members: vec![client.to_string()],
            },
        );
    }
    Ok(result)
}

fn add(
    s: &Inner,
    caller: &Caller,
    id: &str,
    users: &[String],
    body: &Value,
) -> Result<String, Err> {
    // With `invitationRequired: true` the invitees must accept first [V];
    // an absent flag is treated the same way here [inf].
    let invite_only = body
        .get("invitationRequired")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let result = with_room(s, id, |r, rec| {
        if !is_superuser(caller, r) {
            return Err(forbidden());
        }
        if s.options.add_refuses_members {
            // One member among the invitees fails the whole call [I].
            let present: Vec<&str> = users
                .iter()
                .map(String::as_str)
                .filter(|u| r.get(&UserId::from(*u)).is_some())
                .collect();
            if !present.is_empty() {
                return Err(err(
                    400,
                    "INVALID_REQUEST",
                    format!(
                        "invitees contains a user that is already in the room: {}",
                        present.join(", ")
                    ),
                ));
            }
        }
        if !invite_only {
            for u in users {
                // Re-adding does not bring back a role [I].
                r.add(Member::new(u.as_str(), None, Role::Member));
            }
        }
        Ok(change_json(&s.options, rec, r, caller))
    })?;
    if invite_only {
        let mut pending = lock(&s.pending);
        let list = pending.entry(RoomId::from(id)).or_default();
        for u in users {
            if !list.contains(u) {
                list.push(u.clone());
            }
        }
    }
    if system_message(body) {
        post(
            s,
            SystemMessage {
                room: id.to_string(),
                kind: "addMember".into(),
                members: users.to_vec(),
            },
        );
    }
    Ok(result)
}

// ---- helpers -----------------------------------------------------------------------

fn parse_query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// Percent-decodes once; bad escapes stay as they are.
fn decode(s: &str) -> String {
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
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A world for IMKit: one owner per room, so every further world owner is
/// made an admin (the fake would show it under `managers` anyway).
pub fn single_owner(world: &SharedWorld) {
    let mut w = world::lock(world);
    let ids: Vec<RoomId> = w.rooms().iter().map(|r| r.id.clone()).collect();
    for id in ids {
        let r = w.room_mut(&id).expect("room exists");
        let extra: Vec<UserId> = r
            .members()
            .filter(|m| m.role == Role::Owner)
            .skip(1)
            .map(|m| m.user.clone())
            .collect();
        for u in extra {
            r.set_role(&u, Role::Admin);
        }
    }
}
