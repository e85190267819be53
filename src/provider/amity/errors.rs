//! Amity's error envelope `{status, code, message, data}` mapped onto
//! [`ProviderError`], and the codes the adapter acts on.

use super::NAME;
use super::wire::ErrorBody;
use crate::provider::http::status_kind;
use crate::provider::{ErrorKind, ProviderError};
use std::time::Duration;

/// 401 "Unauthorized": a bad or expired token (the TS SDK's "token terminated").
pub(super) const UNAUTHORIZED: &str = "400100";
/// "RateLimit Exceed." (paired with HTTP 429 in the spec).
pub(super) const RATE_LIMITED: &str = "400311";
/// A gateway-level rate limit (one Web UIKit constant file).
pub(super) const GATEWAY_RATE_LIMITED: &str = "429000";
/// "User is banned from a channel / community."
pub(super) const BANNED: &str = "400304";
/// Channel, user or resource not found.
pub(super) const NOT_FOUND: &str = "400400";
/// USER_IS_LAST_MODERATOR: the change would leave no moderator.
pub(super) const LAST_MODERATOR: &str = "400317";
/// USER_IS_LAST_MEMBER.
pub(super) const LAST_MEMBER: &str = "400318";
/// The wait after a rate limit that carries no `Retry-After` (none is
/// documented): "back off ≥5 s" [I], the length of the quota's window.
pub(super) const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(5);
/// "Unexpected error", but also "Parameters error." for a 422 validation
/// failure [V]: told apart by the message.
pub(super) const SERVER_OR_PARAMETERS: &str = "500000";

/// Whether a 500000 answer is the validation failure ("Parameters error."):
/// a request the server refused as malformed, final and not acted on.
fn is_parameters_error(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.to_ascii_lowercase().contains("parameters error"))
}

/// An error answer: the kind from the status, refined by the code (a rate
/// limit is one whatever status carries it, and waits the `Retry-After`
/// sent or [`RATE_LIMIT_BACKOFF`]; 400100 is an auth failure; 500000
/// "Parameters error." a bad request), the provider's code and message.
pub(super) fn from_response(
    op: &str,
    status: u16,
    hint: Option<Duration>,
    body: &[u8],
) -> ProviderError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let details = parsed.details();
    let code = parsed.code.and_then(|c| match c {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    });
    // A rate limit waits what the header says (even 0), else 5 s.
    let hint = Some(hint.unwrap_or(RATE_LIMIT_BACKOFF));
    let mut kind = status_kind(status, hint);
    match code.as_deref() {
        Some(RATE_LIMITED | GATEWAY_RATE_LIMITED) => {
            kind = ErrorKind::RateLimited { retry_after: hint };
        }
        Some(UNAUTHORIZED) => kind = ErrorKind::Auth,
        Some(SERVER_OR_PARAMETERS) if is_parameters_error(parsed.message.as_deref()) => {
            kind = ErrorKind::BadRequest;
        }
        _ => {}
    }
    let mut message = parsed
        .message
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("HTTP {status}"));
    if !details.is_empty() {
        message = format!("{message} ({})", details.join("; "));
    }
    ProviderError::new(NAME, op, kind, message)
        .with_code(code.unwrap_or_else(|| status.to_string()))
}

pub(super) fn has_code(e: &ProviderError, code: &str) -> bool {
    e.code.as_deref() == Some(code)
}

/// A 404 about a user (not the channel or room): "User Not Found.".
pub(super) fn is_user_not_found(e: &ProviderError) -> bool {
    e.kind == ErrorKind::NotFound && e.message.to_ascii_lowercase().contains("user")
}

/// Whole-call refusals that change nothing and are about some of the
/// users sent, without naming them: the adapter splits the batch until
/// each refusal falls on one user.
pub(super) fn is_per_user_refusal(e: &ProviderError) -> bool {
    has_code(e, LAST_MODERATOR)
        || has_code(e, LAST_MEMBER)
        || has_code(e, BANNED)
        || is_user_not_found(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_maps_to_kind_code_and_message() {
        let e = from_response(
            "GET /api/v3/channels",
            401,
            None,
            br#"{"status":"error","code":400100,"message":"Unauthorized","data":{"detail":[]}}"#,
        );
        assert_eq!(e.kind, ErrorKind::Auth);
        assert_eq!(e.code.as_deref(), Some(UNAUTHORIZED));
        assert_eq!(
            e.to_string(),
            "amity GET /api/v3/channels: authentication refused (400100: Unauthorized)"
        );

        for (status, code) in [(429, "400311"), (429, "429000"), (400, "400311")] {
            let body =
                format!(r#"{{"status":"error","code":{code},"message":"RateLimit Exceed."}}"#);
            let e = from_response("x", status, None, body.as_bytes());
            assert!(e.is_retryable(), "{status} {code}");
            assert!(matches!(e.kind, ErrorKind::RateLimited { .. }));
        }
        let e = from_response("x", 429, Some(Duration::from_secs(5)), b"");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(5)));
        let e = from_response(
            "x",
            500,
            None,
            br#"{"code":"500000","message":"Unexpected error"}"#,
        );
        assert!(e.is_retryable());
        assert_eq!(e.code.as_deref(), Some("500000"));
        let e = from_response(
            "x",
            400,
            None,
            br#"{"status":"error","code":400000,"message":"Bad Request.","data":{"detail":["\"userIds\" must contain less than or equal to 100 items"]}}"#,
        );
        assert_eq!(
            e.message,
            "Bad Request. (\"userIds\" must contain less than or equal to 100 items)"
        );
        assert_eq!(e.kind, ErrorKind::BadRequest);
        let e = from_response("x", 502, None, b"<html>bad gateway</html>");
        assert_eq!(e.message, "HTTP 502");
        assert_eq!(e.code.as_deref(), Some("502"));
    }

    #[test]
    fn a_rate_limit_without_retry_after_waits_five_seconds() {
        // No Retry-After is documented; back off at least 5 s [I].
        for (status, code) in [(429, "400311"), (429, "429000"), (400, "400311")] {
            let body = format!(r#"{{"code":{code},"message":"RateLimit Exceed."}}"#);
            let e = from_response("x", status, None, body.as_bytes());
            assert_eq!(e.retry_after(), Some(Duration::from_secs(5)), "{status}");
        }
        let e = from_response("x", 429, None, b"{}");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(5)));
        // A header, when sent, wins: shorter, longer or zero.
        for secs in [0, 2, 30] {
            let e = from_response("x", 429, Some(Duration::from_secs(secs)), b"");
            assert_eq!(e.retry_after(), Some(Duration::from_secs(secs)));
        }
        // Only rate limits carry a hint.
        let e = from_response("x", 503, None, b"");
        assert_eq!(e.retry_after(), None);
    }

    #[test]
    fn parameters_error_is_a_final_bad_request() {
        // 500000 "Parameters error." is also used for 422 validation [V].
        for (status, msg) in [
            (500, "Parameters error."),
            (422, "Parameters error."),
            (500, "parameters error"),
        ] {
            let body = format!(r#"{{"status":"error","code":500000,"message":"{msg}"}}"#);
            let e = from_response("x", status, None, body.as_bytes());
            assert_eq!(e.kind, ErrorKind::BadRequest, "{status} {msg}");
            assert!(!e.is_retryable() && !e.may_have_acted(), "{status} {msg}");
            assert_eq!(e.code.as_deref(), Some("500000"));
        }
        // The same code with "Unexpected error" stays a server error.
        let e = from_response(
            "x",
            500,
            None,
            br#"{"code":500000,"message":"Unexpected error"}"#,
        );
        assert!(e.is_retryable() && e.may_have_acted());
    }

    #[test]
    fn per_user_refusals_are_told_apart() {
        let e = from_response(
            "x",
            400,
            None,
            br#"{"code":400317,"message":"User is the last moderator of the channel."}"#,
        );
        assert!(is_per_user_refusal(&e) && !e.is_retryable());
        let e = from_response(
            "x",
            404,
            None,
            br#"{"code":400400,"message":"User Not Found."}"#,
        );
        assert!(is_user_not_found(&e) && is_per_user_refusal(&e));
        let e = from_response(
            "x",
            404,
            None,
            br#"{"code":400400,"message":"Channel Not Found."}"#,
        );
        assert!(!is_per_user_refusal(&e));
        assert_eq!(e.kind, ErrorKind::NotFound);
    }
}
