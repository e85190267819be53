//! Symphony's JSON shapes, as far as the adapter reads or sends them
//! (pod API spec: `V3RoomSearchResults`, `StreamAttributes`, `V3RoomDetail`,
//! `MemberInfo`, `V2MembershipList`, `UserId`, `SuccessResponse`, `Error`;
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomSystemInfo {
    pub id: String,
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
    pub room_system_info: RoomSystemInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    #[serde(default)]
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
    pub id: String,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub stream_type: Option<StreamType>,
    #[serde(default)]
    pub room_attributes: Option<RoomAttributes>,
}

/// One `MemberInfo` of `GET /pod/v2/room/{id}/membership/list`.
#[derive(Deserialize)]
pub struct MemberInfo {
    pub id: i64,
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
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub members: Vec<AdminMember>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminMember {
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminUser {
    pub user_id: i64,
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
