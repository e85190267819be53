//! Amity's JSON, as far as the adapter reads it. Every list may be absent
//! or `null`; unknown fields are ignored.

use serde::{Deserialize, Deserializer};

/// A missing or `null` value reads as the type's default.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `paging`: only `next` is read (`previous` in the TS SDK, `prev` in the
/// spec; neither is needed).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Paging {
    #[serde(default)]
    pub next: Option<String>,
}

impl Paging {
    /// The next-page token, if there is a next page.
    pub fn next(paging: Option<Paging>) -> Option<String> {
        paging.and_then(|p| p.next).filter(|t| !t.trim().is_empty())
    }
}

/// A chat channel (`schema/channel.yaml`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Channel {
    pub channel_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub member_count: Option<u64>,
    #[serde(default)]
    pub is_deleted: Option<bool>,
}

/// A user's membership of a channel.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ChannelUser {
    pub user_id: String,
    #[serde(default)]
    pub channel_id: Option<String>,
    /// `member`, `banned` or `none`.
    #[serde(default)]
    pub membership: Option<String>,
    /// Channel roles (`channel-moderator`, ...).
    #[serde(default, deserialize_with = "null_default")]
    pub roles: Vec<String>,
}

/// A network user (side-loaded for display names).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct User {
    pub user_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `ChannelPagination` and the non-paged `Channels` payload alike.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Channels {
    #[serde(default, deserialize_with = "null_default")]
    pub channels: Vec<Channel>,
    #[serde(default, deserialize_with = "null_default")]
    pub channel_users: Vec<ChannelUser>,
    #[serde(default, deserialize_with = "null_default")]
    pub users: Vec<User>,
    #[serde(default)]
    pub paging: Option<Paging>,
}

/// `DELETE|POST /api/v3/channels/{id}/users` and the role calls, as the
/// TS SDK sends them.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UsersBody<'a> {
    pub channel_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'a str>,
    pub user_ids: Vec<&'a str>,
}

/// A live-stream room (`schema/room.yaml` and the seed).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LiveRoom {
    pub room_id: String,
    #[serde(default)]
    pub title: Option<String>,
    /// `idle`, `live`, `waiting_reconnect`, `ended`, `recorded`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub is_deleted: Option<bool>,
    #[serde(default, deserialize_with = "null_default")]
    pub participants: Vec<Participant>,
    #[serde(default)]
    pub created_by: Option<String>,
}

/// One participant: `type` is `coHost` in the live docs, `user` in the spec.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Participant {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub user_id: String,
}

/// `GET /api/v1/rooms` and the single-room answers.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Rooms {
    #[serde(default, deserialize_with = "null_default")]
    pub rooms: Vec<LiveRoom>,
    #[serde(default, deserialize_with = "null_default")]
    pub users: Vec<User>,
    #[serde(default)]
    pub paging: Option<Paging>,
}

/// `DELETE /api/v1/rooms/{id}/participants`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ParticipantBody<'a> {
    pub participant_user_id: &'a str,
}

/// The error envelope (`global/error.yaml`); `code` is a number in the
/// spec, but read whatever comes.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ErrorBody {
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    #[serde(default)]
    pub message: Option<String>,
    /// `{"detail": [...]}`: what a validation error found.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

impl ErrorBody {
    /// The `data.detail` strings, if any.
    pub fn details(&self) -> Vec<String> {
        self.data
            .as_ref()
            .and_then(|d| d.get("detail"))
            .and_then(|d| d.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_absent_lists_read_as_empty() {
        let c: Channels = serde_json::from_str(
            r#"{"channels":null,"channelUsers":[{"userId":"a","roles":null}]}"#,
        )
        .unwrap();
        assert!(c.channels.is_empty() && c.users.is_empty());
        assert!(c.channel_users[0].roles.is_empty());
        assert_eq!(Paging::next(c.paging), None);
        let r: Rooms = serde_json::from_str(
            r#"{"rooms":[{"roomId":"r","participants":null}],"paging":{"next":"t","prev":null}}"#,
        )
        .unwrap();
        assert!(r.rooms[0].participants.is_empty());
        assert_eq!(Paging::next(r.paging).as_deref(), Some("t"));
    }

    #[test]
    fn bodies_are_written_as_the_sdk_writes_them() {
        let b = UsersBody {
            channel_id: "c",
            role: None,
            user_ids: vec!["a", "b"],
        };
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            r#"{"channelId":"c","userIds":["a","b"]}"#
        );
        let p = ParticipantBody {
            participant_user_id: "u",
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"participantUserId":"u"}"#
        );
    }
}
