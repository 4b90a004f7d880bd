//! The token grant: OAuth client credentials at `POST /api/v2/oauth2/token`.

use std::fmt;
use std::time::Duration;

use anonymize_core::Result;
use anonymize_core::reqwest::Method;
use anonymize_core::reqwest::header::{ACCEPT, HeaderValue};
use anonymize_core::vendor::{Call, HttpClient, IssuedToken, RateLimiter, TokenSource};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::API_VERSION;
use crate::client::API_VERSION_HEADER;
use crate::model::TokenAnswer;

/// A [`TokenSource`] for 360Learning's client-credentials grant. It owns what a token request
/// needs: an HTTP client without an authorizer (a clone of the API's, sharing its connection
/// pool, settings and error reader), the token URL, the credentials, and the write limiter (the
/// token endpoint is a `POST`, and the vendor's limits go by method).
pub(crate) struct ClientCredentials {
    http: HttpClient,
    url: Url,
    client_id: String,
    client_secret: SecretString,
    writes: RateLimiter,
}

impl ClientCredentials {
    /// The grant for `client_id` at `http`'s base URL.
    pub(crate) fn new(
        http: HttpClient,
        client_id: String,
        client_secret: SecretString,
        writes: RateLimiter,
    ) -> Self {
        let url = http.url(&["api", "v2", "oauth2", "token"]);
        Self {
            http,
            url,
            client_id,
            client_secret,
            writes,
        }
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// `expires_in` as the vendor writes it: a number, or (in its own example) a string. `Err` for
/// anything that is not a positive number of seconds.
pub(crate) fn parse_expires_in(
    v: Option<&serde_json::Value>,
) -> std::result::Result<Option<Duration>, ()> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        // A token that is already expired is no token: 360Learning's lifetimes are positive.
        Some(v) => match anonymize_core::vendor::expires_in(v) {
            Some(d) if !d.is_zero() => Ok(Some(d)),
            _ => Err(()),
        },
    }
}

#[async_trait]
impl TokenSource for ClientCredentials {
    async fn fetch(&self) -> Result<IssuedToken> {
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose_secret(),
        });
        let call = Call::new("fetch token", Method::POST, self.url.clone())
            .json(&body, "application/json")?
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                API_VERSION_HEADER.clone(),
                HeaderValue::from_static(API_VERSION),
            )
            .rate_limited(&self.writes)
            // Asking for a token twice has no side effect.
            .idempotent(true);
        // A refused grant (400 invalid_request / unsupported_grant_type, 401 invalid_client)
        // becomes Unauthenticated in core's TokenCache (`token_error`): it stops a batch.
        let response = self.http.execute(call).await?;
        let answer: TokenAnswer = response.json()?;
        let expires_in = parse_expires_in(answer.expires_in.as_ref()).map_err(|()| {
            response.unexpected("`expires_in` is not a positive number of seconds")
        })?;
        Ok(IssuedToken {
            scheme: "Bearer".to_owned(),
            token: SecretString::from(answer.access_token),
            expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn expires_in_as_number_or_string() {
        let p = |s: &str| parse_expires_in(Some(&serde_json::from_str(s).unwrap()));
        assert_eq!(p("3600"), Ok(Some(Duration::from_secs(3600))));
        assert_eq!(p("\"3600\""), Ok(Some(Duration::from_secs(3600))));
        assert_eq!(p("3600.0"), Ok(Some(Duration::from_secs(3600))));
        assert_eq!(p("null"), Ok(None));
        assert_eq!(parse_expires_in(None), Ok(None));
        assert!(p("\"soon\"").is_err());
        assert!(p("-1").is_err());
        assert!(p("0").is_err());
        assert!(p("[1]").is_err());
    }
}
