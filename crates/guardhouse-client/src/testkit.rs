//! A stateful Guardhouse System API on loopback, for tests and examples (feature `testkit`).
//!
//! [`Simulator`] answers like Guardhouse documents it:
//!
//! - `POST /connect/token` (form-encoded client-credentials grant): registered clients with the
//!   scopes they may ask for; tokens that expire after a configurable lifetime
//!   ([`set_token_lifetime`](Simulator::set_token_lifetime), [`expire_tokens`](Simulator::expire_tokens));
//!   bad client credentials are 400 `{"error":"invalid_client"}`, a scope the client may not ask
//!   for 400 `{"error":"invalid_scope"}`, as OAuth servers answer.
//! - Every `/api/v1/…` route: 401 for a missing, unknown or expired token, 403 for a token
//!   without the `system_api` scope.
//! - `PUT /api/v1/users/{id}/personal-data` (`Content-Type: application/json`, body with the
//!   optional `triggerWebhook` / `notifyUserViaEmail`): 204 and the documented effects (first name
//!   `Deleted`, last name `User`, status Archived, e-mail and username replaced by a unique
//!   `…@deleted.guardhouse.local` address, password, two-factor, phone, avatar, external logins,
//!   claims and suspension reason cleared); 404 `User not found`; 400
//!   `Failed to anonymize user data.` for users added with
//!   [`add_unanonymizable_user`](Simulator::add_unanonymizable_user).
//! - `GET /api/v1/users/{id}`: the user, or 404 `User not found`.
//! - `GET /api/v1/users?email=…&pageSize=…&offset=…`: a case-insensitive *partial* e-mail match,
//!   `{total, users}`, pages capped at [`set_max_page_size`](Simulator::set_max_page_size).
//! - Anything else: 404.
//!
//! It is built on core's testkit ([`SimServer`]): every request is logged and first consults the
//! fault queue. The controls every simulator shares come from the [`Simulated`] trait (bring it
//! into scope with `use anonymize_core::testkit::Simulated`): [`faults`](Simulated::faults) (fail
//! the next N requests with a status, answer 429 with `Retry-After`, or delay),
//! [`requests`](Simulated::requests), [`requests_received`](Simulated::requests_received),
//! [`token_requests`](Simulated::token_requests), [`expire_tokens`](Simulated::expire_tokens).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anonymize_core::testkit::reply::{empty, json, text};
use anonymize_core::testkit::{
    Frontdoor, SimServer, Simulated, TokenCheck, TokenStore, fast_http_config, header,
};
use httpmock::{HttpMockRequest, HttpMockResponse};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

use crate::auth::SYSTEM_API_SCOPE;
use crate::builder::GuardhouseClientBuilder;
use crate::client::GuardhouseClient;
use crate::id::UserId;
use crate::model::{AnonymizeOptions, NamedRef, UserStatus};

/// The suffix of the addresses anonymized users get.
pub const DELETED_EMAIL_DOMAIN: &str = "deleted.guardhouse.local";

/// A user as the simulator stores it (more than the API shows: phone, username, credentials…).
///
/// Holds personal data: its `Debug` redacts e-mail, username, names and phone.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct SimUser {
    /// The id.
    pub id: UserId,
    /// The e-mail address.
    pub email: String,
    /// The username (the e-mail address when seeded).
    pub username: String,
    /// The first name.
    pub first_name: String,
    /// The last name.
    pub last_name: String,
    /// The status.
    pub status: UserStatus,
    /// The phone number.
    pub phone_number: Option<String>,
    /// The avatar URL.
    pub avatar_url: Option<String>,
    /// Whether the user has a password.
    pub has_password: bool,
    /// Whether two-factor authentication is set up.
    pub two_factor_enabled: bool,
    /// Why the user is suspended, if so.
    pub suspension_reason: Option<String>,
    /// External logins (provider names).
    pub external_logins: Vec<String>,
    /// Claims (type, value).
    pub claims: Vec<(String, String)>,
    /// Roles.
    pub roles: Vec<NamedRef>,
    /// System permissions.
    pub system_permissions: Vec<NamedRef>,
    /// The last sign-in.
    pub last_login: Option<String>,
    /// Whether anonymization fails for this user (400 `Failed to anonymize user data.`).
    pub refuses_anonymization: bool,
}

impl fmt::Debug for SimUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimUser")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("refuses_anonymization", &self.refuses_anonymization)
            .finish_non_exhaustive()
    }
}

impl SimUser {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id.get(),
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "status": self.status,
            "avatarUrl": self.avatar_url,
            "roles": self.roles,
            "systemPermissions": self.system_permissions,
            "lastLogin": self.last_login,
        })
    }

    /// The documented effects of `PUT …/personal-data`.
    fn anonymize(&mut self, serial: u64) {
        let address = format!("{}-{serial}@{DELETED_EMAIL_DOMAIN}", self.id);
        self.email = address.clone();
        self.username = address;
        self.first_name = "Deleted".into();
        self.last_name = "User".into();
        self.status = UserStatus::Archived;
        self.phone_number = None;
        self.avatar_url = None;
        self.has_password = false;
        self.two_factor_enabled = false;
        self.suspension_reason = None;
        self.external_logins.clear();
        self.claims.clear();
    }
}

/// One `PUT …/personal-data` the simulator accepted (204), with the options it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnonymizeCall {
    /// The user.
    pub user_id: UserId,
    /// The body's flags.
    pub options: AnonymizeOptions,
}

struct ApiClient {
    secret: String,
    scopes: Vec<String>,
}

struct State {
    clients: HashMap<String, ApiClient>,
    /// Each token with the scopes it grants.
    tokens: TokenStore<Vec<String>>,
    max_page_size: u32,
    users: BTreeMap<UserId, SimUser>,
    next_user_id: u64,
    serial: u64,
    anonymize_calls: Vec<AnonymizeCall>,
}

/// A stateful Guardhouse on a loopback port; see the [module docs](self).
///
/// Dropping it stops the server.
pub struct Simulator {
    server: SimServer,
    state: Arc<Mutex<State>>,
    client_id: String,
    client_secret: String,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("url", &self.url().as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Start a simulator with one API client (with the `system_api` scope), no users, and
    /// tokens that live an hour.
    pub async fn start() -> Self {
        let client_id = "guardhouse-sim-client".to_owned();
        let client_secret = format!("sim-secret-{:016x}", seed());
        let mut clients = HashMap::new();
        clients.insert(
            client_id.clone(),
            ApiClient {
                secret: client_secret.clone(),
                scopes: vec![SYSTEM_API_SCOPE.to_owned()],
            },
        );
        let state = Arc::new(Mutex::new(State {
            clients,
            tokens: TokenStore::new("sim-token", Duration::from_secs(3600)),
            max_page_size: 100,
            users: BTreeMap::new(),
            next_user_id: 101,
            serial: 0,
            anonymize_calls: Vec::new(),
        }));
        let shared = state.clone();
        let server = SimServer::start(move |req| handle(&shared, req)).await;
        Self {
            server,
            state,
            client_id,
            client_secret,
        }
    }

    /// The issuer / API base URL to give a client.
    pub fn url(&self) -> Url {
        self.server.url("/")
    }

    /// A builder already set up with this simulator's URL and client credentials and core's
    /// fast test settings ([`fast_http_config`]), to adjust before building.
    pub fn client_builder(&self) -> GuardhouseClientBuilder {
        GuardhouseClient::builder(self.url())
            .client_credentials(
                self.client_id.clone(),
                SecretString::from(self.client_secret.clone()),
            )
            .http_config(fast_http_config())
    }

    /// A client for this simulator (see [`client_builder`](Self::client_builder)).
    ///
    /// # Panics
    /// Never in practice: the settings are fixed and valid.
    pub fn client(&self) -> GuardhouseClient {
        self.client_builder()
            .build()
            .unwrap_or_else(|e| panic!("the simulator's client settings are valid: {e}"))
    }

    /// The default client's id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The default client's secret (for tests that build their own client).
    pub fn client_secret(&self) -> SecretString {
        SecretString::from(self.client_secret.clone())
    }

    /// Register another API client that may ask for `scopes` (space-separated; e.g. `openid`
    /// for one without System API access).
    pub fn add_client(&self, client_id: &str, client_secret: &str, scopes: &str) {
        self.state().clients.insert(
            client_id.to_owned(),
            ApiClient {
                secret: client_secret.to_owned(),
                scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            },
        );
    }

    /// Issue a token directly (as a pre-issued bearer token), with these space-separated scopes.
    /// It is not counted as a token request.
    pub fn issue_token(&self, scopes: &str) -> SecretString {
        let scopes = scopes.split_whitespace().map(str::to_owned).collect();
        SecretString::from(self.state().tokens.issue(scopes))
    }

    /// How long tokens issued from now on live.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state().tokens.set_lifetime(lifetime);
    }

    /// The largest page the user search returns, whatever `pageSize` asks (default 100).
    pub fn set_max_page_size(&self, n: u32) {
        self.state().max_page_size = n.max(1);
    }

    /// Add a user with a phone number, password, two-factor, an avatar, an external login, a
    /// claim and one role; returns its id (ids count up from 101).
    pub fn add_user(&self, email: &str, first: &str, last: &str, status: UserStatus) -> UserId {
        self.insert_user(email, first, last, status, false)
    }

    /// Add a user whose anonymization fails with 400 `Failed to anonymize user data.`.
    pub fn add_unanonymizable_user(
        &self,
        email: &str,
        first: &str,
        last: &str,
        status: UserStatus,
    ) -> UserId {
        self.insert_user(email, first, last, status, true)
    }

    /// Make anonymization of an existing user fail (or work again); `false` if there is no such user.
    pub fn set_refuses_anonymization(&self, id: UserId, refuses: bool) -> bool {
        match self.state().users.get_mut(&id) {
            Some(user) => {
                user.refuses_anonymization = refuses;
                true
            }
            None => false,
        }
    }

    fn insert_user(
        &self,
        email: &str,
        first: &str,
        last: &str,
        status: UserStatus,
        refuses_anonymization: bool,
    ) -> UserId {
        let mut state = self.state();
        let id = UserId::try_from(state.next_user_id).unwrap_or_else(|_| unreachable!());
        state.next_user_id += 1;
        state.users.insert(
            id,
            SimUser {
                id,
                email: email.to_owned(),
                username: email.to_owned(),
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                status,
                phone_number: Some("+1 555 0100".into()),
                avatar_url: Some(format!("https://cdn.guardhouse.example/avatars/{id}.png")),
                has_password: true,
                two_factor_enabled: true,
                suspension_reason: None,
                external_logins: vec!["google".into()],
                claims: vec![("department".into(), "sales".into())],
                roles: vec![NamedRef {
                    id: "1".into(),
                    name: Some("User".into()),
                }],
                system_permissions: Vec::new(),
                last_login: Some("2026-01-02T03:04:05Z".into()),
                refuses_anonymization,
            },
        );
        id
    }

    /// The stored user, if any.
    pub fn user(&self, id: UserId) -> Option<SimUser> {
        self.state().users.get(&id).cloned()
    }

    /// Every accepted anonymization, in order.
    pub fn anonymize_calls(&self) -> Vec<AnonymizeCall> {
        self.state().anonymize_calls.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Simulated for Simulator {
    fn frontdoor(&self) -> &Frontdoor {
        self.server.frontdoor()
    }

    fn token_requests(&self) -> usize {
        self.state().tokens.requests()
    }

    /// Make every token issued so far expired: the next API call with one is answered 401.
    fn expire_tokens(&self) {
        self.state().tokens.expire_all();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Some variety for the client secret (not security: this is a test server).
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

fn handle(state: &Mutex<State>, req: &HttpMockRequest) -> HttpMockResponse {
    let uri = req.uri();
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let method = req.method_str().to_ascii_uppercase();
    let mut state = lock(state);
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["connect", "token"]) => state.token(req),
        (_, ["connect", "token"]) => empty(405),
        (_, ["api", "v1", "users", rest @ ..]) if rest.len() <= 2 => {
            // ASP.NET routes `{userId:int}`: a non-integer id matches no route.
            let id = match rest.first() {
                Some(raw) => match raw.parse::<i64>() {
                    Ok(id) => Some(id),
                    Err(_) => return text(404, "Not Found"),
                },
                None => None,
            };
            match (method.as_str(), id, rest.get(1).copied()) {
                ("GET", None, None)
                | ("GET", Some(_), None)
                | ("PUT", Some(_), Some("personal-data")) => {}
                (_, _, None) | (_, Some(_), Some("personal-data")) => return empty(405),
                _ => return text(404, "Not Found"),
            }
            if let Err(refusal) = state.authorize(req) {
                return refusal;
            }
            match (id, rest.get(1)) {
                (None, _) => state.search(req),
                (Some(id), None) => state.read(id),
                (Some(id), Some(_)) => state.anonymize(id, req),
            }
        }
        _ => text(404, "Not Found"),
    }
}

impl State {
    fn token(&mut self, req: &HttpMockRequest) -> HttpMockResponse {
        self.tokens.count_request();
        let form: HashMap<String, String> = url::form_urlencoded::parse(req.body_ref())
            .into_owned()
            .collect();
        let field = |k: &str| form.get(k).map(String::as_str);
        let oauth_error = |code: &str| json(400, &json!({ "error": code }));
        if field("grant_type") != Some("client_credentials") {
            return oauth_error("unsupported_grant_type");
        }
        let client = match (field("client_id"), field("client_secret")) {
            (Some(id), Some(secret)) => self
                .clients
                .get(id)
                .filter(|c| c.secret.as_bytes() == secret.as_bytes()),
            _ => None,
        };
        let Some(client) = client else {
            return oauth_error("invalid_client");
        };
        let asked: Vec<String> = field("scope")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if asked.iter().any(|s| !client.scopes.contains(s)) {
            return oauth_error("invalid_scope");
        }
        let scopes = if asked.is_empty() {
            client.scopes.clone()
        } else {
            asked
        };
        let scope = scopes.join(" ");
        let lifetime = self.tokens.lifetime().as_secs();
        let token = self.tokens.issue(scopes);
        json(
            200,
            &json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": lifetime,
                "scope": scope,
            }),
        )
    }

    fn authorize(&self, req: &HttpMockRequest) -> Result<(), HttpMockResponse> {
        let unauthorized = || {
            Err(HttpMockResponse::builder()
                .status(401)
                .header("www-authenticate", "Bearer error=\"invalid_token\"")
                .build())
        };
        let Some(value) = header(req, "authorization") else {
            return unauthorized();
        };
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return unauthorized(),
        };
        match self.tokens.check(token) {
            TokenCheck::Valid(scopes) if scopes.iter().any(|s| s == SYSTEM_API_SCOPE) => Ok(()),
            TokenCheck::Valid(_) => Err(empty(403)),
            TokenCheck::Expired | TokenCheck::Unknown => unauthorized(),
        }
    }

    fn read(&self, id: i64) -> HttpMockResponse {
        match self.find(id) {
            Some(user) => json(200, &user.to_json()),
            None => text(404, "User not found"),
        }
    }

    fn find(&self, id: i64) -> Option<&SimUser> {
        UserId::try_from(id).ok().and_then(|id| self.users.get(&id))
    }

    fn search(&self, req: &HttpMockRequest) -> HttpMockResponse {
        let query: HashMap<String, String> = req.query_params().into_iter().collect();
        let number = |k: &str, default: u64| match query.get(k) {
            None => Some(default),
            Some(v) => v.parse::<u64>().ok(),
        };
        let (Some(page_size), Some(offset)) = (number("pageSize", 50), number("offset", 0)) else {
            return text(400, "Invalid paging parameters.");
        };
        if page_size == 0 {
            return text(400, "Invalid paging parameters.");
        }
        let page_size = page_size.min(u64::from(self.max_page_size));
        let filter = query
            .get("email")
            .map(|e| e.to_lowercase())
            .unwrap_or_default();
        let matching: Vec<&SimUser> = self
            .users
            .values()
            .filter(|u| u.email.to_lowercase().contains(&filter))
            .collect();
        let users: Vec<Value> = matching
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(page_size).unwrap_or(usize::MAX))
            .map(|u| u.to_json())
            .collect();
        json(200, &json!({ "total": matching.len(), "users": users }))
    }

    fn anonymize(&mut self, id: i64, req: &HttpMockRequest) -> HttpMockResponse {
        if id <= 0 {
            return text(400, "The user id must be greater than 0.");
        }
        let json_body = header(req, "content-type").is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
        if !json_body {
            return empty(415);
        }
        let options = if req.body_ref().is_empty() {
            AnonymizeOptions::default()
        } else {
            match serde_json::from_slice::<AnonymizeOptions>(req.body_ref()) {
                Ok(options) => options,
                Err(_) => return text(400, "The request body is invalid."),
            }
        };
        self.serial += 1;
        let serial = self.serial;
        let Some(user) = UserId::try_from(id)
            .ok()
            .and_then(|id| self.users.get_mut(&id))
        else {
            return text(404, "User not found");
        };
        if user.refuses_anonymization {
            return text(400, "Failed to anonymize user data.");
        }
        user.anonymize(serial);
        let user_id = user.id;
        self.anonymize_calls
            .push(AnonymizeCall { user_id, options });
        empty(204)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sim_user_debug_is_redacted() {
        let user = SimUser {
            id: UserId::try_from(5_u64).unwrap(),
            email: "jane@example.com".into(),
            username: "jane@example.com".into(),
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            status: UserStatus::Active,
            phone_number: Some("+4912345".into()),
            avatar_url: None,
            has_password: true,
            two_factor_enabled: false,
            suspension_reason: None,
            external_logins: vec![],
            claims: vec![],
            roles: vec![],
            system_permissions: vec![],
            last_login: None,
            refuses_anonymization: false,
        };
        let shown = format!("{user:?}");
        for personal in ["jane", "Jane", "Doe", "4912345"] {
            assert!(!shown.contains(personal), "{shown}");
        }
    }
}
