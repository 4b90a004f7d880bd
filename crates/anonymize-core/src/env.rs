//! Reading a vendor's settings from the environment, the same way in every builder's
//! `from_env_with`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::error::{Error, Result};
use crate::http::HttpConfig;

/// The variable `name` through `lookup`; missing or blank is an [`Error::Configuration`] that
/// names the variable (never a value).
pub fn env_var(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<String> {
    env_var_opt(lookup, name).ok_or_else(|| Error::configuration(format!("{name} is not set")))
}

/// The variable `name` through `lookup`, `None` when missing or blank.
pub fn env_var_opt(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).filter(|value| !value.trim().is_empty())
}

/// The URL in the variable `name` (required); a value that is no URL is an
/// [`Error::Configuration`] naming the variable and what is wrong, never the value.
pub fn env_url(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Url> {
    parse_url(name, &env_var(lookup, name)?)
}

/// The URL in the variable `name`, when it is set.
pub fn env_url_opt(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<Url>> {
    env_var_opt(lookup, name)
        .map(|value| parse_url(name, &value))
        .transpose()
}

/// One vendor's environment variables, each named `<PREFIX>_<SUFFIX>` (`GUARDHOUSE_URL`): what
/// every builder's `from_env_with` reads through, so that the three vendors share one scheme,
/// one reading of blank values, and one set of errors. A builder keeps only its suffixes.
///
/// Every error is an [`Error::Configuration`] that names the variable, never its value.
///
/// ```
/// use anonymize_core::vendor::{EnvCredentials, VendorEnv};
///
/// let lookup = |name: &str| match name {
///     "ACME_URL" => Some("https://acme.example".to_owned()),
///     "ACME_TOKEN" => Some("t0ken-value".to_owned()),
///     "ACME_MAX_RETRIES" => Some("5".to_owned()),
///     _ => None,
/// };
/// let env = VendorEnv::new("ACME", &lookup);
/// assert_eq!(env.url("URL")?.host_str(), Some("acme.example"));
/// assert!(matches!(env.credentials(["CLIENT_ID", "CLIENT_SECRET"], "TOKEN")?, EnvCredentials::Token(_)));
/// assert_eq!(env.tuning()?.max_retries, Some(5));
/// # Ok::<(), anonymize_core::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct VendorEnv<'a> {
    prefix: &'static str,
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl fmt::Debug for VendorEnv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VendorEnv")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The credentials a vendor's variables hold: an id and a secret (client credentials, a user
/// name and password), or a pre-issued token. `Debug` shows which, never a secret.
pub enum EnvCredentials {
    /// `<PREFIX>_<first>` and `<PREFIX>_<second>` (e.g. `CLIENT_ID` and `CLIENT_SECRET`).
    Pair(String, SecretString),
    /// `<PREFIX>_<token>`.
    Token(SecretString),
}

impl fmt::Debug for EnvCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvCredentials::Pair(id, _) => write!(f, "Pair({id:?}, <redacted>)"),
            EnvCredentials::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

/// The settings every vendor reads from its environment beyond where it is and who calls it,
/// each `None` when its variable is not set (or blank):
///
/// | variable | setting |
/// |---|---|
/// | `<PREFIX>_CONCURRENCY` | users a batch works on at once (at least 1; the vendors with a concurrency) |
/// | `<PREFIX>_TIMEOUT_SECS` | the request timeout, in seconds (decimals allowed, more than 0) |
/// | `<PREFIX>_CONNECT_TIMEOUT_SECS` | the connect timeout, in seconds (decimals allowed, more than 0) |
/// | `<PREFIX>_MAX_RETRIES` | retries after the first attempt (0: none) |
/// | `<PREFIX>_VERIFY` | read back at the vendor after an erasure: `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`) |
///
/// None of them configures a vendor on its own: a tool that decides whether a vendor is
/// configured looks at its URL and credentials only.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct EnvTuning {
    /// `<PREFIX>_CONCURRENCY`.
    pub concurrency: Option<usize>,
    /// `<PREFIX>_TIMEOUT_SECS`.
    pub request_timeout: Option<Duration>,
    /// `<PREFIX>_CONNECT_TIMEOUT_SECS`.
    pub connect_timeout: Option<Duration>,
    /// `<PREFIX>_MAX_RETRIES`.
    pub max_retries: Option<u32>,
    /// `<PREFIX>_VERIFY`.
    pub verify: Option<bool>,
}

impl EnvTuning {
    /// The suffixes of the tuning variables, in the order of the table above.
    pub const SUFFIXES: [&'static str; 5] = [
        "CONCURRENCY",
        "TIMEOUT_SECS",
        "CONNECT_TIMEOUT_SECS",
        "MAX_RETRIES",
        "VERIFY",
    ];

    /// `config` with the timeouts and the retry count these variables set (the rest as it was).
    pub fn http_config(&self, mut config: HttpConfig) -> HttpConfig {
        if let Some(d) = self.request_timeout {
            config = config.with_request_timeout(d);
        }
        if let Some(d) = self.connect_timeout {
            config = config.with_connect_timeout(d);
        }
        if let Some(n) = self.max_retries {
            let retry = config.retry().clone().with_max_retries(n);
            config = config.with_retry(retry);
        }
        config
    }
}

impl<'a> VendorEnv<'a> {
    /// The variables `<prefix>_…`, read through `lookup` (the process environment:
    /// `&|name| std::env::var(name).ok()`).
    pub fn new(prefix: &'static str, lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { prefix, lookup }
    }

    /// The full name of the variable with `suffix`: `<PREFIX>_<suffix>`.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.prefix)
    }

    /// The variable with `suffix`, required ([`env_var`]).
    pub fn var(&self, suffix: &str) -> Result<String> {
        env_var(self.lookup, &self.name(suffix))
    }

    /// The variable with `suffix`, `None` when missing or blank ([`env_var_opt`]).
    pub fn var_opt(&self, suffix: &str) -> Option<String> {
        env_var_opt(self.lookup, &self.name(suffix))
    }

    /// The URL in the variable with `suffix`, required ([`env_url`]).
    pub fn url(&self, suffix: &str) -> Result<Url> {
        env_url(self.lookup, &self.name(suffix))
    }

    /// The URL in the variable with `suffix`, when set ([`env_url_opt`]).
    pub fn url_opt(&self, suffix: &str) -> Result<Option<Url>> {
        env_url_opt(self.lookup, &self.name(suffix))
    }

    /// The variable with `suffix` parsed as a `T`, when set; a value that does not parse is an
    /// error saying the variable is not `what` (e.g. `a whole number`).
    pub fn parse_opt<T: FromStr>(&self, suffix: &str, what: &str) -> Result<Option<T>> {
        self.var_opt(suffix)
            .map(|value| {
                value.trim().parse().map_err(|_| {
                    Error::configuration(format!("{} is not {what}", self.name(suffix)))
                })
            })
            .transpose()
    }

    /// The credentials: both variables of `pair` (an id, then its secret), or else `token`;
    /// not both kinds, and not half a pair. Surrounding white space is removed from the id.
    pub fn credentials(&self, pair: [&str; 2], token: &str) -> Result<EnvCredentials> {
        let [id_name, secret_name] = pair.map(|suffix| self.name(suffix));
        let token_name = self.name(token);
        let missing = |name: &str| Error::configuration(format!("{name} is not set"));
        match (
            self.var_opt(pair[0]),
            self.var_opt(pair[1]),
            self.var_opt(token),
        ) {
            (Some(id), Some(secret), None) => Ok(EnvCredentials::Pair(
                id.trim().to_owned(),
                SecretString::from(secret),
            )),
            (None, None, Some(token)) => Ok(EnvCredentials::Token(SecretString::from(token))),
            (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => Err(Error::configuration(format!(
                "set either {token_name} or {id_name} + {secret_name}, not both"
            ))),
            (Some(_), None, None) => Err(missing(&secret_name)),
            (None, Some(_), None) => Err(missing(&id_name)),
            (None, None, None) => Err(Error::configuration(format!(
                "set {id_name} and {secret_name}, or {token_name}"
            ))),
        }
    }

    /// The tuning variables ([`EnvTuning`]), each checked.
    pub fn tuning(&self) -> Result<EnvTuning> {
        let [concurrency, timeout, connect, retries, verify] = EnvTuning::SUFFIXES;
        let concurrency: Option<usize> = self.parse_opt(concurrency, "a whole number")?;
        if concurrency == Some(0) {
            return Err(Error::configuration(format!(
                "{} must be at least 1",
                self.name(EnvTuning::SUFFIXES[0])
            )));
        }
        Ok(EnvTuning {
            concurrency,
            request_timeout: self.seconds(timeout)?,
            connect_timeout: self.seconds(connect)?,
            max_retries: self.parse_opt(retries, "a whole number")?,
            verify: self
                .var_opt(verify)
                .map(|value| match value.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => Ok(true),
                    "false" | "0" | "no" | "off" => Ok(false),
                    _ => Err(Error::configuration(format!(
                        "{} is not true or false",
                        self.name(verify)
                    ))),
                })
                .transpose()?,
        })
    }

    /// A number of seconds more than 0 (decimals allowed), when set.
    fn seconds(&self, suffix: &str) -> Result<Option<Duration>> {
        let not = || {
            Error::configuration(format!(
                "{} is not a number of seconds more than 0",
                self.name(suffix)
            ))
        };
        self.parse_opt::<f64>(suffix, "a number of seconds more than 0")?
            .map(|secs| {
                if secs > 0.0 {
                    Duration::try_from_secs_f64(secs).map_err(|_| not())
                } else {
                    Err(not())
                }
            })
            .transpose()
    }
}

fn parse_url(name: &str, value: &str) -> Result<Url> {
    Url::parse(value.trim()).map_err(|e| Error::configuration(format!("{name} is not a URL: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn missing_blank_and_bad_values_name_the_variable_only() {
        let vars = HashMap::from([
            ("URL", "https://t.example/".to_owned()),
            ("BLANK", "  ".to_owned()),
            ("BAD", "not a url with secret-ish text".to_owned()),
        ]);
        let lookup = |n: &str| vars.get(n).cloned();
        assert_eq!(
            env_url(&lookup, "URL").unwrap().as_str(),
            "https://t.example/"
        );
        assert_eq!(env_url_opt(&lookup, "MISSING").unwrap(), None);
        for name in ["MISSING", "BLANK"] {
            let err = env_var(&lookup, name).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("invalid configuration: {name} is not set")
            );
        }
        let err = env_url(&lookup, "BAD").unwrap_err();
        assert!(err.to_string().contains("BAD is not a URL"), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}

#[cfg(test)]
mod vendor_env_tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn tuning(vars: &[(&str, &str)]) -> Result<EnvTuning> {
        let vars = env(vars);
        let lookup = |n: &str| vars.get(n).cloned();
        VendorEnv::new("ACME", &lookup).tuning()
    }

    #[test]
    fn tuning_variables_are_read_and_applied() {
        let t = tuning(&[
            ("ACME_CONCURRENCY", " 8 "),
            ("ACME_TIMEOUT_SECS", "2.5"),
            ("ACME_CONNECT_TIMEOUT_SECS", "1"),
            ("ACME_MAX_RETRIES", "0"),
            ("ACME_VERIFY", "Yes"),
        ])
        .unwrap();
        assert_eq!(t.concurrency, Some(8));
        assert_eq!(t.request_timeout, Some(Duration::from_millis(2500)));
        assert_eq!(t.connect_timeout, Some(Duration::from_secs(1)));
        assert_eq!(t.max_retries, Some(0));
        assert_eq!(t.verify, Some(true));
        let config = t.http_config(HttpConfig::default());
        assert_eq!(config.request_timeout(), Duration::from_millis(2500));
        assert_eq!(config.connect_timeout, Duration::from_secs(1));
        assert_eq!(config.retry().max_retries(), 0);
        assert_eq!(
            tuning(&[("ACME_VERIFY", " ")]).unwrap(),
            EnvTuning::default()
        );
    }

    #[test]
    fn bad_tuning_values_name_the_variable_never_the_value() {
        let cases = [
            (
                "ACME_CONCURRENCY",
                "0",
                "ACME_CONCURRENCY must be at least 1",
            ),
            (
                "ACME_CONCURRENCY",
                "four-Q7",
                "ACME_CONCURRENCY is not a whole number",
            ),
            (
                "ACME_TIMEOUT_SECS",
                "0",
                "ACME_TIMEOUT_SECS is not a number of seconds",
            ),
            (
                "ACME_TIMEOUT_SECS",
                "-1",
                "ACME_TIMEOUT_SECS is not a number of seconds",
            ),
            (
                "ACME_CONNECT_TIMEOUT_SECS",
                "NaN",
                "ACME_CONNECT_TIMEOUT_SECS is not",
            ),
            (
                "ACME_TIMEOUT_SECS",
                "1e300",
                "ACME_TIMEOUT_SECS is not a number of seconds",
            ),
            (
                "ACME_MAX_RETRIES",
                "-3",
                "ACME_MAX_RETRIES is not a whole number",
            ),
            (
                "ACME_VERIFY",
                "perhaps-Q7",
                "ACME_VERIFY is not true or false",
            ),
        ];
        for (name, value, expected) in cases {
            let err = tuning(&[(name, value)]).unwrap_err().to_string();
            assert!(err.contains(expected), "{name}={value}: {err}");
            assert!(!err.contains(value) || value == "0", "{err}");
        }
    }

    #[test]
    fn credentials_are_a_pair_or_a_token_never_both_or_half() {
        let read = |vars: &[(&str, &str)]| {
            let vars = env(vars);
            let lookup = |n: &str| vars.get(n).cloned();
            VendorEnv::new("ACME", &lookup).credentials(["ID", "SECRET"], "TOKEN")
        };
        let pair = read(&[("ACME_ID", " svc "), ("ACME_SECRET", "s3cret-Q7")]).unwrap();
        assert!(matches!(&pair, EnvCredentials::Pair(id, _) if id == "svc"));
        assert!(!format!("{pair:?}").contains("s3cret-Q7"));
        let token = read(&[("ACME_TOKEN", "t0ken-Q7")]).unwrap();
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        let cases: [(&[(&str, &str)], &str); 4] = [
            (&[], "set ACME_ID and ACME_SECRET, or ACME_TOKEN"),
            (&[("ACME_ID", "svc")], "ACME_SECRET is not set"),
            (&[("ACME_SECRET", "s3cret-Q7")], "ACME_ID is not set"),
            (
                &[
                    ("ACME_ID", "svc"),
                    ("ACME_SECRET", "s3cret-Q7"),
                    ("ACME_TOKEN", "t0ken-Q7"),
                ],
                "set either ACME_TOKEN or ACME_ID + ACME_SECRET, not both",
            ),
        ];
        for (vars, expected) in cases {
            let err = read(vars).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("Q7"), "{err}");
        }
    }
}
