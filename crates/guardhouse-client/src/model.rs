//! Guardhouse's wire types: users, their status, roles and pages of users, the body of an
//! anonymization, and the reader of Guardhouse's error bodies.
//!
//! Parsing is tolerant: unknown fields are ignored, fields the vendor may leave out are optional,
//! a status Guardhouse adds later is kept as [`UserStatus::Unknown`], and ids of roles and
//! permissions are read whether they come as numbers or strings.

use std::fmt;

use anonymize_core::vendor::ErrorBody;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::id::UserId;

/// A user's status. Guardhouse sends it as a number (1 Staged, 2 Invited, 3 Active, 4 Archived);
/// its name (`"Archived"`, any case) or a numeric string is read too.
///
/// An anonymized user reads back as [`Archived`](UserStatus::Archived).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserStatus {
    /// `1`: created, not yet invited.
    Staged,
    /// `2`: invited, not yet signed in.
    Invited,
    /// `3`: active.
    Active,
    /// `4`: archived (what anonymization leaves).
    Archived,
    /// A number this client does not know, kept as sent.
    Unknown(i64),
    /// A name this client does not know, kept as sent.
    UnknownName(String),
}

impl UserStatus {
    /// The status for Guardhouse's number.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => Self::Staged,
            2 => Self::Invited,
            3 => Self::Active,
            4 => Self::Archived,
            other => Self::Unknown(other),
        }
    }

    /// The status for a name (`Active`, `archived`…) or a number written as text.
    pub fn from_name(name: &str) -> Self {
        let name = name.trim();
        if let Ok(code) = name.parse::<i64>() {
            return Self::from_code(code);
        }
        match name.to_ascii_lowercase().as_str() {
            "staged" => Self::Staged,
            "invited" => Self::Invited,
            "active" => Self::Active,
            "archived" => Self::Archived,
            _ => Self::UnknownName(name.to_owned()),
        }
    }

    /// Guardhouse's number for this status, when it has one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Staged => Some(1),
            Self::Invited => Some(2),
            Self::Active => Some(3),
            Self::Archived => Some(4),
            Self::Unknown(code) => Some(*code),
            Self::UnknownName(_) => None,
        }
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Staged => f.write_str("Staged"),
            Self::Invited => f.write_str("Invited"),
            Self::Active => f.write_str("Active"),
            Self::Archived => f.write_str("Archived"),
            Self::Unknown(code) => write!(f, "unknown status {code}"),
            Self::UnknownName(name) => write!(f, "unknown status {name:?}"),
        }
    }
}

impl Serialize for UserStatus {
    /// As Guardhouse's number; an unknown name as the name.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::UnknownName(name) => s.serialize_str(name),
            other => s.serialize_i64(other.code().unwrap_or_default()),
        }
    }
}

impl<'de> Deserialize<'de> for UserStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl de::Visitor<'_> for Visitor {
            type Value = UserStatus;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user status (a number or a name)")
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<UserStatus, E> {
                Ok(UserStatus::from_code(n))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<UserStatus, E> {
                i64::try_from(n)
                    .map(UserStatus::from_code)
                    .map_err(|_| E::custom("status number out of range"))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<UserStatus, E> {
                Ok(UserStatus::from_name(s))
            }
        }

        d.deserialize_any(Visitor)
    }
}

/// A role or a system permission of a user: an id and a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NamedRef {
    /// The id, as text (Guardhouse may send a number or a string).
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// The name.
    #[serde(default)]
    pub name: Option<String>,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        _ => Err(de::Error::custom("expected a string or a number")),
    }
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A Guardhouse user, as `GET /api/v1/users/{id}` answers.
///
/// Holds personal data: its `Debug` prints the id, status, roles and permissions, and redacts
/// the e-mail address, the names, the avatar URL and the last sign-in.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// The user's id (a JSON number on the wire; a numeric string is read too).
    #[serde(with = "crate::id::json_number")]
    pub id: UserId,
    /// The e-mail address (after anonymization a unique `…@deleted.guardhouse.local` address).
    #[serde(default)]
    pub email: Option<String>,
    /// The first name (`Deleted` after anonymization).
    #[serde(default)]
    pub first_name: Option<String>,
    /// The last name (`User` after anonymization).
    #[serde(default)]
    pub last_name: Option<String>,
    /// The status (`Archived` after anonymization). `None` when the answer had none.
    #[serde(default)]
    pub status: Option<UserStatus>,
    /// The avatar's URL, when the user has one.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// The user's roles.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub roles: Vec<NamedRef>,
    /// The user's system permissions.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub system_permissions: Vec<NamedRef>,
    /// When the user last signed in, as Guardhouse wrote it (the format is not documented).
    #[serde(default)]
    pub last_login: Option<String>,
}

impl User {
    /// Whether this user's e-mail address is `email`, ignoring case.
    pub fn has_email(&self, email: &anonymize_core::Email) -> bool {
        self.email.as_deref().is_some_and(|e| email.matches(e))
    }
}

struct Redacted(bool);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "<redacted>" } else { "None" })
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &Redacted(self.email.is_some()))
            .field("first_name", &Redacted(self.first_name.is_some()))
            .field("last_name", &Redacted(self.last_name.is_some()))
            .field("status", &self.status)
            .field("avatar_url", &Redacted(self.avatar_url.is_some()))
            .field("roles", &self.roles)
            .field("system_permissions", &self.system_permissions)
            .field("last_login", &Redacted(self.last_login.is_some()))
            .finish()
    }
}

/// One page of `GET /api/v1/users?email=…&pageSize=…&offset=…`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsersPage {
    /// How many users match the filter in all (`None` when the answer did not say).
    #[serde(default)]
    pub total: Option<u64>,
    /// The users of this page.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub users: Vec<User>,
}

/// The body of `PUT /api/v1/users/{id}/personal-data`: what Guardhouse should do besides
/// anonymizing. Both default to `false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AnonymizeOptions {
    /// Let Guardhouse run its webhook workflow (the result is not reported back).
    #[serde(default)]
    pub trigger_webhook: bool,
    /// Let Guardhouse notify the user by e-mail (the result is not reported back).
    #[serde(default)]
    pub notify_user_via_email: bool,
}

impl AnonymizeOptions {
    /// Set `triggerWebhook`.
    #[must_use]
    pub fn trigger_webhook(mut self, on: bool) -> Self {
        self.trigger_webhook = on;
        self
    }

    /// Set `notifyUserViaEmail`.
    #[must_use]
    pub fn notify_user_via_email(mut self, on: bool) -> Self {
        self.notify_user_via_email = on;
        self
    }
}

/// Read one of Guardhouse's error bodies; the builder gives it to the HTTP client once.
///
/// Guardhouse documents short text (`User not found`) and promises no JSON. Its ASP.NET server
/// may still send the text as a JSON string (`"User not found"`, when the client accepts JSON) or
/// as `{"Message": "…"}` (`message` in camel case); those are read here. Anything else is one of
/// the standard shapes core reads ([`ErrorBody::standard`]: problem details, an OAuth error, plain
/// text).
pub(crate) fn read_error_body(body: &[u8]) -> ErrorBody {
    use serde_json::Value;
    let message = match serde_json::from_slice::<Value>(body) {
        Ok(Value::String(text)) => Some(text),
        Ok(Value::Object(map)) if !map.contains_key("error") => ["Message", "message"]
            .iter()
            .find_map(|key| map.get(*key).and_then(Value::as_str).map(str::to_owned)),
        _ => None,
    };
    match message {
        Some(message) => ErrorBody::new(None, Some(message)),
        None => ErrorBody::standard(body),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const FULL: &str = r#"{
        "id": 101,
        "email": "Jane.Doe@Example.com",
        "firstName": "Jane",
        "lastName": "Doe",
        "status": 3,
        "avatarUrl": "https://cdn.example.com/jane-doe.png",
        "roles": [{"id": 1, "name": "Admin"}, {"id": "b7c1", "name": "Editor"}],
        "systemPermissions": [{"id": 9, "name": "users.read"}],
        "lastLogin": "2026-01-02T03:04:05Z",
        "phoneNumber": "+4912345",
        "somethingNew": {"x": 1}
    }"#;

    #[test]
    fn reads_the_documented_shape_and_ignores_unknown_fields() {
        let user: User = serde_json::from_str(FULL).unwrap();
        assert_eq!(user.id.get(), 101);
        assert_eq!(user.email.as_deref(), Some("Jane.Doe@Example.com"));
        assert_eq!(user.first_name.as_deref(), Some("Jane"));
        assert_eq!(user.status, Some(UserStatus::Active));
        assert_eq!(user.roles.len(), 2);
        assert_eq!(user.roles[0].id, "1");
        assert_eq!(user.roles[1].id, "b7c1");
        assert_eq!(
            user.system_permissions[0].name.as_deref(),
            Some("users.read")
        );
        assert_eq!(user.last_login.as_deref(), Some("2026-01-02T03:04:05Z"));
        assert!(user.has_email(&anonymize_core::Email::parse("jane.doe@example.COM").unwrap()));
    }

    /// Guardhouse's error bodies are short text (`User not found`); an ASP.NET server may also
    /// send the text as a JSON string, as `{"Message": …}`, or as problem details.
    #[test]
    fn error_bodies() {
        let p = |s: &str| {
            let body = read_error_body(s.as_bytes());
            (body.code, body.message)
        };
        assert_eq!(p("User not found"), (None, Some("User not found".into())));
        assert_eq!(
            p("\"Failed to anonymize user data.\""),
            (None, Some("Failed to anonymize user data.".into()))
        );
        assert_eq!(
            p(r#"{"Message":"Failed to anonymize user data."}"#),
            (None, Some("Failed to anonymize user data.".into()))
        );
        assert_eq!(
            p(r#"{"message":"User not found"}"#),
            (None, Some("User not found".into()))
        );
        assert_eq!(
            p(
                r#"{"type":"x","title":"Bad Request","status":400,"detail":"Failed to anonymize user data."}"#
            ),
            (None, Some("Failed to anonymize user data.".into()))
        );
        assert_eq!(
            p(r#"{"title":"Forbidden","status":403}"#),
            (None, Some("Forbidden".into()))
        );
        assert_eq!(
            p(r#"{"error":"invalid_client"}"#),
            (Some("invalid_client".into()), None)
        );
        assert_eq!(
            p(r#"{"error":"invalid_client","message":"not this one"}"#),
            (Some("invalid_client".into()), None)
        );
        assert_eq!(p(""), (None, None));
        assert_eq!(p("<html><body>502</body></html>"), (None, None));
    }

    #[test]
    fn reads_a_minimal_shape() {
        let user: User =
            serde_json::from_str(r#"{"id":"7","roles":null,"avatarUrl":null}"#).unwrap();
        assert_eq!(user.id.get(), 7);
        assert_eq!(user.status, None);
        assert!(user.roles.is_empty() && user.system_permissions.is_empty());
        assert_eq!(user.avatar_url, None);
    }

    #[test]
    fn debug_redacts_personal_data() {
        let user: User = serde_json::from_str(FULL).unwrap();
        let shown = format!("{user:?}");
        for personal in ["Jane", "Doe", "Example.com", "jane-doe", "2026-01-02"] {
            assert!(!shown.contains(personal), "{personal} in {shown}");
        }
        assert!(shown.contains("101") && shown.contains("Active") && shown.contains("Admin"));
        let page = UsersPage {
            total: Some(1),
            users: vec![user],
        };
        assert!(!format!("{page:?}").contains("Jane"));
    }

    #[test]
    fn status_numbers_names_and_unknowns() {
        let s = |json: &str| serde_json::from_str::<UserStatus>(json).unwrap();
        assert_eq!(s("1"), UserStatus::Staged);
        assert_eq!(s("2"), UserStatus::Invited);
        assert_eq!(s("3"), UserStatus::Active);
        assert_eq!(s("4"), UserStatus::Archived);
        assert_eq!(s("17"), UserStatus::Unknown(17));
        assert_eq!(s("-1"), UserStatus::Unknown(-1));
        assert_eq!(s(r#""Archived""#), UserStatus::Archived);
        assert_eq!(s(r#""active""#), UserStatus::Active);
        assert_eq!(s(r#""4""#), UserStatus::Archived);
        assert_eq!(s(r#""Locked""#), UserStatus::UnknownName("Locked".into()));
        assert!(serde_json::from_str::<UserStatus>("true").is_err());
        assert_eq!(serde_json::to_string(&UserStatus::Archived).unwrap(), "4");
        assert_eq!(serde_json::to_string(&UserStatus::Unknown(9)).unwrap(), "9");
        assert_eq!(UserStatus::Unknown(9).to_string(), "unknown status 9");
        assert_eq!(UserStatus::Archived.to_string(), "Archived");
    }

    #[test]
    fn pages_and_options() {
        let page: UsersPage =
            serde_json::from_str(r#"{"total":3,"users":[{"id":1},{"id":2}]}"#).unwrap();
        assert_eq!(page.total, Some(3));
        assert_eq!(page.users.len(), 2);
        let page: UsersPage = serde_json::from_str(r#"{"users":[]}"#).unwrap();
        assert_eq!(page.total, None);
        assert_eq!(
            serde_json::to_string(&AnonymizeOptions::default()).unwrap(),
            r#"{"triggerWebhook":false,"notifyUserViaEmail":false}"#
        );
        let on = AnonymizeOptions::default()
            .trigger_webhook(true)
            .notify_user_via_email(true);
        assert_eq!(
            serde_json::to_string(&on).unwrap(),
            r#"{"triggerWebhook":true,"notifyUserViaEmail":true}"#
        );
    }
}
