//! A stateful simulator of 360Learning's API v2 and v1 on loopback (feature `testkit`).
//!
//! [`Simulator`] answers like the vendor documents: OAuth client credentials with tokens that
//! expire, scopes (`users:read`, `users:write` → 403 `invalid_scope`), users with statuses, the
//! company owner (400 `userIsCompanyOwner` on delete), delete-before-pseudonymize (400
//! `userNotDeleted`), `Link` pagination (500 per page by default), the published rate limits
//! enforced with 429 `{"error":"tooManyRequests"}` over sliding one-second windows, both error
//! shapes, the v1 endpoints with header (or query) authentication, and fault injection through
//! core's [`Faults`]. Unknown routes answer 404.
//!
//! Where the vendor's documentation is silent the simulator makes a choice, documented on the
//! method or in `docs/learning360.md` ("Simulator"): deleting a user who is already deleted
//! answers 204; `mail[eq]` matches case-insensitively; a missing `360-api-version` header is
//! 400 `invalidApiVersion`; the token endpoint counts as a write.
#![allow(deprecated)]

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anonymize_core::faults::Faults;
use anonymize_core::testkit::Frontdoor;
use anonymize_core::{HttpConfig, RetryPolicy};
use httpmock::{HttpMockRequest, HttpMockResponse, MockServer};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

use crate::client::{
    Learning360Client, Learning360ClientBuilder, READS_PER_SECOND, WRITES_PER_SECOND,
};
use crate::ids::UserId;
use crate::model::{User, UserStatus};
use crate::v1::V1Client;

/// The OAuth scope for reads.
pub const SCOPE_READ: &str = "users:read";
/// The OAuth scope for writes.
pub const SCOPE_WRITE: &str = "users:write";

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
    pub fn status(mut self, status: UserStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Set first and last name.
    pub fn names(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.first_name = Some(first.into());
        self.last_name = Some(last.into());
        self
    }

    /// Set the phone number.
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Add an external id.
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_ids.push(id.into());
        self
    }

    /// Make this user the company owner.
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

/// One request the simulator received.
#[derive(Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method, e.g. `PUT`.
    pub method: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The headers (names lower-case).
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query.as_ref().map(|_| "<redacted>"))
            .field("headers", &names)
            .finish()
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

struct Token {
    scopes: Vec<String>,
    expires: Instant,
}

struct State {
    base: String,
    users: Vec<Record>,
    index: HashMap<UserId, usize>,
    next_id: u64,
    clients: HashMap<String, OAuthClient>,
    tokens: HashMap<String, Token>,
    token_lifetime: Duration,
    expires_in_as_string: bool,
    scope_error_shape: ErrorShape,
    relative_links: bool,
    page_size: usize,
    reads_per_second: Option<u32>,
    writes_per_second: Option<u32>,
    reads: VecDeque<Instant>,
    writes: VecDeque<Instant>,
    rate_limited: usize,
    token_requests: usize,
    v1_company: String,
    v1_key: String,
    requests: Vec<RecordedRequest>,
}

/// A stateful 360Learning on loopback; see the [module docs](self).
pub struct Simulator {
    server: MockServer,
    state: Arc<Mutex<State>>,
    front: Frontdoor,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("url", &self.server.base_url())
            .finish_non_exhaustive()
    }
}

/// The OAuth client every simulator knows, with both scopes.
pub const CLIENT_ID: &str = "sim-client";
const CLIENT_SECRET: &str = "sim-client-secret-0001";
const V1_COMPANY: &str = "5f0000000000000000000001";
const V1_KEY: &str = "sim-v1-api-key-0001";

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Simulator {
    /// Start a simulator with one OAuth client ([`CLIENT_ID`], both scopes), no users, 500
    /// users per page, 1-hour tokens, and the vendor's rate limits (50 reads/s, 10 writes/s).
    pub async fn start() -> Self {
        let server = MockServer::start_async().await;
        let mut clients = HashMap::new();
        clients.insert(
            CLIENT_ID.to_owned(),
            OAuthClient {
                secret: CLIENT_SECRET.to_owned(),
                scopes: vec![SCOPE_READ.to_owned(), SCOPE_WRITE.to_owned()],
            },
        );
        let state = Arc::new(Mutex::new(State {
            base: server.base_url(),
            users: Vec::new(),
            index: HashMap::new(),
            next_id: 1,
            clients,
            tokens: HashMap::new(),
            token_lifetime: Duration::from_secs(3600),
            expires_in_as_string: false,
            scope_error_shape: ErrorShape::Nested,
            relative_links: false,
            page_size: 500,
            reads_per_second: Some(READS_PER_SECOND),
            writes_per_second: Some(WRITES_PER_SECOND),
            reads: VecDeque::new(),
            writes: VecDeque::new(),
            rate_limited: 0,
            token_requests: 0,
            v1_company: V1_COMPANY.to_owned(),
            v1_key: V1_KEY.to_owned(),
            requests: Vec::new(),
        }));
        let front = Frontdoor::new();
        let shared = state.clone();
        front.mount(&server, move |req| handle(&shared, req)).await;
        Self {
            server,
            state,
            front,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The base URL to give a client.
    pub fn url(&self) -> Url {
        // httpmock's base URL is always a valid http://127.0.0.1:port URL.
        Url::parse(&self.server.base_url()).unwrap_or_else(|_| {
            Url::parse("http://127.0.0.1/").unwrap_or_else(|_| unreachable!("a valid literal"))
        })
    }

    /// HTTP settings for tests: tiny retry backoffs (also after a 429), short timeouts.
    pub fn fast_http_config() -> HttpConfig {
        HttpConfig::default()
            .with_request_timeout(Duration::from_secs(10))
            .with_retry(
                RetryPolicy::default()
                    .with_initial_backoff(Duration::from_millis(1))
                    .with_max_backoff(Duration::from_millis(5))
                    .with_rate_limited_backoff(Duration::from_millis(5)),
            )
    }

    /// A client builder with the simulator's URL and credentials and [`fast_http_config`](Self::fast_http_config).
    pub fn client_builder(&self) -> Learning360ClientBuilder {
        Learning360Client::builder(self.url())
            .client_credentials(CLIENT_ID, self.client_secret())
            .http_config(Self::fast_http_config())
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
            .http_config(Self::fast_http_config())
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
            user.deleted_at.push(now_iso());
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
            user.reactivated_at.push(now_iso());
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

    /// Expire every token issued so far (the next call with one gets 401 `invalid_token`).
    pub fn expire_tokens(&self) {
        self.state().tokens.clear();
    }

    /// How long new tokens live (default one hour).
    pub fn set_token_lifetime(&self, d: Duration) {
        self.state().token_lifetime = d;
    }

    /// Write `expires_in` as a string (`"3600"`), as the vendor's own example does.
    pub fn set_expires_in_as_string(&self, yes: bool) {
        self.state().expires_in_as_string = yes;
    }

    /// How many token requests were received.
    pub fn token_requests(&self) -> usize {
        self.state().token_requests
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

    /// How many requests were received (all routes, faults included).
    pub fn requests_received(&self) -> usize {
        self.front.requests_received()
    }

    /// Every request that reached the simulator's routes, in order (a request answered by an
    /// injected fault never reaches them).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// How many requests had this method and a path starting with `prefix`.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(prefix))
            .count()
    }

    /// The fault queue: fail the next N calls, 429 with `Retry-After`, delays.
    pub fn faults(&self) -> &Faults {
        self.front.faults()
    }
}

fn now_iso() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

fn random_token(seed: u64) -> String {
    // splitmix64: unpredictable enough for a simulator, no dependency.
    let mut x = seed
        .wrapping_add(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos() as u64,
        )
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut out = String::new();
    for _ in 0..2 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.push_str(&format!("{z:016x}"));
    }
    out
}

fn respond(status: u16, body: Value) -> HttpMockResponse {
    HttpMockResponse::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}

fn flat(status: u16, code: &str) -> HttpMockResponse {
    respond(status, json!({ "error": code }))
}

fn nested(status: u16, code: &str, message: &str) -> HttpMockResponse {
    respond(
        status,
        json!({ "error": { "code": code, "message": message } }),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (
                (bytes[i + 1] as char).to_digit(16),
                (bytes[i + 2] as char).to_digit(16),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn handle(state: &Mutex<State>, req: &HttpMockRequest) -> HttpMockResponse {
    let uri = req.uri();
    let method = req.method_str().to_ascii_uppercase();
    let path = uri.path().to_owned();
    let query = uri.query().map(str::to_owned);
    let headers: Vec<(String, String)> = req
        .headers_vec()
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    let recorded = RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        headers,
    };
    lock(state).requests.push(recorded.clone());

    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let params = req.query_params();
    let mut s = lock(state);

    // The published limits, per company, over sliding one-second windows.
    let is_read = method == "GET" || method == "HEAD";
    if segs.first() == Some(&"api") {
        let now = Instant::now();
        let (limit, window) = if is_read {
            (s.reads_per_second, &mut s.reads)
        } else {
            (s.writes_per_second, &mut s.writes)
        };
        if let Some(limit) = limit {
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                window.pop_front();
            }
            if window.len() >= limit as usize {
                s.rate_limited += 1;
                return flat(429, "tooManyRequests");
            }
            window.push_back(now);
        }
    }

    match (method.as_str(), segs.as_slice()) {
        ("POST", ["api", "v2", "oauth2", "token"]) => token(&mut s, req),
        (_, ["api", "v2", ..]) => v2(&mut s, &method, &segs[2..], &params, &recorded),
        (_, ["api", "v1", ..]) => v1(&mut s, &method, &segs[2..], &params, &recorded),
        _ => nested(404, "notFound", "Unknown route."),
    }
}

fn token(s: &mut State, req: &HttpMockRequest) -> HttpMockResponse {
    s.token_requests += 1;
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(req.body_ref()) else {
        return flat(400, "invalid_request");
    };
    let field = |k: &str| body.get(k).and_then(Value::as_str);
    let (Some(grant), Some(id), Some(secret)) = (
        field("grant_type"),
        field("client_id"),
        field("client_secret"),
    ) else {
        return flat(400, "invalid_request");
    };
    if grant != "client_credentials" {
        return flat(400, "unsupported_grant_type");
    }
    let scopes = match s.clients.get(id) {
        Some(c) if c.secret == secret => c.scopes.clone(),
        _ => return flat(401, "invalid_client"),
    };
    let n = s.token_requests as u64;
    let token = random_token(n);
    let lifetime = s.token_lifetime;
    s.tokens.insert(
        token.clone(),
        Token {
            scopes,
            expires: Instant::now() + lifetime,
        },
    );
    let expires_in = if s.expires_in_as_string {
        json!(lifetime.as_secs().to_string())
    } else {
        json!(lifetime.as_secs())
    };
    respond(
        200,
        json!({ "token_type": "Bearer", "access_token": token, "expires_in": expires_in }),
    )
}

fn v2(
    s: &mut State,
    method: &str,
    segs: &[&str],
    params: &[(String, String)],
    req: &RecordedRequest,
) -> HttpMockResponse {
    let scopes = match req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| s.tokens.get(t))
    {
        Some(t) if t.expires > Instant::now() => t.scopes.clone(),
        _ => return flat(401, "invalid_token"),
    };
    if req.header("360-api-version") != Some("v2.0") {
        return nested(
            400,
            "invalidApiVersion",
            "The 360-api-version header must be v2.0.",
        );
    }
    let needed = if method == "GET" {
        SCOPE_READ
    } else {
        SCOPE_WRITE
    };
    if !scopes.iter().any(|sc| sc == needed) {
        let message = format!("The access token lacks the {needed} scope.");
        return match s.scope_error_shape {
            ErrorShape::Flat => flat(403, "invalid_scope"),
            ErrorShape::Nested => nested(403, "invalid_scope", &message),
        };
    }
    match (method, segs) {
        ("GET", ["users"]) => list(s, params),
        ("GET", ["users", id]) => match find(s, id) {
            Some(i) => respond(200, user_json(&s.users[i].user)),
            None => user_not_found(),
        },
        ("DELETE", ["users", id]) => match find(s, id) {
            Some(i) if s.users[i].owner => nested(
                400,
                "userIsCompanyOwner",
                "The company owner cannot be deleted.",
            ),
            Some(i) => {
                let user = &mut s.users[i].user;
                if !user.is_deleted() {
                    user.status = Some(UserStatus::Deleted);
                    user.deleted = None;
                    user.deleted_at.push(now_iso());
                }
                HttpMockResponse::builder().status(204).build()
            }
            None => user_not_found(),
        },
        ("PUT", ["users", id, "pseudonymize"]) => {
            let delete_ext = match params.iter().find(|(k, _)| k == "deleteExternalIds") {
                None => false,
                Some((_, v)) if v == "true" => true,
                Some((_, v)) if v == "false" => false,
                Some(_) => {
                    return nested(
                        400,
                        "invalidQuery",
                        "deleteExternalIds must be true or false.",
                    );
                }
            };
            match find(s, id) {
                Some(i) if !s.users[i].user.is_deleted() => nested(
                    400,
                    "userNotDeleted",
                    "The given userId does not correspond to a deleted user.",
                ),
                Some(i) => {
                    let seed = s.next_id + i as u64;
                    let rec = &mut s.users[i];
                    pseudonymize(&mut rec.user, seed);
                    if delete_ext {
                        rec.external_ids.clear();
                    }
                    respond(200, user_json(&rec.user))
                }
                None => user_not_found(),
            }
        }
        _ => nested(404, "notFound", "Unknown route."),
    }
}

fn pseudonymize(user: &mut User, seed: u64) {
    let r = random_token(seed);
    user.mail = Some(format!("{}@pseudonymized.invalid", &r[..20]));
    user.username = Some(r[..16].to_owned());
    if user.first_name.is_some() {
        user.first_name = Some(r[8..20].to_owned());
    }
    if user.last_name.is_some() {
        user.last_name = Some(r[20..32].to_owned());
    }
    user.custom = None;
    user.extra.remove("customFields");
}

fn user_not_found() -> HttpMockResponse {
    nested(
        404,
        "userNotFound",
        "The given userId does not correspond to any existing user.",
    )
}

fn find(s: &State, id: &str) -> Option<usize> {
    UserId::parse(id)
        .ok()
        .and_then(|id| s.index.get(&id).copied())
}

fn user_json(user: &User) -> Value {
    serde_json::to_value(user).unwrap_or(Value::Null)
}

fn list(s: &State, params: &[(String, String)]) -> HttpMockResponse {
    let mut mail_eq = None;
    let mut mail_in: Vec<&str> = Vec::new();
    let mut username_eq = None;
    let mut status_eq = None;
    let mut page = 1usize;
    for (k, v) in params {
        match k.as_str() {
            "mail[eq]" => mail_eq = Some(v.as_str()),
            "mail[in][]" | "mail[in]" => mail_in.push(v),
            "username[eq]" => username_eq = Some(v.as_str()),
            "status[eq]" => {
                if !matches!(v.as_str(), "active" | "invited" | "deleted") {
                    return nested(
                        400,
                        "invalidQuery",
                        "status[eq] must be active, invited or deleted.",
                    );
                }
                status_eq = Some(v.as_str());
            }
            "page" => match v.parse::<usize>() {
                Ok(p) if p >= 1 => page = p,
                _ => return nested(400, "invalidQuery", "Invalid page."),
            },
            _ => {}
        }
    }
    let mail_is = |u: &User, want: &str| {
        u.mail
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case(want))
    };
    let matching: Vec<&User> = s
        .users
        .iter()
        .map(|r| &r.user)
        .filter(|u| mail_eq.is_none_or(|m| mail_is(u, m)))
        .filter(|u| mail_in.is_empty() || mail_in.iter().any(|m| mail_is(u, m)))
        .filter(|u| username_eq.is_none_or(|n| u.username.as_deref() == Some(n)))
        .filter(|u| {
            status_eq.is_none_or(|st| u.effective_status().is_some_and(|x| x.as_str() == st))
        })
        .collect();
    let size = s.page_size;
    let start = (page - 1).saturating_mul(size).min(matching.len());
    let end = (start + size).min(matching.len());
    let body: Vec<Value> = matching[start..end].iter().map(|u| user_json(u)).collect();
    let mut b = HttpMockResponse::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Value::Array(body).to_string());
    if end < matching.len() {
        let mut next = Url::parse(&format!("{}/api/v2/users", s.base))
            .unwrap_or_else(|_| unreachable!("the simulator's base URL is valid"));
        {
            let mut q = next.query_pairs_mut();
            for (k, v) in params.iter().filter(|(k, _)| k != "page") {
                q.append_pair(k, v);
            }
            q.append_pair("page", &(page + 1).to_string());
        }
        let target = if s.relative_links {
            format!("{}?{}", next.path(), next.query().unwrap_or(""))
        } else {
            next.to_string()
        };
        b = b.header("link", format!("<{target}>; rel=\"next\""));
    }
    b.build()
}

fn v1(
    s: &mut State,
    method: &str,
    segs: &[&str],
    params: &[(String, String)],
    req: &RecordedRequest,
) -> HttpMockResponse {
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let company = req.header("x-company-id").or(param("company"));
    let key = req.header("x-apikey").or(param("apiKey"));
    if company != Some(s.v1_company.as_str()) || key != Some(s.v1_key.as_str()) {
        return flat(401, "unauthorized");
    }
    match (method, segs) {
        ("GET", ["users"]) => {
            let all: Vec<Value> = s.users.iter().map(|r| user_json(&r.user)).collect();
            respond(200, Value::Array(all))
        }
        ("PUT", ["users", who, "pseudonymize"]) => {
            let at = find(s, who).or_else(|| {
                s.users.iter().position(|r| {
                    r.user
                        .mail
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case(who))
                })
            });
            match at {
                Some(i) => {
                    let seed = s.next_id + i as u64;
                    pseudonymize(&mut s.users[i].user, seed);
                    respond(
                        200,
                        json!({ "message": "user_personal_data_removed_successfully" }),
                    )
                }
                None => flat(404, "user_not_found"),
            }
        }
        _ => nested(404, "notFound", "Unknown route."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_look_right() {
        let d = now_iso();
        assert_eq!(d.len(), 24, "{d}");
        assert!(d.ends_with('Z') && d.as_bytes()[10] == b'T', "{d}");
        assert!(d.starts_with("20"), "{d}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b.c"), "a@b.c");
        assert_eq!(percent_decode("%2F%zz%4"), "/%zz%4");
    }
}
