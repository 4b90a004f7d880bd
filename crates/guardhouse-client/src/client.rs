//! [`GuardhouseClient`]: the typed client and its builder.

use std::fmt;
use std::sync::Arc;

use anonymize_core::http::append_segments;
use anonymize_core::reqwest::{Method, StatusCode};
use anonymize_core::{
    Anonymizer, Authorizer, BatchError, Call, Email, Error, Evidence, HttpClient, HttpConfig,
    Outcome, Response, Result, StaticCredential, TokenCache, UserOutcome, VendorReply,
    for_each_user,
};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::VENDOR;
use crate::auth::{ClientCredentials, SYSTEM_API_SCOPE};
use crate::id::UserId;
use crate::model::{AnonymizeOptions, User, UserStatus, UsersPage};

/// How many users [`Anonymizer::anonymize`] works on at once by default.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// How many users one page of an e-mail look-up asks for by default.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// How many pages an e-mail look-up reads at most by default before it gives up.
pub const DEFAULT_MAX_PAGES: u32 = 1_000;

/// How the client authenticates.
enum Credentials {
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
    Bearer(SecretString),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Builds a [`GuardhouseClient`]; start with [`GuardhouseClient::builder`].
pub struct GuardhouseClientBuilder {
    issuer: Url,
    api_base: Option<Url>,
    credentials: Option<Credentials>,
    scope: String,
    audience: Option<String>,
    http: HttpConfig,
    options: AnonymizeOptions,
    concurrency: usize,
    page_size: u32,
    max_pages: u32,
    verify_archived: bool,
}

impl fmt::Debug for GuardhouseClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardhouseClientBuilder")
            .field("issuer", &self.issuer.as_str())
            .field("api_base", &self.api_base.as_ref().map(Url::as_str))
            .field("credentials", &self.credentials)
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .field("http", &self.http)
            .field("options", &self.options)
            .field("concurrency", &self.concurrency)
            .field("page_size", &self.page_size)
            .field("max_pages", &self.max_pages)
            .field("verify_archived", &self.verify_archived)
            .finish()
    }
}

impl GuardhouseClientBuilder {
    /// Authenticate with the OAuth2 client-credentials grant: a Backend/Service client with
    /// "System API Access" allowed. Tokens are fetched from `{issuer}/connect/token`, cached and
    /// refreshed before they expire.
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        self.credentials = Some(Credentials::ClientCredentials {
            client_id: client_id.into(),
            client_secret,
        });
        self
    }

    /// Authenticate with a pre-issued System API access token (no refresh: when it expires,
    /// calls fail with [`Error::Unauthenticated`]).
    pub fn bearer_token(mut self, token: SecretString) -> Self {
        self.credentials = Some(Credentials::Bearer(token));
        self
    }

    /// The scope asked for with client credentials (default `system_api`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// The `audience` some tenants require in the token request (default: none sent).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The API base URL, when it differs from the issuer (default: the issuer URL).
    pub fn api_base(mut self, url: Url) -> Self {
        self.api_base = Some(url);
        self
    }

    /// Timeouts, retries, TLS policy, or your own `reqwest::Client`.
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http = config;
        self
    }

    /// The body sent with every anonymization (default: both flags `false`).
    pub fn anonymize_options(mut self, options: AnonymizeOptions) -> Self {
        self.options = options;
        self
    }

    /// How many users a batch works on at once (default [`DEFAULT_CONCURRENCY`]; at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// How many users one page of an e-mail look-up asks for (default [`DEFAULT_PAGE_SIZE`]).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = n;
        self
    }

    /// How many pages an e-mail look-up reads at most (default [`DEFAULT_MAX_PAGES`]); a
    /// server that keeps sending pages past this is an [`Error::UnexpectedResponse`].
    pub fn max_pages(mut self, n: u32) -> Self {
        self.max_pages = n;
        self
    }

    /// After each anonymization in a batch, read the user back and check that it is
    /// `Archived` (default off; one more request per user). The evidence then says
    /// `status Archived`; a user that reads back otherwise (or cannot be read) is still
    /// [`Outcome::Anonymized`] — Guardhouse said 204 — with a warning in its [`Evidence`].
    pub fn verify_archived(mut self, on: bool) -> Self {
        self.verify_archived = on;
        self
    }

    /// Check the settings and build the client. Nothing is sent.
    pub fn build(self) -> Result<GuardhouseClient> {
        let credentials = self.credentials.ok_or_else(|| {
            Error::configuration("no credentials: set client_credentials(…) or bearer_token(…)")
        })?;
        if self.concurrency == 0 {
            return Err(Error::configuration("the concurrency must be at least 1"));
        }
        if self.page_size == 0 {
            return Err(Error::configuration("the page size must be at least 1"));
        }
        if self.max_pages == 0 {
            return Err(Error::configuration("the page limit must be at least 1"));
        }
        let api_base = self.api_base.unwrap_or_else(|| self.issuer.clone());
        let api = HttpClient::new(VENDOR, api_base, self.http)?;
        let auth: Arc<dyn Authorizer> = match credentials {
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => {
                if client_id.trim().is_empty() {
                    return Err(Error::configuration("the client id is empty"));
                }
                if client_secret.expose_secret().is_empty() {
                    return Err(Error::configuration("the client secret is empty"));
                }
                // The token endpoint lives at the issuer, which may differ from the API base:
                // the same HTTPS rules apply to it, and the API client's connection pool serves both.
                api.check_url(&self.issuer)?;
                Arc::new(TokenCache::new(ClientCredentials {
                    token_url: append_segments(&self.issuer, &["connect", "token"]),
                    client_id,
                    client_secret,
                    scope: self.scope.trim().to_owned(),
                    audience: self.audience,
                }))
            }
            Credentials::Bearer(token) => {
                if token.expose_secret().trim().is_empty() {
                    return Err(Error::configuration("the bearer token is empty"));
                }
                Arc::new(StaticCredential::bearer(&token)?)
            }
        };
        Ok(GuardhouseClient {
            inner: Arc::new(Inner {
                http: api,
                auth,
                options: self.options,
                concurrency: self.concurrency,
                page_size: self.page_size,
                max_pages: self.max_pages,
                verify_archived: self.verify_archived,
            }),
        })
    }
}

/// A client for Guardhouse's System API. Cheap to clone; clones share the connection pool and
/// the token cache. `Debug` never shows a secret.
///
/// **Anonymization is irreversible**: Guardhouse replaces the user's names, e-mail address,
/// phone and credentials, and archives the user.
#[derive(Clone)]
pub struct GuardhouseClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    auth: Arc<dyn Authorizer>,
    options: AnonymizeOptions,
    concurrency: usize,
    page_size: u32,
    max_pages: u32,
    verify_archived: bool,
}

impl fmt::Debug for GuardhouseClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("GuardhouseClient")
            .field("http", &inner.http)
            .field("auth", &inner.auth)
            .field("options", &inner.options)
            .field("concurrency", &inner.concurrency)
            .field("page_size", &inner.page_size)
            .field("max_pages", &inner.max_pages)
            .field("verify_archived", &inner.verify_archived)
            .finish()
    }
}

impl GuardhouseClient {
    /// Start building a client for the tenant whose issuer URL is `issuer`
    /// (e.g. `https://your-tenant.guardhouse.cloud`). The API base defaults to it.
    pub fn builder(issuer: Url) -> GuardhouseClientBuilder {
        GuardhouseClientBuilder {
            issuer,
            api_base: None,
            credentials: None,
            scope: SYSTEM_API_SCOPE.to_owned(),
            audience: None,
            http: HttpConfig::default(),
            options: AnonymizeOptions::default(),
            concurrency: DEFAULT_CONCURRENCY,
            page_size: DEFAULT_PAGE_SIZE,
            max_pages: DEFAULT_MAX_PAGES,
            verify_archived: false,
        }
    }

    /// The API base URL.
    pub fn api_base(&self) -> &Url {
        self.inner.http.base()
    }

    /// `PUT /api/v1/users/{id}/personal-data` with the client's [`AnonymizeOptions`].
    ///
    /// **Irreversible.** `Ok` on 204. Errors: [`Error::NotFound`] (404 `User not found`),
    /// [`Error::Rejected`] with Guardhouse's text (400 `Failed to anonymize user data.`),
    /// [`Error::Unauthenticated`] (401, after one token refresh), [`Error::PermissionDenied`]
    /// (403: the client lacks System API access).
    pub async fn anonymize_user(&self, id: UserId) -> Result<()> {
        self.anonymize_user_with(id, self.inner.options).await
    }

    /// [`anonymize_user`](Self::anonymize_user) with these options instead of the client's.
    pub async fn anonymize_user_with(&self, id: UserId, options: AnonymizeOptions) -> Result<()> {
        self.put_personal_data(id, options).await.map(drop)
    }

    async fn put_personal_data(&self, id: UserId, options: AnonymizeOptions) -> Result<Response> {
        let id = id.to_string();
        let url = self
            .inner
            .http
            .url(&["api", "v1", "users", &id, "personal-data"]);
        let call = Call::new("anonymize user", Method::PUT, url)
            .auth(self.inner.auth.as_ref())
            .json(&options, "application/json")?;
        self.inner.http.execute(call).await
    }

    /// `GET /api/v1/users/{id}`. A missing user is [`Error::NotFound`].
    pub async fn user(&self, id: UserId) -> Result<User> {
        let id = id.to_string();
        let url = self.inner.http.url(&["api", "v1", "users", &id]);
        let call = Call::new("read user", Method::GET, url).auth(self.inner.auth.as_ref());
        self.inner.http.execute(call).await?.json()
    }

    /// One page of `GET /api/v1/users?email=…&pageSize=…&offset=…`.
    ///
    /// Guardhouse's filter is a case-insensitive *partial* match: `jane@example.com` also finds
    /// `mary-jane@example.com`. Use [`find_user_by_email`](Self::find_user_by_email) for the
    /// exact match. The filter goes in the query string (Guardhouse offers no other way); it
    /// never appears in errors or logs.
    pub async fn users_page(
        &self,
        email_filter: &str,
        offset: u64,
        page_size: u32,
    ) -> Result<UsersPage> {
        if email_filter.trim().is_empty() {
            return Err(Error::invalid_input("the e-mail filter is empty"));
        }
        if page_size == 0 {
            return Err(Error::invalid_input("the page size must be at least 1"));
        }
        let mut url = self.inner.http.url(&["api", "v1", "users"]);
        url.query_pairs_mut()
            .append_pair("email", email_filter.trim())
            .append_pair("pageSize", &page_size.to_string())
            .append_pair("offset", &offset.to_string());
        let call = Call::new("search users", Method::GET, url).auth(self.inner.auth.as_ref());
        self.inner.http.execute(call).await?.json()
    }

    /// The user whose e-mail address is exactly `email` (ignoring case), or `None`.
    ///
    /// Reads every page of the partial-match search (`offset` advances by the users received;
    /// it stops when `offset >= total`, on an empty page, or — when the answer has no `total` —
    /// on a short page) and picks the exact matches. Two different users with the same address
    /// are an [`Error::UnexpectedResponse`]: the client does not guess which one to erase.
    pub async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>> {
        let page_size = self.inner.page_size;
        let mut offset = 0u64;
        let mut found: Option<User> = None;
        for _ in 0..self.inner.max_pages {
            let page = self.users_page(email.as_str(), offset, page_size).await?;
            let received = page.users.len() as u64;
            for user in page.users {
                if !user.has_email(email) {
                    continue;
                }
                match &found {
                    Some(first) if first.id != user.id => {
                        return Err(lookup_error(
                            "more than one Guardhouse user has this e-mail address; \
                             refusing to guess which one is meant",
                        ));
                    }
                    Some(_) => {}
                    None => found = Some(user),
                }
            }
            offset = offset.saturating_add(received);
            let last = match page.total {
                _ if received == 0 => true,
                Some(total) => offset >= total,
                None => received < u64::from(page_size),
            };
            if last {
                return Ok(found);
            }
        }
        Err(lookup_error(&format!(
            "the user search did not end after {} pages",
            self.inner.max_pages
        )))
    }

    /// One batch outcome: parse, anonymize, optionally read back.
    async fn anonymize_for_batch(&self, raw: String) -> Outcome {
        let id = match raw.parse::<UserId>() {
            Ok(id) => id,
            Err(e) => return Outcome::from_error(e),
        };
        let response = match self.put_personal_data(id, self.inner.options).await {
            Ok(response) => response,
            Err(e) => return Outcome::from_error(e),
        };
        let evidence = Evidence::new(format!("HTTP {}", response.status().as_u16()));
        if !self.inner.verify_archived {
            return Outcome::Anonymized(evidence);
        }
        Outcome::Anonymized(match self.user(id).await {
            Ok(User {
                status: Some(UserStatus::Archived),
                ..
            }) => Evidence::new(format!("{}; status Archived", evidence.summary)),
            Ok(User {
                status: Some(other),
                ..
            }) => evidence.with_warning(format!("the user reads back as {other}, not Archived")),
            Ok(_) => evidence.with_warning("the user reads back without a status"),
            Err(e) => evidence.with_warning(format!("could not read the user back: {e}")),
        })
    }
}

fn lookup_error(detail: &str) -> Error {
    Error::UnexpectedResponse {
        reply: VendorReply::new(VENDOR, "search users", StatusCode::OK, None, None),
        detail: detail.to_owned(),
        source: None,
    }
}

#[async_trait]
impl Anonymizer for GuardhouseClient {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    /// Anonymize each id (parsed as a [`UserId`]; a malformed one is [`Outcome::Invalid`] and
    /// never sent), [`concurrency`](GuardhouseClientBuilder::concurrency) at a time. 404 is
    /// [`Outcome::NotFound`], 400 [`Outcome::Rejected`] with Guardhouse's text; 401 (after one
    /// refresh) and 403 stop the batch.
    async fn anonymize(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        for_each_user(ids, self.inner.concurrency, |id| {
            self.anonymize_for_batch(id)
        })
        .await
    }

    /// The id (as text) of the user whose e-mail address is exactly `email`, ignoring case.
    async fn resolve_email(&self, email: &Email) -> Result<Option<String>> {
        Ok(self
            .find_user_by_email(email)
            .await?
            .map(|user| user.id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Guardhouse's error bodies are short text (`User not found`); an ASP.NET server may also
    /// send the text as a JSON string or a problem-details object. Core's reader takes them all.
    #[test]
    fn error_bodies() {
        let p = |s: &str| anonymize_core::http::parse_error_body(s.as_bytes());
        assert_eq!(p("User not found"), (None, Some("User not found".into())));
        assert_eq!(
            p("\"Failed to anonymize user data.\""),
            (None, Some("Failed to anonymize user data.".into()))
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
        assert_eq!(p(""), (None, None));
    }

    #[test]
    fn build_refuses_bad_settings_before_sending() {
        let issuer = Url::parse("https://tenant.guardhouse.cloud").unwrap();
        let b = || GuardhouseClient::builder(issuer.clone());
        let secret = || SecretString::from("s3cr3t");
        let config = |r: Result<GuardhouseClient>| matches!(r, Err(Error::Configuration { .. }));
        assert!(config(b().build()));
        assert!(config(b().client_credentials("", secret()).build()));
        assert!(config(
            b().client_credentials("id", SecretString::from("")).build()
        ));
        assert!(config(b().bearer_token(SecretString::from(" ")).build()));
        assert!(config(b().bearer_token(secret()).concurrency(0).build()));
        assert!(config(b().bearer_token(secret()).page_size(0).build()));
        assert!(config(b().bearer_token(secret()).max_pages(0).build()));
        assert!(config(
            GuardhouseClient::builder(Url::parse("http://tenant.guardhouse.cloud").unwrap())
                .bearer_token(secret())
                .build()
        ));
        // A remote http:// issuer is refused even when the API base is HTTPS.
        assert!(config(
            GuardhouseClient::builder(Url::parse("http://tenant.guardhouse.cloud").unwrap())
                .api_base(issuer.clone())
                .client_credentials("id", secret())
                .build()
        ));
        let client = b().client_credentials("id", secret()).build().unwrap();
        assert_eq!(client.api_base(), &issuer);
    }
}
