//! 360Learning API v1 (**deprecated**: the vendor targets its sunset for mid-2027).
//!
//! Use [`Learning360Client`](crate::Learning360Client) (API v2) for new code, and see
//! `docs/360learning-migration.md` for each v1 call beside its v2 replacement. The v1 input of
//! `pseudonymize` (an e-mail) is served by the v2 flow through
//! [`Learning360Client::pseudonymize_by_email`](crate::Learning360Client::pseudonymize_by_email).
//!
//! v1 authenticates with a company id and an API key. This client sends them as the
//! `X-company-id` and `X-apiKey` headers. The vendor also accepts them as the `company` and
//! `apiKey` query parameters; that puts the key in URLs (proxy and server logs, browser history),
//! so it is only done when you opt in with
//! [`V1ClientBuilder::credentials_in_query`] (discouraged).
#![allow(deprecated)]

use std::fmt;

use anonymize_core::http::Call;
use anonymize_core::reqwest::Method;
use anonymize_core::reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use anonymize_core::{
    Credential, Email, Error, HttpClient, HttpConfig, RateLimit, RateLimiter, Result,
    StaticCredential,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::client::{VENDOR, default_read_limit, default_write_limit};
use crate::ids::UserId;
use crate::model::V1PseudonymizeResponse;

/// Who to pseudonymize with v1: the path segment accepts an e-mail or a user id.
#[derive(Clone, PartialEq, Eq)]
pub enum V1UserRef {
    /// By e-mail address.
    Email(Email),
    /// By user id.
    Id(UserId),
}

impl V1UserRef {
    /// An e-mail when `s` contains `@`, otherwise a user id; the error never repeats `s`.
    pub fn parse(s: &str) -> Result<Self> {
        if Email::looks_like(s) {
            Email::parse(s).map(V1UserRef::Email)
        } else {
            UserId::parse(s).map(V1UserRef::Id)
        }
    }

    fn segment(&self) -> String {
        match self {
            V1UserRef::Email(e) => e.as_str().to_owned(),
            V1UserRef::Id(id) => id.to_string(),
        }
    }
}

impl fmt::Debug for V1UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V1UserRef::Email(_) => f.write_str("Email(<redacted>)"),
            V1UserRef::Id(id) => write!(f, "Id({id})"),
        }
    }
}

impl From<Email> for V1UserRef {
    fn from(e: Email) -> Self {
        V1UserRef::Email(e)
    }
}

impl From<UserId> for V1UserRef {
    fn from(id: UserId) -> Self {
        V1UserRef::Id(id)
    }
}

/// A user as `GET /api/v1/users` returns it. v1's schema is undocumented, so every field is
/// optional and unknown fields are kept. `Debug` redacts everything but the id.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct V1User {
    /// The user's id (`_id`), kept as the vendor wrote it.
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
    /// Every other field, as the vendor sent it.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl V1User {
    /// The id, when it is a well-formed v2 [`UserId`].
    pub fn user_id(&self) -> Option<UserId> {
        self.id.as_deref().and_then(|s| UserId::parse(s).ok())
    }
}

impl fmt::Debug for V1User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V1User")
            .field("id", &self.id)
            .field("mail", &self.mail.as_ref().map(|_| "<redacted>"))
            .field("extra_fields", &self.extra.len())
            .finish()
    }
}

/// A client for the deprecated API v1.
#[deprecated(
    since = "0.1.0",
    note = "360Learning API v1 is deprecated (sunset targeted for mid-2027): use Learning360Client (API v2); see docs/360learning-migration.md"
)]
#[derive(Clone)]
pub struct V1Client {
    http: HttpClient,
    auth: Auth,
    reads: RateLimiter,
    writes: RateLimiter,
}

#[derive(Clone)]
enum Auth {
    Headers(StaticCredential),
    Query { company: String, key: SecretString },
}

impl fmt::Debug for V1Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.auth {
            Auth::Headers(_) => "X-company-id / X-apiKey headers (values redacted)",
            Auth::Query { .. } => "company / apiKey query parameters (values redacted)",
        };
        f.debug_struct("V1Client")
            .field("http", &self.http)
            .field("auth", &auth)
            .finish_non_exhaustive()
    }
}

/// Builds a [`V1Client`].
#[must_use = "a builder does nothing until .build()"]
pub struct V1ClientBuilder {
    base: Url,
    company_id: Option<String>,
    api_key: Option<SecretString>,
    in_query: bool,
    http_config: HttpConfig,
    read_limit: RateLimit,
    write_limit: RateLimit,
}

impl fmt::Debug for V1ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V1ClientBuilder")
            .field("base", &self.base.as_str())
            .field(
                "company_id",
                &self.company_id.as_ref().map(|_| "<redacted>"),
            )
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("in_query", &self.in_query)
            .finish_non_exhaustive()
    }
}

impl V1ClientBuilder {
    /// The company id (`X-company-id`).
    pub fn company_id(mut self, company_id: impl Into<String>) -> Self {
        self.company_id = Some(company_id.into());
        self
    }

    /// The API key (`X-apiKey`).
    pub fn api_key(mut self, key: SecretString) -> Self {
        self.api_key = Some(key);
        self
    }

    /// **Discouraged.** Send the credentials as the `company` and `apiKey` query parameters
    /// instead of headers: the key then appears in URLs, which proxies and servers log.
    pub fn credentials_in_query(mut self, yes: bool) -> Self {
        self.in_query = yes;
        self
    }

    /// Timeouts, retries, body cap, TLS policy.
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http_config = config;
        self
    }

    /// Client-side limits (default: the v2 limits, 50 reads/s and 10 writes/s with the same 10 %
    /// margin, assumed to apply to v1 too).
    pub fn rate_limits(mut self, reads: RateLimit, writes: RateLimit) -> Self {
        self.read_limit = reads;
        self.write_limit = writes;
        self
    }

    /// Check the settings and build the client. Nothing is sent.
    pub fn build(self) -> Result<V1Client> {
        let http = HttpClient::new(VENDOR, self.base, self.http_config)?;
        let (Some(company), Some(key)) = (self.company_id, self.api_key) else {
            return Err(Error::configuration(
                "API v1 needs a company id and an API key",
            ));
        };
        if company.trim().is_empty() || key.expose_secret().trim().is_empty() {
            return Err(Error::configuration(
                "the company id and API key must not be empty",
            ));
        }
        let auth = if self.in_query {
            Auth::Query { company, key }
        } else {
            Auth::Headers(StaticCredential::new(Credential::from_headers([
                (HeaderName::from_static("x-company-id"), company),
                (
                    HeaderName::from_static("x-apikey"),
                    key.expose_secret().to_owned(),
                ),
            ])?))
        };
        Ok(V1Client {
            http,
            auth,
            reads: RateLimiter::new(self.read_limit),
            writes: RateLimiter::new(self.write_limit),
        })
    }
}

impl V1Client {
    /// A builder for a v1 client at `base_url` (e.g. `https://app.360learning.com`).
    pub fn builder(base_url: Url) -> V1ClientBuilder {
        V1ClientBuilder {
            base: base_url,
            company_id: None,
            api_key: None,
            in_query: false,
            http_config: HttpConfig::default(),
            read_limit: default_read_limit(),
            write_limit: default_write_limit(),
        }
    }

    fn call(&self, operation: &'static str, method: Method, mut url: Url) -> Call<'_> {
        let limiter = if method == Method::GET {
            &self.reads
        } else {
            &self.writes
        };
        if let Auth::Query { company, key } = &self.auth {
            url.query_pairs_mut()
                .append_pair("company", company)
                .append_pair("apiKey", key.expose_secret());
        }
        let call = Call::new(operation, method, url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .rate_limited(limiter);
        match &self.auth {
            Auth::Headers(credential) => call.auth(credential),
            Auth::Query { .. } => call,
        }
    }

    /// `PUT /api/v1/users/{email-or-id}/pseudonymize` (the e-mail percent-encoded as one path
    /// segment). **Irreversible.** Replaced in v2 by
    /// [`Learning360Client::pseudonymize_by_email`](crate::Learning360Client::pseudonymize_by_email).
    pub async fn pseudonymize(&self, user: &V1UserRef) -> Result<V1PseudonymizeResponse> {
        let segment = user.segment();
        let url = self
            .http
            .url(&["api", "v1", "users", &segment, "pseudonymize"]);
        let response = self
            .http
            .execute(self.call("pseudonymize user (v1)", Method::PUT, url))
            .await?;
        if response.body().iter().all(u8::is_ascii_whitespace) {
            return Ok(V1PseudonymizeResponse { message: None });
        }
        response.json()
    }

    /// `GET /api/v1/users`: every user at once (v1 does not paginate). Replaced in v2 by
    /// [`Learning360Client::list_users`](crate::Learning360Client::list_users).
    pub async fn list_users(&self) -> Result<Vec<V1User>> {
        let url = self.http.url(&["api", "v1", "users"]);
        let response = self
            .http
            .execute(self.call("list users (v1)", Method::GET, url))
            .await?;
        response.json()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn user_ref_parsing() {
        assert!(matches!(
            V1UserRef::parse("jane@example.com").unwrap(),
            V1UserRef::Email(_)
        ));
        assert!(matches!(
            V1UserRef::parse("507f1f77bcf86cd799439011").unwrap(),
            V1UserRef::Id(_)
        ));
        assert!(V1UserRef::parse("jane@").is_err());
        assert!(V1UserRef::parse("jane").is_err());
        let shown = format!("{:?}", V1UserRef::parse("jane@example.com").unwrap());
        assert!(!shown.contains("jane"));
    }

    #[test]
    fn debug_hides_credentials() {
        let b = V1Client::builder(Url::parse("https://app.360learning.com").unwrap())
            .company_id("company-123")
            .api_key(SecretString::from("k3y-s3cr3t"));
        assert!(!format!("{b:?}").contains("k3y-s3cr3t"));
        let c = b.build().unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("k3y-s3cr3t") && !shown.contains("company-123"),
            "{shown}"
        );
        let err = V1Client::builder(Url::parse("https://app.360learning.com").unwrap())
            .company_id("c")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }));
    }
}
