//! The [`Anonymizer`] trait every vendor client implements, and the [`Email`] type.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::outcome::{BatchError, Outcome, UserOutcome};

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

    /// Whether `s` could be an e-mail address (contains `@`): how the examples tell e-mails from ids.
    pub fn looks_like(s: &str) -> bool {
        s.contains('@')
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

/// Anonymizes users at one vendor.
///
/// Object-safe: hold any vendor as `Arc<dyn Anonymizer>`.
///
/// **Anonymization is irreversible.** Each call erases exactly the ids it is given; there is no
/// way to ask for "everyone".
///
/// ```
/// use std::sync::Arc;
/// use anonymize_core::{Anonymizer, MemoryAnonymizer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let vendor: Arc<dyn Anonymizer> = Arc::new(
///     MemoryAnonymizer::new("example").with_user("42", "jane@example.com"),
/// );
/// let outcomes = vendor.anonymize(&["42".to_string(), "7".to_string()]).await.unwrap();
/// assert_eq!(outcomes[0].outcome.label(), "anonymized");
/// assert_eq!(outcomes[1].outcome.label(), "not_found");
/// # }
/// ```
#[async_trait]
pub trait Anonymizer: Send + Sync + fmt::Debug {
    /// The vendor's name, e.g. `guardhouse`.
    fn vendor(&self) -> &'static str;

    /// Anonymize the users with these vendor ids.
    ///
    /// Returns one outcome per *distinct* id, in order of first appearance: none lost, none
    /// invented. A malformed id gets [`Outcome::Invalid`] and is never sent. An error that stops
    /// every further request (refused credentials, missing permission) ends the batch with a
    /// [`BatchError`] that still lists every user already done.
    async fn anonymize(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError>;

    /// The vendor's user id for this e-mail address (`None`: the vendor has no such user).
    /// Vendors without a look-up answer [`Error::Unsupported`].
    async fn resolve_email(&self, email: &Email) -> Result<Option<String>>;

    /// The ids for many addresses, one answer per address, in order. The default asks
    /// [`resolve_email`](Self::resolve_email) for each in turn; a vendor with a cheaper bulk
    /// look-up (one listing, one filtered query) overrides it.
    async fn resolve_emails(&self, emails: &[Email]) -> Result<Vec<Option<String>>> {
        let mut ids = Vec::with_capacity(emails.len());
        for email in emails {
            ids.push(self.resolve_email(email).await?);
        }
        Ok(ids)
    }
}

#[async_trait]
impl<T: Anonymizer + ?Sized> Anonymizer for Arc<T> {
    fn vendor(&self) -> &'static str {
        (**self).vendor()
    }

    async fn anonymize(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        (**self).anonymize(ids).await
    }

    async fn resolve_email(&self, email: &Email) -> Result<Option<String>> {
        (**self).resolve_email(email).await
    }

    async fn resolve_emails(&self, emails: &[Email]) -> Result<Vec<Option<String>>> {
        (**self).resolve_emails(emails).await
    }
}

/// Conveniences over any [`Anonymizer`].
#[async_trait]
pub trait AnonymizerExt: Anonymizer {
    /// Anonymize one user; a batch-stopping error is returned as [`Outcome::Failed`].
    async fn anonymize_one(&self, id: &str) -> Outcome {
        match self.anonymize(&[id.to_owned()]).await {
            Ok(mut outcomes) => {
                outcomes
                    .pop()
                    .map(|o| o.outcome)
                    .unwrap_or(Outcome::Failed(Error::configuration(
                        "the vendor client returned no outcome",
                    )))
            }
            Err(batch) => match batch.completed.into_iter().next() {
                Some(done) => done.outcome,
                None => Outcome::Failed(batch.error),
            },
        }
    }

    /// Resolve `email` to the vendor's id, then anonymize that user. An unknown address is
    /// [`Outcome::NotFound`].
    async fn anonymize_email(&self, email: &Email) -> Outcome {
        match self.resolve_email(email).await {
            Ok(Some(id)) => self.anonymize_one(&id).await,
            Ok(None) => Outcome::NotFound,
            Err(e) => Outcome::Failed(e),
        }
    }

    /// Anonymize one user given as a vendor id or, when it contains `@`, as an e-mail address.
    async fn anonymize_id_or_email(&self, input: &str) -> Outcome {
        if Email::looks_like(input) {
            match Email::parse(input) {
                Ok(email) => self.anonymize_email(&email).await,
                Err(Error::InvalidInput { reason }) => Outcome::Invalid { reason },
                Err(e) => Outcome::Failed(e),
            }
        } else {
            self.anonymize_one(input).await
        }
    }
}

impl<T: Anonymizer + ?Sized> AnonymizerExt for T {}

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

    #[test]
    fn trait_is_object_safe() {
        fn takes(_: &dyn Anonymizer) {}
        let m = crate::MemoryAnonymizer::new("x");
        takes(&m);
        let shared: Arc<dyn Anonymizer> = Arc::new(m);
        takes(&shared);
    }
}
