//! Team mode: the top-level keys that point roomwarden at a shared
//! PostgreSQL store (`audit_url`, `audit_password[_env|_cmd]`) and name
//! the person at the keyboard (`operator`).

use super::ConfigError;
use secrecy::SecretString;
use toml::{Table, Value};

/// The top-level keys this module reads.
pub const KEYS: &[&str] = &[
    "audit_url",
    "audit_password",
    "audit_password_env",
    "audit_password_cmd",
    "operator",
    "queue_lease_secs",
];

/// Team settings from the config file's top level.
#[derive(Clone, Debug, Default)]
pub struct Team {
    /// `postgres://user@host:port/db`: the shared audit store and queue.
    pub audit_url: Option<String>,
    /// The name audit records are signed with (else the OS user).
    pub operator: Option<String>,
    /// How long a claimed queue row stays a worker's without a heartbeat.
    pub queue_lease_secs: Option<u64>,
    secrets: Table,
    literal_refused: Option<String>,
}

impl Team {
    /// Takes the team keys out of the file's top level.
    pub(super) fn take(
        root: &mut Table,
        at: &str,
        literal_refused: Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut text = |key: &str| -> Result<Option<String>, ConfigError> {
            match root.remove(key) {
                None => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s)),
                Some(_) => Err(ConfigError::new(format!(
                    "config file {at}: `{key}` must be a non-empty string"
                ))),
            }
        };
        let audit_url = text("audit_url")?;
        let operator = text("operator")?;
        let queue_lease_secs = match root.remove("queue_lease_secs") {
            None => None,
            Some(Value::Integer(n)) if (1..=86_400).contains(&n) => u64::try_from(n).ok(),
            Some(_) => {
                return Err(ConfigError::new(format!(
                    "config file {at}: `queue_lease_secs` must be a whole number of seconds from 1 to 86400"
                )));
            }
        };
        let mut secrets = Table::new();
        for key in ["audit_password", "audit_password_env", "audit_password_cmd"] {
            if let Some(v) = root.remove(key) {
                secrets.insert(key.to_string(), v);
            }
        }
        if audit_url.is_none() && !secrets.is_empty() {
            return Err(ConfigError::new(format!(
                "config file {at}: an audit password is set but no `audit_url`; add audit_url = \"postgres://user@host/db\""
            )));
        }
        Ok(Self {
            audit_url,
            operator,
            queue_lease_secs,
            secrets,
            literal_refused,
        })
    }

    /// The database password, from `audit_password_env`, `_cmd` or a
    /// literal (only in a private file). `None` when none is set.
    pub fn password(&self) -> Result<Option<SecretString>, ConfigError> {
        super::secret::resolve(
            "config (team mode)",
            &self.secrets,
            self.literal_refused.as_deref(),
            "audit_password",
        )
    }
}
