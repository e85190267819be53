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
use std::sync::atomic::{AtomicBool, Ordering};
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
        tracing::debug!("agora: exchanging client credentials for an app token");
        let body = TokenRequest::Client {
            grant_type: "client_credentials",
            client_id: &self.id,
            client_secret: self.secret.expose_secret(),
        };
        exchange(http, &self.token_url, None, &body).await
    }
}

/// `POST /{org}/{app}/token`: `body` (with the Agora app token as Bearer
/// for `grant_type: agora`) for an Easemob app token, sent as Bearer.
async fn exchange(
    http: &reqwest::Client,
    token_url: &str,
    bearer: Option<&SecretString>,
    body: &TokenRequest<'_>,
) -> Result<Fresh, ProviderError> {
    const OP: &str = "POST /token";
    let mut req = http
        .post(token_url)
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .json(body);
    if let Some(b) = bearer {
        let mut v =
            HeaderValue::from_str(&format!("Bearer {}", b.expose_secret())).map_err(|_| {
                ProviderError::new(
                    NAME,
                    OP,
                    ErrorKind::Auth,
                    "the token holds characters a header cannot carry",
                )
            })?;
        v.set_sensitive(true);
        req = req.header(AUTHORIZATION, v);
    }
    let answer = http::send(NAME, OP, req).await?;
    if !answer.is_success() {
        let mut e = errors::from_response(OP, answer.status, answer.retry_after, &answer.body);
        // Refused credentials (400 invalid_grant, 401, 403) are an
        // authentication failure, not a malformed request.
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
    let token = SecretString::from(answer.access_token);
    Fresh::header(AUTHORIZATION, "Bearer ", &token, Some(lifetime))
        .map_err(|why| ProviderError::new(NAME, OP, ErrorKind::Auth, why))
}

/// How long a token built from the App Certificate lasts: an hour, as
/// Agora's builders default to (24 h at most [doc]). The credential cache
/// builds the next one 6 minutes before it ends.
const BUILT_LIFETIME_SECS: u32 = 3600;

/// App tokens built from the App ID and `app_certificate[_env|_cmd]`
/// (AccessToken2 with the Chat app privilege), the certificate read again
/// for each (so `_cmd` may rotate it). Sent as the Bearer token itself, as
/// the REST docs say; once a server refuses that, exchanged at
/// `POST /token` (`grant_type: agora`) for an Easemob token, as the Java
/// SDK does, from then on.
pub(super) struct CertificateTokens {
    pub app_id: String,
    pub profile: Box<Profile>,
    pub token_url: String,
    pub exchange: AtomicBool,
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
    async fn fetch(&self, http: &reqwest::Client, op: &str) -> Result<Fresh, ProviderError> {
        if self.exchange.load(Ordering::Relaxed) {
            return self.exchanged(http, op).await;
        }
        let built = self.build(op).await?;
        let lifetime = Duration::from_secs(u64::from(BUILT_LIFETIME_SECS));
        Fresh::header(AUTHORIZATION, "Bearer ", &built, Some(lifetime))
            .map_err(|why| ProviderError::new(NAME, op, ErrorKind::Auth, why))
    }

    /// A refused built token is exchanged (`grant_type: agora`); when that
    /// works, tokens are exchanged from then on. When it fails too, the
    /// error says both were tried, and the next call builds a token again.
    async fn after_refusal(
        &self,
        http: &reqwest::Client,
        op: &str,
    ) -> Result<Fresh, ProviderError> {
        let fresh = self.exchanged(http, op).await?;
        if !self.exchange.swap(true, Ordering::Relaxed) {
            tracing::info!(
                "agora: the server takes exchanged tokens; exchanging built tokens from now on"
            );
        }
        Ok(fresh)
    }
}

impl CertificateTokens {
    /// A built token exchanged for an Easemob token.
    async fn exchanged(&self, http: &reqwest::Client, op: &str) -> Result<Fresh, ProviderError> {
        let built = self.build(op).await?;
        tracing::debug!("agora: exchanging the built app token (grant_type agora)");
        let body = TokenRequest::Agora {
            grant_type: "agora",
        };
        exchange(http, &self.token_url, Some(&built), &body)
            .await
            .map_err(|mut e| {
                e.message = format!(
                    "the app token built from the App Certificate was refused, and exchanging it (grant_type agora) failed too: {}",
                    e.message
                );
                e
            })
    }

    /// A fresh app token from the certificate as it reads now.
    async fn build(&self, op: &str) -> Result<SecretString, ProviderError> {
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
        Ok(SecretString::from(token::chat_app_token(
            &self.app_id,
            cert.expose_secret(),
            issued,
            BUILT_LIFETIME_SECS,
        )))
    }
}
