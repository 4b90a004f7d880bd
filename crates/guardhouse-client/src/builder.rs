//! [`GuardhouseClientBuilder`]: every setting of a [`GuardhouseClient`], checked by
//! [`build`](GuardhouseClientBuilder::build) before anything is sent.

use std::fmt;
use std::sync::Arc;

use anonymize_core::vendor::{
    Authorizer, EnvCredentials, HttpClient, StaticCredential, TokenCache, VendorEnv,
    append_segments, optional_limiter,
};
use anonymize_core::{Error, HttpConfig, RateLimit, Result, SharedLimits};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::VENDOR;
use crate::auth::{ClientCredentials, SYSTEM_API_SCOPE};
use crate::client::{GuardhouseClient, Settings};
use crate::model::{AnonymizeOptions, read_error_body};

/// The prefix of every variable [`GuardhouseClient::from_env`] reads (`GUARDHOUSE_URL`, …).
const ENV_PREFIX: &str = "GUARDHOUSE";

/// How many users [`Anonymizer::anonymize`](anonymize_core::Anonymizer::anonymize) works on at
/// once by default.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// How many users one page of an e-mail look-up asks for by default.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// How many pages an e-mail look-up reads at most by default before it gives up.
pub const DEFAULT_MAX_PAGES: u32 = 1_000;

/// How the client authenticates.
enum Credentials {
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
    Bearer(SecretString),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Builds a [`GuardhouseClient`]; start with [`GuardhouseClient::builder`] or
/// [`GuardhouseClient::from_env`].
#[must_use = "a builder does nothing until .build()"]
pub struct GuardhouseClientBuilder {
    issuer: Url,
    api_base: Option<Url>,
    credentials: Option<Credentials>,
    scope: String,
    audience: Option<String>,
    http: HttpConfig,
    options: AnonymizeOptions,
    concurrency: usize,
    page_size: u32,
    max_pages: u32,
    verify_archived: bool,
    rate_limit: Option<RateLimit>,
    shared_limits: Option<Arc<dyn SharedLimits>>,
}

impl fmt::Debug for GuardhouseClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardhouseClientBuilder")
            .field("issuer", &self.issuer.as_str())
            .field("api_base", &self.api_base.as_ref().map(Url::as_str))
            .field("credentials", &self.credentials)
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .field("http", &self.http)
            .field("options", &self.options)
            .field("concurrency", &self.concurrency)
            .field("page_size", &self.page_size)
            .field("max_pages", &self.max_pages)
            .field("verify_archived", &self.verify_archived)
            .field("rate_limit", &self.rate_limit)
            .field("shared_limits", &self.shared_limits)
            .finish()
    }
}

impl GuardhouseClient {
    /// Start building a client for the tenant whose issuer URL is `base_url`
    /// (e.g. `https://your-tenant.guardhouse.cloud`). The API base defaults to it.
    pub fn builder(base_url: Url) -> GuardhouseClientBuilder {
        GuardhouseClientBuilder {
            issuer: base_url,
            api_base: None,
            credentials: None,
            scope: SYSTEM_API_SCOPE.to_owned(),
            audience: None,
            http: HttpConfig::default(),
            options: AnonymizeOptions::default(),
            concurrency: DEFAULT_CONCURRENCY,
            page_size: DEFAULT_PAGE_SIZE,
            max_pages: DEFAULT_MAX_PAGES,
            verify_archived: false,
            rate_limit: None,
            shared_limits: None,
        }
    }

    /// A builder from the environment:
    ///
    /// - `GUARDHOUSE_URL` (required): the tenant's issuer URL;
    /// - `GUARDHOUSE_CLIENT_ID` and `GUARDHOUSE_CLIENT_SECRET` (client credentials, scope
    ///   `system_api`), or `GUARDHOUSE_TOKEN` (a pre-issued access token), not both;
    /// - `GUARDHOUSE_API_URL` (optional): the API base, when it is not the issuer;
    /// - `GUARDHOUSE_AUDIENCE` (optional): the `audience` some tenants require;
    /// - the tuning every vendor shares ([`EnvTuning`](anonymize_core::vendor::EnvTuning)):
    ///   `GUARDHOUSE_CONCURRENCY`, `GUARDHOUSE_TIMEOUT_SECS`, `GUARDHOUSE_CONNECT_TIMEOUT_SECS`,
    ///   `GUARDHOUSE_MAX_RETRIES`, and `GUARDHOUSE_VERIFY` ([`verify_archived`](GuardhouseClientBuilder::verify_archived)).
    ///
    /// A variable that is set but blank counts as not set. A missing variable or a URL that does
    /// not parse is an [`Error::Configuration`] that names the variable, never its value. Adjust
    /// the builder further, then [`build`](GuardhouseClientBuilder::build) it.
    pub fn from_env() -> Result<GuardhouseClientBuilder> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env), reading each variable through `lookup` (e.g. a map in a
    /// test) instead of the process environment.
    pub fn from_env_with(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<GuardhouseClientBuilder> {
        let env = VendorEnv::new(ENV_PREFIX, &lookup);
        let mut builder = Self::builder(env.url("URL")?);
        if let Some(api) = env.url_opt("API_URL")? {
            builder = builder.api_base(api);
        }
        if let Some(audience) = env.var_opt("AUDIENCE") {
            builder = builder.audience(audience.trim());
        }
        builder = match env.credentials(["CLIENT_ID", "CLIENT_SECRET"], "TOKEN")? {
            EnvCredentials::Pair(id, secret) => builder.client_credentials(id, secret),
            EnvCredentials::Token(token) => builder.bearer_token(token),
        };
        let tuning = env.tuning()?;
        builder.http = tuning.http_config(builder.http);
        if let Some(n) = tuning.concurrency {
            builder = builder.concurrency(n);
        }
        if let Some(on) = tuning.verify {
            builder = builder.verify_archived(on);
        }
        Ok(builder)
    }
}

impl GuardhouseClientBuilder {
    /// Authenticate with the OAuth2 client-credentials grant: a Backend/Service client with
    /// "System API Access" allowed. Tokens are fetched from `{issuer}/connect/token`, cached and
    /// refreshed before they expire.
    #[must_use = "a builder method returns the changed builder"]
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        self.credentials = Some(Credentials::ClientCredentials {
            client_id: client_id.into(),
            client_secret,
        });
        self
    }

    /// Authenticate with a pre-issued System API access token (no refresh: when it expires,
    /// calls fail with [`Error::Unauthenticated`]).
    #[must_use = "a builder method returns the changed builder"]
    pub fn bearer_token(mut self, token: SecretString) -> Self {
        self.credentials = Some(Credentials::Bearer(token));
        self
    }

    /// The scope asked for with client credentials (default `system_api`).
    #[must_use = "a builder method returns the changed builder"]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// The `audience` some tenants require in the token request (default: none sent).
    #[must_use = "a builder method returns the changed builder"]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The API base URL, when it differs from the issuer (default: the issuer URL).
    #[must_use = "a builder method returns the changed builder"]
    pub fn api_base(mut self, url: Url) -> Self {
        self.api_base = Some(url);
        self
    }

    /// Timeouts, retries, TLS policy, or your own `reqwest::Client`.
    #[must_use = "a builder method returns the changed builder"]
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http = config;
        self
    }

    /// The body sent with every anonymization (default: both flags `false`).
    #[must_use = "a builder method returns the changed builder"]
    pub fn anonymize_options(mut self, options: AnonymizeOptions) -> Self {
        self.options = options;
        self
    }

    /// How many users a batch works on at once (default [`DEFAULT_CONCURRENCY`]); `0` is refused
    /// by [`build`](Self::build).
    #[must_use = "a builder method returns the changed builder"]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// How many users one page of an e-mail look-up asks for (default [`DEFAULT_PAGE_SIZE`]).
    #[must_use = "a builder method returns the changed builder"]
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = n;
        self
    }

    /// How many pages an e-mail look-up reads at most (default [`DEFAULT_MAX_PAGES`]); a
    /// server that keeps sending pages past this is an [`Error::Protocol`].
    #[must_use = "a builder method returns the changed builder"]
    pub fn max_pages(mut self, n: u32) -> Self {
        self.max_pages = n;
        self
    }

    /// A client-side limit for every request (token requests included), at most `limit.max()`
    /// in any window, kept by an in-process limiter (or the [`shared_limits`](Self::shared_limits)
    /// one). Guardhouse publishes no rate limit, so there is none by default: set one when your
    /// tenant has one.
    #[must_use = "a builder method returns the changed builder"]
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Share the [`rate_limit`](Self::rate_limit) with every other client built with `limits`,
    /// in this process or any other (e.g. `anonymize_redis::RedisLimits` through Redis), as
    /// one budget (class [`REQUESTS_CLASS`](anonymize_core::vendor::REQUESTS_CLASS)). Guardhouse
    /// publishes no limit, so this needs a `rate_limit`: without one,
    /// [`build`](Self::build) refuses it. A shared limiter that cannot answer fails the call
    /// with [`Error::LimiterUnavailable`] and sends nothing.
    #[must_use = "a builder method returns the changed builder"]
    pub fn shared_limits(mut self, limits: Arc<dyn SharedLimits>) -> Self {
        self.shared_limits = Some(limits);
        self
    }

    /// After each anonymization in a batch, read the user back and check that it is
    /// `Archived` (default off; one more request per user). The evidence then says
    /// `status Archived`; a user that reads back otherwise (or cannot be read) is still
    /// [`Outcome::Anonymized`](anonymize_core::Outcome::Anonymized) — Guardhouse said 204 —
    /// with a warning in its [`Evidence`](anonymize_core::Evidence).
    #[must_use = "a builder method returns the changed builder"]
    pub fn verify_archived(mut self, on: bool) -> Self {
        self.verify_archived = on;
        self
    }

    /// Check the settings and build the client. Nothing is sent.
    ///
    /// Missing or empty credentials, a concurrency, page size or page limit of 0, and a URL
    /// the HTTPS rules refuse are [`Error::Configuration`].
    pub fn build(self) -> Result<GuardhouseClient> {
        let credentials = self.credentials.ok_or_else(|| {
            Error::configuration("no credentials: set client_credentials(…) or bearer_token(…)")
        })?;
        if self.concurrency == 0 {
            return Err(Error::configuration("the concurrency must be at least 1"));
        }
        if self.page_size == 0 {
            return Err(Error::configuration("the page size must be at least 1"));
        }
        if self.max_pages == 0 {
            return Err(Error::configuration("the page limit must be at least 1"));
        }
        let api_base = self.api_base.unwrap_or_else(|| self.issuer.clone());
        let mut plain =
            HttpClient::new(VENDOR, api_base, self.http)?.with_error_reader(read_error_body);
        // Registered before any clone: a token endpoint that echoes the client secret (or an
        // API that echoes the token) has it masked in the error, its record and every receipt.
        plain = match &credentials {
            Credentials::ClientCredentials { client_secret, .. } => {
                plain.with_secret(client_secret)
            }
            Credentials::Bearer(token) => plain.with_secret(token),
        };
        // Before the token source takes its clone: token requests count too.
        if let Some(limiter) = optional_limiter(self.rate_limit, self.shared_limits.as_deref())? {
            plain = plain.with_limiter(limiter);
        }
        let auth: Arc<dyn Authorizer> = match credentials {
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => {
                if client_id.trim().is_empty() {
                    return Err(Error::configuration("the client id is empty"));
                }
                if client_secret.expose_secret().is_empty() {
                    return Err(Error::configuration("the client secret is empty"));
                }
                // The token endpoint lives at the issuer, which may differ from the API base:
                // the same HTTPS rules apply to it, and the API client's pool serves both.
                plain.check_url(&self.issuer)?;
                Arc::new(TokenCache::new(ClientCredentials {
                    http: plain.clone(),
                    token_url: append_segments(&self.issuer, &["connect", "token"]),
                    client_id,
                    client_secret,
                    scope: self.scope.trim().to_owned(),
                    audience: self.audience,
                }))
            }
            Credentials::Bearer(token) => {
                if token.expose_secret().trim().is_empty() {
                    return Err(Error::configuration("the bearer token is empty"));
                }
                Arc::new(StaticCredential::bearer(&token)?)
            }
        };
        Ok(GuardhouseClient::new(
            plain.with_authorizer(auth),
            Settings {
                options: self.options,
                concurrency: self.concurrency,
                page_size: self.page_size,
                max_pages: self.max_pages,
                verify_archived: self.verify_archived,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    #[test]
    fn build_refuses_bad_settings_before_sending() {
        let issuer = Url::parse("https://tenant.guardhouse.cloud").unwrap();
        let b = || GuardhouseClient::builder(issuer.clone());
        let secret = || SecretString::from("s3cr3t");
        let config = |r: Result<GuardhouseClient>| matches!(r, Err(Error::Configuration { .. }));
        assert!(config(b().build()));
        assert!(config(b().client_credentials("", secret()).build()));
        assert!(config(
            b().client_credentials("id", SecretString::from("")).build()
        ));
        assert!(config(b().bearer_token(SecretString::from(" ")).build()));
        assert!(config(b().bearer_token(secret()).concurrency(0).build()));
        assert!(config(b().bearer_token(secret()).page_size(0).build()));
        assert!(config(b().bearer_token(secret()).max_pages(0).build()));
        assert!(config(
            GuardhouseClient::builder(Url::parse("http://tenant.guardhouse.cloud").unwrap())
                .bearer_token(secret())
                .build()
        ));
        // A remote http:// issuer is refused even when the API base is HTTPS.
        assert!(config(
            GuardhouseClient::builder(Url::parse("http://tenant.guardhouse.cloud").unwrap())
                .api_base(issuer.clone())
                .client_credentials("id", secret())
                .build()
        ));
        let client = b().client_credentials("id", secret()).build().unwrap();
        assert_eq!(client.base_url(), &issuer);
    }

    /// Guardhouse publishes no limit: shared limits need one to share.
    #[test]
    fn shared_limits_need_a_rate_limit() {
        #[derive(Debug)]
        struct InProcess;
        impl SharedLimits for InProcess {
            fn limiter(
                &self,
                _class: &str,
                limit: RateLimit,
            ) -> Result<Arc<dyn anonymize_core::Limiter>> {
                Ok(Arc::new(anonymize_core::vendor::RateLimiter::new(limit)))
            }
        }
        let issuer = Url::parse("https://tenant.guardhouse.cloud").unwrap();
        let b = || GuardhouseClient::builder(issuer.clone()).bearer_token(SecretString::from("t"));
        let err = b().shared_limits(Arc::new(InProcess)).build().unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }), "{err:?}");
        assert!(err.to_string().contains("rate_limit"), "{err}");
        b().rate_limit(RateLimit::per_second(5))
            .shared_limits(Arc::new(InProcess))
            .build()
            .unwrap();
        b().rate_limit(RateLimit::per_second(5)).build().unwrap();
    }

    fn from_env(vars: &[(&str, &str)]) -> Result<GuardhouseClientBuilder> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        GuardhouseClient::from_env_with(|name| vars.get(name).cloned())
    }

    fn reason(result: Result<GuardhouseClientBuilder>) -> String {
        match result {
            Err(Error::Configuration { reason }) => reason,
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn from_env_reads_the_documented_variables() {
        let builder = from_env(&[
            ("GUARDHOUSE_URL", " https://tenant.guardhouse.cloud "),
            ("GUARDHOUSE_API_URL", "https://api.example.com/gh/"),
            ("GUARDHOUSE_AUDIENCE", "https://api.example.com"),
            ("GUARDHOUSE_CLIENT_ID", "svc"),
            ("GUARDHOUSE_CLIENT_SECRET", "env-secret-Q1"),
        ])
        .unwrap();
        let shown = format!("{builder:?}");
        assert!(
            shown.contains("https://tenant.guardhouse.cloud/"),
            "{shown}"
        );
        assert!(shown.contains("https://api.example.com/gh/"), "{shown}");
        assert!(shown.contains("audience: Some(\"https://api.example.com\")"));
        assert!(shown.contains("ClientCredentials") && shown.contains("svc"));
        assert!(!shown.contains("env-secret-Q1"), "{shown}");
        let client = builder.build().unwrap();
        assert_eq!(client.base_url().as_str(), "https://api.example.com/gh/");

        let builder = from_env(&[
            ("GUARDHOUSE_URL", "https://tenant.guardhouse.cloud"),
            ("GUARDHOUSE_TOKEN", "env-token-Z9"),
            ("GUARDHOUSE_API_URL", "  "),
        ])
        .unwrap();
        let shown = format!("{builder:?}");
        assert!(shown.contains("Bearer(<redacted>)") && !shown.contains("env-token-Z9"));
        assert!(shown.contains("api_base: None"), "{shown}");
    }

    #[test]
    fn from_env_names_the_missing_variable_never_a_value() {
        let url = ("GUARDHOUSE_URL", "https://tenant.guardhouse.cloud");
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[], "GUARDHOUSE_URL is not set"),
            (&[("GUARDHOUSE_URL", " ")], "GUARDHOUSE_URL is not set"),
            (
                &[("GUARDHOUSE_URL", "not a url Secret-77")],
                "GUARDHOUSE_URL is not a URL",
            ),
            (&[url], "GUARDHOUSE_TOKEN"),
            (
                &[url, ("GUARDHOUSE_CLIENT_ID", "svc")],
                "GUARDHOUSE_CLIENT_SECRET is not set",
            ),
            (
                &[url, ("GUARDHOUSE_CLIENT_SECRET", "Secret-77")],
                "GUARDHOUSE_CLIENT_ID is not set",
            ),
        ];
        for (vars, expected) in cases {
            let reason = reason(from_env(vars));
            assert!(reason.contains(expected), "{reason}");
            assert!(!reason.contains("Secret-77"), "{reason}");
        }
        // Both kinds of credential: refused, as at every vendor (a token set beside client
        // credentials used to be ignored without a word).
        let both = reason(from_env(&[
            url,
            ("GUARDHOUSE_CLIENT_ID", "svc"),
            ("GUARDHOUSE_CLIENT_SECRET", "Secret-77"),
            ("GUARDHOUSE_TOKEN", "Secret-77"),
        ]));
        assert!(both.contains("not both"), "{both}");
        assert!(!both.contains("Secret-77"), "{both}");
        let reason = reason(from_env(&[
            url,
            ("GUARDHOUSE_TOKEN", "t"),
            ("GUARDHOUSE_API_URL", "::Secret-77"),
        ]));
        assert!(
            reason.contains("GUARDHOUSE_API_URL is not a URL"),
            "{reason}"
        );
        assert!(!reason.contains("Secret-77"), "{reason}");
    }

    /// Point 8 of issue 18: the shared tuning variables reach the client (`GUARDHOUSE_VERIFY`
    /// is `verify_archived`), and a bad value names its variable, never the value.
    #[test]
    fn from_env_reads_the_shared_tuning() {
        let url = ("GUARDHOUSE_URL", "https://tenant.guardhouse.cloud");
        let token = ("GUARDHOUSE_TOKEN", "t0ken-Q7");
        let builder = from_env(&[
            url,
            token,
            ("GUARDHOUSE_CONCURRENCY", "16"),
            ("GUARDHOUSE_TIMEOUT_SECS", "45"),
            ("GUARDHOUSE_CONNECT_TIMEOUT_SECS", "0.5"),
            ("GUARDHOUSE_MAX_RETRIES", "6"),
            ("GUARDHOUSE_VERIFY", "on"),
        ])
        .unwrap();
        assert_eq!(builder.concurrency, 16);
        assert!(builder.verify_archived);
        assert_eq!(
            builder.http.request_timeout(),
            std::time::Duration::from_secs(45)
        );
        assert_eq!(builder.http.retry().max_retries(), 6);
        builder.build().unwrap();
        for (name, value) in [
            ("GUARDHOUSE_CONCURRENCY", "0"),
            ("GUARDHOUSE_CONNECT_TIMEOUT_SECS", "fast-Q7"),
            ("GUARDHOUSE_VERIFY", "maybe-Q7"),
        ] {
            let reason = reason(from_env(&[url, token, (name, value)]));
            assert!(reason.contains(name), "{reason}");
            assert!(!reason.contains("Q7"), "{reason}");
        }
    }
}
