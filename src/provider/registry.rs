//! The registry: every adapter declares its name, its profile keys (typed,
//! with their docs) and its builder in its own module; this list names
//! them once. Config looks providers and keys up here.

use super::{Provider, agora, amity, sandbox, symphony};
use crate::config::{ConfigError, Profile};
use std::sync::Arc;

/// What a profile key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Str,
    Bool,
    /// A whole number >= 0.
    Int,
    Float,
    StrList,
    /// A secret: `name` (a literal, private files only), `name_env` or `name_cmd`.
    Secret,
}

/// One profile key a provider reads besides the common ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub name: &'static str,
    pub kind: KeyKind,
    pub doc: &'static str,
}

impl KeySpec {
    pub const fn new(name: &'static str, kind: KeyKind, doc: &'static str) -> Self {
        Self { name, kind, doc }
    }
    pub const fn str(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, KeyKind::Str, doc)
    }
    pub const fn bool(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, KeyKind::Bool, doc)
    }
    pub const fn int(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, KeyKind::Int, doc)
    }
    pub const fn float(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, KeyKind::Float, doc)
    }
    pub const fn list(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, KeyKind::StrList, doc)
    }
    pub const fn secret(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, KeyKind::Secret, doc)
    }

    /// Whether a key written in a profile is this one (a secret also
    /// answers to `_env` and `_cmd`).
    pub fn matches(&self, key: &str) -> bool {
        match self.kind {
            KeyKind::Secret => {
                key == self.name
                    || key
                        .strip_prefix(self.name)
                        .is_some_and(|rest| rest == "_env" || rest == "_cmd")
            }
            _ => key == self.name,
        }
    }

    /// How the key is written, for error messages (`token[_env|_cmd]`).
    pub fn spelling(&self) -> String {
        match self.kind {
            KeyKind::Secret => format!("{}[_env|_cmd]", self.name),
            _ => self.name.to_string(),
        }
    }
}

/// One provider: its name, its keys and how to build it from a profile.
pub struct ProviderSpec {
    pub name: &'static str,
    pub keys: &'static [KeySpec],
    pub build: fn(&Profile) -> Result<Arc<dyn Provider>, ConfigError>,
}

/// Every provider built into roomwarden; one line per adapter.
static SPECS: &[&ProviderSpec] = &[
    &sandbox::SPEC,
    &agora::SPEC,
    &symphony::SPEC,
    &super::imkit::SPEC,
    &super::nandbox::SPEC,
    &amity::SPEC,
];

pub fn specs() -> &'static [&'static ProviderSpec] {
    SPECS
}

/// The provider called `name`.
pub fn spec(name: &str) -> Option<&'static ProviderSpec> {
    SPECS.iter().copied().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_keys_do_not_shadow_each_other() {
        let mut names: Vec<&str> = specs().iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), specs().len());
        for s in specs() {
            for k in s.keys {
                assert_eq!(s.keys.iter().filter(|o| o.name == k.name).count(), 1);
                assert!(!k.doc.is_empty(), "{}.{} has no doc", s.name, k.name);
            }
        }
        assert!(KeySpec::secret("token", "t").matches("token_cmd"));
        assert!(!KeySpec::secret("token", "t").matches("token_url"));
    }
}
