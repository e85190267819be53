//! One credential cache for every HTTP adapter: the headers to send, how
//! long they last, renewal before expiry and once after a refusal.
//!
//! An adapter says where its credential comes from ([`Source`]): a secret
//! from the profile (read again after a refusal, so a `*_cmd` or a changed
//! environment can hand out a fresh one), a token exchange, a login. The
//! cache hands out the current headers with a generation number, so that
//! many calls refused at once renew once.

use super::super::{ErrorKind, ProviderError};
use crate::config::{ConfigError, Profile};
use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Renew at most this long before expiry (and at 90 % of short lifetimes).
const MAX_MARGIN: Duration = Duration::from_secs(600);

/// A credential as sent: headers (marked sensitive) and how long it lasts.
pub struct Fresh {
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `None`: until refused.
    pub lifetime: Option<Duration>,
}

impl Fresh {
    /// One header holding `prefix` + the secret, marked sensitive so that
    /// it never shows in debug output.
    pub fn header(
        name: HeaderName,
        prefix: &str,
        secret: &SecretString,
        lifetime: Option<Duration>,
    ) -> Result<Self, String> {
        let mut v = HeaderValue::from_str(&format!("{prefix}{}", secret.expose_secret()))
            .map_err(|_| "the secret holds characters a header cannot carry".to_string())?;
        v.set_sensitive(true);
        Ok(Self {
            headers: vec![(name, v)],
            lifetime,
        })
    }

    fn same_as(&self, other: &Fresh) -> bool {
        self.headers.len() == other.headers.len()
            && self
                .headers
                .iter()
                .zip(&other.headers)
                .all(|((a, x), (b, y))| a == b && x.as_bytes() == y.as_bytes())
    }
}

/// Where an adapter's credential comes from.
#[async_trait]
pub trait Source: Send + Sync {
    async fn fetch(&self, http: &reqwest::Client, op: &str) -> Result<Fresh, ProviderError>;

    /// A new credential after the provider refused the current one; by
    /// default, fetched again (a source may change how it fetches).
    async fn after_refusal(
        &self,
        http: &reqwest::Client,
        op: &str,
    ) -> Result<Fresh, ProviderError> {
        self.fetch(http, op).await
    }
}

/// A secret from the profile (`name`, `name_env` or `name_cmd`), sent in
/// one header; read again after a refusal.
pub struct ProfileSecret {
    pub provider: &'static str,
    pub profile: Box<Profile>,
    pub key: &'static str,
    pub header: HeaderName,
    /// Put before the secret, e.g. `"Bearer "`.
    pub prefix: &'static str,
}

impl ProfileSecret {
    /// Reads the secret once now, so that a missing one is a config error
    /// (exit 2) naming the key, and returns the source for later reads.
    pub fn checked(self) -> Result<Self, ConfigError> {
        let secret = self
            .profile
            .secret(self.key)?
            .filter(|s| !s.expose_secret().is_empty())
            .ok_or_else(|| {
                ConfigError::new(format!(
                    "profile `{}` (provider {}) needs `{k}_env` (or `{k}_cmd`, or `{k}`)",
                    self.profile.name,
                    self.provider,
                    k = self.key
                ))
            })?;
        Fresh::header(self.header.clone(), self.prefix, &secret, None)
            .map_err(|why| self.profile.key_error(self.key, &why))?;
        Ok(self)
    }
}

#[async_trait]
impl Source for ProfileSecret {
    async fn fetch(&self, _http: &reqwest::Client, op: &str) -> Result<Fresh, ProviderError> {
        let profile = self.profile.clone();
        let key = self.key;
        let auth = |why: String| ProviderError::new(self.provider, op, ErrorKind::Auth, why);
        let secret = tokio::task::spawn_blocking(move || profile.secret(key))
            .await
            .map_err(|e| auth(format!("reading `{key}`: {e}")))?
            .map_err(|e| auth(e.to_string()))?
            .ok_or_else(|| auth(format!("`{key}` is empty")))?;
        Fresh::header(self.header.clone(), self.prefix, &secret, None).map_err(auth)
    }
}

struct Current {
    fresh: Arc<Fresh>,
    generation: u64,
    renew_at: Option<Instant>,
}

#[derive(Default)]
struct State {
    current: Option<Current>,
    generation: u64,
}

/// The cache: the current credential of one adapter.
pub struct Credentials {
    provider: &'static str,
    source: Box<dyn Source>,
    state: Mutex<State>,
}

/// What a request sends, and which generation it came from.
pub struct Issued {
    pub fresh: Arc<Fresh>,
    pub generation: u64,
}

impl Credentials {
    pub fn new(provider: &'static str, source: impl Source + 'static) -> Self {
        Self {
            provider,
            source: Box::new(source),
            state: Mutex::new(State::default()),
        }
    }

    /// The credential to send: fetched when there is none, or when it is
    /// close to expiry. Concurrent callers share one fetch.
    pub async fn current(&self, http: &reqwest::Client, op: &str) -> Result<Issued, ProviderError> {
        let mut state = self.state.lock().await;
        if let Some(c) = &state.current
            && c.renew_at.is_none_or(|t| Instant::now() < t)
        {
            return Ok(Issued {
                fresh: c.fresh.clone(),
                generation: c.generation,
            });
        }
        let fresh = Arc::new(self.source.fetch(http, op).await?);
        Ok(Self::install(&mut state, fresh))
    }

    fn install(state: &mut State, fresh: Arc<Fresh>) -> Issued {
        state.generation += 1;
        let renew_at = fresh.lifetime.map(|l| {
            let margin = (l / 10).min(MAX_MARGIN);
            Instant::now()
                .checked_add(l.saturating_sub(margin))
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365))
        });
        state.current = Some(Current {
            fresh: fresh.clone(),
            generation: state.generation,
            renew_at,
        });
        Issued {
            fresh,
            generation: state.generation,
        }
    }

    /// The provider refused the credential of `generation`: gets a new
    /// one. `Ok(true)` when there is a different one to try (or another
    /// call already renewed it), `Ok(false)` when the source hands out the
    /// very credential refused: sending it again cannot help.
    pub async fn refused(
        &self,
        http: &reqwest::Client,
        op: &str,
        generation: u64,
    ) -> Result<bool, ProviderError> {
        let mut state = self.state.lock().await;
        let refused = match &state.current {
            Some(c) if c.generation == generation => c.fresh.clone(),
            _ => return Ok(true),
        };
        let fresh = self.source.after_refusal(http, op).await?;
        if fresh.same_as(&refused) {
            tracing::info!(
                "{} {op}: the credentials were refused and the source gives the same again",
                self.provider
            );
            return Ok(false);
        }
        Self::install(&mut state, Arc::new(fresh));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Counting {
        fetched: AtomicU32,
        lifetime: Option<Duration>,
        same: bool,
    }

    #[async_trait]
    impl Source for Counting {
        async fn fetch(&self, _: &reqwest::Client, _: &str) -> Result<Fresh, ProviderError> {
            let n = self.fetched.fetch_add(1, Ordering::SeqCst);
            let token = if self.same { 0 } else { n };
            Fresh::header(
                HeaderName::from_static("x-token"),
                "",
                &SecretString::from(format!("t{token}")),
                self.lifetime,
            )
            .map_err(|e| ProviderError::new("t", "op", ErrorKind::Auth, e))
        }
    }

    fn creds(lifetime: Option<Duration>, same: bool) -> Credentials {
        Credentials::new(
            "t",
            Counting {
                fetched: AtomicU32::new(0),
                lifetime,
                same,
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn renews_before_expiry_and_once_after_a_refusal() {
        let http = reqwest::Client::new();
        let c = creds(Some(Duration::from_secs(100)), false);
        let a = c.current(&http, "op").await.unwrap();
        let b = c.current(&http, "op").await.unwrap();
        assert_eq!(a.generation, b.generation, "cached");
        tokio::time::advance(Duration::from_secs(91)).await;
        let d = c.current(&http, "op").await.unwrap();
        assert_ne!(d.generation, a.generation, "renewed at 90 % of its life");
        // Two calls refused with the same generation renew once.
        assert!(c.refused(&http, "op", d.generation).await.unwrap());
        assert!(c.refused(&http, "op", d.generation).await.unwrap());
        let e = c.current(&http, "op").await.unwrap();
        let f = c.current(&http, "op").await.unwrap();
        assert_eq!(e.generation, d.generation + 1);
        assert_eq!(f.generation, e.generation);
    }

    #[tokio::test]
    async fn the_same_credential_after_a_refusal_is_not_sent_again() {
        let http = reqwest::Client::new();
        let c = creds(None, true);
        let a = c.current(&http, "op").await.unwrap();
        assert!(!c.refused(&http, "op", a.generation).await.unwrap());
    }
}
