//! [`HttpClient`]: sends a [`Call`] with the rate limit, the credential, timeouts, the retry loop,
//! the body cap, and the mapping of error answers to [`Error`].

use std::fmt;
use std::sync::Arc;

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
        // One span per call, so every attempt's events (and a subscriber's timings) group under
        // vendor and operation. Never the URL, a header or a body: they may hold personal data.
        let span = tracing::debug_span!(
            "vendor_call",
            vendor = self.inner.vendor,
            operation = call.operation
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
                    None => auth.credential().await?,
                }),
                None => None,
            };
            // Held from sending until the answer is read (or the attempt is given up); its slot
            // cools down one window after that (see RateLimiter).
            let permit = match call.limiter {
                Some(limiter) => Some(limiter.acquire().await),
                None => None,
            };
            // Stop at the request: once the caller's stop is pulled, nothing is sent that is not
            // part of a user already begun (see `Stop`).
            if let Some(stopped) = crate::Stop::current() {
                return Err(stopped);
            }
            if self.auth.is_some() {
                // A vendor request (not a token request): the user it is for is begun.
                crate::Stop::begin();
            }
            let attempt = retries + 1;
            sent += 1;
            let answer = self.send_once(call, credential.as_ref()).await;
            drop(permit);
            let (error, status, retry_after, retryable) = match answer {
                Ok(response) if response.status.is_success() => {
                    self.inner.retry_budget.earn();
                    if let Some(expected) = call.expected
                        && response.status != expected
                    {
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
                        && let (Some(auth), Some(used)) = (&self.auth, credential.as_ref())
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
                    let retryable = is_retryable_status(response.status);
                    let ErrorBody { code, message } = (self.inner.read_error_body)(&response.body);
                    let (code, message) = self.masked(credential.as_ref(), code, message);
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
                Err(SendError::Fatal(error)) => return Err(tried(error, sent, started)),
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
                return Err(tried(error, sent, started));
            }
            let delay = policy.next_delay(previous_delay, status, retry_after);
            if started.elapsed() + delay > policy.budget() {
                tracing::debug!(vendor, operation = call.operation, "time budget spent");
                return Err(tried(error, sent, started));
            }
            if !self.inner.retry_budget.try_spend() {
                tracing::warn!(
                    vendor,
                    operation = call.operation,
                    "shared retry budget empty: failing fast"
                );
                return Err(tried(error, sent, started));
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
    ) -> std::result::Result<Response, SendError> {
        let vendor = self.inner.vendor;
        // Built in place: each header is appended once (no header map copied per attempt), and
        // the request timeout is the client's own (HttpClient::new set it), not a second timer.
        let mut request = reqwest::Request::new(call.method.clone(), call.url.clone());
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
