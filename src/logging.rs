//! The log filter both faces use: the user's choice (`ROOMWARDEN_LOG`, else
//! the verbosity default), minus the libraries that would log secrets.

use tracing_subscriber::EnvFilter;

/// Targets never logged, whatever the filter says: the WebSocket library
/// traces whole frames, and nandbox's first frame carries the bot token
/// (which the server also echoes back in `TOKEN_AUTH_OK`).
const SILENCED: [&str; 2] = ["tungstenite=off", "tokio_tungstenite=off"];

/// `ROOMWARDEN_LOG` if set, else `default`, with [`SILENCED`] added.
pub fn filter(default: &str) -> EnvFilter {
    let mut filter =
        EnvFilter::try_from_env("ROOMWARDEN_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    for directive in SILENCED {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}
