//! Agora Chat (Easemob REST) JSON shapes, private to the adapter.
//!
//! Decoding is tolerant where the vendor's own sources disagree: `data` may
//! be one object or an array, ids and counts may be strings or numbers, and
//! a `result` may be a bool or the string `"success"`.

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The common success envelope; only `data` and `cursor` matter (a page's
/// `count`, typed String in one doc table and a number in its example, is
/// not needed: the rows are counted).
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
pub(super) struct Envelope<T> {
    #[serde(default)]
    pub data: Option<T>,
    #[serde(default, deserialize_with = "opt_text")]
    pub cursor: Option<String>,
}

/// `data` as printed in one place (an object) or another (an array).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::Many(v) => v,
            OneOrMany::One(t) => vec![t],
        }
    }
}

/// `GET /chatrooms`: one listed room.
#[derive(Debug, Deserialize)]
pub(super) struct RoomItem {
    /// Always there in the docs; an item without one is skipped.
    #[serde(default, deserialize_with = "opt_text")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_count")]
    pub affiliations_count: Option<u64>,
}

/// A one-key role object: `{"owner":"u1"}` or `{"member":"u2"}`.
#[derive(Debug, Deserialize)]
pub(super) struct Affiliation {
    #[serde(default, deserialize_with = "opt_text")]
    pub owner: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub member: Option<String>,
}

/// `GET /chatrooms/{id}`: the room detail. Nothing in it is required: the
/// room is the one asked for.
#[derive(Debug, Deserialize)]
pub(super) struct RoomDetail {
    #[serde(default, deserialize_with = "opt_text")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub owner: Option<String>,
    #[serde(default, deserialize_with = "opt_count")]
    pub affiliations_count: Option<u64>,
    #[serde(default)]
    pub affiliations: Option<Affiliations>,
}

/// A room detail's `affiliations`, read for what the console needs: how
/// many rows and which are owners. On a jumbo room the list is as long as
/// the room, so member rows are skipped without being built.
#[derive(Debug, Default)]
pub(super) struct Affiliations {
    pub count: u64,
    pub owners: Vec<String>,
}

impl<'de> Deserialize<'de> for Affiliations {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Rows;
        impl<'de> serde::de::Visitor<'de> for Rows {
            type Value = Affiliations;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of one-key role objects")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Affiliations, A::Error> {
                let mut out = Affiliations::default();
                while let Some(row) = seq.next_element::<OwnerOnly>()? {
                    out.count += 1;
                    out.owners.extend(row.0);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Rows)
    }
}

/// One affiliation row, keeping only an `owner` value.
struct OwnerOnly(Option<String>);

impl<'de> Deserialize<'de> for OwnerOnly {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(field_identifier, rename_all = "lowercase")]
        enum Key {
            Owner,
            #[serde(other)]
            Other,
        }
        struct Row;
        impl<'de> serde::de::Visitor<'de> for Row {
            type Value = OwnerOnly;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a one-key role object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OwnerOnly, A::Error> {
                let mut owner = None;
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Owner => owner = value_text(&map.next_value::<Value>()?),
                        Key::Other => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(OwnerOnly(owner))
            }
        }
        d.deserialize_map(Row)
    }
}

/// One row of a (batch) member removal.
#[derive(Debug, Deserialize)]
pub(super) struct RemoveRow {
    #[serde(default)]
    pub result: Value,
    #[serde(default, deserialize_with = "opt_text")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub user: Option<String>,
}

/// Demote/promote answers: `{"result":"success","oldadmin":"u1"}`.
#[derive(Debug, Deserialize)]
pub(super) struct AdminChange {
    #[serde(default)]
    pub result: Value,
}

/// `POST /chatrooms/{id}/users`: `{"newmembers":[...],"action":"add_member"}`.
#[derive(Debug, Deserialize)]
pub(super) struct Added {
    #[serde(default)]
    pub newmembers: Vec<Value>,
}

#[derive(Debug, Serialize)]
pub(super) struct AddMembers<'a> {
    pub usernames: Vec<&'a str>,
}

#[derive(Debug, Serialize)]
pub(super) struct NewAdmin<'a> {
    pub newadmin: &'a str,
}

/// `POST /token` bodies: client credentials (Easemob), or `grant_type:
/// agora` with the Agora app token as Bearer [sdk].
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum TokenRequest<'a> {
    Client {
        grant_type: &'a str,
        client_id: &'a str,
        client_secret: &'a str,
    },
    Agora {
        grant_type: &'a str,
    },
}

/// The token answer. Easemob-native exchange gives `expires_in` seconds;
/// the Agora-token exchange gives `expire_timestamp` in ms.
#[derive(Deserialize)]
pub(super) struct TokenResponse {
    pub access_token: String,
    #[serde(default, deserialize_with = "opt_count")]
    pub expires_in: Option<u64>,
    #[serde(default, deserialize_with = "opt_count")]
    pub expire_timestamp: Option<u64>,
}

/// The error envelope: `{"error":"forbidden_op","error_description":"…",…}`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ErrorBody {
    #[serde(default, deserialize_with = "opt_text")]
    pub error: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub error_description: Option<String>,
}

/// True for `true`, `"true"` and `"success"`.
pub(super) fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("success") || s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A string or a number as text (ids are numeric strings; keep them exact).
pub(super) fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_text(&Value::deserialize(d)?))
}

fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affiliations_keep_the_count_and_the_owners_only() {
        let d: RoomDetail = serde_json::from_str(
            r#"{"owner":"user1","affiliations":[{"member":"user2"},{"owner":"user1"},{"member":"user3","extra":1}]}"#,
        )
        .unwrap();
        let a = d.affiliations.unwrap();
        assert_eq!((a.count, a.owners), (3, vec!["user1".to_string()]));
    }

    #[test]
    fn data_as_object_or_array_and_flexible_scalars() {
        let one: Envelope<OneOrMany<RoomItem>> = serde_json::from_str(
            r#"{"data":{"id":66213271109633,"name":"r","owner":"u","affiliations_count":"2"}}"#,
        )
        .unwrap();
        let rooms = one.data.unwrap().into_vec();
        assert_eq!(rooms[0].id.as_deref(), Some("66213271109633"));
        assert_eq!(rooms[0].affiliations_count, Some(2));
        let many: Envelope<OneOrMany<RoomItem>> = serde_json::from_str(
            r#"{"data":[{"id":"1","name":"a"},{"id":"2","name":"b"}],"cursor":null,"count":2}"#,
        )
        .unwrap();
        assert!(many.cursor.is_none());
        assert_eq!(many.data.unwrap().into_vec().len(), 2);
        assert!(truthy(&Value::from("success")) && truthy(&Value::from(true)));
        assert!(!truthy(&Value::from(false)) && !truthy(&Value::Null));
    }
}
