//! Credentials: a fixed app token, `client_id` + `client_secret`
//! exchanged at `POST /{org}/{app}/token` (`grant_type: client_credentials`)
//! for an app token that is cached and refreshed before it expires, or app
//! tokens built here from the App ID and App Certificate.

use super::wire::{TokenRequest, TokenResponse};
use super::{NAME, errors, token};
use crate::config::{ConfigError, Profile};
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

/// How long a token built from the App Certificate lasts: an hour, as
/// Agora's builders default to (24 h at most [doc]). The credential cache
/// builds the next one 6 minutes before it ends.
const BUILT_LIFETIME_SECS: u32 = 3600;

/// App tokens built from the App ID and `app_certificate[_env|_cmd]`
/// (AccessToken2 with the Chat app privilege): nothing is exchanged, and
/// the certificate is read again for each token (so `_cmd` may rotate it).
pub(super) struct CertificateTokens {
    pub app_id: String,
    pub profile: Box<Profile>,
}

impl CertificateTokens {
    /// Checks the App ID and reads the certificate once now, so a missing
    /// or malformed one is a config error (exit 2) naming the key.
    pub fn checked(self) -> Result<Self, ConfigError> {
        if !token::well_formed(&self.app_id) {
            return Err(self.profile.key_error(
                "app_id",
                "must be the App ID from the Agora console (32 hexadecimal characters) to build tokens from app_certificate",
            ));
        }
        let cert = self.profile.secret("app_certificate")?;
        certificate_ok(cert.as_ref())
            .map_err(|why| self.profile.key_error("app_certificate", why))?;
        Ok(self)
    }
}

/// Why a certificate cannot sign, if it cannot (never quoting it).
fn certificate_ok(cert: Option<&SecretString>) -> Result<(), &'static str> {
    match cert {
        Some(c) if token::well_formed(c.expose_secret()) => Ok(()),
        Some(_) => {
            Err("must be the App Certificate from the Agora console (32 hexadecimal characters)")
        }
        None => Err("is empty"),
    }
}

#[async_trait]
impl Source for CertificateTokens {
    async fn fetch(&self, _http: &reqwest::Client, op: &str) -> Result<Fresh, ProviderError> {
        let auth = |why: String| ProviderError::new(NAME, op, ErrorKind::Auth, why);
        let profile = self.profile.clone();
        let cert = tokio::task::spawn_blocking(move || profile.secret("app_certificate"))
            .await
            .map_err(|e| auth(format!("reading `app_certificate`: {e}")))?
            .map_err(|e| auth(e.to_string()))?;
        certificate_ok(cert.as_ref()).map_err(|why| auth(format!("`app_certificate` {why}")))?;
        let cert = cert.unwrap_or_default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let issued = u32::try_from(now).map_err(|_| auth("the clock is past 2106".into()))?;
        tracing::debug!("agora: building an app token from the App Certificate");
        let built = SecretString::from(token::chat_app_token(
            &self.app_id,
            cert.expose_secret(),
            issued,
            BUILT_LIFETIME_SECS,
        ));
        let lifetime = Duration::from_secs(u64::from(BUILT_LIFETIME_SECS));
        Fresh::header(AUTHORIZATION, "Bearer ", &built, Some(lifetime)).map_err(auth)
    }
}
