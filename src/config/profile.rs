//! Profiles: which provider, the keys each provider accepts, and typed
//! access to them. Unknown keys are refused naming key and profile.

use super::ConfigError;
use crate::provider::{KeyKind, ProviderSpec, spec, specs};
use regex::Regex;
use toml::{Table, Value};

/// The keys every profile takes, whatever its provider.
pub const COMMON_KEYS: &[&str] = &[
    "provider",
    "base_url",
    "read_only",
    "self_user",
    "protected_users",
    "protected_pattern",
    "rate_limit_per_sec",
    "timeout_secs",
    "max_batch",
    "accent",
    "theme",
    "max_retry_wait_secs",
    "retry_budget_secs",
];

/// The lowest `rate_limit_per_sec` that can finish a batch (one call
/// every 1,000 s).
const MIN_RATE: f64 = 0.001;

/// Settings every provider honours.
#[derive(Clone, Debug, Default)]
pub struct Common {
    pub base_url: Option<String>,
    pub read_only: bool,
    pub self_user: Option<String>,
    pub protected_users: Vec<String>,
    pub protected_pattern: Option<Regex>,
    pub rate_limit_per_sec: Option<f64>,
    pub timeout_secs: Option<u64>,
    pub max_batch: Option<usize>,
    /// Header accent colour for this profile (a colour name or `#rrggbb`).
    pub accent: Option<String>,
    /// The console's colour theme for this profile (`dark`, `light`,
    /// `high-contrast`); else the config's `theme`.
    pub theme: Option<String>,
    /// The longest wait a provider may ask for before rows fail (default 300).
    pub max_retry_wait_secs: Option<u64>,
    /// How long one call is retried at most (default 180).
    pub retry_budget_secs: Option<u64>,
}

/// One named profile: a provider, where it lives, and how to log in.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    /// The provider's registry name (`agora`, `sandbox`, ...).
    pub provider: &'static str,
    pub common: Common,
    pub(super) table: Table,
    /// Why a literal secret is not allowed, if it is not.
    pub(super) literal_refused: Option<String>,
}

impl Profile {
    /// The built-in profile used when there is no config file.
    pub fn builtin_sandbox() -> Self {
        Self {
            name: "sandbox".into(),
            provider: "sandbox",
            common: Common::default(),
            table: Table::new(),
            literal_refused: None,
        }
    }

    /// An error about one key of this profile.
    pub fn key_error(&self, key: &str, problem: &str) -> ConfigError {
        ConfigError::new(format!("profile `{}`: key `{key}` {problem}", self.name))
    }

    fn typed<T>(
        &self,
        key: &str,
        want: &str,
        f: impl Fn(&Value) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(v) => f(v)
                .map(Some)
                .ok_or_else(|| self.key_error(key, &format!("must be {want}"))),
        }
    }

    pub fn get_str(&self, key: &str) -> Result<Option<String>, ConfigError> {
        self.typed(key, "a string", |v| v.as_str().map(str::to_string))
    }

    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        self.typed(key, "true or false", Value::as_bool)
    }

    pub fn get_u64(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        self.typed(key, "a whole number >= 0", |v| {
            v.as_integer().and_then(|i| u64::try_from(i).ok())
        })
    }

    pub fn get_f64(&self, key: &str) -> Result<Option<f64>, ConfigError> {
        self.typed(key, "a number", |v| {
            v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
        })
    }

    pub fn get_str_list(&self, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
        self.typed(key, "a list of strings", |v| {
            v.as_array()?
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect()
        })
    }

    /// A required string key.
    pub fn require_str(&self, key: &str) -> Result<String, ConfigError> {
        self.get_str(key)?.ok_or_else(|| {
            ConfigError::new(format!(
                "profile `{}` (provider {}) needs `{key}`; add it to the profile",
                self.name, self.provider
            ))
        })
    }
}

pub(super) fn parse_profile(
    name: &str,
    table: Table,
    literal_refused: Option<String>,
) -> Result<Profile, ConfigError> {
    let names = || {
        specs()
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kind_name = match table.get("provider") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(ConfigError::new(format!(
                "profile `{name}`: `provider` must be a string"
            )));
        }
        None => {
            return Err(ConfigError::new(format!(
                "profile `{name}` has no `provider`; set provider = \"NAME\" with NAME one of {}",
                names()
            )));
        }
    };
    let spec: &'static ProviderSpec = spec(&kind_name).ok_or_else(|| {
        ConfigError::new(format!(
            "profile `{name}`: unknown provider `{kind_name}`; expected one of {}",
            names()
        ))
    })?;
    for key in table.keys() {
        let known = COMMON_KEYS.contains(&key.as_str()) || spec.keys.iter().any(|k| k.matches(key));
        if !known {
            let allowed: Vec<String> = COMMON_KEYS
                .iter()
                .map(|k| k.to_string())
                .chain(spec.keys.iter().map(|k| k.spelling()))
                .collect();
            return Err(ConfigError::new(format!(
                "profile `{name}`: unknown key `{key}` for provider {}; known keys: {}",
                spec.name,
                allowed.join(", ")
            )));
        }
    }
    let mut profile = Profile {
        name: name.to_string(),
        provider: spec.name,
        common: Common::default(),
        table,
        literal_refused,
    };
    let pattern = match profile.get_str("protected_pattern")? {
        None => None,
        Some(p) => Some(Regex::new(&p).map_err(|e| {
            profile.key_error(
                "protected_pattern",
                &format!("is not a valid regular expression: {e}"),
            )
        })?),
    };
    let rate = profile.get_f64("rate_limit_per_sec")?;
    if let Some(r) = rate
        && !(r > 0.0 && r.is_finite())
    {
        return Err(profile.key_error("rate_limit_per_sec", "must be a number above 0"));
    }
    if let Some(r) = rate
        && r < MIN_RATE
    {
        return Err(profile.key_error(
            "rate_limit_per_sec",
            &format!(
                "is {r}: one call every {:.0} s cannot finish a batch; use at least {MIN_RATE} (one call every {} s)",
                1.0 / r,
                1.0 / MIN_RATE
            ),
        ));
    }
    let max_batch = profile.get_u64("max_batch")?;
    if max_batch == Some(0) {
        return Err(profile.key_error("max_batch", "must be at least 1"));
    }
    let timeout = profile.get_u64("timeout_secs")?;
    if timeout == Some(0) {
        return Err(profile.key_error("timeout_secs", "must be at least 1"));
    }
    let base_url = profile.get_str("base_url")?;
    if let Some(u) = &base_url
        && url::Url::parse(u).is_err()
    {
        return Err(profile.key_error(
            "base_url",
            &format!("is not a valid URL: `{}`", super::shown_url(u)),
        ));
    }
    profile.common = Common {
        base_url,
        read_only: profile.get_bool("read_only")?.unwrap_or(false),
        self_user: profile.get_str("self_user")?,
        protected_users: profile.get_str_list("protected_users")?.unwrap_or_default(),
        protected_pattern: pattern,
        rate_limit_per_sec: rate,
        timeout_secs: timeout,
        max_batch: max_batch.map(|m| m as usize),
        accent: profile.get_str("accent")?,
        theme: match profile.table.get("theme") {
            None => None,
            Some(v) => Some(super::theme_name(
                v,
                &format!("profile `{}`: key `theme`", profile.name),
            )?),
        },
        max_retry_wait_secs: profile.get_u64("max_retry_wait_secs")?,
        retry_budget_secs: profile.get_u64("retry_budget_secs")?,
    };
    for key in spec.keys {
        let checked = match key.kind {
            KeyKind::Str => profile.get_str(key.name).map(drop),
            KeyKind::Bool => profile.get_bool(key.name).map(drop),
            KeyKind::Int => profile.get_u64(key.name).map(drop),
            KeyKind::Float => profile.get_f64(key.name).map(drop),
            KeyKind::StrList => profile.get_str_list(key.name).map(drop),
            KeyKind::Secret => [
                key.name.to_string(),
                format!("{}_env", key.name),
                format!("{}_cmd", key.name),
            ]
            .iter()
            .try_for_each(|k| profile.get_str(k).map(drop)),
        };
        checked?;
    }
    Ok(profile)
}
