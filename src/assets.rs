//! The data files under `assets/` that the binary embeds: the default key
//! bindings, the colour themes and the sandbox world. Each is read by the
//! parser of what users write (the config's `[keys]`, `theme`), so the
//! shipped defaults are in the same format. This module imports nothing.

/// The default key bindings, a `[keys]` table (`assets/keys.toml`).
pub const KEYS: &str = include_str!("../assets/keys.toml");

/// The colour themes by name (`assets/themes/NAME.toml`); the first is the
/// default.
pub const THEMES: &[(&str, &str)] = &[
    ("dark", include_str!("../assets/themes/dark.toml")),
    ("light", include_str!("../assets/themes/light.toml")),
    (
        "high-contrast",
        include_str!("../assets/themes/high-contrast.toml"),
    ),
];

/// The theme used when the config names none.
pub const DEFAULT_THEME: &str = "dark";

/// The sandbox provider's generated world (`assets/sandbox.toml`).
pub const SANDBOX: &str = include_str!("../assets/sandbox.toml");

/// The theme names, in order, for messages ("dark, light, high-contrast").
pub fn theme_names() -> String {
    THEMES
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A theme's file text by name.
pub fn theme(name: &str) -> Option<&'static str> {
    THEMES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
