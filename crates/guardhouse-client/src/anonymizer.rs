//! `impl Anonymizer for GuardhouseClient`: core's one parse step, then one request per user.

use std::sync::{Arc, LazyLock};

use anonymize_core::vendor::Batch;
use anonymize_core::{Anonymizer, BatchError, Email, Evidence, Result, UserOutcome, Verification};
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
        let verify = self.settings().verify_archived;
        Batch::<UserId>::parse(VENDOR, ids)
            .each(self.settings().concurrency, |id| {
                self.anonymize_with_evidence(id, verify)
            })
            .await
    }

    /// [`anonymize`](Anonymizer::anonymize), then read each anonymized user back (`GET
    /// /api/v1/users/{id}`): verified when Guardhouse shows what its anonymization documents
    /// (status Archived, first name `Deleted`, last name `User`, an address at
    /// `deleted.guardhouse.local`); otherwise a warning naming what differs.
    async fn anonymize_verified(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        Batch::<UserId>::parse(VENDOR, ids)
            .each(self.settings().concurrency, |id| {
                self.anonymize_with_evidence(id, true)
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
    /// Anonymize one user and say what Guardhouse answered; with `verify` (the builder's
    /// [`verify_archived`](crate::GuardhouseClientBuilder::verify_archived), or
    /// [`anonymize_verified`](Anonymizer::anonymize_verified)), read the user back.
    async fn anonymize_with_evidence(&self, id: UserId, verify: bool) -> Result<Evidence> {
        let settings = self.settings();
        self.anonymize_user_with(id, settings.options).await?;
        let evidence = Evidence::new(Arc::clone(&ANSWERED));
        if !verify {
            return Ok(evidence);
        }
        // Guardhouse said 204: whatever the read-back shows, the user is anonymized; what it
        // shows is verified, or a warning to check by hand.
        Ok(match self.user(id).await {
            Ok(user) => evidence.with_verification(verify_read_back(&user)),
            Err(e) => evidence.with_verification(Verification::failed(
                READ_BACK,
                format!("the user could not be read back ({})", e.kind()),
            )),
        })
    }
}

/// What the read-back checks: Guardhouse's documented result of an anonymization.
const READ_BACK: &str = "read back: status Archived, first name Deleted, last name User, e-mail \
                         at deleted.guardhouse.local";

/// Whether `user`, read back after its anonymization, shows what Guardhouse documents. What
/// differs is named by field, never by value.
fn verify_read_back(user: &User) -> Verification {
    let mut differs = Vec::new();
    if user.status != Some(UserStatus::Archived) {
        differs.push("status is not Archived");
    }
    if user.first_name.as_deref() != Some("Deleted") {
        differs.push("first name is not Deleted");
    }
    if user.last_name.as_deref() != Some("User") {
        differs.push("last name is not User");
    }
    let deleted_address = user.email.as_deref().is_some_and(|e| {
        e.rsplit_once('@')
            .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case("deleted.guardhouse.local"))
    });
    if !deleted_address {
        differs.push("e-mail is not at deleted.guardhouse.local");
    }
    if differs.is_empty() {
        Verification::passed(READ_BACK)
    } else {
        Verification::failed(READ_BACK, differs.join(", "))
    }
}
