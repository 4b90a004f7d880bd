//! Credentials: how a request is authorized, and the token cache for OAuth-style vendors.
//!
//! An [`Authorizer`] hands out a [`Credential`] (the headers that authorize one request) and is
//! told when the vendor refused it with 401. [`StaticCredential`] serves a pre-issued token or API
//! key; [`TokenCache`] fetches tokens from a vendor's [`TokenSource`], keeps them until shortly
//! before they expire, makes many concurrent callers wait for one token request, and drops a token
//! the vendor refused so that the request can be retried once with a fresh one.
//!
//! Nothing here knows HTTP: a [`TokenSource`] owns what it needs to ask for a token (in the vendor
//! crates, an unauthenticated clone of the API's `HttpClient`), and the `HttpClient` is given its
//! [`Authorizer`] once, when it is built.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::{Error, Result};

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// The headers that authorize one request. Their values are marked sensitive and never printed.
#[derive(Clone)]
pub struct Credential {
    headers: Arc<[(HeaderName, HeaderValue)]>,
    generation: u64,
}

impl Credential {
    /// `Authorization: <scheme> <token>`, e.g. `Bearer eyJ…` (or `bearer eyJ…` where the vendor
    /// says so).
    pub fn authorization(scheme: &str, token: &SecretString) -> Result<Self> {
        let value = format!("{scheme} {}", token.expose_secret());
        Self::from_headers([(AUTHORIZATION, value)])
    }

    /// Any set of secret headers (e.g. an API key and a company id).
    pub fn from_headers<I>(headers: I) -> Result<Self>
    where
        I: IntoIterator<Item = (HeaderName, String)>,
    {
        let headers = headers
            .into_iter()
            .map(|(name, value)| {
                let mut value = HeaderValue::from_str(&value).map_err(|_| {
                    Error::configuration(format!(
                        "the value for the {name} header contains characters an HTTP header cannot carry"
                    ))
                })?;
                value.set_sensitive(true);
                Ok((name, value))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            headers: headers.into(),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The headers to add to a request.
    pub fn headers(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.headers.iter().map(|(n, v)| (n, v))
    }

    /// Whether two credentials are the very same issue (not merely equal text).
    pub fn same_as(&self, other: &Credential) -> bool {
        self.generation == other.generation
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Credential")
            .field("headers", &names)
            .field("values", &"<redacted>")
            .finish()
    }
}

/// Authorizes requests; see the [module docs](crate::vendor).
#[async_trait]
pub trait Authorizer: Send + Sync + fmt::Debug {
    /// The credential for the next request (fetching a token first when needed).
    async fn credential(&self) -> Result<Credential>;

    /// The credential for the next request if it is at hand without waiting (a static key, a
    /// cached token that is still fresh); `None` sends the caller to
    /// [`credential`](Self::credential). [`HttpClient`](crate::vendor::HttpClient) asks this
    /// first, so that the common case costs no boxed future. The default is `None`.
    fn ready_credential(&self) -> Option<Credential> {
        None
    }

    /// The vendor answered 401 to a request sent with `used`. Drop it if it is still the current
    /// credential, and say whether a fresh credential could succeed (a static key: no).
    async fn refused(&self, used: &Credential) -> bool;
}

/// A credential that never changes: a pre-issued bearer token or API key.
#[derive(Clone)]
pub struct StaticCredential(Credential);

impl StaticCredential {
    /// Wrap a ready credential.
    pub fn new(credential: Credential) -> Self {
        Self(credential)
    }

    /// A pre-issued token sent as `Authorization: Bearer <token>`.
    pub fn bearer(token: &SecretString) -> Result<Self> {
        Credential::authorization("Bearer", token).map(Self)
    }
}

impl fmt::Debug for StaticCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StaticCredential").field(&self.0).finish()
    }
}

#[async_trait]
impl Authorizer for StaticCredential {
    async fn credential(&self) -> Result<Credential> {
        Ok(self.0.clone())
    }

    fn ready_credential(&self) -> Option<Credential> {
        Some(self.0.clone())
    }

    async fn refused(&self, _used: &Credential) -> bool {
        false
    }
}

/// A token a vendor issued, as its [`TokenSource`] read it. [`TokenCache`] checks it (one place
/// for every vendor): a blank token or scheme, or one that cannot be sent in a header, is refused.
#[non_exhaustive]
pub struct IssuedToken {
    /// The authorization scheme to send it with (`Bearer`, or the vendor's own `token_type`).
    pub scheme: String,
    /// The token itself.
    pub token: SecretString,
    /// How long it is valid, when the vendor said.
    pub expires_in: Option<Duration>,
}

impl IssuedToken {
    /// A token to send as `Authorization: <scheme> <token>`, valid for `expires_in` when the
    /// vendor said (`None`: the cache's default lifetime; see [`TokenCache`]).
    pub fn new(
        scheme: impl Into<String>,
        token: SecretString,
        expires_in: Option<Duration>,
    ) -> Self {
        Self {
            scheme: scheme.into(),
            token,
            expires_in,
        }
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("scheme", &self.scheme)
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Read an OAuth `expires_in`: seconds as a number or as a numeric string (vendors write both,
/// and some vendors' own examples send `"3600"`), fractional seconds kept, at most a year. `None`
/// when the value is no number of seconds (negative, not finite, not a number).
///
/// The one rule for every vendor: an unreadable lifetime is never an error (the vendor issued the
/// token; throwing it away helps nobody), it is `None`, and [`TokenCache`] keeps such a token for
/// its default lifetime. Vendor crates read the field with [`deserialize_expires_in`].
pub fn expires_in(value: &serde_json::Value) -> Option<Duration> {
    let secs = match value {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(366.0 * 86_400.0)))
}

/// `#[serde(default, deserialize_with = "deserialize_expires_in")]` for an `expires_in:
/// Option<Duration>` field: [`expires_in`]'s rule, and never a deserialization error.
pub fn deserialize_expires_in<'de, D>(
    deserializer: D,
) -> std::result::Result<Option<Duration>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    Ok(Option::<serde_json::Value>::deserialize(deserializer)?
        .as_ref()
        .and_then(expires_in))
}

/// Where a vendor's tokens come from (a client-credentials or password grant). It owns what it
/// needs to ask (its token URL, its credentials, an HTTP client without an authorizer).
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// The vendor's name, for errors about its tokens.
    fn vendor(&self) -> &'static str;

    /// Ask the vendor for a new token.
    async fn fetch(&self) -> Result<IssuedToken>;
}

/// How a failed token request reads to the caller, whatever the vendor: the token endpoint
/// refusing the credentials (HTTP 400 `invalid_client`, `invalid_grant`, `invalid_request`…, or 401)
/// is [`Error::Unauthenticated`]; refusing the scope or the client's grant type (`invalid_scope`,
/// `unauthorized_client`) is [`Error::PermissionDenied`]; a 404 means the token URL is wrong
/// ([`Error::Configuration`]). All three stop a batch; anything else (5xx, transport) is unchanged.
pub fn token_error(error: Error) -> Error {
    match error {
        Error::Rejected(reply) | Error::Unauthenticated(reply) => match reply.code() {
            Some("invalid_scope" | "unauthorized_client") => Error::PermissionDenied(reply),
            _ => Error::Unauthenticated(reply),
        },
        Error::NotFound(reply) => Error::configuration(format!(
            "the token endpoint of {} answered 404: check the configured URL",
            reply.vendor()
        )),
        other => other,
    }
}

/// Caches the tokens of a [`TokenSource`]; see the [module docs](crate::vendor).
///
/// A failed token request is shared too: callers that were waiting while it failed get its error
/// instead of each sending another request with the same bad credentials.
pub struct TokenCache<S> {
    source: S,
    /// The current token and the last failure: read on every call, under a short plain lock
    /// (never held across an await), so a cached token costs no async lock.
    state: std::sync::Mutex<State>,
    /// Held across a token request, so that concurrent callers wait for one request.
    fetching: Mutex<()>,
    default_lifetime: Duration,
    max_refresh_margin: Duration,
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    failure: Option<(Instant, Error)>,
}

struct Cached {
    credential: Credential,
    refresh_at: Instant,
}

/// However short a token's stated lifetime (zero included), it is used this long: a vendor that
/// says `expires_in: 0` gets one token request per this period at most, not one per API call. If
/// the vendor refuses the token sooner, the one refresh after a 401 takes over.
pub const MIN_TOKEN_REUSE: Duration = Duration::from_secs(5);

impl<S: TokenSource> TokenCache<S> {
    /// A cache over `source`. A token whose lifetime the vendor did not say (or said unreadably)
    /// is kept five minutes; a token is replaced a fifth of its lifetime (at most 30 s) before it
    /// expires, and used at least [`MIN_TOKEN_REUSE`].
    pub fn new(source: S) -> Self {
        Self {
            source,
            state: std::sync::Mutex::new(State::default()),
            fetching: Mutex::new(()),
            default_lifetime: Duration::from_secs(300),
            max_refresh_margin: Duration::from_secs(30),
        }
    }

    /// How long a token without a readable `expires_in` is kept.
    #[must_use]
    pub fn with_default_lifetime(mut self, d: Duration) -> Self {
        self.default_lifetime = d;
        self
    }

    /// The token source.
    pub fn source(&self) -> &S {
        &self.source
    }
}

impl<S: TokenSource> fmt::Debug for TokenCache<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl<S: TokenSource> TokenCache<S> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current token if it is fresh.
    fn fresh(state: &State) -> Option<Credential> {
        state
            .current
            .as_ref()
            .filter(|cached| Instant::now() < cached.refresh_at)
            .map(|cached| cached.credential.clone())
    }

    /// The current token if it is fresh; the failure of a token request made since `asked_at`.
    fn cached(&self, asked_at: Instant) -> Result<Option<Credential>> {
        let state = self.lock();
        if let Some(fresh) = Self::fresh(&state) {
            return Ok(Some(fresh));
        }
        match &state.failure {
            Some((failed_at, error)) if *failed_at >= asked_at => Err(error.clone()),
            _ => Ok(None),
        }
    }

    /// Ask the source for a token and check it: the credential and how long to keep it.
    async fn fetch(&self) -> Result<(Credential, Duration)> {
        crate::telemetry::token_request(self.source.vendor());
        tracing::debug!(vendor = self.source.vendor(), "token request");
        let issued = self.source.fetch().await.map_err(token_error)?;
        let unusable = |detail: &str| Error::Protocol {
            vendor: self.source.vendor(),
            operation: "fetch token",
            detail: detail.to_owned(),
        };
        if issued.token.expose_secret().trim().is_empty() {
            return Err(unusable("the token answer has an empty access token"));
        }
        if issued.scheme.trim().is_empty() {
            return Err(unusable("the token answer has an empty token type"));
        }
        let credential =
            Credential::authorization(issued.scheme.trim(), &issued.token).map_err(|_| {
                unusable("the token answer holds characters an HTTP header cannot carry")
            })?;
        Ok((
            credential,
            issued.expires_in.unwrap_or(self.default_lifetime),
        ))
    }
}

#[async_trait]
impl<S: TokenSource> Authorizer for TokenCache<S> {
    async fn credential(&self) -> Result<Credential> {
        let asked_at = Instant::now();
        if let Some(cached) = self.cached(asked_at)? {
            return Ok(cached);
        }
        // Concurrent callers queue here for one token request; each looks again once it gets in:
        // the token (or the failure) another caller fetched meanwhile is theirs too.
        let _fetching = self.fetching.lock().await;
        if let Some(cached) = self.cached(asked_at)? {
            return Ok(cached);
        }
        // Every way a token request can fail, refused or unusable, is shared with the callers
        // that waited for it.
        let fetched = self.fetch().await;
        let mut state = self.lock();
        let (credential, lifetime) = match fetched {
            Ok(fetched) => fetched,
            Err(error) => {
                state.failure = Some((Instant::now(), error.clone()));
                return Err(error);
            }
        };
        let margin = (lifetime / 5).min(self.max_refresh_margin);
        // Inside the span of the call that needed it, which names the vendor.
        tracing::debug!(
            vendor = self.source.vendor(),
            lifetime_s = lifetime.as_secs(),
            "fetched a new token"
        );
        state.failure = None;
        state.current = Some(Cached {
            credential: credential.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin).max(MIN_TOKEN_REUSE),
        });
        Ok(credential)
    }

    fn ready_credential(&self) -> Option<Credential> {
        Self::fresh(&self.lock())
    }

    async fn refused(&self, used: &Credential) -> bool {
        let mut state = self.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|c| c.credential.same_as(used))
        {
            state.current = None;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_debug_hides_values() {
        let c = Credential::authorization("Bearer", &SecretString::from("s3cr3t-token")).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("authorization"));
        let (_, v) = c.headers().next().unwrap();
        assert!(v.is_sensitive());
        assert!(!format!("{v:?}").contains("s3cr3t"));
    }

    #[test]
    fn header_injection_is_refused_without_echo() {
        let err = Credential::authorization("Bearer", &SecretString::from("abc\r\nX-Evil: 1"))
            .unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }));
        assert!(!err.to_string().contains("abc"));
    }

    #[test]
    fn token_endpoint_refusals_stop_batches() {
        use reqwest::StatusCode;
        let reply = |status: StatusCode, code: &str| {
            crate::error::VendorReply::new("v", "fetch token", status, Some(code.into()), None)
        };
        let e = token_error(Error::Rejected(reply(
            StatusCode::BAD_REQUEST,
            "invalid_client",
        )));
        assert!(matches!(e, Error::Unauthenticated(_)) && e.aborts_batch());
        let e = token_error(Error::Rejected(reply(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )));
        assert!(matches!(e, Error::Unauthenticated(_)));
        let e = token_error(Error::Rejected(reply(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        )));
        assert!(matches!(e, Error::PermissionDenied(_)) && e.aborts_batch());
        let e = token_error(Error::NotFound(reply(StatusCode::NOT_FOUND, "x")));
        assert!(matches!(e, Error::Configuration { .. }) && e.aborts_batch());
        let e = token_error(Error::Server(reply(StatusCode::BAD_GATEWAY, "x")));
        assert!(matches!(e, Error::Server(_)));
    }

    #[test]
    fn expires_in_in_every_shape() {
        use serde_json::json;
        assert_eq!(expires_in(&json!(3600)), Some(Duration::from_secs(3600)));
        assert_eq!(expires_in(&json!("1200")), Some(Duration::from_secs(1200)));
        assert_eq!(expires_in(&json!(" 60 ")), Some(Duration::from_secs(60)));
        assert_eq!(expires_in(&json!(1.5)), Some(Duration::from_millis(1500)));
        assert_eq!(
            expires_in(&json!(1e300)),
            Some(Duration::from_secs(366 * 86_400))
        );
        assert_eq!(expires_in(&json!("0")), Some(Duration::ZERO));
        for bad in [
            json!(-1),
            json!("soon"),
            json!(true),
            json!(null),
            json!([1]),
        ] {
            assert_eq!(expires_in(&bad), None, "{bad}");
        }
    }

    #[test]
    fn issued_token_debug_hides_token() {
        let t = IssuedToken::new("Bearer", SecretString::from("s3cr3t"), None);
        assert!(!format!("{t:?}").contains("s3cr3t"));
    }

    /// A source that answers the queued tokens in turn and counts its calls.
    #[derive(Debug, Default)]
    struct Queued {
        answers: std::sync::Mutex<Vec<(String, serde_json::Value)>>,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl Queued {
        fn new(answers: &[(&str, serde_json::Value)]) -> Self {
            let mut answers: Vec<_> = answers
                .iter()
                .map(|(t, e)| (t.to_string(), e.clone()))
                .collect();
            answers.reverse();
            Self {
                answers: std::sync::Mutex::new(answers),
                calls: Default::default(),
            }
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl TokenSource for Queued {
        fn vendor(&self) -> &'static str {
            "acme"
        }
        async fn fetch(&self) -> Result<IssuedToken> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            // A slow token endpoint, so that concurrent callers pile up behind one request.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let (token, expires) = self.answers.lock().unwrap().pop().expect("an answer");
            Ok(IssuedToken::new(
                "Bearer",
                SecretString::from(token),
                expires_in(&expires),
            ))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreadable_lifetime_keeps_the_token_for_the_default() {
        use serde_json::json;
        for unreadable in [json!(-1), json!("soon"), json!(null)] {
            let cache = TokenCache::new(Queued::new(&[("t1", unreadable), ("t2", json!(60))]));
            cache.credential().await.unwrap();
            tokio::time::sleep(Duration::from_secs(200)).await;
            cache.credential().await.unwrap();
            assert_eq!(cache.source().calls(), 1, "kept for the default 300 s");
            tokio::time::sleep(Duration::from_secs(300)).await;
            cache.credential().await.unwrap();
            assert_eq!(cache.source().calls(), 2);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_lifetime_never_means_a_token_request_per_call() {
        use serde_json::json;
        let answers: Vec<(&str, serde_json::Value)> = (0..10).map(|_| ("t", json!(0))).collect();
        let cache = TokenCache::new(Queued::new(&answers));
        for _ in 0..100 {
            cache.credential().await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // 100 calls over about 3 s: one token request per MIN_TOKEN_REUSE at most.
        assert_eq!(cache.source().calls(), 1);
    }

    #[tokio::test]
    async fn an_unusable_token_is_refused_once_for_every_waiting_caller() {
        use serde_json::json;
        for bad in ["", "   ", "abc\r\nX-Evil: 1"] {
            let cache = std::sync::Arc::new(TokenCache::new(Queued::new(&[(bad, json!(60))])));
            let calls = (0..10).map(|_| {
                let cache = cache.clone();
                async move { cache.credential().await }
            });
            for result in futures_util::future::join_all(calls).await {
                let err = result.unwrap_err();
                assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
                assert!(!err.to_string().contains("abc"), "{err}");
            }
            assert_eq!(cache.source().calls(), 1, "{bad:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_ready_credential_is_only_a_fresh_one_and_never_fetches() {
        use serde_json::json;
        let cache = TokenCache::new(Queued::new(&[("t1", json!(60)), ("t2", json!(60))]));
        assert!(cache.ready_credential().is_none(), "nothing fetched yet");
        assert_eq!(cache.source().calls(), 0, "asking is not fetching");

        let first = cache.credential().await.unwrap();
        let ready = cache.ready_credential().expect("the fresh token");
        assert!(ready.same_as(&first));

        // Refused by the vendor: no longer ready.
        assert!(cache.refused(&first).await);
        assert!(cache.ready_credential().is_none());
        let second = cache.credential().await.unwrap();
        assert!(!second.same_as(&first));

        // Past its refresh time: not ready either, and the next credential() fetches.
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert!(cache.ready_credential().is_none());
        assert_eq!(cache.source().calls(), 2);

        let key = StaticCredential::bearer(&SecretString::from("k")).unwrap();
        assert!(
            key.ready_credential().is_some(),
            "a static key is always ready"
        );
    }
}
