//! The embedded `sandbox` provider: the [`world::World`] served in memory,
//! so the first run works with no account and no network.
//!
//! Profile keys: `latency_ms` (delay added to every call) and `fail_rate`
//! (share of calls answered "rate limited", to show retries) and
//! `refuse_auth` (answer every call "credentials refused", to show how the
//! faces report an unusable provider).

pub mod world;

use crate::config::{ConfigError, Profile};
use crate::model::{
    Action, Member, Outcome, Page, PageRequest, PageToken, Restore, Role, Room, RoomId, Status,
    UserId,
};
use crate::provider::{Capabilities, ErrorKind, PageStyle, Provider, ProviderError};
use async_trait::async_trait;
use std::time::Duration;
use world::{Fault, SharedWorld, World, lock};

const NAME: &str = "sandbox";
const PAGE_SIZE: u32 = 1_000;
const MAX_BATCH: usize = 100;

/// The in-memory provider.
pub struct Sandbox {
    world: SharedWorld,
}

impl Sandbox {
    /// A sandbox over a given (possibly shared) world.
    pub fn new(world: SharedWorld) -> Self {
        Self { world }
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
        Ok(Self::new(world.shared()))
    }

    pub fn world(&self) -> &SharedWorld {
        &self.world
    }

    /// Counts the call, applies latency and injected faults.
    async fn enter(&self, op: &str, batch: usize) -> Result<(), ProviderError> {
        let (fault, latency) = {
            let mut w = lock(&self.world);
            (w.take_fault(batch), w.faults.latency)
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match fault {
            None => Ok(()),
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
    match &page.token {
        None => Ok(0),
        Some(PageToken(t)) => t
            .parse()
            .map_err(|_| err(op, ErrorKind::BadRequest, &format!("bad cursor `{t}`"))),
    }
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
        Capabilities {
            max_batch: MAX_BATCH,
            rate_limit_per_sec: 200.0,
            member_page_size: PAGE_SIZE,
            page_style: PageStyle::Cursor,
            ..Capabilities::default()
        }
    }

    async fn rooms(&self, page: PageRequest) -> Result<Page<Room>, ProviderError> {
        const OP: &str = "rooms";
        self.enter(OP, 0).await?;
        let from = parse_cursor(OP, &page)?;
        let size = page.size.unwrap_or(100).max(1) as usize;
        let w = lock(&self.world);
        let all = w.rooms();
        let items: Vec<Room> = all.iter().skip(from).take(size).map(|r| r.room()).collect();
        let end = from + items.len();
        Ok(Page {
            items,
            next: (end < all.len()).then(|| PageToken(end.to_string())),
            total: Some(all.len() as u64),
        })
    }

    async fn room(&self, room: &RoomId) -> Result<Room, ProviderError> {
        const OP: &str = "room";
        self.enter(OP, 0).await?;
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
        self.enter(OP, 0).await?;
        let from = parse_cursor(OP, &page)?;
        let size = page.size.unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE) as usize;
        let w = lock(&self.world);
        let r = w.room(room).ok_or_else(|| room_not_found(OP, room))?;
        let (items, next) = r.slice_from(from, size);
        Ok(Page {
            items,
            next: next.map(|n| PageToken(n.to_string())),
            total: Some(r.len() as u64),
        })
    }

    async fn staff(&self, room: &RoomId) -> Result<Vec<Member>, ProviderError> {
        const OP: &str = "staff";
        self.enter(OP, 0).await?;
        let w = lock(&self.world);
        let r = w.room(room).ok_or_else(|| room_not_found(OP, room))?;
        Ok(r.members().filter(|m| m.role.is_staff()).cloned().collect())
    }

    async fn remove(&self, room: &RoomId, users: &[UserId]) -> Result<Vec<Outcome>, ProviderError> {
        const OP: &str = "remove";
        self.enter(OP, users.len()).await?;
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

    async fn demote(
        &self,
        room: &RoomId,
        user: &UserId,
        _role: Role,
    ) -> Result<Outcome, ProviderError> {
        const OP: &str = "demote";
        self.enter(OP, 1).await?;
        let mut w = lock(&self.world);
        let r = w.room_mut(room).ok_or_else(|| room_not_found(OP, room))?;
        let outcome = |status| Outcome::new(room, user, Action::Demote, status);
        Ok(match r.get(user).map(|m| m.role) {
            None => outcome(Status::Failed)
                .with_reason(format!("user {user} is not a member of room {room}")),
            Some(Role::Member) => {
                outcome(Status::Failed).with_reason(format!("user {user} is not an owner or admin"))
            }
            Some(role) => {
                let lower = if role == Role::Owner {
                    Role::Admin
                } else {
                    Role::Member
                };
                r.set_role(user, lower);
                outcome(Status::Demoted).with_reason(format!("{role} -> {lower}"))
            }
        })
    }

    async fn readd(&self, room: &RoomId, users: &[Restore]) -> Result<Vec<Outcome>, ProviderError> {
        const OP: &str = "readd";
        self.enter(OP, users.len()).await?;
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
                            .with_reason(format!("already a member; {now} -> {}", restore.role));
                    }
                    return outcome.with_reason("already a member");
                }
                r.add(Member {
                    user: restore.user.clone(),
                    name: None,
                    role: restore.role,
                });
                outcome
            })
            .collect())
    }
}
