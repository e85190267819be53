//! Styles. The colours come from a theme (`assets/themes/*.toml`, chosen
//! per profile with `theme`); with NO_COLOR every style is a modifier only:
//! state is never shown by colour alone (cursor reversed, marks bold in a
//! `[x]` gutter, failures underlined).

use crate::tui::state::parse_color;
use ratatui::style::{Color, Modifier, Style};
use std::sync::OnceLock;

/// A theme's colours, read from its file.
#[derive(Clone, Debug, PartialEq)]
pub struct Palette {
    pub name: &'static str,
    /// Accent colours for profiles that configure none.
    pub accents: Vec<Color>,
    pub badge_fg: Color,
    pub read_only_fg: Color,
    pub read_only_bg: Color,
    pub header: Color,
    pub marked: Color,
    pub success: Color,
    pub failure: Color,
    pub dim: Color,
    pub warn: Color,
    pub error: Color,
    pub calls: Color,
    pub retries: Color,
}

const COLOR_KEYS: [&str; 12] = [
    "badge_fg",
    "read_only_fg",
    "read_only_bg",
    "header",
    "marked",
    "success",
    "failure",
    "dim",
    "warn",
    "error",
    "calls",
    "retries",
];

impl Palette {
    /// Reads a theme file: `accents = [...]` and a `[colors]` table with
    /// every key of [`COLOR_KEYS`], each written as a profile's `accent`.
    pub fn parse(name: &'static str, text: &str) -> Result<Self, String> {
        let at = format!("theme `{name}`");
        let mut root: toml::Table =
            toml::from_str(text).map_err(|e| format!("{at} is not valid TOML: {}", e.message()))?;
        let color = |key: &str, v: &toml::Value| {
            v.as_str().and_then(parse_color).ok_or_else(|| {
                format!("{at}: `{key}` must be a colour name or \"#rrggbb\", got {v}")
            })
        };
        let accents = match root.remove("accents") {
            Some(toml::Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|v| color("accents", v))
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(format!("{at}: `accents` must be a list of colours")),
        };
        let Some(toml::Value::Table(mut colors)) = root.remove("colors") else {
            return Err(format!("{at}: needs a [colors] table"));
        };
        if let Some(k) = root
            .keys()
            .next()
            .or(colors.keys().find(|k| !COLOR_KEYS.contains(&k.as_str())))
        {
            return Err(format!("{at}: unknown key `{k}`"));
        }
        let mut take = |key: &str| {
            let v = colors
                .remove(key)
                .ok_or_else(|| format!("{at}: [colors] needs `{key}`"))?;
            color(key, &v)
        };
        Ok(Self {
            name,
            accents,
            badge_fg: take("badge_fg")?,
            read_only_fg: take("read_only_fg")?,
            read_only_bg: take("read_only_bg")?,
            header: take("header")?,
            marked: take("marked")?,
            success: take("success")?,
            failure: take("failure")?,
            dim: take("dim")?,
            warn: take("warn")?,
            error: take("error")?,
            calls: take("calls")?,
            retries: take("retries")?,
        })
    }

    /// An embedded theme by name; the default (`dark`) for a name that is
    /// none (the config refuses those before the console starts).
    pub fn named(name: &str) -> &'static Palette {
        static ALL: OnceLock<Vec<Palette>> = OnceLock::new();
        let all = ALL.get_or_init(|| {
            crate::assets::THEMES
                .iter()
                .map(|(n, text)| {
                    Palette::parse(n, text)
                        .unwrap_or_else(|e| panic!("an embedded theme is invalid: {e}"))
                })
                .collect()
        });
        all.iter().find(|p| p.name == name).unwrap_or(&all[0])
    }

    /// The theme `name` whose file reads `text`: an embedded theme, or the
    /// user's own, parsed once per name for the life of the process (a
    /// console switches among a few).
    pub fn resolve(name: &str, text: &str) -> Result<&'static Palette, String> {
        if crate::assets::theme(name).is_some() {
            return Ok(Self::named(name));
        }
        static USER: std::sync::Mutex<Vec<&'static Palette>> = std::sync::Mutex::new(Vec::new());
        let mut user = USER.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = user.iter().find(|p| p.name == name) {
            return Ok(p);
        }
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        let palette: &'static Palette = Box::leak(Box::new(Self::parse(name, text)?));
        user.push(palette);
        Ok(palette)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub no_color: bool,
    pub accent: Color,
    pub palette: &'static Palette,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.no_color {
            Style::new()
        } else {
            Style::new().fg(c)
        }
    }

    /// The header bar's profile badge.
    pub fn badge(&self) -> Style {
        if self.no_color {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
                .bg(self.accent)
                .fg(self.palette.badge_fg)
                .add_modifier(Modifier::BOLD)
        }
    }

    pub fn read_only(&self) -> Style {
        if self.no_color {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
                .bg(self.palette.read_only_bg)
                .fg(self.palette.read_only_fg)
                .add_modifier(Modifier::BOLD)
        }
    }

    pub fn title(&self) -> Style {
        self.fg(self.accent).add_modifier(Modifier::BOLD)
    }

    pub fn border(&self) -> Style {
        self.fg(self.accent)
    }

    pub fn cursor(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn marked(&self) -> Style {
        self.fg(self.palette.marked).add_modifier(Modifier::BOLD)
    }

    pub fn failure(&self) -> Style {
        self.fg(self.palette.failure)
            .add_modifier(Modifier::UNDERLINED)
    }

    pub fn success(&self) -> Style {
        self.fg(self.palette.success)
    }

    pub fn dim(&self) -> Style {
        self.fg(self.palette.dim)
    }

    pub fn key(&self) -> Style {
        self.fg(self.accent).add_modifier(Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.fg(self.palette.error).add_modifier(Modifier::BOLD)
    }

    pub fn warn(&self) -> Style {
        self.fg(self.palette.warn).add_modifier(Modifier::BOLD)
    }

    pub fn header(&self) -> Style {
        self.fg(self.palette.header).add_modifier(Modifier::BOLD)
    }

    /// The calls-per-second sparkline.
    pub fn calls(&self) -> Style {
        self.fg(self.palette.calls)
    }

    /// The retries sparkline.
    pub fn retries(&self) -> Style {
        self.fg(self.palette.retries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_theme_parses_and_dark_is_the_look_before() {
        for (name, _) in crate::assets::THEMES {
            assert_eq!(Palette::named(name).name, *name);
        }
        let dark = Palette::named("dark");
        assert_eq!(
            dark.accents,
            [
                Color::Cyan,
                Color::Magenta,
                Color::Green,
                Color::Yellow,
                Color::Blue,
                Color::LightRed
            ]
        );
        let before = [
            (dark.badge_fg, Color::Black),
            (dark.read_only_fg, Color::White),
            (dark.read_only_bg, Color::Red),
            (dark.header, Color::Cyan),
            (dark.marked, Color::Yellow),
            (dark.success, Color::Green),
            (dark.failure, Color::Red),
            (dark.dim, Color::DarkGray),
            (dark.warn, Color::Yellow),
            (dark.error, Color::Red),
        ];
        for (now, was) in before {
            assert_eq!(now, was);
        }
        assert_eq!(Palette::named("nonesuch").name, "dark");
    }

    #[test]
    fn a_bad_theme_file_is_named_with_its_key() {
        let dark = crate::assets::theme("dark").unwrap();
        for (text, needle) in [
            (
                dark.replace("marked = \"yellow\"", "marked = \"mauve\""),
                "`marked`",
            ),
            (dark.replace("marked = \"yellow\"", ""), "needs `marked`"),
            (
                dark.replace("[colors]", "[colors]\nsparkle = \"red\""),
                "unknown key `sparkle`",
            ),
            ("accents = []\n".to_string(), "`accents`"),
        ] {
            let e = Palette::parse("t", &text).unwrap_err();
            assert!(e.contains("theme `t`") && e.contains(needle), "{e}");
        }
    }
}
