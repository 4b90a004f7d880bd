//! The token grant: OAuth client credentials at `POST /api/v2/oauth2/token`.

use std::fmt;
use std::sync::Arc;

use anonymize_core::reqwest::header::{ACCEPT, HeaderValue};
use anonymize_core::reqwest::{Method, StatusCode};
use anonymize_core::vendor::{Call, HttpClient, IssuedToken, TokenSource};
use anonymize_core::{Limiter, Result};
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
    writes: Arc<dyn Limiter>,
}

impl ClientCredentials {
    /// The grant for `client_id` at `http`'s base URL.
    pub(crate) fn new(
        http: HttpClient,
        client_id: String,
        client_secret: SecretString,
        writes: Arc<dyn Limiter>,
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

#[async_trait]
impl TokenSource for ClientCredentials {
    fn vendor(&self) -> &'static str {
        crate::VENDOR
    }

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
            .rate_limited(&*self.writes)
            // Asking for a token twice has no side effect.
            .idempotent(true)
            .expect_status(StatusCode::OK);
        // A refused grant (400 invalid_request / unsupported_grant_type, 401 invalid_client)
        // becomes Unauthenticated in core's TokenCache (`token_error`): it stops a batch.
        let response = self.http.execute(call).await?;
        let answer: TokenAnswer = response.json()?;
        // Core's token cache refuses a blank token, for every vendor.
        Ok(IssuedToken::new(
            "Bearer",
            SecretString::from(answer.access_token),
            answer.expires_in,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use crate::model::TokenAnswer;

    /// 360Learning writes `expires_in` as a number, and in its own example as a string; an
    /// unreadable value is no error (issue 8, defect 4): the token cache's default lifetime.
    #[test]
    fn expires_in_as_number_or_string_and_unreadable_as_none() {
        let p = |e: &str| {
            serde_json::from_str::<TokenAnswer>(&format!(
                r#"{{"access_token":"t","expires_in":{e}}}"#
            ))
            .unwrap()
            .expires_in
        };
        assert_eq!(p("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(p("\"3600\""), Some(Duration::from_secs(3600)));
        assert_eq!(p("3600.0"), Some(Duration::from_secs(3600)));
        assert_eq!(p("0"), Some(Duration::ZERO));
        for unreadable in ["null", "\"soon\"", "-1", "[1]"] {
            assert_eq!(p(unreadable), None, "{unreadable}");
        }
        let answer: TokenAnswer = serde_json::from_str(r#"{"access_token":"t"}"#).unwrap();
        assert_eq!(answer.expires_in, None);
    }
}
