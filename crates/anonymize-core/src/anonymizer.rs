//! The [`Anonymizer`] trait every vendor client implements, its conveniences
//! ([`AnonymizerExt`]), and the [`Subject`] of an erasure (a vendor id or an e-mail address).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::email::Email;
use crate::error::{Error, Result};
use crate::outcome::{BatchError, Outcome, UserOutcome, Verification};

/// Whom to erase at one vendor: the vendor's own id for the user, or an e-mail address that the
/// vendor resolves to that id.
///
/// Personal data (an address, or an id pasted from one): `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub enum Subject {
    /// The vendor's id for the user, as text (the vendor parses it; a malformed one is `invalid`).
    Id(String),
    /// An e-mail address, resolved through the vendor's look-up.
    Email(Email),
}

impl Subject {
    /// Read an input as a subject: an e-mail address when it contains `@`, a vendor id otherwise.
    /// A malformed address is an [`Error::InvalidInput`] that does not repeat it.
    pub fn parse(input: &str) -> Result<Self> {
        if input.contains('@') {
            Email::parse(input).map(Subject::Email)
        } else {
            Ok(Subject::Id(input.to_owned()))
        }
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Id(_) => f.write_str("Subject::Id(<redacted>)"),
            Subject::Email(_) => f.write_str("Subject::Email(<redacted>)"),
        }
    }
}

impl From<Email> for Subject {
    fn from(email: Email) -> Self {
        Subject::Email(email)
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
    /// The vendor's name: lower-case ASCII letters and digits, e.g. `acme`.
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

    /// [`anonymize`](Self::anonymize), then check at the vendor that each anonymized user is
    /// erased, where the vendor allows it: each anonymized outcome's evidence says how and when
    /// ([`Evidence::verified`](crate::Evidence::verified)); a check that fails stays `anonymized`
    /// (the vendor said so) with a warning saying what failed.
    ///
    /// The default: the vendor offers no way to check, and each anonymized outcome says so
    /// ([`Verification::Unsupported`]). A vendor with a read of the user (or an answer that shows
    /// the erased record) overrides it.
    async fn anonymize_verified(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        let why = format!(
            "{} offers no documented way to check an erasure",
            self.vendor()
        );
        let unsupported = |mut outcomes: Vec<UserOutcome>| {
            for o in &mut outcomes {
                if let Outcome::Anonymized(evidence) = &mut o.outcome {
                    evidence.verified = Some(Box::new(Verification::unsupported(why.clone())));
                }
            }
            outcomes
        };
        match self.anonymize(ids).await {
            Ok(outcomes) => Ok(unsupported(outcomes)),
            Err(mut stopped) => {
                stopped.completed = unsupported(std::mem::take(&mut stopped.completed));
                Err(stopped)
            }
        }
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

    async fn anonymize_verified(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        (**self).anonymize_verified(ids).await
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
    /// [`Outcome::NotFound`]; a vendor without a look-up by e-mail gives [`Outcome::Invalid`]
    /// saying what it needs instead (nothing is sent).
    async fn anonymize_email(&self, email: &Email) -> Outcome {
        match self.resolve_email(email).await {
            Ok(Some(id)) => self.anonymize_one(&id).await,
            Ok(None) => Outcome::NotFound,
            Err(e) => Outcome::from_error(e),
        }
    }

    /// Anonymize one [`Subject`]: its id, or the id its e-mail address resolves to.
    async fn anonymize_subject(&self, subject: &Subject) -> Outcome {
        match subject {
            Subject::Id(id) => self.anonymize_one(id).await,
            Subject::Email(email) => self.anonymize_email(email).await,
        }
    }
}

impl<T: Anonymizer + ?Sized> AnonymizerExt for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        assert!(matches!(Subject::parse("101"), Ok(Subject::Id(id)) if id == "101"));
        assert!(matches!(
            Subject::parse("jane@example.com"),
            Ok(Subject::Email(_))
        ));
        let err = Subject::parse("jane@").unwrap_err();
        assert!(!err.to_string().contains("jane"), "{err}");
        let shown = format!("{:?}", Subject::parse("jane@example.com").unwrap());
        assert!(!shown.contains("jane"), "{shown}");
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
