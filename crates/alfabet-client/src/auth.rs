//! Alfabet's password grant (`POST api/token`) and the token answer.

use std::fmt;
use std::time::Duration;

use anonymize_core::{HttpClient, IssuedToken, Response, Result, TokenSource};
use async_trait::async_trait;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// The authorization scheme Alfabet documents (`Authorization: bearer eyJ…`), used when the
/// token answer has no `token_type` and for pre-issued tokens unless told otherwise.
pub const DEFAULT_SCHEME: &str = "bearer";

/// `grant_type=password&username=…&password=…` against `{base}/api/token`.
pub(crate) struct PasswordGrant {
    pub(crate) username: SecretString,
    pub(crate) password: SecretString,
}

impl fmt::Debug for PasswordGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The user name can be a person's name or address: redacted like the password.
        f.debug_struct("PasswordGrant")
            .field("username", &"<redacted>")
            .field("password", &"<redacted>")
            .finish()
    }
}

#[async_trait]
impl TokenSource for PasswordGrant {
    async fn fetch(&self, http: &HttpClient) -> Result<IssuedToken> {
        let url = http.url(&["api", "token"]);
        let call = anonymize_core::Call::new("request token", Method::POST, url).form([
            ("grant_type", "password"),
            ("username", self.username.expose_secret()),
            ("password", self.password.expose_secret()),
        ]);
        // A refused grant is mapped to a batch-stopping error by core (anonymize_core::token_error).
        let response = http.execute(call).await?;
        read_token(&response)
    }
}

/// Read `{"token_type":"bearer","access_token":"…","expires_in":1200}`: `token_type` kept exactly
/// as given (default `bearer`), `expires_in` a number or a numeric string (missing: the cache's
/// default lifetime). The token is not decoded.
pub(crate) fn read_token(response: &Response) -> Result<IssuedToken> {
    let value: Value = response.json()?;
    let Value::Object(map) = value else {
        return Err(response.unexpected("the token answer is not a JSON object"));
    };
    let field = |name: &str| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let token = match field("access_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => SecretString::from(s.trim().to_owned()),
        Some(Value::String(_)) => return Err(response.unexpected("`access_token` is empty")),
        Some(_) => return Err(response.unexpected("`access_token` is not a string")),
        None => return Err(response.unexpected("the token answer has no `access_token`")),
    };
    let scheme = match field("token_type") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        None | Some(Value::Null) | Some(Value::String(_)) => DEFAULT_SCHEME.to_owned(),
        Some(_) => return Err(response.unexpected("`token_type` is not a string")),
    };
    let expires_in = match field("expires_in") {
        None | Some(Value::Null) => None,
        Some(v) => Some(read_seconds(v).ok_or_else(|| {
            response.unexpected("`expires_in` is not a non-negative number of seconds")
        })?),
    };
    Ok(IssuedToken {
        scheme,
        token,
        expires_in,
    })
}

/// `expires_in` as a number or a numeric string: core's reading, shared by every vendor.
fn read_seconds(value: &Value) -> Option<Duration> {
    anonymize_core::auth::expires_in(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_hides_both_secrets() {
        let g = PasswordGrant {
            username: SecretString::from("jane.doe@example.com"),
            password: SecretString::from("hunter2-secret"),
        };
        let shown = format!("{g:?}");
        assert!(!shown.contains("jane"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn seconds_in_every_shape() {
        assert_eq!(
            read_seconds(&serde_json::json!(1200)),
            Some(Duration::from_secs(1200))
        );
        assert_eq!(
            read_seconds(&serde_json::json!("1200")),
            Some(Duration::from_secs(1200))
        );
        assert_eq!(
            read_seconds(&serde_json::json!(" 60 ")),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            read_seconds(&serde_json::json!(1.5)),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(read_seconds(&serde_json::json!(-1)), None);
        assert_eq!(read_seconds(&serde_json::json!("soon")), None);
        assert_eq!(read_seconds(&serde_json::json!(true)), None);
    }
}
