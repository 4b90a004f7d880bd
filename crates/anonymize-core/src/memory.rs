//! An in-memory [`Anonymizer`] for downstream unit tests.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::anonymizer::{Anonymizer, Email};
use crate::error::{Error, Result};
use crate::outcome::{BatchError, Evidence, Outcome, UserOutcome, for_each_user};

/// An [`Anonymizer`] that keeps its users in memory: for the unit tests of code that takes an
/// `Arc<dyn Anonymizer>`, with no HTTP at all.
///
/// Known ids are anonymized (once anonymized, again: it is idempotent), unknown ids are
/// [`Outcome::NotFound`], ids marked with [`with_rejected`](Self::with_rejected) are
/// [`Outcome::Rejected`], and an empty or blank id is [`Outcome::Invalid`]. Clones share state.
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
        for_each_user(ids, 1, |id| async move {
            if id.trim().is_empty() {
                return Outcome::Invalid {
                    reason: "the id is empty".into(),
                };
            }
            let mut state = self.state();
            if let Some(error) = &state.fail_with {
                return Outcome::Failed(error.clone());
            }
            if let Some(message) = state.rejected.get(&id) {
                return Outcome::Rejected {
                    message: message.clone(),
                };
            }
            if !state.users.contains_key(&id) {
                return Outcome::NotFound;
            }
            state.anonymized.insert(id);
            Outcome::Anonymized(Evidence::new("anonymized in memory"))
        })
        .await
    }

    async fn resolve_email(&self, email: &Email) -> Result<Option<String>> {
        let mut state = self.state();
        state.calls += 1;
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
