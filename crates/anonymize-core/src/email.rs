//! [`Email`]: an e-mail address, which is personal data.

use std::fmt;

use crate::error::{Error, Result};

/// An e-mail address: personal data, so its `Debug` is redacted and it has no `Display`.
///
/// Validation is deliberately light, except where an address could change a request: the local
/// part is any text without white space, control characters or `@`; the domain is a host name
/// (dot-separated labels of letters, digits and hyphens, internationalized letters allowed, no
/// label empty, longer than 63 characters, or starting or ending with a hyphen), so that nothing
/// like `a@b.c/../x`, `a@b.c?x=y` or `a@b.c#f` is ever sent; at most 254 characters in all.
/// Vendors decide what a real address is.
///
/// Two addresses are equal, hash alike and [`match`](Email::matches) when they are the same
/// ignoring case, as every vendor here treats addresses: a `HashSet` given one address in two
/// cases holds one.
#[derive(Clone)]
pub struct Email {
    address: String,
    /// The address in lower case: what equality, hashing and matching compare.
    key: String,
}

impl Email {
    /// Check `address` and wrap it. The error never repeats the address.
    pub fn parse(address: &str) -> Result<Self> {
        let address = address.trim();
        let valid = address.len() <= 254
            && matches!(address.split_once('@'), Some((local, domain))
                if is_local_part(local) && is_host_name(domain));
        if valid {
            Ok(Self {
                address: address.to_owned(),
                key: address.to_lowercase(),
            })
        } else {
            Err(Error::invalid_input("not a valid e-mail address"))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// Whether `other` is the same address, ignoring case (and surrounding white space).
    pub fn matches(&self, other: &str) -> bool {
        other
            .trim()
            .chars()
            .flat_map(char::to_lowercase)
            .eq(self.key.chars())
    }

    /// The address in lower case, for use as a map key.
    pub fn normalized(&self) -> String {
        self.key.clone()
    }
}

fn is_local_part(local: &str) -> bool {
    !local.is_empty()
        && !local
            .chars()
            .any(|c| c == '@' || c.is_whitespace() || c.is_control())
}

/// Dot-separated labels of letters (any script), digits and hyphens; a trailing dot is refused.
fn is_host_name(domain: &str) -> bool {
    !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Email {}

impl std::hash::Hash for Email {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
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
            // The domain is a host name: nothing that could change a URL or a query.
            "a@b.c/../x",
            "a@b.c?x=y",
            "a@b.c#f",
            "a@b..c",
            "a@.b",
            "a@b.",
            "a@-b.c",
            "a@b-.c",
            "a@b_c.d",
            "a@[127.0.0.1]",
            "a@b.c:80",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        for good in [
            "a@b.c",
            "jane.doe+tag@example.co.uk",
            "o'brien@xn--bcher-kva.example",
            "jürgen@bücher.example",
            "x@localhost",
            "a@b-c.d",
        ] {
            assert!(Email::parse(good).is_ok(), "{good:?}");
        }
        let label = "a".repeat(64);
        assert!(Email::parse(&format!("a@{label}.com")).is_err());
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
        assert!(
            Email::parse("JÜRGEN@bücher.example")
                .unwrap()
                .matches("jürgen@BÜCHER.example")
        );
    }

    #[test]
    fn equality_and_hash_agree_with_matches() {
        use std::collections::HashSet;
        let a = Email::parse("Jane@Example.com").unwrap();
        let b = Email::parse("jane@example.COM").unwrap();
        assert_eq!(a, b);
        assert!(a.matches(b.as_str()));
        let set: HashSet<Email> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert_ne!(
            Email::parse("jane@example.com").unwrap(),
            Email::parse("jane@example.org").unwrap()
        );
    }
}
