//! Alfabet's password grant (`POST {base}/api/token`) and its token answer.

use std::fmt;

use anonymize_core::Result;
use anonymize_core::vendor::{Call, HttpClient, IssuedToken, Response, TokenSource, expires_in};
use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::model::WrongBaseUrl;

/// The authorization scheme Alfabet documents (`Authorization: bearer eyJ…`), used when the
/// token answer has no `token_type` and for pre-issued tokens unless told otherwise.
pub const DEFAULT_SCHEME: &str = "bearer";

/// `grant_type=password&username=…&password=…`, form-encoded, to `{base}/api/token`. It owns
/// what it needs: the API's HTTP client without an authorizer, the token URL and the
/// credentials.
pub(crate) struct PasswordGrant {
    http: HttpClient,
    url: Url,
    username: SecretString,
    password: SecretString,
}

impl PasswordGrant {
    /// A grant against `{base}/api/token` of `http` (which must have no authorizer).
    pub(crate) fn new(http: HttpClient, username: SecretString, password: SecretString) -> Self {
        let url = http.url(&["api", "token"]);
        Self {
            http,
            url,
            username,
            password,
        }
    }
}

impl fmt::Debug for PasswordGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The user name can be a person's name or address: redacted like the password.
        f.debug_struct("PasswordGrant")
            .field("url", &self.url.as_str())
            .field("username", &"<redacted>")
            .field("password", &"<redacted>")
            .finish()
    }
}

#[async_trait]
impl TokenSource for PasswordGrant {
    fn vendor(&self) -> &'static str {
        crate::VENDOR
    }

    async fn fetch(&self) -> Result<IssuedToken> {
        let call = Call::new("fetch token", Method::POST, self.url.clone())
            .form([
                ("grant_type", "password"),
                ("username", self.username.expose_secret()),
                ("password", self.password.expose_secret()),
            ])
            .expect_status(StatusCode::OK);
        // A refused grant becomes a batch-stopping error in core's token cache; a 404 means the
        // base URL is wrong, which the client says in its own words.
        let response = self
            .http
            .execute(call)
            .await
            .map_err(|e| WrongBaseUrl::check(e, "token"))?;
        read_token(&response)
    }
}

/// Read `{"token_type":"bearer","access_token":"…","expires_in":1200}`: `token_type` kept exactly
/// as given (default `bearer`), `expires_in` a number or a numeric string (missing or unreadable:
/// the cache's default lifetime, core's one rule). The token is not decoded; core's token cache
/// refuses a blank one.
fn read_token(response: &Response) -> Result<IssuedToken> {
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
        Some(Value::String(s)) => SecretString::from(s.trim().to_owned()),
        Some(_) => return Err(response.unexpected("`access_token` is not a string")),
        None => return Err(response.unexpected("the token answer has no `access_token`")),
    };
    let scheme = match field("token_type") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        None | Some(Value::Null) | Some(Value::String(_)) => DEFAULT_SCHEME.to_owned(),
        Some(_) => return Err(response.unexpected("`token_type` is not a string")),
    };
    Ok(IssuedToken::new(
        scheme,
        token,
        field("expires_in").and_then(expires_in),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use anonymize_core::HttpConfig;

    #[test]
    fn debug_hides_both_secrets() {
        let http = HttpClient::new(
            crate::VENDOR,
            Url::parse("https://host/AlfabetAPIServer").unwrap(),
            HttpConfig::default(),
        )
        .unwrap();
        let g = PasswordGrant::new(
            http,
            SecretString::from("jane.doe@example.com"),
            SecretString::from("hunter2-secret"),
        );
        let shown = format!("{g:?}");
        assert!(!shown.contains("jane"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("/AlfabetAPIServer/api/token"), "{shown}");
    }
}
