//! The vendors the command knows: their input column, their id type, their environment
//! variables, and which of them are configured.

use std::sync::Arc;

use anonymize_core::{Anonymizer, Error, Result, SharedLimits};
use anonymize_redis::RedisLimits;

/// Reads an environment variable by name (the process environment, or a map in tests).
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One vendor the command can erase at.
pub(crate) struct Spec {
    /// The vendor's name (`Anonymizer::vendor`).
    pub(crate) name: &'static str,
    /// The input column (CSV) or field (JSON lines) with the person's id there.
    pub(crate) column: &'static str,
    /// The environment variables that say where the vendor is and who calls it (URL,
    /// credentials, options): none set means "not configured".
    pub(crate) variables: &'static [&'static str],
    /// The tuning variables its `from_env` reads too (`<PREFIX>_CONCURRENCY`, timeouts,
    /// retries, `<PREFIX>_VERIFY`: `anonymize_core::vendor::EnvTuning`). One of them alone does
    /// not configure a vendor: `GUARDHOUSE_MAX_RETRIES=5` in a shared environment must not turn
    /// on Guardhouse without a URL.
    pub(crate) tuning: &'static [&'static str],
    /// Parse an id, giving it back in the vendor's canonical form; the error never repeats it.
    pub(crate) parse_id: fn(&str) -> Result<String>,
    /// Build the client from the environment, its limits shared through `shared` when given.
    build: Build,
}

/// Builds a vendor's client from the environment, its limits shared when given limits.
type Build = fn(Env<'_>, Option<&RedisLimits>) -> Result<Arc<dyn Anonymizer>>;

/// The environment variable of `run --shared-limits` (the flag wins). Prefer it to the flag: a
/// Redis URL may hold a password, and a command line is visible to every user of the machine.
pub(crate) const SHARED_LIMITS_VARIABLE: &str = "ANONYMIZE_SHARED_LIMITS";

/// The name a vendor's budgets are kept under in Redis: `anonymize:<vendor>:<host[:port]/path>`
/// of its configured base URL, so that every worker erasing at one tenant shares its budget and
/// two tenants never share one. (A Redis name has no braces or white space: the URL's are
/// percent-encoded.)
pub(crate) fn shared_name(vendor: &str, base: &anonymize_core::url::Url) -> String {
    let mut tenant = base.host_str().unwrap_or_default().to_ascii_lowercase();
    if let Some(port) = base.port() {
        tenant.push_str(&format!(":{port}"));
    }
    tenant.push_str(base.path().trim_end_matches('/'));
    format!("anonymize:{vendor}:{tenant}")
}

/// The shared limits of the vendor at `base`, for its builder's `shared_limits`.
fn shared_for(
    shared: &RedisLimits,
    vendor: &str,
    base: &anonymize_core::url::Url,
) -> Result<Arc<dyn SharedLimits>> {
    Ok(Arc::new(shared.with_name(shared_name(vendor, base))?))
}

/// The three vendors, in the order the command reports them.
pub(crate) const SPECS: [Spec; 3] = [
    Spec {
        name: guardhouse_client::VENDOR,
        column: "guardhouse_id",
        variables: &[
            "GUARDHOUSE_URL",
            "GUARDHOUSE_CLIENT_ID",
            "GUARDHOUSE_CLIENT_SECRET",
            "GUARDHOUSE_TOKEN",
            "GUARDHOUSE_API_URL",
            "GUARDHOUSE_AUDIENCE",
        ],
        tuning: &[
            "GUARDHOUSE_CONCURRENCY",
            "GUARDHOUSE_TIMEOUT_SECS",
            "GUARDHOUSE_CONNECT_TIMEOUT_SECS",
            "GUARDHOUSE_MAX_RETRIES",
            "GUARDHOUSE_VERIFY",
        ],
        parse_id: |s| Ok(s.parse::<guardhouse_client::UserId>()?.to_string()),
        // Guardhouse publishes no limit and the command sets none: nothing to share.
        build: |env, _shared| {
            Ok(Arc::new(
                guardhouse_client::GuardhouseClient::from_env_with(env)?.build()?,
            ))
        },
    },
    Spec {
        name: alfabet_client::VENDOR,
        column: "alfabet_ref",
        variables: &[
            "ALFABET_URL",
            "ALFABET_USERNAME",
            "ALFABET_PASSWORD",
            "ALFABET_TOKEN",
            "ALFABET_BATCH_SIZE",
        ],
        // No concurrency (one batch at a time) and no verification (no documented read): the
        // client refuses both variables, so they are not offered here.
        tuning: &[
            "ALFABET_TIMEOUT_SECS",
            "ALFABET_CONNECT_TIMEOUT_SECS",
            "ALFABET_MAX_RETRIES",
        ],
        parse_id: |s| Ok(s.parse::<alfabet_client::RefStr>()?.to_string()),
        // Alfabet publishes no limit and the command sets none: nothing to share.
        build: |env, _shared| {
            Ok(Arc::new(
                alfabet_client::AlfabetClient::from_env_with(env)?.build()?,
            ))
        },
    },
    Spec {
        name: learning360_client::VENDOR,
        column: "learning360_id",
        variables: &[
            "LEARNING360_URL",
            "LEARNING360_CLIENT_ID",
            "LEARNING360_CLIENT_SECRET",
            "LEARNING360_TOKEN",
        ],
        tuning: &[
            "LEARNING360_CONCURRENCY",
            "LEARNING360_TIMEOUT_SECS",
            "LEARNING360_CONNECT_TIMEOUT_SECS",
            "LEARNING360_MAX_RETRIES",
            "LEARNING360_VERIFY",
        ],
        parse_id: |s| Ok(s.parse::<learning360_client::UserId>()?.to_string()),
        build: |env, shared| {
            let mut builder = learning360_client::Learning360Client::from_env_with(env)?;
            if let Some(shared) = shared {
                // The base URL as the builder will use it (from_env_with checked it).
                let base = anonymize_core::vendor::env_url(env, "LEARNING360_URL")?;
                builder =
                    builder.shared_limits(shared_for(shared, learning360_client::VENDOR, &base)?);
            }
            Ok(Arc::new(builder.build()?))
        },
    },
];

/// The spec of the vendor with this column.
pub(crate) fn by_column(column: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.column == column)
}

/// The vendors to erase at, and the ones left out because nothing configures them.
pub(crate) struct Vendors {
    pub(crate) active: Vec<Arc<dyn Anonymizer>>,
    pub(crate) skipped: Vec<&'static Spec>,
}

impl Vendors {
    /// Each vendor from its environment variables: none set, it is skipped; some set, its
    /// client must build, or the error names the vendor and what is wrong (never a value).
    pub(crate) fn from_env(env: Env<'_>) -> Result<Self> {
        Self::from_env_shared(env, None)
    }

    /// [`from_env`](Self::from_env), every vendor's limits shared through the Redis at
    /// `shared_limits` (`run --shared-limits`, or else [`SHARED_LIMITS_VARIABLE`]) when given:
    /// connected once here, so that an unreachable Redis stops the command before anything is
    /// sent. Errors never quote the URL.
    pub(crate) async fn with_shared_limits(
        env: Env<'_>,
        shared_limits: Option<String>,
    ) -> Result<Self> {
        let url = shared_limits
            .or_else(|| env(SHARED_LIMITS_VARIABLE))
            .filter(|url| !url.trim().is_empty());
        let Some(url) = url else {
            return Self::from_env(env);
        };
        let redis = RedisLimits::connect(url.trim(), "anonymize")
            .await
            .map_err(|e| Error::configuration(format!("--shared-limits: {e}")))?;
        Self::from_env_shared(env, Some(&redis))
    }

    fn from_env_shared(env: Env<'_>, shared: Option<&RedisLimits>) -> Result<Self> {
        let mut vendors = Self {
            active: Vec::new(),
            skipped: Vec::new(),
        };
        for spec in &SPECS {
            let configured = spec
                .variables
                .iter()
                .any(|v| env(v).is_some_and(|value| !value.trim().is_empty()));
            if !configured {
                vendors.skipped.push(spec);
                continue;
            }
            // Said once: "invalid configuration: guardhouse: GUARDHOUSE_CLIENT_ID is not set".
            let client = (spec.build)(env, shared).map_err(|e| match e {
                Error::Configuration { reason } => {
                    Error::configuration(format!("{}: {reason}", spec.name))
                }
                other => Error::configuration(format!("{}: {other}", spec.name)),
            })?;
            vendors.active.push(client);
        }
        Ok(vendors)
    }

    /// The names of the active vendors, in order.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.active.iter().map(|v| v.vendor()).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn unconfigured_vendors_are_skipped_and_half_configured_ones_refused() {
        let env = HashMap::from([
            ("ALFABET_URL", "https://host/AlfabetAPIServer"),
            ("ALFABET_TOKEN", "tok-S3cret"),
            ("GUARDHOUSE_URL", " "),
        ]);
        let vendors = Vendors::from_env(&|n| env.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(vendors.names(), ["alfabet"]);
        let skipped: Vec<_> = vendors.skipped.iter().map(|s| s.name).collect();
        assert_eq!(skipped, ["guardhouse", "learning360"]);

        let env = HashMap::from([
            ("LEARNING360_URL", "https://app.360learning.com"),
            ("LEARNING360_CLIENT_SECRET", "s3cret-Value"),
        ]);
        let err = Vendors::from_env(&|n| env.get(n).map(|v| v.to_string()))
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(
            text.contains("learning360") && text.contains("LEARNING360_CLIENT_ID"),
            "{text}"
        );
        assert!(!text.contains("s3cret-Value"), "{text}");
        assert_eq!(text.matches("invalid configuration").count(), 1, "{text}");
        assert!(
            text.starts_with("invalid configuration: learning360: "),
            "{text}"
        );
    }

    /// Point 8 of issue 18: a tuning variable alone does not configure a vendor, and beside a
    /// configured vendor it reaches its client (a bad value is refused, naming the variable).
    #[test]
    fn a_tuning_variable_alone_configures_nothing() {
        let env = HashMap::from([
            ("GUARDHOUSE_MAX_RETRIES", "5"),
            ("LEARNING360_TIMEOUT_SECS", "10"),
            ("ALFABET_URL", "https://host/AlfabetAPIServer"),
            ("ALFABET_TOKEN", "tok-S3cret"),
            ("ALFABET_TIMEOUT_SECS", "9"),
        ]);
        let vendors = Vendors::from_env(&|n| env.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(vendors.names(), ["alfabet"]);

        let mut env = env;
        env.insert("ALFABET_MAX_RETRIES", "lots-S3cret");
        let err = Vendors::from_env(&|n| env.get(n).map(|v| v.to_string()))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("alfabet: ALFABET_MAX_RETRIES"), "{err}");
        assert!(!err.contains("S3cret"), "{err}");
        for spec in &SPECS {
            for name in spec.tuning {
                assert!(!spec.variables.contains(name), "{name}");
            }
        }
    }

    #[test]
    fn a_vendors_shared_budget_is_named_after_its_tenant() {
        let name =
            |u: &str| shared_name("learning360", &anonymize_core::url::Url::parse(u).unwrap());
        assert_eq!(
            name("https://app.360learning.com"),
            "anonymize:learning360:app.360learning.com"
        );
        assert_eq!(
            name("https://App.US.360learning.com/"),
            "anonymize:learning360:app.us.360learning.com"
        );
        assert_eq!(
            name("http://127.0.0.1:8080/tenant {a}/"),
            "anonymize:learning360:127.0.0.1:8080/tenant%20%7Ba%7D"
        );
    }

    /// An unreachable Redis stops the command before a client is built, and the error never
    /// shows the URL's password.
    #[tokio::test]
    async fn an_unreachable_shared_limits_redis_is_a_configuration_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let env = HashMap::from([(
            SHARED_LIMITS_VARIABLE,
            format!("redis://:pw-S3cret@127.0.0.1:{port}/"),
        )]);
        let err = Vendors::with_shared_limits(&|n| env.get(n).cloned(), None)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, Error::Configuration { .. }), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(text.contains("--shared-limits"), "{text}");
        assert!(!text.contains("pw-S3cret"), "{text}");
    }

    #[test]
    fn ids_are_checked_and_canonical() {
        let [g, a, l] = &SPECS;
        assert_eq!((g.parse_id)("101").unwrap(), "101");
        assert!((g.parse_id)("0").is_err());
        assert_eq!((a.parse_id)("421-5-0").unwrap(), "421-5-0");
        assert!((a.parse_id)("jane@example.com").is_err());
        assert!((l.parse_id)("656000000000000000000001").is_ok());
        let err = (l.parse_id)("jane@example.com").unwrap_err();
        assert!(!err.to_string().contains("jane"), "{err}");
    }
}
