//! Symphony (pod REST API): rooms are streams with base64 ids, users are
//! int64 numbers, owner is a flag (no admin tier), and there is no batch
//! call, so every membership change is one request for one user.
//!
//! Profile keys: `base_url` (the pod, e.g. `https://acme.symphony.com`),
//! `session_token[_env|_cmd]` or `username` + `private_key_path` (RSA bot
//! login), `admin` (the admin endpoints: enterprise room list, paged
//! members with names, admin add/remove), `query` (room search instead of
//! a room list), `jumbo_pacing`, `min_owners`.

mod auth;
mod fuzz;
pub mod ids;
mod wire;

#[doc(hidden)]
pub use fuzz::decode_any;

use crate::config::{ConfigError, Profile};
use crate::model::{
    Action, Demotion, Member, Outcome, Page, PageRequest, PageToken, Restore, Role, Room, RoomId,
    Status, UserId,
};
use crate::provider::http::{self, status_kind};
use crate::provider::{
    Capabilities, ErrorKind, KeySpec, OwnerFloor, Pacing, PageStyle, Provider, ProviderError,
    ProviderSpec, Quota, Roster,
};
use async_trait::async_trait;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use wire::*;

pub(crate) const NAME: &str = "symphony";

/// Symphony's registry entry.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: NAME,
    keys: &[
        KeySpec::secret(
            "session_token",
            "a session token, sent as the `sessionToken` header",
        ),
        KeySpec::str("username", "RSA bot login: the bot's username"),
        KeySpec::str(
            "private_key_path",
            "RSA bot login: the bot's private key (PEM)",
        ),
        KeySpec::bool(
            "admin",
            "use the admin endpoints: every room of the pod, paged members with names, admin add/remove",
        ),
        KeySpec::str(
            "query",
            "list rooms by room search with this query instead of the account's own rooms",
        ),
        KeySpec::bool(
            "jumbo_pacing",
            "pace changes in rooms over 500 members at one per 3 s (default true)",
        ),
        KeySpec::int(
            "min_owners",
            "owners kept in rooms over 500 members: 2 (default, Symphony's advice) or 1",
        ),
    ],
    build: |profile| Ok(Arc::new(Symphony::from_profile(profile)?)),
};

/// Rooms with more members than this take one change per 3 s: the Add
/// Member page says over 500 users (the Remove Member page's "jumbo rooms"
/// over 1,000); the stricter 500 [doc].
pub const JUMBO_ABOVE: u64 = 500;
/// One membership change per this interval in big rooms, counted from the
/// completion of the previous change [doc].
pub const JUMBO_INTERVAL: Duration = Duration::from_secs(3);
/// Owners kept in big rooms: the Remove Member page recommends at least
/// two [doc]; `min_owners = 1` relaxes it.
pub const BIG_ROOM_OWNERS: usize = 2;
const OWNER_FLOOR_SOURCE: &str = "Symphony's Remove Member page advises at least 2 owners in large rooms; min_owners = 1 in the profile relaxes this";
/// Default calls per second. Symphony publishes no numbers; the only
/// documented pace is one change per 3 s in jumbo rooms, because each
/// change makes the key manager work. 5 calls/s keeps a cleanup of a few
/// hundred users to a minute or two while staying far below any plausible
/// pod throttle; `rate_limit_per_sec` raises it.
pub const DEFAULT_RATE: f64 = 5.0;
/// `POST /pod/v3/room/search`: at most 100 rooms a page [spec].
const SEARCH_MAX: u32 = 100;
/// `POST /pod/v1/streams/list`: no maximum published; 100 to be safe.
const STREAMS_MAX: u32 = 100;
/// `POST /pod/v2/admin/streams/list`: at most 100 a page [spec].
const ADMIN_STREAMS_MAX: u32 = 100;
/// `GET /pod/v1/admin/stream/{id}/membership/list`: at most 1000 [spec].
const ADMIN_MEMBERS_MAX: u32 = 1_000;
/// Page size the faces use for the whole (unpaged) v2 list, sliced here.
const WHOLE_PAGE: u32 = 1_000;

/// The Symphony adapter.
pub struct Symphony {
    http: reqwest::Client,
    base: String,
    auth: http::Credentials,
    admin: bool,
    query: Option<String>,
    jumbo_pacing: bool,
    /// Owners kept in big rooms (1 or 2).
    min_owners: usize,
}

/// A successful answer.
impl Symphony {
    pub fn from_profile(profile: &Profile) -> Result<Self, ConfigError> {
        let base = http::base_url(profile, None)?;
        Ok(Self {
            http: http::client(profile)?,
            auth: auth::credentials(profile, &base)?,
            base,
            admin: profile.get_bool("admin")?.unwrap_or(false),
            query: profile.get_str("query")?,
            jumbo_pacing: profile.get_bool("jumbo_pacing")?.unwrap_or(true),
            min_owners: match profile.get_u64("min_owners")? {
                None => BIG_ROOM_OWNERS,
                Some(n @ 1..=2) => n as usize,
                Some(_) => {
                    return Err(profile.key_error(
                        "min_owners",
                        "must be 2 (keep two owners in rooms over 500 members, Symphony's advice) or 1 (only never the last owner)",
                    ));
                }
            },
        })
    }

    /// Sends one request with the session header; on a 401 gets a new
    /// session once and sends again; maps any other failure.
    async fn call<B: Serialize + ?Sized>(
        &self,
        op: &str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<http::Answer, ProviderError> {
        let body = body
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| ProviderError::new(NAME, op, ErrorKind::BadRequest, e.to_string()))?;
        let call = http::Call {
            op,
            method,
            url: format!("{}{path}", self.base),
            query,
            body: body.as_ref(),
            headers: &[],
        };
        http::request(&self.http, NAME, &self.auth, call, |op, a| {
            error_from(op, a.status, a.retry_after, &a.body)
        })
        .await
    }

    async fn json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        op: &str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<Option<T>, ProviderError> {
        let answer = self.call(op, method, path, query, body).await?;
        if answer.status == 204 || answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        http::decode(NAME, op, &answer.body).map(Some)
    }

    /// The room id for a URL path, or a clear error before anything is sent.
    fn path_id(op: &str, room: &RoomId) -> Result<String, ProviderError> {
        ids::url_safe(room).map_err(|why| ProviderError::new(NAME, op, ErrorKind::BadRequest, why))
    }

    /// The whole v2 member list (ids and owner flags, no names).
    async fn whole_list(&self, room: &RoomId) -> Result<Arc<Vec<Member>>, ProviderError> {
        const OP: &str = "GET /pod/v2/room/{id}/membership/list";
        let id = Self::path_id(OP, room)?;
        let list: Vec<MemberInfo> = self
            .json::<_, ()>(
                OP,
                Method::GET,
                &format!("/pod/v2/room/{id}/membership/list"),
                &[],
                None,
            )
            .await?
            .unwrap_or_default();
        Ok(Arc::new(from_v2(&list)))
    }

    /// Every member from the admin list, page by page, and the largest
    /// total a page reported.
    async fn admin_all(&self, room: &RoomId) -> Result<(Vec<Member>, u64), ProviderError> {
        let mut members = Vec::new();
        let mut total = 0u64;
        let mut skip = 0u64;
        loop {
            let list = self.admin_page(room, skip, ADMIN_MEMBERS_MAX).await?;
            let n = list.members.len() as u64;
            total = total.max(list.count.unwrap_or(0));
            members.extend(from_admin(&list));
            skip += n;
            if n == 0 || list.count.is_some_and(|c| skip >= c) {
                let listed = members.len() as u64;
                return Ok((members, total.max(listed)));
            }
        }
    }

    /// Every member of the room, from the list this mode uses, and the
    /// member count.
    async fn every_member(&self, room: &RoomId) -> Result<(Vec<Member>, u64), ProviderError> {
        if self.admin {
            return self.admin_all(room).await;
        }
        let list = Arc::unwrap_or_clone(self.whole_list(room).await?);
        let n = list.len() as u64;
        Ok((list, n))
    }

    /// `GET /pod/v3/room/{id}/info`.
    async fn info(&self, room: &RoomId) -> Result<RoomDetail, ProviderError> {
        const OP: &str = "GET /pod/v3/room/{id}/info";
        let id = Self::path_id(OP, room)?;
        self.json::<_, ()>(
            OP,
            Method::GET,
            &format!("/pod/v3/room/{id}/info"),
            &[],
            None,
        )
        .await?
        .ok_or_else(|| {
            ProviderError::new(NAME, OP, ErrorKind::Server { status: 502 }, "empty answer")
        })
    }

    /// One page of the admin membership list.
    async fn admin_page(
        &self,
        room: &RoomId,
        skip: u64,
        limit: u32,
    ) -> Result<MembershipList, ProviderError> {
        const OP: &str = "GET /pod/v1/admin/stream/{id}/membership/list";
        let id = Self::path_id(OP, room)?;
        Ok(self
            .json::<MembershipList, ()>(
                OP,
                Method::GET,
                &format!("/pod/v1/admin/stream/{id}/membership/list"),
                &[("skip", skip.to_string()), ("limit", limit.to_string())],
                None,
            )
            .await?
            .unwrap_or(MembershipList {
                count: Some(0),
                members: Vec::new(),
            }))
    }

    /// One membership call (`add`, `remove`, `promoteOwner`, `demoteOwner`)
    /// for one user; `Ok` carries the provider's message. In admin mode
    /// `add` and `remove` go to the admin endpoints
    /// (`/pod/v1/admin/room/{id}/membership/add|remove` [spec]); the spec
    /// has no admin promote or demote, so those stay on the room's.
    async fn membership(
        &self,
        room: &RoomId,
        verb: &str,
        user: i64,
    ) -> Result<String, ProviderError> {
        let scope = if self.admin && matches!(verb, "add" | "remove") {
            "/pod/v1/admin/room"
        } else {
            "/pod/v1/room"
        };
        let op = format!("POST {scope}/{{id}}/membership/{verb}");
        let id = Self::path_id(&op, room)?;
        let answer = self
            .call(
                &op,
                Method::POST,
                &format!("{scope}/{id}/membership/{verb}"),
                &[],
                Some(&UserIdBody { id: user }),
            )
            .await?;
        // A 2xx is the change done: the text ("Member removed", "Success",
        // ...) only informs, so an odd or empty body is no reason to retry
        // a change that was made.
        let said: Option<SuccessResponse> = serde_json::from_slice(&answer.body).ok();
        Ok(said.and_then(|a| a.message).unwrap_or_default())
    }

    async fn remove_one(&self, room: &RoomId, user: &UserId) -> Result<Outcome, ProviderError> {
        let row = |status| Outcome::new(room, user, Action::Remove, status);
        let n = match ids::user_number(user) {
            Ok(n) => n,
            Err(why) => return Ok(row(Status::Failed).with_reason(why)),
        };
        // Symphony documents no text for "not a member": the plan judges
        // membership from the member list it reads, and a refusal here
        // fails the row with the pod's own words.
        match self.membership(room, "remove", n).await {
            Ok(_) => Ok(row(Status::Removed)),
            Err(e) if is_final(&e) => Ok(row(Status::Failed).with_reason(e.message)),
            Err(e) => Err(e),
        }
    }

    async fn readd_one(&self, room: &RoomId, restore: &Restore) -> Result<Outcome, ProviderError> {
        let user = &restore.user;
        let row = |status| Outcome::new(room, user, Action::Readd, status);
        let n = match ids::user_number(user) {
            Ok(n) => n,
            Err(why) => return Ok(row(Status::Failed).with_reason(why)),
        };
        match self.membership(room, "add", n).await {
            Ok(_) => {}
            // Adding someone who is already there is not a failure of undo.
            Err(e) if is_final(&e) && says_already_member(&e.message) => {}
            Err(e) if is_final(&e) => return Ok(row(Status::Failed).with_reason(e.message)),
            Err(e) => return Err(e),
        }
        if restore.role != Role::Owner {
            return Ok(row(Status::Readded));
        }
        match self.membership(room, "promoteOwner", n).await {
            Ok(_) => Ok(row(Status::Readded).with_reason("restored as owner")),
            Err(e) if is_final(&e) => Ok(row(Status::Failed).with_reason(format!(
                "added back as a member, but not made owner again: {}",
                e.message
            ))),
            Err(e) => Err(e),
        }
    }
}

/// `V2MemberInfoList` rows to members (ids and owner flags, no names).
fn from_v2(list: &[MemberInfo]) -> Vec<Member> {
    list.iter()
        .filter_map(|m| Some((m.id?, m)))
        .map(|(id, m)| Member {
            user: ids::user_id(id),
            name: None,
            role: if m.is_owner() {
                Role::Owner
            } else {
                Role::Member
            },
        })
        .collect()
}

/// One admin `V2MembershipList` page to members, with names.
fn from_admin(list: &MembershipList) -> Vec<Member> {
    list.members
        .iter()
        .filter_map(|m| Some((m.user.user_id?, m)))
        .map(|(id, m)| Member {
            user: ids::user_id(id),
            name: m.user.name().map(Arc::from),
            role: if m.is_owner() {
                Role::Owner
            } else {
                Role::Member
            },
        })
        .collect()
}

/// The adapter's own decoding of a `GET /pod/v2/room/{id}/membership/list`
/// body, for the ingest benchmark.
#[doc(hidden)]
pub fn parse_membership_list(body: &[u8]) -> Result<Vec<Member>, ProviderError> {
    let list: Vec<MemberInfo> = http::decode(NAME, "GET /pod/v2/room/{id}/membership/list", body)?;
    Ok(from_v2(&list))
}

/// The adapter's own decoding of one `GET /pod/v1/admin/stream/{id}/membership/list`
/// page, for the ingest benchmark.
#[doc(hidden)]
pub fn parse_admin_membership_page(body: &[u8]) -> Result<Vec<Member>, ProviderError> {
    let list: MembershipList =
        http::decode(NAME, "GET /pod/v1/admin/stream/{id}/membership/list", body)?;
    Ok(from_admin(&list))
}

/// Final refusals that end a row (400, 403, 404); anything else (retryable,
/// auth) goes back to the engine as an error.
fn is_final(e: &ProviderError) -> bool {
    matches!(
        e.kind,
        ErrorKind::BadRequest | ErrorKind::NotFound | ErrorKind::Forbidden
    )
}

fn says_already_member(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already a member") || m.contains("already member") || m.contains("already in")
}

/// A room from its info, under the id it was asked by (plans key rooms
/// by it).
fn room_from(room: &RoomId, detail: RoomDetail, member_count: Option<u64>) -> Room {
    Room {
        id: room.clone(),
        name: detail.room_attributes.name.unwrap_or_default(),
        member_count,
        active: detail.room_system_info.active.unwrap_or(true),
    }
}

/// A listed stream id in the one spelling roomwarden uses for it.
fn canonical(id: String) -> RoomId {
    let room = RoomId::from(id);
    ids::standard(&room).map(RoomId::from).unwrap_or(room)
}

/// Whether a skip/limit listing goes on after a page of `n` items ending
/// at `end`: up to the reported total, else until an empty page (a server
/// may cap pages below `limit`, so a short page does not end the list).
fn has_more(n: u64, end: u64, total: Option<u64>) -> bool {
    n > 0
        && match total {
            Some(total) => end < total,
            None => true,
        }
}

/// Maps an HTTP failure and Symphony's `{code, message}` body.
fn error_from(op: &str, status: u16, hint: Option<Duration>, body: &[u8]) -> ProviderError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = parsed
        .message
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() || text.starts_with('<') {
                format!("HTTP {status}")
            } else {
                text.chars().take(200).collect()
            }
        });
    let code = match parsed.code {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => status.to_string(),
    };
    // The kind comes from the status alone: the spec documents 400 for
    // every refusal and no message texts, so none are read for meaning.
    let kind = status_kind(status, hint);
    ProviderError::new(NAME, op, kind, message).with_code(code)
}

fn offset_of(op: &str, page: &PageRequest) -> Result<u64, ProviderError> {
    crate::provider::page_offset(NAME, op, page)
}

#[async_trait]
impl Provider for Symphony {
    fn name(&self) -> &'static str {
        NAME
    }

    /// The pod's host, marked when the admin endpoints are in use (the
    /// console's header and the confirmation show it).
    fn host(&self) -> String {
        let host = http::host_of(&self.base);
        if self.admin {
            format!("{host} (admin endpoints)")
        } else {
            host
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_batch: 1,
            can_demote: true,
            can_demote_owner: true,
            has_admins: false,
            can_readd: true,
            quota: Quota::per_second(DEFAULT_RATE),
            member_page_size: if self.admin {
                ADMIN_MEMBERS_MAX
            } else {
                WHOLE_PAGE
            },
            page_style: if self.admin {
                PageStyle::Number
            } else {
                PageStyle::Whole
            },
            pacing: self.jumbo_pacing.then_some(Pacing {
                above_members: JUMBO_ABOVE,
                interval: JUMBO_INTERVAL,
            }),
            owner_floor: (self.min_owners > 1).then_some(OwnerFloor {
                above_members: JUMBO_ABOVE,
                owners: self.min_owners,
                source: OWNER_FLOOR_SOURCE,
            }),
            ..Capabilities::default()
        }
    }

    fn validate_user(&self, user: &UserId) -> Result<(), String> {
        ids::user_number(user).map(|_| ())
    }

    /// The number as the member lists spell it (`007` is `7`).
    fn canonical_user(&self, user: &UserId) -> UserId {
        ids::user_number(user)
            .map(ids::user_id)
            .unwrap_or_else(|_| user.clone())
    }

    /// Standard base64 with padding, the form room listings use.
    fn canonical_room(&self, room: &RoomId) -> RoomId {
        ids::standard(room)
            .map(RoomId::from)
            .unwrap_or_else(|_| room.clone())
    }

    /// The admin list pages by offset (`skip`); the v2 list comes whole.
    fn page_token(&self, index: u64, size: u32) -> Option<PageToken> {
        self.admin
            .then(|| PageToken((index * u64::from(size.clamp(1, ADMIN_MEMBERS_MAX))).to_string()))
    }

    async fn rooms(&self, page: PageRequest) -> Result<Page<Room>, ProviderError> {
        if let Some(query) = &self.query {
            const OP: &str = "POST /pod/v3/room/search";
            let skip = offset_of(OP, &page)?;
            let limit = page.size.unwrap_or(SEARCH_MAX).clamp(1, SEARCH_MAX);
            let mut params = vec![("skip", skip.to_string()), ("limit", limit.to_string())];
            // An admin sees non-discoverable rooms too [spec].
            if self.admin {
                params.push(("includeNonDiscoverable", "true".to_string()));
            }
            let found: SearchResults = self
                .json(
                    OP,
                    Method::POST,
                    "/pod/v3/room/search",
                    &params,
                    Some(&SearchCriteria { query }),
                )
                .await?
                .unwrap_or(SearchResults {
                    count: Some(0),
                    rooms: Vec::new(),
                });
            let n = found.rooms.len() as u64;
            let end = skip + n;
            let more = has_more(n, end, found.count);
            let items = found
                .rooms
                .into_iter()
                .filter_map(|r| Some((r.room_system_info.id.clone()?, r)))
                .map(|(id, r)| Room {
                    id: canonical(id),
                    name: r.room_attributes.name.unwrap_or_default(),
                    member_count: None,
                    active: r.room_system_info.active.unwrap_or(true),
                })
                .collect();
            return Ok(Page {
                items,
                next: more.then(|| PageToken(end.to_string())),
                total: found.count,
            });
        }
        if self.admin {
            return self.admin_rooms(page).await;
        }
        const OP: &str = "POST /pod/v1/streams/list";
        let skip = offset_of(OP, &page)?;
        let limit = page.size.unwrap_or(STREAMS_MAX).clamp(1, STREAMS_MAX);
        let filter = StreamFilter {
            stream_types: vec![StreamType {
                kind: "ROOM".into(),
            }],
            // Deactivated rooms are listed too, marked inactive.
            include_inactive_streams: true,
        };
        let streams: Vec<StreamAttributes> = self
            .json(
                OP,
                Method::POST,
                "/pod/v1/streams/list",
                &[("skip", skip.to_string()), ("limit", limit.to_string())],
                Some(&filter),
            )
            .await?
            .unwrap_or_default();
        let n = streams.len() as u64;
        let items = streams
            .into_iter()
            .filter(|s| s.stream_type.as_ref().is_none_or(|t| t.kind == "ROOM"))
            .filter_map(|s| Some((s.id.clone()?, s)))
            .map(|(id, s)| Room {
                id: canonical(id),
                name: s.room_attributes.and_then(|a| a.name).unwrap_or_default(),
                member_count: None,
                active: s.active.unwrap_or(true),
            })
            .collect();
        // The spec publishes no maximum for this list, so a server may cap
        // a page below `limit`: only an empty page (or the 204 "Stream not
        // found") ends it, as in the BDK's offset pagination.
        Ok(Page {
            items,
            next: (n > 0).then(|| PageToken((skip + n).to_string())),
            total: None,
        })
    }

    async fn room(&self, room: &RoomId) -> Result<Room, ProviderError> {
        let detail = self.info(room).await?;
        let count = if self.admin {
            self.admin_page(room, 0, 1).await.map(|l| l.count)
        } else {
            self.whole_list(room)
                .await
                .map(|list| Some(list.len() as u64))
        };
        // The count only informs (display): a refusal to list leaves it
        // unknown; an unusable provider still stops here.
        let member_count = match count {
            Ok(n) => n,
            Err(e) if is_final(&e) => None,
            Err(e) => return Err(e),
        };
        Ok(room_from(room, detail, member_count))
    }

    /// Planning reads the room and every member (the owners are found in
    /// the member list anyway): targets missing from it are not in the room.
    async fn roster(&self, room: &RoomId) -> Result<Roster, ProviderError> {
        let detail = self.info(room).await?;
        let (members, count) = self.every_member(room).await?;
        let staff = members
            .iter()
            .filter(|m| m.role == Role::Owner)
            .cloned()
            .collect();
        Ok(Roster {
            room: room_from(room, detail, Some(count)),
            staff,
            members: Some(members.into_iter().map(|m| m.user).collect()),
        })
    }

    async fn members(
        &self,
        room: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Member>, ProviderError> {
        if self.admin {
            const OP: &str = "GET /pod/v1/admin/stream/{id}/membership/list";
            let skip = offset_of(OP, &page)?;
            let limit = page
                .size
                .unwrap_or(ADMIN_MEMBERS_MAX)
                .clamp(1, ADMIN_MEMBERS_MAX);
            let list = self.admin_page(room, skip, limit).await?;
            let n = list.members.len() as u64;
            let end = skip + n;
            let more = has_more(n, end, list.count);
            let items = from_admin(&list);
            return Ok(Page {
                items,
                next: more.then(|| PageToken(end.to_string())),
                total: list.count,
            });
        }
        // The v2 list comes whole ([`PageStyle::Whole`]): ops slices it.
        let list = self.whole_list(room).await?;
        let total = list.len() as u64;
        Ok(Page {
            items: Arc::unwrap_or_clone(list),
            next: None,
            total: Some(total),
        })
    }

    async fn staff(&self, room: &RoomId) -> Result<Vec<Member>, ProviderError> {
        let (members, _) = self.every_member(room).await?;
        Ok(members
            .into_iter()
            .filter(|m| m.role == Role::Owner)
            .collect())
    }

    async fn remove(&self, room: &RoomId, users: &[UserId]) -> Result<Vec<Outcome>, ProviderError> {
        let mut rows = Vec::with_capacity(users.len());
        for user in users {
            rows.push(self.remove_one(room, user).await?);
        }
        Ok(rows)
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
        let mut rows = Vec::with_capacity(users.len());
        for restore in users {
            rows.push(self.readd_one(room, restore).await?);
        }
        Ok(rows)
    }
}

impl Symphony {
    /// Rooms from `POST /pod/v2/admin/streams/list` [spec]: every room of
    /// the pod (the member-level list shows only the caller's own), with
    /// member counts.
    async fn admin_rooms(&self, page: PageRequest) -> Result<Page<Room>, ProviderError> {
        const OP: &str = "POST /pod/v2/admin/streams/list";
        let skip = offset_of(OP, &page)?;
        let limit = page
            .size
            .unwrap_or(ADMIN_STREAMS_MAX)
            .clamp(1, ADMIN_STREAMS_MAX);
        let filter = AdminStreamFilter {
            stream_types: vec![StreamType {
                kind: "ROOM".into(),
            }],
        };
        let list: AdminStreamList = self
            .json(
                OP,
                Method::POST,
                "/pod/v2/admin/streams/list",
                &[("skip", skip.to_string()), ("limit", limit.to_string())],
                Some(&filter),
            )
            .await?
            .unwrap_or_default();
        let n = list.streams.len() as u64;
        let end = skip + n;
        let more = has_more(n, end, list.count);
        let items = list
            .streams
            .into_iter()
            .filter(|s| s.is_room())
            .filter_map(|s| Some((s.id.clone()?, s)))
            .map(|(id, s)| {
                let attributes = s.attributes.unwrap_or_default();
                Room {
                    id: canonical(id),
                    name: attributes.room_name.unwrap_or_default(),
                    member_count: attributes.members_count,
                    active: s.is_active.unwrap_or(true),
                }
            })
            .collect();
        Ok(Page {
            items,
            next: more.then(|| PageToken(end.to_string())),
            total: list.count,
        })
    }

    /// Demotes one owner to member (Symphony has no admin tier).
    async fn demote_one(
        &self,
        room: &RoomId,
        user: &UserId,
        role: Role,
    ) -> Result<Outcome, ProviderError> {
        let row = |status| Outcome::new(room, user, Action::Demote, status);
        let n = match ids::user_number(user) {
            Ok(n) => n,
            Err(why) => return Ok(row(Status::Failed).with_reason(why)),
        };
        if role != Role::Owner {
            return Ok(row(Status::Failed)
                .with_reason("Symphony has no admin tier: only owners can be demoted"));
        }
        match self.membership(room, "demoteOwner", n).await {
            Ok(_) => Ok(row(Status::Demoted)
                .with_reason("owner -> member")
                .with_role(Some(Role::Member))),
            Err(e) if is_final(&e) => Ok(row(Status::Failed).with_reason(e.message)),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_with_symphony_bodies() {
        let e = error_from(
            "POST x",
            400,
            None,
            br#"{"code":400,"message":"User is not a member of the room"}"#,
        );
        assert_eq!(e.kind, ErrorKind::BadRequest);
        assert_eq!(e.message, "User is not a member of the room");
        assert_eq!(e.code.as_deref(), Some("400"));

        // The kind follows the status, never the (undocumented) wording.
        let e = error_from(
            "GET x",
            400,
            None,
            br#"{"code":400,"message":"Room not found"}"#,
        );
        assert_eq!(e.kind, ErrorKind::BadRequest);
        assert_eq!(e.message, "Room not found");
        let e = error_from("GET x", 404, None, br#"{"code":404,"message":"x"}"#);
        assert_eq!(e.kind, ErrorKind::NotFound);
        let e = error_from(
            "GET x",
            401,
            None,
            br#"{"code":401,"message":"Invalid session"}"#,
        );
        assert_eq!(e.kind, ErrorKind::Auth);
        let e = error_from("GET x", 403, None, b"");
        assert_eq!(e.kind, ErrorKind::Forbidden);
        assert_eq!(e.message, "HTTP 403");
        let e = error_from("GET x", 429, Some(Duration::from_secs(2)), b"");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        let e = error_from("GET x", 502, None, b"<html>bad gateway</html>");
        assert!(e.is_retryable());
    }
}
