//! [`Learning360ClientBuilder`]: credentials, HTTP settings, rate limits, the erasure options and
//! the directory; [`Learning360Client::from_env`] reads the first three from the environment.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anonymize_core::vendor::{
    Authorizer, EnvCredentials, HttpClient, RateLimiter, StaticCredential, TokenCache, VendorEnv,
};
use anonymize_core::{Error, HttpConfig, Limiter, RateLimit, Result, SharedLimits};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::VENDOR;
use crate::auth::ClientCredentials;
use crate::client::{Inner, Learning360Client};
use crate::directory::Directory;
use crate::model::read_error_body;

/// The vendor's published read limit (GET), per company.
pub const READS_PER_SECOND: u32 = 50;

/// The vendor's published write limit (POST, PUT, PATCH, DELETE), per company.
pub const WRITES_PER_SECOND: u32 = 10;

/// The window of the vendor's published limits: one second. The default limits use it exactly:
/// core's [`RateLimiter`] frees a request's slot one window after the request *ended*, so the
/// vendor, which counts arrivals, never sees more than the limit in any second, whatever the
/// network does; no margin is needed.
pub const DEFAULT_LIMIT_WINDOW: Duration = Duration::from_secs(1);

/// The default read limit: [`READS_PER_SECOND`] per [`DEFAULT_LIMIT_WINDOW`].
pub fn default_read_limit() -> RateLimit {
    RateLimit::new(READS_PER_SECOND, DEFAULT_LIMIT_WINDOW)
}

/// The default write limit: [`WRITES_PER_SECOND`] per [`DEFAULT_LIMIT_WINDOW`].
pub fn default_write_limit() -> RateLimit {
    RateLimit::new(WRITES_PER_SECOND, DEFAULT_LIMIT_WINDOW)
}

/// The budget class of reads (GET) given to a [`SharedLimits`]: `reads`.
pub const READS_CLASS: &str = "reads";

/// The budget class of writes (POST, PUT, PATCH, DELETE, token requests) given to a
/// [`SharedLimits`]: `writes`.
pub const WRITES_CLASS: &str = "writes";

/// The read and write limiters: in-process, or from `shared` (one budget per class).
pub(crate) fn limiters(
    shared: Option<&dyn SharedLimits>,
    read_limit: RateLimit,
    write_limit: RateLimit,
) -> Result<(Arc<dyn Limiter>, Arc<dyn Limiter>)> {
    Ok(match shared {
        None => (
            Arc::new(RateLimiter::new(read_limit)),
            Arc::new(RateLimiter::new(write_limit)),
        ),
        Some(shared) => (
            shared.limiter(READS_CLASS, read_limit)?,
            shared.limiter(WRITES_CLASS, write_limit)?,
        ),
    })
}

/// The environment variables [`Learning360Client::from_env`] reads.
/// The prefix of every variable [`Learning360Client::from_env`] reads (`LEARNING360_URL`, …).
const ENV_PREFIX: &str = "LEARNING360";

enum Credentials {
    Client { id: String, secret: SecretString },
    Token(SecretString),
}

/// Builds a [`Learning360Client`]; start with [`Learning360Client::builder`] or
/// [`Learning360Client::from_env`].
#[must_use = "a builder does nothing until .build()"]
pub struct Learning360ClientBuilder {
    base: Url,
    credentials: Option<Credentials>,
    http_config: HttpConfig,
    read_limit: RateLimit,
    write_limit: RateLimit,
    delete_external_ids: bool,
    concurrency: usize,
    directory: Option<Directory>,
    shared_limits: Option<Arc<dyn SharedLimits>>,
    verify: bool,
}

impl fmt::Debug for Learning360ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = match &self.credentials {
            Some(Credentials::Client { id, .. }) => format!("client {id}, secret <redacted>"),
            Some(Credentials::Token(_)) => "bearer token <redacted>".to_owned(),
            None => "none".to_owned(),
        };
        f.debug_struct("Learning360ClientBuilder")
            .field("base", &self.base.as_str())
            .field("credentials", &credentials)
            .field("http_config", &self.http_config)
            .field("read_limit", &self.read_limit)
            .field("write_limit", &self.write_limit)
            .field("delete_external_ids", &self.delete_external_ids)
            .field("verify", &self.verify)
            .field("concurrency", &self.concurrency)
            .field("shared_limits", &self.shared_limits)
            .finish_non_exhaustive()
    }
}

impl Learning360Client {
    /// A builder for a client at `base_url` (e.g. [`EU_BASE_URL`](crate::EU_BASE_URL) or
    /// [`US_BASE_URL`](crate::US_BASE_URL); `http://` only for loopback unless allowed in
    /// [`HttpConfig`]).
    #[must_use = "a builder does nothing until .build()"]
    pub fn builder(base_url: Url) -> Learning360ClientBuilder {
        Learning360ClientBuilder {
            base: base_url,
            credentials: None,
            http_config: HttpConfig::default(),
            read_limit: default_read_limit(),
            write_limit: default_write_limit(),
            delete_external_ids: true,
            verify: false,
            concurrency: 4,
            directory: None,
            shared_limits: None,
        }
    }

    /// A builder from the environment:
    ///
    /// - `LEARNING360_URL` (required): the platform's base URL, e.g. `https://app.360learning.com`;
    /// - `LEARNING360_CLIENT_ID` and `LEARNING360_CLIENT_SECRET` (an API v2 client with the
    ///   scopes `users:read` and `users:write`), or `LEARNING360_TOKEN` (a pre-issued access
    ///   token), not both;
    /// - the tuning every vendor shares ([`EnvTuning`](anonymize_core::vendor::EnvTuning)):
    ///   `LEARNING360_CONCURRENCY`, `LEARNING360_TIMEOUT_SECS`,
    ///   `LEARNING360_CONNECT_TIMEOUT_SECS`, `LEARNING360_MAX_RETRIES`, and `LEARNING360_VERIFY`
    ///   ([`verify`](Learning360ClientBuilder::verify)).
    ///
    /// A missing or blank variable, a URL that does not parse or a bad tuning value is
    /// [`Error::Configuration`] naming the variable (never its value). Everything else keeps its
    /// default; set it on the builder.
    ///
    /// ```no_run
    /// use learning360_client::{Directory, Learning360Client};
    ///
    /// let client = Learning360Client::from_env()?
    ///     .directory(Directory::default())
    ///     .build()?;
    /// # Ok::<(), anonymize_core::Error>(())
    /// ```
    pub fn from_env() -> Result<Learning360ClientBuilder> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env), reading each variable through `lookup` (tests, or settings
    /// from somewhere other than the process environment).
    pub fn from_env_with(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Learning360ClientBuilder> {
        let env = VendorEnv::new(ENV_PREFIX, &lookup);
        let builder = Self::builder(env.url("URL")?);
        let mut builder = match env.credentials(["CLIENT_ID", "CLIENT_SECRET"], "TOKEN")? {
            EnvCredentials::Pair(id, secret) => builder.client_credentials(id, secret),
            EnvCredentials::Token(token) => builder.bearer_token(token),
        };
        let tuning = env.tuning()?;
        if let Some(on) = tuning.verify {
            builder = builder.verify(on);
        }
        builder.http_config = tuning.http_config(builder.http_config);
        if let Some(n) = tuning.concurrency {
            builder = builder.concurrency(n);
        }
        Ok(builder)
    }
}

impl Learning360ClientBuilder {
    /// Authenticate with an API v2 client id and secret (OAuth client credentials). Tokens are
    /// fetched from `POST /api/v2/oauth2/token`, cached until shortly before they expire, and
    /// refreshed once when the vendor answers 401.
    #[must_use = "a builder method returns the changed builder"]
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        secret: SecretString,
    ) -> Self {
        self.credentials = Some(Credentials::Client {
            id: client_id.into(),
            secret,
        });
        self
    }

    /// Authenticate with an access token obtained elsewhere (it is never refreshed).
    #[must_use = "a builder method returns the changed builder"]
    pub fn bearer_token(mut self, token: SecretString) -> Self {
        self.credentials = Some(Credentials::Token(token));
        self
    }

    /// Timeouts, retries, body cap, TLS policy, or your own `reqwest::Client`.
    #[must_use = "a builder method returns the changed builder"]
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http_config = config;
        self
    }

    /// The client-side limit for reads (GET); default [`default_read_limit`]: the vendor's 50
    /// per second, exactly (see [`DEFAULT_LIMIT_WINDOW`]).
    #[must_use = "a builder method returns the changed builder"]
    pub fn read_limit(mut self, limit: RateLimit) -> Self {
        self.read_limit = limit;
        self
    }

    /// The client-side limit for writes (POST, PUT, DELETE, token requests included); default
    /// [`default_write_limit`]: the vendor's 10 per second, exactly (see [`DEFAULT_LIMIT_WINDOW`]).
    #[must_use = "a builder method returns the changed builder"]
    pub fn write_limit(mut self, limit: RateLimit) -> Self {
        self.write_limit = limit;
        self
    }

    /// Share the read and write budgets with every other client built with `limits`, in this
    /// process or any other (e.g. `anonymize_redis::RedisLimits` through Redis): the limits
    /// above are then enforced for all of them together, not per client. 360Learning counts
    /// per company, so give every sender to one company the same `limits` (and a name per
    /// company). `limits` is asked for one limiter per class, [`READS_CLASS`] and
    /// [`WRITES_CLASS`], with [`read_limit`](Self::read_limit) and
    /// [`write_limit`](Self::write_limit).
    ///
    /// Without it (the default), each client keeps its limits in-process: safe only while it is
    /// the only sender. A shared limiter that cannot answer fails the call with
    /// [`Error::LimiterUnavailable`] and sends nothing.
    #[must_use = "a builder method returns the changed builder"]
    pub fn shared_limits(mut self, limits: Arc<dyn SharedLimits>) -> Self {
        self.shared_limits = Some(limits);
        self
    }

    /// Check every erasure at the vendor, as
    /// [`anonymize_verified`](anonymize_core::Anonymizer::anonymize_verified) does, in
    /// [`anonymize`](anonymize_core::Anonymizer::anonymize) too: read each user first, then
    /// check the pseudonymized user the vendor answers against it (one more read per user).
    /// Default `false`. `LEARNING360_VERIFY` sets it.
    #[must_use = "a builder method returns the changed builder"]
    pub fn verify(mut self, on: bool) -> Self {
        self.verify = on;
        self
    }

    /// Whether pseudonymization also deletes the user's external ids (`deleteExternalIds=true`).
    /// Default `true`: kept external-id mappings let connectors (SSO, HRIS sync) identify the
    /// pseudonymized user again and reactivate them.
    #[must_use = "a builder method returns the changed builder"]
    pub fn delete_external_ids(mut self, delete: bool) -> Self {
        self.delete_external_ids = delete;
        self
    }

    /// How many users a batch erases at the same time (default 4; the write limit still
    /// applies). Zero is refused by [`build`](Self::build).
    #[must_use = "a builder method returns the changed builder"]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Use `directory` for e-mail look-ups and to skip deleting users it knows are deleted.
    /// Clones of the directory share their entries.
    #[must_use = "a builder method returns the changed builder"]
    pub fn directory(mut self, directory: Directory) -> Self {
        self.directory = Some(directory);
        self
    }

    /// Check the settings and build the client. Nothing is sent.
    pub fn build(self) -> Result<Learning360Client> {
        if self.concurrency == 0 {
            return Err(Error::configuration("concurrency must be at least 1"));
        }
        let mut http = HttpClient::new(VENDOR, self.base, self.http_config)?
            .with_error_reader(read_error_body);
        // Registered before any clone: a vendor that echoes the secret in an error body has it
        // masked in the error, its record and every receipt.
        if let Some(Credentials::Client { secret, .. } | Credentials::Token(secret)) =
            &self.credentials
        {
            http = http.with_secret(secret);
        }
        let (reads, writes) = limiters(
            self.shared_limits.as_deref(),
            self.read_limit,
            self.write_limit,
        )?;
        let auth: Arc<dyn Authorizer> = match self.credentials {
            None => {
                return Err(Error::configuration(
                    "no credentials: call client_credentials(..) or bearer_token(..)",
                ));
            }
            Some(Credentials::Client { id, secret }) => {
                if id.trim().is_empty() || secret.expose_secret().trim().is_empty() {
                    return Err(Error::configuration(
                        "the client id and client secret must not be empty",
                    ));
                }
                Arc::new(TokenCache::new(ClientCredentials::new(
                    http.clone(),
                    id,
                    secret,
                    writes.clone(),
                )))
            }
            Some(Credentials::Token(token)) => Arc::new(StaticCredential::bearer(&token)?),
        };
        Ok(Learning360Client::from_inner(Inner {
            http: http.with_authorizer(auth),
            reads,
            writes,
            delete_external_ids: self.delete_external_ids,
            verify: self.verify,
            concurrency: self.concurrency,
            directory: self.directory,
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn base() -> Url {
        Url::parse("https://app.360learning.com").unwrap()
    }

    #[test]
    fn builder_refuses_missing_or_empty_credentials_and_zero_concurrency() {
        let err = Learning360Client::builder(base()).build().unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }));
        let err = Learning360Client::builder(base())
            .client_credentials("", SecretString::from("s"))
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }));
        let err = Learning360Client::builder(Url::parse("http://app.360learning.com").unwrap())
            .client_credentials("id", SecretString::from("s3cr3t"))
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }));
        let err = Learning360Client::builder(base())
            .client_credentials("id", SecretString::from("s3cr3t"))
            .concurrency(0)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }), "{err:?}");
        assert!(err.to_string().contains("concurrency"), "{err}");
    }

    #[test]
    fn debug_hides_secrets() {
        let builder = Learning360Client::builder(base())
            .client_credentials("my-client", SecretString::from("top-s3cr3t"));
        assert!(!format!("{builder:?}").contains("top-s3cr3t"));
        let client = builder.build().unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("top-s3cr3t"), "{shown}");
        assert!(shown.contains("my-client"));
        let builder =
            Learning360Client::builder(base()).bearer_token(SecretString::from("tok-s3cr3t"));
        assert!(!format!("{builder:?}").contains("tok-s3cr3t"));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains("tok-s3cr3t"));
        assert_eq!(client.base_url(), &base());
    }

    #[test]
    fn from_env_reads_three_variables_and_names_the_missing_one() {
        let full = HashMap::from([
            (
                "LEARNING360_URL",
                "https://app.us.360learning.com".to_owned(),
            ),
            ("LEARNING360_CLIENT_ID", "env-client".to_owned()),
            ("LEARNING360_CLIENT_SECRET", "env-s3cr3t".to_owned()),
        ]);
        let client = Learning360Client::from_env_with(|n| full.get(n).cloned())
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            client.base_url().as_str(),
            "https://app.us.360learning.com/"
        );
        assert!(format!("{client:?}").contains("env-client"));

        for (name, value) in [
            ("LEARNING360_URL", None),
            ("LEARNING360_URL", Some("  ")),
            ("LEARNING360_CLIENT_ID", None),
            ("LEARNING360_CLIENT_SECRET", None),
            ("LEARNING360_CLIENT_SECRET", Some("")),
        ] {
            let mut env = full.clone();
            match value {
                Some(v) => env.insert(name, v.to_owned()),
                None => env.remove(name),
            };
            let err = Learning360Client::from_env_with(|n| env.get(n).cloned()).unwrap_err();
            assert!(matches!(err, Error::Configuration { .. }), "{err:?}");
            assert!(
                err.to_string().contains(&format!("{name} is not set")),
                "{err}"
            );
        }

        let mut env = full.clone();
        env.insert("LEARNING360_URL", "not a url env-s3cr3t".to_owned());
        let err = Learning360Client::from_env_with(|n| env.get(n).cloned()).unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }));
        assert!(
            err.to_string().contains("LEARNING360_URL is not a URL"),
            "{err}"
        );
        assert!(!err.to_string().contains("env-s3cr3t"), "{err}");
    }

    /// Point 8 of issue 18: the tuning variables reach the client, a token is a credential like
    /// the other vendors', and a bad value names its variable, never the value.
    #[test]
    fn from_env_reads_the_shared_tuning_and_a_token() {
        let env = HashMap::from([
            ("LEARNING360_URL", "https://app.360learning.com"),
            ("LEARNING360_TOKEN", "env-tok-Q7"),
            ("LEARNING360_CONCURRENCY", "9"),
            ("LEARNING360_TIMEOUT_SECS", "12"),
            ("LEARNING360_MAX_RETRIES", "1"),
        ]);
        let builder =
            Learning360Client::from_env_with(|n| env.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(builder.concurrency, 9);
        assert_eq!(
            builder.http_config.request_timeout(),
            Duration::from_secs(12)
        );
        assert_eq!(builder.http_config.retry().max_retries(), 1);
        assert!(!format!("{builder:?}").contains("env-tok-Q7"));
        builder.build().unwrap();

        for (name, value) in [
            ("LEARNING360_CONCURRENCY", "0"),
            ("LEARNING360_TIMEOUT_SECS", "soon-Q7"),
            ("LEARNING360_VERIFY", "maybe-Q7"),
        ] {
            let mut env = env.clone();
            env.insert(name, value);
            let err = Learning360Client::from_env_with(|n| env.get(n).map(|v| v.to_string()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(name), "{err}");
            assert!(!err.contains("Q7"), "{err}");
        }
    }
}
