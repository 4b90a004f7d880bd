//! Reading a vendor's settings from the environment, the same way in every builder's
//! `from_env_with`.

use url::Url;

use crate::error::{Error, Result};

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
