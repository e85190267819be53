//! nandbox Bot API adapter: JSON frames over one WebSocket. Contract:
//! `providers/nandbox.md`.
//!
//! - Session: `base_url` is the `wss://…/nandbox/api/` address; the first
//!   frame is `TOKEN_AUTH` with the bot token, `TOKEN_AUTH_OK` opens the
//!   session, an error frame is a refused token, a close without one is a
//!   lost connection. `PING` every 30 s; after a drop the next call
//!   reconnects (with backoff) and authenticates again.
//! - Calls carry `app_id` and a unique `reference`; replies are matched by
//!   `reference` (they are named differently from the requests: most
//!   answer `chatMember`). Error frames `{"error": N}` name no request, so
//!   one call is in flight at a time and an error frame belongs to it.
//! - Rooms are the profile's `chats` plus chats seen in events, each named
//!   by `getChat`. Members are partial: the owner (`owner_id`), the
//!   administrators (`getChatAdministrators`, each looked up for name and
//!   type), users looked up one by one (`getChatMember`) and users seen in
//!   join/leave `chatMember` events, which also feed [`Provider::events`].
//! - Remove: `removeChatMember` per user. Re-add: `addChatMember` (and
//!   `addChatAdmin` for an admin being restored; both replies are
//!   undocumented, so a quiet server is asked with `getChatMember`). No
//!   demote: the Bot API has none.
//! - A change whose answer was lost (drop, timeout, unreadable reply) is
//!   marked; the next attempt for that user asks `getChatMember` before
//!   sending anything, so nothing is assumed and nothing is done twice.

mod conn;
mod fuzz;
mod known;
mod wire;

#[doc(hidden)]
pub use fuzz::decode_any;

use crate::config::{ConfigError, Profile};
use crate::model::{
    Action, Member, MemberEvent, Outcome, Page, PageRequest, PageToken, Restore, Role, Room,
    RoomId, Status, UserId,
};
use crate::provider::http;
use crate::provider::{
    Capabilities, ErrorKind, KeySpec, MemberListing, PageStyle, Provider, ProviderError,
    ProviderSpec, Quota, RoomListing,
};
use async_trait::async_trait;
use conn::{CallError, Conn};
use known::{Shared, is_active};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use wire::{AdministratorsFrame, ChatDetails, ChatMemberFrame};

pub(crate) const NAME: &str = "nandbox";

/// nandbox's registry entry.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: NAME,
    keys: &[
        KeySpec::secret(
            "token",
            "the bot token `<botId>:0:<secret>` (\"Get token\" in the nandbox app)",
        ),
        KeySpec::str(
            "app_id",
            "the `app_id` sent with every chat call (default \"0\", as the SDKs send)",
        ),
        KeySpec::list(
            "chats",
            "chat ids to work on (the Bot API cannot list chats); chats seen in events are added",
        ),
    ],
    build: |profile| Ok(Arc::new(Nandbox::from_profile(profile)?)),
};

/// Default calls per second. nandbox documents no rate limit (gap): what
/// bounds a run is one call in flight on the one session, so a run goes
/// at one call per round trip. This is only a backstop far above any real
/// round trip; `rate_limit_per_sec` sets a real limit where an account
/// has one.
pub const DEFAULT_RATE: f64 = 1000.0;
/// Ids are numeric strings of up to 19 digits (above 2^53) [doc].
pub const MAX_ID_DIGITS: usize = 19;
/// The docs' example server (the SDK samples use `d1.nandbox.net:5020`).
pub const EXAMPLE_URL: &str = "wss://w1.nandbox.net:5020/nandbox/api/";
/// How long to wait for the undocumented replies of `addChatMember` and
/// `addChatAdmin` before asking `getChatMember` instead.
const UNDOCUMENTED_REPLY_WAIT: Duration = Duration::from_secs(3);
/// How long member listing reuses one staff list (a few lookups each).
const STAFF_FOR: Duration = Duration::from_secs(5);
/// Rooms per page when the caller gives no size.
const ROOM_PAGE: usize = 100;

/// The nandbox adapter.
pub struct Nandbox {
    conn: Arc<Conn>,
    shared: Arc<Shared>,
    host: String,
    staff: Mutex<Option<StaffList>>,
}

/// One room's staff and when it was read.
type StaffList = (RoomId, Instant, Arc<Vec<Member>>);

/// Checks an id against nandbox's form: 1 to 19 ASCII digits.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        Err("empty id".into())
    } else if !id.bytes().all(|b| b.is_ascii_digit()) {
        Err("nandbox ids are digits only".into())
    } else if id.len() > MAX_ID_DIGITS {
        Err(format!("nandbox ids have at most {MAX_ID_DIGITS} digits"))
    } else {
        Ok(())
    }
}

fn err(op: &str, kind: ErrorKind, message: impl Into<String>) -> ProviderError {
    ProviderError::new(NAME, op, kind, message)
}

/// An error frame as an error of `op`. The codes are undocumented, so
/// nothing says a retry would help: a bad request, with the code.
fn frame_error(op: &str, code: &str) -> ProviderError {
    err(
        op,
        ErrorKind::BadRequest,
        "error frame (nandbox does not document its error codes)",
    )
    .with_code(code)
}

fn parse<T: DeserializeOwned>(op: &str, text: &str) -> Result<T, ProviderError> {
    http::decode(NAME, op, text.as_bytes())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Nandbox {
    /// Builds the adapter from a profile: `base_url` (ws:// or wss://),
    /// `token[_env|_cmd]`, optional `app_id` and `chats`.
    pub fn from_profile(profile: &Profile) -> Result<Self, ConfigError> {
        let url = profile.common.base_url.clone().ok_or_else(|| {
            ConfigError::new(format!(
                "profile `{}` (provider nandbox) needs `base_url`, the Bot API socket, e.g. base_url = \"{EXAMPLE_URL}\"",
                profile.name
            ))
        })?;
        match url::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "ws" | "wss") && u.host_str().is_some() => {}
            _ => {
                return Err(profile.key_error(
                    "base_url",
                    &format!("must be a ws:// or wss:// address, e.g. \"{EXAMPLE_URL}\""),
                ));
            }
        }
        let token = profile.secret("token")?.ok_or_else(|| {
            ConfigError::new(format!(
                "profile `{}` (provider nandbox) has no token: add token_env = \"VAR\" (or token_cmd) with the bot token",
                profile.name
            ))
        })?;
        if !well_formed_token(token.expose_secret()) {
            // Never echo the value: it is a secret, even when malformed.
            return Err(profile.key_error(
                "token",
                "does not look like a nandbox bot token (`<botId>:0:<secret>`)",
            ));
        }
        let app_id = profile.get_str("app_id")?.unwrap_or_else(|| "0".into());
        if app_id.trim().is_empty() || app_id.chars().any(char::is_control) {
            return Err(profile.key_error("app_id", "must be a non-empty id"));
        }
        let mut chats = Vec::new();
        for chat in profile.get_str_list("chats")?.unwrap_or_default() {
            let chat = chat.trim().to_string();
            if let Err(why) = check_id(&chat) {
                return Err(profile.key_error(
                    "chats",
                    &format!("holds `{chat}`, which is not a nandbox chat id: {why}"),
                ));
            }
            let chat = RoomId::from(chat);
            if !chats.contains(&chat) {
                chats.push(chat);
            }
        }
        let timeout = profile
            .common
            .timeout_secs
            .map(Duration::from_secs)
            .unwrap_or(http::DEFAULT_TIMEOUT);
        let shared = Arc::new(Shared::new(chats));
        let events = shared.clone();
        Ok(Self {
            conn: Arc::new(Conn::new(
                url.clone(),
                token,
                app_id,
                timeout,
                Arc::new(move |frame: &str| events.on_frame(frame)),
            )),
            host: http::host_of(&url),
            shared,
            staff: Mutex::new(None),
        })
    }

    fn ids(op: &str, room: &RoomId, user: Option<&UserId>) -> Result<(), ProviderError> {
        check_id(room.as_str()).map_err(|why| {
            err(
                op,
                ErrorKind::BadRequest,
                format!("chat id `{room}`: {why}"),
            )
        })?;
        if let Some(u) = user {
            check_id(u.as_str())
                .map_err(|why| err(op, ErrorKind::BadRequest, format!("user id `{u}`: {why}")))?;
        }
        Ok(())
    }

    /// A read: any failure is an error of the call.
    async fn read(
        &self,
        op: &'static str,
        room: &RoomId,
        user: Option<&UserId>,
    ) -> Result<String, ProviderError> {
        Self::ids(op, room, user)?;
        self.conn
            .call(op, room.as_str(), user.map(UserId::as_str))
            .await
            .map_err(|e| match e {
                CallError::Frame(code) => frame_error(op, &code),
                CallError::Lost(e) | CallError::Failed(e) => e,
            })
    }

    /// `getChat`: the room, remembering its owner and size.
    async fn fetch_chat(&self, room: &RoomId) -> Result<Room, ProviderError> {
        const OP: &str = "getChat";
        let text = self.read(OP, room, None).await?;
        let chat = parse::<ChatDetails>(OP, &text)?.chat;
        let size = chat.member_count.map(|c| c.0);
        let owner = chat.owner_id.map(|o| UserId::from(o.0.as_str()));
        self.shared.set_chat(room, owner, size);
        let name = [chat.title, chat.name]
            .into_iter()
            .flatten()
            .find(|n| !n.trim().is_empty())
            .unwrap_or_else(|| chat.id.0.clone());
        Ok(Room {
            id: room.clone(),
            name,
            member_count: size,
            // nandbox has no deactivated chats.
            active: true,
        })
    }

    /// The chat's owner, reading `getChat` once per chat.
    async fn owner(&self, room: &RoomId) -> Result<Option<UserId>, ProviderError> {
        if let Some(owner) = self.shared.owner(room) {
            return Ok(owner);
        }
        self.fetch_chat(room).await?;
        Ok(self.shared.owner(room).flatten())
    }

    /// `getChatMember`: the member, or `None` when not in the chat.
    async fn lookup(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>, ProviderError> {
        const OP: &str = "getChatMember";
        Self::ids(OP, room, Some(user))?;
        self.owner(room).await?;
        match self.conn.call(OP, room.as_str(), Some(user.as_str())).await {
            Ok(text) => {
                let frame: ChatMemberFrame = parse(OP, &text)?;
                match self.shared.member_of(room, &frame.chat_member) {
                    Some(m) => {
                        self.shared.present(room, m.clone());
                        Ok(Some(m))
                    }
                    None => {
                        self.shared.gone(room, user);
                        Ok(None)
                    }
                }
            }
            Err(CallError::Frame(code)) => {
                // How a non-member is answered is not documented: a status
                // (Left, Deleted) or an error frame. An error frame for a
                // chat the bot can read (getChat answers) is about the user.
                self.fetch_chat(room).await?;
                tracing::debug!("nandbox: getChatMember answered error {code}: not a member");
                self.shared.gone(room, user);
                Ok(None)
            }
            Err(CallError::Lost(e) | CallError::Failed(e)) => Err(e),
        }
    }

    /// The owner and the administrators, each looked up for its name and
    /// type; reused for a few seconds.
    async fn staff_of(&self, room: &RoomId) -> Result<Arc<Vec<Member>>, ProviderError> {
        self.staff_with(room, false).await
    }

    /// [`Self::staff_of`]; `chat_read`: getChat was just read.
    async fn staff_with(
        &self,
        room: &RoomId,
        chat_read: bool,
    ) -> Result<Arc<Vec<Member>>, ProviderError> {
        const OP: &str = "getChatAdministrators";
        if let Some((r, at, staff)) = lock(&self.staff).as_ref()
            && r == room
            && at.elapsed() < STAFF_FOR
        {
            return Ok(staff.clone());
        }
        if !chat_read {
            self.fetch_chat(room).await?;
        }
        let owner = self.shared.owner(room).flatten();
        let text = self.read(OP, room, None).await?;
        let admins: AdministratorsFrame = parse(OP, &text)?;
        let mut ids: Vec<UserId> = owner.iter().cloned().collect();
        for a in admins.inner.administrators {
            let id = UserId::from(a.id.0.as_str());
            if check_id(id.as_str()).is_ok() && !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut staff = Vec::with_capacity(ids.len());
        for id in ids {
            let listed = if owner.as_ref() == Some(&id) {
                Role::Owner
            } else {
                Role::Admin
            };
            let looked = self
                .conn
                .call("getChatMember", room.as_str(), Some(id.as_str()))
                .await;
            let member = match looked {
                Ok(text) => {
                    let frame: ChatMemberFrame = parse("getChatMember", &text)?;
                    match self.shared.member_of(room, &frame.chat_member) {
                        // The list says staff; a lookup may say owner.
                        Some(m) if m.role == Role::Owner => m,
                        Some(m) => Member { role: listed, ..m },
                        None => continue,
                    }
                }
                Err(CallError::Frame(_)) => Member::new(id, None, listed),
                Err(CallError::Lost(e) | CallError::Failed(e)) => return Err(e),
            };
            self.shared.present(room, member.clone());
            staff.push(member);
        }
        let staff = Arc::new(staff);
        *lock(&self.staff) = Some((room.clone(), Instant::now(), staff.clone()));
        Ok(staff)
    }

    /// Drops the staff list of a room this adapter is changing.
    fn forget_staff(&self, room: &RoomId) {
        let mut staff = lock(&self.staff);
        if staff.as_ref().is_some_and(|(r, _, _)| r == room) {
            *staff = None;
        }
    }

    /// A removal whose answer does not say the user went (an error frame,
    /// a status other than Removed): asks, and ends `already_absent` when
    /// the user is not a member, else `failed` with `reason`.
    async fn settle_removal(&self, room: &RoomId, user: &UserId, reason: String) -> Outcome {
        let row = |status| Outcome::new(room, user, Action::Remove, status);
        match self.lookup(room, user).await {
            Ok(None) => row(Status::AlreadyAbsent)
                .with_reason(format!("{reason}; getChatMember: not a member")),
            Ok(Some(m)) => row(Status::Failed)
                .with_reason(reason)
                .with_role(Some(m.role)),
            Err(_) => row(Status::Failed).with_reason(reason),
        }
    }

    async fn remove_one(&self, room: &RoomId, user: &UserId) -> Result<Outcome, ProviderError> {
        const OP: &str = "removeChatMember";
        let row = |status| Outcome::new(room, user, Action::Remove, status);
        Self::ids(OP, room, Some(user))?;
        if self.shared.take_pending(room, user, Action::Remove) {
            // The last removal's answer was lost: ask before sending again.
            match self.lookup(room, user).await {
                Ok(None) => {
                    return Ok(row(Status::Removed)
                        .with_reason("confirmed by getChatMember after the answer was lost"));
                }
                Ok(Some(_)) => {}
                Err(e) => {
                    self.shared.set_pending(room, user, Action::Remove);
                    return Err(e);
                }
            }
        }
        self.forget_staff(room);
        match self.conn.call(OP, room.as_str(), Some(user.as_str())).await {
            Ok(text) => {
                let frame: ChatMemberFrame = match parse(OP, &text) {
                    Ok(frame) => frame,
                    Err(e) => {
                        // An answer came but cannot be read: the removal may
                        // have taken effect. Like a lost answer, the next
                        // attempt asks before sending anything.
                        self.shared.set_pending(room, user, Action::Remove);
                        return Err(e);
                    }
                };
                let status = frame.chat_member.status.unwrap_or_default();
                if status.eq_ignore_ascii_case("removed") || status.eq_ignore_ascii_case("deleted")
                {
                    self.shared.gone(room, user);
                    Ok(row(Status::Removed))
                } else {
                    // Not the removal's status: a server may ack a removal
                    // of someone not there with `Left` or a null status
                    // [inf]. Ask, as after an error frame.
                    let reason = if status.is_empty() {
                        "removeChatMember answered a null status, not Removed".to_string()
                    } else {
                        format!("removeChatMember answered status `{status}`, not Removed")
                    };
                    Ok(self.settle_removal(room, user, reason).await)
                }
            }
            Err(CallError::Frame(code)) => {
                // The error belongs to this call (one in flight). Whether
                // it means "not a member" is undocumented: ask.
                let reason = format!("nandbox error {code}");
                Ok(self.settle_removal(room, user, reason).await)
            }
            Err(CallError::Lost(e)) => {
                self.shared.set_pending(room, user, Action::Remove);
                Err(e)
            }
            Err(CallError::Failed(e)) => Err(e),
        }
    }

    /// `addChatMember` or `addChatAdmin`, whose replies are undocumented:
    /// the member as the server now shows it (`None`: not in the chat), or
    /// why the add failed. A `chatMember` for this chat and user answers,
    /// with or without our reference; when it shows what was asked it is
    /// taken as is, otherwise (or when nothing comes) `getChatMember` is
    /// asked on the same session.
    async fn add(
        &self,
        op: &'static str,
        room: &RoomId,
        user: &UserId,
    ) -> Result<Result<Option<Member>, String>, ProviderError> {
        let sent = self
            .conn
            .ack(op, room.as_str(), user.as_str(), UNDOCUMENTED_REPLY_WAIT)
            .await;
        let lost = match sent {
            Ok(Some(text)) => {
                if let Ok(frame) = serde_json::from_str::<ChatMemberFrame>(&text) {
                    if !is_active(frame.chat_member.status.as_deref()) {
                        let status = frame.chat_member.status.unwrap_or_default();
                        return Ok(Err(format!("{op} answered status `{status}`")));
                    }
                    if let Some(m) = self.shared.member_of(room, &frame.chat_member)
                        && (op == "addChatMember" || m.role != Role::Member)
                    {
                        self.shared.present(room, m.clone());
                        return Ok(Ok(Some(m)));
                    }
                }
                return Ok(Ok(self.lookup(room, user).await?));
            }
            Err(CallError::Frame(code)) => {
                return match self.lookup(room, user).await? {
                    // Already there: an error for adding a member is no failure.
                    Some(m) if op == "addChatMember" => Ok(Ok(Some(m))),
                    _ => Ok(Err(format!("nandbox error {code}"))),
                };
            }
            Err(CallError::Failed(e)) => return Err(e),
            // No answer (the reply is undocumented; the session is kept).
            Ok(None) => None,
            // A drop or a timeout.
            Err(CallError::Lost(e)) => Some(e),
        };
        match self.lookup(room, user).await {
            Ok(found) => Ok(Ok(found)),
            Err(e) => {
                self.shared.set_pending(room, user, Action::Readd);
                Err(lost.unwrap_or(e))
            }
        }
    }

    async fn readd_one(&self, room: &RoomId, r: &Restore) -> Result<Outcome, ProviderError> {
        let user = &r.user;
        let row = |status| Outcome::new(room, user, Action::Readd, status);
        Self::ids("addChatMember", room, Some(user))?;
        self.forget_staff(room);
        let mut now = None;
        if self.shared.take_pending(room, user, Action::Readd) {
            // The last re-add's answer was lost: ask before sending again.
            now = match self.lookup(room, user).await {
                Ok(found) => found,
                Err(e) => {
                    self.shared.set_pending(room, user, Action::Readd);
                    return Err(e);
                }
            };
        }
        if now.is_none() {
            match self.add("addChatMember", room, user).await? {
                Ok(Some(m)) => now = Some(m),
                Ok(None) => {
                    return Ok(row(Status::Failed)
                        .with_reason("addChatMember: getChatMember still finds no member"));
                }
                Err(why) => return Ok(row(Status::Failed).with_reason(why)),
            }
        }
        let mut member = now.unwrap_or_else(|| Member::new(user.clone(), None, Role::Member));
        let mut reason = None;
        match r.role {
            Role::Admin if member.role == Role::Member => {
                match self.add("addChatAdmin", room, user).await? {
                    Ok(Some(m)) if m.role != Role::Member => member = m,
                    Ok(_) => {
                        reason = Some("re-added as a member; addChatAdmin did not take".into())
                    }
                    Err(why) => reason = Some(format!("re-added as a member; addChatAdmin: {why}")),
                }
            }
            Role::Owner if member.role != Role::Owner => {
                reason = Some(
                    "re-added without the owner role: the Bot API cannot make an owner".to_string(),
                );
            }
            _ => {}
        }
        let out = row(Status::Readded).with_role(Some(member.role));
        Ok(match reason {
            Some(why) => out.with_reason(why),
            None => out,
        })
    }
}

/// `<botId>:0:<secret>` [doc]: digits, a colon, digits, a colon, the rest.
fn well_formed_token(token: &str) -> bool {
    let mut parts = token.splitn(3, ':');
    let digits =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next())
        && digits(parts.next())
        && parts
            .next()
            .is_some_and(|s| !s.is_empty() && !s.chars().any(char::is_control))
}

#[async_trait]
impl Provider for Nandbox {
    fn name(&self) -> &'static str {
        NAME
    }

    fn host(&self) -> String {
        self.host.clone()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_batch: 1,
            max_demote_batch: 1,
            rooms: RoomListing::Configured,
            members: MemberListing::Partial,
            can_demote: false,
            can_demote_owner: false,
            // Removing the chat's owner is not documented [inf].
            can_remove_owner: false,
            has_admins: true,
            can_readd: true,
            quota: Quota::per_second(DEFAULT_RATE),
            rooms_quota: None,
            max_in_flight: 1,
            member_page_size: 1_000,
            page_style: PageStyle::Whole,
            pacing: None,
            ..Capabilities::default()
        }
    }

    fn validate_user(&self, user: &UserId) -> Result<(), String> {
        check_id(user.as_str())
    }

    fn canonical_room(&self, room: &RoomId) -> RoomId {
        RoomId::from(room.as_str().trim())
    }

    /// Join/leave events; while anyone listens, a connection that drops
    /// while idle is opened again, and each chat is told it missed events.
    fn events(&self) -> Option<tokio::sync::broadcast::Receiver<MemberEvent>> {
        let shared = self.shared.clone();
        self.conn.keep_open(Arc::new(move || shared.missed()));
        Some(self.shared.events.subscribe())
    }

    /// The rooms are the profile's, so listing them proves nothing: the
    /// session is opened instead (`TOKEN_AUTH_OK` accepts the token).
    async fn check(&self) -> Result<(), ProviderError> {
        self.conn.ensure_open().await
    }

    /// The configured chats, then chats seen, each read with `getChat`.
    async fn rooms(&self, page: PageRequest) -> Result<Page<Room>, ProviderError> {
        const OP: &str = "rooms";
        let all = self.shared.rooms();
        let from = match &page.token {
            None => 0,
            Some(PageToken(t)) => t
                .parse::<usize>()
                .map_err(|_| err(OP, ErrorKind::BadRequest, "invalid page token"))?,
        };
        let size = page.size.map_or(ROOM_PAGE, |s| s.clamp(1, 1_000) as usize);
        let end = from.saturating_add(size).min(all.len());
        let mut items = Vec::with_capacity(end.saturating_sub(from));
        for id in all.get(from..end).unwrap_or_default() {
            match self.fetch_chat(id).await {
                Ok(room) => items.push(room),
                Err(e) if e.is_unavailable() || e.is_retryable() => return Err(e),
                // A configured chat the bot cannot read stays visible, locked.
                Err(e) => items.push(Room {
                    id: id.clone(),
                    name: format!("(cannot read: {})", e.reason()),
                    member_count: None,
                    active: false,
                }),
            }
        }
        Ok(Page {
            items,
            next: (end < all.len()).then(|| PageToken(end.to_string())),
            total: Some(all.len() as u64),
        })
    }

    async fn room(&self, room: &RoomId) -> Result<Room, ProviderError> {
        let r = self.fetch_chat(room).await?;
        self.shared.see_room(room);
        Ok(r)
    }

    /// Everything known: staff, then members looked up or seen in events.
    async fn members(
        &self,
        room: &RoomId,
        _page: PageRequest,
    ) -> Result<Page<Member>, ProviderError> {
        let staff = self.staff_of(room).await?;
        let mut items: Vec<Member> = staff.as_ref().clone();
        for m in self.shared.members(room) {
            if !items.iter().any(|s| s.user == m.user) {
                items.push(m);
            }
        }
        Ok(Page {
            items,
            next: None,
            total: self.shared.size(room),
        })
    }

    async fn member(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>, ProviderError> {
        self.lookup(room, user).await
    }

    async fn staff(&self, room: &RoomId) -> Result<Vec<Member>, ProviderError> {
        Ok(self.staff_of(room).await?.as_ref().clone())
    }

    async fn room_and_staff(&self, room: &RoomId) -> Result<(Room, Vec<Member>), ProviderError> {
        let detail = self.room(room).await?;
        let staff = self.staff_with(room, true).await?;
        Ok((detail, staff.as_ref().clone()))
    }

    async fn remove(&self, room: &RoomId, users: &[UserId]) -> Result<Vec<Outcome>, ProviderError> {
        let mut out = Vec::with_capacity(users.len());
        for (i, user) in users.iter().enumerate() {
            match self.remove_one(room, user).await {
                Ok(o) => out.push(o),
                Err(e) if i == 0 => return Err(e),
                Err(e) => {
                    // Rows already done must not be sent again: report the
                    // rest as failed (a lost answer stays marked and is
                    // asked about on the next attempt).
                    for u in &users[i..] {
                        out.push(
                            Outcome::new(room, u, Action::Remove, Status::Failed)
                                .with_reason(e.to_string()),
                        );
                    }
                    break;
                }
            }
        }
        Ok(out)
    }

    async fn readd(&self, room: &RoomId, users: &[Restore]) -> Result<Vec<Outcome>, ProviderError> {
        let mut out = Vec::with_capacity(users.len());
        for (i, r) in users.iter().enumerate() {
            match self.readd_one(room, r).await {
                Ok(o) => out.push(o),
                Err(e) if i == 0 => return Err(e),
                Err(e) => {
                    for rest in &users[i..] {
                        out.push(
                            Outcome::new(room, &rest.user, Action::Readd, Status::Failed)
                                .with_reason(e.to_string()),
                        );
                    }
                    break;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_up_to_19_digits() {
        assert!(check_id("9223372036854775807").is_ok());
        assert!(check_id("12345678901234567890").is_err());
        assert!(check_id("").is_err());
        assert!(check_id("12a").is_err());
        assert!(check_id("..").is_err());
    }

    #[test]
    fn token_form() {
        assert!(well_formed_token("90091783822039252:0:abc-DEF"));
        assert!(!well_formed_token("abc"));
        assert!(!well_formed_token("1:0:"));
        assert!(!well_formed_token("x:0:secret"));
    }
}
