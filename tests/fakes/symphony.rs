//! A stateful fake Symphony pod: the sandbox world served in Symphony's
//! wire format on loopback (see shared/providers/symphony.md).
//!
//! Self-contained (roomwarden, axum, tokio, serde_json, jsonwebtoken, std)
//! so that benches can include it with `#[path = "../tests/fakes/symphony.rs"]`.
//!
//! What it serves:
//! - `POST /login/pubkey/authenticate` `{"token": jwt}`: verifies the RS512
//!   signature with the configured public key, `sub` = the bot's username
//!   and an expiry at most 5 minutes ahead; answers a fresh session token.
//! - Every `/pod/...` call needs a valid `sessionToken` header, else 401
//!   `{"code":401,"message":"Invalid session"}`.
//! - `POST /pod/v3/room/search?skip&limit&includeNonDiscoverable` (limit
//!   <= 100, `query` required, case-insensitive substring of the room name;
//!   empty matches all; [`Options::non_discoverable`] rooms only with
//!   `includeNonDiscoverable=true`).
//! - `POST /pod/v1/streams/list?skip&limit`: the caller's own rooms (every
//!   world room, or [`Options::own_rooms`]); inactive ones only with
//!   `includeInactiveStreams`.
//! - `POST /pod/v2/admin/streams/list?skip&limit` (limit <= 100): every
//!   room of the pod, `{count, skip, limit, filter, streams: [...]}` with
//!   `attributes.roomName` and `membersCount`.
//! - `GET /pod/v3/room/{id}/info`, `GET /pod/v2/room/{id}/membership/list`
//!   (whole list), `GET /pod/v1/admin/stream/{id}/membership/list?skip&limit`
//!   (limit <= 1000, `count` = total, user details).
//! - `POST /pod/v1/room/{id}/membership/{add|remove|promoteOwner|demoteOwner}`
//!   and `POST /pod/v1/admin/room/{id}/membership/{add|remove}` with
//!   `{"id": <int64 JSON number>}` -> `{"format":"TEXT","message":...}`;
//!   each call is logged with when it arrived and when it was answered
//!   ([`Options::change_latency`] passes between the change and the answer).
//!
//! Room ids: world rooms have 17-digit ids; here they are base64 stream ids
//! ([`stream_id`]), spelled in standard base64 (with `+`, `/`, `=`) in
//! answers. Paths must carry URL-safe base64 without padding; a path id
//! with `+`, `/` or `=` is refused with a 400, so adapters are checked.
//!
//! Where the documents are silent, the fake chooses (and says so):
//! - error texts for not-a-member, unknown room and deactivated room are
//!   not documented; the fake answers 400 with descriptive messages [inf],
//!   the not-a-member one from [`Options::not_member_message`];
//! - the remove success text is "Member removed" (spec) or "Success" (doc
//!   page): [`RemoveMessage`] picks;
//! - adding a present member: success by default, or a 400 "already a
//!   member" ([`Options::add_existing_refused`]) [inf];
//! - an empty streams page: `[]` by default, or 204 No Content
//!   ([`Options::empty_streams_no_content`]; the spec lists a 204);
//! - Retry-After is sent in seconds, fractional when the world's hint is
//!   under a second (Symphony declares no 429 at all);
//! - a POST without `Content-Type: application/json` (the spec's
//!   `consumes`) is refused with 415;
//! - streams pages may be capped below `limit` ([`Options::streams_page_cap`]).
//!
//! Faults come from the world: every request calls `take_fault(1)` once and
//! sleeps `faults.latency`.
#![allow(dead_code)]
// Handlers answer early with a ready `Response`, the usual axum shape.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use roomwarden::model::{Member, Role, RoomId, UserId};
use roomwarden::provider::sandbox::world::{self, Fault, SharedWorld, World};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The session token the fake accepts from the start (unless options say otherwise).
pub const SESSION_TOKEN: &str = "fake-symphony-session-7f3a";
/// The bot username the test key pair belongs to.
pub const BOT_USERNAME: &str = "roomwarden-bot";

/// The remove call's success text: the spec says "Member removed", the
/// documentation page shows "Success".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RemoveMessage {
    #[default]
    MemberRemoved,
    Success,
}

/// A bot account that may log in with an RS512 JWT.
#[derive(Clone, Debug)]
pub struct Bot {
    pub username: String,
    /// The public key (PEM, `PUBLIC KEY` or `RSA PUBLIC KEY`) that verifies its JWTs.
    pub public_key_pem: Vec<u8>,
}

/// Switches for the fake.
#[derive(Clone, Debug)]
pub struct Options {
    /// Session tokens valid from the start.
    pub session_tokens: Vec<String>,
    /// The bot that may log in, if any.
    pub bot: Option<Bot>,
    pub remove_message: RemoveMessage,
    /// Answer 400 "already a member" when adding a present member.
    pub add_existing_refused: bool,
    /// Answer 204 No Content for an empty streams page.
    pub empty_streams_no_content: bool,
    /// Longest JWT lifetime the login accepts.
    pub max_jwt_lifetime: Duration,
    /// `POST /pod/v1/streams/list` publishes a default (50) but no maximum
    /// [spec]; a server may answer fewer than `limit` with more to come.
    /// `Some(n)`: pages silently hold at most `n` streams [inf].
    pub streams_page_cap: Option<usize>,
    /// The rooms the session's account is a member of (world ids): the
    /// member-level streams list shows only these [spec]. `None`: all.
    pub own_rooms: Option<Vec<RoomId>>,
    /// Rooms room search shows only with `includeNonDiscoverable=true`.
    pub non_discoverable: Vec<RoomId>,
    /// Time a membership change takes on the pod after it is made, before
    /// the answer (key management work).
    pub change_latency: Duration,
    /// The 400 text for a user who is not in the room (`{user}` is
    /// replaced); Symphony documents none [inf].
    pub not_member_message: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            session_tokens: vec![SESSION_TOKEN.to_string()],
            bot: None,
            remove_message: RemoveMessage::default(),
            add_existing_refused: false,
            empty_streams_no_content: false,
            max_jwt_lifetime: Duration::from_secs(300),
            streams_page_cap: None,
            own_rooms: None,
            non_discoverable: Vec::new(),
            change_latency: Duration::ZERO,
            not_member_message: "User {user} is not a member of the room".into(),
        }
    }
}

/// One membership request the fake received (valid or not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipCall {
    /// `add`, `remove`, `promoteOwner` or `demoteOwner`.
    pub verb: String,
    /// The stream id as it appeared in the path.
    pub path_id: String,
    /// The raw JSON body.
    pub body: String,
    /// Sent to the admin endpoint (`/pod/v1/admin/room/...`).
    pub admin: bool,
    /// When the request reached the handler.
    pub arrived: std::time::Instant,
    /// When it was answered (after [`Options::change_latency`]).
    pub answered: Option<std::time::Instant>,
}

/// The fake's state, shared with the test.
pub struct Inner {
    world: SharedWorld,
    options: Options,
    tokens: Mutex<HashSet<String>>,
    logins: AtomicU64,
    login_attempts: AtomicU64,
    issued: AtomicU64,
    requests: Mutex<Vec<String>>,
    membership: Mutex<Vec<MembershipCall>>,
}

/// A running fake; the server stops when this is dropped.
pub struct Fake {
    pub base_url: String,
    pub inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    pub fn world(&self) -> &SharedWorld {
        &self.inner.world
    }
    /// Successful bot logins so far.
    pub fn logins(&self) -> u64 {
        self.inner.logins.load(Ordering::SeqCst)
    }
    /// Login requests so far, refused ones included.
    pub fn login_attempts(&self) -> u64 {
        self.inner.login_attempts.load(Ordering::SeqCst)
    }
    /// Every membership request received, in order.
    pub fn membership_calls(&self) -> Vec<MembershipCall> {
        lock(&self.inner.membership).clone()
    }
    /// Every request received, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.inner.requests).clone()
    }
    /// Ends every session: later calls with them get 401 "Invalid session".
    pub fn expire_sessions(&self) {
        lock(&self.inner.tokens).clear();
    }
    /// Accepts one more session token (e.g. one a token command prints next).
    pub fn accept_token(&self, token: &str) {
        lock(&self.inner.tokens).insert(token.to_string());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the fake on a random loopback port.
pub async fn start(world: SharedWorld, options: Options) -> Fake {
    let inner = Arc::new(Inner {
        world,
        tokens: Mutex::new(options.session_tokens.iter().cloned().collect()),
        options,
        logins: AtomicU64::new(0),
        login_attempts: AtomicU64::new(0),
        issued: AtomicU64::new(0),
        requests: Mutex::new(Vec::new()),
        membership: Mutex::new(Vec::new()),
    });
    let router = Router::new()
        .route("/login/pubkey/authenticate", post(login))
        .route("/pod/v3/room/search", post(search))
        .route("/pod/v1/streams/list", post(streams))
        .route("/pod/v3/room/{id}/info", get(room_info))
        .route("/pod/v2/room/{id}/membership/list", get(members_v2))
        .route(
            "/pod/v1/admin/stream/{id}/membership/list",
            get(members_admin),
        )
        .route("/pod/v1/room/{id}/membership/{verb}", post(membership))
        .route(
            "/pod/v1/admin/room/{id}/membership/{verb}",
            post(membership_admin),
        )
        .route("/pod/v2/admin/streams/list", post(admin_streams))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "No such endpoint") })
        .layer(middleware::from_fn_with_state(inner.clone(), gate))
        .with_state(inner.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Fake {
        base_url: format!("http://{addr}"),
        inner,
        task,
    }
}

// ---- ids -------------------------------------------------------------

const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_standard(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64_STD[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The stream id the fake shows for a world room, in standard base64 with
/// `+`, `/` and `=` padding (36 characters for a 17-digit world id). Usable
/// as the conformance suite's `room_id` mapper.
pub fn stream_id(world_room: &RoomId) -> RoomId {
    let mut bytes = vec![0xFB, 0xEF, 0xFF];
    bytes.extend_from_slice(world_room.as_str().as_bytes());
    bytes.extend_from_slice(&[0x7F, 0x80, 0x01, 0x02, 0x03]);
    RoomId::new(base64_standard(&bytes))
}

/// The URL-safe, unpadded form of a stream id (what paths carry).
pub fn url_safe(stream: &str) -> String {
    stream
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect()
}

/// The world room behind a path id, or the 400 Symphony would answer.
fn world_room(w: &World, path_id: &str) -> Result<RoomId, Response> {
    if path_id.contains(['+', '/', '=']) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid stream id {path_id}: use URL-safe base64 in paths"),
        ));
    }
    w.rooms()
        .iter()
        .find(|r| url_safe(stream_id(&r.id).as_str()) == path_id)
        .map(|r| r.id.clone())
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "Room not found"))
}

// ---- plumbing ----------------------------------------------------------

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"code": status.as_u16(), "message": message}).to_string(),
    )
        .into_response()
}

fn json_response(body: String) -> Response {
    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
}

fn text_message(message: &str) -> Response {
    json_response(json!({"format": "TEXT", "message": message}).to_string())
}

/// Counts the call, applies latency, injected faults and the session check.
async fn gate(State(inner): State<Arc<Inner>>, req: Request, next: Next) -> Response {
    let uri = req.uri();
    let line = format!(
        "{} {}{}",
        req.method(),
        uri.path(),
        uri.query().map(|q| format!("?{q}")).unwrap_or_default()
    );
    lock(&inner.requests).push(line);
    if uri.path() == "/login/pubkey/authenticate" {
        inner.login_attempts.fetch_add(1, Ordering::SeqCst);
    }
    let (fault, latency) = {
        let mut w = world::lock(&inner.world);
        (w.take_fault(1), w.faults.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        None => {}
        Some(Fault::RateLimited(hint)) => {
            let mut resp = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            if let Some(d) = hint {
                let v = if d.subsec_nanos() == 0 {
                    d.as_secs().to_string()
                } else {
                    format!("{:.3}", d.as_secs_f64())
                };
                resp.headers_mut()
                    .insert("retry-after", HeaderValue::from_str(&v).expect("header"));
            }
            return resp;
        }
        Some(Fault::ServerError) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server error, please try again later",
            );
        }
        Some(Fault::Unauthorized) => return error(StatusCode::UNAUTHORIZED, "Invalid session"),
    }
    // Every POST here `consumes: application/json` [spec]; what a pod
    // answers to another body type is not documented: 415 here [inf].
    if req.method() == axum::http::Method::POST {
        let json = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            });
        if !json {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json",
            );
        }
    }
    if req.uri().path().starts_with("/pod/") {
        let ok = req
            .headers()
            .get("sessionToken")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| lock(&inner.tokens).contains(t));
        if !ok {
            return error(StatusCode::UNAUTHORIZED, "Invalid session");
        }
    }
    next.run(req).await
}

fn paging(
    q: &HashMap<String, String>,
    default: usize,
    max: Option<usize>,
) -> Result<(usize, usize), Response> {
    let num = |k: &str, d: usize| -> Result<usize, Response> {
        match q.get(k) {
            None => Ok(d),
            Some(v) => v.parse().map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    &format!("{k} must be a non-negative integer"),
                )
            }),
        }
    };
    let skip = num("skip", 0)?;
    let limit = num("limit", default)?;
    if let Some(m) = max
        && limit > m
    {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!("limit must be at most {m}"),
        ));
    }
    Ok((skip, limit))
}

fn parse_body(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("Invalid JSON body: {e}")))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

// ---- login -------------------------------------------------------------

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

async fn login(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let Some(bot) = &inner.options.bot else {
        return error(
            StatusCode::UNAUTHORIZED,
            "Invalid JWT: no bot is registered",
        );
    };
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(jwt) = body.get("token").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "The token field is required");
    };
    let key = match jsonwebtoken::DecodingKey::from_rsa_pem(&bot.public_key_pem) {
        Ok(k) => k,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("bad key: {e}")),
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS512);
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation.sub = Some(bot.username.clone());
    validation.leeway = 0;
    let claims = match jsonwebtoken::decode::<Claims>(jwt, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => return error(StatusCode::UNAUTHORIZED, &format!("Invalid JWT: {e}")),
    };
    if claims.exp > now_secs() + inner.options.max_jwt_lifetime.as_secs() {
        return error(
            StatusCode::UNAUTHORIZED,
            "Invalid JWT: expiration is too far in the future",
        );
    }
    debug_assert_eq!(claims.sub, bot.username);
    let n = inner.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let token = format!(
        "fake-session-{n}-{:x}",
        now_secs().wrapping_mul(0x9E37_79B9)
    );
    lock(&inner.tokens).insert(token.clone());
    inner.logins.fetch_add(1, Ordering::SeqCst);
    json_response(
        json!({"name": "sessionToken", "token": token, "authorizationToken": "fake.authorization.token"})
            .to_string(),
    )
}

// ---- rooms -------------------------------------------------------------

fn room_detail(w: &World, id: &RoomId) -> Value {
    let r = w.room(id).expect("room exists");
    let creator = r
        .members()
        .find(|m| m.role == Role::Owner)
        .and_then(|m| m.user.as_str().parse::<i64>().ok())
        .unwrap_or(7_696_581_411_197);
    json!({
        "roomAttributes": {
            "name": r.name, "description": format!("The {} room", r.name),
            "membersCanInvite": true, "readOnly": false, "copyProtected": false,
            "crossPod": false, "viewHistory": false, "public": false,
            "multiLateralRoom": false, "discoverable": true
        },
        "roomSystemInfo": {
            "id": stream_id(id).as_str(), "creationDate": 1_464_615_003_895_i64,
            "createdByUserId": creator, "active": r.active
        }
    })
}

async fn search(
    State(inner): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let (skip, limit) = match paging(&q, 50, Some(100)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let criteria = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(query) = criteria.get("query").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "The query field is required");
    };
    let needle = query.to_lowercase();
    let hidden_too = q.get("includeNonDiscoverable").map(String::as_str) == Some("true");
    let w = world::lock(&inner.world);
    let matching: Vec<RoomId> = w
        .rooms()
        .iter()
        .filter(|r| r.name.to_lowercase().contains(&needle))
        .filter(|r| hidden_too || !inner.options.non_discoverable.contains(&r.id))
        .map(|r| r.id.clone())
        .collect();
    let rooms: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(limit)
        .map(|id| room_detail(&w, id))
        .collect();
    json_response(
        json!({
            "count": matching.len(), "skip": skip, "limit": limit,
            "query": criteria, "rooms": rooms, "facetedMatchCount": []
        })
        .to_string(),
    )
}

async fn streams(
    State(inner): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let (skip, limit) = match paging(&q, 50, None) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let limit = inner
        .options
        .streams_page_cap
        .map_or(limit, |cap| limit.min(cap));
    let filter = if body.is_empty() {
        Value::Null
    } else {
        match parse_body(&body) {
            Ok(b) => b,
            Err(r) => return r,
        }
    };
    let include_inactive = filter
        .get("includeInactiveStreams")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let wants_rooms = match filter.get("streamTypes").and_then(Value::as_array) {
        None => true,
        Some(types) => types
            .iter()
            .any(|t| t.get("type").and_then(Value::as_str) == Some("ROOM")),
    };
    let w = world::lock(&inner.world);
    let items: Vec<Value> = w
        .rooms()
        .iter()
        .filter(|r| wants_rooms && (include_inactive || r.active))
        .filter(|r| {
            inner
                .options
                .own_rooms
                .as_ref()
                .is_none_or(|own| own.contains(&r.id))
        })
        .skip(skip)
        .take(limit)
        .map(|r| {
            json!({
                "id": stream_id(&r.id).as_str(), "crossPod": false, "active": r.active,
                "streamType": {"type": "ROOM"}, "roomAttributes": {"name": r.name}
            })
        })
        .collect();
    if items.is_empty() && inner.options.empty_streams_no_content {
        return StatusCode::NO_CONTENT.into_response();
    }
    json_response(Value::Array(items).to_string())
}

async fn admin_streams(
    State(inner): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let (skip, limit) = match paging(&q, 50, Some(100)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let filter = if body.is_empty() {
        json!({})
    } else {
        match parse_body(&body) {
            Ok(b) => b,
            Err(r) => return r,
        }
    };
    let wants_rooms = match filter.get("streamTypes").and_then(Value::as_array) {
        None => true,
        Some(types) => types
            .iter()
            .any(|t| t.get("type").and_then(Value::as_str) == Some("ROOM")),
    };
    let w = world::lock(&inner.world);
    let all: Vec<&world::WorldRoom> = w.rooms().iter().filter(|_| wants_rooms).collect();
    let streams: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(limit)
        .map(|r| {
            json!({
                "id": stream_id(&r.id).as_str(), "isExternal": false, "isActive": r.active,
                "isPublic": false, "type": "ROOM", "crossPod": false, "origin": "INTERNAL",
                "attributes": {
                    "roomName": r.name, "roomDescription": "", "createdByUserId": 7_696_581_411_197_i64,
                    "createdDate": 1_464_615_003_895_i64, "lastModifiedDate": 1_464_615_003_895_i64,
                    "originCompany": "pod197", "originCompanyId": 197, "membersCount": r.len(),
                    "groupChat": false
                }
            })
        })
        .collect();
    json_response(
        json!({"count": all.len(), "skip": skip, "limit": limit, "filter": filter, "streams": streams})
            .to_string(),
    )
}

async fn room_info(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    let w = world::lock(&inner.world);
    match world_room(&w, &id) {
        Ok(room) => json_response(room_detail(&w, &room).to_string()),
        Err(r) => r,
    }
}

// ---- members -----------------------------------------------------------

const JOIN_BASE: i64 = 1_461_430_710_531;

async fn members_v2(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    let w = world::lock(&inner.world);
    let room = match world_room(&w, &id) {
        Ok(r) => r,
        Err(r) => return r,
    };
    json_response(v2_list_json(w.room(&room).expect("room exists")))
}

/// A room's `MemberInfo[]` list as `/pod/v2/room/{id}/membership/list`
/// answers it. Written by hand: the jumbo room has 120,000 members.
pub fn v2_list_json(r: &world::WorldRoom) -> String {
    let mut out = String::with_capacity(r.len() * 64 + 2);
    out.push('[');
    for (i, m) in r.members().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"id":{},"owner":{},"joinDate":{}}}"#,
            m.user,
            m.role == Role::Owner,
            JOIN_BASE + i as i64
        );
    }
    out.push(']');
    out
}

fn admin_member(out: &mut String, m: &Member, i: usize, creator: bool) {
    let name = m.name.as_deref().unwrap_or("");
    let (first, last) = name.split_once(' ').unwrap_or((name, ""));
    let member = json!({
        "user": {
            "userId": m.user.as_str().parse::<i64>().unwrap_or(0),
            "email": format!("user{}@example.com", m.user),
            "firstName": first, "lastName": last, "displayName": name,
            "company": "pod197", "companyId": 197, "isExternal": false
        },
        "isOwner": m.role == Role::Owner,
        "isCreator": creator,
        "joinDate": JOIN_BASE + i as i64
    });
    out.push_str(&member.to_string());
}

async fn members_admin(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (skip, limit) = match paging(&q, 100, Some(1000)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let w = world::lock(&inner.world);
    let room = match world_room(&w, &id) {
        Ok(r) => r,
        Err(r) => return r,
    };
    json_response(admin_page_json(
        w.room(&room).expect("room exists"),
        skip,
        limit,
    ))
}

/// One `V2MembershipList` page as `/pod/v1/admin/stream/{id}/membership/list`
/// answers it.
pub fn admin_page_json(r: &world::WorldRoom, skip: usize, limit: usize) -> String {
    let mut out = format!(
        r#"{{"count":{},"skip":{skip},"limit":{limit},"members":["#,
        r.len()
    );
    for (n, m) in r.slice_offset(skip, limit).iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        admin_member(
            &mut out,
            m,
            skip + n,
            skip + n == 0 && m.role == Role::Owner,
        );
    }
    out.push_str("]}");
    out
}

// ---- membership changes ------------------------------------------------

async fn membership(
    State(inner): State<Arc<Inner>>,
    Path((id, verb)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    change(inner, id, verb, body, false).await
}

/// `POST /pod/v1/admin/room/{id}/membership/{add|remove}` [spec].
async fn membership_admin(
    State(inner): State<Arc<Inner>>,
    Path((id, verb)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if !matches!(verb.as_str(), "add" | "remove") {
        return error(StatusCode::NOT_FOUND, "No such endpoint");
    }
    change(inner, id, verb, body, true).await
}

/// Logs the call, makes the change, waits [`Options::change_latency`] and
/// answers, noting when.
async fn change(inner: Arc<Inner>, id: String, verb: String, body: Bytes, admin: bool) -> Response {
    let at = {
        let mut log = lock(&inner.membership);
        log.push(MembershipCall {
            verb: verb.clone(),
            path_id: id.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            admin,
            arrived: std::time::Instant::now(),
            answered: None,
        });
        log.len() - 1
    };
    let answer = apply(&inner, &id, &verb, &body);
    let latency = inner.options.change_latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    lock(&inner.membership)[at].answered = Some(std::time::Instant::now());
    answer
}

fn apply(inner: &Inner, id: &str, verb: &str, body: &Bytes) -> Response {
    if !matches!(verb, "add" | "remove" | "promoteOwner" | "demoteOwner") {
        return error(StatusCode::NOT_FOUND, "No such endpoint");
    }
    let body = match parse_body(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    // The spec's UserId: an int64 JSON number, never a string.
    let Some(user) = body.get("id").and_then(Value::as_i64) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid request: id must be an int64 number",
        );
    };
    let user = UserId::new(user.to_string());
    let mut w = world::lock(&inner.world);
    let room = match world_room(&w, id) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let r = w.room_mut(&room).expect("room exists");
    if !r.active {
        return error(
            StatusCode::BAD_REQUEST,
            "Room is deactivated: membership is locked",
        );
    }
    let present = r.get(&user).map(|m| m.role);
    let not_member = || {
        error(
            StatusCode::BAD_REQUEST,
            &inner
                .options
                .not_member_message
                .replace("{user}", user.as_str()),
        )
    };
    match verb {
        "remove" => {
            if r.remove(&user).is_none() {
                return not_member();
            }
            text_message(match inner.options.remove_message {
                RemoveMessage::MemberRemoved => "Member removed",
                RemoveMessage::Success => "Success",
            })
        }
        "add" => {
            if present.is_some() {
                if inner.options.add_existing_refused {
                    return error(
                        StatusCode::BAD_REQUEST,
                        &format!("User {user} is already a member of the room"),
                    );
                }
                return text_message("Member added");
            }
            r.add(Member {
                user,
                name: None,
                role: Role::Member,
            });
            text_message("Member added")
        }
        "promoteOwner" => match present {
            None => not_member(),
            Some(_) => {
                r.set_role(&user, Role::Owner);
                text_message("Member promoted to owner")
            }
        },
        _ => match present {
            None => not_member(),
            Some(Role::Owner) => {
                r.set_role(&user, Role::Member);
                text_message("Owner demoted")
            }
            Some(_) => error(
                StatusCode::BAD_REQUEST,
                &format!("User {user} is not an owner of the room"),
            ),
        },
    }
}
