//! What every HTTP adapter shares: the client (rustls only), timeouts and
//! the mapping of transport failures and HTTP statuses onto [`ErrorKind`].

mod credentials;

pub use credentials::{Credentials, Fresh, ProfileSecret, Source};

use super::{ErrorKind, ProviderError, parse_retry_after};
use crate::config::{ConfigError, Profile};
use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::error::Error as _;
use std::time::Duration;

/// Default per-request timeout when the profile sets no `timeout_secs`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A client for one profile: its timeout, a user agent, no cookies.
pub fn client(profile: &Profile) -> Result<reqwest::Client, ConfigError> {
    let timeout = profile
        .common
        .timeout_secs
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("roomwarden/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            ConfigError::new(format!(
                "profile `{}`: cannot build the HTTP client: {e}",
                profile.name
            ))
        })
}

/// The profile's `base_url` without a trailing slash, or the provider's default.
pub fn base_url(profile: &Profile, default: Option<&str>) -> Result<String, ConfigError> {
    let url = match (&profile.common.base_url, default) {
        (Some(u), _) => u.clone(),
        (None, Some(d)) => d.to_string(),
        (None, None) => {
            return Err(ConfigError::new(format!(
                "profile `{}` (provider {}) needs `base_url`, e.g. base_url = \"https://...\"",
                profile.name, profile.provider
            )));
        }
    };
    Ok(url.trim_end_matches('/').to_string())
}

/// Why an id cannot be a path segment, if it cannot: empty, `.` or `..`
/// (URL libraries fold dot segments, even percent-encoded, so `..` would
/// climb to another endpoint), or holding control characters.
pub fn segment_problem(id: &str) -> Option<String> {
    crate::model::id_problem(id)
}

/// Percent-encodes one path segment (everything but unreserved characters),
/// refusing ids that could escape it ([`segment_problem`]).
pub fn segment(provider: &'static str, op: &str, id: &str) -> Result<String, ProviderError> {
    if let Some(why) = segment_problem(id) {
        return Err(ProviderError::new(
            provider,
            op,
            ErrorKind::BadRequest,
            format!("id `{}` refused: {why}", crate::text::escape(id)),
        ));
    }
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    Ok(out)
}

/// A path (`/a/b/c`) built from segments, each encoded and checked by
/// [`segment`]. Every adapter builds every path through it.
pub fn path(provider: &'static str, op: &str, segments: &[&str]) -> Result<String, ProviderError> {
    let mut out = String::new();
    for s in segments {
        out.push('/');
        out.push_str(&segment(provider, op, s)?);
    }
    Ok(out)
}

/// The host part of a URL, for headers and logs (a text that is not a
/// URL as written, with any password hidden).
pub fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(match u.port() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            })
        })
        .unwrap_or_else(|| crate::config::shown_url(url))
}

/// Maps a failure to send or read a request. The message never carries
/// the URL's query or any header (where a secret could be).
pub fn transport_error(provider: &'static str, op: &str, err: &reqwest::Error) -> ProviderError {
    let kind = if err.is_timeout() {
        ErrorKind::Timeout
    } else if err.is_decode() || err.is_body() {
        ErrorKind::Server {
            status: err.status().map(|s| s.as_u16()).unwrap_or(502),
        }
    } else {
        ErrorKind::Connection
    };
    // The innermost cause names the problem without the URL.
    let mut source: Option<&dyn std::error::Error> = err.source();
    let mut root = String::from("request failed");
    while let Some(s) = source {
        root = s.to_string();
        source = s.source();
    }
    let detail = match kind {
        ErrorKind::Timeout => "no answer in time".to_string(),
        ErrorKind::Connection => format!("cannot connect: {root}"),
        _ => format!("unreadable answer: {root}"),
    };
    ProviderError::new(provider, op, kind, detail)
}

/// A whole HTTP answer: status, `Retry-After` hint and body.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends a request and reads the whole answer; a failure to send or to
/// read maps onto [`transport_error`].
pub async fn send(
    provider: &'static str,
    op: &str,
    req: reqwest::RequestBuilder,
) -> Result<Answer, ProviderError> {
    let resp = req
        .send()
        .await
        .map_err(|e| transport_error(provider, op, &e))?;
    let status = resp.status().as_u16();
    let retry_after = retry_after(resp.headers());
    let body = resp
        .bytes()
        .await
        .map_err(|e| transport_error(provider, op, &e))?
        .to_vec();
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// One request: what it is called in messages, where it goes, what it carries.
pub struct Call<'a> {
    pub op: &'a str,
    pub method: Method,
    pub url: String,
    pub query: &'a [(&'a str, String)],
    pub body: Option<&'a serde_json::Value>,
    /// Headers this request carries besides the credentials.
    pub headers: &'a [(HeaderName, HeaderValue)],
}

/// The one request loop: sends `call` with the current credential, asking
/// for JSON; on a 401 has the credential renewed once and sends again; an
/// answer that is not a success maps through `error` (the adapter's reading
/// of its error bodies). Transport failures map onto [`transport_error`].
pub async fn request(
    http: &reqwest::Client,
    provider: &'static str,
    creds: &Credentials,
    call: Call<'_>,
    error: impl Fn(&str, &Answer) -> ProviderError,
) -> Result<Answer, ProviderError> {
    request_with(http, provider, creds, call, |a| a.status == 401, error).await
}

/// [`request`] for a provider that may refuse credentials in a success
/// answer too (`refused` tells): the credential is renewed once either way,
/// and a refusal on a 2xx still left after that is returned as an answer
/// for the adapter to read.
pub async fn request_with(
    http: &reqwest::Client,
    provider: &'static str,
    creds: &Credentials,
    call: Call<'_>,
    refused: impl Fn(&Answer) -> bool,
    error: impl Fn(&str, &Answer) -> ProviderError,
) -> Result<Answer, ProviderError> {
    let mut renewed = false;
    loop {
        let issued = creds.current(http, call.op).await?;
        let mut req = http
            .request(call.method.clone(), &call.url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        for (name, value) in issued.fresh.headers.iter().chain(call.headers) {
            req = req.header(name, value);
        }
        if !call.query.is_empty() {
            req = req.query(call.query);
        }
        if let Some(b) = call.body {
            req = req.json(b);
        }
        let answer = send(provider, call.op, req).await?;
        let refusal = refused(&answer);
        if answer.is_success() && !refusal {
            return Ok(answer);
        }
        if refusal && !renewed {
            renewed = true;
            tracing::info!(
                "{provider} {}: credentials refused ({}), renewing them",
                call.op,
                answer.status
            );
            if creds.refused(http, call.op, issued.generation).await? {
                continue;
            }
        }
        if answer.is_success() {
            return Ok(answer);
        }
        return Err(error(call.op, &answer));
    }
}

/// Decodes a JSON success body; an unreadable one is a server fault.
pub fn decode<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    op: &str,
    body: &[u8],
) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|e| {
        ProviderError::new(
            provider,
            op,
            ErrorKind::Server { status: 502 },
            format!("unreadable answer: {e}"),
        )
    })
}

/// The `Retry-After` hint of a response, if any.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

/// The kind an HTTP error status means, before provider-specific refinement.
pub fn status_kind(status: u16, retry_after: Option<Duration>) -> ErrorKind {
    match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited { retry_after },
        500..=599 => ErrorKind::Server { status },
        _ => ErrorKind::BadRequest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(status_kind(401, None), ErrorKind::Auth);
        assert_eq!(
            status_kind(429, Some(Duration::from_secs(2))),
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(2))
            }
        );
        assert_eq!(status_kind(503, None), ErrorKind::Server { status: 503 });
        assert_eq!(status_kind(400, None), ErrorKind::BadRequest);
        assert_eq!(host_of("https://a1.easemob.com/org/app"), "a1.easemob.com");
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1:8080");
        // Not a URL: shown as written, but never with its password.
        assert_eq!(
            host_of("https://u:pw@bad host/x"),
            "https://u:***@bad host/x"
        );
    }

    #[test]
    fn paths_never_hold_dot_segments_or_control_characters() {
        assert_eq!(
            path("t", "op", &["chatrooms", "r 1", "users", "a,b"]).unwrap(),
            "/chatrooms/r%201/users/a%2Cb"
        );
        for bad in ["", ".", "..", "a\u{1b}[2J", "a\nb"] {
            let e = path("t", "op", &["chatrooms", bad]).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadRequest, "{bad:?}");
        }
        assert_eq!(segment("t", "op", "...").unwrap(), "...");
    }
}
