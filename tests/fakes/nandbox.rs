//! A stateful fake nandbox Bot API server: JSON frames over one WebSocket
//! on loopback (see shared/providers/nandbox.md).
//!
//! It serves a sandbox [`World`](roomwarden::provider::sandbox::world::World)
//! in nandbox's dialect:
//! - the first frame must be `{"method":"TOKEN_AUTH","token":…,"rem":true}`
//!   (`rem` as the boolean of the SDKs or the string of the docs);
//!   the right token answers `TOKEN_AUTH_OK` (with `ID`/`id` and the token
//!   echoed back, as the real server does [log]); any other token, or any
//!   other first frame, is refused as [`AuthRefusal`] says;
//! - `{"method":"PING"}` answers `{"method":"PONG"}`;
//! - `getChat` answers `chatDetails`, `getChatMember`, `removeChatMember`
//!   and `addChatMember` answer `chatMember`, `getChatAdministrators`
//!   answers `chatAdministrators`; every reply echoes `app_id` and the
//!   request's `reference` (when it had one);
//! - errors are frames `{"error": N}` with no `method` and no `reference`
//!   (the codes are undocumented [doc]: the fake's choices are in
//!   [`ErrorCodes`], all [inf]);
//! - [`Fake::join`] / [`Fake::leave`] change the world and push an
//!   unsolicited `chatMember` frame (no `reference`) to every session;
//! - [`Fake::drop_next`] drops the socket at the next call of a method,
//!   before or after acting on it; [`Fake::kick_all`] drops every socket;
//! - every request (not PING, not the auth frame) calls
//!   `world.take_fault(users_in_call)` once, waits `faults.latency` and
//!   counts as in flight ([`InFlight`]); injected rate limits and server
//!   errors drop the socket or answer an error frame ([`FaultStyle`]);
//!   refused credentials answer `{"error": auth}` and close, and refuse
//!   every `TOKEN_AUTH` while `faults.unauthorized` is set;
//! - `addChatAdmin` [sdk] promotes a member (its reply is undocumented:
//!   like `addChatMember`'s, per [`AddReply`]).
//! - [`Fake::close_next_auth`] answers the next `TOKEN_AUTH` with a bare
//!   close (no error frame), as a server going away would.
//!
//! Every text frame the client sends is logged verbatim ([`Fake::frames`]),
//! so tests can check that ids went out exactly as strings of digits.
//!
//! Where the documents are silent, the fake chooses and says so ([inf]);
//! where they disagree, [`Options`] has a switch.
//!
//! Self-contained (roomwarden, tokio, tokio-tungstenite, futures,
//! serde_json, std) so that benches can include it with
//! `#[path = "../tests/fakes/nandbox.rs"]`.
#![allow(dead_code)]

use futures::{SinkExt, StreamExt};
use roomwarden::model::{Member, Role, RoomId, UserId};
use roomwarden::provider::sandbox::world::{self, Fault, InFlight, SharedWorld, World, WorldRoom};
use serde_json::{Map, Value, json};
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The bot id of the fake's token (17 digits, above 2^53, like the
/// `ID` of the real `TOKEN_AUTH_OK` [log]).
pub const BOT_ID: &str = "90091783822039252";
/// The token the fake accepts by default: `<botId>:0:<secret>` [doc].
pub const TOKEN: &str = "90091783822039252:0:fake-nandbox-secret-7c41d2";
/// The path the docs give for the Bot API socket [doc].
pub const PATH: &str = "/nandbox/api/";

/// The error codes the fake sends. nandbox documents none of them; the two
/// seen in real traffic are 199999 (after a malformed request) and 199992
/// (followed by a socket close) [log]. Everything else is [inf].
#[derive(Clone, Debug)]
pub struct ErrorCodes {
    /// A malformed frame, a missing field, an unknown method [log].
    pub bad_request: i64,
    /// A refused token (then the socket closes, like 199992 in the log) [inf].
    pub auth: i64,
    /// The user is not a member of the chat [inf].
    pub not_member: i64,
    /// No such chat [inf].
    pub no_chat: i64,
    /// The bot lacks a permission (not admin in the chat, or the chat owner
    /// named in a removal) [inf].
    pub forbidden: i64,
    /// An injected rate limit (nandbox documents none) [inf].
    pub rate_limited: i64,
    /// An injected server error [inf].
    pub server: i64,
}

impl Default for ErrorCodes {
    fn default() -> Self {
        Self {
            bad_request: 199_999,
            auth: 199_992,
            not_member: 100_404,
            no_chat: 100_400,
            forbidden: 100_403,
            rate_limited: 100_429,
            server: 100_500,
        }
    }
}

/// How a refused `TOKEN_AUTH` is answered: the docs say nothing; the log
/// shows an error frame followed by a close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthRefusal {
    /// `{"error": auth}`, then a close frame.
    ErrorThenClose,
    /// `{"error": auth}` only; the socket stays open, unauthenticated.
    ErrorOnly,
    /// A close frame with no error frame.
    Close,
}

/// How `getChatMember` answers a user who is not in the chat: the docs
/// are silent [inf].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotMemberLookup {
    /// `{"error": not_member}`, no reference.
    ErrorFrame,
    /// A `chatMember` reply with this `status` (`Left`, `Deleted`, …).
    Status(&'static str),
}

/// How `addChatMember` is answered: the reply is undocumented [sdk].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddReply {
    /// A `chatMember` reply with status `Active`, reference echoed.
    ChatMember,
    /// A `chatMember` frame with status `Active` but no `reference` (the
    /// SDKs' add requests carry none [sdk]), like a join event.
    ChatMemberWithoutReference,
    /// No reply at all.
    Silent,
}

/// How `removeChatMember` answers a user who is not in the chat: the docs
/// are silent [inf].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotMemberRemoval {
    /// `{"error": not_member}`, no reference.
    ErrorFrame,
    /// A `chatMember` ack with this `status` (`Some("Left")`, or `None`
    /// for a null status), reference echoed.
    Ack(Option<&'static str>),
}

/// How injected rate limits and server errors reach the client. nandbox
/// documents neither (gap) [inf].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultStyle {
    /// The socket drops before the request is acted on, as an overloaded
    /// or restarting server would.
    Drop,
    /// An error frame: `rate_limited` or `server` of [`ErrorCodes`].
    ErrorFrame,
}

/// When [`Fake::drop_next`] drops the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropWhen {
    /// Before the request is acted on: nothing changed.
    BeforeActing,
    /// After the world changed, before the reply was sent.
    AfterActing,
}

/// Switches for the places where the documents disagree or are silent.
#[derive(Clone, Debug)]
pub struct Options {
    /// The token `TOKEN_AUTH` must carry.
    pub token: String,
    /// The bot id `TOKEN_AUTH_OK` reports.
    pub bot_id: String,
    /// The request path the socket is served on (others get a 404).
    pub path: String,
    /// `Some(id)`: chat-management frames must carry exactly this
    /// `app_id`; `None`: any string will do. A missing `app_id` is always
    /// refused (the docs mark it required).
    pub app_id: Option<String>,
    pub auth_refusal: AuthRefusal,
    /// The close code sent with a refusal [inf].
    pub auth_close_code: u16,
    pub not_member_lookup: NotMemberLookup,
    pub not_member_removal: NotMemberRemoval,
    pub add_reply: AddReply,
    /// A removal is acted on, then answered with a `chatMember` the
    /// client cannot decode (`chatMember` without its `user`).
    pub undecodable_removal_reply: bool,
    /// `reference` is echoed as a JSON number that went through a double,
    /// as a server that reads it as a JavaScript number would
    /// (`JSON.stringify(Number(ref))`): exact below 2^53, rounded above.
    pub reference_as_number: bool,
    /// The `status` of a removal reply: `Removed` (the removeChatMember
    /// example), `Deleted` (the status table), or lowercase `removed`
    /// (the prose).
    pub removed_status: &'static str,
    /// The `type` `getChatMember` gives a world owner: `Admin` (the only
    /// staff value the docs list) or `Owner` [inf].
    pub owner_type: &'static str,
    /// `getChatAdministrators` lists the owners too [inf].
    pub admins_include_owners: bool,
    /// `chatDetails` spells the invite link `inivite_link`, as the raw doc
    /// example does, instead of the SDKs' `invite_link`.
    pub doc_invite_spelling: bool,
    /// Refuse ids sent as JSON numbers where the docs type them String
    /// (everything but `addChatMember`, whose Java SDK sends numbers).
    /// Off: both forms are accepted [inf].
    pub strict_string_ids: bool,
    /// Chats where the bot is no admin: every call there is refused with
    /// `forbidden` [doc precondition; the answer is inf].
    pub forbidden_chats: HashSet<String>,
    pub fault_style: FaultStyle,
    /// A dropped socket says goodbye with a close frame (1001) instead of
    /// vanishing without one (the client then sees 1006).
    pub drop_with_close_frame: bool,
    pub errors: ErrorCodes,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            token: TOKEN.to_string(),
            bot_id: BOT_ID.to_string(),
            path: PATH.to_string(),
            app_id: None,
            auth_refusal: AuthRefusal::ErrorThenClose,
            auth_close_code: 1000,
            not_member_lookup: NotMemberLookup::ErrorFrame,
            not_member_removal: NotMemberRemoval::ErrorFrame,
            add_reply: AddReply::ChatMember,
            undecodable_removal_reply: false,
            reference_as_number: false,
            removed_status: "Removed",
            owner_type: "Admin",
            admins_include_owners: true,
            doc_invite_spelling: true,
            strict_string_ids: false,
            forbidden_chats: HashSet::new(),
            fault_style: FaultStyle::Drop,
            drop_with_close_frame: false,
            errors: ErrorCodes::default(),
        }
    }
}

const LOG_CAP: usize = 10_000;

struct DropRule {
    method: String,
    when: DropWhen,
}

struct Inner {
    world: SharedWorld,
    options: Options,
    token: Mutex<String>,
    frames: Mutex<VecDeque<String>>,
    sent: Mutex<VecDeque<String>>,
    drops: Mutex<VecDeque<DropRule>>,
    auth_closes: Mutex<VecDeque<u16>>,
    events: broadcast::Sender<String>,
    kick: watch::Sender<u64>,
    connections: AtomicUsize,
    auths: AtomicUsize,
    refusals: AtomicUsize,
    sessions: AtomicUsize,
    pings: AtomicUsize,
    dropped: AtomicUsize,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

/// A running fake; the server and its connections stop when this is dropped.
pub struct Fake {
    url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
        for t in lock(&self.inner.tasks).drain(..) {
            t.abort();
        }
    }
}

impl Fake {
    /// `ws://127.0.0.1:PORT/nandbox/api/` (the profile's `base_url`).
    pub fn url(&self) -> &str {
        &self.url
    }
    /// The token the server accepts now.
    pub fn token(&self) -> String {
        lock(&self.inner.token).clone()
    }
    /// Issues a new token: the old one is refused from now on [doc]
    /// (sessions already open stay open).
    pub fn set_token(&self, token: &str) {
        *lock(&self.inner.token) = token.to_string();
    }
    pub fn options(&self) -> &Options {
        &self.inner.options
    }
    pub fn world(&self) -> &SharedWorld {
        &self.inner.world
    }
    /// Text frames the clients sent, verbatim, oldest first (the most
    /// recent 10,000; the auth frame included).
    pub fn frames(&self) -> Vec<String> {
        lock(&self.inner.frames).iter().cloned().collect()
    }
    /// The `method` of every logged frame (`?` when it had none).
    pub fn methods(&self) -> Vec<String> {
        self.frames()
            .iter()
            .map(|f| {
                serde_json::from_str::<Value>(f)
                    .ok()
                    .and_then(|v| v.get("method").and_then(Value::as_str).map(String::from))
                    .unwrap_or_else(|| "?".into())
            })
            .collect()
    }
    /// Logged frames whose `method` is `method`, parsed.
    pub fn requests(&self, method: &str) -> Vec<Value> {
        self.frames()
            .iter()
            .filter_map(|f| serde_json::from_str::<Value>(f).ok())
            .filter(|v| v.get("method").and_then(Value::as_str) == Some(method))
            .collect()
    }
    /// Text frames the server sent, verbatim, oldest first.
    pub fn sent(&self) -> Vec<String> {
        lock(&self.inner.sent).iter().cloned().collect()
    }
    /// WebSocket connections accepted so far.
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::SeqCst)
    }
    /// `TOKEN_AUTH_OK`s sent so far.
    pub fn auths(&self) -> usize {
        self.inner.auths.load(Ordering::SeqCst)
    }
    /// Auth attempts refused so far.
    pub fn refusals(&self) -> usize {
        self.inner.refusals.load(Ordering::SeqCst)
    }
    /// Authenticated connections open right now.
    pub fn sessions(&self) -> usize {
        self.inner.sessions.load(Ordering::SeqCst)
    }
    /// PINGs answered so far.
    pub fn pings(&self) -> usize {
        self.inner.pings.load(Ordering::SeqCst)
    }
    /// Sockets dropped by [`Fake::drop_next`] or [`Fake::kick_all`] so far.
    pub fn dropped(&self) -> usize {
        self.inner.dropped.load(Ordering::SeqCst)
    }

    /// Drops the socket at the next request whose `method` is `method`,
    /// before or after acting on it; no reply is sent. Rules queue up.
    pub fn drop_next(&self, method: &str, when: DropWhen) {
        lock(&self.inner.drops).push_back(DropRule {
            method: method.to_string(),
            when,
        });
    }

    /// Answers the next `TOKEN_AUTH` (whatever its token) with a close
    /// frame carrying `code` and no error frame, as a server going away
    /// (1001) or restarting would; the SDKs reconnect after such a close
    /// [sdk]. Rules queue up, one per auth attempt.
    pub fn close_next_auth(&self, code: u16) {
        lock(&self.inner.auth_closes).push_back(code);
    }

    /// Drops every open socket now, between calls.
    pub fn kick_all(&self) {
        self.inner.kick.send_modify(|g| *g += 1);
    }

    /// Adds `user` to `room` in the world and pushes the unsolicited
    /// `chatMember` join frame (status `Active`) to every session.
    /// Returns how many sessions it was sent to.
    pub fn join(&self, room: &str, user: &str, name: Option<&str>) -> usize {
        let member = Member::new(user, name, Role::Member);
        if let Some(r) = world::lock(&self.inner.world).room_mut(&RoomId::from(room)) {
            r.add(member.clone());
        }
        self.push(event_frame(room, &member, "Member", "Active"))
    }

    /// Removes `user` from `room` in the world and pushes the unsolicited
    /// `chatMember` leave frame (status `Left`) to every session.
    pub fn leave(&self, room: &str, user: &str) -> usize {
        if let Some(r) = world::lock(&self.inner.world).room_mut(&RoomId::from(room)) {
            r.remove(&UserId::from(user));
        }
        let member = Member::new(user, None, Role::Member);
        self.push(event_frame(room, &member, "Member", "Left"))
    }

    /// Pushes any frame to every session, as is.
    pub fn push(&self, frame: Value) -> usize {
        self.inner.events.send(frame.to_string()).unwrap_or(0)
    }
}

/// Starts the fake on a random loopback port.
pub async fn start(world: SharedWorld, options: Options) -> Fake {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let (events, _) = broadcast::channel(1024);
    let (kick, _) = watch::channel(0);
    let inner = Arc::new(Inner {
        world,
        token: Mutex::new(options.token.clone()),
        options,
        frames: Mutex::new(VecDeque::new()),
        sent: Mutex::new(VecDeque::new()),
        drops: Mutex::new(VecDeque::new()),
        auth_closes: Mutex::new(VecDeque::new()),
        events,
        kick,
        connections: AtomicUsize::new(0),
        auths: AtomicUsize::new(0),
        refusals: AtomicUsize::new(0),
        sessions: AtomicUsize::new(0),
        pings: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
        tasks: Mutex::new(Vec::new()),
    });
    let url = format!("ws://{addr}{}", inner.options.path);
    let server = inner.clone();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let conn = server.clone();
            let handle = tokio::spawn(async move { connection(conn, tcp).await });
            let mut tasks = lock(&server.tasks);
            tasks.retain(|t| !t.is_finished());
            tasks.push(handle.abort_handle());
        }
    });
    Fake { url, inner, task }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

fn push_capped(log: &Mutex<VecDeque<String>>, s: String) {
    let mut log = lock(log);
    if log.len() >= LOG_CAP {
        log.pop_front();
    }
    log.push_back(s);
}

/// Counts an authenticated session while it lives.
struct Session<'a>(&'a AtomicUsize);

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the handler of one request frame asks the connection to do.
enum Step {
    Reply(Value),
    /// An error frame `{"error": code}`.
    Error(i64),
    /// An error frame, then a close.
    ErrorThenClose(i64),
    Nothing,
    /// Drop the socket, no reply.
    Drop,
}

type Ws = WebSocketStream<TcpStream>;

async fn connection(s: Arc<Inner>, tcp: TcpStream) {
    let path = s.options.path.clone();
    #[allow(clippy::result_large_err)]
    let check = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        if req.uri().path() == path {
            Ok(resp)
        } else {
            let mut refused = ErrorResponse::new(Some("not found".into()));
            *refused.status_mut() = StatusCode::NOT_FOUND;
            Err(refused)
        }
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, check).await else {
        return;
    };
    s.connections.fetch_add(1, Ordering::SeqCst);
    let mut events = s.events.subscribe();
    let mut kick = s.kick.subscribe();
    let mut session: Option<Session<'_>> = None;
    loop {
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(_))) => {
                        // The Bot API speaks text frames only [inf].
                        if send_error(&s, &mut ws, s.options.errors.bad_request).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue, // WebSocket ping/pong: tungstenite answers
                };
                push_capped(&s.frames, text.clone());
                let frame: Option<Map<String, Value>> = serde_json::from_str(&text).ok();
                if session.is_none() {
                    let closing = lock(&s.auth_closes).pop_front();
                    if let Some(code) = closing {
                        close(&mut ws, code).await;
                        return;
                    }
                    match authenticate(&s, frame.as_ref()) {
                        Ok(ok) => {
                            if send(&s, &mut ws, &ok).await.is_err() {
                                return;
                            }
                            s.auths.fetch_add(1, Ordering::SeqCst);
                            s.sessions.fetch_add(1, Ordering::SeqCst);
                            session = Some(Session(&s.sessions));
                        }
                        Err(()) => {
                            s.refusals.fetch_add(1, Ordering::SeqCst);
                            if refuse(&s, &mut ws).await {
                                return;
                            }
                        }
                    }
                    continue;
                }
                let Some(frame) = frame else {
                    if send_error(&s, &mut ws, s.options.errors.bad_request).await.is_err() {
                        return;
                    }
                    continue;
                };
                let step = request(&s, &frame).await;
                let result = match step {
                    Step::Reply(v) => send(&s, &mut ws, &v).await,
                    Step::Error(code) => send_error(&s, &mut ws, code).await,
                    Step::ErrorThenClose(code) => {
                        let _ = send_error(&s, &mut ws, code).await;
                        close(&mut ws, s.options.auth_close_code).await;
                        return;
                    }
                    Step::Nothing => Ok(()),
                    Step::Drop => {
                        drop_socket(&s, ws).await;
                        return;
                    }
                };
                if result.is_err() {
                    return;
                }
            }
            ev = events.recv(), if session.is_some() => {
                match ev {
                    Ok(text) => {
                        push_capped(&s.sent, text.clone());
                        if ws.send(Message::text(text)).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
            changed = kick.changed() => {
                if changed.is_ok() {
                    drop_socket(&s, ws).await;
                }
                return;
            }
        }
    }
}

async fn send(s: &Inner, ws: &mut Ws, v: &Value) -> Result<(), ()> {
    let text = v.to_string();
    push_capped(&s.sent, text.clone());
    ws.send(Message::text(text)).await.map_err(|_| ())
}

/// `{"error": code}`: no `method`, no `reference` [log].
async fn send_error(s: &Inner, ws: &mut Ws, code: i64) -> Result<(), ()> {
    send(s, ws, &json!({ "error": code })).await
}

async fn close(ws: &mut Ws, code: u16) {
    let _ = ws
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: "".into(),
        })))
        .await;
    let _ = ws.close(None).await;
}

async fn drop_socket(s: &Inner, mut ws: Ws) {
    s.dropped.fetch_add(1, Ordering::SeqCst);
    if s.options.drop_with_close_frame {
        close(&mut ws, 1001).await;
    }
    // Otherwise the stream is dropped here: the TCP connection ends with no
    // closing handshake, as a crashed server or a cut network would.
}

/// Answers a refused first frame; returns true when the socket is done.
async fn refuse(s: &Inner, ws: &mut Ws) -> bool {
    let code = s.options.errors.auth;
    match s.options.auth_refusal {
        AuthRefusal::ErrorThenClose => {
            let _ = send_error(s, ws, code).await;
            close(ws, s.options.auth_close_code).await;
            true
        }
        AuthRefusal::ErrorOnly => send_error(s, ws, code).await.is_err(),
        AuthRefusal::Close => {
            close(ws, s.options.auth_close_code).await;
            true
        }
    }
}

/// The first frame must be TOKEN_AUTH with the current token [doc].
fn authenticate(s: &Inner, frame: Option<&Map<String, Value>>) -> Result<Value, ()> {
    let frame = frame.ok_or(())?;
    if frame.get("method").and_then(Value::as_str) != Some("TOKEN_AUTH") {
        return Err(());
    }
    // `rem` is `"true"` in the docs and `true` in every SDK: accept both.
    match frame.get("rem") {
        None | Some(Value::Bool(_)) => {}
        Some(Value::String(r)) if r == "true" || r == "false" => {}
        Some(_) => return Err(()),
    }
    let token = frame.get("token").and_then(Value::as_str).ok_or(())?;
    if token != lock(&s.token).as_str() || world::lock(&s.world).faults.unauthorized {
        return Err(());
    }
    // The real answer carries both `ID` and `id` and echoes the token [log].
    Ok(json!({
        "date": now_ms(),
        "is_nandbox": 0,
        "method": "TOKEN_AUTH_OK",
        "name": "roomwarden fake bot",
        "ID": s.options.bot_id,
        "id": s.options.bot_id,
        "localId": 111_111_171,
        "email": null,
        "token": token,
    }))
}

/// A chat-management request after auth.
async fn request(s: &Inner, frame: &Map<String, Value>) -> Step {
    let errors = &s.options.errors;
    let method = frame.get("method").and_then(Value::as_str).unwrap_or("");
    if method == "PING" {
        s.pings.fetch_add(1, Ordering::SeqCst);
        return Step::Reply(json!({"method": "PONG"}));
    }
    let known = matches!(
        method,
        "getChat"
            | "getChatMember"
            | "getChatAdministrators"
            | "removeChatMember"
            | "addChatMember"
            | "addChatAdmin"
    );
    if !known {
        return Step::Error(errors.bad_request);
    }
    let drop_rule = {
        let mut drops = lock(&s.drops);
        match drops.iter().position(|d| d.method == method) {
            Some(i) => drops.remove(i).map(|d| d.when),
            None => None,
        }
    };
    if drop_rule == Some(DropWhen::BeforeActing) {
        return Step::Drop;
    }
    let _in_flight = InFlight::enter(&s.world);
    let latency = world::lock(&s.world).faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let users = usize::from(matches!(
        method,
        "removeChatMember" | "addChatMember" | "addChatAdmin"
    ));
    let fault = world::lock(&s.world).take_fault(users);
    let overloaded = |code| match s.options.fault_style {
        FaultStyle::Drop => Step::Drop,
        FaultStyle::ErrorFrame => Step::Error(code),
    };
    match fault {
        Some(Fault::Unauthorized) => return Step::ErrorThenClose(errors.auth),
        Some(Fault::RateLimited(_)) => return overloaded(errors.rate_limited),
        Some(Fault::ServerError) => return overloaded(errors.server),
        None => {}
    }
    let step = act(s, method, frame);
    if drop_rule == Some(DropWhen::AfterActing) {
        return Step::Drop;
    }
    step
}

fn act(s: &Inner, method: &str, frame: &Map<String, Value>) -> Step {
    let o = &s.options;
    let errors = &o.errors;
    let Some(app_id) = frame.get("app_id").and_then(Value::as_str) else {
        return Step::Error(errors.bad_request);
    };
    if o.app_id.as_deref().is_some_and(|want| want != app_id) {
        return Step::Error(errors.forbidden);
    }
    // Only addChatMember and addChatAdmin have no documented String type
    // for their ids (the Java SDK sends numbers).
    let numbers_ok = !o.strict_string_ids || method.starts_with("add");
    let Some(chat) = id_field(frame, "chat_id", numbers_ok) else {
        return Step::Error(errors.bad_request);
    };
    let user = if method == "getChat" || method == "getChatAdministrators" {
        None
    } else {
        match id_field(frame, "user_id", numbers_ok) {
            Some(u) => Some(u),
            None => return Step::Error(errors.bad_request),
        }
    };
    if o.forbidden_chats.contains(&chat) {
        return Step::Error(errors.forbidden);
    }
    let reference = frame.get("reference").cloned();
    let reply = Reply {
        app_id: app_id.to_string(),
        reference: if o.reference_as_number {
            reference.map(through_a_double)
        } else {
            reference
        },
    };
    let mut w = world::lock(&s.world);
    let Some(room) = w.room_mut(&RoomId::from(chat.as_str())) else {
        return Step::Error(errors.no_chat);
    };
    let user = user.map(|u| UserId::from(u.as_str()));
    match (method, user) {
        ("getChat", _) => Step::Reply(reply.wrap("chatDetails", "chat", chat_details(o, room))),
        ("getChatAdministrators", _) => {
            let mut admins: Vec<Value> = Vec::new();
            if o.admins_include_owners {
                admins.extend(
                    room.with_role(Role::Owner)
                        .iter()
                        .map(|m| json!({"id": m.user.as_str()})),
                );
            }
            admins.extend(
                room.with_role(Role::Admin)
                    .iter()
                    .map(|m| json!({"id": m.user.as_str()})),
            );
            Step::Reply(reply.wrap(
                "chatAdministrators",
                "chatAdministrators",
                json!({"chat": {"id": chat}, "administrators": admins}),
            ))
        }
        ("getChatMember", Some(user)) => match room.get(&user) {
            Some(m) => {
                let v = chat_member(o, room, m);
                Step::Reply(reply.wrap("chatMember", "chatMember", v))
            }
            None => match o.not_member_lookup {
                NotMemberLookup::ErrorFrame => Step::Error(errors.not_member),
                NotMemberLookup::Status(status) => Step::Reply(reply.wrap(
                    "chatMember",
                    "chatMember",
                    bare_member(&chat, user.as_str(), status),
                )),
            },
        },
        ("removeChatMember", Some(user)) => {
            if room.get(&user).is_none() {
                return match o.not_member_removal {
                    NotMemberRemoval::ErrorFrame => Step::Error(errors.not_member),
                    NotMemberRemoval::Ack(status) => Step::Reply(reply.wrap(
                        "chatMember",
                        "chatMember",
                        json!({
                            "view": null,
                            "chat": {"id": chat},
                            "type": null,
                            "user": {"id": user.as_str()},
                            "status": status,
                        }),
                    )),
                };
            }
            if owner_id(room).as_deref() == Some(user.as_str()) {
                // The chat's owner cannot be removed [inf].
                return Step::Error(errors.forbidden);
            }
            room.remove(&user);
            if o.undecodable_removal_reply {
                return Step::Reply(reply.wrap(
                    "chatMember",
                    "chatMember",
                    json!({"chat": {"id": chat}, "status": o.removed_status}),
                ));
            }
            Step::Reply(reply.wrap(
                "chatMember",
                "chatMember",
                bare_member(&chat, user.as_str(), o.removed_status),
            ))
        }
        ("addChatMember", Some(user)) => {
            // Adding a present member changes nothing and is no error [inf].
            room.add(Member::new(user.clone(), None, Role::Member));
            let m = room
                .get(&user)
                .cloned()
                .unwrap_or_else(|| Member::new(user.clone(), None, Role::Member));
            add_answer(o, &reply, room, &m)
        }
        ("addChatAdmin", Some(user)) => {
            // [sdk] only: promotes a member; the reply is undocumented [inf].
            match room.get(&user).map(|m| m.role) {
                None => Step::Error(errors.not_member),
                Some(Role::Owner) => Step::Error(errors.forbidden),
                Some(_) => {
                    room.set_role(&user, Role::Admin);
                    let m = room
                        .get(&user)
                        .cloned()
                        .unwrap_or_else(|| Member::new(user.clone(), None, Role::Admin));
                    add_answer(o, &reply, room, &m)
                }
            }
        }
        _ => Step::Error(errors.bad_request),
    }
}

/// The undocumented answer to `addChatMember` / `addChatAdmin`, per
/// [`AddReply`].
fn add_answer(o: &Options, reply: &Reply, room: &WorldRoom, m: &Member) -> Step {
    let v = chat_member(o, room, m);
    match o.add_reply {
        AddReply::Silent => Step::Nothing,
        AddReply::ChatMember => Step::Reply(reply.wrap("chatMember", "chatMember", v)),
        AddReply::ChatMemberWithoutReference => Step::Reply(json!({
            "method": "chatMember",
            "app_id": reply.app_id,
            "chatMember": v,
        })),
    }
}

/// A `reference` as a server holding it in a double echoes it: digits
/// become a number, rounded to the nearest double and written the way
/// JavaScript writes it (shortest digits, no exponent below 1e21).
fn through_a_double(reference: Value) -> Value {
    let text = match &reference {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return reference,
    };
    match text.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && f.abs() < 1e21 => {
            serde_json::from_str(&format!("{f}")).unwrap_or(reference)
        }
        _ => reference,
    }
}

/// An id field: a JSON string of digits, or (when allowed) a JSON integer.
/// A number that went through a float (`9.0e16`) is no id.
fn id_field(frame: &Map<String, Value>, key: &str, numbers_ok: bool) -> Option<String> {
    let id = match frame.get(key)? {
        Value::String(s) => s.clone(),
        Value::Number(n) if numbers_ok => n.as_u64()?.to_string(),
        _ => return None,
    };
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

struct Reply {
    app_id: String,
    reference: Option<Value>,
}

impl Reply {
    /// `{"method": method, "app_id": …, key: body, "reference": …}`.
    fn wrap(&self, method: &str, key: &str, body: Value) -> Value {
        let mut v = json!({ "method": method, "app_id": self.app_id, key: body });
        if let (Some(r), Some(map)) = (&self.reference, v.as_object_mut()) {
            map.insert("reference".into(), r.clone());
        }
        v
    }
}

fn owner_id(room: &WorldRoom) -> Option<String> {
    room.members()
        .find(|m| m.role == Role::Owner)
        .map(|m| m.user.to_string())
}

/// The `Chat` object of `chatDetails` (the doc example's fields) [doc].
fn chat_details(o: &Options, room: &WorldRoom) -> Value {
    let link = format!("https://join.ndbx.me/join?id={}", room.id);
    let link_key = if o.doc_invite_spelling {
        "inivite_link"
    } else {
        "invite_link"
    };
    json!({
        "id": room.id.as_str(),
        "title": room.name,
        "type": "Group",
        "version": "blake",
        "owner_id": owner_id(room),
        "description": "",
        "category": null,
        "member_count": room.len(),
        "language_code": null,
        "regions": null,
        link_key: link,
        "isPublic": 1,
        "tagsDefinition": null,
    })
}

/// A full `chatMember` object for a present member [doc].
fn chat_member(o: &Options, room: &WorldRoom, m: &Member) -> Value {
    let kind = match m.role {
        Role::Owner => o.owner_type,
        Role::Admin => "Admin",
        Role::Member => "Member",
    };
    let mut user = json!({"id": m.user.as_str()});
    if let (Some(name), Some(u)) = (&m.name, user.as_object_mut()) {
        u.insert("name".into(), json!(name.as_ref()));
    }
    json!({
        "user": user,
        "chat": {"id": room.id.as_str()},
        "type": kind,
        "member_since": 1_718_029_851_000u64,
        "status": "Active",
        "tags": null,
        "account_type": "email",
        "privileges": if m.role.is_staff() { json!(["1", "4611686018427387904"]) } else { json!([]) },
        "view": 0,
    })
}

/// The short `chatMember` of the removal example: `type` and `view` null [doc].
fn bare_member(chat: &str, user: &str, status: &str) -> Value {
    json!({
        "view": null,
        "chat": {"id": chat},
        "type": null,
        "user": {"id": user},
        "status": status,
    })
}

/// An unsolicited `chatMember` frame: no `reference` [sdk javadoc].
fn event_frame(room: &str, m: &Member, kind: &str, status: &str) -> Value {
    let mut user = json!({"id": m.user.as_str()});
    if let (Some(name), Some(u)) = (&m.name, user.as_object_mut()) {
        u.insert("name".into(), json!(name.as_ref()));
    }
    json!({
        "method": "chatMember",
        "app_id": "0",
        "chatMember": {
            "user": user,
            "chat": {"id": room},
            "type": kind,
            "member_since": now_ms(),
            "status": status,
        },
    })
}

/// A world holding one small chat with 19-digit ids (above 2^53 and near
/// the u64 limit), for tests of id exactness. Returns its room id and users.
pub fn add_big_id_room(w: &mut World) -> (String, Vec<String>) {
    let room = "9223372036854775001".to_string();
    let mut r = WorldRoom::new(room.as_str(), "big-ids", true);
    r.add(Member::new(
        "9223372036854770001",
        Some("Owner"),
        Role::Owner,
    ));
    let users: Vec<String> = (2..=6).map(|i| format!("922337203685477000{i}")).collect();
    for u in &users {
        r.add(Member::new(u.as_str(), None, Role::Member));
    }
    w.add_room(r);
    (room, users)
}

/// Leaves one owner per room (the one `owner_id` names): any further
/// owner becomes an admin. nandbox has no second owner [doc].
pub fn single_owner(world: &SharedWorld) {
    let mut w = world::lock(world);
    let ids: Vec<RoomId> = w.rooms().iter().map(|r| r.id.clone()).collect();
    for id in ids {
        let Some(r) = w.room_mut(&id) else { continue };
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
