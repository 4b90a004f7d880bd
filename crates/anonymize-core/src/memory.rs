//! An in-memory [`Anonymizer`] for downstream unit tests.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::anonymizer::Anonymizer;
use crate::batch::Batch;
use crate::email::Email;
use crate::error::{Error, Result, VendorReply};
use crate::id::VendorId;
use crate::outcome::{BatchError, Evidence, UserOutcome};

/// An id of the memory store: any text that is not blank.
#[derive(Clone, PartialEq, Eq)]
struct MemoryId(String);

impl VendorId for MemoryId {
    fn parse_id(text: &str) -> Result<Self> {
        if text.trim().is_empty() {
            return Err(Error::invalid_input("the id is empty"));
        }
        Ok(Self(text.to_owned()))
    }

    fn fmt_id(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
crate::vendor_id!(MemoryId);

/// What an HTTP vendor would have answered: the store plays the vendor, so its answers are real.
fn not_found(vendor: &'static str) -> Error {
    Error::NotFound(VendorReply::new(
        vendor,
        "anonymize user",
        reqwest::StatusCode::NOT_FOUND,
        None,
        None,
    ))
}

fn rejected(vendor: &'static str, message: &str) -> Error {
    Error::Rejected(VendorReply::new(
        vendor,
        "anonymize user",
        reqwest::StatusCode::BAD_REQUEST,
        None,
        Some(message.to_owned()),
    ))
}

/// An [`Anonymizer`] that keeps its users in memory: for the unit tests of code that takes an
/// `Arc<dyn Anonymizer>`, with no HTTP at all.
///
/// Known ids are anonymized (once anonymized, again: it is idempotent), unknown ids are
/// [`Outcome::NotFound`], ids marked with [`with_rejected`](Self::with_rejected) are
/// [`Outcome::Rejected`], and an empty or blank id is [`Outcome::Invalid`]. E-mail addresses
/// resolve to the users not yet anonymized, unless the store is
/// [`without_email_lookup`](Self::without_email_lookup). Clones share state.
///
/// [`Outcome::NotFound`]: crate::Outcome::NotFound
/// [`Outcome::Rejected`]: crate::Outcome::Rejected
/// [`Outcome::Invalid`]: crate::Outcome::Invalid
#[derive(Clone)]
pub struct MemoryAnonymizer {
    vendor: &'static str,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    users: BTreeMap<String, String>,
    rejected: BTreeMap<String, String>,
    anonymized: BTreeSet<String>,
    calls: usize,
    fail_with: Option<Error>,
    no_lookup: bool,
}

impl MemoryAnonymizer {
    /// An empty store that calls itself `vendor`.
    pub fn new(vendor: &'static str) -> Self {
        Self {
            vendor,
            state: Arc::default(),
        }
    }

    /// Add a user with an id and e-mail address.
    pub fn with_user(self, id: impl Into<String>, email: impl Into<String>) -> Self {
        self.state().users.insert(id.into(), email.into());
        self
    }

    /// Add a user whose anonymization the "vendor" refuses with `message`.
    pub fn with_rejected(self, id: impl Into<String>, message: impl Into<String>) -> Self {
        let id = id.into();
        let mut state = self.state();
        state.users.entry(id.clone()).or_default();
        state.rejected.insert(id, message.into());
        drop(state);
        self
    }

    /// Answer look-ups by e-mail with [`Error::Unsupported`], like a vendor that only takes its
    /// own ids.
    pub fn without_email_lookup(self) -> Self {
        self.state().no_lookup = true;
        self
    }

    /// Make every later call fail with `error` (e.g. an [`Error::Unauthenticated`]).
    pub fn fail_with(&self, error: Error) {
        self.state().fail_with = Some(error);
    }

    /// The ids anonymized so far.
    pub fn anonymized(&self) -> Vec<String> {
        self.state().anonymized.iter().cloned().collect()
    }

    /// How many calls (`anonymize` and `resolve_email`) were made.
    pub fn calls(&self) -> usize {
        self.state().calls
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryAnonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MemoryAnonymizer")
            .field("vendor", &self.vendor)
            .field("users", &state.users.len())
            .field("anonymized", &state.anonymized.len())
            .finish()
    }
}

#[async_trait]
impl Anonymizer for MemoryAnonymizer {
    fn vendor(&self) -> &'static str {
        self.vendor
    }

    async fn anonymize(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        self.state().calls += 1;
        Batch::<MemoryId>::parse(self.vendor, ids)
            .each(1, |MemoryId(id)| async move {
                let mut state = self.state();
                if let Some(error) = &state.fail_with {
                    return Err(error.clone());
                }
                if let Some(message) = state.rejected.get(&id) {
                    return Err(rejected(self.vendor, message));
                }
                if !state.users.contains_key(&id) {
                    return Err(not_found(self.vendor));
                }
                state.anonymized.insert(id);
                Ok(Evidence::new("anonymized in memory"))
            })
            .await
    }

    async fn resolve_email(&self, email: &Email) -> Result<Option<String>> {
        let mut state = self.state();
        state.calls += 1;
        if state.no_lookup {
            return Err(Error::Unsupported {
                vendor: self.vendor,
                operation: "looking up a user by e-mail",
            });
        }
        if let Some(error) = &state.fail_with {
            return Err(error.clone());
        }
        Ok(state
            .users
            .iter()
            .find(|(id, mail)| email.matches(mail) && !state.anonymized.contains(*id))
            .map(|(id, _)| id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::VendorReply;

    #[tokio::test]
    async fn behaves_like_a_vendor() {
        let m = MemoryAnonymizer::new("mem")
            .with_user("1", "a@example.com")
            .with_rejected("2", "owner");
        let ids: Vec<String> = ["1", "2", "3", "", "1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = m.anonymize(&ids).await.unwrap();
        let labels: Vec<_> = out.iter().map(|o| o.outcome.label()).collect();
        assert_eq!(labels, ["anonymized", "rejected", "not_found", "invalid"]);
        assert_eq!(m.anonymized(), ["1"]);
        let email = Email::parse("B@example.com").unwrap();
        assert_eq!(m.resolve_email(&email).await.unwrap(), None);
    }

    #[tokio::test]
    async fn injected_failure_stops_the_batch() {
        let m = MemoryAnonymizer::new("mem").with_user("1", "a@example.com");
        m.fail_with(Error::Unauthenticated(VendorReply::new(
            "mem",
            "anonymize",
            reqwest::StatusCode::UNAUTHORIZED,
            None,
            None,
        )));
        let err = m
            .anonymize(&["1".to_string(), "2".to_string()])
            .await
            .unwrap_err();
        assert_eq!(err.completed.len(), 1);
        assert_eq!(err.not_attempted, ["2"]);
    }
}
