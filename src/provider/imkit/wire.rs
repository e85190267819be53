//! IMKit's wire format (private to the adapter): the `{RC, RM, result}`
//! envelope, room lists and whole rooms, and the request bodies.
//!
//! Decoding is tolerant where the docs are loose: ids may come as strings
//! or numbers, `owner` as a Client object or an id string, `managers` as
//! id strings (or, defensively, Client objects), `RC` as a number or a
//! numeric string.

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Every answer: `{"RC": 0, "RM": "OK", "result": ...}`.
#[derive(Deserialize)]
pub(super) struct Envelope<T> {
    #[serde(rename = "RC", default)]
    pub rc: Option<Value>,
    #[serde(default = "Option::default")]
    pub result: Option<T>,
}

/// What an error answer may carry, in either documented shape: the
/// envelope (with or without an `error` object) or unwrapped
/// `{"error": "...", "message": "..."}`; 429 adds `retryAfter`.
#[derive(Deserialize, Default)]
pub(super) struct ErrorHead {
    #[serde(rename = "RC", default)]
    pub rc: Option<Value>,
    #[serde(rename = "RM", default)]
    pub rm: Option<Value>,
    #[serde(default)]
    pub error: Option<Value>,
    #[serde(default)]
    pub message: Option<Value>,
    #[serde(rename = "retryAfter", default)]
    pub retry_after: Option<Value>,
}

/// `RC` as a number: `0`, `404` or `"404"`.
pub(super) fn rc_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A text field that should be a string but may be anything.
pub(super) fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Null | Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

/// `GET /rooms`: `result.totalCount` + `result.data[]`.
#[derive(Deserialize)]
pub(super) struct RoomList {
    #[serde(rename = "totalCount", default, deserialize_with = "opt_count")]
    pub total_count: Option<u64>,
    #[serde(default)]
    pub data: Vec<ListedRoom>,
}

/// A room in a list: its members are only counted, never kept.
#[derive(Deserialize)]
pub(super) struct ListedRoom {
    #[serde(rename = "_id", default, deserialize_with = "opt_id")]
    pub underscore_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<Value>,
    #[serde(default)]
    pub status: Option<Value>,
    #[serde(default, deserialize_with = "count_seq")]
    pub members: Option<u64>,
}

/// `GET /rooms/:id` (and every change, which answers the room after it).
#[derive(Deserialize)]
pub(super) struct WireRoom {
    #[serde(rename = "_id", default, deserialize_with = "opt_id")]
    pub underscore_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<Value>,
    #[serde(default)]
    pub status: Option<Value>,
    /// A Client object `{"_id", "nickname", ...}` or a client id string.
    #[serde(default)]
    pub owner: Option<Value>,
    /// Client id strings.
    #[serde(default)]
    pub managers: Option<Vec<Value>>,
    #[serde(default)]
    pub members: Vec<Client>,
    #[serde(rename = "memberProperties", default)]
    pub member_properties: Vec<MemberProperty>,
}

/// A member: a Client object.
#[derive(Deserialize)]
pub(super) struct Client {
    #[serde(rename = "_id", default, deserialize_with = "opt_id")]
    pub underscore_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<String>,
    #[serde(default)]
    pub nickname: Option<String>,
}

/// `memberProperties[]`: `{"client": id, "badge": 0, "role": "admin"}`;
/// `role` is absent for ordinary members.
#[derive(Deserialize)]
pub(super) struct MemberProperty {
    #[serde(default, deserialize_with = "opt_id")]
    pub client: Option<String>,
    #[serde(default)]
    pub role: Option<Value>,
}

/// An id from a string, a number, or a Client object's `_id` / `id`.
pub(super) fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("_id").or_else(|| o.get("id")).and_then(id_of),
        _ => None,
    }
}

#[derive(Serialize)]
pub(super) struct RemoveMembers<'a> {
    pub members: &'a [&'a str],
    #[serde(rename = "systemMessage")]
    pub system_message: bool,
}

#[derive(Serialize)]
pub(super) struct AddMembers<'a> {
    pub invitees: &'a [&'a str],
    #[serde(rename = "invitationRequired")]
    pub invitation_required: bool,
    #[serde(rename = "systemMessage")]
    pub system_message: bool,
}

#[derive(Serialize)]
pub(super) struct SetProperty<'a> {
    pub property: &'a str,
    pub value: &'a str,
}

#[derive(Serialize)]
pub(super) struct SetManagers<'a> {
    pub managers: &'a [String],
}

/// An id given as a string or a number.
fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct IdVisitor;
    impl<'de> Visitor<'de> for IdVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an id string or number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok((!v.is_empty()).then(|| v.to_string()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok((!v.is_empty()).then_some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(IdVisitor)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(IdVisitor)
}

/// A count given as a number or a numeric string.
fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(|v| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }))
}

/// The length of an array, without keeping its elements (room lists embed
/// every member of every room).
fn count_seq<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct Count;
    impl<'de> Visitor<'de> for Count {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut n: u64 = 0;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                n = n.saturating_add(1);
            }
            Ok(Some(n))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(Count)
        }
    }
    d.deserialize_any(Count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_decode_in_every_documented_shape() {
        let body = r#"{"RC":0,"RM":"OK","result":{"totalCount":"3","data":[
            {"_id":"r1","name":"Demo","status":1,"members":[{"_id":"a"},{"_id":"b"}]},
            {"id":7,"members":null}]}}"#;
        let env: Envelope<RoomList> = serde_json::from_str(body).unwrap();
        let list = env.result.unwrap();
        assert_eq!(list.total_count, Some(3));
        assert_eq!(list.data[0].members, Some(2));
        assert_eq!(list.data[1].id.as_deref(), Some("7"));
        assert_eq!(list.data[1].members, None);

        let room: WireRoom = serde_json::from_str(
            r#"{"_id":"demo","owner":{"_id":"aaa","nickname":"AAA"},"managers":["bbb"],
               "members":[{"_id":"aaa","id":"aaa","nickname":"AAA"},{"id":"ccc"}],
               "memberProperties":[{"client":"bbb","badge":1,"role":"admin"},{"client":"ccc","badge":61}]}"#,
        )
        .unwrap();
        assert_eq!(id_of(room.owner.as_ref().unwrap()).as_deref(), Some("aaa"));
        assert_eq!(room.members[1].id.as_deref(), Some("ccc"));
        assert_eq!(room.member_properties[0].role, Some(Value::from("admin")));
        assert_eq!(rc_of(&Value::from("404")), Some(404));
    }
}
