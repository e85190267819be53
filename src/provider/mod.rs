//! The provider contract and the one factory that names every adapter.
//!
//! An adapter turns one provider's wire format into `model` types and back
//! and maps the provider's errors onto [`ProviderError`]. Adapters know
//! nothing of screens, batches, retries or the audit log: that is `ops`.

pub mod agora;
mod error;
pub(crate) mod http;
pub mod sandbox;
pub mod symphony;

use crate::config::{ConfigError, Profile, ProviderKind};
use crate::model::{
    Member, Outcome, Page, PageRequest, PageToken, Restore, Role, Room, RoomId, UserId,
};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

pub use error::{ErrorKind, ProviderError, parse_retry_after};

/// How a provider pages through a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageStyle {
    /// An opaque cursor from the previous page: pages come one after another.
    Cursor,
    /// Page numbers or offsets: later pages can be fetched ahead, concurrently.
    Number,
    /// The provider returns the whole list at once; the adapter slices it.
    Whole,
}

/// A provider rule that slows membership changes in big rooms down
/// (Symphony: rooms over 1,000 members take one change per 3 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacing {
    /// Rooms with more members than this are paced.
    pub above_members: u64,
    /// At most one membership change per this interval.
    pub interval: Duration,
}

/// What a provider can do and how fast; read by `ops` and the faces.
#[derive(Clone, Debug, PartialEq)]
pub struct Capabilities {
    /// Users per batch call (1 where the provider has no batch call).
    pub max_batch: usize,
    pub can_list_rooms: bool,
    pub can_list_members: bool,
    /// Admins can be demoted to members.
    pub can_demote: bool,
    /// Owners can be demoted in place (otherwise only ownership transfer).
    pub can_demote_owner: bool,
    /// The provider has an admin tier between owner and member.
    pub has_admins: bool,
    pub can_readd: bool,
    /// Default calls per second for membership changes.
    pub rate_limit_per_sec: f64,
    /// A lower limit for listing rooms, where the provider documents one
    /// (Agora: 50/s); it applies on top of `rate_limit_per_sec`.
    pub rooms_rate_limit_per_sec: Option<f64>,
    /// Member-page size the provider accepts at most.
    pub member_page_size: u32,
    pub page_style: PageStyle,
    pub pacing: Option<Pacing>,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            max_batch: 1,
            can_list_rooms: true,
            can_list_members: true,
            can_demote: true,
            can_demote_owner: true,
            has_admins: true,
            can_readd: true,
            rate_limit_per_sec: 10.0,
            rooms_rate_limit_per_sec: None,
            member_page_size: 100,
            page_style: PageStyle::Cursor,
            pacing: None,
        }
    }
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
    fn validate_user(&self, user: &UserId) -> Result<(), String> {
        if user.as_str().trim().is_empty() {
            Err("empty user id".into())
        } else {
            Ok(())
        }
    }

    /// The one spelling of a room id this provider lists rooms under, for
    /// ids typed or pasted in another form (Symphony: standard or URL-safe
    /// base64). Plans and the audit log use it, so an undo finds the
    /// removal whatever form was typed. Default: the id as given.
    fn canonical_room(&self, room: &RoomId) -> RoomId {
        room.clone()
    }

    /// For [`PageStyle::Number`] providers: the token of member page
    /// `index` (0-based) at `size` per page, so later pages can be fetched
    /// ahead, concurrently. `None`: pages must be fetched one after another.
    fn page_token(&self, index: u64, size: u32) -> Option<PageToken> {
        let _ = (index, size);
        None
    }

    async fn rooms(&self, page: PageRequest) -> Result<Page<Room>, ProviderError>;

    /// One room's details (active flag, member count).
    async fn room(&self, room: &RoomId) -> Result<Room, ProviderError>;

    async fn members(
        &self,
        room: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Member>, ProviderError>;

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

    /// Removes users; one outcome per user, in any order.
    async fn remove(&self, room: &RoomId, users: &[UserId]) -> Result<Vec<Outcome>, ProviderError>;

    /// Demotes an owner or admin one step.
    async fn demote(
        &self,
        room: &RoomId,
        user: &UserId,
        role: Role,
    ) -> Result<Outcome, ProviderError>;

    /// Puts users back with their former role where the provider can.
    async fn readd(&self, room: &RoomId, users: &[Restore]) -> Result<Vec<Outcome>, ProviderError>;
}

/// Builds the provider a profile names. The only place that names every adapter.
pub fn build(profile: &Profile) -> Result<Arc<dyn Provider>, ConfigError> {
    match profile.provider {
        ProviderKind::Sandbox => Ok(Arc::new(sandbox::Sandbox::from_profile(profile)?)),
        ProviderKind::Agora => Ok(Arc::new(agora::Agora::from_profile(profile)?)),
        ProviderKind::Symphony => Ok(Arc::new(symphony::Symphony::from_profile(profile)?)),
        other => Err(ConfigError::new(format!(
            "profile `{}`: provider `{}` is not built into this version of roomwarden yet; \
             use provider = \"sandbox\" or a newer release",
            profile.name,
            other.as_str()
        ))),
    }
}
