//! The only place that executes changes: plan, run, audit, tickets.
//! Both faces go through [`Engine`]; neither calls a provider's changing
//! methods directly. Reads go through it too, so they share the profile's
//! rate limit and retries.

pub mod audit;
mod members;
pub use members::{AHEAD as MEMBER_PAGES_AHEAD, Listing};
mod limiter;
mod pace;
pub mod plan;
pub mod queue;
pub mod resume;
mod retry;
mod run;
pub mod store;
pub mod tickets;

use crate::config::Profile;
use crate::model::{Action, Member, MemberEvent, Page, PageRequest, Room, RoomId, UserId};
use crate::provider::{Capabilities, MemberListing, Provider, ProviderError, Quota};
use audit::AuditLog;
use backon::{ExponentialBuilder, Retryable};
use plan::{Guards, Plan, Request, RoomFacts};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::AuditStore;

pub use limiter::Limiter;
use members::WholeLists;
pub use run::{
    Cancel, MAY_HAVE_ACTED, NOT_SENT_UNAUDITED, Progress, Report, RunEvent, RunOptions,
    may_have_acted,
};

/// How long a call is retried, and the longest wait a provider may ask for.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Retries of one call stop when the next wait would end past this.
    pub budget: Duration,
    /// A provider asking for a longer wait (Retry-After) fails the rows.
    pub max_wait: Duration,
}

impl RetryPolicy {
    pub const DEFAULT_BUDGET: Duration = Duration::from_secs(180);
    pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(300);

    fn from_profile(profile: &Profile) -> Self {
        let c = &profile.common;
        Self {
            budget: c
                .retry_budget_secs
                .map_or(Self::DEFAULT_BUDGET, Duration::from_secs),
            max_wait: c
                .max_retry_wait_secs
                .map_or(Self::DEFAULT_MAX_WAIT, Duration::from_secs),
        }
    }
}

/// One profile's provider with its limits, guards and audit store.
pub struct Engine {
    provider: Arc<dyn Provider>,
    caps: Capabilities,
    limiter: Arc<Limiter>,
    /// The provider's lower limit for listing rooms, if it has one.
    rooms_limiter: Option<Arc<Limiter>>,
    guards: Guards,
    audit: Option<Arc<dyn AuditStore>>,
    profile: String,
    operator: String,
    read_only: bool,
    /// How long retries may go on, and the longest provider-requested wait.
    retry: RetryPolicy,
    /// Whole member lists ([`crate::provider::PageStyle::Whole`]), kept
    /// for a few seconds while they are paged through.
    whole: Mutex<WholeLists>,
}

impl Engine {
    /// An engine for `profile`; the profile's `max_batch` and
    /// `rate_limit_per_sec` override the provider's defaults (a profile's
    /// batch never goes above what the provider accepts for demotes, and a
    /// provider whose calls take one user keeps one).
    pub fn new(
        provider: Arc<dyn Provider>,
        profile: &Profile,
        audit: Option<Arc<AuditLog>>,
    ) -> Self {
        Self::with_store(provider, profile, audit.map(|l| l as Arc<dyn AuditStore>))
    }

    /// An engine writing to any audit store (the file, or PostgreSQL).
    pub fn with_store(
        provider: Arc<dyn Provider>,
        profile: &Profile,
        audit: Option<Arc<dyn AuditStore>>,
    ) -> Self {
        let mut caps = provider.capabilities();
        if let Some(b) = profile.common.max_batch.filter(|_| caps.max_batch > 1) {
            caps.max_batch = b;
        }
        if let Some(r) = profile.common.rate_limit_per_sec {
            caps.quota = Quota::per_second(r);
        }
        caps.max_in_flight = caps.max_in_flight.max(1);
        let rate = caps.quota.calls_per_sec();
        let fold = caps.id_fold;
        Self {
            limiter: Arc::new(Limiter::quota(caps.quota)),
            rooms_limiter: caps
                .rooms_quota
                .filter(|q| q.calls_per_sec() < rate)
                .map(|q| Arc::new(Limiter::quota(q))),
            whole: Mutex::new(WholeLists::default()),
            retry: RetryPolicy::from_profile(profile),
            provider,
            caps,
            guards: Guards::from_profile(profile, fold),
            audit,
            profile: profile.name.clone(),
            operator: audit::operator(),
            read_only: profile.common.read_only,
        }
    }

    /// Takes `1/n` of the profile's rate limit from now on: `n` queue
    /// workers of this profile are alive and share it.
    pub fn set_rate_share(&self, n: u32) {
        self.limiter.set_share(n);
        if let Some(rooms) = &self.rooms_limiter {
            rooms.set_share(n);
        }
    }

    /// Marks the engine read-only (the `--read-only` flag).
    pub fn set_read_only(&mut self, read_only: bool) {
        self.read_only |= read_only;
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    pub fn provider_name(&self) -> &'static str {
        self.provider.name()
    }

    pub fn host(&self) -> String {
        self.provider.host()
    }

    pub fn profile(&self) -> &str {
        &self.profile
    }

    pub fn guards(&self) -> &Guards {
        &self.guards
    }

    /// Where this engine's intents and results go.
    pub fn audit_store(&self) -> Option<&Arc<dyn AuditStore>> {
        self.audit.as_ref()
    }

    /// Records are signed with this name instead of the OS user (the
    /// `operator` config key).
    pub fn set_operator(&mut self, operator: impl Into<String>) {
        self.operator = operator.into();
    }

    /// The name records are signed with.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// A read through the rate limit, retried like a change.
    async fn read<T, F, Fut>(&self, f: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let mut f = f;
        let attempt = || {
            let fut = f();
            async {
                self.limiter.acquire().await;
                fut.await
            }
        };
        let clock = Mutex::new(retry::RetryClock::new(self.retry));
        attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(200))
                    .with_max_delay(Duration::from_secs(10))
                    .without_max_times(),
            )
            .when(ProviderError::is_retryable)
            .adjust(|e: &ProviderError, ceiling| {
                // Each lookup is retried on its own, by the same rules as a change.
                let wait = lock(&clock).next(e, ceiling)?;
                if let Some(h) = e.retry_after() {
                    self.limiter.hold_for(h);
                }
                Some(wait)
            })
            .await
    }

    pub async fn rooms_page(&self, page: PageRequest) -> Result<Page<Room>, ProviderError> {
        self.read(|| async {
            if let Some(rooms) = &self.rooms_limiter {
                rooms.acquire().await;
            }
            self.provider.rooms(page.clone()).await
        })
        .await
    }

    /// Every room, across all pages.
    pub async fn all_rooms(&self) -> Result<Vec<Room>, ProviderError> {
        let mut rooms = Vec::new();
        let mut req = PageRequest::first();
        loop {
            let page = self.rooms_page(req.clone()).await?;
            rooms.extend(page.items);
            match page.next {
                Some(t) => req = req.next(t),
                None => return Ok(rooms),
            }
        }
    }

    pub async fn room(&self, room: &RoomId) -> Result<Room, ProviderError> {
        self.read(|| self.provider.room(room)).await
    }

    /// One page of members. A provider that answers whole lists is asked
    /// once per first page; later pages are sliced from that answer.
    pub async fn members_page(
        &self,
        room: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Member>, ProviderError> {
        if self.caps.page_style == crate::provider::PageStyle::Whole {
            return self.whole_page(room, page).await;
        }
        self.read(|| self.provider.members(room, page.clone()))
            .await
    }

    /// One user's membership (`None`: not in the room).
    pub async fn member(
        &self,
        room: &RoomId,
        user: &UserId,
    ) -> Result<Option<Member>, ProviderError> {
        self.read(|| self.provider.member(room, user)).await
    }

    /// The provider's membership events, where it has a stream of them.
    pub fn member_events(&self) -> Option<tokio::sync::broadcast::Receiver<MemberEvent>> {
        self.provider.events()
    }

    /// How complete this provider's member lists are.
    pub fn member_listing(&self) -> MemberListing {
        self.caps.members
    }

    /// Reads what the guards need and builds the plan. Errors only when the
    /// provider cannot be used at all (auth refused, unreachable); any other
    /// failed lookup fails that room's rows with the provider's reason.
    pub async fn plan(&self, mut requests: Vec<Request>) -> Result<Plan, ProviderError> {
        for req in &mut requests {
            self.canonical(req);
        }
        let mut facts: HashMap<RoomId, RoomFacts> = HashMap::new();
        for req in &requests {
            if facts.contains_key(&req.room) {
                continue;
            }
            // Every action needs the staff: removes and demotes for the
            // last-owner guard and the undo record, re-adds so that putting
            // back a user who is still staff never lowers their role.
            let looked_up = self.read(|| self.provider.roster(&req.room)).await;
            let fact = match looked_up {
                Err(e) => RoomFacts {
                    room: Err(plan::room_fact_error(e)?),
                    staff: HashMap::new(),
                    absent: Default::default(),
                },
                Ok(roster) => {
                    let staff: HashMap<UserId, crate::model::Role> =
                        roster.staff.into_iter().map(|m| (m.user, m.role)).collect();
                    // Where the whole list was read, a target missing from
                    // it is not in the room: no call, whatever the
                    // provider's error texts would say.
                    let absent = match &roster.members {
                        Some(members) => requests
                            .iter()
                            .filter(|r| r.room == req.room)
                            .filter(|r| !members.contains(&r.user) && !staff.contains_key(&r.user))
                            .map(|r| r.user.clone())
                            .collect(),
                        None => Default::default(),
                    };
                    RoomFacts {
                        staff,
                        room: Ok(roster.room),
                        absent,
                    }
                }
            };
            facts.insert(req.room.clone(), fact);
        }
        if !self.caps.members.is_full() {
            self.look_up_targets(&requests, &mut facts).await?;
        }
        let mut unread: Vec<String> = facts
            .iter()
            .filter_map(|(id, f)| f.room.as_ref().err().map(|why| format!("room {id}: {why}")))
            .collect();
        unread.sort();
        let mut plan = plan::build(requests, &self.caps, &self.guards, &facts, |u| {
            self.provider.validate_user(u)
        });
        plan.unread = unread;
        Ok(plan)
    }

    /// Refuses, before anything is read or sent, a request whose room or
    /// user id could leave its place in a URL, holds control characters or
    /// breaks the provider's id rules (e.g. its length limit). The message
    /// names the id, escaped.
    pub fn check_ids(&self, requests: &[Request]) -> Result<(), String> {
        for req in requests {
            let room = req.room.as_str();
            let user = req.user.as_str();
            let bad = |what: &str, id: &str, why: String| {
                format!(
                    "{what} id `{}` cannot be used: {why}; nothing was sent",
                    crate::text::escape(id)
                )
            };
            if let Some(why) = crate::model::id_problem(room) {
                return Err(bad("room", room, why));
            }
            if let Err(why) = self.provider.validate_room(&req.room) {
                return Err(bad("room", room, why));
            }
            if let Some(why) = crate::model::id_problem(user) {
                return Err(bad("user", user, why));
            }
            if let Err(why) = self.provider.validate_user(&req.user) {
                return Err(bad("user", user, why));
            }
        }
        Ok(())
    }

    /// The provider's one spelling of a request's room and user, so that
    /// guards, plans and the audit log see the same ids however typed.
    pub(crate) fn canonical(&self, req: &mut Request) {
        req.room = self.provider.canonical_room(&req.room);
        req.user = self.provider.canonical_user(&req.user);
        if let std::borrow::Cow::Owned(user) = self.caps.id_fold.apply(req.user.as_str()) {
            req.user = UserId::from(user);
        }
    }

    /// Where members cannot all be listed, the staff list does not tell a
    /// member from someone who is not in the room: each target is looked
    /// up on its own (`member`), once per room and user.
    async fn look_up_targets(
        &self,
        requests: &[Request],
        facts: &mut HashMap<RoomId, RoomFacts>,
    ) -> Result<(), ProviderError> {
        let mut asked = std::collections::HashSet::new();
        for req in requests {
            let Some(fact) = facts.get_mut(&req.room) else {
                continue;
            };
            if fact.room.is_err()
                || fact.staff.contains_key(&req.user)
                || !asked.insert((req.room.clone(), req.user.clone()))
                || self.provider.validate_user(&req.user).is_err()
            {
                continue;
            }
            match self.member(&req.room, &req.user).await {
                Ok(Some(m)) => {
                    fact.staff.insert(m.user, m.role);
                }
                Ok(None) => {
                    fact.absent.insert(req.user.clone());
                }
                Err(e) => {
                    // Not knowing is not "absent": the row goes out and the
                    // provider answers for it.
                    plan::room_fact_error(e)?;
                }
            }
        }
        Ok(())
    }

    /// Fills in, for `readd` requests without a role, the role the audit
    /// store recorded before this profile last removed (or demoted) the
    /// user in that room. The file is read from the end, stopping once
    /// every user is found; returns warnings (unreadable lines skipped).
    pub async fn fill_readd_roles(
        &self,
        requests: &mut [Request],
    ) -> Result<Vec<String>, store::StoreError> {
        match &self.audit {
            Some(store) => Ok(self.fill_readd_roles_from(&**store, requests).await?.1),
            None => Ok(Vec::new()),
        }
    }

    /// [`Engine::fill_readd_roles`] from `store` (a dry run reads the log
    /// without opening it for writing). Also returns the re-adds it found
    /// no record for: users this tool never removed or demoted there.
    #[allow(clippy::type_complexity)]
    pub async fn fill_readd_roles_from(
        &self,
        store: &dyn AuditStore,
        requests: &mut [Request],
    ) -> Result<(Vec<(RoomId, UserId)>, Vec<String>), store::StoreError> {
        let mut wanted = std::collections::HashSet::new();
        for req in requests
            .iter_mut()
            .filter(|r| r.action == Action::Readd && r.role.is_none())
        {
            self.canonical(req);
            wanted.insert((req.room.clone(), req.user.clone()));
        }
        if wanted.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let (roles, notes) = store
            .roles_before(&self.profile, self.provider.name(), &wanted)
            .await?;
        let mut unrecorded = Vec::new();
        for req in requests
            .iter_mut()
            .filter(|r| r.action == Action::Readd && r.role.is_none())
        {
            req.role = roles.get(&(req.room.clone(), req.user.clone())).copied();
            if req.role.is_none() {
                unrecorded.push((req.room.clone(), req.user.clone()));
            }
        }
        Ok((unrecorded, notes))
    }
}

use crate::provider::lock;
