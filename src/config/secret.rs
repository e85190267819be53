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
/// level for team mode): `base_env`, `base_cmd` or a literal `base`, the
/// literal only when `literal_refused` is `None`. `owner` starts every
/// message.
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
                .ok_or_else(|| key_error(owner, key, "must be a string")),
        }
    };
    if let Some(var) = get(&env_key)? {
        return match std::env::var(&var) {
            Ok(v) if !v.trim().is_empty() => plain(owner, &env_key, v.trim()).map(Some),
            _ => Err(ConfigError::new(format!(
                "{owner}: `{env_key}` names the environment variable {var}, which is not set; \
                 export {var}=... before running roomwarden"
            ))),
        };
    }
    if let Some(cmd) = get(&cmd_key)? {
        let value = run_secret_command(owner, &cmd_key, &cmd)?;
        return plain(owner, &cmd_key, &value).map(Some);
    }
    if table.contains_key(base) {
        let value = get(base)?.unwrap_or_default();
        if let Some(why) = literal_refused {
            return Err(ConfigError::new(format!(
                "{owner}: literal secret `{base}` refused: {why}; or use `{env_key}` / `{cmd_key}` instead"
            )));
        }
        return plain(owner, base, &value).map(Some);
    }
    Ok(None)
}

fn key_error(owner: &str, key: &str, problem: &str) -> ConfigError {
    ConfigError::new(format!("{owner}: key `{key}` {problem}"))
}

/// The secret read from `key`, when it is one line of text: a second
/// line or a control character would fail later as a refused or broken
/// connection, far from its cause. The value is never quoted.
fn plain(owner: &str, key: &str, value: &str) -> Result<SecretString, ConfigError> {
    if value.contains(['\n', '\r']) {
        return Err(key_error(
            owner,
            key,
            "gave more than one line; a secret is one line of text (for a command, print only \
             the secret, e.g. `pass show NAME | head -n 1`)",
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(key_error(
            owner,
            key,
            "gave a secret holding a control character (such as a tab or ESC); check the value",
        ));
    }
    Ok(SecretString::from(value.to_string()))
}

/// Runs a `*_cmd` and returns its output, trimmed. Errors never quote the
/// command nor what it wrote: either may hold the secret.
fn run_secret_command(owner: &str, key: &str, cmd: &str) -> Result<String, ConfigError> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| ConfigError::new(format!("{owner}: `{key}` could not be started: {e}")))?;
    if !out.status.success() {
        return Err(ConfigError::new(format!(
            "{owner}: `{key}` failed ({}); its output is not shown, as it may hold the secret: \
             run the command yourself to see why, then fix it or use another source",
            out.status,
        )));
    }
    let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if value.is_empty() {
        return Err(ConfigError::new(format!(
            "{owner}: `{key}` printed nothing; it must print the secret on stdout"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    fn secret_of(body: &str) -> Result<String, String> {
        use secrecy::ExposeSecret;
        let text = format!("[profiles.p]\nprovider = \"agora\"\n{body}\n");
        let c = Config::parse(&text, Path::new("t.toml"), None).map_err(|e| e.to_string())?;
        let p = c.profile(None).map_err(|e| e.to_string())?;
        match p.secret("token") {
            Ok(s) => Ok(s.map(|s| s.expose_secret().to_string()).unwrap_or_default()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn a_failing_command_shows_neither_its_text_nor_its_stderr() {
        let e = secret_of(
            r#"token_cmd = "echo s3cr3t-in-stderr >&2; echo s3cr3t-cmd >/dev/null; exit 3""#,
        )
        .unwrap_err();
        assert!(!e.contains("s3cr3t"), "{e}");
        assert!(
            e.contains("`token_cmd`") && e.contains("exit status: 3"),
            "{e}"
        );
        let e = secret_of(r#"token_cmd = "true s3cr3t-cmd""#).unwrap_err();
        assert!(
            !e.contains("s3cr3t") && e.contains("printed nothing"),
            "{e}"
        );
    }

    #[test]
    fn a_multi_line_or_control_character_secret_is_a_config_error_naming_the_key() {
        let e = secret_of(r#"token_cmd = "printf 's3cr3t\nsecond line\n'""#).unwrap_err();
        assert!(e.contains("`token_cmd`") && e.contains("one line"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
        let e = secret_of(r#"token_cmd = "printf 's3c\tr3t'""#).unwrap_err();
        assert!(
            e.contains("`token_cmd`") && e.contains("control character"),
            "{e}"
        );
        let e = secret_of("token = \"s3c\\u001br3t\"").unwrap_err();
        assert!(
            e.contains("`token`") && e.contains("control character"),
            "{e}"
        );
        // Surrounding whitespace and a final newline are fine.
        assert_eq!(
            secret_of(r#"token_cmd = "printf ' s3cr3t \n'""#).unwrap(),
            "s3cr3t"
        );
    }
}
