//! [`Learning360Client`]: the vendor's API v2 endpoints (users: list, retrieve, delete,
//! pseudonymize), the erasure flow, and the e-mail look-ups.

use std::fmt;
use std::sync::Arc;

use anonymize_core::Limiter;
use anonymize_core::reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use anonymize_core::reqwest::{Method, StatusCode};
use anonymize_core::vendor::{Call, HttpClient};
use anonymize_core::{Email, Error, Result};
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use url::Url;

use crate::directory::Directory;
use crate::filter::UserFilter;
use crate::id::UserId;
use crate::link::{LinkError, next_link};
use crate::model::User;
use crate::{API_VERSION, VENDOR};

/// How many e-mail addresses go into one `mail[in][]` query.
pub(crate) const MAIL_IN_CHUNK: usize = 50;

pub(crate) static API_VERSION_HEADER: HeaderName = HeaderName::from_static("360-api-version");

/// A stream of users, one page fetched at a time.
pub type UserStream = BoxStream<'static, Result<User>>;

/// A stream of pages of users (at most 500 each, as the vendor sends them).
pub type PageStream = BoxStream<'static, Result<Vec<User>>>;

/// A client for 360Learning's API v2. Cheap to clone: clones share the connection pool, the
/// token, the rate limiters and the [`Directory`]. Build one with
/// [`Learning360Client::builder`] or [`Learning360Client::from_env`].
///
/// **Erasure is irreversible**: [`erase_user`](Self::erase_user) and the
/// [`Anonymizer`](anonymize_core::Anonymizer) impl soft-delete the user and then pseudonymize them
/// (names, e-mail and username replaced by random strings, custom fields deleted, by default
/// external ids deleted too).
#[derive(Clone)]
pub struct Learning360Client {
    inner: Arc<Inner>,
}

/// What every clone shares; filled in by the builder.
pub(crate) struct Inner {
    /// Authorizes every request (a token cache or a pre-issued token).
    pub(crate) http: HttpClient,
    /// In-process by default, or one of the builder's `shared_limits`.
    pub(crate) reads: Arc<dyn Limiter>,
    pub(crate) writes: Arc<dyn Limiter>,
    pub(crate) delete_external_ids: bool,
    /// Check every erasure at the vendor (the builder's `verify`).
    pub(crate) verify: bool,
    pub(crate) concurrency: usize,
    pub(crate) directory: Option<Directory>,
}

impl fmt::Debug for Learning360Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Learning360Client")
            .field("http", &self.inner.http)
            .field("reads", &self.inner.reads.limit())
            .field("writes", &self.inner.writes.limit())
            .field("delete_external_ids", &self.inner.delete_external_ids)
            .field("verify", &self.inner.verify)
            .field("concurrency", &self.inner.concurrency)
            .field("directory", &self.inner.directory)
            .finish()
    }
}

impl Learning360Client {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The base URL the client calls.
    pub fn base_url(&self) -> &Url {
        self.inner.http.base()
    }

    /// The directory this client uses, if one was set.
    pub fn directory(&self) -> Option<&Directory> {
        self.inner.directory.as_ref()
    }

    /// Whether pseudonymization deletes external ids.
    pub fn deletes_external_ids(&self) -> bool {
        self.inner.delete_external_ids
    }

    /// Whether every erasure is checked at the vendor (the builder's `verify`).
    pub fn verifies(&self) -> bool {
        self.inner.verify
    }

    /// How many users a batch erases at the same time.
    pub(crate) fn concurrency(&self) -> usize {
        self.inner.concurrency
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
            .rate_limited(&**limiter)
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
            .execute(
                self.call("read user", Method::GET, url)
                    .expect_status(StatusCode::OK),
            )
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
            .execute(
                self.call("delete user", Method::DELETE, url)
                    .expect_status(StatusCode::NO_CONTENT),
            )
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
            .execute(
                self.call("pseudonymize user", Method::PUT, url)
                    .expect_status(StatusCode::OK),
            )
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
            .execute(
                self.call("list users", Method::GET, url.clone())
                    .expect_status(StatusCode::OK),
            )
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
                directory
                    .refresh_if_stale(|| self.list_users(&UserFilter::new()))
                    .await?;
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
        if let Some(d) = &self.inner.directory {
            for user in &found {
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
    /// pseudonymized user, or `None` when no user has this address (then no erasure request is
    /// sent). **Irreversible.**
    pub async fn pseudonymize_by_email(&self, email: &Email) -> Result<Option<User>> {
        match self.user_id_for_email(email).await? {
            Some(id) => self.erase_user(&id).await.map(Some),
            None => Ok(None),
        }
    }

    /// Refresh the client's directory now from every user of *List users*; returns how many
    /// addresses it knows. [`Error::Configuration`] if the client has no directory.
    pub async fn refresh_directory(&self) -> Result<usize> {
        match &self.inner.directory {
            Some(d) => d.refresh_from(self.list_users(&UserFilter::new())).await,
            None => Err(Error::configuration("this client has no directory")),
        }
    }
}
