//! Secrets of a profile: `NAME_env`, `NAME_cmd` or a literal `NAME`, the
//! literal only in a file that group and others cannot read.

use super::{ConfigError, Profile};
use secrecy::SecretString;
use std::process::Command;
use toml::Table;

impl Profile {
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
        resolve(
            &format!("profile `{}`", self.name),
            &self.table,
            self.literal_refused.as_deref(),
            base,
        )
    }
}

/// Resolves the secret `base` of a table (a profile, or the file's top
/// level): `base_env`, `base_cmd` or a literal `base`, the literal only
/// when `literal_refused` is `None`. `owner` starts every message.
pub(super) fn resolve(
    owner: &str,
    table: &Table,
    literal_refused: Option<&str>,
    base: &str,
) -> Result<Option<SecretString>, ConfigError> {
    let env_key = format!("{base}_env");
    let cmd_key = format!("{base}_cmd");
    let set: Vec<&str> = [base, env_key.as_str(), cmd_key.as_str()]
        .into_iter()
        .filter(|k| table.contains_key(*k))
        .collect();
    if set.len() > 1 {
        return Err(ConfigError::new(format!(
            "{owner}: set only one of {}; they name the same secret",
            set.join(", ")
        )));
    }
    let get = |key: &str| -> Result<Option<String>, ConfigError> {
        match table.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| ConfigError::new(format!("{owner}: key `{key}` must be a string"))),
        }
    };
    if let Some(var) = get(&env_key)? {
        return match std::env::var(&var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(SecretString::from(v.trim().to_string()))),
            _ => Err(ConfigError::new(format!(
                "{owner}: `{env_key}` names the environment variable {var}, which is not set; \
                 export {var}=... before running roomwarden"
            ))),
        };
    }
    if let Some(cmd) = get(&cmd_key)? {
        return run_secret_command(owner, &cmd_key, &cmd).map(Some);
    }
    if table.contains_key(base) {
        let value = get(base)?.unwrap_or_default();
        if let Some(why) = literal_refused {
            return Err(ConfigError::new(format!(
                "{owner}: literal secret `{base}` refused: {why}; or use `{env_key}` / `{cmd_key}` instead"
            )));
        }
        return Ok(Some(SecretString::from(value)));
    }
    Ok(None)
}

fn run_secret_command(owner: &str, key: &str, cmd: &str) -> Result<SecretString, ConfigError> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| ConfigError::new(format!("{owner}: `{key}` could not be started: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        return Err(ConfigError::new(format!(
            "{owner}: `{key}` command `{cmd}` failed ({}){}{first}; fix the command or use another source",
            out.status,
            if first.is_empty() { "" } else { ": " },
        )));
    }
    let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if value.is_empty() {
        return Err(ConfigError::new(format!(
            "{owner}: `{key}` command `{cmd}` printed nothing; it must print the secret on stdout"
        )));
    }
    Ok(SecretString::from(value))
}
