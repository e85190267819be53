//! Amity / social.plus adapter. Contract: `providers/amity.md`.
//!
//! Two surfaces, chosen per profile with `surface`:
//!
//! - `channels` (default), chat channels, the moderation surface
//!   ([`channels`]): token-paged rooms and members (roles from
//!   `channelUsers[].roles`, names joined from `users[]`), batch removal,
//!   demote (`channel-moderator`) and re-add of up to 100 users per call.
//! - `rooms`, live-stream rooms ([`rooms`]): a room's people are its
//!   participants and its creator (the host is the owner, every other
//!   participant a co-host, an admin: participants are only those two),
//!   removed one per call; the host is never removed, and there is no
//!   demote and no re-add (a co-host comes back only by accepting an
//!   invitation), as the capabilities say.
//!
//! Every call carries `Authorization: Bearer <admin token>` (`token`,
//! `token_env` or `token_cmd`). Errors are `{status, code, message}`:
//! 429 and code 400311 are rate limits, 401 / 400100 an auth failure.
//! The quota is 100 calls per 5 seconds per token.

mod channels;
mod errors;
mod fuzz;
mod rooms;
mod wire;

#[doc(hidden)]
pub use fuzz::decode_any;

use crate::config::{ConfigError, Profile};
use crate::model::{Demotion, Member, Outcome, Page, PageRequest, Restore, Room, RoomId, UserId};
use crate::provider::http;
use crate::provider::{
    Capabilities, ErrorKind, KeySpec, PageStyle, Provider, ProviderError, ProviderSpec, Quota,
    Roster,
};
use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::AUTHORIZATION;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

pub(crate) const NAME: &str = "amity";

/// Amity's registry entry.
pub const SPEC: ProviderSpec = ProviderSpec {
    name: NAME,
    keys: &[
        KeySpec::secret(
            "token",
            "an admin token (console: Settings > Admin Users), sent as `Authorization: Bearer`",
        ),
        KeySpec::str(
            "surface",
            "`channels` (chat channels, the default) or `rooms` (live-stream rooms)",
        ),
        KeySpec::str(
            "region",
            "`us`, `eu` or `sg`: base URL https://apix.{region}.amity.co (unless base_url is set)",
        ),
    ],
    build: |profile| Ok(Arc::new(Amity::from_profile(profile)?)),
};

/// Users per batch call (remove, re-add, role add/remove) [V].
pub const MAX_IDS: usize = 100;
/// Page size at most (`options[limit]` 1..=100) [V].
pub const PAGE_LIMIT: u32 = 100;
/// The documented rate: 100 calls per 5 seconds per user [D][V].
pub const QUOTA: Quota = Quota::new(100, Duration::from_secs(5));
/// A user id is at most 50 characters [V].
pub const MAX_USER_ID: usize = 50;

/// Which Amity surface a profile moderates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    Channels,
    Rooms,
}

/// The Amity adapter.
pub struct Amity {
    http: reqwest::Client,
    /// `https://apix.{region}.amity.co` or the profile's `base_url`.
    base: String,
    host: String,
    auth: http::Credentials,
    surface: Surface,
}

impl Amity {
    /// Builds the adapter from a profile: `token[_env|_cmd]`, `surface`,
    /// and `base_url` or `region`.
    pub fn from_profile(profile: &Profile) -> Result<Self, ConfigError> {
        let surface = match profile.get_str("surface")?.as_deref().map(str::trim) {
            None | Some("channels") => Surface::Channels,
            Some("rooms") => Surface::Rooms,
            Some(other) => {
                return Err(profile.key_error(
                    "surface",
                    &format!("is `{other}`; use \"channels\" or \"rooms\""),
                ));
            }
        };
        let regional = match profile.get_str("region")?.as_deref().map(str::trim) {
            None => None,
            Some(r @ ("us" | "eu" | "sg")) => Some(format!("https://apix.{r}.amity.co")),
            Some(other) => {
                return Err(profile.key_error(
                    "region",
                    &format!("is `{other}`; use \"us\", \"eu\" or \"sg\""),
                ));
            }
        };
        if profile.common.base_url.is_none() && regional.is_none() {
            return Err(ConfigError::new(format!(
                "profile `{}` (provider amity) needs `region` (\"us\", \"eu\" or \"sg\") or `base_url`",
                profile.name
            )));
        }
        let base = http::base_url(profile, regional.as_deref())?;
        // Read now, so that a missing or empty token is a config error
        // naming the key; read again after a 401 (a `token_cmd` may hand
        // out a new one).
        let auth = http::Credentials::new(
            NAME,
            http::ProfileSecret {
                provider: NAME,
                profile: Box::new(profile.clone()),
                key: "token",
                header: AUTHORIZATION,
                prefix: "Bearer ",
            }
            .checked()?,
        );
        Ok(Self {
            http: http::client(profile)?,
            host: http::host_of(&base),
            base,
            auth,
            surface,
        })
    }

    pub fn surface(&self) -> Surface {
        self.surface
    }

    /// One request through the shared loop: bearer token (re-read once
    /// after a 401), JSON in and out, errors from the envelope.
    async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        op: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, ProviderError> {
        tracing::debug!("amity: {method} {path}");
        let body = body
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| ProviderError::new(NAME, op, ErrorKind::BadRequest, e.to_string()))?;
        let call = http::Call {
            op,
            method,
            url: format!("{}{path}", self.base),
            query,
            headers: &[],
            body: body.as_ref(),
        };
        let answer = http::request(&self.http, NAME, &self.auth, call, |op, a| {
            errors::from_response(op, a.status, a.retry_after, &a.body)
        })
        .await?;
        http::decode(NAME, op, &answer.body)
    }
}

/// `options[limit]` for a first page, `options[token]` alone for the next
/// ones (as the TS SDK pages).
fn paging_query(page: &PageRequest, default: u32) -> Vec<(&'static str, String)> {
    match &page.token {
        Some(t) => vec![("options[token]", t.0.clone())],
        None => vec![(
            "options[limit]",
            page.size
                .unwrap_or(default)
                .clamp(1, PAGE_LIMIT)
                .to_string(),
        )],
    }
}

#[async_trait]
impl Provider for Amity {
    fn name(&self) -> &'static str {
        NAME
    }

    fn host(&self) -> String {
        self.host.clone()
    }

    fn capabilities(&self) -> Capabilities {
        let common = Capabilities {
            quota: QUOTA,
            max_in_flight: 4,
            member_page_size: PAGE_LIMIT,
            has_admins: true,
            ..Capabilities::default()
        };
        match self.surface {
            Surface::Channels => Capabilities {
                max_batch: MAX_IDS,
                max_demote_batch: MAX_IDS,
                can_demote: true,
                // `channel-owner` is documented only in one use-case page.
                can_demote_owner: false,
                can_readd: true,
                page_style: PageStyle::Cursor,
                ..common
            },
            Surface::Rooms => Capabilities {
                max_batch: 1,
                max_demote_batch: 1,
                can_demote: false,
                can_demote_owner: false,
                can_remove_owner: false,
                can_readd: false,
                page_style: PageStyle::Whole,
                ..common
            },
        }
    }

    fn validate_user(&self, user: &UserId) -> Result<(), String> {
        let id = user.as_str();
        if id.trim().is_empty() {
            return Err("empty user id".into());
        }
        if id.chars().count() > MAX_USER_ID {
            return Err(format!("longer than {MAX_USER_ID} characters"));
        }
        if let Some(why) = http::segment_problem(id) {
            return Err(why);
        }
        Ok(())
    }

    async fn rooms(&self, page: PageRequest) -> Result<Page<Room>, ProviderError> {
        match self.surface {
            Surface::Channels => self.channel_list(page).await,
            Surface::Rooms => self.live_room_list(page).await,
        }
    }

    async fn room(&self, room: &RoomId) -> Result<Room, ProviderError> {
        match self.surface {
            Surface::Channels => self.channel(room).await,
            Surface::Rooms => Ok(self.live_room(room).await?.0),
        }
    }

    async fn members(
        &self,
        room: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Member>, ProviderError> {
        match self.surface {
            Surface::Channels => self.channel_members(room, page).await,
            Surface::Rooms => {
                let (_, people) = self.live_room(room).await?;
                let total = people.len() as u64;
                Ok(Page {
                    items: people,
                    next: None,
                    total: Some(total),
                })
            }
        }
    }

    async fn member(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>, ProviderError> {
        match self.surface {
            Surface::Channels => self.channel_member(room, user).await,
            Surface::Rooms => {
                let (_, people) = self.live_room(room).await?;
                Ok(people.into_iter().find(|m| &m.user == user))
            }
        }
    }

    async fn staff(&self, room: &RoomId) -> Result<Vec<Member>, ProviderError> {
        match self.surface {
            Surface::Channels => self.channel_staff(room).await,
            Surface::Rooms => Ok(self.live_room_and_staff(room).await?.1),
        }
    }

    async fn room_and_staff(&self, room: &RoomId) -> Result<(Room, Vec<Member>), ProviderError> {
        match self.surface {
            Surface::Channels => {
                let detail = self.channel(room).await?;
                let staff = self.channel_staff(room).await?;
                Ok((detail, staff))
            }
            Surface::Rooms => self.live_room_and_staff(room).await,
        }
    }

    async fn roster(&self, room: &RoomId) -> Result<Roster, ProviderError> {
        match self.surface {
            Surface::Channels => self.channel_roster(room).await,
            Surface::Rooms => self.live_room_roster(room).await,
        }
    }

    async fn remove(&self, room: &RoomId, users: &[UserId]) -> Result<Vec<Outcome>, ProviderError> {
        match self.surface {
            Surface::Channels => self.channel_remove(room, users).await,
            Surface::Rooms => self.live_room_remove(room, users).await,
        }
    }

    async fn demote(
        &self,
        room: &RoomId,
        users: &[Demotion],
    ) -> Result<Vec<Outcome>, ProviderError> {
        match self.surface {
            Surface::Channels => self.channel_demote(room, users).await,
            Surface::Rooms => Ok(rooms::no_demote(room, users)),
        }
    }

    async fn readd(&self, room: &RoomId, users: &[Restore]) -> Result<Vec<Outcome>, ProviderError> {
        match self.surface {
            Surface::Channels => self.channel_readd(room, users).await,
            Surface::Rooms => Ok(rooms::no_readd(room, users)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn profile(body: &str) -> Result<Profile, String> {
        let text = format!("[profiles.t]\nprovider = \"amity\"\n{body}\n");
        let config = Config::parse(&text, std::path::Path::new("amity-test.toml"), None)
            .map_err(|e| e.to_string())?;
        Ok(config.profile(None).map_err(|e| e.to_string())?.clone())
    }

    fn build(body: &str) -> Result<Amity, String> {
        Amity::from_profile(&profile(body)?).map_err(|e| e.to_string())
    }

    #[test]
    fn profiles_pick_surface_and_base() {
        let a = build("region = \"eu\"\ntoken = \"t\"").unwrap();
        assert_eq!(a.base, "https://apix.eu.amity.co");
        assert_eq!(a.surface(), Surface::Channels);
        assert_eq!(a.capabilities().max_batch, 100);
        assert_eq!(a.capabilities().quota, QUOTA);
        let a = build("base_url = \"http://127.0.0.1:9/\"\ntoken = \"t\"\nsurface = \"rooms\"")
            .unwrap();
        assert_eq!(a.base, "http://127.0.0.1:9");
        let caps = a.capabilities();
        assert!(!caps.can_readd && !caps.demotes() && !caps.can_remove_owner);
        assert_eq!(caps.max_batch, 1);

        let e = build("region = \"mars\"\ntoken = \"t\"").err().unwrap();
        assert!(e.contains("region") && e.contains("mars"), "{e}");
        let e = build("token = \"t\"").err().unwrap();
        assert!(e.contains("region"), "{e}");
        let e = build("region = \"us\"\ntoken = \"t\"\nsurface = \"streams\"")
            .err()
            .unwrap();
        assert!(e.contains("surface"), "{e}");
        let e = build("region = \"us\"").err().unwrap();
        assert!(e.contains("token_env"), "{e}");
        let e = build("region = \"us\"\ntoken = \"\"").err().unwrap();
        assert!(e.contains("token"), "{e}");
    }

    #[test]
    fn user_ids_follow_the_documented_limits() {
        let a = build("region = \"us\"\ntoken = \"t\"").unwrap();
        assert!(a.validate_user(&UserId::from("alice")).is_ok());
        assert!(
            a.validate_user(&UserId::from("x".repeat(51).as_str()))
                .is_err()
        );
        assert!(a.validate_user(&UserId::from("..")).is_err());
        assert!(a.validate_user(&UserId::from("a\nb")).is_err());
    }

    #[test]
    fn pages_send_a_limit_first_and_then_the_token_alone() {
        let q = paging_query(&PageRequest::sized(500), 10);
        assert_eq!(q, [("options[limit]", "100".to_string())]);
        let q = paging_query(&PageRequest::first(), 10);
        assert_eq!(q, [("options[limit]", "10".to_string())]);
        let q = paging_query(
            &PageRequest::sized(7).next(crate::model::PageToken("a+b/=".into())),
            10,
        );
        assert_eq!(q, [("options[token]", "a+b/=".to_string())]);
    }
}
