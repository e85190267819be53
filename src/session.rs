//! Session start-up shared by both faces: the global options, config and
//! profile, the provider built through the registry, the audit log, all
//! put together into an [`Engine`]; and how a start-up failure ends.

use crate::config::{Config, ConfigError, Profile};
use crate::ops::Engine;
use crate::ops::audit::{self, AuditLog};
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

    /// The engine for the chosen profile; `audit` opens the audit log.
    pub fn engine(&self, global: &Global, audit: bool) -> Result<Engine, Failure> {
        self.engine_for(&self.profile, global, audit)
    }

    pub fn engine_for(
        &self,
        profile: &Profile,
        global: &Global,
        audit: bool,
    ) -> Result<Engine, Failure> {
        let provider = provider::build(profile)?;
        let log = if audit {
            Some(Arc::new(open_audit(global)?))
        } else {
            None
        };
        let mut engine = Engine::new(provider, profile, log);
        engine.set_read_only(global.read_only);
        Ok(engine)
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
