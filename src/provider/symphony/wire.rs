//! Symphony's JSON shapes, as far as the adapter reads or sends them
//! (pod API spec: `V3RoomSearchResults`, `StreamAttributes`, `V3RoomDetail`,
//! `MemberInfo`, `V2MembershipList`, `V2AdminStreamFilter`,
//! `V2AdminStreamList`, `UserId`, `SuccessResponse`, `Error`;
//! login spec: `AuthenticateRequest`, `Token`). Unknown fields are ignored.

use serde::{Deserialize, Serialize};

/// `{"id": <int64>}`: the body of every membership call.
#[derive(Serialize)]
pub struct UserIdBody {
    pub id: i64,
}

/// `{"token": "<jwt>"}` for `POST /login/pubkey/authenticate`.
#[derive(Serialize)]
pub struct AuthenticateRequest<'a> {
    pub token: &'a str,
}

/// The login answer: `name` is the header to send the token in.
#[derive(Deserialize)]
pub struct Token {
    #[serde(default)]
    pub name: Option<String>,
    pub token: String,
}

/// The JWT claims of a bot login.
#[derive(Serialize)]
pub struct Claims<'a> {
    pub sub: &'a str,
    pub exp: u64,
}

/// `{"code": <int>, "message": "<text>"}`.
#[derive(Deserialize, Default)]
pub struct ErrorBody {
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    #[serde(default)]
    pub message: Option<String>,
}

/// `{"format":"TEXT","message":"..."}`.
#[derive(Deserialize)]
pub struct SuccessResponse {
    #[serde(default)]
    pub message: Option<String>,
}

/// `V2RoomSearchCriteria`: only `query` is required.
#[derive(Serialize)]
pub struct SearchCriteria<'a> {
    pub query: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RoomAttributes {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RoomSystemInfo {
    /// No spec property is required; a room without an id is skipped.
    #[serde(default)]
    pub id: Option<String>,
    /// Absent means active: the spec lists it as optional.
    #[serde(default)]
    pub active: Option<bool>,
}

/// `V3RoomDetail`, also one item of `V3RoomSearchResults.rooms`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomDetail {
    #[serde(default)]
    pub room_attributes: RoomAttributes,
    #[serde(default)]
    pub room_system_info: RoomSystemInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    #[serde(default, deserialize_with = "opt_count")]
    pub count: Option<u64>,
    #[serde(default)]
    pub rooms: Vec<RoomDetail>,
}

/// `V2StreamFilter` for `POST /pod/v1/streams/list`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamFilter {
    pub stream_types: Vec<StreamType>,
    pub include_inactive_streams: bool,
}

#[derive(Serialize, Deserialize)]
pub struct StreamType {
    #[serde(rename = "type")]
    pub kind: String,
}

/// One `StreamAttributes` of `POST /pod/v1/streams/list`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamAttributes {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub stream_type: Option<StreamType>,
    #[serde(default)]
    pub room_attributes: Option<RoomAttributes>,
}

/// `V2AdminStreamFilter` for `POST /pod/v2/admin/streams/list`: rooms
/// only; no `status`, so active and inactive rooms both come [inf: the
/// filter's fields are all optional].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminStreamFilter {
    pub stream_types: Vec<StreamType>,
}

/// `V2AdminStreamList`: `count` is the total, `streams` the page.
#[derive(Deserialize, Default)]
pub struct AdminStreamList {
    #[serde(default, deserialize_with = "opt_count")]
    pub count: Option<u64>,
    #[serde(default)]
    pub streams: Vec<AdminStreamInfo>,
}

/// One `V2AdminStreamInfo`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminStreamInfo {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub is_active: Option<bool>,
    /// `"ROOM"`, `"IM"`, `"MIM"`; read as a string or as `{"type": …}`.
    #[serde(default, rename = "type")]
    pub kind: Option<serde_json::Value>,
    #[serde(default)]
    pub attributes: Option<AdminStreamAttributes>,
}

impl AdminStreamInfo {
    /// A room, or a stream of unstated type (the filter asked for rooms).
    pub fn is_room(&self) -> bool {
        let kind = match &self.kind {
            Some(serde_json::Value::String(k)) => Some(k.as_str()),
            Some(serde_json::Value::Object(o)) => o.get("type").and_then(|t| t.as_str()),
            _ => None,
        };
        kind.is_none_or(|k| k == "ROOM")
    }
}

/// `V2AdminStreamAttributes`, as far as the console reads it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AdminStreamAttributes {
    #[serde(default)]
    pub room_name: Option<String>,
    #[serde(default, deserialize_with = "opt_count")]
    pub members_count: Option<u64>,
}

/// One `MemberInfo` of `GET /pod/v2/room/{id}/membership/list`.
#[derive(Deserialize)]
pub struct MemberInfo {
    /// An int64 JSON number [spec]; a numeric string is read too, and a
    /// row without a usable id is skipped.
    #[serde(default, deserialize_with = "opt_int64")]
    pub id: Option<i64>,
    #[serde(default)]
    pub owner: Option<bool>,
    #[serde(default, rename = "isOwner")]
    pub is_owner: Option<bool>,
}

impl MemberInfo {
    pub fn is_owner(&self) -> bool {
        self.owner.unwrap_or(false) || self.is_owner.unwrap_or(false)
    }
}

/// `V2MembershipList` of `GET /pod/v1/admin/stream/{id}/membership/list`.
#[derive(Deserialize)]
pub struct MembershipList {
    #[serde(default, deserialize_with = "opt_count")]
    pub count: Option<u64>,
    #[serde(default)]
    pub members: Vec<AdminMember>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminMember {
    #[serde(default)]
    pub user: AdminUser,
    #[serde(default)]
    pub is_owner: Option<bool>,
    #[serde(default)]
    pub owner: Option<bool>,
}

impl AdminMember {
    pub fn is_owner(&self) -> bool {
        self.is_owner.unwrap_or(false) || self.owner.unwrap_or(false)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AdminUser {
    #[serde(default, deserialize_with = "opt_int64")]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
}

impl AdminUser {
    /// `displayName`, else first and last name, else nothing.
    pub fn name(&self) -> Option<String> {
        if let Some(d) = self
            .display_name
            .as_deref()
            .filter(|d| !d.trim().is_empty())
        {
            return Some(d.to_string());
        }
        let parts: Vec<&str> = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|p| !p.trim().is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// An int64 as a JSON number (the spec) or a numeric string; anything else
/// (null, absent, a fraction) is none.
fn opt_int64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A count as a number or a numeric string; anything else is unknown.
fn opt_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_shapes_decode_and_missing_optional_fields_are_tolerated() {
        // MemberInfo: `owner` [spec]; `isOwner` read too. Ids beyond 2^53
        // stay exact.
        let list: Vec<MemberInfo> = serde_json::from_str(
            r#"[{"id":7078106103900,"owner":false,"joinDate":1461430710531},
                {"id":9007199254740993,"owner":true,"addedThroughGroups":[68719476744]},
                {"id":"7078106103811","isOwner":true},
                {"joinDate":1}]"#,
        )
        .unwrap();
        assert_eq!(list[1].id, Some(9_007_199_254_740_993));
        assert!(!list[0].is_owner() && list[1].is_owner() && list[2].is_owner());
        assert_eq!(list[2].id, Some(7_078_106_103_811));
        assert_eq!(list[3].id, None);

        // V2MembershipList: `isOwner` [spec]; `owner` read too.
        let page: MembershipList = serde_json::from_str(
            r#"{"count":3,"skip":0,"limit":100,"members":[
                {"user":{"userId":13537736917000,"email":"j@x","firstName":"John","lastName":"Doe",
                         "displayName":"John Doe","company":"pod197","companyId":197,"isExternal":false},
                 "isOwner":true,"isCreator":true,"joinDate":1604494574047},
                {"user":{"userId":13537736917001},"owner":true},
                {"isOwner":false}]}"#,
        )
        .unwrap();
        assert_eq!(page.count, Some(3));
        assert!(page.members[0].is_owner() && page.members[1].is_owner());
        assert_eq!(page.members[0].user.name().as_deref(), Some("John Doe"));
        assert_eq!(page.members[2].user.user_id, None);

        // StreamAttributes [spec]: id, crossPod, active, streamType.type,
        // streamAttributes.members, roomAttributes.name.
        let streams: Vec<StreamAttributes> = serde_json::from_str(
            r#"[{"id":"iWyZBIOdQQzQj0tKOLRivX___qu6YeyZdA","crossPod":false,"active":true,
                 "streamType":{"type":"ROOM"},"roomAttributes":{"name":"Room 1"}},
                {"id":"xhGxbTcvTDK6EIMMrwdOrX___quztr2HdA","crossPod":false,"active":true,
                 "streamType":{"type":"IM"},"streamAttributes":{"members":[7215545058313,7215545078229]}},
                {"active":false}]"#,
        )
        .unwrap();
        assert_eq!(
            streams[0].room_attributes.as_ref().unwrap().name.as_deref(),
            Some("Room 1")
        );
        assert_eq!(streams[1].stream_type.as_ref().unwrap().kind, "IM");
        assert!(streams[2].id.is_none());

        // V3RoomSearchResults: a room without roomSystemInfo decodes (and is
        // skipped by the adapter); `active` absent reads as active.
        let found: SearchResults = serde_json::from_str(
            r#"{"count":2,"skip":0,"limit":10,"query":{"query":"a"},
                "rooms":[{"roomAttributes":{"name":"A"},
                          "roomSystemInfo":{"id":"tzwvAZIdDMG3ZPRxv+xsgH///qr+JJkWdA==","creationDate":1464615003895,
                                            "createdByUserId":7696581411197}},
                         {"roomAttributes":{"name":"B"}}],
                "facetedMatchCount":[{"facet":"industry","count":1}]}"#,
        )
        .unwrap();
        assert_eq!(found.rooms.len(), 2);
        assert_eq!(found.rooms[0].room_system_info.active, None);
        assert!(found.rooms[1].room_system_info.id.is_none());

        // Login Token [spec]: name, token, authorizationToken.
        let t: Token = serde_json::from_str(
            r#"{"name":"sessionToken","token":"abc","authorizationToken":"x.y.z"}"#,
        )
        .unwrap();
        assert_eq!(
            (t.name.as_deref(), t.token.as_str()),
            (Some("sessionToken"), "abc")
        );
    }
}
