//! Sessions: a `sessionToken` from the profile, or an RSA bot login.
//!
//! Bot login: an RS512 JWT `{sub: username, exp: now + 4 min}` signed with
//! the profile's private key is sent to `POST {base}/login/pubkey/authenticate`
//! as `{"token": jwt}`; the answer `{"name":"sessionToken","token":...}`
//! names the header every pod call carries. The session is cached and
//! replaced at most once per 401 by the shared credential cache.

use super::NAME;
use super::wire::{AuthenticateRequest, Claims, ErrorBody, Token};
use crate::config::{ConfigError, Profile};
use crate::provider::http::{self, Credentials, Fresh, ProfileSecret, Source, status_kind};
use crate::provider::{ErrorKind, ProviderError};
use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a login JWT is valid: the spec wants under ~5 minutes.
pub const JWT_LIFETIME: Duration = Duration::from_secs(240);

const LOGIN_OP: &str = "POST /login/pubkey/authenticate";

fn session_header() -> HeaderName {
    HeaderName::from_static("sessiontoken")
}

/// RSA bot login: each fetch signs a new JWT and logs in for a session.
struct BotLogin {
    username: String,
    key: Box<EncodingKey>,
    login_url: String,
}

#[async_trait]
impl Source for BotLogin {
    async fn fetch(&self, http: &reqwest::Client, _op: &str) -> Result<Fresh, ProviderError> {
        let (header, value) = login(http, &self.username, &self.key, &self.login_url).await?;
        Ok(Fresh {
            headers: vec![(header, value)],
            lifetime: None,
        })
    }
}

/// The profile's credentials: `session_token*` (read again after a 401),
/// or `username` + `private_key_path` (logged in again after a 401).
pub fn credentials(profile: &Profile, base: &str) -> Result<Credentials, ConfigError> {
    let has_token = profile.has_secret("session_token");
    let username = profile.get_str("username")?;
    let key_path = profile.get_str("private_key_path")?;
    match (has_token, username, key_path) {
        (true, None, None) => Ok(Credentials::new(
            NAME,
            ProfileSecret {
                provider: NAME,
                profile: Box::new(profile.clone()),
                key: "session_token",
                header: session_header(),
                prefix: "",
            }
            .checked()?,
        )),
        (false, Some(username), Some(path)) => {
            let path = expand_home(&path);
            let pem = std::fs::read(&path).map_err(|e| {
                profile.key_error(
                    "private_key_path",
                    &format!("names {}, which cannot be read: {e}", path.display()),
                )
            })?;
            let key = EncodingKey::from_rsa_pem(&pem).map_err(|e| {
                profile.key_error(
                    "private_key_path",
                    &format!(
                        "names {}, which is not an RSA private key in PEM form ({e})",
                        path.display()
                    ),
                )
            })?;
            Ok(Credentials::new(
                NAME,
                BotLogin {
                    username,
                    key: Box::new(key),
                    login_url: format!("{base}/login/pubkey/authenticate"),
                },
            ))
        }
        (true, _, _) => Err(ConfigError::new(format!(
            "profile `{}` (provider symphony): set either session_token[_env|_cmd] or \
             username + private_key_path, not both",
            profile.name
        ))),
        (false, Some(_), None) => Err(ConfigError::new(format!(
            "profile `{}` (provider symphony): `username` needs `private_key_path` \
             (the bot's RSA private key in PEM form)",
            profile.name
        ))),
        (false, None, Some(_)) => Err(ConfigError::new(format!(
            "profile `{}` (provider symphony): `private_key_path` needs `username` \
             (the service account's username)",
            profile.name
        ))),
        (false, None, None) => Err(ConfigError::new(format!(
            "profile `{}` (provider symphony) has no credentials: set \
             session_token_env = \"VAR\" (or session_token_cmd), or username + private_key_path",
            profile.name
        ))),
    }
}

fn auth_error(op: &str, message: &str) -> ProviderError {
    ProviderError::new(NAME, op, ErrorKind::Auth, message)
}

fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

/// Signs the login JWT: RS512, `{sub, exp}`.
pub fn sign_jwt(username: &str, key: &EncodingKey) -> Result<String, ProviderError> {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        + JWT_LIFETIME.as_secs();
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS512),
        &Claims { sub: username, exp },
        key,
    )
    .map_err(|e| auth_error(LOGIN_OP, &format!("cannot sign the login JWT: {e}")))
}

async fn login(
    http: &reqwest::Client,
    username: &str,
    key: &EncodingKey,
    url: &str,
) -> Result<(HeaderName, HeaderValue), ProviderError> {
    let jwt = sign_jwt(username, key)?;
    let req = http
        .post(url)
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .json(&AuthenticateRequest { token: &jwt });
    let answer = http::send(NAME, LOGIN_OP, req).await?;
    let (status, hint, body) = (answer.status, answer.retry_after, answer.body);
    if !(200..300).contains(&status) {
        let err: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
        let message = err
            .message
            .unwrap_or_else(|| format!("HTTP {status} from the login endpoint"));
        let kind = match status_kind(status, hint) {
            // Whatever the login refuses, the credentials cannot be used.
            ErrorKind::BadRequest | ErrorKind::Forbidden | ErrorKind::NotFound => ErrorKind::Auth,
            k => k,
        };
        let message = if kind == ErrorKind::Auth {
            format!("bot login as `{username}` refused: {message}")
        } else {
            message
        };
        return Err(ProviderError::new(NAME, LOGIN_OP, kind, message).with_code(status.to_string()));
    }
    let token: Token = http::decode(NAME, LOGIN_OP, &body)?;
    let header = token
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .and_then(|n| HeaderName::from_bytes(n.as_bytes()).ok())
        .unwrap_or_else(session_header);
    let mut value = HeaderValue::from_str(&token.token).map_err(|_| {
        auth_error(
            LOGIN_OP,
            "the login answer's token is not a valid header value",
        )
    })?;
    value.set_sensitive(true);
    Ok((header, value))
}
