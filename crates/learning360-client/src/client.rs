//! [`Learning360Client`]: API v2 (token, users, pseudonymize) and the erasure flow.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anonymize_core::http::Call;
use anonymize_core::reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use anonymize_core::reqwest::{Method, StatusCode};
use anonymize_core::{
    Anonymizer, Authorizer, BatchError, Email, Error, Evidence, HttpClient, HttpConfig,
    IssuedToken, Outcome, RateLimit, RateLimiter, Result, StaticCredential, TokenCache,
    TokenSource, UserOutcome, VendorReply, for_each_user,
};
use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::directory::Directory;
use crate::filter::UserFilter;
use crate::ids::UserId;
use crate::link::{LinkError, next_link};
use crate::model::User;

/// The vendor name used in errors, traces and [`Anonymizer::vendor`].
pub const VENDOR: &str = "learning360";

/// The value of the `360-api-version` header every v2 call sends.
pub const API_VERSION: &str = "v2.0";

/// The EU production host.
pub const EU_BASE_URL: &str = "https://app.360learning.com";

/// The US production host.
pub const US_BASE_URL: &str = "https://app.us.360learning.com";

/// The vendor's published read limit (GET), per company.
pub const READS_PER_SECOND: u32 = 50;

/// The vendor's published write limit (POST, PUT, PATCH, DELETE), per company.
pub const WRITES_PER_SECOND: u32 = 10;

/// The window the default client-side limits count over: the vendor's one second plus a 10 %
/// margin. The vendor counts *arrivals*; a request that waited on the network a little longer than
/// the next one would otherwise land in the same second as it, and get a 429.
pub const DEFAULT_LIMIT_WINDOW: Duration = Duration::from_millis(1100);

/// The default read limit: [`READS_PER_SECOND`] per [`DEFAULT_LIMIT_WINDOW`].
pub fn default_read_limit() -> RateLimit {
    RateLimit::new(READS_PER_SECOND, DEFAULT_LIMIT_WINDOW)
}

/// The default write limit: [`WRITES_PER_SECOND`] per [`DEFAULT_LIMIT_WINDOW`].
pub fn default_write_limit() -> RateLimit {
    RateLimit::new(WRITES_PER_SECOND, DEFAULT_LIMIT_WINDOW)
}

/// How many e-mail addresses go into one `mail[in][]` query.
pub(crate) const MAIL_IN_CHUNK: usize = 50;

pub(crate) static API_VERSION_HEADER: HeaderName = HeaderName::from_static("360-api-version");

/// A stream of users, one page fetched at a time.
pub type UserStream = BoxStream<'static, Result<User>>;

/// A stream of pages of users (at most 500 each, as the vendor sends them).
pub type PageStream = BoxStream<'static, Result<Vec<User>>>;

/// A client for 360Learning's API v2. Cheap to clone: clones share the connection pool, the
/// token, the rate limiters and the [`Directory`].
///
/// **Erasure is irreversible**: [`erase_user`](Self::erase_user) and the [`Anonymizer`] impl
/// soft-delete the user and then pseudonymize them (names, e-mail and username replaced by random
/// strings, custom fields deleted, by default external ids deleted too).
#[derive(Clone)]
pub struct Learning360Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    auth: Arc<dyn Authorizer>,
    reads: RateLimiter,
    writes: RateLimiter,
    delete_external_ids: bool,
    concurrency: usize,
    directory: Option<Directory>,
}

impl fmt::Debug for Learning360Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Learning360Client")
            .field("http", &self.inner.http)
            .field("auth", &self.inner.auth)
            .field("reads", &self.inner.reads.limit())
            .field("writes", &self.inner.writes.limit())
            .field("delete_external_ids", &self.inner.delete_external_ids)
            .field("concurrency", &self.inner.concurrency)
            .field("directory", &self.inner.directory)
            .finish()
    }
}

enum Credentials {
    Client { id: String, secret: SecretString },
    Token(SecretString),
}

/// Builds a [`Learning360Client`]; start with [`Learning360Client::builder`].
#[must_use = "a builder does nothing until .build()"]
pub struct Learning360ClientBuilder {
    base: Url,
    credentials: Option<Credentials>,
    http_config: HttpConfig,
    read_limit: RateLimit,
    write_limit: RateLimit,
    delete_external_ids: bool,
    concurrency: usize,
    directory: Option<Directory>,
}

impl fmt::Debug for Learning360ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = match &self.credentials {
            Some(Credentials::Client { id, .. }) => format!("client {id}, secret <redacted>"),
            Some(Credentials::Token(_)) => "access token <redacted>".to_owned(),
            None => "none".to_owned(),
        };
        f.debug_struct("Learning360ClientBuilder")
            .field("base", &self.base.as_str())
            .field("credentials", &credentials)
            .field("http_config", &self.http_config)
            .field("read_limit", &self.read_limit)
            .field("write_limit", &self.write_limit)
            .field("delete_external_ids", &self.delete_external_ids)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Learning360ClientBuilder {
    /// Authenticate with an API v2 client id and secret (OAuth client credentials). Tokens are
    /// fetched from `POST /api/v2/oauth2/token`, cached until shortly before they expire, and
    /// refreshed once when the vendor answers 401.
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        secret: SecretString,
    ) -> Self {
        self.credentials = Some(Credentials::Client {
            id: client_id.into(),
            secret,
        });
        self
    }

    /// Authenticate with an access token obtained elsewhere (it is never refreshed).
    pub fn access_token(mut self, token: SecretString) -> Self {
        self.credentials = Some(Credentials::Token(token));
        self
    }

    /// Timeouts, retries, body cap, TLS policy, or your own `reqwest::Client`.
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http_config = config;
        self
    }

    /// The client-side limit for reads (GET); default [`default_read_limit`]: the vendor's 50
    /// per second, counted over 1.1 s for network jitter.
    pub fn read_limit(mut self, limit: RateLimit) -> Self {
        self.read_limit = limit;
        self
    }

    /// The client-side limit for writes (POST, PUT, DELETE, token requests included); default
    /// [`default_write_limit`]: the vendor's 10 per second, counted over 1.1 s for network jitter.
    pub fn write_limit(mut self, limit: RateLimit) -> Self {
        self.write_limit = limit;
        self
    }

    /// Whether pseudonymization also deletes the user's external ids (`deleteExternalIds=true`).
    /// Default `true`: kept external-id mappings let connectors (SSO, HRIS sync) identify the
    /// pseudonymized user again and reactivate them.
    pub fn delete_external_ids(mut self, delete: bool) -> Self {
        self.delete_external_ids = delete;
        self
    }

    /// How many users a batch erases at the same time (default 4; the write limit still applies).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Use `directory` for e-mail look-ups and to skip deleting users it knows are deleted.
    /// Clones of the directory share their entries.
    pub fn directory(mut self, directory: Directory) -> Self {
        self.directory = Some(directory);
        self
    }

    /// Check the settings and build the client. Nothing is sent.
    pub fn build(self) -> Result<Learning360Client> {
        let http = HttpClient::new(VENDOR, self.base, self.http_config)?;
        let writes = RateLimiter::new(self.write_limit);
        let auth: Arc<dyn Authorizer> = match self.credentials {
            None => {
                return Err(Error::configuration(
                    "no credentials: call client_credentials(..) or access_token(..)",
                ));
            }
            Some(Credentials::Client { id, secret }) => {
                if id.trim().is_empty() || secret.expose_secret().trim().is_empty() {
                    return Err(Error::configuration(
                        "the client id and client secret must not be empty",
                    ));
                }
                Arc::new(TokenCache::new(ClientCredentials {
                    client_id: id,
                    client_secret: secret,
                    writes: writes.clone(),
                }))
            }
            Some(Credentials::Token(token)) => Arc::new(StaticCredential::bearer(&token)?),
        };
        Ok(Learning360Client {
            inner: Arc::new(Inner {
                http,
                auth,
                reads: RateLimiter::new(self.read_limit),
                writes,
                delete_external_ids: self.delete_external_ids,
                concurrency: self.concurrency,
                directory: self.directory,
            }),
        })
    }
}

/// The OAuth client-credentials grant of `POST /api/v2/oauth2/token`.
struct ClientCredentials {
    client_id: String,
    client_secret: SecretString,
    writes: RateLimiter,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    // Wrapped in a SecretString as soon as it is read; this struct has no Debug.
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// `expires_in` as the vendor writes it: a number, or (in its own example) a string.
pub(crate) fn parse_expires_in(
    v: Option<&serde_json::Value>,
) -> std::result::Result<Option<Duration>, ()> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        // A token that is already expired is no token: 360Learning's lifetimes are positive.
        Some(v) => match anonymize_core::auth::expires_in(v) {
            Some(d) if !d.is_zero() => Ok(Some(d)),
            _ => Err(()),
        },
    }
}

#[async_trait]
impl TokenSource for ClientCredentials {
    async fn fetch(&self, http: &HttpClient) -> Result<IssuedToken> {
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose_secret(),
        });
        let call = Call::new(
            "create access token",
            Method::POST,
            http.url(&["api", "v2", "oauth2", "token"]),
        )
        .json(&body, "application/json")?
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .header(
            API_VERSION_HEADER.clone(),
            HeaderValue::from_static(API_VERSION),
        )
        // The token endpoint is a POST: counted as a write (the vendor's limits go by method).
        .rate_limited(&self.writes)
        // Asking for a token twice has no side effect.
        .idempotent(true);
        // A refused grant (400 invalid_request / unsupported_grant_type, 401 invalid_client)
        // becomes Unauthenticated in core's TokenCache (`token_error`): it stops a batch.
        let response = http.execute(call).await?;
        let answer: TokenAnswer = response.json()?;
        let raw: Option<serde_json::Value> = answer.expires_in;
        let expires_in = parse_expires_in(raw.as_ref()).map_err(|()| {
            response.unexpected("`expires_in` is not a positive number of seconds")
        })?;
        Ok(IssuedToken {
            scheme: "Bearer".to_owned(),
            token: SecretString::from(answer.access_token),
            expires_in,
        })
    }
}

impl Learning360Client {
    /// A builder for a client at `base_url` (e.g. [`EU_BASE_URL`] or [`US_BASE_URL`]; `http://`
    /// only for loopback unless allowed in [`HttpConfig`]).
    pub fn builder(base_url: Url) -> Learning360ClientBuilder {
        Learning360ClientBuilder {
            base: base_url,
            credentials: None,
            http_config: HttpConfig::default(),
            read_limit: default_read_limit(),
            write_limit: default_write_limit(),
            delete_external_ids: true,
            concurrency: 4,
            directory: None,
        }
    }

    /// The directory this client uses, if one was set.
    pub fn directory(&self) -> Option<&Directory> {
        self.inner.directory.as_ref()
    }

    /// Whether pseudonymization deletes external ids.
    pub fn deletes_external_ids(&self) -> bool {
        self.inner.delete_external_ids
    }

    fn call(&self, operation: &'static str, method: Method, url: Url) -> Call<'_> {
        let limiter = if method == Method::GET || method == Method::HEAD {
            &self.inner.reads
        } else {
            &self.inner.writes
        };
        Call::new(operation, method, url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                API_VERSION_HEADER.clone(),
                HeaderValue::from_static(API_VERSION),
            )
            .auth(&*self.inner.auth)
            .rate_limited(limiter)
    }

    fn user_url(&self, id: &UserId, tail: Option<&str>) -> Url {
        let id = id.to_string();
        match tail {
            Some(tail) => self.inner.http.url(&["api", "v2", "users", &id, tail]),
            None => self.inner.http.url(&["api", "v2", "users", &id]),
        }
    }

    /// `GET /api/v2/users/{userId}`: one user (scope `users:read`). 404 is [`Error::NotFound`].
    pub async fn get_user(&self, id: &UserId) -> Result<User> {
        let url = self.user_url(id, None);
        let response = self
            .inner
            .http
            .execute(self.call("retrieve user", Method::GET, url))
            .await?;
        response.json()
    }

    /// `DELETE /api/v2/users/{userId}`: soft-delete a user (scope `users:write`).
    ///
    /// The company owner cannot be deleted: [`Error::Rejected`] with code `userIsCompanyOwner`.
    pub async fn delete_user(&self, id: &UserId) -> Result<()> {
        let url = self.user_url(id, None);
        self.inner
            .http
            .execute(self.call("delete user", Method::DELETE, url))
            .await?;
        if let Some(d) = &self.inner.directory {
            d.mark_deleted(id);
        }
        Ok(())
    }

    /// `PUT /api/v2/users/{userId}/pseudonymize?deleteExternalIds=…`: replace a **deleted**
    /// user's names, e-mail and username by random strings and delete their custom fields
    /// (scope `users:write`). Irreversible. A user that is not deleted gets
    /// [`Error::Rejected`] with code `userNotDeleted`.
    pub async fn pseudonymize_user(&self, id: &UserId, delete_external_ids: bool) -> Result<User> {
        let mut url = self.user_url(id, Some("pseudonymize"));
        url.query_pairs_mut().append_pair(
            "deleteExternalIds",
            if delete_external_ids { "true" } else { "false" },
        );
        let response = self
            .inner
            .http
            .execute(self.call("pseudonymize user", Method::PUT, url))
            .await?;
        let user: User = response.json()?;
        if user.id != *id {
            return Err(response.unexpected("the pseudonymized user has another id"));
        }
        if let Some(d) = &self.inner.directory {
            d.forget(id);
        }
        Ok(user)
    }

    /// Erase one user: delete (skipped when the [`Directory`] knows the user is deleted), then
    /// pseudonymize with this client's `deleteExternalIds` setting. If the vendor answers
    /// `userNotDeleted` (the user was reactivated since), the user is deleted once more and
    /// pseudonymization retried once. Returns the pseudonymized user. **Irreversible.**
    pub async fn erase_user(&self, id: &UserId) -> Result<User> {
        let known_deleted = self
            .inner
            .directory
            .as_ref()
            .is_some_and(|d| d.knows_deleted(id));
        if !known_deleted {
            self.delete_user(id).await?;
        }
        let delete_ext = self.inner.delete_external_ids;
        match self.pseudonymize_user(id, delete_ext).await {
            Err(e) if e.code() == Some("userNotDeleted") => {
                tracing::debug!(vendor = VENDOR, "userNotDeleted: deleting once more");
                self.delete_user(id).await?;
                self.pseudonymize_user(id, delete_ext).await
            }
            other => other,
        }
    }

    /// Every page of *List users* matching `filter`, fetched one at a time by following the
    /// `Link: <…>; rel="next"` header (never to another host). Only the current page is held in
    /// memory. The stream ends after the last page, or after the first error.
    pub fn list_user_pages(&self, filter: &UserFilter) -> PageStream {
        let mut first = self.inner.http.url(&["api", "v2", "users"]);
        filter.apply(&mut first);
        let client = self.clone();
        stream::unfold(Some(first), move |next| {
            let client = client.clone();
            async move {
                let url = next?;
                Some(match client.fetch_page(url).await {
                    Ok((users, next)) => (Ok(users), next),
                    Err(e) => (Err(e), None),
                })
            }
        })
        .boxed()
    }

    /// Every user matching `filter`, as a stream; see [`list_user_pages`](Self::list_user_pages).
    ///
    /// ```no_run
    /// # async fn f(client: learning360_client::Learning360Client) -> anonymize_core::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use learning360_client::{UserFilter, UserStatus};
    ///
    /// let mut users = client.list_users(&UserFilter::new().status(UserStatus::Deleted));
    /// while let Some(user) = users.try_next().await? {
    ///     println!("{}", user.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_users(&self, filter: &UserFilter) -> UserStream {
        self.list_user_pages(filter)
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    async fn fetch_page(&self, url: Url) -> Result<(Vec<User>, Option<Url>)> {
        let response = self
            .inner
            .http
            .execute(self.call("list users", Method::GET, url.clone()))
            .await?;
        let users: Vec<User> = response.json()?;
        let next = next_link(response.headers(), &url).map_err(|e| match e {
            LinkError::Malformed => response.unexpected("the Link header cannot be read"),
            LinkError::OtherOrigin => response.unexpected(
                "the Link header points the next page to another host; \
                 not following it (the access token would go there)",
            ),
        })?;
        if next.as_ref() == Some(&url) {
            return Err(response.unexpected("the Link header names the same page as next"));
        }
        Ok((users, next))
    }

    /// The user with this e-mail, by one `mail[eq]` query (the directory is not consulted).
    /// The vendor matches the address; this client keeps only a case-insensitive exact match.
    pub async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>> {
        let mut users = self.list_users(&UserFilter::new().mail(email.clone()));
        let mut found: Option<User> = None;
        while let Some(user) = users.try_next().await? {
            if user.mail.as_deref().is_some_and(|m| email.matches(m)) {
                found = Some(match found {
                    Some(prev) if !prev.is_deleted() || user.is_deleted() => prev,
                    _ => user,
                });
            }
        }
        Ok(found)
    }

    /// The users with these e-mails, by `mail[in][]` queries of up to 50 addresses each.
    pub async fn find_users_by_emails(&self, emails: &[Email]) -> Result<Vec<User>> {
        let mut out = Vec::new();
        for chunk in emails.chunks(MAIL_IN_CHUNK) {
            let filter = UserFilter::new().mails(chunk.iter().cloned());
            let mut users = self.list_users(&filter);
            while let Some(user) = users.try_next().await? {
                if user
                    .mail
                    .as_deref()
                    .is_some_and(|m| chunk.iter().any(|e| e.matches(m)))
                {
                    out.push(user);
                }
            }
        }
        Ok(out)
    }

    /// The id of the user with this e-mail: from the [`Directory`] when the client has one
    /// (refreshed first when it is older than its max age; a miss falls back to one `mail[eq]`
    /// query when the directory allows it), otherwise from one `mail[eq]` query.
    pub async fn user_id_for_email(&self, email: &Email) -> Result<Option<UserId>> {
        Ok(self
            .user_ids_for_emails(std::slice::from_ref(email))
            .await?
            .pop()
            .flatten())
    }

    /// The ids of the users with these e-mails, in input order (`None`: no such user). With a
    /// directory: at most one refresh, then local look-ups, then (fallback on) one `mail[in][]`
    /// query per 50 misses (one `mail[eq]` query for a single miss). Without a directory: the
    /// same queries for every address.
    pub async fn user_ids_for_emails(&self, emails: &[Email]) -> Result<Vec<Option<UserId>>> {
        let mut out: Vec<Option<UserId>> = vec![None; emails.len()];
        let misses: Vec<usize> = match &self.inner.directory {
            Some(directory) => {
                directory.ensure_fresh(self).await?;
                let mut misses = Vec::new();
                for (i, email) in emails.iter().enumerate() {
                    match directory.lookup(email) {
                        Some(entry) => out[i] = Some(entry.id),
                        None => misses.push(i),
                    }
                }
                if !directory.options().fallback_query {
                    return Ok(out);
                }
                misses
            }
            None => (0..emails.len()).collect(),
        };
        if misses.is_empty() {
            return Ok(out);
        }
        let wanted: Vec<Email> = misses.iter().map(|&i| emails[i].clone()).collect();
        let found = match wanted.as_slice() {
            // One address: the documented `mail[eq]` look-up.
            [one] => self.find_user_by_email(one).await?.into_iter().collect(),
            many => self.find_users_by_emails(many).await?,
        };
        for user in &found {
            if let Some(d) = &self.inner.directory {
                d.record(user);
            }
        }
        for &i in &misses {
            // Prefer a user who is not deleted when several share the address.
            let mut best: Option<&User> = None;
            for user in found
                .iter()
                .filter(|u| u.mail.as_deref().is_some_and(|m| emails[i].matches(m)))
            {
                if best.is_none_or(|b| b.is_deleted() && !user.is_deleted()) {
                    best = Some(user);
                }
            }
            out[i] = best.map(|u| u.id);
        }
        Ok(out)
    }

    /// The v1 `pseudonymize` call's input (an e-mail) served by the v2 flow: resolve the e-mail
    /// (directory or `mail[eq]`), then [`erase_user`](Self::erase_user). Returns the v2
    /// pseudonymized user. An unknown address is [`Error::NotFound`] with code `userNotFound`.
    /// **Irreversible.**
    pub async fn pseudonymize_by_email(&self, email: &Email) -> Result<User> {
        match self.user_id_for_email(email).await? {
            Some(id) => self.erase_user(&id).await,
            None => Err(Error::NotFound(VendorReply::new(
                VENDOR,
                "pseudonymize user by e-mail",
                StatusCode::NOT_FOUND,
                Some("userNotFound".to_owned()),
                Some("no user has this e-mail address".to_owned()),
            ))),
        }
    }

    /// Refresh the client's directory now (an error if the client has none).
    pub async fn refresh_directory(&self) -> Result<usize> {
        match &self.inner.directory {
            Some(d) => d.refresh(self).await,
            None => Err(Error::configuration("this client has no directory")),
        }
    }
}

/// What the vendor confirmed, free of personal data, with the pseudonymized user as the record
/// (minus the fields the vendor does not pseudonymize, which the warnings name).
fn evidence(user: &User, delete_external_ids: bool) -> Evidence {
    let summary = if delete_external_ids {
        "deleted and pseudonymized (external ids deleted)"
    } else {
        "deleted and pseudonymized (external ids kept)"
    };
    let mut evidence = Evidence::new(summary);
    // The record is the pseudonymized user without the fields the vendor leaves in place (and
    // without fields this crate does not know): evidence gets printed and logged, and must not
    // carry personal data. `erase_user` returns the complete user.
    let mut record = user.clone();
    record.job = None;
    record.organization = None;
    record.phone = None;
    record.custom = None;
    record.extra.clear();
    if let Ok(record) = serde_json::to_value(&record) {
        evidence = evidence.with_record(record);
    }
    let kept = user.personal_fields_present();
    if !kept.is_empty() {
        evidence = evidence.with_warning(format!(
            "the vendor does not pseudonymize these fields, which still hold a value: {}",
            kept.join(", ")
        ));
    }
    if !delete_external_ids {
        evidence = evidence.with_warning(
            "external ids were kept: a connector may identify and reactivate this user",
        );
    }
    evidence
}

#[async_trait]
impl Anonymizer for Learning360Client {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    async fn anonymize(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        for_each_user(ids, self.inner.concurrency, |id| async move {
            let id = match UserId::parse(&id) {
                Ok(id) => id,
                Err(e) => return Outcome::from_error(e),
            };
            match self.erase_user(&id).await {
                Ok(user) => Outcome::Anonymized(evidence(&user, self.inner.delete_external_ids)),
                Err(e) => Outcome::from_error(e),
            }
        })
        .await
    }

    async fn resolve_email(&self, email: &Email) -> Result<Option<String>> {
        Ok(self
            .user_id_for_email(email)
            .await?
            .map(|id| id.to_string()))
    }
    /// One directory refresh (when due) and one filtered query per 50 misses, not one look-up
    /// per address: see [`user_ids_for_emails`](Learning360Client::user_ids_for_emails).
    async fn resolve_emails(&self, emails: &[Email]) -> Result<Vec<Option<String>>> {
        Ok(self
            .user_ids_for_emails(emails)
            .await?
            .into_iter()
            .map(|id| id.map(|id| id.to_string()))
            .collect())
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

    #[test]
    fn builder_refuses_missing_or_empty_credentials() {
        let base = Url::parse("https://app.360learning.com").unwrap();
        let err = Learning360Client::builder(base.clone())
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }));
        let err = Learning360Client::builder(base.clone())
            .client_credentials("", SecretString::from("s"))
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }));
        let err = Learning360Client::builder(Url::parse("http://app.360learning.com").unwrap())
            .client_credentials("id", SecretString::from("s3cr3t"))
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }));
    }

    #[test]
    fn debug_hides_secrets() {
        let base = Url::parse("https://app.360learning.com").unwrap();
        let builder = Learning360Client::builder(base.clone())
            .client_credentials("my-client", SecretString::from("top-s3cr3t"));
        assert!(!format!("{builder:?}").contains("top-s3cr3t"));
        let client = builder.build().unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("top-s3cr3t"), "{shown}");
        assert!(shown.contains("my-client"));
        let client = Learning360Client::builder(base)
            .access_token(SecretString::from("tok-s3cr3t"))
            .build()
            .unwrap();
        assert!(!format!("{client:?}").contains("tok-s3cr3t"));
    }
}
