//! The OAuth2 client-credentials grant against `{issuer}/connect/token`.

use std::fmt;

use anonymize_core::Result;
use anonymize_core::reqwest::{Method, StatusCode};
use std::time::Duration;

use anonymize_core::vendor::{Call, HttpClient, IssuedToken, TokenSource, deserialize_expires_in};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// The scope Guardhouse's System API requires.
pub const SYSTEM_API_SCOPE: &str = "system_api";

/// Fetches System API tokens with the client-credentials grant.
///
/// The token endpoint lives at the issuer (`{issuer}/connect/token`), which may differ from the
/// API base. It owns a clone of the API's HTTP client without the authorizer: token requests go
/// through the same pool, with the same HTTPS rules, retries and error reader.
pub(crate) struct ClientCredentials {
    pub(crate) http: HttpClient,
    pub(crate) token_url: Url,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) scope: String,
    pub(crate) audience: Option<String>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// `{"access_token","token_type","expires_in","scope"}`; `expires_in` may come as a string, and
/// is read by core's one rule ([`deserialize_expires_in`]: an unreadable value is `None`, the
/// cache's default lifetime).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default, deserialize_with = "deserialize_expires_in")]
    expires_in: Option<Duration>,
    #[serde(default)]
    scope: Option<String>,
}

#[async_trait]
impl TokenSource for ClientCredentials {
    fn vendor(&self) -> &'static str {
        crate::VENDOR
    }

    async fn fetch(&self) -> Result<IssuedToken> {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
        ];
        if !self.scope.is_empty() {
            form.push(("scope", self.scope.as_str()));
        }
        if let Some(audience) = &self.audience {
            form.push(("audience", audience.as_str()));
        }
        // A token request creates nothing: sending it again after a lost answer is harmless.
        let call = Call::new("fetch token", Method::POST, self.token_url.clone())
            .form(form)
            .idempotent(true)
            .expect_status(StatusCode::OK);
        // A refused request becomes a batch-stopping error in core's token cache (`token_error`).
        let response = self.http.execute(call).await?;
        let answer: TokenAnswer = response.json()?;
        // Core's token cache refuses a blank token, for every vendor.
        let token = SecretString::from(answer.access_token);
        let scheme = match answer.token_type.as_deref().map(str::trim) {
            None | Some("") => "Bearer".to_owned(),
            Some(t) if t.eq_ignore_ascii_case("bearer") => "Bearer".to_owned(),
            // The field is named, never its value (issue 8, defect 8).
            Some(_) => {
                return Err(response.unexpected(
                    "the token answer's `token_type` is not supported (expected Bearer)",
                ));
            }
        };
        if let Some(granted) = &answer.scope
            && !self.scope.is_empty()
            && !granted.split_whitespace().any(|s| s == self.scope)
        {
            tracing::warn!(
                vendor = crate::VENDOR,
                "the token was granted without the requested scope; System API calls may be refused (403)"
            );
        }
        Ok(IssuedToken::new(scheme, token, answer.expires_in))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use anonymize_core::HttpConfig;

    use super::*;

    #[test]
    fn token_answer_shapes() {
        let lifetime = |a: &TokenAnswer| a.expires_in;
        let a: TokenAnswer = serde_json::from_str(
            r#"{"access_token":"t","token_type":"Bearer","expires_in":3600,"scope":"system_api"}"#,
        )
        .unwrap();
        assert_eq!(lifetime(&a), Some(Duration::from_secs(3600)));
        let a: TokenAnswer =
            serde_json::from_str(r#"{"access_token":"t","expires_in":"60"}"#).unwrap();
        assert_eq!(lifetime(&a), Some(Duration::from_secs(60)));
        assert_eq!(a.token_type, None);
        let a: TokenAnswer =
            serde_json::from_str(r#"{"access_token":"t","expires_in":null}"#).unwrap();
        assert_eq!(lifetime(&a), None);
        // Unreadable is no error: the token is kept for the cache's default lifetime.
        let a: TokenAnswer =
            serde_json::from_str(r#"{"access_token":"t","expires_in":"soon"}"#).unwrap();
        assert_eq!(lifetime(&a), None);
    }

    #[test]
    fn debug_hides_the_secret() {
        let token_url = Url::parse("https://tenant.example.com/connect/token").unwrap();
        let cc = ClientCredentials {
            http: HttpClient::new(crate::VENDOR, token_url.clone(), HttpConfig::default()).unwrap(),
            token_url,
            client_id: "svc".into(),
            client_secret: SecretString::from("very-secret-value"),
            scope: SYSTEM_API_SCOPE.into(),
            audience: None,
        };
        let shown = format!("{cc:?}");
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(shown.contains("svc"));
    }
}
