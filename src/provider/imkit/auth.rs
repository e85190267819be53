//! Credentials: the platform key (`IM-API-KEY`, the console works as
//! platform admin), or client mode for operators who will not hand out the
//! API key: `IM-CLIENT-KEY` + `IM-Authorization` (a moderator user's
//! token), with `IM-CLIENT-ID` (that user's id) on `GET /rooms`.
//!
//! The shared credential cache sends them (headers marked sensitive) and
//! reads them again after a 401. Every secret handed out is kept for
//! [`Auth::redact`], which scrubs any text the server sends back before it
//! can reach a message, a log or the audit log.

use super::NAME;
use crate::config::{ConfigError, Profile};
use crate::provider::ProviderError;
use crate::provider::http::{Credentials, Fresh, ProfileSecret, Source};
use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, Mutex};

/// Every distinct secret handed out so far.
type Seen = Arc<Mutex<Vec<SecretString>>>;

pub(super) struct Auth {
    pub credentials: Credentials,
    /// `IM-CLIENT-ID`, sent on `GET /rooms` (required in client mode).
    pub client_id: Vec<(HeaderName, HeaderValue)>,
    seen: Seen,
}

/// Client mode: both headers, each read from the profile on every fetch.
struct ClientMode {
    client_key: ProfileSecret,
    token: ProfileSecret,
}

#[async_trait]
impl Source for ClientMode {
    async fn fetch(&self, http: &reqwest::Client, op: &str) -> Result<Fresh, ProviderError> {
        let mut fresh = self.client_key.fetch(http, op).await?;
        fresh
            .headers
            .extend(self.token.fetch(http, op).await?.headers);
        Ok(fresh)
    }
}

/// A source that keeps what it hands out, for redaction.
struct Kept<S> {
    source: S,
    seen: Seen,
}

#[async_trait]
impl<S: Source> Source for Kept<S> {
    async fn fetch(&self, http: &reqwest::Client, op: &str) -> Result<Fresh, ProviderError> {
        let fresh = self.source.fetch(http, op).await?;
        let mut seen = crate::provider::lock(&self.seen);
        for (_, value) in &fresh.headers {
            let text = String::from_utf8_lossy(value.as_bytes());
            let text = text.trim();
            if !text.is_empty() && !seen.iter().any(|s| s.expose_secret() == text) {
                seen.push(SecretString::from(text.to_string()));
            }
        }
        Ok(fresh)
    }
}

fn secret(profile: &Profile, key: &'static str, header: &'static str) -> ProfileSecret {
    ProfileSecret {
        provider: NAME,
        profile: Box::new(profile.clone()),
        key,
        header: HeaderName::from_static(header),
        prefix: "",
    }
}

/// The cache over `source`, keeping what it hands out in `seen`.
fn kept(source: impl Source + 'static, seen: &Seen) -> Credentials {
    Credentials::new(
        NAME,
        Kept {
            source,
            seen: seen.clone(),
        },
    )
}

impl Auth {
    pub fn from_profile(profile: &Profile) -> Result<Self, ConfigError> {
        let client_id = match profile.get_str("client_id")? {
            Some(id) if id.trim().is_empty() => {
                return Err(profile.key_error("client_id", "is empty"));
            }
            Some(id) => Some(
                HeaderValue::from_str(id.trim())
                    .map_err(|_| profile.key_error("client_id", "is not a valid header value"))?,
            ),
            None => None,
        };
        let seen = Seen::default();
        let has = |key| profile.has_secret(key);
        let credentials = match (has("api_key"), has("client_key"), has("token")) {
            (true, true, _) | (true, _, true) => {
                return Err(ConfigError::new(format!(
                    "profile `{}` (provider imkit): set either `api_key` (platform key) or `client_key` + `token` (client mode), not both",
                    profile.name
                )));
            }
            (true, false, false) => {
                kept(secret(profile, "api_key", "im-api-key").checked()?, &seen)
            }
            (false, true, true) => {
                if client_id.is_none() {
                    return Err(ConfigError::new(format!(
                        "profile `{}` (provider imkit): client mode needs `client_id`, the moderator user's IMKit id (sent as IM-CLIENT-ID on GET /rooms)",
                        profile.name
                    )));
                }
                let client = ClientMode {
                    client_key: secret(profile, "client_key", "im-client-key").checked()?,
                    token: secret(profile, "token", "im-authorization").checked()?,
                };
                kept(client, &seen)
            }
            (false, true, false) => {
                return Err(ConfigError::new(format!(
                    "profile `{}` (provider imkit) sets `client_key` but no `token`; add token_env = \"VAR\" (the moderator user's token)",
                    profile.name
                )));
            }
            (false, false, true) => {
                return Err(ConfigError::new(format!(
                    "profile `{}` (provider imkit) sets `token` but no `client_key`; add client_key_env = \"VAR\"",
                    profile.name
                )));
            }
            (false, false, false) => {
                return Err(ConfigError::new(format!(
                    "profile `{}` (provider imkit) has no credentials: add api_key_env = \"VAR\" (the platform API key), or client_key_env + token_env + client_id",
                    profile.name
                )));
            }
        };
        Ok(Self {
            credentials,
            client_id: client_id
                .map(|id| (HeaderName::from_static("im-client-id"), id))
                .into_iter()
                .collect(),
            seen,
        })
    }

    /// The text with every secret handed out so far replaced by `***`.
    pub fn redact(&self, mut text: String) -> String {
        for s in crate::provider::lock(&self.seen).iter() {
            let s = s.expose_secret();
            if text.contains(s) {
                text = text.replace(s, "***");
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[tokio::test]
    async fn every_secret_handed_out_is_redacted_also_after_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "tok-one").unwrap();
        let text = format!(
            "[profiles.t]\nprovider = \"imkit\"\nbase_url = \"http://x\"\nclient_key = \"ck-9\"\nclient_id = \"me\"\ntoken_cmd = \"cat '{}'\"\n",
            file.display()
        );
        let config = Config::parse(&text, std::path::Path::new("t.toml"), None).unwrap();
        let auth = Auth::from_profile(config.profile(None).unwrap()).unwrap();
        let http = reqwest::Client::new();
        let issued = auth.credentials.current(&http, "op").await.unwrap();
        let names: Vec<&str> = issued
            .fresh
            .headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["im-client-key", "im-authorization"]);
        std::fs::write(&file, "tok-two").unwrap();
        assert!(
            auth.credentials
                .refused(&http, "op", issued.generation)
                .await
                .unwrap()
        );
        assert_eq!(
            auth.redact("ck-9 tok-one tok-two".to_string()),
            "*** *** ***"
        );
    }
}
