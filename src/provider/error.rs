//! One error type for every adapter: what a retry can fix and what it cannot.

use std::fmt;
use std::time::Duration;

/// What went wrong, in the terms the engine acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The provider asked us to slow down (HTTP 429 or its equivalent).
    RateLimited { retry_after: Option<Duration> },
    /// No answer in time.
    Timeout,
    /// The provider failed (HTTP 5xx).
    Server { status: u16 },
    /// The connection failed or was reset.
    Connection,
    /// Credentials were refused.
    Auth,
    /// The credentials are fine but lack the right for this call.
    Forbidden,
    /// The room or user does not exist.
    NotFound,
    /// The provider refused the request as malformed or not allowed.
    BadRequest,
    /// The provider cannot do this at all.
    Unsupported,
}

impl ErrorKind {
    fn describe(&self) -> String {
        match self {
            ErrorKind::RateLimited {
                retry_after: Some(d),
            } => {
                format!("rate limited (retry after {:.1}s)", d.as_secs_f64())
            }
            ErrorKind::RateLimited { retry_after: None } => "rate limited".into(),
            ErrorKind::Timeout => "timed out".into(),
            ErrorKind::Server { status } => format!("server error {status}"),
            ErrorKind::Connection => "connection failed".into(),
            ErrorKind::Auth => "authentication refused".into(),
            ErrorKind::Forbidden => "forbidden".into(),
            ErrorKind::NotFound => "not found".into(),
            ErrorKind::BadRequest => "bad request".into(),
            ErrorKind::Unsupported => "not supported".into(),
        }
    }
}

/// An error from one provider call. The message names the provider, the
/// operation and the provider's own code and text; it never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ProviderError {
    pub provider: &'static str,
    /// The operation or endpoint, e.g. `DELETE /chatrooms/{id}/users`.
    pub operation: String,
    pub kind: ErrorKind,
    /// The provider's own error code (`reach_limit`, `401`, ...).
    pub code: Option<String>,
    /// The provider's own error text.
    pub message: String,
}

impl ProviderError {
    pub fn new(
        provider: &'static str,
        operation: impl Into<String>,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Self {
            provider,
            operation: operation.into(),
            kind,
            code: None,
            message: message.into(),
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// True for errors a later attempt may not hit: rate limits, timeouts,
    /// 5xx and dropped connections.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::RateLimited { .. }
                | ErrorKind::Timeout
                | ErrorKind::Server { .. }
                | ErrorKind::Connection
        )
    }

    /// The provider's hint of how long to wait, where it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            ErrorKind::RateLimited { retry_after } => retry_after,
            _ => None,
        }
    }

    /// Errors after which the provider may have acted on the request even
    /// though no answer said so: a timeout, a dropped connection, a 5xx.
    pub fn may_have_acted(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Timeout | ErrorKind::Server { .. } | ErrorKind::Connection
        )
    }

    /// Errors that mean the provider cannot be used at all (exit code 3).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Auth | ErrorKind::Connection | ErrorKind::Timeout
        )
    }

    /// The provider's own words, for a result row's `reason`.
    pub fn reason(&self) -> String {
        match &self.code {
            Some(code) if !self.message.is_empty() => format!("{code}: {}", self.message),
            Some(code) => code.clone(),
            None if self.message.is_empty() => self.kind.describe(),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.provider,
            self.operation,
            self.kind.describe()
        )?;
        match (&self.code, self.message.is_empty()) {
            (Some(code), false) => write!(f, " ({code}: {})", self.message),
            (Some(code), true) => write!(f, " ({code})"),
            (None, false) => write!(f, " ({})", self.message),
            (None, true) => Ok(()),
        }
    }
}

/// Parses an HTTP `Retry-After` value: delay seconds or an HTTP date. A
/// number too large to represent reads as [`Duration::MAX`] (past any cap),
/// never as a panic.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_nan() || secs < 0.0 {
            return None;
        }
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_and_final_kinds_are_separated() {
        let e = |k| ProviderError::new("agora", "GET /chatrooms", k, "x");
        assert!(e(ErrorKind::RateLimited { retry_after: None }).is_retryable());
        assert!(e(ErrorKind::Server { status: 503 }).is_retryable());
        assert!(e(ErrorKind::Timeout).is_retryable());
        assert!(e(ErrorKind::Connection).is_retryable());
        for k in [
            ErrorKind::Auth,
            ErrorKind::Forbidden,
            ErrorKind::NotFound,
            ErrorKind::BadRequest,
        ] {
            assert!(!e(k).is_retryable());
        }
    }

    #[test]
    fn message_names_provider_operation_and_code() {
        let err = ProviderError::new(
            "agora",
            "DELETE /chatrooms/1/users",
            ErrorKind::BadRequest,
            "users [u9] are not members of this group!",
        )
        .with_code("forbidden_op");
        assert_eq!(
            err.to_string(),
            "agora DELETE /chatrooms/1/users: bad request (forbidden_op: users [u9] are not members of this group!)"
        );
        assert_eq!(
            err.reason(),
            "forbidden_op: users [u9] are not members of this group!"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        // Huge numbers never panic: they read as "longer than any cap".
        assert!(parse_retry_after("1e19") >= Some(Duration::from_secs(10u64.pow(18))));
        for huge in ["1e20", "18446744073709551616", "inf", "1e308"] {
            assert_eq!(parse_retry_after(huge), Some(Duration::MAX), "{huge}");
        }
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("NaN"), None);
    }
}
