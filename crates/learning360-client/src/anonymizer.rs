//! `impl Anonymizer for Learning360Client`: each id parsed once by core's [`Batch`], then
//! [`erase_user`](Learning360Client::erase_user) (delete, pseudonymize) per user.

use anonymize_core::vendor::Batch;
use anonymize_core::{Anonymizer, BatchError, Email, Evidence, Result, UserOutcome};
use async_trait::async_trait;

use crate::VENDOR;
use crate::client::Learning360Client;
use crate::id::UserId;
use crate::model::User;

#[async_trait]
impl Anonymizer for Learning360Client {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    async fn anonymize(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        let delete_external_ids = self.deletes_external_ids();
        Batch::<UserId>::parse(VENDOR, ids)
            .each(self.concurrency(), |id| async move {
                let user = self.erase_user(&id).await?;
                Ok(evidence(&user, delete_external_ids))
            })
            .await
    }

    async fn resolve_email(&self, email: &Email) -> Result<Option<String>> {
        Ok(self
            .user_id_for_email(email)
            .await?
            .map(|id| id.to_string()))
    }

    /// One directory refresh (when due) and one filtered query per 50 misses, not one look-up
    /// per address: see [`user_ids_for_emails`](Learning360Client::user_ids_for_emails).
    async fn resolve_emails(&self, emails: &[Email]) -> Result<Vec<Option<String>>> {
        Ok(self
            .user_ids_for_emails(emails)
            .await?
            .into_iter()
            .map(|id| id.map(|id| id.to_string()))
            .collect())
    }
}

/// What the vendor confirmed, free of personal data, with the pseudonymized user as the record
/// (minus the fields the vendor does not pseudonymize, which the warnings name).
fn evidence(user: &User, delete_external_ids: bool) -> Evidence {
    let summary = if delete_external_ids {
        "deleted and pseudonymized (external ids deleted)"
    } else {
        "deleted and pseudonymized (external ids kept)"
    };
    let mut evidence = Evidence::new(summary);
    // The record is the pseudonymized user without the fields the vendor leaves in place (and
    // without fields this crate does not know): evidence gets printed and logged, and must not
    // carry personal data. `erase_user` returns the complete user.
    let mut record = user.clone();
    record.job = None;
    record.organization = None;
    record.phone = None;
    record.custom = None;
    record.extra.clear();
    if let Ok(record) = serde_json::to_value(&record) {
        evidence = evidence.with_record(record);
    }
    let kept = user.personal_fields_present();
    if !kept.is_empty() {
        evidence = evidence.with_warning(format!(
            "the vendor does not pseudonymize these fields, which still hold a value: {}",
            kept.join(", ")
        ));
    }
    if !delete_external_ids {
        evidence = evidence.with_warning(
            "external ids were kept: a connector may identify and reactivate this user",
        );
    }
    evidence
}
