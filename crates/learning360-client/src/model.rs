//! The vendor's wire types: [`User`] and [`UserStatus`], the token answer, v1's pseudonymize
//! answer, and the vendor's error bodies ([`read_error_body`]).

use std::fmt;

use anonymize_core::vendor::ErrorBody;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::id::UserId;

/// A user's status. Values this crate does not know are kept in [`UserStatus::Other`].
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserStatus {
    /// An active user.
    Active,
    /// Invited, not yet active.
    Invited,
    /// Soft-deleted (the state pseudonymization requires).
    Deleted,
    /// A status this crate does not know, as the vendor wrote it.
    Other(String),
}

impl UserStatus {
    /// The status as the vendor writes it.
    pub fn as_str(&self) -> &str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Invited => "invited",
            UserStatus::Deleted => "deleted",
            UserStatus::Other(s) => s,
        }
    }

    /// Read the vendor's spelling (any other value becomes [`UserStatus::Other`]).
    pub fn from_wire(s: &str) -> Self {
        match s {
            "active" => UserStatus::Active,
            "invited" => UserStatus::Invited,
            "deleted" => UserStatus::Deleted,
            other => UserStatus::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserStatus::Other(s) => write!(f, "Other({s:?})"),
            known => f.write_str(known.as_str()),
        }
    }
}

impl Serialize for UserStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for UserStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::from_wire(&s))
    }
}

/// A 360Learning user (the `UserDTO` schema of API v2).
///
/// Only `_id` is required: every other field is optional, because older answers and examples
/// leave fields out (and some write `"deleted": true` instead of `status`). Fields this crate does
/// not know are kept in [`extra`](Self::extra) and written back by `Serialize`.
///
/// A user is personal data: `Debug` shows the id, status and language only; every other field
/// that is present is shown as `<redacted>`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user's id.
    #[serde(rename = "_id")]
    pub id: UserId,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
    /// Login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Status (`active`, `invited`, `deleted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
    /// The older boolean form of the status (`"deleted": true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    /// Language code (`en`, `fr`, `nl_BE`…), kept as the vendor wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// First name.
    #[serde(rename = "firstName", default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(rename = "lastName", default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The profile's "Additional information" text (not the custom fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<String>,
    /// When the user was soft-deleted (ISO 8601, UTC), oldest first.
    #[serde(rename = "deletedAt", default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_at: Vec<String>,
    /// When the user was reactivated (ISO 8601, UTC).
    #[serde(
        rename = "reactivatedAt",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub reactivated_at: Vec<String>,
    /// Last login (ISO 8601, UTC).
    #[serde(
        rename = "lastLoginDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_login_date: Option<String>,
    /// Planned deactivation (ISO 8601, UTC).
    #[serde(
        rename = "toBeDeactivatedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub to_be_deactivated_at: Option<String>,
    /// Id of the user's primary group.
    #[serde(
        rename = "primaryGroupId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub primary_group_id: Option<String>,
    /// Id of the user's profile image.
    #[serde(
        rename = "profileImageId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub profile_image_id: Option<String>,
    /// Every field this crate does not know, as the vendor sent it.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl User {
    /// A user with this id and nothing else.
    pub fn new(id: UserId) -> Self {
        Self {
            id,
            mail: None,
            username: None,
            status: None,
            deleted: None,
            lang: None,
            first_name: None,
            last_name: None,
            job: None,
            organization: None,
            phone: None,
            custom: None,
            deleted_at: Vec::new(),
            reactivated_at: Vec::new(),
            last_login_date: None,
            to_be_deactivated_at: None,
            primary_group_id: None,
            profile_image_id: None,
            extra: Map::new(),
        }
    }

    /// The status, read from `status` or, in older answers, from `"deleted": true|false`.
    /// `None` when the answer says neither.
    pub fn effective_status(&self) -> Option<UserStatus> {
        match (&self.status, self.deleted) {
            (Some(status), _) => Some(status.clone()),
            (None, Some(true)) => Some(UserStatus::Deleted),
            (None, Some(false)) => Some(UserStatus::Active),
            (None, None) => None,
        }
    }

    /// Whether the user is soft-deleted (by `status` or the older `deleted` flag).
    pub fn is_deleted(&self) -> bool {
        self.effective_status() == Some(UserStatus::Deleted)
    }

    /// The names of the personal-data fields that still hold a value (e.g. after pseudonymization,
    /// the vendor documents replacing names, e-mail and username only).
    pub fn personal_fields_present(&self) -> Vec<&'static str> {
        [
            ("job", self.job.is_some()),
            ("organization", self.organization.is_some()),
            ("phone", self.phone.is_some()),
            ("custom", self.custom.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn r<T>(v: &Option<T>) -> Option<&'static str> {
            v.as_ref().map(|_| "<redacted>")
        }
        f.debug_struct("User")
            .field("id", &self.id)
            .field("status", &self.effective_status())
            .field("lang", &self.lang)
            .field("mail", &r(&self.mail))
            .field("username", &r(&self.username))
            .field("first_name", &r(&self.first_name))
            .field("last_name", &r(&self.last_name))
            .field("job", &r(&self.job))
            .field("organization", &r(&self.organization))
            .field("phone", &r(&self.phone))
            .field("custom", &r(&self.custom))
            .field("deleted_at", &self.deleted_at.len())
            .field("extra_fields", &self.extra.len())
            .finish_non_exhaustive()
    }
}

/// The answer of API v1's pseudonymize call: `{"message": "user_personal_data_removed_successfully"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct V1PseudonymizeResponse {
    /// The vendor's acknowledgement, e.g. `user_personal_data_removed_successfully`.
    #[serde(default)]
    pub message: Option<String>,
}

impl V1PseudonymizeResponse {
    /// The acknowledgement the vendor documents for success.
    pub const SUCCESS: &'static str = "user_personal_data_removed_successfully";

    /// Whether the message is the documented success acknowledgement.
    pub fn is_success(&self) -> bool {
        self.message.as_deref() == Some(Self::SUCCESS)
    }
}

/// The answer of `POST /api/v2/oauth2/token`. No `Debug`: the token is wrapped in a
/// `SecretString` as soon as it is read.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    pub(crate) access_token: String,
    /// Seconds, as a number or (in the vendor's own example) a string; unreadable is `None`
    /// (core's one rule: the token cache's default lifetime).
    #[serde(
        default,
        deserialize_with = "anonymize_core::vendor::deserialize_expires_in"
    )]
    pub(crate) expires_in: Option<std::time::Duration>,
}

/// Read one of 360Learning's error bodies, which come in two shapes, sometimes for the same status:
///
/// - `{"error":"invalid_token"}`: the OAuth 2 shape, read by [`ErrorBody::standard`];
/// - `{"error":{"code":"userNotFound","message":"…"}}`: the vendor's own, read here.
///
/// Anything else falls back to [`ErrorBody::standard`] (problem details, plain text). Given to
/// the HTTP client once, by the builder, for v2 and v1 alike (v1's bodies are undocumented).
pub(crate) fn read_error_body(body: &[u8]) -> ErrorBody {
    fn text(v: Option<&Value>) -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body)
        && let Some(Value::Object(error)) = map.get("error")
    {
        return ErrorBody::new(text(error.get("code")), text(error.get("message")));
    }
    ErrorBody::standard(body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const FULL: &str = r#"{
      "_id": "507f1f77bcf86cd799439011",
      "mail": "john.smith@example.com",
      "username": "johnsmith",
      "status": "active",
      "lang": "bg",
      "firstName": "John",
      "lastName": "Smith",
      "job": "Engineer",
      "organization": "360Learning",
      "phone": "+33123456789",
      "custom": "Half-time worker",
      "deletedAt": ["2025-12-23T10:42:50.300Z"],
      "reactivatedAt": ["2025-12-23T10:42:50.300Z"],
      "lastLoginDate": "2025-12-23T10:42:50.300Z",
      "toBeDeactivatedAt": "2025-12-23T10:42:50.300Z",
      "primaryGroupId": "507f1f77bcf86cd799439012",
      "futureField": {"nested": [1, 2]}
    }"#;

    #[test]
    fn reads_the_documented_example_and_keeps_unknown_fields() {
        let u: User = serde_json::from_str(FULL).unwrap();
        assert_eq!(u.id.to_string(), "507f1f77bcf86cd799439011");
        assert_eq!(u.status, Some(UserStatus::Active));
        assert_eq!(u.first_name.as_deref(), Some("John"));
        assert_eq!(u.deleted_at.len(), 1);
        assert_eq!(u.extra["futureField"]["nested"][1], 2);
        let back: Value = serde_json::to_value(&u).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(FULL).unwrap());
        assert!(!u.is_deleted());
        assert_eq!(
            u.personal_fields_present(),
            vec!["job", "organization", "phone", "custom"]
        );
    }

    #[test]
    fn only_the_id_is_required() {
        let u: User = serde_json::from_str(r#"{"_id":"507f1f77bcf86cd799439011"}"#).unwrap();
        assert_eq!(u, User::new(u.id));
        assert_eq!(u.effective_status(), None);
        assert!(serde_json::from_str::<User>(r#"{"mail":"a@b.c"}"#).is_err());
    }

    #[test]
    fn older_deleted_flag_and_unknown_statuses() {
        let u: User =
            serde_json::from_str(r#"{"_id":"507f1f77bcf86cd799439011","deleted":true}"#).unwrap();
        assert!(u.is_deleted());
        let u: User =
            serde_json::from_str(r#"{"_id":"507f1f77bcf86cd799439011","deleted":false}"#).unwrap();
        assert_eq!(u.effective_status(), Some(UserStatus::Active));
        let u: User =
            serde_json::from_str(r#"{"_id":"507f1f77bcf86cd799439011","status":"archived"}"#)
                .unwrap();
        assert_eq!(u.status, Some(UserStatus::Other("archived".into())));
        assert_eq!(serde_json::to_value(&u).unwrap()["status"], "archived");
        for s in ["active", "invited", "deleted"] {
            assert_eq!(UserStatus::from_wire(s).as_str(), s);
            assert_eq!(UserStatus::from_wire(s).to_string(), s);
        }
    }

    #[test]
    fn debug_redacts_personal_data() {
        let u: User = serde_json::from_str(FULL).unwrap();
        let shown = format!("{u:?}");
        for secret in [
            "john",
            "John",
            "Smith",
            "+33",
            "Engineer",
            "Half-time",
            "nested",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("507f1f77bcf86cd799439011"));
        assert!(shown.contains("active"));
    }

    #[test]
    fn both_error_shapes_and_the_fallback() {
        let read = |s: &str| {
            let b = read_error_body(s.as_bytes());
            (b.code, b.message)
        };
        assert_eq!(
            read(r#"{"error":{"code":"userNotFound","message":"No such user."}}"#),
            (Some("userNotFound".into()), Some("No such user.".into()))
        );
        assert_eq!(
            read(r#"{"error":{"code":"invalid_scope"}}"#),
            (Some("invalid_scope".into()), None)
        );
        assert_eq!(
            read(r#"{"error":"tooManyRequests"}"#),
            (Some("tooManyRequests".into()), None)
        );
        assert_eq!(
            read(r#"{"error":"invalid_client","error_description":"Bad client."}"#),
            (Some("invalid_client".into()), Some("Bad client.".into()))
        );
        assert_eq!(
            read("Service Unavailable"),
            (None, Some("Service Unavailable".into()))
        );
        assert_eq!(read("<html>502</html>"), (None, None));
        assert_eq!(read(r#"{"error":["userNotFound"]}"#), (None, None));
        assert_eq!(read(""), (None, None));
    }

    #[test]
    fn v1_answer() {
        let r: V1PseudonymizeResponse =
            serde_json::from_str(r#"{"message":"user_personal_data_removed_successfully"}"#)
                .unwrap();
        assert!(r.is_success());
        let r: V1PseudonymizeResponse = serde_json::from_str("{}").unwrap();
        assert!(!r.is_success());
    }
}
