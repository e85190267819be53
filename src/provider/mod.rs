//! The provider contract and the one factory that names every adapter.
//!
//! An adapter turns one provider's wire format into `model` types and back
//! and maps the provider's errors onto [`ProviderError`]. Adapters know
//! nothing of screens, batches, retries or the audit log: that is `ops`.

pub mod agora;
pub mod amity;
mod error;
pub(crate) mod http;
pub mod imkit;
pub mod nandbox;
mod registry;
pub mod sandbox;
pub mod symphony;

use crate::config::{ConfigError, Profile};
use crate::model::{
    Action, Demotion, Member, MemberEvent, Outcome, Page, PageRequest, PageToken, Restore, Room,
    RoomId, Status, UserId,
};
use async_trait::async_trait;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

pub use error::{ErrorKind, ProviderError, parse_retry_after};
pub use registry::{KeyKind, KeySpec, ProviderSpec, spec, specs};

/// How a provider pages through a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageStyle {
    /// An opaque cursor from the previous page: pages come one after another.
    Cursor,
    /// Page numbers or offsets: later pages can be fetched ahead, concurrently.
    Number,
    /// The provider returns the whole list at once (one page, no next);
    /// `ops` slices it into pages and keeps it for a few seconds.
    Whole,
}

/// How complete a provider's room list is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomListing {
    /// The provider lists rooms.
    Full,
    /// The provider cannot list rooms: they come from the profile, plus
    /// rooms the adapter has seen (in events or lookups).
    Configured,
}

/// How complete a provider's member lists are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberListing {
    /// Every member can be listed.
    Full,
    /// Only some members can be known: staff lists, per-user lookups,
    /// members seen in events. Planning looks each target up.
    Partial,
    /// No member can be listed; only per-user lookups.
    None,
}

impl MemberListing {
    /// Whether a listing shows every member.
    pub fn is_full(self) -> bool {
        self == MemberListing::Full
    }
}

/// How a provider compares user ids: exactly, or ignoring ASCII case
/// (Agora usernames: `Aa` is `aa`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdFold {
    #[default]
    Exact,
    AsciiLowercase,
}

impl IdFold {
    /// The one spelling of an id under this folding.
    pub fn apply(self, id: &str) -> std::borrow::Cow<'_, str> {
        match self {
            IdFold::AsciiLowercase if id.bytes().any(|b| b.is_ascii_uppercase()) => {
                std::borrow::Cow::Owned(id.to_ascii_lowercase())
            }
            _ => std::borrow::Cow::Borrowed(id),
        }
    }
}

/// A rate limit as the provider states it: `calls` per `per`
/// (Agora: 100 per second; Amity: 100 per 5 s; IMKit: 1,000 per minute).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quota {
    pub calls: u32,
    pub per: Duration,
}

impl Quota {
    pub const fn new(calls: u32, per: Duration) -> Self {
        Self { calls, per }
    }

    /// A quota from calls per second (a profile's `rate_limit_per_sec`).
    /// Fractions keep their meaning: 0.5/s is one call per 2 s.
    pub fn per_second(rate: f64) -> Self {
        if rate >= 1.0 {
            Self::new(
                rate.round().min(u32::MAX as f64) as u32,
                Duration::from_secs(1),
            )
        } else {
            let per = Duration::try_from_secs_f64(1.0 / rate.max(1e-6))
                .unwrap_or(Duration::from_secs(1_000_000));
            Self::new(1, per)
        }
    }

    /// The steady rate in calls per second.
    pub fn calls_per_sec(&self) -> f64 {
        f64::from(self.calls.max(1)) / self.per.as_secs_f64().max(1e-9)
    }
}

/// A provider rule that slows membership changes in big rooms down
/// (Symphony: rooms over 500 members take one change per 3 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacing {
    /// Rooms with more members than this are paced.
    pub above_members: u64,
    /// At most one membership change per this interval.
    pub interval: Duration,
}

/// Requests one change call sends, as the provider's quota counts them:
/// `fixed` per call plus `per_staff` for each owner or admin in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    pub fixed: u32,
    pub per_staff: u32,
}

impl Cost {
    /// One request per call, whoever is in it.
    pub const ONE: Cost = Cost {
        fixed: 1,
        per_staff: 0,
    };

    /// The requests of a call with `staff` owners or admins among its users.
    pub fn of(&self, staff: usize) -> u32 {
        let staff = u32::try_from(staff).unwrap_or(u32::MAX);
        self.fixed
            .saturating_add(self.per_staff.saturating_mul(staff))
            .max(1)
    }
}

/// What each kind of change call costs against the quota (IMKit reads the
/// room before each change and sets admin roles one by one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallCost {
    pub remove: Cost,
    pub demote: Cost,
    pub readd: Cost,
}

impl CallCost {
    pub const ONE: CallCost = CallCost {
        remove: Cost::ONE,
        demote: Cost::ONE,
        readd: Cost::ONE,
    };

    pub fn of(&self, action: Action) -> &Cost {
        match action {
            Action::Remove => &self.remove,
            Action::Demote => &self.demote,
            Action::Readd => &self.readd,
        }
    }
}

/// A provider's advice to keep more than one owner in big rooms (Symphony:
/// rooms over 500 members keep at least two owners).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerFloor {
    /// Rooms with more members than this (or of unknown size) keep `owners`.
    pub above_members: u64,
    /// Owners such a room keeps at least.
    pub owners: usize,
    /// Where the advice comes from and how to relax it, for the plan's reason.
    pub source: &'static str,
}

/// What a provider can do and how fast; read by `ops` and the faces.
#[derive(Clone, Debug, PartialEq)]
pub struct Capabilities {
    /// Users per remove or re-add call (1 where the provider has no batch call).
    pub max_batch: usize,
    /// Users per demote call (1 unless the provider demotes in batches).
    pub max_demote_batch: usize,
    pub rooms: RoomListing,
    pub members: MemberListing,
    /// Admins can be demoted to members.
    pub can_demote: bool,
    /// Owners can be demoted in place (otherwise only ownership transfer).
    pub can_demote_owner: bool,
    /// Owners can be removed (otherwise only after a transfer).
    pub can_remove_owner: bool,
    /// The provider has an admin tier between owner and member.
    pub has_admins: bool,
    pub can_readd: bool,
    /// Calls per period, for every call of the profile.
    pub quota: Quota,
    /// Requests each change call takes from `quota` (one, unless the
    /// adapter sends more than one request per change).
    pub call_cost: CallCost,
    /// A lower limit for listing rooms, where the provider documents one
    /// (Agora: 50/s); it applies on top of `quota`.
    pub rooms_quota: Option<Quota>,
    /// Calls in flight at most: 1 for a provider whose errors cannot be
    /// matched to requests. The run never exceeds it.
    pub max_in_flight: usize,
    /// Member-page size the provider accepts at most.
    pub member_page_size: u32,
    pub page_style: PageStyle,
    pub pacing: Option<Pacing>,
    /// How the provider compares user ids; guards and plans compare the same way.
    pub id_fold: IdFold,
    /// Owners big rooms keep: removing or demoting an owner that would
    /// leave fewer is refused in the plan.
    pub owner_floor: Option<OwnerFloor>,
    /// Why owners cannot be removed, in the provider's terms: the plan's
    /// reason when `can_remove_owner` is false (else a generic one).
    pub owner_rule: Option<&'static str>,
}

impl Capabilities {
    /// Whether any demote can be sent (admins or owners).
    pub fn demotes(&self) -> bool {
        self.can_demote || self.can_demote_owner
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            max_batch: 1,
            max_demote_batch: 1,
            rooms: RoomListing::Full,
            members: MemberListing::Full,
            can_demote: true,
            can_demote_owner: true,
            can_remove_owner: true,
            has_admins: true,
            can_readd: true,
            quota: Quota::per_second(10.0),
            call_cost: CallCost::ONE,
            rooms_quota: None,
            max_in_flight: 8,
            member_page_size: 100,
            page_style: PageStyle::Cursor,
            pacing: None,
            id_fold: IdFold::Exact,
            owner_floor: None,
            owner_rule: None,
        }
    }
}

/// The offset a page token stands for (`None`: the first page), for
/// providers and `ops` that page by offset. A token that is not an offset
/// is a bad request naming it.
pub fn page_offset(
    provider: &'static str,
    op: &str,
    page: &PageRequest,
) -> Result<u64, ProviderError> {
    match &page.token {
        None => Ok(0),
        Some(PageToken(t)) => t.parse().map_err(|_| {
            ProviderError::new(
                provider,
                op,
                ErrorKind::BadRequest,
                format!("bad page token `{}`", crate::text::escape(t)),
            )
        }),
    }
}

/// Locks a mutex, recovering from poisoning: a panicking task must not
/// take every later caller down with it.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One skipped row per user: what a provider answers for an action it
/// cannot do at all.
pub fn unsupported(
    provider: &str,
    room: &RoomId,
    users: impl Iterator<Item = UserId>,
    action: Action,
) -> Vec<Outcome> {
    users
        .map(|u| {
            Outcome::new(room, &u, action, Status::Skipped)
                .with_reason(format!("{provider} cannot {action} users"))
        })
        .collect()
}

/// What planning reads about one room ([`Provider::roster`]).
#[derive(Clone, Debug)]
pub struct Roster {
    pub room: Room,
    /// The owners and admins.
    pub staff: Vec<Member>,
    /// Every member, where the adapter read the whole list anyway to find
    /// the staff: planning then judges a target missing from it as not in
    /// the room, with no call. `None`: not read.
    pub members: Option<HashSet<UserId>>,
}

/// One chat provider, seen through the console's model.
///
/// Every call is one logical request to the provider (an adapter may need
/// a couple of HTTP round trips, e.g. members joined with admins). Batch
/// answers carry exactly one [`Outcome`] per requested user.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider kind, e.g. `agora`.
    fn name(&self) -> &'static str;

    /// The host this provider talks to, for headers and logs (never a secret).
    fn host(&self) -> String;

    fn capabilities(&self) -> Capabilities;

    /// Checks a user id against the provider's id rules before anything is
    /// sent; the error text says what is wrong.
    /// Ids that could escape a URL or reach the terminal ([`crate::model::id_problem`])
    /// are refused before this is asked, for every provider.
    fn validate_user(&self, user: &UserId) -> Result<(), String> {
        if user.as_str().trim().is_empty() {
            Err("empty user id".into())
        } else {
            Ok(())
        }
    }

    /// Checks a room id against the provider's rules before anything is
    /// sent (as [`Provider::validate_user`]). Default: no rules of its own.
    fn validate_room(&self, room: &RoomId) -> Result<(), String> {
        let _ = room;
        Ok(())
    }

    /// The one spelling of a room id this provider lists rooms under, for
    /// ids typed or pasted in another form (Symphony: standard or URL-safe
    /// base64). Plans and the audit log use it, so an undo finds the
    /// removal whatever form was typed. Default: the id as given.
    fn canonical_room(&self, room: &RoomId) -> RoomId {
        room.clone()
    }

    /// The one spelling of a user id this provider lists members under, for
    /// ids typed in another form (Symphony: `007` is `7`). Plans and the
    /// audit log use it. Default: the id as given.
    fn canonical_user(&self, user: &UserId) -> UserId {
        user.clone()
    }

    /// For [`PageStyle::Number`] providers: the token of member page
    /// `index` (0-based) at `size` per page, so later pages can be fetched
    /// ahead, concurrently. `None`: pages must be fetched one after another.
    fn page_token(&self, index: u64, size: u32) -> Option<PageToken> {
        let _ = (index, size);
        None
    }

    /// Proves the credentials work and the provider answers, changing
    /// nothing (`profiles --check`). Default: the first page of rooms;
    /// providers whose rooms come from the profile
    /// ([`RoomListing::Configured`]) override it with a call that
    /// authenticates.
    async fn check(&self) -> Result<(), ProviderError> {
        self.rooms(PageRequest::sized(1)).await.map(|_| ())
    }

    async fn rooms(&self, page: PageRequest) -> Result<Page<Room>, ProviderError>;

    /// One room's details (active flag, member count).
    async fn room(&self, room: &RoomId) -> Result<Room, ProviderError>;

    /// A page of members. [`PageStyle::Whole`] providers answer the whole
    /// list in one page; [`MemberListing::Partial`] ones what they know.
    async fn members(
        &self,
        room: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Member>, ProviderError>;

    /// One user's membership (`None`: not in the room), for planning a row
    /// without a listing. The default looks at the staff, then pages
    /// through the members; providers with a per-user lookup override it.
    async fn member(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>, ProviderError> {
        if let Some(m) = self
            .staff(room)
            .await?
            .into_iter()
            .find(|m| &m.user == user)
        {
            return Ok(Some(m));
        }
        let mut request = PageRequest::sized(self.capabilities().member_page_size);
        loop {
            let page = self.members(room, request.clone()).await?;
            if let Some(m) = page.items.into_iter().find(|m| &m.user == user) {
                return Ok(Some(m));
            }
            match page.next {
                Some(token) => request = request.next(token),
                None => return Ok(None),
            }
        }
    }

    /// Membership changes the provider reports as they happen (joins,
    /// leaves, role changes), where it has such a stream.
    fn events(&self) -> Option<tokio::sync::broadcast::Receiver<MemberEvent>> {
        None
    }

    /// The room's owners and admins: what the guards and the undo record need.
    /// The default pages through every member; adapters override it with a
    /// cheaper call where the provider has one.
    async fn staff(&self, room: &RoomId) -> Result<Vec<Member>, ProviderError> {
        let mut staff = Vec::new();
        let mut request = PageRequest::sized(self.capabilities().member_page_size);
        loop {
            let page = self.members(room, request.clone()).await?;
            staff.extend(page.items.into_iter().filter(|m| m.role.is_staff()));
            match page.next {
                Some(token) => request = request.next(token),
                None => return Ok(staff),
            }
        }
    }

    /// The room and its staff together, as planning needs them. The default
    /// asks for each; adapters whose room detail already lists the owners
    /// override it to ask once.
    async fn room_and_staff(&self, room: &RoomId) -> Result<(Room, Vec<Member>), ProviderError> {
        let detail = self.room(room).await?;
        let staff = self.staff(room).await?;
        Ok((detail, staff))
    }

    /// What planning reads: the room, its staff and, where the adapter reads
    /// every member to find the staff anyway, the whole member list. The
    /// default is [`Provider::room_and_staff`] without the list.
    async fn roster(&self, room: &RoomId) -> Result<Roster, ProviderError> {
        let (room, staff) = self.room_and_staff(room).await?;
        Ok(Roster {
            room,
            staff,
            members: None,
        })
    }

    /// Removes users; one outcome per user, in any order.
    async fn remove(&self, room: &RoomId, users: &[UserId]) -> Result<Vec<Outcome>, ProviderError>;

    /// Demotes owners or admins one step, at most `max_demote_batch` per
    /// call; one outcome per user, carrying the role after. Default: not
    /// supported by this provider.
    async fn demote(
        &self,
        room: &RoomId,
        users: &[Demotion],
    ) -> Result<Vec<Outcome>, ProviderError> {
        Ok(unsupported(
            self.name(),
            room,
            users.iter().map(|d| d.user.clone()),
            Action::Demote,
        ))
    }

    /// Puts users back with their former role where the provider can.
    /// Default: not supported by this provider.
    async fn readd(&self, room: &RoomId, users: &[Restore]) -> Result<Vec<Outcome>, ProviderError> {
        Ok(unsupported(
            self.name(),
            room,
            users.iter().map(|r| r.user.clone()),
            Action::Readd,
        ))
    }
}

/// Builds the provider a profile names, through the registry.
pub fn build(profile: &Profile) -> Result<Arc<dyn Provider>, ConfigError> {
    let spec = spec(profile.provider).ok_or_else(|| {
        ConfigError::new(format!(
            "profile `{}`: provider `{}` is not built into this version of roomwarden",
            profile.name, profile.provider
        ))
    })?;
    (spec.build)(profile)
}
