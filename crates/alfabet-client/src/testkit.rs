//! A stateful Alfabet simulator on loopback, for tests and examples (feature `testkit`).
//!
//! [`Simulator::start`] serves Alfabet's token and `anonymizeuser` endpoints under
//! `http://127.0.0.1:<port>/AlfabetAPIServer`, as the vendor documents them:
//!
//! - `POST …/api/token` (form-encoded password grant) answers
//!   `{"token_type":"bearer","access_token":"…","expires_in":1200}`; a wrong user name or password
//!   is `400 {"error":"invalid_grant"}`, another grant type `400 {"error":"unsupported_grant_type"}`.
//!   Tokens expire after the [configured lifetime](Simulator::set_token_lifetime) or at once with
//!   [`expire_tokens`](Simulated::expire_tokens).
//! - `PUT …/api/v2/anonymizeuser` wants `Authorization: bearer <token>` (401 when missing, unknown
//!   or expired), a JSON `Content-Type` (415 otherwise) and a non-empty `Refs` list (400
//!   otherwise). An unknown ref is rejected with `Cannot find instance`, a user
//!   [excluded from anonymization](Simulator::add_excluded_user) with
//!   `User is excluded from anonymization`; every other user is anonymized (name and e-mail
//!   replaced) and counted in `Count`.
//! - Any other path answers 404 (paths are case-sensitive), another method on a known path 405.
//!
//! The shape of `RejectedObjects` is [configurable](Simulator::set_rejected_shape) (a list, or a
//! single object when there is one, as in the vendor's own example, …), `Count` can be
//! [misreported](Simulator::misreport_count), extra answer fields can be
//! [added](Simulator::add_answer_field), and [`faults`](Simulated::faults) injects failures (the
//! controls every simulator shares are the [`Simulated`] trait's: bring it into scope).
//!
//! It is built on `anonymize_core::testkit` (one mock server whose front door logs every request
//! and applies injected faults, one token store) and implements
//! [`Simulated`], the controls the conformance suite drives.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anonymize_core::HttpConfig;
use anonymize_core::testkit::{
    Frontdoor, SimServer, Simulated, TokenCheck, TokenStore, fast_http_config, header, reply,
};
use httpmock::{HttpMockRequest, HttpMockResponse};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use url::Url;

use crate::builder::AlfabetClientBuilder;
use crate::client::AlfabetClient;
use crate::id::RefStr;

/// The path the simulated API server lives under, as on a real installation.
pub const BASE_PATH: &str = "/AlfabetAPIServer";

/// The user name of the account [`Simulator::client`] logs in with.
pub const USERNAME: &str = "api-anonymizer";

/// The password of that account (a test value, not a secret).
pub const PASSWORD: &str = "simulator-password";

/// The rejection message for an unknown ref, as Alfabet writes it.
pub const NOT_FOUND_MESSAGE: &str = "Cannot find instance";

/// The rejection message for a user excluded from anonymization.
pub const EXCLUDED_MESSAGE: &str = "User is excluded from anonymization";

/// How the simulator's tokens start (Alfabet's tokens are JWTs).
pub const TOKEN_PREFIX: &str = "eyJsim";

/// The class number of the users [`Simulator::add_user`] creates (Person, as in the vendor's
/// example).
pub const PERSON_CLASS: u64 = 421;

/// How `RejectedObjects` is written in the simulator's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RejectedShape {
    /// Always a list, `[]` when nothing was rejected (the reference text).
    #[default]
    List,
    /// A single object when exactly one ref was rejected (the vendor's own example), a list
    /// otherwise.
    SingleObjectWhenOne,
    /// `null` when nothing was rejected, a list otherwise.
    NullWhenEmpty,
    /// Left out when nothing was rejected, a list otherwise.
    OmittedWhenEmpty,
}

/// One user in the simulator's store. Its `Debug` hides the name and e-mail.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimUser {
    /// The user's name (`Anonymous` once anonymized).
    pub name: String,
    /// The user's e-mail address (a placeholder once anonymized).
    pub email: String,
    /// "Exclude from Anonymization" is set: the vendor rejects the user.
    pub excluded: bool,
    /// The user was anonymized.
    pub anonymized: bool,
    /// How many requests anonymized this user.
    pub times_anonymized: u32,
}

impl fmt::Debug for SimUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimUser")
            .field("name", &"<redacted>")
            .field("email", &"<redacted>")
            .field("excluded", &self.excluded)
            .field("anonymized", &self.anonymized)
            .field("times_anonymized", &self.times_anonymized)
            .finish()
    }
}

struct State {
    accounts: HashMap<String, String>,
    tokens: TokenStore<()>,
    users: BTreeMap<RefStr, SimUser>,
    next_object: u64,
    rejected_shape: RejectedShape,
    count_offset: i64,
    answer_fields: Map<String, Value>,
    anonymize_requests: Vec<Vec<String>>,
}

/// A stateful Alfabet API server on loopback; see the [module docs](self).
pub struct Simulator {
    server: SimServer,
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("url", &self.url().as_str())
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Start a simulator with one account ([`USERNAME`], [`PASSWORD`]), no users, and tokens
    /// that live 1200 s (Alfabet's default).
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            accounts: HashMap::from([(USERNAME.to_owned(), PASSWORD.to_owned())]),
            // Alfabet's tokens are JWTs: `eyJ…`.
            tokens: TokenStore::new(TOKEN_PREFIX, Duration::from_secs(1200)),
            users: BTreeMap::new(),
            next_object: 1,
            rejected_shape: RejectedShape::default(),
            count_offset: 0,
            answer_fields: Map::new(),
            anonymize_requests: Vec::new(),
        }));
        let shared = state.clone();
        let server = SimServer::start(move |req| handle(&shared, req)).await;
        Self { server, state }
    }

    /// The base URL to give a client: `http://127.0.0.1:<port>/AlfabetAPIServer`.
    pub fn url(&self) -> Url {
        self.server.url(BASE_PATH)
    }

    /// HTTP settings for tests: core's [`fast_http_config`] (retries after a few milliseconds;
    /// a `Retry-After` the simulator sends is honoured, so inject short ones).
    pub fn http_config(&self) -> HttpConfig {
        fast_http_config()
    }

    /// A builder already pointed at the simulator with its [`http_config`](Self::http_config)
    /// and the default account's credentials ([`USERNAME`], [`PASSWORD`]), like the other
    /// simulators' `client_builder()`; replace them with
    /// [`password`](AlfabetClientBuilder::password) or
    /// [`bearer_token`](AlfabetClientBuilder::bearer_token) (the last one given wins).
    pub fn client_builder(&self) -> AlfabetClientBuilder {
        AlfabetClient::builder(self.url())
            .password(USERNAME, SecretString::from(PASSWORD))
            .http_config(self.http_config())
    }

    /// A client logged in with the default account (password grant) and fast retries.
    ///
    /// # Panics
    ///
    /// If the HTTP client cannot be built at all (no TLS backend): a test cannot run then.
    pub fn client(&self) -> AlfabetClient {
        self.client_builder()
            .build()
            .unwrap_or_else(|e| unreachable!("the simulator's client settings are valid: {e}"))
    }

    /// Add a login account.
    pub fn add_account(&self, username: impl Into<String>, password: impl Into<String>) {
        self.state()
            .accounts
            .insert(username.into(), password.into());
    }

    /// Issue a valid token (as the password grant would), e.g. for a client with a pre-issued
    /// token.
    pub fn issue_token(&self) -> SecretString {
        SecretString::from(self.state().tokens.issue(()))
    }

    /// How long tokens issued from now on live (and the `expires_in` the token answer says).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state().tokens.set_lifetime(lifetime);
    }

    /// Add a user of class [`PERSON_CLASS`]; returns its ref.
    pub fn add_user(&self, name: impl Into<String>, email: impl Into<String>) -> RefStr {
        let mut state = self.state();
        let r = loop {
            let r = RefStr::new(PERSON_CLASS, state.next_object);
            state.next_object += 1;
            if !state.users.contains_key(&r) {
                break r;
            }
        };
        state.users.insert(r, new_user(name.into(), email.into()));
        r
    }

    /// Add (or replace) a user with a given ref, of any class.
    pub fn add_user_with_ref(&self, r: RefStr, name: impl Into<String>, email: impl Into<String>) {
        self.state()
            .users
            .insert(r, new_user(name.into(), email.into()));
    }

    /// Add a user marked "Exclude from Anonymization": the vendor rejects it.
    pub fn add_excluded_user(&self, name: impl Into<String>, email: impl Into<String>) -> RefStr {
        let r = self.add_user(name, email);
        self.set_excluded(r, true);
        r
    }

    /// Set or clear a user's "Exclude from Anonymization" mark (no effect on an unknown ref).
    pub fn set_excluded(&self, r: RefStr, excluded: bool) {
        if let Some(user) = self.state().users.get_mut(&r) {
            user.excluded = excluded;
        }
    }

    /// The user with this ref, as stored now.
    pub fn user(&self, r: RefStr) -> Option<SimUser> {
        self.state().users.get(&r).cloned()
    }

    /// How `RejectedObjects` is written from now on.
    pub fn set_rejected_shape(&self, shape: RejectedShape) {
        self.state().rejected_shape = shape;
    }

    /// Report `Count` off by `delta` (e.g. `1`: one more than anonymized) from now on.
    pub fn misreport_count(&self, delta: i64) {
        self.state().count_offset = delta;
    }

    /// Add a field to every `anonymizeuser` answer (the documentation promises a third field it
    /// never names).
    pub fn add_answer_field(&self, name: impl Into<String>, value: Value) {
        self.state().answer_fields.insert(name.into(), value);
    }

    /// The `Refs` of every `anonymizeuser` request that passed authentication, in order.
    pub fn anonymize_requests(&self) -> Vec<Vec<String>> {
        self.state().anonymize_requests.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Simulated for Simulator {
    fn frontdoor(&self) -> &Frontdoor {
        self.server.frontdoor()
    }

    /// How many token requests it received (granted or not).
    fn token_requests(&self) -> usize {
        self.state().tokens.requests()
    }

    /// Every token issued so far expires now: the next call with one answers 401.
    fn expire_tokens(&self) {
        self.state().tokens.expire_all();
    }
}

fn new_user(name: String, email: String) -> SimUser {
    SimUser {
        name,
        email,
        excluded: false,
        anonymized: false,
        times_anonymized: 0,
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether the request's `Content-Type` is `media_type` (parameters such as a charset allowed).
fn has_media_type(req: &HttpMockRequest, media_type: &str) -> bool {
    header(req, "content-type").is_some_and(|ct| ct.to_ascii_lowercase().starts_with(media_type))
}

/// ASP.NET Web API's error body, which Alfabet's server sends.
fn message(status: u16, text: &str) -> HttpMockResponse {
    reply::json(status, &json!({ "Message": text }))
}

fn handle(state: &Mutex<State>, req: &HttpMockRequest) -> HttpMockResponse {
    let uri = req.uri();
    let route = uri.path().strip_prefix(BASE_PATH);
    let method = req.method_str().to_ascii_uppercase();
    match (route, method.as_str()) {
        (Some("/api/token"), "POST") => token(state, req),
        (Some("/api/v2/anonymizeuser"), "PUT") => anonymize(state, req),
        (Some("/api/token" | "/api/v2/anonymizeuser"), _) => message(
            405,
            "The requested resource does not support this HTTP method.",
        ),
        _ => message(
            404,
            "No HTTP resource was found that matches the request URI.",
        ),
    }
}

fn token(state: &Mutex<State>, req: &HttpMockRequest) -> HttpMockResponse {
    let mut state = lock(state);
    state.tokens.count_request();
    if !has_media_type(req, "application/x-www-form-urlencoded") {
        return reply::json(400, &json!({"error": "invalid_request"}));
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(req.body_ref())
        .into_owned()
        .collect();
    if form.get("grant_type").map(String::as_str) != Some("password") {
        return reply::json(400, &json!({"error": "unsupported_grant_type"}));
    }
    let known = match (form.get("username"), form.get("password")) {
        (Some(u), Some(p)) => state.accounts.get(u) == Some(p),
        _ => false,
    };
    if !known {
        return reply::json(
            400,
            &json!({"error": "invalid_grant", "error_description": "The user name or password is incorrect."}),
        );
    }
    let token = state.tokens.issue(());
    reply::json(
        200,
        &json!({
            "token_type": "bearer",
            "access_token": token,
            "expires_in": state.tokens.lifetime().as_secs(),
        }),
    )
}

fn anonymize(state: &Mutex<State>, req: &HttpMockRequest) -> HttpMockResponse {
    let mut state = lock(state);
    let authorized = header(req, "authorization")
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, token)| {
            matches!(state.tokens.check(token.trim()), TokenCheck::Valid(()))
        });
    if !authorized {
        return message(401, "Authorization has been denied for this request.");
    }
    if !has_media_type(req, "application/json") {
        return message(
            415,
            "The request entity's media type is not supported for this resource.",
        );
    }
    let refs: Option<Vec<String>> = match serde_json::from_slice::<Value>(req.body_ref()) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Refs"))
            .and_then(|(_, v)| match v {
                Value::Array(items) => items
                    .into_iter()
                    .map(|i| match i {
                        Value::String(s) => Some(s),
                        _ => None,
                    })
                    .collect(),
                _ => None,
            })
            .filter(|refs: &Vec<String>| !refs.is_empty()),
        _ => None,
    };
    let Some(refs) = refs else {
        return message(
            400,
            "The request is invalid: Refs must be a list of one or more REFSTRs.",
        );
    };
    state.anonymize_requests.push(refs.clone());

    let mut count: i64 = 0;
    let mut rejected = Vec::new();
    let mut seen = HashSet::new();
    for text in refs {
        if !seen.insert(text.clone()) {
            continue;
        }
        let user = text
            .parse::<RefStr>()
            .ok()
            .and_then(|r| state.users.get_mut(&r).map(|u| (r, u)));
        match user {
            None => rejected.push(json!({"RefStr": text, "Message": NOT_FOUND_MESSAGE})),
            Some((_, user)) if user.excluded => {
                rejected.push(json!({"RefStr": text, "Message": EXCLUDED_MESSAGE}));
            }
            Some((r, user)) => {
                user.name = "Anonymous".to_owned();
                user.email = format!("anonymous-{}-{}@anonymized.invalid", r.class(), r.object());
                user.anonymized = true;
                user.times_anonymized += 1;
                count += 1;
            }
        }
    }

    let mut answer = Map::new();
    answer.insert(
        "Count".to_owned(),
        json!(count.saturating_add(state.count_offset).max(0)),
    );
    match (state.rejected_shape, rejected.len()) {
        (RejectedShape::SingleObjectWhenOne, 1) => {
            answer.insert("RejectedObjects".to_owned(), rejected.remove(0));
        }
        (RejectedShape::NullWhenEmpty, 0) => {
            answer.insert("RejectedObjects".to_owned(), Value::Null);
        }
        (RejectedShape::OmittedWhenEmpty, 0) => {}
        _ => {
            answer.insert("RejectedObjects".to_owned(), Value::Array(rejected));
        }
    }
    for (k, v) in &state.answer_fields {
        answer.insert(k.clone(), v.clone());
    }
    reply::json(200, &Value::Object(answer))
}
