//! A stateful simulator of 360Learning's API v2 and v1 on loopback (feature `testkit`).
//!
//! [`Simulator`] answers like the vendor documents: OAuth client credentials with tokens that
//! expire, scopes (`users:read`, `users:write` → 403 `invalid_scope`), users with statuses, the
//! company owner (400 `userIsCompanyOwner` on delete), delete-before-pseudonymize (400
//! `userNotDeleted`), `Link` pagination (500 per page by default), the published rate limits
//! enforced with 429 `{"error":"tooManyRequests"}` over sliding one-second windows, both error
//! shapes, and the v1 endpoints with header (or query) authentication. Unknown routes answer 404.
//!
//! It is built on core's simulator base: every request goes through a
//! [`Frontdoor`] that logs it and applies injected faults, and
//! the controls every simulator shares (faults, the request log, token requests, expiring tokens)
//! come from [`Simulated`], which [`Simulator`] implements:
//! `use anonymize_core::testkit::Simulated` to call them.
//!
//! Where the vendor's documentation is silent the simulator makes a choice, documented on the
//! method or in `docs/learning360.md` ("Simulator"): deleting a user who is already deleted
//! answers 204; `mail[eq]` matches case-insensitively; a missing `360-api-version` header is
//! 400 `invalidApiVersion`; the token endpoint counts as a write.
#![allow(deprecated)]

mod routes;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anonymize_core::testkit::{Frontdoor, SimServer, Simulated, TokenStore, fast_http_config};
use secrecy::SecretString;
use url::Url;

use crate::builder::Learning360ClientBuilder;
use crate::builder::{READS_PER_SECOND, WRITES_PER_SECOND};
use crate::client::Learning360Client;
use crate::id::UserId;
use crate::model::{User, UserStatus};
use crate::v1::V1Client;

/// The OAuth scope for reads.
pub const SCOPE_READ: &str = "users:read";
/// The OAuth scope for writes.
pub const SCOPE_WRITE: &str = "users:write";

/// The OAuth client every simulator knows, with both scopes.
pub const CLIENT_ID: &str = "sim-client";
const CLIENT_SECRET: &str = "sim-client-secret-0001";
const V1_COMPANY: &str = "5f0000000000000000000001";
const V1_KEY: &str = "sim-v1-api-key-0001";

/// Which of the vendor's two error shapes an answer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    /// `{"error":"code"}`
    Flat,
    /// `{"error":{"code":"…","message":"…"}}`
    Nested,
}

/// A user to add to the simulator; see [`Simulator::add`].
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct NewUser {
    /// E-mail address.
    pub mail: Option<String>,
    /// Status (default active).
    pub status: Option<UserStatus>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Phone number (the vendor does not pseudonymize it).
    pub phone: Option<String>,
    /// "Additional information".
    pub custom: Option<String>,
    /// External ids (SSO, HRIS mappings).
    pub external_ids: Vec<String>,
    /// Whether this user is the company owner.
    pub owner: bool,
}

impl NewUser {
    /// An active user with this e-mail.
    pub fn new(mail: impl Into<String>) -> Self {
        Self {
            mail: Some(mail.into()),
            ..Self::default()
        }
    }

    /// Set the status.
    #[must_use]
    pub fn status(mut self, status: UserStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Set first and last name.
    #[must_use]
    pub fn names(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.first_name = Some(first.into());
        self.last_name = Some(last.into());
        self
    }

    /// Set the phone number.
    #[must_use]
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Add an external id.
    #[must_use]
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_ids.push(id.into());
        self
    }

    /// Make this user the company owner.
    #[must_use]
    pub fn owner(mut self) -> Self {
        self.owner = true;
        self
    }
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("status", &self.status)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

struct Record {
    user: User,
    external_ids: Vec<String>,
    owner: bool,
}

struct OAuthClient {
    secret: String,
    scopes: Vec<String>,
}

/// The simulated platform, behind one lock.
struct State {
    /// The server's own URL, for absolute `Link` targets.
    base: Url,
    users: Vec<Record>,
    index: HashMap<UserId, usize>,
    next_id: u64,
    clients: HashMap<String, OAuthClient>,
    /// Issued tokens and the scopes each grants.
    tokens: TokenStore<Vec<String>>,
    expires_in_as_string: bool,
    scope_error_shape: ErrorShape,
    relative_links: bool,
    page_size: usize,
    reads_per_second: Option<u32>,
    writes_per_second: Option<u32>,
    reads: VecDeque<Instant>,
    writes: VecDeque<Instant>,
    rate_limited: usize,
    v1_company: String,
    v1_key: String,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A stateful 360Learning on loopback; see the [module docs](self).
pub struct Simulator {
    server: SimServer,
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Simulated for Simulator {
    fn frontdoor(&self) -> &Frontdoor {
        self.server.frontdoor()
    }

    fn token_requests(&self) -> usize {
        self.state().tokens.requests()
    }

    /// Expire every token issued so far (the next call with one gets 401 `invalid_token`).
    fn expire_tokens(&self) {
        self.state().tokens.expire_all();
    }
}

impl Simulator {
    /// Start a simulator with one OAuth client ([`CLIENT_ID`], both scopes), no users, 500
    /// users per page, 1-hour tokens, and the vendor's rate limits (50 reads/s, 10 writes/s).
    pub async fn start() -> Self {
        let mut clients = HashMap::new();
        clients.insert(
            CLIENT_ID.to_owned(),
            OAuthClient {
                secret: CLIENT_SECRET.to_owned(),
                scopes: vec![SCOPE_READ.to_owned(), SCOPE_WRITE.to_owned()],
            },
        );
        let placeholder =
            Url::parse("http://127.0.0.1/").unwrap_or_else(|_| unreachable!("a valid literal"));
        let state = Arc::new(Mutex::new(State {
            base: placeholder,
            users: Vec::new(),
            index: HashMap::new(),
            next_id: 1,
            clients,
            tokens: TokenStore::new("l360", Duration::from_secs(3600)),
            expires_in_as_string: false,
            scope_error_shape: ErrorShape::Nested,
            relative_links: false,
            page_size: 500,
            reads_per_second: Some(READS_PER_SECOND),
            writes_per_second: Some(WRITES_PER_SECOND),
            reads: VecDeque::new(),
            writes: VecDeque::new(),
            rate_limited: 0,
            v1_company: V1_COMPANY.to_owned(),
            v1_key: V1_KEY.to_owned(),
        }));
        let shared = state.clone();
        let server = SimServer::start(move |req| routes::handle(&shared, req)).await;
        // Before anyone has the URL, so before any request.
        lock(&state).base = server.url("/");
        Self { server, state }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The base URL to give a client.
    pub fn url(&self) -> Url {
        self.server.url("/")
    }

    /// A client builder with the simulator's URL and credentials and core's
    /// [`fast_http_config`].
    pub fn client_builder(&self) -> Learning360ClientBuilder {
        Learning360Client::builder(self.url())
            .client_credentials(CLIENT_ID, self.client_secret())
            .http_config(fast_http_config())
    }

    /// A ready client (see [`client_builder`](Self::client_builder)).
    pub fn client(&self) -> Learning360Client {
        self.client_builder()
            .build()
            .unwrap_or_else(|e| panic!("the simulator's client must build: {e}"))
    }

    /// The secret of [`CLIENT_ID`].
    pub fn client_secret(&self) -> SecretString {
        SecretString::from(CLIENT_SECRET)
    }

    /// The v1 company id and API key.
    pub fn v1_credentials(&self) -> (String, SecretString) {
        let s = self.state();
        (s.v1_company.clone(), SecretString::from(s.v1_key.clone()))
    }

    /// A ready v1 client (credentials in headers).
    #[deprecated(note = "API v1 is deprecated; this is for migration tests")]
    pub fn v1_client(&self) -> V1Client {
        let (company, key) = self.v1_credentials();
        V1Client::builder(self.url())
            .company_id(company)
            .api_key(key)
            .http_config(fast_http_config())
            .build()
            .unwrap_or_else(|e| panic!("the simulator's v1 client must build: {e}"))
    }

    /// Add an active user with this e-mail.
    pub fn add_user(&self, mail: &str) -> UserId {
        self.add(NewUser::new(mail))
    }

    /// Add the company owner (who cannot be deleted).
    pub fn add_owner(&self, mail: &str) -> UserId {
        self.add(NewUser::new(mail).owner())
    }

    /// Add a user.
    pub fn add(&self, new: NewUser) -> UserId {
        let mut s = self.state();
        let n = s.next_id;
        s.next_id += 1;
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&0x6560_0000u32.to_be_bytes());
        bytes[4..].copy_from_slice(&n.to_be_bytes());
        let id = UserId::from_bytes(bytes);
        let mut user = User::new(id);
        user.mail = new.mail;
        user.status = Some(new.status.unwrap_or(UserStatus::Active));
        user.lang = Some("en".to_owned());
        user.first_name = new.first_name;
        user.last_name = new.last_name;
        user.username = new.username;
        user.phone = new.phone;
        user.custom = new.custom;
        if user.status == Some(UserStatus::Deleted) {
            user.deleted_at.push(routes::now_iso());
        }
        let at = s.users.len();
        s.users.push(Record {
            user,
            external_ids: new.external_ids,
            owner: new.owner,
        });
        s.index.insert(id, at);
        id
    }

    /// Add `n` active users `user{i}@example.com` (`i` from `start`).
    pub fn add_many(&self, start: usize, n: usize) -> Vec<UserId> {
        (start..start + n)
            .map(|i| self.add_user(&format!("user{i}@example.com")))
            .collect()
    }

    /// The user as the simulator stores it.
    pub fn user(&self, id: &UserId) -> Option<User> {
        let s = self.state();
        s.index.get(id).map(|&i| s.users[i].user.clone())
    }

    /// The user's external ids.
    pub fn external_ids(&self, id: &UserId) -> Vec<String> {
        let s = self.state();
        s.index
            .get(id)
            .map(|&i| s.users[i].external_ids.clone())
            .unwrap_or_default()
    }

    /// Reactivate a deleted user (as a connector would).
    pub fn reactivate(&self, id: &UserId) {
        let mut s = self.state();
        if let Some(&i) = s.index.get(id) {
            let user = &mut s.users[i].user;
            user.status = Some(UserStatus::Active);
            user.reactivated_at.push(routes::now_iso());
        }
    }

    /// Change a user's e-mail (e.g. to test a stale directory).
    pub fn set_mail(&self, id: &UserId, mail: &str) {
        let mut s = self.state();
        if let Some(&i) = s.index.get(id) {
            s.users[i].user.mail = Some(mail.to_owned());
        }
    }

    /// Add an OAuth client with these scopes.
    pub fn add_oauth_client(&self, id: &str, secret: &str, scopes: &[&str]) {
        self.state().clients.insert(
            id.to_owned(),
            OAuthClient {
                secret: secret.to_owned(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            },
        );
    }

    /// Change a client's scopes. Like the vendor, tokens already issued keep their scopes.
    pub fn set_scopes(&self, client_id: &str, scopes: &[&str]) {
        if let Some(c) = self.state().clients.get_mut(client_id) {
            c.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        }
    }

    /// Which shape 403 `invalid_scope` answers use (default nested).
    pub fn set_scope_error_shape(&self, shape: ErrorShape) {
        self.state().scope_error_shape = shape;
    }

    /// How long new tokens live (default one hour).
    pub fn set_token_lifetime(&self, d: Duration) {
        self.state().tokens.set_lifetime(d);
    }

    /// Write `expires_in` as a string (`"3600"`), as the vendor's own example does.
    pub fn set_expires_in_as_string(&self, yes: bool) {
        self.state().expires_in_as_string = yes;
    }

    /// Users per page of *List users* (default 500, like the vendor).
    pub fn set_page_size(&self, n: usize) {
        self.state().page_size = n.max(1);
    }

    /// Write `Link` targets as relative URLs (`/api/v2/users?...`).
    pub fn set_relative_links(&self, yes: bool) {
        self.state().relative_links = yes;
    }

    /// The enforced limits per sliding second (`None`: not enforced). Default 50 reads, 10 writes.
    pub fn set_rate_limits(&self, reads: Option<u32>, writes: Option<u32>) {
        let mut s = self.state();
        s.reads_per_second = reads;
        s.writes_per_second = writes;
    }

    /// How many 429 answers the rate limits produced (injected faults not counted).
    pub fn rate_limited_count(&self) -> usize {
        self.state().rate_limited
    }

    /// How many requests had this method and a path starting with `prefix` (faulted ones
    /// included).
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.frontdoor().count(method, prefix)
    }
}
