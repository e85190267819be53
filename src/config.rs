//! The config file: profiles, secrets and key bindings (see CLI.md).
//!
//! Lookup order: `--config FILE`, then `ROOMWARDEN_CONFIG`, then the
//! platform config dir's `roomwarden/config.toml`, else the built-in
//! `sandbox` profile so the first run works.

use regex::Regex;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use toml::{Table, Value};

/// A config problem; the message says what is wrong and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The providers a profile can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    Agora,
    Symphony,
    Imkit,
    Amity,
    Nandbox,
    Sandbox,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 6] = [
        ProviderKind::Agora,
        ProviderKind::Symphony,
        ProviderKind::Imkit,
        ProviderKind::Amity,
        ProviderKind::Nandbox,
        ProviderKind::Sandbox,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Agora => "agora",
            ProviderKind::Symphony => "symphony",
            ProviderKind::Imkit => "imkit",
            ProviderKind::Amity => "amity",
            ProviderKind::Nandbox => "nandbox",
            ProviderKind::Sandbox => "sandbox",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Keys this provider reads besides the common ones. A name ending in
    /// `*` is a secret: `name`, `name_env` or `name_cmd`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            ProviderKind::Agora => &["org", "app", "token*", "client_id", "client_secret*"],
            ProviderKind::Symphony => &[
                "session_token*",
                "username",
                "private_key_path",
                "admin",
                "query",
                "jumbo_pacing",
            ],
            ProviderKind::Imkit => &[
                "api_key*",
                "client_key*",
                "token*",
                "client_id",
                "system_message",
            ],
            ProviderKind::Amity => &["token*", "surface"],
            ProviderKind::Nandbox => &["token*", "chats"],
            ProviderKind::Sandbox => &["latency_ms", "fail_rate", "refuse_auth"],
        }
    }
}

const COMMON_KEYS: &[&str] = &[
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
];

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
}

/// One named profile: a provider, where it lives, and how to log in.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    pub provider: ProviderKind,
    pub common: Common,
    table: Table,
    /// Why a literal secret is not allowed, if it is not.
    literal_refused: Option<String>,
}

impl Profile {
    /// The built-in profile used when there is no config file.
    pub fn builtin_sandbox() -> Self {
        Self {
            name: "sandbox".into(),
            provider: ProviderKind::Sandbox,
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
                self.name,
                self.provider.as_str()
            ))
        })
    }

    /// Whether any form of the secret `base` is configured.
    pub fn has_secret(&self, base: &str) -> bool {
        [
            base.to_string(),
            format!("{base}_env"),
            format!("{base}_cmd"),
        ]
        .iter()
        .any(|k| self.table.contains_key(k))
    }

    /// Resolves the secret `base` from `base_env`, `base_cmd` or a literal
    /// `base` (only when the file is private). `Ok(None)` when none is set.
    pub fn secret(&self, base: &str) -> Result<Option<SecretString>, ConfigError> {
        let env_key = format!("{base}_env");
        let cmd_key = format!("{base}_cmd");
        let set: Vec<&str> = [base, env_key.as_str(), cmd_key.as_str()]
            .into_iter()
            .filter(|k| self.table.contains_key(*k))
            .collect();
        if set.len() > 1 {
            return Err(ConfigError::new(format!(
                "profile `{}`: set only one of {}; they name the same secret",
                self.name,
                set.join(", ")
            )));
        }
        if let Some(var) = self.get_str(&env_key)? {
            return match std::env::var(&var) {
                Ok(v) if !v.trim().is_empty() => Ok(Some(SecretString::from(v.trim().to_string()))),
                _ => Err(ConfigError::new(format!(
                    "profile `{}`: `{env_key}` names the environment variable {var}, which is not set; \
                     export {var}=... before running roomwarden",
                    self.name
                ))),
            };
        }
        if let Some(cmd) = self.get_str(&cmd_key)? {
            return run_secret_command(&self.name, &cmd_key, &cmd).map(Some);
        }
        if self.table.contains_key(base) {
            let value = self.get_str(base)?.unwrap_or_default();
            if let Some(why) = &self.literal_refused {
                return Err(ConfigError::new(format!(
                    "profile `{}`: literal secret `{base}` refused: {why}; or use `{env_key}` / `{cmd_key}` instead",
                    self.name
                )));
            }
            return Ok(Some(SecretString::from(value)));
        }
        Ok(None)
    }
}

fn run_secret_command(profile: &str, key: &str, cmd: &str) -> Result<SecretString, ConfigError> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| {
            ConfigError::new(format!(
                "profile `{profile}`: `{key}` could not be started: {e}"
            ))
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        return Err(ConfigError::new(format!(
            "profile `{profile}`: `{key}` command `{cmd}` failed ({}){}{first}; fix the command or use another source",
            out.status,
            if first.is_empty() { "" } else { ": " },
        )));
    }
    let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if value.is_empty() {
        return Err(ConfigError::new(format!(
            "profile `{profile}`: `{key}` command `{cmd}` printed nothing; it must print the secret on stdout"
        )));
    }
    Ok(SecretString::from(value))
}

/// Where the config came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    BuiltIn,
}

/// The whole config.
#[derive(Clone, Debug)]
pub struct Config {
    pub default_profile: Option<String>,
    pub profiles: BTreeMap<String, Profile>,
    /// `[keys]`: action name -> key, for the console's keymap.
    pub keys: BTreeMap<String, String>,
    pub source: Source,
}

impl Config {
    /// The config with only the built-in sandbox profile.
    pub fn builtin() -> Self {
        let mut profiles = BTreeMap::new();
        profiles.insert("sandbox".to_string(), Profile::builtin_sandbox());
        Self {
            default_profile: Some("sandbox".into()),
            profiles,
            keys: BTreeMap::new(),
            source: Source::BuiltIn,
        }
    }

    /// Finds and loads the config by the documented lookup order.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        if let Some(path) = explicit {
            return Self::load_file(path, "--config");
        }
        if let Some(path) = std::env::var_os("ROOMWARDEN_CONFIG").filter(|p| !p.is_empty()) {
            return Self::load_file(Path::new(&path), "ROOMWARDEN_CONFIG");
        }
        if let Some(dirs) = directories::ProjectDirs::from("", "", "roomwarden") {
            let path = dirs.config_dir().join("config.toml");
            if path.exists() {
                return Self::load_file(&path, "the default location");
            }
        }
        Ok(Self::builtin())
    }

    fn load_file(path: &Path, named_by: &str) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(format!(
                "config file {} (from {named_by}) cannot be read: {e}",
                path.display()
            ))
        })?;
        Self::parse(&text, path, literal_policy(path))
    }

    /// Parses config text. `literal_refused` says why literal secrets are
    /// not allowed for this file, if they are not.
    pub fn parse(
        text: &str,
        path: &Path,
        literal_refused: Option<String>,
    ) -> Result<Self, ConfigError> {
        let at = path.display();
        let mut root: Table = toml::from_str(text)
            .map_err(|e| ConfigError::new(format!("config file {at} is not valid TOML: {e}")))?;
        let default_profile = match root.remove("default_profile") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                return Err(ConfigError::new(format!(
                    "config file {at}: `default_profile` must be a string"
                )));
            }
        };
        let keys = match root.remove("keys") {
            None => BTreeMap::new(),
            Some(Value::Table(t)) => t
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    _ => Err(ConfigError::new(format!("config file {at}: [keys] `{k}` must be a string such as \"x\" or \"ctrl-x\""))),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(ConfigError::new(format!("config file {at}: `keys` must be a table ([keys])"))),
        };
        let mut profiles = BTreeMap::new();
        match root.remove("profiles") {
            None => {}
            Some(Value::Table(t)) => {
                for (name, v) in t {
                    let Value::Table(table) = v else {
                        return Err(ConfigError::new(format!(
                            "config file {at}: `profiles.{name}` must be a table ([profiles.{name}])"
                        )));
                    };
                    let profile = parse_profile(&name, table, literal_refused.clone())?;
                    profiles.insert(name, profile);
                }
            }
            Some(_) => {
                return Err(ConfigError::new(format!(
                    "config file {at}: `profiles` must be a table of profiles"
                )));
            }
        }
        if let Some(key) = root.keys().next() {
            return Err(ConfigError::new(format!(
                "config file {at}: unknown top-level key `{key}`; expected default_profile, [profiles.NAME] or [keys]"
            )));
        }
        if profiles.is_empty() {
            return Err(ConfigError::new(format!(
                "config file {at} defines no profiles; add a [profiles.NAME] table (see config.example.toml)"
            )));
        }
        if let Some(d) = &default_profile
            && !profiles.contains_key(d)
        {
            return Err(ConfigError::new(format!(
                "config file {at}: default_profile `{d}` is not defined; profiles are: {}",
                profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(Self {
            default_profile,
            profiles,
            keys,
            source: Source::File(path.to_path_buf()),
        })
    }

    /// The profile to use: the named one, else `default_profile`, else the
    /// only one there is.
    pub fn profile(&self, name: Option<&str>) -> Result<&Profile, ConfigError> {
        let names = || self.profiles.keys().cloned().collect::<Vec<_>>().join(", ");
        let wanted = match name.or(self.default_profile.as_deref()) {
            Some(n) => n,
            None if self.profiles.len() == 1 => self
                .profiles
                .keys()
                .next()
                .map(String::as_str)
                .unwrap_or_default(),
            None => {
                return Err(ConfigError::new(format!(
                    "no profile chosen: pass --profile NAME or set default_profile; profiles are: {}",
                    names()
                )));
            }
        };
        self.profiles.get(wanted).ok_or_else(|| {
            ConfigError::new(format!(
                "unknown profile `{wanted}`; profiles are: {}",
                names()
            ))
        })
    }
}

fn parse_profile(
    name: &str,
    table: Table,
    literal_refused: Option<String>,
) -> Result<Profile, ConfigError> {
    let kind_name = match table.get("provider") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(ConfigError::new(format!(
                "profile `{name}`: `provider` must be a string"
            )));
        }
        None => {
            return Err(ConfigError::new(format!(
                "profile `{name}` has no `provider`; set provider = \"agora\" (or symphony, imkit, amity, nandbox, sandbox)"
            )));
        }
    };
    let provider = ProviderKind::parse(&kind_name).ok_or_else(|| {
        ConfigError::new(format!(
            "profile `{name}`: unknown provider `{kind_name}`; expected one of agora, symphony, imkit, amity, nandbox, sandbox"
        ))
    })?;
    for key in table.keys() {
        let known = COMMON_KEYS.contains(&key.as_str())
            || provider.keys().iter().any(|k| match k.strip_suffix('*') {
                Some(base) => {
                    key == base || *key == format!("{base}_env") || *key == format!("{base}_cmd")
                }
                None => key == k,
            });
        if !known {
            let allowed: Vec<String> = COMMON_KEYS
                .iter()
                .map(|k| k.to_string())
                .chain(provider.keys().iter().map(|k| match k.strip_suffix('*') {
                    Some(b) => format!("{b}[_env|_cmd]"),
                    None => k.to_string(),
                }))
                .collect();
            return Err(ConfigError::new(format!(
                "profile `{name}`: unknown key `{key}` for provider {}; known keys: {}",
                provider.as_str(),
                allowed.join(", ")
            )));
        }
    }
    let mut profile = Profile {
        name: name.to_string(),
        provider,
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
        return Err(profile.key_error("base_url", &format!("is not a valid URL: `{u}`")));
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
    };
    for key in profile
        .provider
        .keys()
        .iter()
        .filter_map(|k| k.strip_suffix('*'))
    {
        if let Some(v) = profile.table.get(key)
            && !v.is_str()
        {
            return Err(profile.key_error(key, "must be a string"));
        }
    }
    Ok(profile)
}

/// Literal secrets are allowed only in files that group and others cannot
/// read, as ssh does with keys.
#[cfg(unix)]
fn literal_policy(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 == 0 => None,
        Ok(m) => Some(format!(
            "{} is readable by group/others (mode {:o}); run `chmod 600 {}`",
            path.display(),
            m.permissions().mode() & 0o777,
            path.display()
        )),
        Err(e) => Some(format!(
            "cannot check the permissions of {}: {e}",
            path.display()
        )),
    }
}

#[cfg(not(unix))]
fn literal_policy(_path: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"), None)
    }

    #[test]
    fn unknown_key_names_key_and_profile() {
        let e = parse("[profiles.p]\nprovider = \"sandbox\"\nlatency = 3\n").unwrap_err();
        assert!(
            e.to_string().contains("profile `p`: unknown key `latency`"),
            "{e}"
        );
    }

    #[test]
    fn profile_choice_follows_default_then_flag() {
        let c = parse(
            "default_profile = \"b\"\n[profiles.a]\nprovider = \"sandbox\"\n[profiles.b]\nprovider = \"sandbox\"\nread_only = true\n",
        )
        .unwrap();
        assert_eq!(c.profile(None).unwrap().name, "b");
        assert!(c.profile(None).unwrap().common.read_only);
        assert_eq!(c.profile(Some("a")).unwrap().name, "a");
        assert!(
            c.profile(Some("zzz"))
                .unwrap_err()
                .to_string()
                .contains("profiles are: a, b")
        );
    }

    #[test]
    fn secrets_from_env_cmd_and_literal() {
        let c = parse(
            "[profiles.a]\nprovider = \"agora\"\ntoken_cmd = \"echo s3cr3t\"\n\
             [profiles.b]\nprovider = \"agora\"\ntoken_env = \"RW_TEST_UNSET_VAR\"\n\
             [profiles.c]\nprovider = \"agora\"\ntoken = \"lit\"\n",
        )
        .unwrap();
        let a = c
            .profile(Some("a"))
            .unwrap()
            .secret("token")
            .unwrap()
            .unwrap();
        assert_eq!(a.expose_secret(), "s3cr3t");
        let e = c
            .profile(Some("b"))
            .unwrap()
            .secret("token")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("RW_TEST_UNSET_VAR") && e.contains("export"),
            "{e}"
        );
        let lit = c
            .profile(Some("c"))
            .unwrap()
            .secret("token")
            .unwrap()
            .unwrap();
        assert_eq!(lit.expose_secret(), "lit");

        let refused = Config::parse(
            "[profiles.c]\nprovider = \"agora\"\ntoken = \"lit\"\n",
            Path::new("x.toml"),
            Some("x.toml is readable by group/others (mode 644); run `chmod 600 x.toml`".into()),
        )
        .unwrap();
        let e = refused
            .profile(None)
            .unwrap()
            .secret("token")
            .unwrap_err()
            .to_string();
        assert!(e.contains("chmod 600") && !e.contains("lit\""), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        for (text, needle) in [
            (
                "[profiles.a]\nprovider = \"slack\"\n",
                "unknown provider `slack`",
            ),
            ("[profiles.a]\n", "has no `provider`"),
            (
                "[profiles.a]\nprovider = \"sandbox\"\nprotected_pattern = \"(\"\n",
                "protected_pattern",
            ),
            (
                "[profiles.a]\nprovider = \"sandbox\"\nrate_limit_per_sec = 0\n",
                "rate_limit_per_sec",
            ),
            (
                "default_profile = \"x\"\n[profiles.a]\nprovider = \"sandbox\"\n",
                "default_profile `x`",
            ),
            (
                "[profiles.a]\nprovider = \"sandbox\"\nfail_rate = \"high\"\n",
                "must be a number",
            ),
            (
                "bogus = 1\n[profiles.a]\nprovider = \"sandbox\"\n",
                "unknown top-level key `bogus`",
            ),
            ("[profiles.a\n", "not valid TOML"),
        ] {
            let e = parse(text).and_then(|c| {
                c.profile(None)?.get_f64("fail_rate")?;
                Ok(c)
            });
            let msg = e.unwrap_err().to_string();
            assert!(msg.contains(needle), "{text:?}: {msg}");
        }
    }
}
