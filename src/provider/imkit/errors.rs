//! IMKit answers mapped onto results and [`ProviderError`].
//!
//! Every answer is `{RC, RM, result}` with RC 0 for success. Error bodies
//! come in two shapes (the envelope with an optional `error` object, and an
//! unwrapped `{"error": "...", "message": "..."}`), so the kind is read
//! from the HTTP status and `RC`, the text from `RM` (else the message),
//! and `error.code` is shown but never acted on. HTTP 429 (any body) is a
//! rate limit, honouring `retryAfter` (seconds) or a `Retry-After` header.

use super::NAME;
use super::wire::{Envelope, ErrorHead, rc_of, text_of};
use crate::provider::http::{Answer, status_kind};
use crate::provider::{ErrorKind, ProviderError, parse_retry_after};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// The `result` of a successful answer, or the error it carries.
/// `redact` removes secrets from any text the server sent back.
pub(super) fn result<T: DeserializeOwned>(
    op: &str,
    answer: &Answer,
    redact: &dyn Fn(String) -> String,
) -> Result<T, ProviderError> {
    if !answer.is_success() {
        return Err(from_error(op, answer, redact));
    }
    let why = match serde_json::from_slice::<Envelope<T>>(&answer.body) {
        Ok(env) => {
            let rc = env.rc.as_ref().map(rc_of);
            match (rc, env.result) {
                // RC 0 (or, tolerated, no RC at all) with a result.
                (Some(Some(0)) | None, Some(r)) => return Ok(r),
                (Some(Some(0)), None) => "RC 0 without a result".to_string(),
                _ => "no RC 0 and no result".to_string(),
            }
        }
        Err(e) => e.to_string(),
    };
    // A non-zero RC (or an unwrapped error) is an error whatever the HTTP
    // status said; an error envelope on HTTP 200 may not decode as a room.
    let head: ErrorHead = serde_json::from_slice(&answer.body).unwrap_or_default();
    if head.rc.as_ref().and_then(rc_of).is_some_and(|rc| rc != 0) || head.error.is_some() {
        Err(from_error(op, answer, redact))
    } else {
        Err(unreadable(op, &why))
    }
}

/// Whether an answer refuses the credentials: HTTP 401 (the SDK renews on
/// it), or RC 401 ("Authorization Error" in the legacy model) in a small
/// success body, as servers that answer every error on HTTP 200 send.
pub(super) fn refuses_credentials(answer: &Answer) -> bool {
    /// Error envelopes are small; a room or member page is not read twice.
    const SMALL: usize = 4096;
    answer.status == 401
        || (answer.is_success()
            && answer.body.len() <= SMALL
            && serde_json::from_slice::<ErrorHead>(&answer.body)
                .ok()
                .and_then(|h| h.rc.as_ref().and_then(rc_of))
                == Some(401))
}

fn unreadable(op: &str, why: &str) -> ProviderError {
    ProviderError::new(
        NAME,
        op,
        ErrorKind::Server { status: 502 },
        format!("unreadable answer: {why}"),
    )
}

/// An error answer: kind from the HTTP status (or, on a 2xx, from a
/// non-zero RC), text from RM, else `error.message` / `message`, else the
/// unwrapped `error` string.
pub(super) fn from_error(
    op: &str,
    answer: &Answer,
    redact: &dyn Fn(String) -> String,
) -> ProviderError {
    let head: ErrorHead = serde_json::from_slice(&answer.body).unwrap_or_default();
    let rc = head.rc.as_ref().and_then(rc_of);
    let hint = answer
        .retry_after
        .or_else(|| head.retry_after.as_ref().and_then(seconds));
    let status = if answer.is_success() {
        // RC mirrors HTTP statuses (0 OK, 400, 401, ...); anything else
        // is a refusal of the request.
        rc.and_then(|rc| u16::try_from(rc).ok())
            .filter(|s| (400..=599).contains(s))
            .unwrap_or(400)
    } else {
        answer.status
    };
    let (code, detail) = match &head.error {
        Some(Value::Object(o)) => (
            o.get("code").and_then(text_of),
            o.get("message").and_then(text_of),
        ),
        Some(v) => (text_of(v), None),
        None => (None, None),
    };
    let message = head
        .rm
        .as_ref()
        .and_then(text_of)
        .or(detail)
        .or_else(|| head.message.as_ref().and_then(text_of))
        .or_else(|| code.clone())
        .unwrap_or_else(|| format!("HTTP {}", answer.status));
    let code = rc
        .map(|rc| rc.to_string())
        .or(code)
        .unwrap_or_else(|| answer.status.to_string());
    ProviderError::new(NAME, op, status_kind(status, hint), redact(message)).with_code(redact(code))
}

/// `retryAfter`: seconds as a number or a string.
fn seconds(v: &Value) -> Option<Duration> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok()),
        Value::String(s) => parse_retry_after(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn keep(s: String) -> String {
        s
    }

    #[test]
    fn both_error_shapes_give_kind_and_text() {
        let e = from_error(
            "GET /rooms/x",
            &answer(
                404,
                r#"{"RC":404,"RM":"Room not found","error":{"code":"ROOM_NOT_FOUND","message":"Room with specified ID does not exist"}}"#,
            ),
            &keep,
        );
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.message, "Room not found");
        assert_eq!(e.code.as_deref(), Some("404"));

        let e = from_error(
            "GET /rooms",
            &answer(
                401,
                r#"{"error":"INVALID_API_KEY","message":"The API key is invalid"}"#,
            ),
            &keep,
        );
        assert_eq!(e.kind, ErrorKind::Auth);
        assert_eq!(e.message, "The API key is invalid");
        assert_eq!(e.code.as_deref(), Some("INVALID_API_KEY"));

        let e = from_error(
            "GET /rooms",
            &answer(502, "<html>bad gateway</html>"),
            &keep,
        );
        assert!(e.is_retryable());
        assert_eq!(e.message, "HTTP 502");
    }

    #[test]
    fn rate_limits_honour_retry_after_in_body_or_header() {
        let e = from_error(
            "GET /rooms",
            &answer(
                429,
                r#"{"error":"RATE_LIMIT_EXCEEDED","message":"Too many requests, please try again later","retryAfter":60}"#,
            ),
            &keep,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(60)));
        let mut a = answer(429, "");
        a.retry_after = Some(Duration::from_secs(3));
        let e = from_error("GET /rooms", &a, &keep);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.is_retryable());
    }

    #[test]
    fn a_non_zero_rc_on_http_200_is_an_error() {
        let r = result::<Value>(
            "POST /rooms/r/delete/members",
            &answer(
                200,
                r#"{"RC":400,"RM":"members contains a user that is not in the room"}"#,
            ),
            &keep,
        );
        let e = r.unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest);
        assert_eq!(e.message, "members contains a user that is not in the room");
        let ok = result::<Value>(
            "GET /rooms/r",
            &answer(200, r#"{"RC":0,"RM":"OK","result":{"_id":"r"}}"#),
            &keep,
        );
        assert_eq!(ok.unwrap()["_id"], "r");
        let e = result::<Value>("GET /rooms/r", &answer(200, "not json"), &keep).unwrap_err();
        assert!(e.is_retryable());
    }

    #[test]
    fn secrets_echoed_by_the_server_are_redacted() {
        let redact = |s: String| s.replace("k3y", "***");
        let e = from_error(
            "GET /rooms",
            &answer(401, r#"{"RC":401,"RM":"bad key k3y"}"#),
            &redact,
        );
        assert_eq!(e.message, "bad key ***");
    }
}
