//! Sessions: a `sessionToken` from the profile, or an RSA bot login.
//!
//! Bot login: an RS512 JWT `{sub: username, exp: now + 4 min}` signed with
//! the profile's private key is sent to `POST {base}/login/pubkey/authenticate`
//! as `{"token": jwt}`; the answer `{"name":"sessionToken","token":...}`
//! names the header every pod call carries. The session is cached and
//! replaced at most once per 401 (see [`Auth::refresh`]).

use super::NAME;
use super::wire::{AuthenticateRequest, Claims, ErrorBody, Token};
use crate::config::{ConfigError, Profile};
use crate::provider::http::{self, status_kind};
use crate::provider::{ErrorKind, ProviderError};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// How long a login JWT is valid: the spec wants under ~5 minutes.
pub const JWT_LIFETIME: Duration = Duration::from_secs(240);

const LOGIN_OP: &str = "POST /login/pubkey/authenticate";

/// Where sessions come from.
enum Source {
    /// A token from the profile; a refresh reads the secret again (a
    /// `session_token_cmd` may print a fresh one).
    Static(Box<Profile>),
    /// RSA bot login.
    Bot {
        username: String,
        key: Box<EncodingKey>,
        login_url: String,
    },
}

/// One session: the header to send and its value.
#[derive(Clone)]
pub struct Session {
    pub header: HeaderName,
    pub value: HeaderValue,
    /// Bumped on every new session, so that concurrent 401s refresh once.
    pub generation: u64,
}

struct State {
    session: Option<Session>,
    /// The static token currently in use, to tell a fresh one from the same.
    token: Option<SecretString>,
    generation: u64,
}

pub struct Auth {
    source: Source,
    state: Mutex<State>,
}

fn header_value(profile_name: &str, token: &SecretString) -> Result<HeaderValue, String> {
    let mut v = HeaderValue::from_str(token.expose_secret()).map_err(|_| {
        format!(
            "profile `{profile_name}`: the session token holds characters a header cannot carry"
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

fn session_header() -> HeaderName {
    HeaderName::from_static("sessiontoken")
}

impl Auth {
    /// Reads the profile's credentials: `session_token*`, or `username` +
    /// `private_key_path`.
    pub fn from_profile(profile: &Profile, base: &str) -> Result<Self, ConfigError> {
        let has_token = profile.has_secret("session_token");
        let username = profile.get_str("username")?;
        let key_path = profile.get_str("private_key_path")?;
        match (has_token, username, key_path) {
            (true, None, None) => {
                let token = profile.secret("session_token")?.ok_or_else(|| {
                    ConfigError::new(format!("profile `{}`: empty session token", profile.name))
                })?;
                let value = header_value(&profile.name, &token).map_err(ConfigError::new)?;
                Ok(Self {
                    source: Source::Static(Box::new(profile.clone())),
                    state: Mutex::new(State {
                        session: Some(Session {
                            header: session_header(),
                            value,
                            generation: 1,
                        }),
                        token: Some(token),
                        generation: 1,
                    }),
                })
            }
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
                Ok(Self {
                    source: Source::Bot {
                        username,
                        key: Box::new(key),
                        login_url: format!("{base}/login/pubkey/authenticate"),
                    },
                    state: Mutex::new(State {
                        session: None,
                        token: None,
                        generation: 0,
                    }),
                })
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

    /// The session to use, logging in first if there is none yet.
    pub async fn current(
        &self,
        http: &reqwest::Client,
        op: &str,
    ) -> Result<Session, ProviderError> {
        let mut state = self.state.lock().await;
        if let Some(s) = &state.session {
            return Ok(s.clone());
        }
        self.renew(http, &mut state, op, true).await
    }

    /// Replaces the session that got a 401. If another call already
    /// replaced it (a newer generation), that session is returned instead.
    pub async fn refresh(
        &self,
        http: &reqwest::Client,
        stale: u64,
        op: &str,
    ) -> Result<Session, ProviderError> {
        let mut state = self.state.lock().await;
        if let Some(s) = &state.session
            && s.generation != stale
        {
            return Ok(s.clone());
        }
        state.session = None;
        self.renew(http, &mut state, op, false).await
    }

    /// A new session. A static token that reads the same as the refused
    /// one is not sent again (unless `allow_same`: no session was refused
    /// since the last failed refresh).
    async fn renew(
        &self,
        http: &reqwest::Client,
        state: &mut State,
        op: &str,
        allow_same: bool,
    ) -> Result<Session, ProviderError> {
        let session = match &self.source {
            Source::Static(profile) => {
                let profile = profile.clone();
                let fresh = tokio::task::spawn_blocking(move || profile.secret("session_token"))
                    .await
                    .map_err(|e| auth_error(op, &format!("reading the token: {e}")))?
                    .map_err(|e| auth_error(op, &e.to_string()))?
                    .ok_or_else(|| auth_error(op, "the session token is empty"))?;
                let same = !allow_same
                    && state
                        .token
                        .as_ref()
                        .is_some_and(|t| t.expose_secret() == fresh.expose_secret());
                if same {
                    return Err(auth_error(
                        op,
                        "Invalid session: the session token was refused and the profile \
                         gives no other; get a fresh token (or use username + private_key_path)",
                    ));
                }
                let value = header_value("symphony", &fresh).map_err(|e| auth_error(op, &e))?;
                state.token = Some(fresh);
                (session_header(), value)
            }
            Source::Bot {
                username,
                key,
                login_url,
            } => login(http, username, key, login_url).await?,
        };
        state.generation += 1;
        let s = Session {
            header: session.0,
            value: session.1,
            generation: state.generation,
        };
        state.session = Some(s.clone());
        Ok(s)
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
