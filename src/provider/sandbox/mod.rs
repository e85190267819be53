//! The embedded `sandbox` provider: the [`world::World`] served in memory,
//! so the first run works with no account and no network.
//!
//! Profile keys: `latency_ms` (delay added to every call) and `fail_rate`
//! (share of calls answered "rate limited", to show retries) and
//! `refuse_auth` (answer every call "credentials refused", to show how the
//! faces report an unusable provider).
//!
//! `limited = true` makes the sandbox behave like a provider that cannot
//! list (nandbox): rooms are `Configured` (the profile's `rooms`, or the
//! first two of the world, plus rooms seen), members are `Partial` (staff,
//! users looked up, users seen in events) and one call is in flight at a
//! time. It is how the faces and the conformance suite are checked against
//! such a provider without a network.

pub mod world;

use crate::config::{ConfigError, Profile};
use crate::model::{
    Action, Demotion, Member, MemberEvent, Outcome, Page, PageRequest, PageToken, Restore, Role,
    Room, RoomId, Status, UserId,
};
use crate::provider::{
    Capabilities, ErrorKind, KeySpec, MemberListing, PageStyle, Provider, ProviderError,
    ProviderSpec, Quota, RoomListing,
};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use world::{Fault, InFlight, SharedWorld, World, lock};

const NAME: &str = "sandbox";
const PAGE_SIZE: u32 = 1_000;
const MAX_BATCH: usize = 100;

/// The sandbox's registry entry.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: NAME,
    keys: &[
        KeySpec::int("latency_ms", "delay added to every call, in milliseconds"),
        KeySpec::float(
            "fail_rate",
            "share of calls (0.0 to 1.0) answered \"rate limited\", to show retries",
        ),
        KeySpec::bool(
            "refuse_auth",
            "answer every call \"credentials refused\", to show an unusable provider",
        ),
        KeySpec::bool(
            "limited",
            "behave like a provider that cannot list: configured rooms, partial members, one call at a time",
        ),
        KeySpec::list("rooms", "with `limited`: the room ids the profile works on"),
    ],
    build: |profile| Ok(Arc::new(Sandbox::from_profile(profile)?)),
};

/// The in-memory provider.
pub struct Sandbox {
    world: SharedWorld,
    /// `Some` in limited mode: what a provider that cannot list knows.
    limited: Option<Limited>,
}

/// What a limited sandbox knows: configured and seen rooms, and members
/// seen (looked up or in events) per room.
struct Limited {
    known: std::sync::Mutex<Known>,
    events: tokio::sync::broadcast::Sender<MemberEvent>,
}

#[derive(Default)]
struct Known {
    rooms: Vec<RoomId>,
    members: std::collections::HashMap<RoomId, std::collections::HashSet<UserId>>,
}

impl Sandbox {
    /// A sandbox over a given (possibly shared) world.
    pub fn new(world: SharedWorld) -> Self {
        Self {
            world,
            limited: None,
        }
    }

    /// A limited sandbox (see the module docs) working on `rooms`.
    pub fn limited(world: SharedWorld, rooms: Vec<RoomId>) -> Self {
        Self {
            world,
            limited: Some(Limited {
                known: std::sync::Mutex::new(Known {
                    rooms,
                    ..Known::default()
                }),
                events: tokio::sync::broadcast::channel(1024).0,
            }),
        }
    }

    /// Applies a membership change made outside roomwarden and announces
    /// it on the event stream (limited mode), as a provider's push would.
    pub fn announce(&self, event: MemberEvent) {
        {
            let mut w = lock(&self.world);
            if let Some(r) = w.room_mut(event.room()) {
                match &event {
                    MemberEvent::Joined { member, .. } => {
                        r.add(member.clone());
                    }
                    MemberEvent::Left { user, .. } => {
                        r.remove(user);
                    }
                    MemberEvent::RoleChanged { user, role, .. } => {
                        r.set_role(user, *role);
                    }
                    // A feed that dropped changes nothing by itself.
                    MemberEvent::Missed { .. } => {}
                }
            }
        }
        if let Some(l) = &self.limited {
            if let MemberEvent::Joined { room, member } = &event {
                l.see(room, &member.user);
            }
            let _ = l.events.send(event);
        }
    }

    /// A sandbox over the generated world, tuned by the profile's keys.
    pub fn from_profile(profile: &Profile) -> Result<Self, ConfigError> {
        let mut world = World::generate();
        if let Some(ms) = profile.get_u64("latency_ms")? {
            world.faults.latency = Duration::from_millis(ms);
        }
        if let Some(rate) = profile.get_f64("fail_rate")? {
            if !(0.0..=1.0).contains(&rate) {
                return Err(profile.key_error("fail_rate", "must be between 0.0 and 1.0"));
            }
            world.faults.rate_limit_share = rate;
            world.faults.retry_after = Some(Duration::from_millis(200));
        }
        world.faults.unauthorized = profile.get_bool("refuse_auth")?.unwrap_or(false);
        if profile.get_bool("limited")?.unwrap_or(false) {
            let rooms = match profile.get_str_list("rooms")? {
                Some(ids) => ids.into_iter().map(RoomId::from).collect(),
                None => world.rooms().iter().take(2).map(|r| r.id.clone()).collect(),
            };
            return Ok(Self::limited(world.shared(), rooms));
        }
        if profile.get_str_list("rooms")?.is_some() {
            return Err(profile.key_error("rooms", "works only with limited = true"));
        }
        Ok(Self::new(world.shared()))
    }

    pub fn world(&self) -> &SharedWorld {
        &self.world
    }

    /// Counts the call, applies latency and injected faults; the call is
    /// in flight while the guard lives.
    async fn enter(&self, op: &str, batch: usize) -> Result<InFlight, ProviderError> {
        let guard = InFlight::enter(&self.world);
        let (fault, latency) = {
            let mut w = lock(&self.world);
            (w.take_fault(batch), w.faults.latency)
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match fault {
            None => Ok(guard),
            Some(Fault::RateLimited(retry_after)) => Err(err(
                op,
                ErrorKind::RateLimited { retry_after },
                "too many requests, slow down",
            )
            .with_code("rate_limited")),
            Some(Fault::ServerError) => Err(err(
                op,
                ErrorKind::Server { status: 503 },
                "sandbox is briefly unavailable",
            )),
            Some(Fault::Unauthorized) => {
                Err(err(op, ErrorKind::Auth, "credentials refused").with_code("unauthorized"))
            }
        }
    }
}

impl Limited {
    fn see(&self, room: &RoomId, user: &UserId) {
        let mut k = crate::provider::lock(&self.known);
        if !k.rooms.contains(room) {
            k.rooms.push(room.clone());
        }
        k.members
            .entry(room.clone())
            .or_default()
            .insert(user.clone());
    }

    fn rooms(&self) -> Vec<RoomId> {
        let k = crate::provider::lock(&self.known);
        k.rooms.clone()
    }

    fn knows(&self, room: &RoomId, user: &UserId) -> bool {
        let k = crate::provider::lock(&self.known);
        k.members.get(room).is_some_and(|s| s.contains(user))
    }
}

fn err(op: &str, kind: ErrorKind, message: &str) -> ProviderError {
    ProviderError::new(NAME, op, kind, message)
}

fn room_not_found(op: &str, room: &RoomId) -> ProviderError {
    err(
        op,
        ErrorKind::NotFound,
        &format!("room {room} does not exist"),
    )
    .with_code("room_not_found")
}

fn parse_cursor(op: &str, page: &PageRequest) -> Result<usize, ProviderError> {
    let offset = crate::provider::page_offset(NAME, op, page)?;
    usize::try_from(offset).map_err(|_| err(op, ErrorKind::BadRequest, "page token out of range"))
}

#[async_trait]
impl Provider for Sandbox {
    fn name(&self) -> &'static str {
        NAME
    }

    fn host(&self) -> String {
        "in-memory".into()
    }

    fn capabilities(&self) -> Capabilities {
        let full = Capabilities {
            max_batch: MAX_BATCH,
            max_demote_batch: MAX_BATCH,
            quota: Quota::per_second(200.0),
            member_page_size: PAGE_SIZE,
            page_style: PageStyle::Cursor,
            ..Capabilities::default()
        };
        match self.limited {
            None => full,
            Some(_) => Capabilities {
                rooms: RoomListing::Configured,
                members: MemberListing::Partial,
                max_in_flight: 1,
                ..full
            },
        }
    }

    fn events(&self) -> Option<tokio::sync::broadcast::Receiver<MemberEvent>> {
        self.limited.as_ref().map(|l| l.events.subscribe())
    }

    async fn rooms(&self, page: PageRequest) -> Result<Page<Room>, ProviderError> {
        const OP: &str = "rooms";
        let _call = self.enter(OP, 0).await?;
        let from = parse_cursor(OP, &page)?;
        let size = page.size.unwrap_or(100).max(1) as usize;
        let w = lock(&self.world);
        let all: Vec<Room> = match &self.limited {
            None => w.rooms().iter().map(|r| r.room()).collect(),
            Some(l) => l
                .rooms()
                .iter()
                .filter_map(|id| w.room(id).map(|r| r.room()))
                .collect(),
        };
        let items: Vec<Room> = all.iter().skip(from).take(size).cloned().collect();
        let end = from + items.len();
        Ok(Page {
            items,
            next: (end < all.len()).then(|| PageToken(end.to_string())),
            total: Some(all.len() as u64),
        })
    }

    async fn room(&self, room: &RoomId) -> Result<Room, ProviderError> {
        const OP: &str = "room";
        let _call = self.enter(OP, 0).await?;
        let w = lock(&self.world);
        w.room(room)
            .map(|r| r.room())
            .ok_or_else(|| room_not_found(OP, room))
    }

    async fn members(
        &self,
        room: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Member>, ProviderError> {
        const OP: &str = "members";
        let _call = self.enter(OP, 0).await?;
        let from = parse_cursor(OP, &page)?;
        let size = page.size.unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE) as usize;
        let w = lock(&self.world);
        let r = w.room(room).ok_or_else(|| room_not_found(OP, room))?;
        if let Some(l) = &self.limited {
            // What such a provider can know: staff and users seen.
            let known: Vec<Member> = r
                .members()
                .filter(|m| m.role.is_staff() || l.knows(room, &m.user))
                .cloned()
                .collect();
            let end = from.saturating_add(size).min(known.len());
            return Ok(Page {
                items: known[from.min(end)..end].to_vec(),
                next: (end < known.len()).then(|| PageToken(end.to_string())),
                total: Some(r.len() as u64),
            });
        }
        let (items, next) = r.slice_from(from, size);
        Ok(Page {
            items,
            next: next.map(|n| PageToken(n.to_string())),
            total: Some(r.len() as u64),
        })
    }

    async fn staff(&self, room: &RoomId) -> Result<Vec<Member>, ProviderError> {
        const OP: &str = "staff";
        let _call = self.enter(OP, 0).await?;
        let w = lock(&self.world);
        let r = w.room(room).ok_or_else(|| room_not_found(OP, room))?;
        Ok(r.members().filter(|m| m.role.is_staff()).cloned().collect())
    }

    async fn remove(&self, room: &RoomId, users: &[UserId]) -> Result<Vec<Outcome>, ProviderError> {
        const OP: &str = "remove";
        let _call = self.enter(OP, users.len()).await?;
        if users.len() > MAX_BATCH {
            return Err(err(
                OP,
                ErrorKind::BadRequest,
                &format!(
                    "batch of {} users is over the limit of {MAX_BATCH}",
                    users.len()
                ),
            ));
        }
        let mut w = lock(&self.world);
        let r = w.room_mut(room).ok_or_else(|| room_not_found(OP, room))?;
        if !r.active {
            return Err(err(
                OP,
                ErrorKind::BadRequest,
                "room is deactivated; membership is locked",
            ));
        }
        Ok(users
            .iter()
            .map(|u| match r.remove(u) {
                Some(_) => Outcome::new(room, u, Action::Remove, Status::Removed),
                None => Outcome::new(room, u, Action::Remove, Status::AlreadyAbsent)
                    .with_reason(format!("user {u} is not a member of room {room}")),
            })
            .collect())
    }

    async fn member(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>, ProviderError> {
        const OP: &str = "member";
        let _call = self.enter(OP, 0).await?;
        let found = {
            let w = lock(&self.world);
            let r = w.room(room).ok_or_else(|| room_not_found(OP, room))?;
            r.get(user).cloned()
        };
        if let (Some(l), Some(m)) = (&self.limited, &found) {
            l.see(room, &m.user);
        }
        Ok(found)
    }

    async fn demote(
        &self,
        room: &RoomId,
        users: &[Demotion],
    ) -> Result<Vec<Outcome>, ProviderError> {
        const OP: &str = "demote";
        let _call = self.enter(OP, users.len()).await?;
        let mut w = lock(&self.world);
        let r = w.room_mut(room).ok_or_else(|| room_not_found(OP, room))?;
        Ok(users
            .iter()
            .map(|d| {
                let user = &d.user;
                let outcome = |status| Outcome::new(room, user, Action::Demote, status);
                match r.get(user).map(|m| m.role) {
                    None => outcome(Status::Failed)
                        .with_reason(format!("user {user} is not a member of room {room}")),
                    Some(Role::Member) => outcome(Status::Failed)
                        .with_reason(format!("user {user} is not an owner or admin"))
                        .with_role(Some(Role::Member)),
                    Some(role) => {
                        let lower = if role == Role::Owner {
                            Role::Admin
                        } else {
                            Role::Member
                        };
                        r.set_role(user, lower);
                        outcome(Status::Demoted)
                            .with_reason(format!("{role} -> {lower}"))
                            .with_role(Some(lower))
                    }
                }
            })
            .collect())
    }

    async fn readd(&self, room: &RoomId, users: &[Restore]) -> Result<Vec<Outcome>, ProviderError> {
        const OP: &str = "readd";
        let _call = self.enter(OP, users.len()).await?;
        let mut w = lock(&self.world);
        let r = w.room_mut(room).ok_or_else(|| room_not_found(OP, room))?;
        Ok(users
            .iter()
            .map(|restore| {
                let outcome = Outcome::new(room, &restore.user, Action::Readd, Status::Readded);
                if let Some(now) = r.get(&restore.user).map(|m| m.role) {
                    // Still here (an undone demote, or already back): the
                    // role is raised to the one restored, never lowered.
                    if restore.role < now {
                        r.set_role(&restore.user, restore.role);
                        return outcome
                            .with_reason(format!("already a member; {now} -> {}", restore.role))
                            .with_role(Some(restore.role));
                    }
                    return outcome.with_reason("already a member").with_role(Some(now));
                }
                r.add(Member {
                    user: restore.user.clone(),
                    name: None,
                    role: restore.role,
                });
                outcome.with_role(Some(restore.role))
            })
            .collect())
    }
}
