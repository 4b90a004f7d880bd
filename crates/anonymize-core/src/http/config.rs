//! The settings every vendor client shares, and the rules for the URLs it calls.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

/// Settings shared by every vendor client: timeouts, body cap, retries, TLS policy, and an optional
/// caller-supplied `reqwest::Client`.
#[derive(Clone)]
pub struct HttpConfig {
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) allow_insecure_http: bool,
    pub(crate) client_builder: Option<ClientBuilderFn>,
}

/// Makes the `reqwest::ClientBuilder` a caller wants (see [`HttpConfig::with_client_builder`]).
pub(crate) type ClientBuilderFn = Arc<dyn Fn() -> reqwest::ClientBuilder + Send + Sync>;

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
            client_builder: None,
        }
    }
}

impl HttpConfig {
    /// The `User-Agent` the client sends unless a builder of
    /// [`with_client_builder`](Self::with_client_builder) sets its own: `anonymize-rs/` and this
    /// crate's version.
    pub const DEFAULT_USER_AGENT: &'static str =
        concat!("anonymize-rs/", env!("CARGO_PKG_VERSION"));

    /// The time allowed to open a connection (only for the client built here).
    #[must_use]
    pub fn with_connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// The time allowed for one attempt, from sending to the last byte of the answer.
    #[must_use]
    pub fn with_request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }

    /// The largest response body accepted; a larger one is an [`Error::UnexpectedResponse`].
    #[must_use]
    pub fn with_max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = n;
        self
    }

    /// The retry policy.
    #[must_use]
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Allow `http://` base URLs to hosts other than loopback. Credentials and personal data would
    /// cross the network in clear text: only for test networks.
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Build the HTTP client from the `reqwest::ClientBuilder` that `make` returns, for the
    /// settings this crate does not offer: the TLS backend and root certificates, client
    /// certificates, proxies, DNS resolution, connection-pool tuning, HTTP versions, local
    /// address, default headers and the user agent (none unless yours sets one; keep ours with
    /// `.user_agent(HttpConfig::DEFAULT_USER_AGENT)`). Those are yours.
    ///
    /// These are always this crate's, set on your builder last, whatever it says: **redirects
    /// are never followed** (a credential must never reach a location you did not configure, and
    /// no answer from another URL counts as success), the connect timeout
    /// ([`with_connect_timeout`](Self::with_connect_timeout)) and the request timeout
    /// ([`with_request_timeout`](Self::with_request_timeout)). There is deliberately no way to
    /// pass a ready `reqwest::Client`: its redirect policy could not be checked.
    ///
    /// Most users need none of this: the `rustls` (default) and `native-tls` features choose the
    /// TLS backend.
    ///
    /// ```
    /// use anonymize_core::HttpConfig;
    ///
    /// let config = HttpConfig::default().with_client_builder(|| {
    ///     anonymize_core::reqwest::Client::builder().pool_max_idle_per_host(4)
    /// });
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn with_client_builder<F>(mut self, make: F) -> Self
    where
        F: Fn() -> reqwest::ClientBuilder + Send + Sync + 'static,
    {
        self.client_builder = Some(Arc::new(make));
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
            .field("custom_client_builder", &self.client_builder.is_some())
            .finish()
    }
}

/// Whether `url` may be used as a base: HTTPS, or `http://` to a loopback host, or anything when
/// `allow_insecure_http` is set. Refused, whatever the scheme: user info (`user:pass@`: secrets do
/// not go in URLs), a query (`?…` would ride along on every request, the token request included)
/// and a fragment (`#…`). Every vendor builder checks its URLs here, and only here.
pub fn check_base_url(url: &Url, allow_insecure_http: bool) -> Result<()> {
    if url.cannot_be_a_base() {
        return Err(Error::configuration("the base URL cannot be a base"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::configuration(
            "the base URL must not carry credentials; use the client's credential settings",
        ));
    }
    if url.query().is_some() {
        return Err(Error::configuration(
            "the base URL must not have a query (`?…`): it would be sent with every request",
        ));
    }
    if url.fragment().is_some() {
        return Err(Error::configuration(
            "the base URL must not have a fragment (`#…`)",
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
        // A query or fragment would ride along on every request (issue 8, defect 5).
        assert!(!ok("https://t.example/?leak=1"));
        assert!(!ok("https://t.example/#frag"));
        assert!(!ok("https://t.example/api?"));
        assert!(!ok("http://127.0.0.1:1/?leak=1"));
        let err = check_base_url(&Url::parse("https://t.example/?leak=1").unwrap(), false);
        assert!(!err.unwrap_err().to_string().contains("leak"));
        assert!(check_base_url(&Url::parse("http://example.com").unwrap(), true).is_ok());
    }

    #[test]
    fn url_segments_are_encoded_and_base_path_kept() {
        let base = Url::parse("https://host/ApiServer/").unwrap();
        assert_eq!(
            append_segments(&base, &["api", "v2", "anonymizeuser"]).as_str(),
            "https://host/ApiServer/api/v2/anonymizeuser"
        );
        assert_eq!(
            append_segments(&base, &["users", "a/b?c#d", "x"]).as_str(),
            "https://host/ApiServer/users/a%2Fb%3Fc%23d/x"
        );
    }
}
