//! [`Email`]: an e-mail address, which is personal data.

use std::fmt;

use crate::error::{Error, Result};

/// An e-mail address: personal data, so its `Debug` is redacted and it has no `Display`.
///
/// Validation is deliberately light (one `@` with text on both sides, no white space or control
/// characters, at most 254 characters): vendors decide what a real address is.
/// Comparison with [`Email::matches`] is case-insensitive, as every vendor here treats addresses.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Check `address` and wrap it. The error never repeats the address.
    pub fn parse(address: &str) -> Result<Self> {
        let address = address.trim();
        let valid = address.len() <= 254
            && !address.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(address.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if valid {
            Ok(Self(address.to_owned()))
        } else {
            Err(Error::invalid_input("not a valid e-mail address"))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` is the same address, ignoring case.
    pub fn matches(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other.trim())
    }

    /// The address in lower case, for use as a map key.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

impl std::str::FromStr for Email {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        assert!(Email::parse("jane@example.com").is_ok());
        assert!(Email::parse("  jane@example.com ").is_ok());
        for bad in [
            "",
            "jane",
            "@example.com",
            "jane@",
            "ja ne@example.com",
            "a@b@c",
            "a\n@b",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
        let err = Email::parse("not-an-address").unwrap_err();
        assert!(!err.to_string().contains("not-an-address"));
    }

    #[test]
    fn email_is_redacted_and_case_insensitive() {
        let e = Email::parse("Jane.Doe@Example.com").unwrap();
        assert_eq!(format!("{e:?}"), "Email(<redacted>)");
        assert!(e.matches("jane.doe@example.COM"));
        assert!(!e.matches("jane.doe@example.org"));
        assert_eq!(e.normalized(), "jane.doe@example.com");
    }
}
