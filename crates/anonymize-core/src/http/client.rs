//! [`HttpClient`]: sends a [`Call`] with the rate limit, the credential, timeouts, the retry loop,
//! the body cap, and the mapping of error answers to [`Error`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;
use url::Url;

use super::call::{Call, Response};
use super::config::{HttpConfig, append_segments, check_base_url};
use crate::auth::{Authorizer, Credential};
use crate::error::{Error, Result, Tries, VendorReply, mask_secrets};
use crate::error_body::{ErrorBody, ErrorBodyReader};
use crate::ratelimit::{Limiter, RatePermit};
use crate::retry::{RetryBudget, is_retryable_status, parse_retry_after};

/// A vendor's HTTP client: cheap to clone, every clone shares one connection pool.
///
/// A client without an authorizer sends requests as they are (a token request); one built with
/// [`with_authorizer`](Self::with_authorizer) authorizes every request it sends.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
    auth: Option<Arc<dyn Authorizer>>,
}

/// What every clone shares, and what [`HttpClient::with_authorizer`] keeps.
#[derive(Clone)]
struct Inner {
    vendor: &'static str,
    base: Url,
    config: HttpConfig,
    client: reqwest::Client,
    retry_budget: Arc<RetryBudget>,
    read_error_body: ErrorBodyReader,
    /// The limiter of every call that names none ([`HttpClient::with_limiter`]).
    limiter: Option<Arc<dyn Limiter>>,
    /// What this client sends that a vendor might echo in an error body (a client secret, a
    /// password): masked in every error it returns ([`HttpClient::with_secret`]).
    secrets: Vec<SecretString>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("vendor", &self.inner.vendor)
            .field("base", &self.inner.base.as_str())
            .field("config", &self.inner.config)
            .field("limiter", &self.inner.limiter)
            .field("auth", &self.auth)
            .finish()
    }
}

impl HttpClient {
    /// A client for `vendor` at `base`, checked with [`check_base_url`], without an authorizer.
    /// Error bodies are read with [`ErrorBody::standard`] until
    /// [`with_error_reader`](Self::with_error_reader) says otherwise.
    pub fn new(vendor: &'static str, base: Url, config: HttpConfig) -> Result<Self> {
        check_base_url(&base, config.allow_insecure_http)?;
        install_ring_provider();
        let builder = match &config.client_builder {
            Some(make) => make(),
            None => reqwest::Client::builder().user_agent(HttpConfig::DEFAULT_USER_AGENT),
        };
        // Whoever made the builder, these settings are ours (HttpConfig::with_client_builder):
        // an erasure API has no business redirecting, and following one could carry a credential
        // (a token request's body, an Authorization header) to a location nobody configured, or
        // take another server's 2xx as proof of an erasure. A 3xx is an unexpected response.
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| Error::Configuration {
                reason: format!("cannot build the HTTP client: {}", e.without_url()),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                vendor,
                base,
                retry_budget: Arc::new(RetryBudget::new(config.retry.shared_budget())),
                config,
                client,
                read_error_body: ErrorBody::standard,
                limiter: None,
                secrets: Vec::new(),
            }),
            auth: None,
        })
    }

    /// This client, reading error bodies with `reader` (the vendor's own shapes, falling back to
    /// [`ErrorBody::standard`]). Call it before [`with_authorizer`](Self::with_authorizer) and
    /// before handing clones to a token source, so that they all read errors the same way.
    #[must_use]
    pub fn with_error_reader(self, reader: ErrorBodyReader) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.read_error_body = reader;
        Self {
            inner: Arc::new(inner),
            auth: self.auth,
        }
    }

    /// This client, counting every attempt of every call that names no limiter of its own
    /// ([`Call::rate_limited`]) against `limiter`: for a vendor with one budget for all its
    /// requests, token requests included. Call it, like
    /// [`with_error_reader`](Self::with_error_reader), before
    /// [`with_authorizer`](Self::with_authorizer) and before handing clones to a token source.
    #[must_use]
    pub fn with_limiter(self, limiter: Arc<dyn Limiter>) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.limiter = Some(limiter);
        Self {
            inner: Arc::new(inner),
            auth: self.auth,
        }
    }

    /// This client, masking `secret` wherever a vendor echoes it: an error's code and message
    /// (so its `Display`, its [`ErrorRecord`](crate::ErrorRecord) and any receipt) say
    /// `<secret>` instead. A vendor crate registers every secret its token requests send (a
    /// client secret, a password) before handing clones to its token source; the credential of
    /// each request (a bearer token, an API key) is masked without registering.
    ///
    /// Secrets shorter than [`MIN_MASKED_CHARS`](crate::vendor::MIN_MASKED_CHARS) characters are
    /// not masked (they would garble the vendor's words). Call it before
    /// [`with_authorizer`](Self::with_authorizer).
    #[must_use]
    pub fn with_secret(self, secret: &SecretString) -> Self {
        if secret.expose_secret().is_empty() {
            return self;
        }
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.secrets.push(secret.clone());
        Self {
            inner: Arc::new(inner),
            auth: self.auth,
        }
    }

    /// A client that authorizes every request with `auth` (after a 401 it asks `auth` for a fresh
    /// credential once). It shares this client's connection pool, settings and retry budget, so a
    /// token source can hold this client (without the authorizer) for its token requests.
    #[must_use]
    pub fn with_authorizer(&self, auth: Arc<dyn Authorizer>) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            auth: Some(auth),
        }
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
    /// [module docs](crate::vendor). Only a 2xx answer is `Ok`.
    ///
    /// Every clone of this client shares one retry budget ([`RetryPolicy::with_shared_budget`](crate::RetryPolicy::with_shared_budget)).
    pub fn execute<'a>(
        &'a self,
        call: Call<'a>,
    ) -> impl Future<Output = Result<Response>> + Send + 'a {
        use tracing::Instrument;
        // One span per call, so every attempt's span and events (and a subscriber's timings)
        // group under vendor and operation; the result fields are recorded when known. Never
        // the URL, a header or a body: they may hold personal data.
        let span = tracing::debug_span!(
            "vendor_call",
            vendor = self.inner.vendor,
            operation = call.operation,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        // The future owns `call` once and lends it to the attempts. (An `async fn` taking it by
        // value would keep it twice, and a wrapping `async fn` would keep the whole future beside
        // its argument: every request in flight carries this future, copied as futures nest.)
        async move { self.execute_in_span(&call).await }.instrument(span)
    }

    async fn execute_in_span(&self, call: &Call<'_>) -> Result<Response> {
        let vendor = self.inner.vendor;
        let policy = &self.inner.config.retry;
        let started = Instant::now();
        let mut retries = 0u32;
        // Requests sent, the refresh after a 401 included: what the error says it tried.
        let mut sent = 0u32;
        let mut refreshed = false;
        let mut previous_delay = None;
        loop {
            // The credential first: a token request may need a slot of the same limiter, which
            // this attempt must not be holding while it waits.
            let credential = match &self.auth {
                Some(auth) => Some(match auth.ready_credential() {
                    Some(ready) => ready,
                    None => match auth.credential().await {
                        Ok(credential) => credential,
                        Err(error) => return Err(self.ended(error, sent, started)),
                    },
                }),
                None => None,
            };
            // Held from sending until the answer is read (or the attempt is given up); its slot
            // cools down one window after that (see Limiter). A limiter that cannot answer (a
            // shared store down) fails the call here: nothing is sent.
            let limiter = call.limiter.or(self.inner.limiter.as_deref());
            let permit = match limiter {
                Some(limiter) => Some(match self.wait_for_slot(limiter).await {
                    Ok(permit) => permit,
                    Err(error) => return Err(self.ended(error, sent, started)),
                }),
                None => None,
            };
            // A shared limiter's lease ends at its deadline: the request must have ended by then,
            // so it is sent only before it, with a timeout that ends by it.
            let timeout = match permit.as_ref().and_then(|p| p.deadline()) {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        let error = Error::limiter_unavailable(
                            format!("{limiter:?}"),
                            "the slot's lease ran out before the request could be sent",
                            None,
                        );
                        return Err(self.ended(error, sent, started));
                    }
                    Some(left.min(self.inner.config.request_timeout))
                }
                None => None,
            };
            // Stop at the request: once the caller's stop is pulled, nothing is sent that is not
            // part of a user already begun (see `Stop`).
            if let Some(stopped) = crate::Stop::current() {
                return Err(stopped);
            }
            if self.auth.is_some() && !call.method.is_safe() {
                // A vendor request that changes something (not a read, not a token request):
                // the user it is for is begun. A read before the erasure (a verification's
                // read, a look-up) leaves the user unbegun, so a stop pulled after it still
                // keeps the erasure from being sent.
                crate::Stop::begin();
            }
            let attempt = retries + 1;
            let attempt_span = tracing::debug_span!(
                "attempt",
                attempt,
                status = tracing::field::Empty,
                elapsed_ms = tracing::field::Empty,
            );
            let attempt_started = Instant::now();
            sent += 1;
            let answer = {
                use tracing::Instrument;
                self.send_once(call, credential.as_ref(), timeout)
                    .instrument(attempt_span.clone())
                    .await
            };
            drop(permit);
            let attempt_elapsed = attempt_started.elapsed();
            let status_label = match &answer {
                Ok(response) => crate::telemetry::status_class(response.status.as_u16()),
                Err(SendError::Transport { error, .. }) if error.kind() == "timeout" => "timeout",
                Err(_) => "transport",
            };
            attempt_span.record("status", status_label);
            attempt_span.record("elapsed_ms", millis(attempt_elapsed));
            crate::telemetry::request(vendor, call.operation, status_label, attempt_elapsed);
            let (error, status, retry_after, retryable) = match answer {
                Ok(response) if response.status.is_success() => {
                    self.inner.retry_budget.earn();
                    if let Some(expected) = call.expected
                        && response.status != expected
                    {
                        self.record_call(sent, Some(response.status), started);
                        return Err(tried(
                            response.unexpected(format!(
                                "expected HTTP {expected}, got HTTP {} ({})",
                                response.status,
                                content_type(&response.headers)
                            )),
                            sent,
                            started,
                        ));
                    }
                    self.record_call(sent, Some(response.status), started);
                    return Ok(response);
                }
                Ok(response) => {
                    if response.status == StatusCode::UNAUTHORIZED
                        && !refreshed
                        && let (Some(auth), Some(used)) = (&self.auth, credential.as_ref())
                        && auth.refused(used).await
                    {
                        tracing::debug!(attempt, "401: retrying once with a fresh credential");
                        refreshed = true;
                        continue;
                    }
                    let retry_after = parse_retry_after(&response.headers);
                    let retryable = is_retryable_status(response.status);
                    let ErrorBody { code, message } = (self.inner.read_error_body)(&response.body);
                    let (code, message) = self.masked(credential.as_ref(), code, message);
                    let reply =
                        VendorReply::new(vendor, call.operation, response.status, code, message);
                    // The status only: the vendor's code and message are its words, which may name
                    // the person; the error carries them (scrubbed) to whoever handles it.
                    tracing::debug!(status = response.status.as_u16(), attempt, "error answer");
                    if response.status == StatusCode::TOO_MANY_REQUESTS {
                        crate::telemetry::rate_limited(vendor);
                        tracing::info!(
                            attempt,
                            retry_after_ms = retry_after.map(millis),
                            "429: the vendor's rate limit"
                        );
                    }
                    (
                        Error::from_reply(reply, retry_after),
                        Some(response.status),
                        retry_after,
                        retryable,
                    )
                }
                Err(SendError::Fatal(error)) => return Err(self.ended(error, sent, started)),
                Err(SendError::Transport { error, not_sent }) => {
                    tracing::debug!(attempt, not_sent, kind = error.kind(), "no answer");
                    // Not sent: always safe to retry. Sent but unanswered: only when idempotent.
                    let retryable = not_sent || call.idempotent;
                    (error, None, None, retryable)
                }
            };
            if !retryable || retries >= policy.max_retries() {
                return Err(self.ended(error, sent, started));
            }
            let delay = policy.next_delay(previous_delay, status, retry_after);
            if started.elapsed() + delay > policy.budget() {
                tracing::debug!(attempt, "time budget spent");
                return Err(self.ended(error, sent, started));
            }
            if !self.inner.retry_budget.try_spend() {
                tracing::warn!(attempt, "shared retry budget empty: failing fast");
                return Err(self.ended(error, sent, started));
            }
            let reason = match status {
                Some(StatusCode::TOO_MANY_REQUESTS) => "429",
                Some(StatusCode::REQUEST_TIMEOUT) => "408",
                Some(_) => "5xx",
                None if error.kind() == "timeout" => "timeout",
                None => "transport",
            };
            crate::telemetry::retry(vendor, reason);
            tracing::debug!(attempt, reason, delay_ms = millis(delay), "retrying");
            tokio::time::sleep(delay).await;
            previous_delay = Some(delay);
            retries += 1;
        }
    }

    /// Wait for a slot of `limiter`, in a span, counting the wait. A limiter that cannot answer
    /// (a shared store down) fails the attempt: nothing is sent.
    async fn wait_for_slot(&self, limiter: &dyn Limiter) -> Result<RatePermit> {
        use tracing::Instrument;
        let started = Instant::now();
        let permit = limiter
            .acquire(self.inner.config.request_timeout)
            .instrument(tracing::debug_span!("rate_limit_wait"))
            .await?;
        let waited = started.elapsed();
        crate::telemetry::rate_limit_wait(self.inner.vendor, waited);
        if waited >= std::time::Duration::from_millis(1) {
            tracing::debug!(waited_ms = millis(waited), "waited for the rate limit");
        }
        Ok(permit)
    }

    /// Record the call's result on its span.
    fn record_call(&self, attempts: u32, status: Option<StatusCode>, started: Instant) {
        let span = tracing::Span::current();
        span.record("attempts", attempts);
        if let Some(status) = status {
            span.record("status", status.as_u16());
        }
        span.record("elapsed_ms", millis(started.elapsed()));
    }

    /// The call ends with `error` after `sent` requests: recorded on its span, and on the error
    /// ([`tried`]: how hard the client tried).
    fn ended(&self, error: Error, sent: u32, started: Instant) -> Error {
        self.record_call(sent, error.status(), started);
        tried(error, sent, started)
    }

    /// The vendor's `code` and `message` with every secret this client holds replaced by
    /// `<secret>`: the registered ones and the credential this attempt sent (each header's
    /// value, and the token after its scheme). Done before the address redaction and the cut of
    /// [`VendorReply::new`], so that neither can leave a part of a secret behind.
    fn masked(
        &self,
        credential: Option<&Credential>,
        code: Option<String>,
        message: Option<String>,
    ) -> (Option<String>, Option<String>) {
        let sent = credential
            .into_iter()
            .flat_map(Credential::headers)
            .filter_map(|(_, value)| value.to_str().ok())
            .flat_map(|value| [Some(value), value.split_once(' ').map(|(_, token)| token)])
            .flatten();
        let registered = self.inner.secrets.iter().map(|s| s.expose_secret());
        let secrets: Vec<&str> = registered.chain(sent).collect();
        if secrets.is_empty() {
            return (code, message);
        }
        let mask = |text: String| mask_secrets(text, &secrets);
        (code.map(mask), message.map(mask))
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
        credential: Option<&Credential>,
        timeout: Option<Duration>,
    ) -> std::result::Result<Response, SendError> {
        let vendor = self.inner.vendor;
        // Built in place: each header is appended once (no header map copied per attempt), and
        // the request timeout is the client's own (HttpClient::new set it), not a second timer;
        // a lease's shorter one replaces it (reqwest's total timeout covers the body too).
        let mut request = reqwest::Request::new(call.method.clone(), call.url.clone());
        if timeout.is_some() {
            *request.timeout_mut() = timeout;
        }
        let headers = request.headers_mut();
        let credential_headers = credential.map(Credential::headers).into_iter().flatten();
        for (name, value) in call.headers.iter().chain(credential_headers) {
            headers.append(name.clone(), value.clone());
        }
        if let Some((body, content_type)) = &call.body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            *request.body_mut() = Some(body.clone().into());
        }
        let transport = |e: reqwest::Error| {
            let not_sent = e.is_connect();
            let timeout = e.is_timeout();
            let e = e.without_url();
            let source = Arc::new(e);
            let error = if timeout {
                Error::Timeout {
                    vendor,
                    operation: call.operation,
                    source,
                    tries: None,
                }
            } else {
                Error::Transport {
                    vendor,
                    operation: call.operation,
                    source,
                    tries: None,
                }
            };
            SendError::Transport { error, not_sent }
        };
        let mut response = self
            .inner
            .client
            .execute(request)
            .await
            .map_err(transport)?;
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

/// Whole milliseconds, for a span's or event's field.
fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `error`, saying that the client sent `attempts` requests since `started` before it gave up
/// (`Error::attempts`, `Error::elapsed`: how hard it tried, in its text and its record).
fn tried(error: Error, attempts: u32, started: Instant) -> Error {
    error.with_tries(Tries::new(attempts, started.elapsed()))
}

/// With the `rustls-ring` feature (and not `rustls`, whose aws-lc provider reqwest then uses on
/// its own), reqwest's rustls has no crypto provider of its own: make *ring* the process default
/// unless the application installed one first (then its choice stands). Installing a default is
/// what rustls itself asks of whoever builds a client without naming a provider; doing it here
/// keeps every `reqwest::ClientBuilder`, yours included, with its own TLS settings.
fn install_ring_provider() {
    #[cfg(all(feature = "rustls-ring", not(feature = "rustls")))]
    if rustls_ring_provider::crypto::CryptoProvider::get_default().is_none() {
        // An `Err` means another thread installed one between the two calls: that one stands.
        let _ = rustls_ring_provider::crypto::ring::default_provider().install_default();
    }
}

/// The answer's media type, for an error (`text/html`, `no body type`): never personal data.
fn content_type(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| crate::error::excerpt(v.trim(), 64))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "no content type".to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// With `rustls-ring` alone reqwest has no crypto provider: building a client for an HTTPS
    /// URL panicked until `install_ring_provider` gave it one. (`.ci/run` runs this test with
    /// that feature alone; with the default features it checks aws-lc's path.)
    #[test]
    fn a_client_builds_with_the_compiled_tls_backend() {
        let http = HttpClient::new(
            "v",
            Url::parse("https://vendor.example/").unwrap(),
            HttpConfig::default(),
        );
        assert!(http.is_ok(), "{http:?}");
    }

    #[test]
    fn the_url_keeps_the_base_path() {
        let http = HttpClient::new(
            "v",
            Url::parse("https://host/ApiServer/").unwrap(),
            HttpConfig::default(),
        )
        .unwrap();
        assert_eq!(
            http.url(&["api", "v2", "users"]).as_str(),
            "https://host/ApiServer/api/v2/users"
        );
    }
}
