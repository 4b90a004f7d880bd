//! The HTTP behaviour every vendor client shares, written once.
//!
//! A vendor client owns an [`HttpClient`] (its vendor name, base URL and [`HttpConfig`]) and
//! describes each request as a [`Call`]. [`HttpClient::execute`] then does everything else:
//! the client-side rate limit, the credential (with one refresh after a 401), timeouts, the
//! retry policy, the cap on the response body, and the mapping of error answers to [`Error`].

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use crate::auth::{Authorizer, Credential};
use crate::error::{Error, Result, VendorReply, excerpt};
use crate::ratelimit::RateLimiter;
use crate::retry::{RetryBudget, RetryPolicy, parse_retry_after};

/// Settings shared by every vendor client: timeouts, body cap, retries, TLS policy, and an optional
/// caller-supplied `reqwest::Client`.
#[derive(Clone)]
pub struct HttpConfig {
    connect_timeout: Duration,
    request_timeout: Duration,
    max_response_bytes: usize,
    retry: RetryPolicy,
    allow_insecure_http: bool,
    client: Option<reqwest::Client>,
}

impl Default for HttpConfig {
    /// 5 s connect timeout, 30 s request timeout, 32 MiB response cap, the default
    /// [`RetryPolicy`], HTTPS required except for loopback hosts.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 32 * 1024 * 1024,
            retry: RetryPolicy::default(),
            allow_insecure_http: false,
            client: None,
        }
    }
}

impl HttpConfig {
    /// The time allowed to open a connection (only for the client built here).
    pub fn with_connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// The time allowed for one attempt, from sending to the last byte of the answer.
    pub fn with_request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }

    /// The largest response body accepted; a larger one is an [`Error::UnexpectedResponse`].
    pub fn with_max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = n;
        self
    }

    /// The retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Allow `http://` base URLs to hosts other than loopback. Credentials and personal data would
    /// cross the network in clear text: only for test networks.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Use this `reqwest::Client` (its connection pool, proxy and TLS settings) instead of
    /// building one. The request timeout is still applied per request; the connect timeout is the
    /// client's own.
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The retry policy in force.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The request timeout in force.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("retry", &self.retry)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("custom_client", &self.client.is_some())
            .finish()
    }
}

/// Whether `url` may be used as a base: HTTPS, or `http://` to a loopback host, or anything when
/// `allow_insecure_http` is set. Userinfo (`user:pass@`) is refused: secrets do not go in URLs.
pub fn check_base_url(url: &Url, allow_insecure_http: bool) -> Result<()> {
    if url.cannot_be_a_base() {
        return Err(Error::configuration("the base URL cannot be a base"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::configuration(
            "the base URL must not carry credentials; use the client's credential settings",
        ));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(url) => Ok(()),
        "http" => Err(Error::configuration(
            "an http:// base URL is only accepted for loopback hosts; use https:// \
             (or allow insecure HTTP explicitly for a test network)",
        )),
        other => Err(Error::configuration(format!(
            "unsupported URL scheme `{other}`; use https://"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// `base` with `segments` appended, each percent-encoded as one path segment (a `/`, `?` or `#`
/// inside a segment cannot change the path or add a query); the base's own path is kept.
pub fn append_segments(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// A vendor's HTTP client: cheap to clone, every clone shares one connection pool.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    vendor: &'static str,
    base: Url,
    config: HttpConfig,
    client: reqwest::Client,
    retry_budget: Arc<RetryBudget>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("vendor", &self.inner.vendor)
            .field("base", &self.inner.base.as_str())
            .field("config", &self.inner.config)
            .finish()
    }
}

impl HttpClient {
    /// A client for `vendor` at `base`, checked with [`check_base_url`]. Error bodies are read
    /// with [`parse_error_body`], which knows the shapes of every vendor here.
    pub fn new(vendor: &'static str, base: Url, config: HttpConfig) -> Result<Self> {
        check_base_url(&base, config.allow_insecure_http)?;
        let client = match &config.client {
            Some(c) => c.clone(),
            None => reqwest::Client::builder()
                .connect_timeout(config.connect_timeout)
                .timeout(config.request_timeout)
                // An erasure API has no business redirecting; following one could carry the
                // credential elsewhere. A 3xx is reported as an unexpected response instead.
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("anonymize-rs/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::Configuration {
                    reason: format!("cannot build the HTTP client: {}", e.without_url()),
                })?,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                vendor,
                base,
                retry_budget: Arc::new(RetryBudget::new(config.retry.shared_budget())),
                config,
                client,
            }),
        })
    }

    /// The vendor's name.
    pub fn vendor(&self) -> &'static str {
        self.inner.vendor
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.inner.base
    }

    /// The settings.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// Check another URL this client will call (e.g. a token endpoint on another host) with the
    /// same rules as the base URL ([`check_base_url`]).
    pub fn check_url(&self, url: &Url) -> Result<()> {
        check_base_url(url, self.inner.config.allow_insecure_http)
    }

    /// The base URL with `segments` appended, each percent-encoded as one path segment (a `/` or
    /// `?` inside a segment cannot change the path or add a query).
    pub fn url(&self, segments: &[&str]) -> Url {
        append_segments(&self.inner.base, segments)
    }

    /// Send `call`, with the rate limit, credential, retries and error mapping described in the
    /// [module docs](self). Only a 2xx answer is `Ok`.
    ///
    /// Every clone of this client shares one retry budget ([`RetryPolicy::with_shared_budget`]).
    pub async fn execute(&self, call: Call<'_>) -> Result<Response> {
        use tracing::Instrument;
        // One span per call, so every attempt's events (and a subscriber's timings) group under
        // vendor and operation. Never the URL, a header or a body: they may hold personal data.
        let span = tracing::debug_span!(
            "vendor_call",
            vendor = self.inner.vendor,
            operation = call.operation
        );
        self.execute_in_span(call).instrument(span).await
    }

    async fn execute_in_span(&self, call: Call<'_>) -> Result<Response> {
        let vendor = self.inner.vendor;
        let policy = &self.inner.config.retry;
        let started = Instant::now();
        let mut retries = 0u32;
        let mut refreshed = false;
        let mut previous_delay = None;
        loop {
            if let Some(limiter) = call.limiter {
                limiter.acquire().await;
            }
            let credential = match call.auth {
                Some(auth) => Some(auth.credential(self).await?),
                None => None,
            };
            let attempt = retries + 1;
            let sent = self.send_once(&call, credential.as_ref()).await;
            let (error, status, retry_after, retryable) = match sent {
                Ok(response) if response.status.is_success() => {
                    self.inner.retry_budget.earn();
                    tracing::debug!(
                        vendor,
                        operation = call.operation,
                        status = response.status.as_u16(),
                        attempt,
                        "answered"
                    );
                    return Ok(response);
                }
                Ok(response) => {
                    if response.status == StatusCode::UNAUTHORIZED
                        && !refreshed
                        && let (Some(auth), Some(used)) = (call.auth, credential.as_ref())
                        && auth.refused(used).await
                    {
                        tracing::debug!(
                            vendor,
                            operation = call.operation,
                            "401: retrying once with a fresh credential"
                        );
                        refreshed = true;
                        continue;
                    }
                    let retry_after = parse_retry_after(&response.headers);
                    let retryable = RetryPolicy::is_retryable_status(response.status);
                    let (code, message) = parse_error_body(&response.body);
                    let reply =
                        VendorReply::new(vendor, call.operation, response.status, code, message);
                    tracing::debug!(
                        vendor,
                        operation = call.operation,
                        status = response.status.as_u16(),
                        attempt,
                        code = reply.code(),
                        "error answer"
                    );
                    (
                        Error::from_reply(reply, retry_after),
                        Some(response.status),
                        retry_after,
                        retryable,
                    )
                }
                Err(SendError::Fatal(error)) => return Err(error),
                Err(SendError::Transport { error, not_sent }) => {
                    tracing::debug!(
                        vendor,
                        operation = call.operation,
                        attempt,
                        not_sent,
                        "transport error"
                    );
                    // Not sent: always safe to retry. Sent but unanswered: only when idempotent.
                    let retryable = not_sent || call.idempotent;
                    (error, None, None, retryable)
                }
            };
            if !retryable || retries >= policy.max_retries() {
                return Err(error);
            }
            let delay = policy.next_delay(previous_delay, status, retry_after);
            if started.elapsed() + delay > policy.budget() {
                tracing::debug!(vendor, operation = call.operation, "time budget spent");
                return Err(error);
            }
            if !self.inner.retry_budget.try_spend() {
                tracing::warn!(
                    vendor,
                    operation = call.operation,
                    "shared retry budget empty: failing fast"
                );
                return Err(error);
            }
            tracing::debug!(
                vendor,
                operation = call.operation,
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retrying"
            );
            tokio::time::sleep(delay).await;
            previous_delay = Some(delay);
            retries += 1;
        }
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
        credential: Option<&Credential>,
    ) -> std::result::Result<Response, SendError> {
        let vendor = self.inner.vendor;
        let mut request = self
            .inner
            .client
            .request(call.method.clone(), call.url.clone())
            .timeout(self.inner.config.request_timeout)
            .headers(call.headers.clone());
        if let Some(credential) = credential {
            for (name, value) in credential.headers() {
                request = request.header(name, value);
            }
        }
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        let transport = |e: reqwest::Error| {
            let not_sent = e.is_connect();
            let timeout = e.is_timeout();
            let e = e.without_url();
            let cause = crate::error::chain(&e);
            let source = Arc::new(e);
            let error = if timeout {
                Error::Timeout {
                    vendor,
                    operation: call.operation,
                    source,
                }
            } else {
                Error::Transport {
                    vendor,
                    operation: call.operation,
                    cause,
                    source,
                }
            };
            SendError::Transport { error, not_sent }
        };
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let cap = self.inner.config.max_response_bytes;
        if response.content_length().is_some_and(|n| n > cap as u64) {
            return Err(SendError::Fatal(too_large(
                vendor,
                call.operation,
                status,
                cap,
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > cap {
                return Err(SendError::Fatal(too_large(
                    vendor,
                    call.operation,
                    status,
                    cap,
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            vendor,
            operation: call.operation,
            status,
            headers,
            body: Bytes::from(body),
        })
    }
}

fn too_large(
    vendor: &'static str,
    operation: &'static str,
    status: StatusCode,
    cap: usize,
) -> Error {
    Error::UnexpectedResponse {
        reply: VendorReply::new(vendor, operation, status, None, None),
        detail: format!("response body larger than the {cap}-byte cap"),
        source: None,
    }
}

enum SendError {
    Transport { error: Error, not_sent: bool },
    Fatal(Error),
}

/// One request, described once and sent as often as the retry policy allows.
pub struct Call<'a> {
    operation: &'static str,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
    auth: Option<&'a dyn Authorizer>,
    limiter: Option<&'a RateLimiter>,
    idempotent: bool,
}

impl<'a> Call<'a> {
    /// A request named `operation` (used in errors and traces; never personal data).
    /// GET, PUT and DELETE are idempotent; POST and PATCH are not.
    pub fn new(operation: &'static str, method: Method, url: Url) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        Self {
            operation,
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            auth: None,
            limiter: None,
            idempotent,
        }
    }

    /// Add a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Send `value` as JSON with `content_type` (e.g. `application/json`).
    pub fn json<T: Serialize + ?Sized>(
        mut self,
        value: &T,
        content_type: &'static str,
    ) -> Result<Self> {
        let body = serde_json::to_vec(value)
            .map_err(|e| Error::invalid_input(format!("cannot encode the request body: {e}")))?;
        self.body = Some(Bytes::from(body));
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        Ok(self)
    }

    /// Send `pairs` form-encoded (`application/x-www-form-urlencoded`).
    pub fn form<'p, I>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'p str, &'p str)>,
    {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some(Bytes::from(body));
        self.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self
    }

    /// Authorize the request with `auth` (a 401 makes it refresh once).
    pub fn auth(mut self, auth: &'a dyn Authorizer) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Count every attempt of this request against `limiter`.
    pub fn rate_limited(mut self, limiter: &'a RateLimiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Override whether the request may be sent again after it may have reached the vendor.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }
}

/// A vendor's 2xx answer, its body read in full (within the cap).
#[derive(Clone)]
pub struct Response {
    vendor: &'static str,
    operation: &'static str,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("vendor", &self.vendor)
            .field("operation", &self.operation)
            .field("status", &self.status.as_u16())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl Response {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Parse the body as JSON; a failure names the field that failed
    /// (e.g. `users[3].id: invalid type: string, expected u64`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            // serde quotes the offending string value ("invalid type: string \"a@b.c\"…"),
            // which may be personal data: keep the message without it, and drop the source.
            let message = redact_quoted(&e.into_inner().to_string());
            Error::UnexpectedResponse {
                reply: VendorReply::new(self.vendor, self.operation, self.status, None, None),
                detail: format!("cannot read the answer at `{path}`: {message}"),
                source: None,
            }
        })
    }

    /// An [`Error::UnexpectedResponse`] about this answer, for a vendor client's own checks.
    pub fn unexpected(&self, detail: impl Into<String>) -> Error {
        Error::UnexpectedResponse {
            reply: VendorReply::new(self.vendor, self.operation, self.status, None, None),
            detail: detail.into(),
            source: None,
        }
    }
}

/// Replace every `"…"`-quoted run in `text` by `"…"`.
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            if quoted {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

/// The default error-body reader: JSON `{"error":"code"}`, `{"error":{"code","message"}}`,
/// `{"code","message"}`, OAuth's `error_description`, `Message`/`message`, problem details
/// (`{"title","detail"}`), a bare JSON string; otherwise the body as short text (HTML pages are
/// not quoted).
pub fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    use serde_json::Value;
    fn text(v: Option<&Value>) -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        let message = || {
            text(map.get("message"))
                .or_else(|| text(map.get("Message")))
                .or_else(|| text(map.get("error_description")))
                .or_else(|| text(map.get("detail")))
                .or_else(|| text(map.get("title")))
        };
        return match map.get("error") {
            Some(Value::Object(inner)) => (
                text(inner.get("code")),
                text(inner.get("message")).or_else(message),
            ),
            Some(v @ Value::String(_)) => (text(Some(v)), message()),
            _ => (text(map.get("code")), message()),
        };
    }
    if let Ok(Value::String(message)) = serde_json::from_slice::<Value>(body) {
        return (None, Some(excerpt(&message, crate::error::EXCERPT_CHARS)));
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(4 * 1024)]);
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('<') {
        return (None, None);
    }
    (None, Some(excerpt(trimmed, crate::error::EXCERPT_CHARS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        let ok = |s: &str| check_base_url(&Url::parse(s).unwrap(), false).is_ok();
        assert!(ok("https://tenant.example.com"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(ok("http://localhost:1"));
        assert!(ok("http://[::1]:1/base"));
        assert!(!ok("http://tenant.example.com"));
        assert!(!ok("http://10.0.0.1"));
        assert!(!ok("ftp://example.com"));
        assert!(!ok("https://user:pass@example.com"));
        assert!(check_base_url(&Url::parse("http://example.com").unwrap(), true).is_ok());
    }

    #[test]
    fn url_segments_are_encoded_and_base_path_kept() {
        let http = HttpClient::new(
            "v",
            Url::parse("https://host/AlfabetAPIServer/").unwrap(),
            HttpConfig::default(),
        )
        .unwrap();
        assert_eq!(
            http.url(&["api", "v2", "anonymizeuser"]).as_str(),
            "https://host/AlfabetAPIServer/api/v2/anonymizeuser"
        );
        assert_eq!(
            http.url(&["users", "a/b?c#d", "x"]).as_str(),
            "https://host/AlfabetAPIServer/users/a%2Fb%3Fc%23d/x"
        );
    }

    #[test]
    fn parse_errors_name_the_field_but_not_the_value() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct User {
            id: u64,
        }
        let response = Response {
            vendor: "v",
            operation: "op",
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(br#"{"users":[{"id":1},{"id":"jane@example.com"}]}"#),
        };
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Page {
            users: Vec<User>,
        }
        let err = response.json::<Page>().unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("users[1].id"), "{shown}");
        assert!(!shown.contains("jane"), "{shown}");
        assert!(!format!("{err:?}").contains("jane"));
        assert_eq!(redact_quoted(r#"a "b" c "d""#), r#"a "…" c "…""#);
    }

    #[test]
    fn error_bodies_in_every_shape() {
        let p = |s: &str| parse_error_body(s.as_bytes());
        assert_eq!(
            p(r#"{"error":"invalid_token"}"#),
            (Some("invalid_token".into()), None)
        );
        assert_eq!(
            p(r#"{"error":{"code":"userNotFound","message":"No user"}}"#),
            (Some("userNotFound".into()), Some("No user".into()))
        );
        assert_eq!(
            p(r#"{"error":"invalid_client","error_description":"bad client"}"#),
            (Some("invalid_client".into()), Some("bad client".into()))
        );
        assert_eq!(p(r#"{"Message":"Denied"}"#), (None, Some("Denied".into())));
        assert_eq!(
            p(r#""User not found""#),
            (None, Some("User not found".into()))
        );
        assert_eq!(
            p(
                r#"{"type":"about:blank","title":"Bad Request","status":400,"detail":"Failed to anonymize user data."}"#
            ),
            (None, Some("Failed to anonymize user data.".into()))
        );
        assert_eq!(p("User not found"), (None, Some("User not found".into())));
        assert_eq!(p("<html><body>502</body></html>"), (None, None));
        assert_eq!(p(""), (None, None));
        let long = "x".repeat(10_000);
        let (_, m) = p(&long);
        assert!(m.unwrap().chars().count() <= crate::error::EXCERPT_CHARS + 1);
    }
}
