//! Credentials: a fixed app token, or `client_id` + `client_secret`
//! exchanged at `POST /{org}/{app}/token` (`grant_type: client_credentials`)
//! for an app token that is cached and refreshed before it expires.

use super::wire::{TokenRequest, TokenResponse};
use super::{NAME, errors};
use crate::provider::http;
use crate::provider::{ErrorKind, ProviderError};
use reqwest::header::{ACCEPT, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Lifetime assumed when the token answer gives none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// Refresh at most this long before expiry (and at 90 % of short lifetimes).
const MAX_MARGIN: Duration = Duration::from_secs(600);

pub(super) enum Credentials {
    /// `token`, `token_env` or `token_cmd`: used as is.
    Token(SecretString),
    /// `client_id` + `client_secret*`: exchanged for app tokens.
    Client { id: String, secret: SecretString },
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
    generation: u64,
}

pub(super) struct Auth {
    credentials: Credentials,
    token_url: String,
    cache: Mutex<Option<Cached>>,
}

/// A token to send and which cache generation it came from.
pub(super) struct Bearer {
    pub token: SecretString,
    pub generation: u64,
}

impl Auth {
    pub fn new(credentials: Credentials, token_url: String) -> Self {
        Self {
            credentials,
            token_url,
            cache: Mutex::new(None),
        }
    }

    /// Whether a refused token can be replaced by a fresh exchange.
    pub fn can_refresh(&self) -> bool {
        matches!(self.credentials, Credentials::Client { .. })
    }

    /// The token to send, exchanging credentials when none is cached or the
    /// cached one is close to expiry. Concurrent callers share one exchange.
    pub async fn bearer(&self, http: &reqwest::Client) -> Result<Bearer, ProviderError> {
        let (id, secret) = match &self.credentials {
            Credentials::Token(t) => {
                return Ok(Bearer {
                    token: t.clone(),
                    generation: 0,
                });
            }
            Credentials::Client { id, secret } => (id, secret),
        };
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(Bearer {
                token: c.token.clone(),
                generation: c.generation,
            });
        }
        let generation = cache.as_ref().map_or(1, |c| c.generation + 1);
        let (token, lifetime) = self.exchange(http, id, secret).await?;
        let margin = (lifetime / 10).min(MAX_MARGIN);
        *cache = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
            generation,
        });
        Ok(Bearer { token, generation })
    }

    /// Drops the cached token if it is still the one that was refused.
    pub async fn invalidate(&self, generation: u64) {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_mut()
            && c.generation == generation
        {
            c.refresh_at = Instant::now();
        }
    }

    async fn exchange(
        &self,
        http: &reqwest::Client,
        id: &str,
        secret: &SecretString,
    ) -> Result<(SecretString, Duration), ProviderError> {
        const OP: &str = "POST /token";
        tracing::debug!("agora: exchanging client credentials for an app token");
        let body = TokenRequest {
            grant_type: "client_credentials",
            client_id: id,
            client_secret: secret.expose_secret(),
        };
        let req = http
            .post(&self.token_url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .json(&body);
        let answer = http::send(NAME, OP, req).await?;
        if !answer.is_success() {
            let mut e = errors::from_response(OP, answer.status, answer.retry_after, &answer.body);
            // Refused client credentials (400 invalid_grant, 401, 403) are
            // an authentication failure, not a malformed request.
            if matches!(answer.status, 400 | 401 | 403) {
                e.kind = ErrorKind::Auth;
            }
            return Err(e);
        }
        let answer: TokenResponse = http::decode(NAME, OP, &answer.body)?;
        if answer.access_token.is_empty() {
            return Err(ProviderError::new(
                NAME,
                OP,
                ErrorKind::Auth,
                "the token answer holds no access_token",
            ));
        }
        let lifetime = match (answer.expires_in, answer.expire_timestamp) {
            (Some(s), _) if s > 0 => Duration::from_secs(s),
            (_, Some(ms)) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis() as u64;
                Duration::from_millis(ms.saturating_sub(now))
            }
            _ => DEFAULT_LIFETIME,
        };
        Ok((SecretString::from(answer.access_token), lifetime))
    }
}
