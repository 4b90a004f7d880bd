//! [`GuardhouseClient`]: Guardhouse's System API endpoints, typed.

use std::fmt;
use std::sync::Arc;

use anonymize_core::reqwest::{Method, StatusCode};
use anonymize_core::vendor::{Bytes, Call, HttpClient};
use anonymize_core::{Email, Error, Result};
use url::Url;

use crate::VENDOR;
use crate::id::UserId;
use crate::model::{AnonymizeOptions, User, UsersPage};

/// Guardhouse's documented answer to `PUT …/personal-data`, with no body: any other 2xx (a proxy's
/// sign-in page) is no proof of an irreversible erasure, so it is the only success.
pub(crate) const ANONYMIZED: StatusCode = StatusCode::NO_CONTENT;

/// A client for Guardhouse's System API; build it with [`GuardhouseClient::builder`] or
/// [`GuardhouseClient::from_env`]. Cheap to clone; clones share the connection pool and the
/// token cache. `Debug` never shows a secret.
///
/// **Anonymization is irreversible**: Guardhouse replaces the user's names, e-mail address,
/// phone and credentials, and archives the user.
#[derive(Clone)]
pub struct GuardhouseClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// Authorizes every request (client credentials through the token cache, or a fixed token).
    http: HttpClient,
    settings: Settings,
    /// `settings.options` as JSON, encoded once: the body of every erasure with them.
    options_body: Bytes,
}

/// What the builder settled besides the HTTP client.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) options: AnonymizeOptions,
    pub(crate) concurrency: usize,
    pub(crate) page_size: u32,
    pub(crate) max_pages: u32,
    pub(crate) verify_archived: bool,
}

impl fmt::Debug for GuardhouseClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardhouseClient")
            .field("http", &self.inner.http)
            .field("settings", &self.inner.settings)
            .finish()
    }
}

impl GuardhouseClient {
    pub(crate) fn new(http: HttpClient, settings: Settings) -> Self {
        let options_body = options_json(settings.options);
        Self {
            inner: Arc::new(Inner {
                http,
                settings,
                options_body,
            }),
        }
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The API base URL.
    pub fn base_url(&self) -> &Url {
        self.inner.http.base()
    }

    /// `PUT /api/v1/users/{id}/personal-data` with the client's [`AnonymizeOptions`].
    ///
    /// **Irreversible.** `Ok` on 204. Errors: [`Error::NotFound`] (404 `User not found`),
    /// [`Error::Rejected`] with Guardhouse's text (400 `Failed to anonymize user data.`),
    /// [`Error::Unauthenticated`] (401, after one token refresh), [`Error::PermissionDenied`]
    /// (403: the client lacks System API access).
    pub async fn anonymize_user(&self, id: UserId) -> Result<()> {
        self.anonymize_user_with(id, self.inner.settings.options)
            .await
    }

    /// [`anonymize_user`](Self::anonymize_user) with these options instead of the client's.
    pub async fn anonymize_user_with(&self, id: UserId, options: AnonymizeOptions) -> Result<()> {
        let id = id.to_string();
        let url = self
            .inner
            .http
            .url(&["api", "v1", "users", &id, "personal-data"]);
        let body = if options == self.inner.settings.options {
            self.inner.options_body.clone()
        } else {
            options_json(options)
        };
        let call = Call::new("anonymize user", Method::PUT, url)
            .body(body, "application/json")
            .expect_status(ANONYMIZED);
        self.inner.http.execute(call).await.map(drop)
    }

    /// `GET /api/v1/users/{id}`. A missing user is [`Error::NotFound`].
    pub async fn user(&self, id: UserId) -> Result<User> {
        let id = id.to_string();
        let url = self.inner.http.url(&["api", "v1", "users", &id]);
        let call = Call::new("read user", Method::GET, url).expect_status(StatusCode::OK);
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
        let call = Call::new("search users", Method::GET, url).expect_status(StatusCode::OK);
        self.inner.http.execute(call).await?.json()
    }

    /// The user whose e-mail address is exactly `email` (ignoring case), or `None`.
    ///
    /// Reads every page of the partial-match search (`offset` advances by the users received;
    /// it stops when `offset >= total`, on an empty page, or — when the answer has no `total` —
    /// on a short page) and picks the exact matches. Two different users with the same address,
    /// and a search that has not ended after [`max_pages`](crate::GuardhouseClientBuilder::max_pages)
    /// pages, are an [`Error::Protocol`]: the client does not guess which user to erase.
    pub async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>> {
        let Settings {
            page_size,
            max_pages,
            ..
        } = self.inner.settings;
        let mut offset = 0u64;
        let mut found: Option<User> = None;
        for _ in 0..max_pages {
            let page = self.users_page(email.as_str(), offset, page_size).await?;
            let received = page.users.len() as u64;
            for user in page.users {
                if !user.has_email(email) {
                    continue;
                }
                match &found {
                    Some(first) if first.id != user.id => {
                        return Err(search_error(
                            "more than one Guardhouse user has this e-mail address; \
                             refusing to guess which one is meant"
                                .into(),
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
        Err(search_error(format!(
            "the user search did not end after {max_pages} pages"
        )))
    }
}

/// The client's conclusion from well-formed search answers (never personal data).
fn search_error(detail: String) -> Error {
    Error::Protocol {
        vendor: VENDOR,
        operation: "search users",
        detail,
    }
}

/// The erasure body: `{"triggerWebhook":…,"notifyUserViaEmail":…}` (two booleans: encoding
/// cannot fail).
fn options_json(options: AnonymizeOptions) -> Bytes {
    Bytes::from(serde_json::to_vec(&options).unwrap_or_default())
}
