//! Agora's error envelope mapped onto [`ProviderError`].

use super::NAME;
use super::wire::ErrorBody;
use crate::provider::http::status_kind;
use crate::provider::{ErrorKind, ProviderError};
use std::time::Duration;

/// An error answer: the kind from the status (429 honours Retry-After), the
/// code from `error`, the text from `error_description`. `resource_limited`
/// is the Free edition's quota, not a rate limit: waiting does not help
/// [doc], so it is final (forbidden), whatever status carries it.
pub(super) fn from_response(
    op: &str,
    status: u16,
    hint: Option<Duration>,
    body: &[u8],
) -> ProviderError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let code = parsed.error.filter(|c| !c.is_empty());
    let mut kind = status_kind(status, hint);
    match code.as_deref() {
        // The rate limit means "slow down" whatever status carries it.
        Some("reach_limit") if !matches!(kind, ErrorKind::RateLimited { .. }) => {
            kind = ErrorKind::RateLimited { retry_after: hint };
        }
        Some("resource_limited") => kind = ErrorKind::Forbidden,
        _ => {}
    }
    let message = parsed
        .error_description
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("HTTP {status}"));
    let err = ProviderError::new(NAME, op, kind, message);
    match code {
        Some(c) => err.with_code(c),
        None => err.with_code(status.to_string()),
    }
}

/// The whole-call refusal of a removal naming users that are not members:
/// `forbidden_op` "users [u9] are not members of this group!" (400 in the
/// current docs, 403 in an older table).
pub(super) fn is_not_member_refusal(e: &ProviderError) -> bool {
    matches!(e.kind, ErrorKind::BadRequest | ErrorKind::Forbidden)
        && e.code.as_deref() == Some("forbidden_op")
        && says_not_member(&e.message)
}

/// `forbidden_op` "forbidden operation on group owner!".
pub(super) fn is_owner_refusal(e: &ProviderError) -> bool {
    matches!(e.kind, ErrorKind::BadRequest | ErrorKind::Forbidden)
        && e.code.as_deref() == Some("forbidden_op")
        && e.message.to_ascii_lowercase().contains("owner")
}

/// Whether a provider reason says the user is not in the room, e.g.
/// `user: u1 doesn't exist in group: 662…` or `users [u9] are not members…`.
pub(super) fn says_not_member(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("not member")
        || r.contains("not a member")
        || r.contains("not in group")
        || r.contains("not in chatroom")
        || ((r.contains("doesn't exist in") || r.contains("does not exist in"))
            && (r.contains("group") || r.contains("chatroom") || r.contains("room")))
}

/// The batch cap a size refusal states: `invalid_parameter`
/// "kickMember: kickMembers number more than maxSize : 60" (or the add-many
/// twin with 100). Servers differ (60 or 100), so the adapter re-sends in
/// chunks of the size the server names.
pub(super) fn max_size(e: &ProviderError) -> Option<usize> {
    if e.kind != ErrorKind::BadRequest || e.code.as_deref() != Some("invalid_parameter") {
        return None;
    }
    let at = e.message.find("maxSize")? + "maxSize".len();
    let digits: String = e.message[at..]
        .trim_start_matches(|c: char| c == ':' || c.is_whitespace())
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|n| *n >= 1)
}

/// The user a whole-call 404 names as unknown to the app:
/// `resource_not_found` "username XXX doesn't exist!" (not the room's
/// "grpID XX does not exist!").
pub(super) fn missing_user(e: &ProviderError) -> Option<String> {
    if e.kind != ErrorKind::NotFound {
        return None;
    }
    let rest = e.message.trim().strip_prefix("username ")?;
    let name = rest
        .split_whitespace()
        .next()?
        .trim_matches(|c| c == '"' || c == '\'' || c == '[' || c == ']');
    let tail = rest[rest.find(char::is_whitespace)?..].to_ascii_lowercase();
    (!name.is_empty() && (tail.contains("doesn't exist") || tail.contains("does not exist")))
        .then(|| name.to_string())
}

/// A whole-call refusal of a batch add that is about one user of it: 404
/// "username X doesn't exist!" or 403 `exceeded_limit` (that user is in
/// too many rooms) [doc]. Nobody was added [inf], so the rest can go again.
pub(super) fn is_one_user_add_refusal(e: &ProviderError) -> bool {
    missing_user(e).is_some()
        || (e.kind == ErrorKind::Forbidden && e.code.as_deref() == Some("exceeded_limit"))
}

/// The user of `sent` an error text names, if exactly one is named
/// (usernames are case-insensitive).
pub(super) fn named_user<'a>(message: &str, sent: &[&'a str]) -> Option<&'a str> {
    let words: Vec<&str> = message
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut named = sent
        .iter()
        .filter(|u| words.iter().any(|w| w.eq_ignore_ascii_case(u)));
    match (named.next(), named.next()) {
        (Some(u), None) => Some(*u),
        _ => None,
    }
}

/// The user names inside the brackets of a not-member refusal, if any.
pub(super) fn bracket_names(message: &str) -> Option<Vec<String>> {
    let start = message.find('[')?;
    let end = start + message[start..].find(']')?;
    let names: Vec<String> = message[start + 1..end]
        .split(',')
        .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (!names.is_empty()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn error_envelope_maps_to_kind_code_and_text() {
        let body = br#"{"error":"forbidden_op","exception":"EasemobForbiddenOpException","timestamp":1644402553845,"duration":0,"error_description":"users [u9, u10] are not members of this group!"}"#;
        let e = from_response("DELETE /chatrooms/1/users", 400, None, body);
        assert_eq!(e.kind, ErrorKind::BadRequest);
        assert!(is_not_member_refusal(&e));
        assert!(!is_owner_refusal(&e));
        assert_eq!(bracket_names(&e.message).unwrap(), ["u9", "u10"]);
        assert_eq!(
            e.to_string(),
            "agora DELETE /chatrooms/1/users: bad request (forbidden_op: users [u9, u10] are not members of this group!)"
        );

        let e = from_response(
            "GET /chatrooms",
            429,
            Some(Duration::from_secs(2)),
            br#"{"error":"reach_limit","error_description":"This request has reached api limit"}"#,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert!(e.is_retryable());
        // The Free edition's quota: final at once, never retried.
        let e = from_response(
            "DELETE x",
            429,
            None,
            br#"{"error":"resource_limited","error_description":"You have exceeded the limit of the Free edition"}"#,
        );
        assert_eq!(e.kind, ErrorKind::Forbidden);
        assert!(!e.is_retryable() && !e.is_unavailable());
        assert_eq!(
            e.reason(),
            "resource_limited: You have exceeded the limit of the Free edition"
        );
        let e = from_response("GET /chatrooms", 503, None, b"<html>");
        assert!(e.is_retryable());
        assert_eq!(e.code.as_deref(), Some("503"));
        let e = from_response(
            "GET /chatrooms",
            401,
            None,
            br#"{"error":"unauthorized","error_description":"Unable to authenticate (OAuth)"}"#,
        );
        assert_eq!(e.kind, ErrorKind::Auth);
    }

    #[test]
    fn size_refusals_and_unknown_users_are_read() {
        let e = from_response(
            "DELETE x",
            400,
            None,
            br#"{"error":"invalid_parameter","error_description":"kickMember: kickMembers number more than maxSize : 60"}"#,
        );
        assert_eq!(max_size(&e), Some(60));
        let e = from_response(
            "POST x",
            400,
            None,
            br#"{"error":"invalid_parameter","error_description":"addMembers: addMembers number more than maxSize : 100"}"#,
        );
        assert_eq!(max_size(&e), Some(100));
        let e = from_response(
            "DELETE x",
            400,
            None,
            br#"{"error":"invalid_parameter","error_description":"limit must be between 1 and 1000"}"#,
        );
        assert_eq!(max_size(&e), None);

        let e = from_response(
            "DELETE x",
            404,
            None,
            br#"{"error":"resource_not_found","error_description":"username u-7 doesn't exist!"}"#,
        );
        assert_eq!(missing_user(&e).as_deref(), Some("u-7"));
        let e = from_response(
            "DELETE x",
            404,
            None,
            br#"{"error":"resource_not_found","error_description":"grpID 662 does not exist!"}"#,
        );
        assert_eq!(missing_user(&e), None);
        let e = from_response(
            "DELETE x",
            404,
            None,
            br#"{"error":"service_resource_not_found","error_description":"Service resource not found"}"#,
        );
        assert_eq!(missing_user(&e), None);
        assert_eq!(e.kind, ErrorKind::NotFound);
        let e = from_response(
            "GET x",
            401,
            None,
            br#"{"error":"auth_bad_access_token","error_description":"Unable to authenticate due to corrupt access token"}"#,
        );
        assert_eq!(e.kind, ErrorKind::Auth);
    }

    #[test]
    fn one_user_add_refusals_and_the_user_they_name() {
        let e = from_response(
            "POST x",
            404,
            None,
            br#"{"error":"resource_not_found","error_description":"username ghost.1 doesn't exist!"}"#,
        );
        assert!(is_one_user_add_refusal(&e));
        let e = from_response(
            "POST x",
            403,
            None,
            br#"{"error":"exceeded_limit","error_description":"user Busy-1 has joined too many chatrooms"}"#,
        );
        assert!(is_one_user_add_refusal(&e));
        assert_eq!(
            named_user(&e.message, &["a", "busy-1", "b"]),
            Some("busy-1")
        );
        assert_eq!(named_user("users a and b.", &["a", "b"]), None);
        assert_eq!(named_user("limit reached", &["a"]), None);
        let e = from_response(
            "POST x",
            403,
            None,
            br#"{"error":"forbidden_op","error_description":"forbidden"}"#,
        );
        assert!(!is_one_user_add_refusal(&e));
    }

    #[test]
    fn not_member_reasons() {
        assert!(says_not_member(
            "user: user1 doesn't exist in group: 66213271109633"
        ));
        assert!(says_not_member("users [u9] are not members of this group!"));
        assert!(!says_not_member("forbidden operation on group owner!"));
        assert!(!says_not_member("username u1 doesn't exist!"));
    }
}
