//! The `theme` key: one of the embedded themes (`assets/themes/`), or a
//! theme of the user's own, `NAME.toml` in the `themes/` directory beside
//! the config file, written in the same format as the embedded ones.

use super::ConfigError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Value;

/// The largest theme file read (64 KiB; the embedded ones are under 2).
const MAX_THEME_BYTES: u64 = 64 << 10;

/// Where a config file's own themes are: `themes/` beside it.
pub fn dir_for(config: &Path) -> PathBuf {
    config
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("themes")
}

/// What may name a user theme: letters, digits, `-` and `_` (a file name,
/// never a path).
fn user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A `theme` value as written: an embedded theme, or a name a user theme
/// may have (its file is looked for by [`load`]). `key` names where it is.
pub(crate) fn theme_name(v: &Value, key: &str) -> Result<String, ConfigError> {
    let names = crate::assets::theme_names();
    match v.as_str() {
        Some(name) if crate::assets::theme(name).is_some() || user_name(name) => {
            Ok(name.to_string())
        }
        Some(name) => Err(ConfigError::new(format!(
            "{key} = \"{}\" is not a theme; use one of {names}, or the name of a file in the themes directory (letters, digits, - and _)",
            crate::text::escape(name)
        ))),
        None => Err(ConfigError::new(format!(
            "{key} must be a theme name, one of {names}"
        ))),
    }
}

/// Reads the user themes that `wanted` (where each was named, the name)
/// asks for from `dir`. A name that is neither embedded nor a readable
/// file there is an error naming the key, the value, the themes and the
/// file looked for.
pub(super) fn load(
    wanted: &[(String, &str)],
    dir: &Path,
) -> Result<BTreeMap<String, Arc<str>>, ConfigError> {
    let mut found = BTreeMap::new();
    for (key, name) in wanted {
        if crate::assets::theme(name).is_some() || found.contains_key(*name) {
            continue;
        }
        let file = dir.join(format!("{name}.toml"));
        if !file.is_file() {
            return Err(ConfigError::new(format!(
                "{key} = \"{name}\" is not a theme; use one of {}, or write your own to {} (the format of assets/themes/dark.toml; `roomwarden paths` shows the themes directory)",
                crate::assets::theme_names(),
                file.display()
            )));
        }
        let text = super::read_capped(&file, MAX_THEME_BYTES).map_err(|why| {
            ConfigError::new(format!(
                "{key} = \"{name}\": theme file {} cannot be read: {why}",
                file.display()
            ))
        })?;
        found.insert(name.to_string(), Arc::from(text));
    }
    Ok(found)
}
