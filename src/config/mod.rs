//! The config file: profiles, secrets and key bindings (see docs/CLI.md).
//!
//! Lookup order: `--config FILE`, then `ROOMWARDEN_CONFIG`, then the
//! platform config dir's `roomwarden/config.toml`, else the built-in
//! `sandbox` profile so the first run works.

mod profile;
mod secret;
mod team;
mod themes;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::{Table, Value};

use profile::parse_profile;
pub use profile::{COMMON_KEYS, Common, Profile};
pub use team::Team;
pub use themes::dir_for as themes_dir_for;
pub(crate) use themes::theme_name;

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
    /// Team mode: the shared PostgreSQL store and the operator's name.
    pub team: Team,
    /// `theme`: the console's colour theme for profiles that name none.
    pub theme: Option<String>,
    /// The user's own themes the config names: name -> the file's text.
    pub user_themes: BTreeMap<String, Arc<str>>,
    /// `export_dir`: where the console's ctrl-s writes results (else the
    /// platform data dir's `roomwarden/exports`).
    pub export_dir: Option<PathBuf>,
    pub source: Source,
}

/// What named the config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Named {
    /// `--config FILE`.
    Flag,
    /// `ROOMWARDEN_CONFIG`.
    Env,
    /// The platform config dir's `roomwarden/config.toml`.
    Default,
}

impl Named {
    /// The flag or variable, or `default`.
    pub fn as_str(self) -> &'static str {
        match self {
            Named::Flag => "--config",
            Named::Env => "ROOMWARDEN_CONFIG",
            Named::Default => "default",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Named::Default => "the default location",
            other => other.as_str(),
        }
    }
}

/// Where the config file is, by the lookup order, and what named it. The
/// default location may not exist (then the built-in sandbox is used);
/// `None` when there is no home directory to find it in.
pub fn locate(explicit: Option<&Path>) -> Option<(PathBuf, Named)> {
    if let Some(path) = explicit {
        return Some((path.to_path_buf(), Named::Flag));
    }
    if let Some(path) = std::env::var_os("ROOMWARDEN_CONFIG").filter(|p| !p.is_empty()) {
        return Some((PathBuf::from(path), Named::Env));
    }
    directories::ProjectDirs::from("", "", "roomwarden")
        .map(|dirs| (dirs.config_dir().join("config.toml"), Named::Default))
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
            team: Team::default(),
            theme: None,
            user_themes: BTreeMap::new(),
            export_dir: None,
            source: Source::BuiltIn,
        }
    }

    /// Finds and loads the config by the documented lookup order.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        match locate(explicit) {
            Some((path, Named::Default)) if !path.exists() => Ok(Self::builtin()),
            Some((path, named)) => Self::load_file(&path, named.describe()),
            None => Ok(Self::builtin()),
        }
    }

    fn load_file(path: &Path, named_by: &str) -> Result<Self, ConfigError> {
        let cannot = |why: String| {
            ConfigError::new(format!(
                "config file {} (from {named_by}) cannot be read: {why}",
                path.display()
            ))
        };
        let text = read_capped(path, MAX_CONFIG_BYTES).map_err(cannot)?;
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
        let mut root: Table = toml::from_str(text).map_err(|e| {
            ConfigError::new(format!(
                "config file {at} is not valid TOML{}: {}",
                syntax_place(text, e.span()),
                e.message()
            ))
        })?;
        let default_profile = match root.remove("default_profile") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                return Err(ConfigError::new(format!(
                    "config file {at}: `default_profile` must be a string"
                )));
            }
        };
        let keys = keys_table(root.remove("keys"), &format!("config file {at}"))?;
        let theme = match root.remove("theme") {
            None => None,
            Some(v) => Some(theme_name(&v, &format!("config file {at}: `theme`"))?),
        };
        let team = Team::take(&mut root, &at.to_string(), literal_refused.clone())?;
        let export_dir = match root.remove("export_dir") {
            None => None,
            Some(Value::String(d)) if !d.trim().is_empty() => Some(expand_home(d.trim())),
            Some(_) => {
                return Err(ConfigError::new(format!(
                    "config file {at}: `export_dir` must be a directory path such as \"~/roomwarden-exports\""
                )));
            }
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
                "config file {at}: unknown top-level key `{key}`; expected default_profile, export_dir, theme, {}, [profiles.NAME] or [keys]",
                team::KEYS.join(", ")
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
        let mut wanted: Vec<(String, &str)> = profiles
            .values()
            .filter_map(|p| {
                let t = p.common.theme.as_deref()?;
                Some((format!("profile `{}`: key `theme`", p.name), t))
            })
            .collect();
        if let Some(t) = &theme {
            wanted.push((format!("config file {at}: `theme`"), t));
        }
        let user_themes = themes::load(&wanted, &themes::dir_for(path))?;
        Ok(Self {
            default_profile,
            profiles,
            keys,
            team,
            theme,
            user_themes,
            export_dir,
            source: Source::File(path.to_path_buf()),
        })
    }

    /// Where the console exports results: `export_dir`, else the platform
    /// data dir's `roomwarden/exports`, else the current directory.
    pub fn export_dir(&self) -> PathBuf {
        self.export_dir
            .clone()
            .or_else(|| {
                directories::ProjectDirs::from("", "", "roomwarden")
                    .map(|d| d.data_dir().join("exports"))
            })
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// The console theme of a profile: its `theme`, else the config's,
    /// else the default (`dark`).
    pub fn theme_of<'a>(&'a self, profile: &'a Profile) -> &'a str {
        profile
            .common
            .theme
            .as_deref()
            .or(self.theme.as_deref())
            .unwrap_or(crate::assets::DEFAULT_THEME)
    }

    /// The text of the theme `name`: the user's own file, else an
    /// embedded theme.
    pub fn theme_text(&self, name: &str) -> Option<&str> {
        self.user_themes
            .get(name)
            .map(|t| &**t)
            .or_else(|| crate::assets::theme(name))
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

/// A `[keys]` table (action name -> keys). `at` names where it is.
fn keys_table(v: Option<Value>, at: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    match v {
        None => Ok(BTreeMap::new()),
        Some(Value::Table(t)) => t
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                _ => Err(ConfigError::new(format!(
                    "{at}: [keys] `{k}` must be a string such as \"x\" or \"ctrl-x\""
                ))),
            })
            .collect(),
        Some(_) => Err(ConfigError::new(format!(
            "{at}: `keys` must be a table ([keys])"
        ))),
    }
}

/// Reads a document holding only a `[keys]` table, as in a config file
/// (the embedded default bindings, `assets/keys.toml`). `origin` names it.
pub fn parse_keys(text: &str, origin: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut root: Table = toml::from_str(text).map_err(|e| {
        ConfigError::new(format!(
            "{origin} is not valid TOML{}: {}",
            syntax_place(text, e.span()),
            e.message()
        ))
    })?;
    let keys = keys_table(root.remove("keys"), origin)?;
    match root.keys().next() {
        Some(k) => Err(ConfigError::new(format!(
            "{origin}: unknown key `{k}`; expected only [keys]"
        ))),
        None => Ok(keys),
    }
}

/// A configured URL as it may be shown: a password in it (`user:pw@`) and
/// its query (`?key=…`) become `***`; the rest is kept as written. Works on
/// text that is not a valid URL too.
pub fn shown_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, _)) => (h, Some("***")),
        None => (url, None),
    };
    let (scheme, rest) = match head.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, head),
    };
    let authority_end = rest.find(['/', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let mut out = String::new();
    if let Some(s) = scheme {
        out.push_str(s);
        out.push_str("://");
    }
    out.push_str(&authority);
    out.push_str(path);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The largest config file read (1 MiB).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A text file of at most `cap` bytes. Reads at most one byte past the
/// cap, so `/dev/zero` or a huge file is refused instead of filling memory.
fn read_capped(path: &Path, cap: u64) -> Result<String, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(cap + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > cap {
        return Err(format!(
            "it is larger than {}; is it the right file?",
            if cap >= 1 << 20 {
                format!("{} MiB", cap >> 20)
            } else {
                format!("{} KiB", cap >> 10)
            }
        ));
    }
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".into())
}

/// Where a syntax error is: ` at line L, column C`. Never the line
/// itself, nor a key on it: the line may hold a literal secret
/// (`token = "…`), or be inside one (a multi-line string).
fn syntax_place(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(before) = span.and_then(|s| text.get(..s.start)) else {
        return String::new();
    };
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    format!(" at line {line}, column {column}")
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

/// `~/x` as `$HOME/x`.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"), None)
    }

    #[test]
    fn export_dir_is_configured_or_the_platform_data_dir() {
        let c =
            parse("export_dir = \"/srv/exports\"\n[profiles.p]\nprovider = \"sandbox\"\n").unwrap();
        assert_eq!(c.export_dir(), PathBuf::from("/srv/exports"));
        let c = parse("[profiles.p]\nprovider = \"sandbox\"\n").unwrap();
        let d = c.export_dir();
        assert!(d.ends_with("roomwarden/exports"), "{}", d.display());
        assert!(
            d.is_absolute(),
            "never the current directory: {}",
            d.display()
        );
        assert!(parse("export_dir = 3\n[profiles.p]\nprovider = \"sandbox\"\n").is_err());
    }

    #[test]
    fn theme_is_per_profile_with_a_global_default() {
        let c = parse(
            "theme = \"light\"\n[profiles.a]\nprovider = \"sandbox\"\n\
             [profiles.b]\nprovider = \"sandbox\"\ntheme = \"high-contrast\"\n",
        )
        .unwrap();
        assert_eq!(c.theme_of(c.profile(Some("a")).unwrap()), "light");
        assert_eq!(c.theme_of(c.profile(Some("b")).unwrap()), "high-contrast");
        let c = parse("[profiles.a]\nprovider = \"sandbox\"\n").unwrap();
        assert_eq!(c.theme_of(c.profile(None).unwrap()), "dark");
        let c = Config::builtin();
        assert_eq!(c.theme_of(c.profile(None).unwrap()), "dark");
    }

    #[test]
    fn a_user_theme_is_read_from_the_themes_dir_beside_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let text = "theme = \"mine\"\n[profiles.a]\nprovider = \"sandbox\"\n";
        let e = Config::parse(text, &path, None).unwrap_err().to_string();
        let file = dir.path().join("themes").join("mine.toml");
        assert!(
            e.contains("`theme` = \"mine\" is not a theme")
                && e.contains("dark, light, high-contrast")
                && e.contains(&file.display().to_string()),
            "{e}"
        );
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        std::fs::write(&file, "accents = [\"red\"]\n").unwrap();
        let c = Config::parse(text, &path, None).unwrap();
        let a = c.profile(None).unwrap();
        assert_eq!(c.theme_of(a), "mine");
        assert_eq!(c.theme_text("mine"), Some("accents = [\"red\"]\n"));
        // An embedded name is never looked for on disk.
        std::fs::write(dir.path().join("themes").join("dark.toml"), "x").unwrap();
        let c = Config::parse(
            "theme = \"dark\"\n[profiles.a]\nprovider = \"sandbox\"\n",
            &path,
            None,
        )
        .unwrap();
        assert_eq!(c.theme_text("dark"), crate::assets::theme("dark"));
        // A huge file is refused, not read whole.
        std::fs::write(&file, vec![b'#'; 70 << 10]).unwrap();
        let e = Config::parse(text, &path, None).unwrap_err().to_string();
        assert!(e.contains("larger than 64 KiB"), "{e}");
    }

    #[test]
    fn an_unknown_theme_names_the_key_the_value_and_the_themes() {
        for (text, place) in [
            (
                "[profiles.a]\nprovider = \"sandbox\"\ntheme = \"solarized\"\n",
                "profile `a`: key `theme` = \"solarized\"",
            ),
            (
                "theme = \"solarized\"\n[profiles.a]\nprovider = \"sandbox\"\n",
                "test.toml: `theme` = \"solarized\"",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(place), "{e}");
            assert!(e.contains("dark, light, high-contrast"), "{e}");
        }
        let e = parse("[profiles.a]\nprovider = \"sandbox\"\ntheme = 3\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`theme` must be a theme name, one of dark, light, high-contrast"),
            "{e}"
        );
    }

    #[test]
    fn keys_documents_read_like_the_config_section() {
        let k = parse_keys("[keys]\nremove = \"x\"\n", "k.toml").unwrap();
        assert_eq!(k.get("remove").map(String::as_str), Some("x"));
        let e = parse_keys("[keys]\nremove = 1\n", "k.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("k.toml: [keys] `remove` must be a string"),
            "{e}"
        );
        let e = parse_keys("colour = 1\n", "k.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key `colour`"), "{e}");
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
                "[profiles.a]\nprovider = \"sandbox\"\nrate_limit_per_sec = 1e-9\n",
                "cannot finish a batch",
            ),
            (
                "[profiles.a]\nprovider = \"sandbox\"\nmax_retry_wait_secs = -5\n",
                "max_retry_wait_secs",
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

    #[test]
    fn a_toml_syntax_error_names_line_and_key_but_never_quotes_a_value() {
        for (text, at) in [
            (
                "[profiles.a]\nprovider = \"agora\"\ntoken = \"s3cr3t-value\n",
                "line 3, column 22",
            ),
            ("[profiles.a]\ntoken = s3cr3t-value\n", "line 2, column 9"),
            (
                "[profiles.a]\ntoken = \"\"\"s3cr3t-value\ns3cr3t-value\n",
                "line 4, column 1",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(!e.contains("s3cr3t"), "{e}");
            assert!(e.contains("not valid TOML") && e.contains(at), "{e}");
        }
    }

    #[test]
    fn a_config_file_over_1_mib_is_refused_without_reading_it_all() {
        let e = Config::load(Some(Path::new("/dev/zero")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/dev/zero") && e.contains("1 MiB"), "{e}");
    }

    #[test]
    fn an_invalid_base_url_is_named_without_its_password() {
        let e = parse(
            "[profiles.a]\nprovider = \"sandbox\"\nbase_url = \"https://u:hunter2@bad host\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("base_url") && e.contains("u:***@bad host"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn shown_urls_hide_passwords_and_queries() {
        for (url, shown) in [
            ("https://a1.easemob.com", "https://a1.easemob.com"),
            ("https://u:pw@h.example/x", "https://u:***@h.example/x"),
            ("https://u@h.example/", "https://u@h.example/"),
            ("wss://h:5020/api/?token=t0k", "wss://h:5020/api/?***"),
            ("https://u:p@ss@h.example", "https://u:***@h.example"),
            ("not a url:pw@x", "not a url:***@x"),
            ("https://h.example/a@b:c", "https://h.example/a@b:c"),
        ] {
            assert_eq!(shown_url(url), shown, "{url}");
        }
    }
}
