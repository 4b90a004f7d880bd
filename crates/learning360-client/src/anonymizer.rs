//! `impl Anonymizer for Learning360Client`: each id parsed once by core's [`Batch`], then
//! [`erase_user`](Learning360Client::erase_user) (delete, pseudonymize) per user.

use anonymize_core::vendor::Batch;
use anonymize_core::{Anonymizer, BatchError, Email, Evidence, Result, UserOutcome, Verification};
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
        if self.verifies() {
            return self.anonymize_verified(ids).await;
        }
        let delete_external_ids = self.deletes_external_ids();
        Batch::<UserId>::parse(VENDOR, ids)
            .each(self.concurrency(), |id| async move {
                let user = self.erase_user(&id).await?;
                Ok(evidence(&user, delete_external_ids))
            })
            .await
    }

    /// Read each user before erasing them (one more read, within the vendor's 50 reads per
    /// second), erase them (delete, pseudonymize), then check the pseudonymized user the vendor
    /// answered: deleted, and none of its fields still equal to the address, username or a name
    /// read before. The values read are held in memory for the check only, never written.
    async fn anonymize_verified(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        let delete_external_ids = self.deletes_external_ids();
        Batch::<UserId>::parse(VENDOR, ids)
            .each(self.concurrency(), |id| async move {
                let before = self.get_user(&id).await?;
                let after = self.erase_user(&id).await?;
                Ok(evidence(&after, delete_external_ids)
                    .with_verification(verify_pseudonymized(&before, &after)))
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

/// What the check compares: the pseudonymized user the vendor answered against the user read
/// before the erasure.
const CHECKED: &str = "the pseudonymized user answered: deleted, and no field equal to the \
                       address, username, first or last name read before the erasure";

/// Whether `after` (the vendor's answer to pseudonymize) shows `before`'s personal data gone.
/// What failed is named by field, never by value.
fn verify_pseudonymized(before: &User, after: &User) -> Verification {
    let known: Vec<String> = [
        &before.mail,
        &before.username,
        &before.first_name,
        &before.last_name,
    ]
    .into_iter()
    .flatten()
    .map(|v| v.trim().to_lowercase())
    .filter(|v| !v.is_empty())
    .collect();
    let mut failed = Vec::new();
    if !after.is_deleted() {
        failed.push("the user is not deleted".to_owned());
    }
    for (name, value) in [
        ("mail", &after.mail),
        ("username", &after.username),
        ("firstName", &after.first_name),
        ("lastName", &after.last_name),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| known.contains(&v.trim().to_lowercase()))
        {
            failed.push(format!("{name} still holds a value the user had before"));
        }
    }
    if failed.is_empty() {
        Verification::passed(CHECKED)
    } else {
        Verification::failed(CHECKED, failed.join(", "))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn user(json: serde_json::Value) -> User {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_pseudonymized_answer_is_checked_field_by_field_and_named_without_values() {
        let before = user(serde_json::json!({
            "_id": "656000000000000000000001", "mail": "Jane@Example.com", "username": "jdoe",
            "firstName": "Jane", "lastName": "Doe", "status": "active"
        }));
        let done = user(serde_json::json!({
            "_id": "656000000000000000000001", "mail": "x81kq@pseudo.example", "username": "u91",
            "firstName": "q1", "lastName": "z7", "status": "deleted"
        }));
        assert_eq!(verify_pseudonymized(&before, &done).label(), "passed");
        let kept = user(serde_json::json!({
            "_id": "656000000000000000000001", "mail": "jane@example.com", "username": "u91",
            "firstName": "q1", "lastName": "Doe", "status": "active"
        }));
        match verify_pseudonymized(&before, &kept) {
            Verification::Failed { failed, .. } => {
                assert_eq!(
                    failed,
                    "the user is not deleted, mail still holds a value the user had before, \
                     lastName still holds a value the user had before"
                );
                assert!(!failed.contains("jane") && !failed.contains("Doe"));
            }
            other => panic!("{other:?}"),
        }
    }
}
