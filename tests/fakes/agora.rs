//! A stateful fake Agora Chat (Easemob REST) server on loopback.
//!
//! It serves a sandbox [`World`](roomwarden::provider::sandbox::world::World)
//! in the wire format of `providers/agora.md`: the common success envelope,
//! the `{error, error_description}` error envelope, bearer-token checks,
//! the `client_credentials` token exchange, app tokens built from the App
//! Certificate (checked as Agora's parser does), cursor-paged room lists,
//! page-numbered member lists with one-key role rows, batch removal with
//! per-user rows and the 60-user cap, admin promote/demote and batch re-add.
//! Every request calls `world.take_fault(users_in_call)` once, so injected
//! rate limits (429 `reach_limit`), server errors and refused credentials
//! reach the client; `world.faults.latency` delays every answer.
//!
//! Where the docs disagree or are silent, [`Options`] has a switch; what
//! the fake does there is marked `[inf]`. Agora has no deactivated rooms:
//! the fake ignores the world's `active` flag.
//!
//! Self-contained (roomwarden, axum, tokio, serde_json, the token crates,
//! std) so that
//! benches can include it with `#[path = "../tests/fakes/agora.rs"]`.
#![allow(dead_code, clippy::result_large_err)]

#[path = "agora_token.rs"]
mod agora_token;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use roomwarden::model::{Member, Role, RoomId, UserId};
use roomwarden::provider::sandbox::world::{self, Fault, SharedWorld, World, WorldRoom};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How a batch removal answers users that are not members (the docs do not
/// say when the whole-call error is used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotMembers {
    /// 200 with a `result:false` row per non-member (the batch-remove example).
    Rows,
    /// The whole call is refused if any listed user is not a member;
    /// nothing is removed [inf].
    RejectIfAny,
    /// The whole call is refused only when no listed user is a member [inf].
    RejectIfAll,
}

/// How the last page of the room list ends: the SDK reads a cursor that is
/// "null or absent" [sdk]; which one a server sends is not documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastCursor {
    Absent,
    Null,
}

/// How a removal that names the owner is refused. The docs give the
/// whole-call 403 `forbidden_op` for groups only; for rooms it is [inf], and
/// a server may as well answer a `result:false` row for the owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerRefusal {
    /// 403 `forbidden_op` "forbidden operation on group owner!", nothing removed.
    WholeCall,
    /// 200 with a `result:false` row for the owner, the others removed.
    Row,
}

/// Switches for the places where the docs disagree.
#[derive(Clone, Debug)]
pub struct Options {
    pub org: String,
    pub app: String,
    /// Also serve under the newer base `/app-id/{app_id}/...` [doc].
    pub app_id: Option<String>,
    /// A fixed app token that is always accepted.
    pub token: String,
    /// Credentials for `POST /{org}/{app}/token` (`client_credentials`).
    pub client_id: String,
    pub client_secret: String,
    /// The App ID and App Certificate of the Agora console: app tokens
    /// built from them (AccessToken2, Chat app privilege) are accepted
    /// until they expire.
    pub agora_app_id: String,
    pub app_certificate: String,
    /// Whether an Agora app token is accepted as the Bearer token itself
    /// (the REST docs) or only through the exchange `POST /token`
    /// `{"grant_type":"agora"}` for an Easemob token (the Java SDK's path).
    pub agora_tokens_direct: bool,
    /// Lifetime of exchanged tokens (`expires_in`, whole seconds).
    pub token_ttl: Duration,
    /// Users per batch removal: 60 (Easemob docs, error text) or 100 (Agora seed).
    pub max_batch: usize,
    /// Users per batch add: 100 (Easemob docs) or 60 (Agora seed).
    pub max_add: usize,
    pub not_members: NotMembers,
    /// Status of the whole-call not-member refusal: 400 (current docs) or 403 (older table).
    pub not_member_status: u16,
    /// Whether that refusal names the users in brackets (the documented
    /// text) or only says some are not members [inf].
    pub not_member_text_names: bool,
    /// Send `Retry-After` on 429 when the world's fault carries a hint
    /// (undocumented: real servers may never send it).
    pub retry_after_header: bool,
    /// Room list `data` as one object per page (the doc example) instead of
    /// an array (the Java SDK).
    pub rooms_data_as_object: bool,
    /// The room list's last page: cursor absent or `null`.
    pub last_cursor: LastCursor,
    /// Member-list `count` as a string: the doc's field table types it
    /// String, its example prints a number.
    pub count_as_string: bool,
    pub owner_refusal: OwnerRefusal,
    /// A removal naming a user unknown to the app (here: in no room of the
    /// world) is refused whole with 404 `resource_not_found` "username X
    /// doesn't exist!" (in the docs' remove error table; when a server uses
    /// it rather than a `result:false` row is not documented [inf]). A
    /// batch add naming a user the app has never seen (in no room at the
    /// start, never added since) is refused the same way.
    pub unknown_user_404: bool,
    /// Member pages hold at most this many rows whatever `pagesize` asks
    /// (the SDK javadoc: 1 to 100; the docs: up to 1,000); the page's
    /// offset counts in pages of that size [inf].
    pub member_page_cap: Option<usize>,
    /// The room detail is refused (403 `forbidden_op`), as for an app
    /// token without the right to read it [inf].
    pub detail_refused: bool,
    /// A `pagesize` above this is refused with 400 `invalid_parameter`
    /// (the SDK javadoc's range is 1..100) instead of being capped [inf].
    pub member_page_refused_above: Option<usize>,
    /// The server does not sort members [doc]: here their order is a hash
    /// of the room's current membership, so it changes whenever someone
    /// joins or leaves [inf].
    pub unsorted_members: bool,
    /// Every change (batch remove, adds, admin changes) answers 429
    /// `resource_limited`: the Free edition's quota is used up [doc].
    pub free_edition_exhausted: bool,
    /// Users in too many rooms: a batch add naming one is refused whole
    /// with 403 `exceeded_limit` [doc; the text is inf].
    pub busy_users: Vec<String>,
    /// Whether the `exceeded_limit` text names the user (not documented).
    pub exceeded_limit_names_user: bool,
    /// Members the room detail's `affiliations_count` counts beyond those
    /// the member list shows (a count that lags the list) [inf].
    pub count_beyond_list: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            org: "fake-org".into(),
            app: "fake-app".into(),
            app_id: None,
            token: "fake-app-token-0123456789abcdef".into(),
            client_id: "YXA6fake-client-id".into(),
            client_secret: "YXA6fake-client-secret".into(),
            agora_app_id: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
            app_certificate: "a1b2c3d4e5f60718293a4b5c6d7e8f90".into(),
            agora_tokens_direct: true,
            token_ttl: Duration::from_secs(3600),
            max_batch: 60,
            max_add: 100,
            not_members: NotMembers::Rows,
            not_member_status: 400,
            not_member_text_names: true,
            // Retry-After is not documented: off unless a test turns it on.
            retry_after_header: false,
            rooms_data_as_object: false,
            last_cursor: LastCursor::Absent,
            count_as_string: false,
            owner_refusal: OwnerRefusal::WholeCall,
            unknown_user_404: false,
            member_page_cap: None,
            member_page_refused_above: None,
            detail_refused: false,
            unsorted_members: false,
            free_edition_exhausted: false,
            busy_users: Vec::new(),
            exceeded_limit_names_user: true,
            count_beyond_list: 0,
        }
    }
}

const APPLICATION: &str = "8be024f0-fake-4a6e-b697-5d598d5f8402";
const LOG_CAP: usize = 10_000;

struct Inner {
    world: SharedWorld,
    options: Options,
    issued: Mutex<HashMap<String, Instant>>,
    log: Mutex<VecDeque<String>>,
    /// When each request arrived (every one, for rate checks).
    arrivals: Mutex<Vec<Instant>>,
    exchanges: AtomicUsize,
    unauthorized: AtomicUsize,
    /// Requests let in by a token built from the App Certificate.
    built_tokens: AtomicUsize,
    next_token: AtomicU64,
    /// Every username the app knows (lower-cased): in a room at the start
    /// or added since.
    known: Mutex<std::collections::HashSet<String>>,
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
    /// The fixed app token the server accepts.
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
        lock(&self.inner.log).iter().cloned().collect()
    }
    /// When each request arrived, in order.
    pub fn arrivals(&self) -> Vec<Instant> {
        lock(&self.inner.arrivals).clone()
    }
    /// Successful token exchanges so far.
    pub fn exchanges(&self) -> usize {
        self.inner.exchanges.load(Ordering::SeqCst)
    }
    /// Requests answered 401 because of the token (not injected faults).
    pub fn unauthorized(&self) -> usize {
        self.inner.unauthorized.load(Ordering::SeqCst)
    }
    /// Requests let in by a token built from the App Certificate.
    pub fn built_tokens(&self) -> usize {
        self.inner.built_tokens.load(Ordering::SeqCst)
    }
    /// Makes every exchanged token invalid (the fixed token stays valid).
    pub fn revoke_issued_tokens(&self) {
        lock(&self.inner.issued).clear();
    }
}

/// Starts the fake on a random loopback port.
pub async fn start(world: SharedWorld, options: Options) -> Fake {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let known = world::lock(&world)
        .rooms()
        .iter()
        .flat_map(|r| r.members().map(|m| m.user.as_str().to_ascii_lowercase()))
        .collect();
    let inner = Arc::new(Inner {
        known: Mutex::new(known),
        world,
        options,
        issued: Mutex::new(HashMap::new()),
        log: Mutex::new(VecDeque::new()),
        arrivals: Mutex::new(Vec::new()),
        exchanges: AtomicUsize::new(0),
        unauthorized: AtomicUsize::new(0),
        built_tokens: AtomicUsize::new(0),
        next_token: AtomicU64::new(1),
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

enum Route {
    Token,
    ListRooms,
    Detail(String),
    Members(String),
    Remove(String, Vec<String>),
    AddMany(String, Vec<String>),
    AddOne(String, String),
    Admins(String),
    Promote(String, String),
    Demote(String, String),
}

impl Route {
    fn is_change(&self) -> bool {
        matches!(
            self,
            Route::Remove(..)
                | Route::AddMany(..)
                | Route::AddOne(..)
                | Route::Promote(..)
                | Route::Demote(..)
        )
    }

    fn users_in_call(&self) -> usize {
        match self {
            Route::Remove(_, u) | Route::AddMany(_, u) => u.len(),
            Route::AddOne(..) | Route::Promote(..) | Route::Demote(..) => 1,
            _ => 0,
        }
    }
}

async fn handle(
    State(s): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| uri.path().to_string());
    {
        let mut log = lock(&s.log);
        if log.len() >= LOG_CAP {
            log.pop_front();
        }
        log.push_back(format!("{method} {raw}"));
        lock(&s.arrivals).push(Instant::now());
    }
    let latency = world::lock(&s.world).faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Err(resp) = check_headers(&method, &headers) {
        return resp;
    }
    let route = match route(&s.options, &method, uri.path(), &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let fault = world::lock(&s.world).take_fault(route.users_in_call());
    match fault {
        Some(Fault::Unauthorized) => {
            return error(401, "unauthorized", "Unable to authenticate (OAuth)");
        }
        Some(Fault::RateLimited(hint)) => {
            let mut resp = error(429, "reach_limit", "This request has reached api limit");
            if let Some(h) = hint.filter(|_| s.options.retry_after_header) {
                let secs = h.as_secs() + u64::from(h.subsec_nanos() > 0);
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            return resp;
        }
        Some(Fault::ServerError) => {
            return error(503, "service_unavailable", "Service Unavailable");
        }
        None => {}
    }
    if let Route::Token = route {
        return token(&s, &headers, &body);
    }
    if let Err(resp) = check_bearer(&s, &headers) {
        return resp;
    }
    if s.options.free_edition_exhausted && route.is_change() {
        return error(
            429,
            "resource_limited",
            "You have exceeded the limit of the Free edition",
        );
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let env = Env {
        method: method.as_str().to_ascii_lowercase(),
        uri: format!("http://{host}{}", uri.path()),
        org: s.options.org.clone(),
        app: s.options.app.clone(),
    };
    let query = parse_query(uri.query().unwrap_or(""));
    let mut w = world::lock(&s.world);
    match route {
        Route::Token => unreachable!("answered above"),
        Route::ListRooms => list_rooms(&s.options, &env, &w, &query),
        Route::Detail(id) => detail(&s.options, &env, &w, &id),
        Route::Members(id) => members(&s.options, &env, &w, &id, &query),
        Route::Remove(id, users) => remove(&s.options, &env, &mut w, &id, &users),
        Route::AddMany(id, users) => add_many(&s, &env, &mut w, &id, &users),
        Route::AddOne(id, user) => add_one(&env, &mut w, &id, &user),
        Route::Admins(id) => admins(&env, &w, &id),
        Route::Promote(id, user) => promote(&env, &mut w, &id, &user),
        Route::Demote(id, user) => demote(&env, &mut w, &id, &user),
    }
}

fn route(o: &Options, method: &Method, path: &str, body: &[u8]) -> Result<Route, Response> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let classic = segs.len() >= 3 && decode(segs[0]) == o.org && decode(segs[1]) == o.app;
    let by_app_id = segs.len() >= 3
        && segs[0] == "app-id"
        && o.app_id.as_deref() == Some(decode(segs[1]).as_str());
    if !classic && !by_app_id {
        return Err(error(
            404,
            "service_resource_not_found",
            "Service resource not found",
        ));
    }
    let rest = &segs[2..];
    let id = |i: usize| decode(rest[i]);
    let r = match (method.as_str(), rest) {
        ("POST", ["token"]) => Route::Token,
        ("GET", ["chatrooms"]) => Route::ListRooms,
        ("GET", ["chatrooms", _]) => Route::Detail(id(1)),
        ("GET", ["chatrooms", _, "users"]) => Route::Members(id(1)),
        // Usernames are separated by %2C on the wire: decode once, then split.
        // A bare comma is what the docs say must not be sent; what a server
        // does with one is not documented, so the fake refuses it [inf].
        ("DELETE", ["chatrooms", _, "users", list]) => {
            if list.contains(',') {
                return Err(error(
                    400,
                    "invalid_parameter",
                    "usernames must be separated by %2C, not a bare comma",
                ));
            }
            Route::Remove(id(1), decode(list).split(',').map(str::to_string).collect())
        }
        ("POST", ["chatrooms", _, "users"]) => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let Some(list) = v.get("usernames").and_then(Value::as_array) else {
                return Err(error(
                    400,
                    "invalid_parameter",
                    "request body must have usernames: a JSON array",
                ));
            };
            Route::AddMany(
                id(1),
                list.iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect(),
            )
        }
        ("POST", ["chatrooms", _, "users", _]) => Route::AddOne(id(1), id(3)),
        ("GET", ["chatrooms", _, "admin"]) => Route::Admins(id(1)),
        ("POST", ["chatrooms", _, "admin"]) => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let Some(u) = v.get("newadmin").and_then(Value::as_str) else {
                return Err(error(
                    400,
                    "invalid_parameter",
                    "request body must have newadmin",
                ));
            };
            Route::Promote(id(1), u.to_string())
        }
        ("DELETE", ["chatrooms", _, "admin", _]) => Route::Demote(id(1), id(3)),
        _ => {
            return Err(error(
                404,
                "service_resource_not_found",
                "Service resource not found",
            ));
        }
    };
    Ok(r)
}

/// Every endpoint lists `Accept: application/json` as required, and every
/// POST/PUT also `Content-Type: application/json` [doc]. What a server
/// answers when one is missing is not documented: 406 and 415 here [inf].
fn check_headers(method: &Method, headers: &HeaderMap) -> Result<(), Response> {
    let is_json = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',').any(|part| {
                    let t = part.split(';').next().unwrap_or("").trim();
                    t.eq_ignore_ascii_case("application/json")
                })
            })
    };
    if !is_json(header::ACCEPT) {
        return Err(error(
            406,
            "invalid_parameter",
            "the Accept header must be application/json",
        ));
    }
    if matches!(*method, Method::POST | Method::PUT) && !is_json(header::CONTENT_TYPE) {
        return Err(error(
            415,
            "invalid_parameter",
            "the Content-Type header must be application/json",
        ));
    }
    Ok(())
}

fn check_bearer(s: &Inner, headers: &HeaderMap) -> Result<(), Response> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !given.is_empty() && given == s.options.token {
        return Ok(());
    }
    let issued = lock(&s.issued).get(given).copied();
    let built =
        (given.starts_with("007") && s.options.agora_tokens_direct).then(|| check_built(s, given));
    // The two documented 401 codes: an expired token is `unauthorized`, an
    // unknown one `auth_bad_access_token` [doc].
    let (code, refused) = match (issued, built) {
        (_, Some(Ok(()))) => {
            s.built_tokens.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        (_, Some(Err(agora_token::Refusal::Expired))) => (
            "unauthorized",
            "Unable to authenticate due to expired access token",
        ),
        (Some(until), _) if Instant::now() < until => return Ok(()),
        (Some(_), _) => (
            "unauthorized",
            "Unable to authenticate due to expired access token",
        ),
        (None, _) => (
            "auth_bad_access_token",
            "Unable to authenticate due to corrupt access token",
        ),
    };
    s.unauthorized.fetch_add(1, Ordering::SeqCst);
    Err(error(401, code, refused))
}

/// Checks an Agora app token built from the App Certificate.
fn check_built(s: &Inner, token: &str) -> Result<(), agora_token::Refusal> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let o = &s.options;
    agora_token::check(token, &o.agora_app_id, &o.app_certificate, now)
}

/// An Easemob token good for `ttl`, remembered as issued.
fn issue(s: &Inner, ttl: Duration) -> String {
    let n = s.next_token.fetch_add(1, Ordering::SeqCst);
    let token = format!("YWMtexchanged-{n:08}");
    lock(&s.issued).insert(token.clone(), Instant::now() + ttl);
    s.exchanges.fetch_add(1, Ordering::SeqCst);
    token
}

fn token(s: &Inner, headers: &HeaderMap, body: &[u8]) -> Response {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    if field("grant_type") == "agora" {
        // The Agora-token exchange [sdk]: the Agora app token as Bearer,
        // an Easemob token back with its end in epoch milliseconds.
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if check_built(s, given).is_err() {
            return error(401, "unauthorized", "invalid agora token");
        }
        let ttl = s.options.token_ttl;
        let ends = SystemTime::now() + ttl;
        let ms = ends.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        return json_response(
            200,
            json!({"access_token": issue(s, ttl), "expire_timestamp": ms}),
        );
    }
    if field("grant_type") != "client_credentials" {
        return error(
            400,
            "invalid_grant",
            "grant_type must be client_credentials or agora",
        );
    }
    if field("client_id") != s.options.client_id
        || field("client_secret") != s.options.client_secret
    {
        // [inf] the docs give no status for refused client credentials.
        return error(401, "unauthorized", "invalid client_id or client_secret");
    }
    let ttl = s.options.token_ttl;
    json_response(
        200,
        json!({"access_token": issue(s, ttl), "expires_in": ttl.as_secs(), "application": APPLICATION}),
    )
}

struct Env {
    method: String,
    uri: String,
    org: String,
    app: String,
}

impl Env {
    /// The common success envelope around `data`, plus extra top-level keys.
    fn ok(&self, data: Value, extra: Value) -> Response {
        let mut body = json!({
            "action": self.method,
            "application": APPLICATION,
            "uri": self.uri,
            "entities": [],
            "data": data,
            "timestamp": now_ms(),
            "duration": 0,
            "organization": self.org,
            "applicationName": self.app,
        });
        if let (Some(b), Value::Object(x)) = (body.as_object_mut(), extra) {
            b.extend(x);
        }
        json_response(200, body)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

fn json_response(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The error envelope of the docs.
fn error(status: u16, code: &str, description: &str) -> Response {
    let exception = match code {
        "forbidden_op" => "EasemobForbiddenOpException",
        "resource_not_found" => "EasemobResourceNotFoundException",
        "invalid_parameter" => "EasemobInvalidParameterException",
        "unauthorized" => "EasemobUnauthorizedException",
        "reach_limit" => "EasemobTooManyRequestsException",
        _ => "EasemobException",
    };
    json_response(
        status,
        json!({
            "error": code,
            "exception": exception,
            "timestamp": now_ms(),
            "duration": 0,
            "error_description": description,
        }),
    )
}

fn room_missing(id: &str) -> Response {
    error(
        404,
        "resource_not_found",
        &format!("grpID {id} does not exist!"),
    )
}

fn find<'a>(w: &'a World, id: &str) -> Result<&'a WorldRoom, Response> {
    w.room(&RoomId::from(id)).ok_or_else(|| room_missing(id))
}

fn find_mut<'a>(w: &'a mut World, id: &str) -> Result<&'a mut WorldRoom, Response> {
    w.room_mut(&RoomId::from(id))
        .ok_or_else(|| room_missing(id))
}

fn owner_of(r: &WorldRoom) -> String {
    r.members()
        .find(|m| m.role == Role::Owner)
        .map(|m| m.user.to_string())
        .unwrap_or_default()
}

fn one_key(m: &Member) -> Value {
    // Admins are listed as plain members [doc].
    match m.role {
        Role::Owner => json!({"owner": m.user.as_str()}),
        _ => json!({"member": m.user.as_str()}),
    }
}

fn list_rooms(o: &Options, env: &Env, w: &World, q: &HashMap<String, String>) -> Response {
    let mut limit: usize = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            return error(400, "invalid_parameter", "limit must be between 1 and 1000");
        }
    };
    if o.rooms_data_as_object {
        limit = 1;
    }
    let from = match q.get("cursor") {
        None => 0,
        Some(c) => match c
            .strip_prefix("ZmFrZS1jdXJzb3I6")
            .and_then(|h| usize::from_str_radix(h, 16).ok())
        {
            Some(n) => n,
            None => return error(400, "invalid_parameter", "cursor is not valid"),
        },
    };
    let all = w.rooms();
    let page: Vec<Value> = all
        .iter()
        .skip(from)
        .take(limit)
        .map(|r| {
            json!({
                "id": r.id.as_str(),
                "name": r.name,
                "owner": owner_of(r),
                "affiliations_count": r.len(),
            })
        })
        .collect();
    let end = from + page.len();
    let data = if o.rooms_data_as_object {
        page.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(page)
    };
    // The cursor is absent or null on the last page [sdk].
    let extra = if end < all.len() {
        json!({"cursor": format!("ZmFrZS1jdXJzb3I6{end:x}")})
    } else if o.last_cursor == LastCursor::Null {
        json!({"cursor": null})
    } else {
        json!({})
    };
    env.ok(data, extra)
}

fn detail(o: &Options, env: &Env, w: &World, id: &str) -> Response {
    if o.detail_refused {
        return error(403, "forbidden_op", "no permission to read this chatroom");
    }
    let r = match find(w, id) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let affiliations: Vec<Value> = r.members().map(one_key).collect();
    // `GET /chatrooms/{id}` accepts several ids, so `data` is an array.
    env.ok(
        json!([{
            "id": r.id.as_str(),
            "name": r.name,
            "description": "",
            "membersonly": false,
            "allowinvites": false,
            "maxusers": 200_000,
            "owner": owner_of(r),
            "created": 1_542_554_038_353u64,
            "custom": "",
            "public": true,
            "affiliations_count": r.len() + o.count_beyond_list,
            "affiliations": affiliations,
        }]),
        json!({"count": 1}),
    )
}

fn members(o: &Options, env: &Env, w: &World, id: &str, q: &HashMap<String, String>) -> Response {
    let r = match find(w, id) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let pagenum: usize = q
        .get("pagenum")
        .and_then(|p| p.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1);
    // Range [0, 1000], default 1000; more than 1000 still gives 1000 [doc].
    let pagesize: usize = q
        .get("pagesize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1000)
        .min(1000)
        .min(o.member_page_cap.unwrap_or(usize::MAX));
    if let Some(limit) = o.member_page_refused_above
        && pagesize > limit
    {
        return error(
            400,
            "invalid_parameter",
            &format!("pagesize must be between 1 and {limit}"),
        );
    }
    let from = (pagenum - 1).saturating_mul(pagesize);
    let rows: Vec<Value> = if o.unsorted_members {
        let mut all: Vec<&Member> = r.members().collect();
        let n = all.len() as u64;
        all.sort_by_key(|m| shuffle_key(m.user.as_str(), n));
        all.iter()
            .skip(from)
            .take(pagesize)
            .map(|m| one_key(m))
            .collect()
    } else {
        r.slice_offset(from, pagesize).iter().map(one_key).collect()
    };
    let count = if o.count_as_string {
        json!(rows.len().to_string())
    } else {
        json!(rows.len())
    };
    env.ok(
        Value::Array(rows),
        json!({
            "params": {"pagesize": [pagesize.to_string()], "pagenum": [pagenum.to_string()]},
            "count": count,
        }),
    )
}

/// A member's place in an unsorted room: a hash of the name and the
/// room's size, so any join or leave reorders the room.
fn shuffle_key(user: &str, members: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ members.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in user.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn admins(env: &Env, w: &World, id: &str) -> Response {
    let r = match find(w, id) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let list: Vec<String> = r
        .members()
        .filter(|m| m.role == Role::Admin)
        .map(|m| m.user.to_string())
        .collect();
    let count = list.len();
    env.ok(json!(list), json!({"count": count}))
}

fn remove(o: &Options, env: &Env, w: &mut World, id: &str, users: &[String]) -> Response {
    if let Err(e) = find(w, id) {
        return e;
    }
    if users.len() > o.max_batch {
        return error(
            400,
            "invalid_parameter",
            &format!(
                "kickMember: kickMembers number more than maxSize : {}",
                o.max_batch
            ),
        );
    }
    if o.unknown_user_404 {
        let known = |u: &str| {
            let u = UserId::from(u);
            w.rooms().iter().any(|r| r.get(&u).is_some())
        };
        if let Some(u) = users.iter().find(|u| !known(u)) {
            return error(
                404,
                "resource_not_found",
                &format!("username {u} doesn't exist!"),
            );
        }
    }
    let r = match find_mut(w, id) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let owners = r.members().filter(|m| m.role == Role::Owner).count();
    let is_member = |u: &str| r.get(&UserId::from(u)).is_some();
    // The sole owner cannot be removed [doc for groups; inf for rooms]. The
    // world may give a room several owners; the others can go.
    let sole_owner =
        |u: &str| owners <= 1 && r.get(&UserId::from(u)).map(|m| m.role) == Some(Role::Owner);
    if o.owner_refusal == OwnerRefusal::WholeCall && users.iter().any(|u| sole_owner(u)) {
        return error(403, "forbidden_op", "forbidden operation on group owner!");
    }
    let kept_owner: Vec<bool> = users.iter().map(|u| sole_owner(u)).collect();
    let absent: Vec<&str> = users
        .iter()
        .map(String::as_str)
        .filter(|u| !is_member(u))
        .collect();
    let refuse = match o.not_members {
        NotMembers::Rows => false,
        NotMembers::RejectIfAny => !absent.is_empty(),
        NotMembers::RejectIfAll => !absent.is_empty() && absent.len() == users.len(),
    };
    if refuse {
        let text = if o.not_member_text_names {
            format!(
                "users [{}] are not members of this group!",
                absent.join(", ")
            )
        } else {
            "some users are not members of this group!".to_string()
        };
        return error(o.not_member_status, "forbidden_op", &text);
    }
    let rows: Vec<Value> = users
        .iter()
        .zip(kept_owner)
        .map(|(u, owner)| {
            let removed = !owner && r.remove(&UserId::from(u.as_str())).is_some();
            (u, owner, removed)
        })
        .map(|(u, owner, removed)| match (owner, removed) {
            (true, _) => json!({
                "result": false,
                "action": "remove_member",
                "reason": "forbidden operation on group owner!",
                "user": u,
                "id": id,
            }),
            (false, true) => {
                json!({"result": true, "action": "remove_member", "user": u, "id": id})
            }
            (false, false) => json!({
                "result": false,
                "action": "remove_member",
                "reason": format!("user: {u} doesn't exist in group: {id}"),
                "user": u,
                "id": id,
            }),
        })
        .collect();
    // A single-user removal answers with an object [doc].
    let data = if rows.len() == 1 {
        rows.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(rows)
    };
    env.ok(data, json!({}))
}

fn add_many(s: &Inner, env: &Env, w: &mut World, id: &str, users: &[String]) -> Response {
    let o = &s.options;
    if o.unknown_user_404 {
        let known = lock(&s.known);
        if let Some(u) = users
            .iter()
            .find(|u| !known.contains(&u.to_ascii_lowercase()))
        {
            return error(
                404,
                "resource_not_found",
                &format!("username {u} doesn't exist!"),
            );
        }
    }
    if let Some(u) = users.iter().find(|u| o.busy_users.contains(u)) {
        let text = if o.exceeded_limit_names_user {
            format!("user {u} has joined too many chatrooms")
        } else {
            "the number of chatrooms joined exceeds the limit".to_string()
        };
        return error(403, "exceeded_limit", &text);
    }
    lock(&s.known).extend(users.iter().map(|u| u.to_ascii_lowercase()));
    let r = match find_mut(w, id) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if users.len() > o.max_add {
        return error(
            400,
            "invalid_parameter",
            &format!(
                "addMembers: addMembers number more than maxSize : {}",
                o.max_add
            ),
        );
    }
    for u in users {
        r.add(Member::new(u.as_str(), None, Role::Member));
    }
    // Users who are already members count as success [doc].
    env.ok(
        json!({"newmembers": users, "action": "add_member", "id": id}),
        json!({}),
    )
}

fn add_one(env: &Env, w: &mut World, id: &str, user: &str) -> Response {
    let r = match find_mut(w, id) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if !r.add(Member::new(user, None, Role::Member)) {
        return error(
            400,
            "forbidden_op",
            &format!("user: {user} is already a member of group: {id}"),
        );
    }
    env.ok(
        json!({"result": true, "action": "add_member", "id": id, "user": user}),
        json!({}),
    )
}

fn promote(env: &Env, w: &mut World, id: &str, user: &str) -> Response {
    let r = match find_mut(w, id) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let u = UserId::from(user);
    match r.get(&u).map(|m| m.role) {
        // [inf] texts: the docs list no errors for promote.
        None => error(
            400,
            "forbidden_op",
            &format!("user: {user} doesn't exist in group: {id}"),
        ),
        Some(Role::Owner) => error(403, "forbidden_op", "forbidden operation on group owner!"),
        Some(Role::Admin) => error(
            400,
            "forbidden_op",
            &format!("user: {user} is already an admin of group: {id}"),
        ),
        Some(Role::Member) => {
            r.set_role(&u, Role::Admin);
            env.ok(json!({"result": "success", "newadmin": user}), json!({}))
        }
    }
}

fn demote(env: &Env, w: &mut World, id: &str, user: &str) -> Response {
    let r = match find_mut(w, id) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let u = UserId::from(user);
    if r.get(&u).map(|m| m.role) != Some(Role::Admin) {
        // [inf] text.
        return error(
            400,
            "forbidden_op",
            &format!("user: {user} is not an admin of group: {id}"),
        );
    }
    r.set_role(&u, Role::Member);
    // `result` is the string "success" [doc][sdk].
    env.ok(json!({"result": "success", "oldadmin": user}), json!({}))
}

fn parse_query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// Percent-decodes once (`+` stays `+`); bad escapes stay as they are.
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
