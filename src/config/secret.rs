//! Secrets of a profile: `NAME_env`, `NAME_cmd` or a literal `NAME`, the
//! literal only in a file that group and others cannot read.

use super::{ConfigError, Profile};
use secrecy::SecretString;
use std::process::Command;

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
