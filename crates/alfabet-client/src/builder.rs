//! [`AlfabetClientBuilder`]: settings, credentials, and [`from_env`](AlfabetClient::from_env).

use std::fmt;
use std::sync::Arc;

use anonymize_core::vendor::{
    Authorizer, Credential, EnvCredentials, HttpClient, StaticCredential, TokenCache, VendorEnv,
    optional_limiter,
};
use anonymize_core::{Error, HttpConfig, RateLimit, Result, SharedLimits};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::VENDOR;
use crate::auth::{DEFAULT_SCHEME, PasswordGrant};
use crate::client::AlfabetClient;
use crate::model::read_error_body;

/// How many refs one request carries unless [`AlfabetClientBuilder::batch_size`] says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 100;

/// The largest batch size accepted (Alfabet documents no limit; this keeps one request's body
/// and the vendor's work per request bounded).
pub const MAX_BATCH_SIZE: usize = 10_000;

/// The prefix of every variable [`AlfabetClient::from_env`] reads (`ALFABET_URL`, …).
const ENV_PREFIX: &str = "ALFABET";

/// Builds an [`AlfabetClient`]; see [`AlfabetClient::builder`] and [`AlfabetClient::from_env`].
#[must_use = "a builder does nothing until .build()"]
pub struct AlfabetClientBuilder {
    base: Url,
    /// The last of [`password`](AlfabetClientBuilder::password) and
    /// [`bearer_token`](AlfabetClientBuilder::bearer_token) wins, as in the other vendors'
    /// builders (a simulator's `client_builder()` comes with credentials a test may replace).
    credentials: Option<Credentials>,
    token_scheme: Option<String>,
    batch_size: usize,
    http: HttpConfig,
    rate_limit: Option<RateLimit>,
    shared_limits: Option<Arc<dyn SharedLimits>>,
}

enum Credentials {
    Password {
        username: SecretString,
        password: SecretString,
    },
    Token(SecretString),
}

impl fmt::Debug for AlfabetClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<&str> = self
            .credentials
            .iter()
            .map(|c| match c {
                Credentials::Password { .. } => "password grant (redacted)",
                Credentials::Token(_) => "pre-issued token (redacted)",
            })
            .collect();
        // (A list of at most one: the form `Debug` has always shown.)
        f.debug_struct("AlfabetClientBuilder")
            .field("base", &self.base.as_str())
            .field("credentials", &kinds)
            .field("token_scheme", &self.token_scheme)
            .field("batch_size", &self.batch_size)
            .field("http", &self.http)
            .field("rate_limit", &self.rate_limit)
            .field("shared_limits", &self.shared_limits)
            .finish()
    }
}

impl AlfabetClient {
    /// Start building a client for the API server at `base_url`, e.g.
    /// `https://host/AlfabetAPIServer` (its path is kept; paths are case-sensitive). Requests go
    /// to `{base_url}/api/token` and `{base_url}/api/v2/anonymizeuser`. `http://` is accepted for
    /// loopback hosts only, unless [`HttpConfig::allow_insecure_http`] says otherwise.
    ///
    /// [`HttpConfig::allow_insecure_http`]: anonymize_core::HttpConfig::allow_insecure_http
    pub fn builder(base_url: Url) -> AlfabetClientBuilder {
        AlfabetClientBuilder::new(base_url)
    }

    /// A builder from the environment, the settings the `alfabet` example reads:
    ///
    /// - `ALFABET_URL`: the API server, e.g. `https://host/AlfabetAPIServer`;
    /// - either `ALFABET_USERNAME` and `ALFABET_PASSWORD` (the password grant) or `ALFABET_TOKEN`
    ///   (a pre-issued token, sent as `bearer <token>`), not both;
    /// - optionally `ALFABET_BATCH_SIZE` (refs per request, default [`DEFAULT_BATCH_SIZE`]);
    /// - optionally the tuning every vendor shares ([`EnvTuning`](anonymize_core::vendor::EnvTuning)):
    ///   `ALFABET_TIMEOUT_SECS`, `ALFABET_CONNECT_TIMEOUT_SECS`, `ALFABET_MAX_RETRIES`.
    ///   `ALFABET_CONCURRENCY` is refused (Alfabet sends one batch at a time), and so is
    ///   `ALFABET_VERIFY=true` (Alfabet has no documented read to verify with).
    ///
    /// Add other settings ([`http_config`](AlfabetClientBuilder::http_config)…) to the builder,
    /// then [`build`](AlfabetClientBuilder::build) it.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] naming the variable (never its value) when one is missing or
    /// blank, when `ALFABET_URL` is not a URL, `ALFABET_BATCH_SIZE` not a number or a tuning
    /// value is bad, or when both kinds of credential are set.
    pub fn from_env() -> Result<AlfabetClientBuilder> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env), reading each variable through `lookup` (for tests, or
    /// settings kept elsewhere).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use alfabet_client::AlfabetClient;
    ///
    /// let env = HashMap::from([
    ///     ("ALFABET_URL", "https://alfabet.example.com/AlfabetAPIServer"),
    ///     ("ALFABET_TOKEN", "eyJ…"),
    /// ]);
    /// let client = AlfabetClient::from_env_with(|name| env.get(name).map(|v| v.to_string()))?
    ///     .build()?;
    /// assert_eq!(client.base_url().path(), "/AlfabetAPIServer");
    ///
    /// let err = AlfabetClient::from_env_with(|_| None).unwrap_err();
    /// assert!(err.to_string().contains("ALFABET_URL is not set"));
    /// # Ok::<(), anonymize_core::Error>(())
    /// ```
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<AlfabetClientBuilder> {
        let env = VendorEnv::new(ENV_PREFIX, &lookup);
        let builder = AlfabetClient::builder(env.url("URL")?);
        let mut builder = match env.credentials(["USERNAME", "PASSWORD"], "TOKEN")? {
            EnvCredentials::Pair(username, password) => builder.password(username, password),
            EnvCredentials::Token(token) => builder.bearer_token(token),
        };
        if let Some(size) = env.parse_opt("BATCH_SIZE", "a number")? {
            builder = builder.batch_size(size);
        }
        let tuning = env.tuning()?;
        // Alfabet sends one batch at a time and has no documented read to verify with: a
        // variable that asks for either is refused, not ignored.
        if tuning.concurrency.is_some() {
            return Err(Error::configuration(format!(
                "{} is not a setting of Alfabet, which sends one batch at a time: set {} instead",
                env.name("CONCURRENCY"),
                env.name("BATCH_SIZE")
            )));
        }
        if tuning.verify == Some(true) {
            return Err(Error::configuration(format!(
                "{}: Alfabet has no documented read to verify an erasure with",
                env.name("VERIFY")
            )));
        }
        builder.http = tuning.http_config(builder.http);
        Ok(builder)
    }
}

impl AlfabetClientBuilder {
    pub(crate) fn new(base: Url) -> Self {
        Self {
            base,
            credentials: None,
            token_scheme: None,
            batch_size: DEFAULT_BATCH_SIZE,
            http: HttpConfig::default(),
            rate_limit: None,
            shared_limits: None,
        }
    }

    /// Authenticate with Alfabet's password grant (`POST {base}/api/token`): the user name and
    /// RESTful-services password of the business user that holds the anonymization permission.
    /// Tokens are cached, renewed before they expire (`expires_in`), and renewed once after a 401.
    #[must_use = "a builder method returns the changed builder"]
    pub fn password(mut self, username: impl Into<String>, password: SecretString) -> Self {
        self.credentials = Some(Credentials::Password {
            username: SecretString::from(username.into()),
            password,
        });
        self
    }

    /// Authenticate with a token issued beforehand, sent as `Authorization: bearer <token>`
    /// (the scheme can be changed with [`token_scheme`](Self::token_scheme)). It is never
    /// renewed: a 401 is an error.
    #[must_use = "a builder method returns the changed builder"]
    pub fn bearer_token(mut self, token: SecretString) -> Self {
        self.credentials = Some(Credentials::Token(token));
        self
    }

    /// The scheme to send a [pre-issued token](Self::bearer_token) with (default `bearer`, as
    /// Alfabet writes it). Tokens from the password grant use the `token_type` the server
    /// answers.
    #[must_use = "a builder method returns the changed builder"]
    pub fn token_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.token_scheme = Some(scheme.into());
        self
    }

    /// How many refs one request carries at most (default [`DEFAULT_BATCH_SIZE`], between 1 and
    /// [`MAX_BATCH_SIZE`]).
    #[must_use = "a builder method returns the changed builder"]
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = size;
        self
    }

    /// A client-side limit for every request (token requests included), at most `limit.max()`
    /// in any window, kept by an in-process limiter (or the [`shared_limits`](Self::shared_limits)
    /// one). Alfabet publishes no rate limit, so there is none by default: set one when your
    /// tenant has one.
    #[must_use = "a builder method returns the changed builder"]
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Share the [`rate_limit`](Self::rate_limit) with every other client built with `limits`,
    /// in this process or any other (e.g. `anonymize_redis::RedisLimits` through Redis), as
    /// one budget (class [`REQUESTS_CLASS`](anonymize_core::vendor::REQUESTS_CLASS)). Alfabet
    /// publishes no limit, so this needs a `rate_limit`: without one,
    /// [`build`](Self::build) refuses it. A shared limiter that cannot answer fails the call
    /// with [`Error::LimiterUnavailable`] and sends nothing.
    #[must_use = "a builder method returns the changed builder"]
    pub fn shared_limits(mut self, limits: Arc<dyn SharedLimits>) -> Self {
        self.shared_limits = Some(limits);
        self
    }

    /// Timeouts, retries, TLS policy, or your own `reqwest::Client`.
    #[must_use = "a builder method returns the changed builder"]
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http = config;
        self
    }

    /// Check the settings and build the client. Nothing is sent.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when the base URL is not usable (not `https://` outside
    /// loopback, credentials, a query or a fragment in it: core's one check for every vendor),
    /// when no credential was given or it is empty, or when the batch size is out of range (0
    /// included).
    pub fn build(self) -> Result<AlfabetClient> {
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(Error::configuration(format!(
                "the batch size must be between 1 and {MAX_BATCH_SIZE}"
            )));
        }
        let mut http =
            HttpClient::new(VENDOR, self.base, self.http)?.with_error_reader(read_error_body);
        // Before the token grant takes its clone: token requests count too.
        if let Some(limiter) = optional_limiter(self.rate_limit, self.shared_limits.as_deref())? {
            http = http.with_limiter(limiter);
        }
        // Registered before any clone: a token endpoint that echoes the user name or password
        // (or an API that echoes the token) has them masked in the error, its record and every
        // receipt.
        http = match &self.credentials {
            Some(Credentials::Password { username, password }) => {
                http.with_secret(username).with_secret(password)
            }
            Some(Credentials::Token(token)) => http.with_secret(token),
            None => http,
        };
        let Some(credentials) = self.credentials else {
            return Err(Error::configuration(
                "no credential: use .password(username, password) or .bearer_token(token)",
            ));
        };
        let (auth, auth_kind): (Arc<dyn Authorizer>, _) = match credentials {
            Credentials::Password { username, password } => {
                if self.token_scheme.is_some() {
                    return Err(Error::configuration(
                        "token_scheme applies to a pre-issued token; the password grant uses \
                         the token_type the server answers",
                    ));
                }
                if username.expose_secret().trim().is_empty() {
                    return Err(Error::configuration("the user name is empty"));
                }
                if password.expose_secret().is_empty() {
                    return Err(Error::configuration("the password is empty"));
                }
                let grant = PasswordGrant::new(http.clone(), username, password);
                (Arc::new(TokenCache::new(grant)), "password grant")
            }
            Credentials::Token(token) => {
                let scheme = self.token_scheme.as_deref().unwrap_or(DEFAULT_SCHEME);
                if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(Error::configuration(
                        "the token scheme must be one word of visible ASCII characters",
                    ));
                }
                if token.expose_secret().trim().is_empty() {
                    return Err(Error::configuration("the token is empty"));
                }
                let credential = Credential::authorization(scheme, &token)?;
                (
                    Arc::new(StaticCredential::new(credential)),
                    "pre-issued token",
                )
            }
        };
        Ok(AlfabetClient::from_parts(
            http.with_authorizer(auth),
            auth_kind,
            self.batch_size,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    #[test]
    fn builder_refuses_bad_settings() {
        let base = Url::parse("https://host/AlfabetAPIServer").unwrap();
        let pw = || SecretString::from("pw");
        let err = |b: AlfabetClientBuilder| match b.build() {
            Err(Error::Configuration { reason }) => reason,
            other => panic!("{other:?}"),
        };
        err(AlfabetClient::builder(base.clone()));
        // The last credential wins, as in the other builders (it used to be refused).
        let last = AlfabetClient::builder(base.clone())
            .password("u", pw())
            .bearer_token(SecretString::from("tok-1"));
        assert!(format!("{last:?}").contains("pre-issued token"), "{last:?}");
        last.build().unwrap();
        err(AlfabetClient::builder(base.clone()).password("", pw()));
        err(AlfabetClient::builder(base.clone()).password("u", SecretString::from("")));
        err(AlfabetClient::builder(base.clone()).bearer_token(SecretString::from(" ")));
        err(AlfabetClient::builder(base.clone())
            .bearer_token(pw())
            .token_scheme("bear er"));
        err(AlfabetClient::builder(base.clone())
            .password("u", pw())
            .token_scheme("Bearer"));
        err(AlfabetClient::builder(base.clone())
            .password("u", pw())
            .batch_size(0));
        err(AlfabetClient::builder(base.clone())
            .password("u", pw())
            .batch_size(MAX_BATCH_SIZE + 1));
        err(
            AlfabetClient::builder(Url::parse("http://alfabet.example.com/A").unwrap())
                .password("u", pw()),
        );
        err(AlfabetClient::builder(Url::parse("https://host/A?x=1").unwrap()).password("u", pw()));
        let reason =
            err(AlfabetClient::builder(base.clone()).bearer_token(SecretString::from("a\nb")));
        assert!(!reason.contains("a\nb"));
        let ok = AlfabetClient::builder(base.clone())
            .bearer_token(pw())
            .token_scheme("Bearer")
            .batch_size(MAX_BATCH_SIZE)
            .build()
            .unwrap();
        assert_eq!(ok.batch_size(), MAX_BATCH_SIZE);
        assert_eq!(ok.base_url(), &base);
    }

    #[test]
    fn debug_shows_no_secret() {
        let base = Url::parse("https://host/AlfabetAPIServer").unwrap();
        let builder = AlfabetClient::builder(base.clone())
            .password("jane.doe@example.com", SecretString::from("hunter2-pw"));
        let shown = format!("{builder:?}");
        assert!(
            !shown.contains("jane") && !shown.contains("hunter2"),
            "{shown}"
        );
        let client = builder.build().unwrap();
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("jane") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("password grant"));
        let client = AlfabetClient::builder(base)
            .bearer_token(SecretString::from("eyJ-secret-token"))
            .build()
            .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("eyJ-secret"), "{shown}");
    }

    fn from(env: &[(&str, &str)]) -> Result<AlfabetClient> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AlfabetClient::from_env_with(|name| env.get(name).cloned())?.build()
    }

    #[test]
    fn from_env_reads_the_examples_variables() {
        let url = ("ALFABET_URL", "https://host/AlfabetAPIServer");
        let client = from(&[
            url,
            ("ALFABET_USERNAME", "api-anonymizer"),
            ("ALFABET_PASSWORD", "pw-Secret-1"),
            ("ALFABET_BATCH_SIZE", " 25 "),
        ])
        .unwrap();
        assert_eq!(client.base_url().as_str(), "https://host/AlfabetAPIServer");
        assert_eq!(client.batch_size(), 25);
        assert!(format!("{client:?}").contains("password grant"));
        let client = from(&[url, ("ALFABET_TOKEN", "tok-Secret-2")]).unwrap();
        assert!(format!("{client:?}").contains("pre-issued token"));
        assert_eq!(client.batch_size(), DEFAULT_BATCH_SIZE);
    }

    #[test]
    fn from_env_names_the_variable_never_the_value() {
        let url = ("ALFABET_URL", "https://host/AlfabetAPIServer");
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "ALFABET_URL is not set"),
            (&[("ALFABET_URL", "  ")], "ALFABET_URL is not set"),
            (&[("ALFABET_URL", "no url")], "ALFABET_URL is not a URL"),
            (
                &[url],
                "set ALFABET_USERNAME and ALFABET_PASSWORD, or ALFABET_TOKEN",
            ),
            (
                &[url, ("ALFABET_USERNAME", "api-anonymizer")],
                "ALFABET_PASSWORD is not set",
            ),
            (
                &[
                    url,
                    ("ALFABET_USERNAME", "api-anonymizer"),
                    ("ALFABET_PASSWORD", " "),
                ],
                "ALFABET_PASSWORD is not set",
            ),
            (
                &[url, ("ALFABET_PASSWORD", "pw-Secret-1")],
                "ALFABET_USERNAME is not set",
            ),
            (
                &[
                    url,
                    ("ALFABET_TOKEN", "tok-Secret-2"),
                    ("ALFABET_PASSWORD", "pw-Secret-1"),
                ],
                "not both",
            ),
            (
                &[
                    url,
                    ("ALFABET_TOKEN", "tok-Secret-2"),
                    ("ALFABET_BATCH_SIZE", "many"),
                ],
                "ALFABET_BATCH_SIZE is not a number",
            ),
            (
                &[
                    url,
                    ("ALFABET_TOKEN", "tok-Secret-2"),
                    ("ALFABET_BATCH_SIZE", "0"),
                ],
                "batch size",
            ),
        ];
        for (env, expected) in cases {
            match from(env) {
                Err(e @ Error::Configuration { .. }) => {
                    let shown = e.to_string();
                    assert!(shown.contains(expected), "{shown}");
                    assert!(
                        !shown.contains("Secret") && !shown.contains("api-anonymizer"),
                        "{shown}"
                    );
                }
                other => panic!("{env:?}: {other:?}"),
            }
        }
    }

    /// Point 8 of issue 18: the shared tuning variables reach the client; what Alfabet cannot
    /// do (a concurrency, a verification) is refused, naming the variable, never ignored.
    #[test]
    fn from_env_reads_the_shared_tuning_and_refuses_what_alfabet_cannot_do() {
        let vars = [
            ("ALFABET_URL", "https://host/AlfabetAPIServer"),
            ("ALFABET_TOKEN", "tok-Q7"),
            ("ALFABET_TIMEOUT_SECS", "7.5"),
            ("ALFABET_CONNECT_TIMEOUT_SECS", "2"),
            ("ALFABET_MAX_RETRIES", "4"),
            ("ALFABET_VERIFY", "false"),
        ];
        let env: HashMap<&str, &str> = HashMap::from(vars);
        let builder = AlfabetClient::from_env_with(|n| env.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(builder.http.request_timeout(), Duration::from_millis(7500));
        assert_eq!(builder.http.retry().max_retries(), 4);
        builder.build().unwrap();
        for (name, value, expected) in [
            (
                "ALFABET_CONCURRENCY",
                "4",
                "ALFABET_CONCURRENCY is not a setting of Alfabet",
            ),
            ("ALFABET_VERIFY", "true", "ALFABET_VERIFY"),
            (
                "ALFABET_MAX_RETRIES",
                "many-Q7",
                "ALFABET_MAX_RETRIES is not a whole number",
            ),
        ] {
            let mut env = env.clone();
            env.insert(name, value);
            let err = AlfabetClient::from_env_with(|n| env.get(n).map(|v| v.to_string()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("Q7"), "{err}");
        }
    }
}
