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
use std::sync::Arc;

use anonymize_core::reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use anonymize_core::reqwest::{Method, StatusCode};
use anonymize_core::vendor::{Call, Credential, HttpClient, StaticCredential, VendorId};
use anonymize_core::{Email, Error, HttpConfig, Limiter, RateLimit, Result, SharedLimits};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::VENDOR;
use crate::builder::{default_read_limit, default_write_limit};
use crate::id::UserId;
use crate::model::{V1PseudonymizeResponse, read_error_body};

/// Who to pseudonymize with v1: the path segment accepts an e-mail or a user id.
///
/// Parsed like any id (`"…".parse()`, `TryFrom`, serde as text): an e-mail when the text contains
/// `@`, otherwise a [`UserId`]; the error never repeats the input. It may be an e-mail address, so
/// its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum V1UserRef {
    /// By e-mail address.
    Email(Email),
    /// By user id.
    Id(UserId),
}

impl VendorId for V1UserRef {
    fn parse_id(s: &str) -> Result<Self> {
        if s.contains('@') {
            Email::parse(s).map(V1UserRef::Email)
        } else {
            s.parse().map(V1UserRef::Id)
        }
    }

    fn fmt_id(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V1UserRef::Email(e) => f.write_str(e.as_str()),
            V1UserRef::Id(id) => write!(f, "{id}"),
        }
    }
}

anonymize_core::vendor_id!(V1UserRef, redacted);

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
        self.id.as_deref().and_then(|s| s.parse().ok())
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
    /// Authorizes with the `X-company-id` / `X-apiKey` headers, unless the credentials go in the
    /// query (`query_credentials`).
    http: HttpClient,
    query_credentials: Option<(String, SecretString)>,
    reads: Arc<dyn Limiter>,
    writes: Arc<dyn Limiter>,
}

impl fmt::Debug for V1Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.query_credentials {
            None => "X-company-id / X-apiKey headers (values redacted)",
            Some(_) => "company / apiKey query parameters (values redacted)",
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
    shared_limits: Option<Arc<dyn SharedLimits>>,
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
    #[must_use = "a builder method returns the changed builder"]
    pub fn company_id(mut self, company_id: impl Into<String>) -> Self {
        self.company_id = Some(company_id.into());
        self
    }

    /// The API key (`X-apiKey`).
    #[must_use = "a builder method returns the changed builder"]
    pub fn api_key(mut self, key: SecretString) -> Self {
        self.api_key = Some(key);
        self
    }

    /// **Discouraged.** Send the credentials as the `company` and `apiKey` query parameters
    /// instead of headers: the key then appears in URLs, which proxies and servers log.
    #[must_use = "a builder method returns the changed builder"]
    pub fn credentials_in_query(mut self, yes: bool) -> Self {
        self.in_query = yes;
        self
    }

    /// Timeouts, retries, body cap, TLS policy.
    #[must_use = "a builder method returns the changed builder"]
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http_config = config;
        self
    }

    /// Client-side limits (default: the v2 limits, 50 reads/s and 10 writes/s, assumed to apply
    /// to v1 too).
    #[must_use = "a builder method returns the changed builder"]
    pub fn rate_limits(mut self, reads: RateLimit, writes: RateLimit) -> Self {
        self.read_limit = reads;
        self.write_limit = writes;
        self
    }

    /// Share the read and write budgets with every client built with `limits` (v2 clients
    /// included: the classes are the same, [`READS_CLASS`](crate::READS_CLASS) and
    /// [`WRITES_CLASS`](crate::WRITES_CLASS)); see
    /// [`Learning360ClientBuilder::shared_limits`](crate::Learning360ClientBuilder::shared_limits).
    #[must_use = "a builder method returns the changed builder"]
    pub fn shared_limits(mut self, limits: Arc<dyn SharedLimits>) -> Self {
        self.shared_limits = Some(limits);
        self
    }

    /// Check the settings and build the client. Nothing is sent.
    pub fn build(self) -> Result<V1Client> {
        let http = HttpClient::new(VENDOR, self.base, self.http_config)?
            .with_error_reader(read_error_body);
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
        let (reads, writes) = crate::builder::limiters(
            self.shared_limits.as_deref(),
            self.read_limit,
            self.write_limit,
        )?;
        let (http, query_credentials) = if self.in_query {
            (http, Some((company, key)))
        } else {
            let headers = StaticCredential::new(Credential::from_headers([
                (HeaderName::from_static("x-company-id"), company),
                (
                    HeaderName::from_static("x-apikey"),
                    key.expose_secret().to_owned(),
                ),
            ])?);
            (http.with_authorizer(Arc::new(headers)), None)
        };
        Ok(V1Client {
            http,
            query_credentials,
            reads,
            writes,
        })
    }
}

impl V1Client {
    /// A builder for a v1 client at `base_url` (e.g. `https://app.360learning.com`).
    #[must_use = "a builder does nothing until .build()"]
    pub fn builder(base_url: Url) -> V1ClientBuilder {
        V1ClientBuilder {
            base: base_url,
            company_id: None,
            api_key: None,
            in_query: false,
            http_config: HttpConfig::default(),
            read_limit: default_read_limit(),
            write_limit: default_write_limit(),
            shared_limits: None,
        }
    }

    /// The base URL the client calls.
    pub fn base_url(&self) -> &Url {
        self.http.base()
    }

    fn call(&self, operation: &'static str, method: Method, mut url: Url) -> Call<'_> {
        let limiter = if method == Method::GET {
            &self.reads
        } else {
            &self.writes
        };
        if let Some((company, key)) = &self.query_credentials {
            url.query_pairs_mut()
                .append_pair("company", company)
                .append_pair("apiKey", key.expose_secret());
        }
        Call::new(operation, method, url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .rate_limited(&**limiter)
    }

    /// `PUT /api/v1/users/{email-or-id}/pseudonymize` (the e-mail percent-encoded as one path
    /// segment). **Irreversible.** Replaced in v2 by
    /// [`Learning360Client::pseudonymize_by_email`](crate::Learning360Client::pseudonymize_by_email).
    pub async fn pseudonymize(&self, user: &V1UserRef) -> Result<V1PseudonymizeResponse> {
        let segment = user.to_string();
        let url = self
            .http
            .url(&["api", "v1", "users", &segment, "pseudonymize"]);
        let response = self
            .http
            .execute(
                self.call("pseudonymize user", Method::PUT, url)
                    .expect_status(StatusCode::OK),
            )
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
            .execute(
                self.call("list users", Method::GET, url)
                    .expect_status(StatusCode::OK),
            )
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
            V1UserRef::parse_id("jane@example.com").unwrap(),
            V1UserRef::Email(_)
        ));
        assert!(matches!(
            V1UserRef::parse_id("507f1f77bcf86cd799439011").unwrap(),
            V1UserRef::Id(_)
        ));
        assert!(V1UserRef::parse_id("jane@").is_err());
        assert!(V1UserRef::parse_id("jane").is_err());
        let shown = format!("{:?}", V1UserRef::parse_id("jane@example.com").unwrap());
        assert!(!shown.contains("jane"));
        let err = "jane@".parse::<V1UserRef>().unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }));
        assert!(!err.to_string().contains("jane"), "{err}");
        let id: V1UserRef = "507F1F77BCF86CD799439011".parse().unwrap();
        assert_eq!(id.to_string(), "507f1f77bcf86cd799439011");
        assert_eq!(
            serde_json::to_string(&V1UserRef::parse_id("jane@example.com").unwrap()).unwrap(),
            r#""jane@example.com""#
        );
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
