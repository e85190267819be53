//! Symphony's two id shapes.
//!
//! - User ids are int64 JSON numbers on the wire and strings in the model.
//! - Room (stream) ids are base64. Responses may spell them in standard
//!   base64 (`+`, `/`, `=` padding); URL paths need URL-safe base64
//!   (`-`, `_`, no padding). The model keeps an id as the provider or the
//!   moderator spelled it; only paths are normalised.

use crate::model::{RoomId, UserId};

/// Parses a model user id into Symphony's int64, or says what is wrong.
pub fn user_number(user: &UserId) -> Result<i64, String> {
    let s = user.as_str().trim();
    if s.is_empty() {
        return Err("empty user id".into());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Symphony user ids are numbers (digits only, e.g. 7215545058313)".into());
    }
    match s.parse::<i64>() {
        Ok(0) => Err("Symphony user ids are positive numbers; 0 is not one".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "Symphony user ids are 64-bit numbers; {s} is larger than {}",
            i64::MAX
        )),
    }
}

/// The model's spelling of a wire user id.
pub fn user_id(n: i64) -> UserId {
    UserId::new(n.to_string())
}

/// Whether `c` may appear in a stream id in either base64 alphabet.
fn is_stream_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '=')
}

/// A stream id in URL-safe base64 without padding, for URL paths, from
/// either alphabet. Refuses anything that is not base64 (so nothing odd
/// ever reaches a path).
pub fn url_safe(room: &RoomId) -> Result<String, String> {
    let s = room.as_str().trim();
    if s.is_empty() {
        return Err("empty room id".into());
    }
    if let Some(bad) = s.chars().find(|c| !is_stream_char(*c)) {
        return Err(format!(
            "`{s}` is not a Symphony stream id: `{bad}` is not a base64 character"
        ));
    }
    let body = s.trim_end_matches('=');
    if body.contains('=') {
        return Err(format!(
            "`{s}` is not a Symphony stream id: `=` may only pad the end"
        ));
    }
    Ok(body
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect())
}

/// A stream id in standard base64 with padding, from either alphabet
/// (the spelling search results use).
pub fn standard(room: &RoomId) -> Result<String, String> {
    let safe = url_safe(room)?;
    let mut out: String = safe
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_positive_int64() {
        assert_eq!(user_number(&"7215545058313".into()), Ok(7_215_545_058_313));
        assert_eq!(
            user_number(&"71000000000000001".into()),
            Ok(71_000_000_000_000_001)
        );
        assert!(user_number(&"abc".into()).unwrap_err().contains("digits"));
        assert!(user_number(&"-5".into()).unwrap_err().contains("digits"));
        assert!(user_number(&"0".into()).unwrap_err().contains("positive"));
        assert!(
            user_number(&"9223372036854775808".into())
                .unwrap_err()
                .contains("64-bit")
        );
        assert_eq!(
            user_id(9_223_372_036_854_775_807).as_str(),
            "9223372036854775807"
        );
    }

    #[test]
    fn stream_ids_convert_both_ways() {
        let std_id = RoomId::from("tzwvAZIdDMG3ZPRxv+xsgH///qr+JJkWdA==");
        assert_eq!(
            url_safe(&std_id).unwrap(),
            "tzwvAZIdDMG3ZPRxv-xsgH___qr-JJkWdA"
        );
        let safe = RoomId::from("tzwvAZIdDMG3ZPRxv-xsgH___qr-JJkWdA");
        assert_eq!(
            url_safe(&safe).unwrap(),
            "tzwvAZIdDMG3ZPRxv-xsgH___qr-JJkWdA"
        );
        assert_eq!(standard(&safe).unwrap(), std_id.as_str());
        assert_eq!(standard(&std_id).unwrap(), std_id.as_str());
        assert!(url_safe(&"a b".into()).unwrap_err().contains("base64"));
        assert!(url_safe(&"../x".into()).is_err());
        assert!(url_safe(&"ab=c".into()).is_err());
        assert!(url_safe(&"".into()).is_err());
    }
}
