//! Credentials: the platform key (`IM-API-KEY`, the console works as
//! platform admin), or client mode for operators who will not hand out the
//! API key: `IM-CLIENT-KEY` + `IM-Authorization` (a moderator user's
//! token), with `IM-CLIENT-ID` (that user's id) on `GET /rooms`.
//!
//! Header values are built once and marked sensitive; every text the
//! server sends back is passed through [`Auth::redact`] before it can
//! reach a message, a log or the audit log.

use crate::config::{ConfigError, Profile};
use reqwest::RequestBuilder;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

pub(super) enum Credentials {
    /// `IM-API-KEY`.
    Platform { api_key: HeaderValue },
    /// `IM-CLIENT-KEY` + `IM-Authorization`.
    Client {
        client_key: HeaderValue,
        token: HeaderValue,
    },
}

pub(super) struct Auth {
    credentials: Credentials,
    /// `IM-CLIENT-ID` for `GET /rooms` (required in client mode).
    client_id: Option<HeaderValue>,
    /// The secrets, for redaction only.
    secrets: Vec<SecretString>,
}

fn header(profile: &Profile, key: &str, secret: &SecretString) -> Result<HeaderValue, ConfigError> {
    let value = secret.expose_secret().trim();
    if value.is_empty() {
        return Err(profile.key_error(key, "is empty"));
    }
    let mut h = HeaderValue::from_str(value).map_err(|_| {
        profile.key_error(
            key,
            "holds characters an HTTP header cannot carry (the value is not shown)",
        )
    })?;
    h.set_sensitive(true);
    Ok(h)
}

impl Auth {
    pub fn from_profile(profile: &Profile) -> Result<Self, ConfigError> {
        let api_key = profile.secret("api_key")?;
        let client_key = profile.secret("client_key")?;
        let token = profile.secret("token")?;
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
        let mut secrets = Vec::new();
        let credentials = match (api_key, client_key, token) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(ConfigError::new(format!(
                    "profile `{}` (provider imkit): set either `api_key` (platform key) or `client_key` + `token` (client mode), not both",
                    profile.name
                )));
            }
            (Some(k), None, None) => {
                let api_key = header(profile, "api_key", &k)?;
                secrets.push(k);
                Credentials::Platform { api_key }
            }
            (None, Some(ck), Some(t)) => {
                if client_id.is_none() {
                    return Err(ConfigError::new(format!(
                        "profile `{}` (provider imkit): client mode needs `client_id`, the moderator user's IMKit id (sent as IM-CLIENT-ID on GET /rooms)",
                        profile.name
                    )));
                }
                let client_key = header(profile, "client_key", &ck)?;
                let token = header(profile, "token", &t)?;
                secrets.push(ck);
                secrets.push(t);
                Credentials::Client { client_key, token }
            }
            (None, Some(_), None) => {
                return Err(ConfigError::new(format!(
                    "profile `{}` (provider imkit) sets `client_key` but no `token`; add token_env = \"VAR\" (the moderator user's token)",
                    profile.name
                )));
            }
            (None, None, Some(_)) => {
                return Err(ConfigError::new(format!(
                    "profile `{}` (provider imkit) sets `token` but no `client_key`; add client_key_env = \"VAR\"",
                    profile.name
                )));
            }
            (None, None, None) => {
                return Err(ConfigError::new(format!(
                    "profile `{}` (provider imkit) has no credentials: add api_key_env = \"VAR\" (the platform API key), or client_key_env + token_env + client_id",
                    profile.name
                )));
            }
        };
        Ok(Self {
            credentials,
            client_id,
            secrets,
        })
    }

    /// Adds the credentials; `list_rooms` adds `IM-CLIENT-ID` where known.
    pub fn apply(&self, req: RequestBuilder, list_rooms: bool) -> RequestBuilder {
        let req = match &self.credentials {
            Credentials::Platform { api_key } => req.header("IM-API-KEY", api_key.clone()),
            Credentials::Client { client_key, token } => req
                .header("IM-CLIENT-KEY", client_key.clone())
                .header("IM-Authorization", token.clone()),
        };
        match (&self.client_id, list_rooms) {
            (Some(id), true) => req.header("IM-CLIENT-ID", id.clone()),
            _ => req,
        }
    }

    /// The text with every secret replaced by `***`.
    pub fn redact(&self, mut text: String) -> String {
        for s in &self.secrets {
            let s = s.expose_secret().trim();
            if !s.is_empty() && text.contains(s) {
                text = text.replace(s, "***");
            }
        }
        text
    }
}
