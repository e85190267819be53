//! Session start-up shared by both faces: the global options, config and
//! profile, the provider built through the registry, the audit log, all
//! put together into an [`Engine`]; and how a start-up failure ends.

use crate::config::{Config, ConfigError, Profile};
use crate::ops::Engine;
use crate::ops::audit::{self, AuditLog};
use crate::ops::store::pg::{Origin, PgSpec, PgStore};
use crate::ops::store::{AuditFile, AuditStore, StoreError};
use crate::provider::{self, ProviderError};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Config file (else ROOMWARDEN_CONFIG, else the platform config dir's roomwarden/config.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Profile to use (else default_profile from the config file)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Audit log file (else the platform data dir's roomwarden/audit.jsonl)
    #[arg(long, global = true, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Team mode: a shared PostgreSQL audit store and queue (postgres://user@host/db);
    /// else ROOMWARDEN_AUDIT_URL, else the config's audit_url
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "ROOMWARDEN_AUDIT_URL",
        hide_env_values = true
    )]
    pub audit_url: Option<String>,
    /// Refuse every changing action
    #[arg(long, global = true)]
    pub read_only: bool,
    /// More log output (-v info, -vv debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No colours (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Capture the mouse in the console (off by default)
    #[arg(long, global = true)]
    pub mouse: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Jsonl,
    Csv,
    // One JSON array of the jsonl rows (`[]` when there are none).
    Json,
}

/// How a command ended: an exit code and, for errors, what to print.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Usage or config error: nothing was sent (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }
    /// A provider error: 3 when the provider cannot be used at all, else 1.
    pub fn provider(e: &ProviderError) -> Self {
        let code = if e.is_unavailable() { 3 } else { 1 };
        Self {
            code,
            message: e.to_string(),
        }
    }

    /// A read that prints no rows when it fails (`rooms`, `members`):
    /// exit 3 whatever the error, as CLI.md says of a lookup that failed
    /// before any row (exit 1 would say some row ended failed).
    pub fn lookup(e: &ProviderError) -> Self {
        Self {
            code: 3,
            message: e.to_string(),
        }
    }
}

impl From<StoreError> for Failure {
    /// A store that cannot be reached is exit 3 (nothing was sent); any
    /// other store problem is a usage or config error.
    fn from(e: StoreError) -> Self {
        Self {
            code: if e.unavailable { 3 } else { 2 },
            message: if e.unavailable {
                format!("{e}; nothing was sent")
            } else {
                e.to_string()
            },
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Self::usage(e.to_string())
    }
}

/// Config and profile, resolved the same way for every face.
pub struct Session {
    pub config: Config,
    pub profile: Profile,
}

impl Session {
    pub fn load(global: &Global) -> Result<Self, Failure> {
        let config = Config::load(global.config.as_deref())?;
        let profile = config.profile(global.profile.as_deref())?.clone();
        Ok(Self { config, profile })
    }

    /// The engine for the chosen profile; `audit` opens the audit store
    /// (and fails, with nothing sent, when it cannot be used).
    pub async fn engine(&self, global: &Global, audit: bool) -> Result<Engine, Failure> {
        let store = if audit {
            Some(open_store(&self.config, global).await?)
        } else {
            None
        };
        self.engine_with(&self.profile, global, store)
    }

    /// The engine for `profile`, writing to `store`.
    pub fn engine_with(
        &self,
        profile: &Profile,
        global: &Global,
        store: Option<Arc<dyn AuditStore>>,
    ) -> Result<Engine, Failure> {
        let provider = provider::build(profile)?;
        let mut engine = Engine::with_store(provider, profile, store);
        engine.set_read_only(global.read_only);
        if let Some(name) = &self.config.team.operator {
            engine.set_operator(name.clone());
        }
        Ok(engine)
    }
}

/// The team store's URL: `--audit-url` (or ROOMWARDEN_AUDIT_URL), else
/// the config's `audit_url`.
pub fn audit_url<'a>(config: &'a Config, global: &'a Global) -> Option<&'a str> {
    global
        .audit_url
        .as_deref()
        .or(config.team.audit_url.as_deref())
        .filter(|u| !u.trim().is_empty())
}

/// The audit store: PostgreSQL when an audit URL is given (connected and
/// migrated before anything is sent), else the JSON Lines file.
pub async fn open_store(config: &Config, global: &Global) -> Result<Arc<dyn AuditStore>, Failure> {
    Ok(match open_team(config, global).await? {
        Some(pg) => pg,
        None => Arc::new(open_audit(global)?),
    })
}

/// The audit store to read: PostgreSQL in team mode, else the JSON Lines
/// file read without opening it for writing (nothing is created).
pub async fn open_reader(config: &Config, global: &Global) -> Result<Arc<dyn AuditStore>, Failure> {
    Ok(match open_team(config, global).await? {
        Some(pg) => pg,
        None => Arc::new(AuditFile::new(audit_path(global)?)),
    })
}

/// The PostgreSQL store, when team mode is configured.
pub async fn open_team(config: &Config, global: &Global) -> Result<Option<Arc<PgStore>>, Failure> {
    let Some(url) = audit_url(config, global) else {
        return Ok(None);
    };
    if global.audit_log.is_some() {
        return Err(Failure::usage(
            "both --audit-log and an audit URL are given; team mode records to the database only: drop one",
        ));
    }
    let from_flag = std::env::var("ROOMWARDEN_AUDIT_URL").ok().as_deref() != Some(url)
        && global.audit_url.as_deref() == Some(url);
    if from_flag && url_has_password(url) {
        return Err(Failure::usage(
            "--audit-url carries a password, which other users can see in the process list; \
             set audit_password_env or audit_password_cmd in the config (or ROOMWARDEN_AUDIT_URL) instead",
        ));
    }
    let spec = PgSpec {
        url: url.to_string(),
        password: config.team.password()?,
        origin: Origin::here(config.team.operator.as_deref()),
    };
    Ok(Some(Arc::new(PgStore::connect(spec).await?)))
}

/// Whether a postgres:// URL has `user:password@`, or a key=value string a
/// `password=`.
fn url_has_password(url: &str) -> bool {
    match url.split_once("://") {
        Some((_, rest)) => rest
            .split(['/', '?'])
            .next()
            .and_then(|auth| auth.rsplit_once('@'))
            .is_some_and(|(userinfo, _)| userinfo.contains(':')),
        None => url.split_whitespace().any(|kv| kv.starts_with("password=")),
    }
}

pub(crate) fn audit_path(global: &Global) -> Result<PathBuf, Failure> {
    global
        .audit_log
        .clone()
        .or_else(audit::default_path)
        .ok_or_else(|| {
            Failure::usage("cannot find a data directory for the audit log; pass --audit-log FILE")
        })
}

fn open_audit(global: &Global) -> Result<AuditLog, Failure> {
    let path = audit_path(global)?;
    AuditLog::open(&path).map_err(|e| {
        Failure::usage(format!(
            "audit log {} cannot be opened for writing: {e}; pass --audit-log FILE",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::url_has_password;

    #[test]
    fn passwords_in_urls_are_seen() {
        assert!(url_has_password("postgres://rw:s3cret@db.example/rw"));
        assert!(url_has_password("host=db password=s3cret"));
        assert!(!url_has_password("postgres://rw@db.example/rw"));
        assert!(!url_has_password(
            "postgres://rw@db.example:5432/rw?sslmode=require"
        ));
        assert!(!url_has_password("postgres://rw@%2Ftmp%2Fx/rw"));
    }
}
