//! Credentials: a fixed app token, or `client_id` + `client_secret`
//! exchanged at `POST /{org}/{app}/token` (`grant_type: client_credentials`)
//! for an app token that is cached and refreshed before it expires.

use super::wire::{TokenRequest, TokenResponse};
use super::{NAME, errors};
use crate::provider::http::{self, Fresh, Source};
use crate::provider::{ErrorKind, ProviderError};
use async_trait::async_trait;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Lifetime assumed when the token answer gives none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// `client_id` + `client_secret*`, exchanged for app tokens that the
/// shared credential cache renews before they expire.
pub(super) struct ClientExchange {
    pub id: String,
    pub secret: SecretString,
    pub token_url: String,
}

#[async_trait]
impl Source for ClientExchange {
    async fn fetch(&self, http: &reqwest::Client, _op: &str) -> Result<Fresh, ProviderError> {
        let (token, lifetime) = self.exchange(http, &self.id, &self.secret).await?;
        Fresh::header(AUTHORIZATION, "Bearer ", &token, Some(lifetime))
            .map_err(|why| ProviderError::new(NAME, "POST /token", ErrorKind::Auth, why))
    }
}

impl ClientExchange {
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
