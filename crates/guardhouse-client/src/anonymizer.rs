//! `impl Anonymizer for GuardhouseClient`: core's one parse step, then one request per user.

use std::sync::{Arc, LazyLock};

use anonymize_core::vendor::Batch;
use anonymize_core::{Anonymizer, BatchError, Email, Evidence, Result, UserOutcome};
use async_trait::async_trait;

use crate::VENDOR;
use crate::client::{ANONYMIZED, GuardhouseClient};
use crate::id::UserId;
use crate::model::{User, UserStatus};

/// The evidence summary of every confirmed erasure (`HTTP 204`): Guardhouse has one success
/// answer, so every user shares one summary instead of a string formatted for each.
static ANSWERED: LazyLock<Arc<str>> =
    LazyLock::new(|| Arc::from(format!("HTTP {}", ANONYMIZED.as_u16())));

#[async_trait]
impl Anonymizer for GuardhouseClient {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    /// Anonymize each id (parsed as a [`UserId`]; a malformed one is
    /// [`Outcome::Invalid`](anonymize_core::Outcome::Invalid) and never sent),
    /// [`concurrency`](crate::GuardhouseClientBuilder::concurrency) at a time. 404 is
    /// `not_found`, 400 `rejected` with Guardhouse's text; 401 (after one refresh) and 403 stop
    /// the batch.
    async fn anonymize(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        Batch::<UserId>::parse(VENDOR, ids)
            .each(self.settings().concurrency, |id| {
                self.anonymize_with_evidence(id)
            })
            .await
    }

    /// The id (as text) of the user whose e-mail address is exactly `email`, ignoring case.
    async fn resolve_email(&self, email: &Email) -> Result<Option<String>> {
        Ok(self
            .find_user_by_email(email)
            .await?
            .map(|user| user.id.to_string()))
    }
}

impl GuardhouseClient {
    /// Anonymize one user and say what Guardhouse answered; with
    /// [`verify_archived`](crate::GuardhouseClientBuilder::verify_archived), read the user back.
    async fn anonymize_with_evidence(&self, id: UserId) -> Result<Evidence> {
        let settings = self.settings();
        self.anonymize_user_with(id, settings.options).await?;
        let evidence = Evidence::new(Arc::clone(&ANSWERED));
        if !settings.verify_archived {
            return Ok(evidence);
        }
        // Guardhouse said 204: whatever the read-back shows, the user is anonymized; what it
        // shows is a warning to check by hand.
        Ok(match self.user(id).await {
            Ok(User {
                status: Some(UserStatus::Archived),
                ..
            }) => Evidence::new(format!("{}; status Archived", evidence.summary)),
            Ok(User {
                status: Some(other),
                ..
            }) => evidence.with_warning(format!("the user reads back as {other}, not Archived")),
            Ok(_) => evidence.with_warning("the user reads back without a status"),
            Err(e) => evidence.with_warning(format!("could not read the user back: {e}")),
        })
    }
}
