//! nandbox frames as they travel (private to the adapter).
//!
//! Ids are carried as strings end to end: the docs type `chat_id` and
//! `user_id` as String and their examples send JSON strings of up to 19
//! digits (above 2^53), so an id never passes through a float. Incoming ids
//! are read from a JSON string or a JSON integer (the Java SDK uses `Long`
//! for some), never from a float.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// `{"method":"TOKEN_AUTH","token":…,"rem":true}`: `rem` is a boolean in
/// every SDK (the docs print the string `"true"`) [sdk][doc].
#[derive(Serialize)]
pub(super) struct TokenAuth<'a> {
    pub method: &'static str,
    pub token: &'a str,
    pub rem: bool,
}

/// `{"method":"PING"}` [sdk].
pub(super) const PING: &str = r#"{"method":"PING"}"#;

/// A chat-management request: `method`, `app_id`, `chat_id`, optional
/// `user_id`, and the `reference` echoed in the reply [doc].
#[derive(Serialize)]
pub(super) struct ChatRequest<'a> {
    pub method: &'static str,
    pub app_id: &'a str,
    pub chat_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<&'a str>,
    pub reference: &'a str,
}

/// What the reader needs to sort an incoming frame: replies carry our
/// `reference`, errors carry `error` and nothing else [log], events are
/// `chatMember` frames without a reference of ours.
#[derive(Deserialize)]
pub(super) struct Head {
    pub method: Option<String>,
    pub reference: Option<Reference>,
    pub error: Option<serde_json::Value>,
}

/// A `reference` as echoed: we send digit strings; a server might echo a
/// number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Reference(pub String);

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Reference(match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }))
    }
}

/// An id: a JSON string, or a JSON integer read exactly. A float (an id
/// that went through a double somewhere) is refused rather than rounded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id as a string or an integer")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Id, E> {
                Ok(Id(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A count: a JSON integer or a string of digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_u64()
                .map(Count)
                .ok_or_else(|| serde::de::Error::custom("a count must be a whole number")),
            serde_json::Value::String(s) => s
                .trim()
                .parse()
                .map(Count)
                .map_err(|_| serde::de::Error::custom("a count must be a whole number")),
            _ => Err(serde::de::Error::custom("a count must be a whole number")),
        }
    }
}

/// `{"id": …}` with the optional `name` of the SDKs' `User` [sdk].
#[derive(Deserialize, Debug)]
pub(super) struct Ref {
    pub id: Id,
    #[serde(default)]
    pub name: Option<String>,
}

/// The `chatDetails` reply of `getChat` [doc].
#[derive(Deserialize)]
pub(super) struct ChatDetails {
    pub chat: Chat,
}

/// The fields of the `Chat` object the console reads [doc][sdk].
#[derive(Deserialize)]
pub(super) struct Chat {
    pub id: Id,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub owner_id: Option<Id>,
    #[serde(default)]
    pub member_count: Option<Count>,
}

/// The `chatMember` reply (of getChatMember, removeChatMember and
/// addChatMember) and the unsolicited join/leave frames [doc][sdk].
#[derive(Deserialize)]
pub(super) struct ChatMemberFrame {
    #[serde(rename = "chatMember")]
    pub chat_member: ChatMember,
}

#[derive(Deserialize, Debug)]
pub(super) struct ChatMember {
    pub user: Ref,
    #[serde(default)]
    pub chat: Option<Ref>,
    /// `Member` | `Admin` [doc]; null in the removal reply [doc].
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// `Active` | `Deleted` | `Banned` | `Left` [doc], `Removed` in the
    /// removal example [doc]; compared case-insensitively.
    #[serde(default)]
    pub status: Option<String>,
}

/// The `chatAdministrators` reply [doc].
#[derive(Deserialize)]
pub(super) struct AdministratorsFrame {
    #[serde(rename = "chatAdministrators")]
    pub inner: Administrators,
}

#[derive(Deserialize)]
pub(super) struct Administrators {
    #[serde(default)]
    pub administrators: Vec<Ref>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_exactly_and_never_from_floats() {
        let r: Ref = serde_json::from_str(r#"{"id":"9223372036854775001"}"#).unwrap();
        assert_eq!(r.id.0, "9223372036854775001");
        let r: Ref = serde_json::from_str(r#"{"id":90090684438172188}"#).unwrap();
        assert_eq!(r.id.0, "90090684438172188");
        assert!(serde_json::from_str::<Ref>(r#"{"id":9.009068443817219e16}"#).is_err());
    }

    #[test]
    fn requests_carry_ids_as_strings() {
        let frame = serde_json::to_string(&ChatRequest {
            method: "removeChatMember",
            app_id: "0",
            chat_id: "90090684438172188",
            user_id: Some("9223372036854775001"),
            reference: "17",
        })
        .unwrap();
        assert_eq!(
            frame,
            r#"{"method":"removeChatMember","app_id":"0","chat_id":"90090684438172188","user_id":"9223372036854775001","reference":"17"}"#
        );
    }

    #[test]
    fn counts_and_references_take_both_forms() {
        let c: Chat = serde_json::from_str(r#"{"id":"1","member_count":"3"}"#).unwrap();
        assert_eq!(c.member_count, Some(Count(3)));
        let h: Head = serde_json::from_str(r#"{"method":"chatMember","reference":123}"#).unwrap();
        assert_eq!(h.reference, Some(Reference("123".into())));
    }
}
